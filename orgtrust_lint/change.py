"""Change-aware checks: facts of a git revision compared with the work tree (``--base``).

The revision is read with git itself (ls-tree and cat-file), never by checking it out, so the
work tree is untouched. Principals are compared by value and integrations by resource type and
address, so renamed or moved files do not look like removals.
"""

from __future__ import annotations

import os
import subprocess

from orgtrust_lint.catalog import Catalog
from orgtrust_lint.config import Config
from orgtrust_lint.discover import SKIPPED_DIRECTORIES
from orgtrust_lint.errors import UserError
from orgtrust_lint.facts import Facts, Location, PrincipalRemoval
from orgtrust_lint.integrations import declared_principals, derive_integrations
from orgtrust_lint.parse.cloudformation import extract_cloudformation, is_candidate, looks_like_template
from orgtrust_lint.parse.terraform import extract_terraform, is_terraform_file


class ChangeError(UserError):
    """The change cannot be read (bad revision, not a git repository); one line for the user."""


def _git(*args: str, stdin: bytes | None = None) -> bytes:
    try:
        result = subprocess.run(["git", *args], input=stdin, capture_output=True, check=False)
    except FileNotFoundError:
        raise ChangeError("--base needs git, which is not installed") from None
    if result.returncode != 0:
        message = result.stderr.decode(errors="replace").strip().splitlines()
        raise ChangeError(message[0] if message else f"git {args[0]} failed")
    return result.stdout


def _blobs(revision: str, names: list[str]) -> dict[str, bytes]:
    """Contents of many files at a revision with one `git cat-file --batch`."""
    request = "".join(f"{revision}:{name}\n" for name in names).encode()
    output = _git("cat-file", "--batch", stdin=request)
    contents: dict[str, bytes] = {}
    offset = 0
    for name in names:
        header_end = output.index(b"\n", offset)
        header = output[offset:header_end].split()
        if len(header) < 3 or header[1] != b"blob":
            offset = header_end + 1
            continue
        size = int(header[2])
        start = header_end + 1
        contents[name] = output[start : start + size]
        offset = start + size + 1
    return contents


def facts_at_revision(revision: str, paths: list[str], config: Config) -> Facts:
    try:
        _git("rev-parse", "--is-inside-work-tree")
    except ChangeError:
        raise ChangeError("--base needs a git repository, and this directory is not in one") from None
    try:
        _git("rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    except ChangeError:
        raise ChangeError(f"--base: '{revision}' is not a commit in this repository") from None
    top = _git("rev-parse", "--show-toplevel").decode().strip()
    specs = [os.path.relpath(os.path.abspath(p), top) for p in (paths or ["."])]
    if any(spec.startswith("..") for spec in specs):
        raise ChangeError("--base: the paths must be inside the git repository")
    listing = _git("ls-tree", "-r", "-z", "--full-tree", "--name-only", revision, "--", *specs)
    names = [n for n in listing.decode().split("\0") if n]
    wanted: dict[str, str] = {}  # display path (as the work tree shows it) -> path in the repository
    for name in names:
        parts = name.split("/")
        if any(part in SKIPPED_DIRECTORIES for part in parts[:-1]):
            continue
        display = os.path.relpath(os.path.join(top, name))
        if config.for_file(display).excludes(display):
            continue
        if is_terraform_file(parts[-1]) or is_candidate(parts[-1]):
            wanted[display] = name
    contents = _blobs(revision, sorted(wanted.values()))
    by_display = {display: contents.get(name, b"") for display, name in wanted.items()}
    facts = extract_terraform([p for p in by_display if is_terraform_file(p)], read=by_display.__getitem__)
    for path, data in sorted(by_display.items()):
        if is_terraform_file(path):
            continue
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            continue
        if looks_like_template(text):
            facts.extend(extract_cloudformation(path, text))
    return facts


def _integrations_by_principal(facts: Facts, catalog: Catalog) -> dict[str, dict[tuple[str, str], Location]]:
    found: dict[str, dict[tuple[str, str], Location]] = {}
    for integration in derive_integrations(facts, catalog):
        found.setdefault(integration.principal, {})[(integration.resource_type, integration.address)] = (
            integration.location
        )
    return found


def removals(before: Facts, after: Facts, catalog: Catalog, change: str) -> list[PrincipalRemoval]:
    """Principals enabled before and not after, with what relied on them on either side."""
    declared_before = declared_principals(before)
    if declared_before is None:
        return []
    no_declarations = not any(o.declares_principals for o in after.organizations) and not after.service_access
    declared_after = {} if no_declarations else declared_principals(after)
    if declared_after is None:
        return []  # the new list cannot be resolved: nothing certain to compare
    relied_before = _integrations_by_principal(before, catalog)
    relied_after = _integrations_by_principal(after, catalog)
    lists_now = [o.principals_location for o in after.organizations if o.principals_location is not None]
    found = []
    for principal in sorted(set(declared_before) - set(declared_after)):
        old, new = relied_before.get(principal, {}), relied_after.get(principal, {})
        deleted = tuple(sorted(address for (_, address) in old.keys() - new.keys()))
        kept = tuple(sorted(address for (_, address) in new))
        location = lists_now[0] if lists_now else next(iter(new.values()), declared_before[principal])
        found.append(PrincipalRemoval(principal, location, change, deleted, kept))
    return found
