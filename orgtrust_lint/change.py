"""Change-aware checks: facts of a git revision compared with the work tree (``--base``).

The revision is read with git itself (ls-tree and cat-file), never by checking it out, so the
work tree is untouched. Principals are compared by value and integrations by resource type and
address, so renamed or moved files do not look like removals.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from dataclasses import dataclass, field

from orgtrust_lint.catalog import Catalog
from orgtrust_lint.config import ConfigResolver
from orgtrust_lint.discover import SKIPPED_DIRECTORIES
from orgtrust_lint.errors import UserError
from orgtrust_lint.facts import Facts, Location, PrincipalRemoval, SkippedFile
from orgtrust_lint.files import MAX_FILE_BYTES, MEGABYTE
from orgtrust_lint.integrations import declared_principals, derive_integrations
from orgtrust_lint.lint import ParseMemo, extract_configuration_guarded, extract_template
from orgtrust_lint.parse.cloudformation import is_candidate, looks_like_template
from orgtrust_lint.parse.terraform import is_terraform_file, plan_configurations, plan_terraform
from orgtrust_lint.parse.terragrunt import UnitPlanner, is_terragrunt_file, is_unit


class ChangeError(UserError):
    """The change cannot be read (bad revision, not a git repository); one line for the user."""


GITLINK_MODE = b"160000"  # a tree entry that records a submodule's commit instead of holding files

# Set for every git command we run. Reading a revision must never download: in a partial clone a
# lazy fetch runs the clone's transport settings (core.sshCommand, remote.*.uploadpack, credential
# helpers) and costs one round trip per file.
NO_DOWNLOAD_ENVIRONMENT = {
    "GIT_NO_LAZY_FETCH": "1",  # git 2.44 and the 2024 security releases of older branches (2.39.4 ...)
    "GIT_ALLOW_PROTOCOL": "none",  # older gits: a lazy fetch that still starts may use no transport at all
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_LITERAL_PATHSPECS": "1",  # our paths are file names, not patterns: `org[1]` is a directory
}


@dataclass(frozen=True, eq=False)
class _Repository:
    """A git repository to read from: the one we run in, or a submodule's, with its own environment."""

    directory: str | None  # None: the working directory's repository
    environment: dict[str, str]
    revision: str  # the revision the user named, for messages
    fetch_hint: str  # git arguments that download the files of the commit we read, for the user

    def git(self, *args: str, stdin: bytes | None = None) -> bytes:
        try:
            result = subprocess.run(
                ["git", *args],
                input=stdin,
                capture_output=True,
                check=False,
                cwd=self.directory,
                env=self.environment,
            )
        except FileNotFoundError:
            raise ChangeError("--base needs git, which is not installed") from None
        if result.returncode != 0:
            if b"promisor remote" in result.stderr:  # git wanted to fetch what this partial clone lacks
                raise ChangeError(self.not_in_clone("part of the tree"))
            lines = result.stderr.decode(errors="replace").strip().splitlines()
            errors = [line for line in lines if line.startswith(("fatal:", "error:"))]
            raise ChangeError((errors or lines or [f"git {args[0]} failed"])[0])
        return result.stdout

    def not_in_clone(self, what: str, verb: str = "is") -> str:
        return (
            f"--base: {what} at '{self.revision}' {verb} not in this partial clone, and orgtrust-lint downloads "
            f"nothing; `git {self.fetch_hint}` downloads what is missing"
        )

    def submodule(self, directory: str, commit: str) -> _Repository:
        # The variables that point git at our repository (GIT_DIR, GIT_INDEX_FILE, ... set in a hook)
        # must not leak into the submodule's commands, as `git submodule` itself clears them.
        local = self.git("rev-parse", "--local-env-vars").decode().split()
        environment = {name: value for name, value in self.environment.items() if name not in local}
        hint = f"-C {shlex.quote(os.path.relpath(directory))} diff --stat {commit}"
        return _Repository(directory, environment, self.revision, hint)


def _entries(listing: bytes) -> list[tuple[bytes, str, str]]:
    """(mode, object id, path) of an `ls-tree -z` listing's files and submodules. NUL ends each
    entry, so no file name (a newline or any other byte in it) can move where an entry ends."""
    entries = []
    for record in listing.split(b"\0"):
        if not record:
            continue
        header, _, name = record.partition(b"\t")
        mode, kind, object_id = header.split(b" ")
        if kind == b"blob" or mode == GITLINK_MODE:
            entries.append((mode, object_id.decode(), os.fsdecode(name)))
    return entries


def _parents(path: str) -> list[str]:
    parents = []
    while (path := os.path.dirname(path)) not in ("", "."):
        parents.append(path)
    return parents


def _tree_entries(repository: _Repository, commit: str, specs: list[str]) -> list[tuple[bytes, str, str]]:
    """The files and submodules under ``specs`` at ``commit``."""
    entries = _entries(repository.git("ls-tree", "-r", "-z", "--full-tree", commit, "--", *specs))
    # A path inside a submodule lists nothing: its gitlink sits at one of the path's parents.
    parents = sorted({parent for spec in specs for parent in _parents(spec)})
    if parents:
        listing = repository.git("ls-tree", "-z", "--full-tree", commit, "--", *parents)
        entries += [entry for entry in _entries(listing) if entry[0] == GITLINK_MODE]
    return entries


def _within(path: str, spec: str) -> str | None:
    """``spec`` seen from the submodule at ``path``: "." when it covers all of it, None when unrelated."""
    if spec == "." or spec == path or path.startswith(spec + "/"):
        return "."
    if spec.startswith(path + "/"):
        return spec[len(path) + 1 :]
    return None


def _wanted_files(
    repository: _Repository,
    commit: str,
    specs: list[str],
    prefix: str,
    context: _Reading,
) -> None:
    """Collect the files to read at ``commit`` into ``context``, entering submodules that are checked out."""
    submodules: dict[tuple[str, str], set[str]] = {}  # (path, commit) -> paths to read inside
    for mode, object_id, name in _tree_entries(repository, commit, specs):
        full = prefix + name
        parts = full.split("/")
        display = os.path.relpath(os.path.join(context.top, full))
        if mode == GITLINK_MODE:
            if any(part in SKIPPED_DIRECTORIES for part in parts) or context.config.excludes(display):
                continue
            inner = {spec for spec in (_within(name, s) for s in specs) if spec is not None}
            submodules.setdefault((name, object_id), set()).update(inner)
            continue
        if any(part in SKIPPED_DIRECTORIES for part in parts[:-1]):
            continue
        if context.config.excludes(display):
            continue
        if is_terraform_file(parts[-1]) or is_candidate(parts[-1]) or is_terragrunt_file(parts[-1]):
            context.files.setdefault(repository, {})[display] = object_id
    for (name, object_id), inner in sorted(submodules.items()):
        _enter_submodule(repository, object_id, prefix + name, ["."] if "." in inner else sorted(inner), context)


def _enter_submodule(parent: _Repository, commit: str, path: str, specs: list[str], context: _Reading) -> None:
    """Read a submodule's files at the commit the revision records, from the submodule's own clone.
    The work tree side walks into checked-out submodules, so the base side must too."""
    directory = os.path.join(context.top, path)
    repository = parent.submodule(directory, commit)
    try:
        # An uninitialised submodule is an empty directory, where git would find the superproject.
        top = repository.git("rev-parse", "--show-toplevel").rstrip(b"\n") if os.path.isdir(directory) else b""
        checked_out = bool(top) and os.path.samefile(os.fsdecode(top), directory)
    except ChangeError:
        checked_out = False
    display = os.path.relpath(directory)
    if not checked_out:
        reason = f"submodule not checked out, so its files at {context.revision} were not compared"
        context.skipped.append(SkippedFile(display, reason, incomplete=True))
        return
    try:
        repository.git("cat-file", "-e", f"{commit}^{{commit}}")
    except ChangeError:
        reason = f"submodule's clone lacks commit {commit[:12]}, so its files at {context.revision} were not compared"
        context.skipped.append(SkippedFile(display, reason, incomplete=True))
        return
    _wanted_files(repository, commit, specs, path + "/", context)


@dataclass
class _Reading:
    """What reading a revision collects: the files per repository, and what could not be compared."""

    top: str
    revision: str
    config: ConfigResolver
    files: dict[_Repository, dict[str, str]] = field(default_factory=dict)  # display path -> blob id
    skipped: list[SkippedFile] = field(default_factory=list)


def _missing(repository: _Repository, object_ids: list[str]) -> set[str]:
    """The blobs this clone does not hold (a partial clone), found without downloading them:
    `rev-list --missing=print` turns lazy fetching off, and `--ignore-missing` drops absent ids."""
    request = "".join(f"{object_id}\n" for object_id in object_ids).encode()
    output = repository.git(
        "rev-list", "--objects", "--no-walk", "--ignore-missing", "--missing=print", "--stdin", stdin=request
    )
    present = {line.split(b" ", 1)[0].decode() for line in output.splitlines() if not line.startswith(b"?")}
    return set(object_ids) - present


def _sizes(repository: _Repository, object_ids: list[str]) -> dict[str, int]:
    """The size of each blob, from its header only (`cat-file --batch-check`): nothing is read yet."""
    request = "".join(f"{object_id}\n" for object_id in object_ids).encode()
    sizes: dict[str, int] = {}
    for line in repository.git("cat-file", "--batch-check", stdin=request).splitlines():
        object_id, kind, size = line.decode().split(" ")
        if kind != "blob":
            raise ChangeError(f"--base: git did not return blob {object_id}")
        sizes[object_id] = int(size)
    return sizes


def _blobs(repository: _Repository, object_ids: list[str]) -> dict[str, bytes]:
    """Contents of many blobs with one `git cat-file --batch`, asked for by object id: a request line
    is 40 hex digits, never a file name, so nothing a name contains can shift the answers."""
    request = "".join(f"{object_id}\n" for object_id in object_ids).encode()
    output = repository.git("cat-file", "--batch", stdin=request)
    contents: dict[str, bytes] = {}
    offset = 0
    for object_id in object_ids:
        header_end = output.index(b"\n", offset)
        header = output[offset:header_end].split()
        offset = header_end + 1
        if len(header) != 3 or header[0].decode() != object_id or header[1] != b"blob":
            raise ChangeError(f"--base: git did not return blob {object_id}")
        size = int(header[2])
        contents[object_id] = output[offset : offset + size]
        offset += size + 1
    return contents


def _read(reading: _Reading) -> dict[str, bytes]:
    by_display: dict[str, bytes] = {}
    for repository, files in reading.files.items():
        object_ids = sorted(set(files.values()))
        missing = _missing(repository, object_ids)
        if missing:
            absent = sorted(display for display, object_id in files.items() if object_id in missing)
            if len(absent) == 1:
                raise ChangeError(repository.not_in_clone(repr(absent[0])))
            others = "1 other file" if len(absent) == 2 else f"{len(absent) - 1} other files"
            raise ChangeError(repository.not_in_clone(f"{absent[0]!r} and {others}", verb="are"))
        # The work tree's size limit holds here too: a generated 50 MB file would take minutes to parse.
        sizes = _sizes(repository, object_ids)
        for display, object_id in sorted(files.items()):
            if sizes[object_id] > MAX_FILE_BYTES:
                too_big = f"{sizes[object_id] // MEGABYTE} MB at {reading.revision}"
                limit = f"larger than the {MAX_FILE_BYTES // MEGABYTE} MB limit, so it was not compared"
                reading.skipped.append(SkippedFile(display, f"{too_big}, {limit}", incomplete=True))
        contents = _blobs(repository, [object_id for object_id in object_ids if sizes[object_id] <= MAX_FILE_BYTES])
        by_display.update(
            (display, contents[object_id]) for display, object_id in files.items() if object_id in contents
        )
    return by_display


def facts_at_revision(revision: str, paths: list[str], config: ConfigResolver) -> Facts:
    environment = {**os.environ, **NO_DOWNLOAD_ENVIRONMENT}
    repository = _Repository(None, environment, revision, f"diff --stat {shlex.quote(revision)}")
    try:
        repository.git("rev-parse", "--is-inside-work-tree")
    except ChangeError:
        raise ChangeError("--base needs a git repository, and this directory is not in one") from None
    try:
        # No revision starts with "-": one that does would be read as an option of rev-parse.
        # Resolve the name first and peel the id: appending ^{commit} to it would break `:/message`.
        if revision.startswith("-"):
            raise ChangeError(revision)
        resolved = repository.git("rev-parse", "--verify", "--quiet", revision).decode().strip()
        commit = repository.git("rev-parse", "--verify", "--quiet", f"{resolved}^{{commit}}").decode().strip()
    except ChangeError:
        raise ChangeError(f"--base: '{revision}' is not a commit in this repository") from None
    top = os.fsdecode(repository.git("rev-parse", "--show-toplevel").rstrip(b"\n"))
    specs = [os.path.relpath(os.path.abspath(p), top) for p in (paths or ["."])]
    if any(spec.startswith("..") for spec in specs):
        raise ChangeError("--base: the paths must be inside the git repository")
    reading = _Reading(top, revision, config)
    _wanted_files(repository, commit, specs, "", reading)
    by_display = _read(reading)
    # The same extraction as the work tree's, with its guards: a failure of ours becomes an internal-error fact.
    facts = Facts(skipped=reading.skipped)
    modules = plan_terraform([p for p in by_display if is_terraform_file(p)], read=by_display.__getitem__)
    # Terragrunt units as the work tree's: a module a unit applies is evaluated with the unit's inputs on
    # both sides (taken as a root with its defaults on one side only, it would seem to lose principals).
    planner = UnitPlanner(by_display.__getitem__, roots=[top], available=by_display.__contains__)
    units = planner.plan_all([p for p in by_display if is_unit(p)])
    memo: ParseMemo = {}
    for configuration in plan_configurations(modules, units):
        facts.extend(extract_configuration_guarded(configuration, memo))
    facts.deduplicated()
    for path, data in sorted(by_display.items()):
        if is_terraform_file(path) or is_terragrunt_file(path):
            continue
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            continue
        if looks_like_template(text):
            facts.extend(extract_template(path, text))
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
