"""Find the files to lint: walk directories, skip vendored folders, keep what a parser reads."""

from __future__ import annotations

import fnmatch
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from orgtrust_lint.errors import UserError
from orgtrust_lint.parse.cloudformation import is_candidate as is_template_candidate
from orgtrust_lint.parse.terraform import is_terraform_file

# What an explicit path must be, for the message when it is not.
READ_FORMATS = (
    "Terraform and OpenTofu .tf, .tofu, .tfvars and their .json forms; CloudFormation .yaml, .yml, .json, .template"
)

SKIPPED_DIRECTORIES = frozenset({".terraform", ".git", "node_modules", ".terragrunt-cache", ".venv", "__pycache__"})


class DiscoveryError(UserError):
    """A path given on the command line cannot be linted; the message is one line."""


@dataclass
class Discovered:
    terraform: list[str] = field(default_factory=list)
    templates: list[str] = field(default_factory=list)  # YAML/JSON files that may be CloudFormation
    # Files named on the command line: findings are reported for these (and for what they
    # reach through variables), while their module's other files are read for context.
    explicit: set[str] | None = None
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason): not linted


def display_path(path: str) -> str:
    # Fast paths for what os.walk yields thousands of times: a normalised path below the
    # working directory, relative or absolute (os.path.relpath costs ten times more).
    if os.path.normpath(path) == path:
        if not os.path.isabs(path):
            if not path.startswith(".."):
                return path
        else:
            prefix = os.path.join(os.getcwd(), "")
            if path.startswith(prefix):
                return path[len(prefix) :]
    relative = os.path.relpath(path)
    return path if relative.startswith(".." + os.sep) else relative


class ExclusionSource(Protocol):
    """What decides exclusion per file: a configuration that may differ per directory."""

    def for_file(self, path: str) -> Any: ...


Exclude = ExclusionSource | Callable[[str], bool] | tuple[str, ...]


def _exclusion_in(directory: str, exclude: Exclude) -> Callable[[str], bool] | None:
    """The exclusion test for the files of one directory; None when nothing there is excluded."""
    if hasattr(exclude, "for_file"):
        config = exclude.for_file(os.path.join(directory, "_"))
        return config.excludes if config.exclude else None
    if not exclude:
        return None
    return lambda path: excluded(path, exclude)


def excluded(path: str, patterns: Exclude) -> bool:
    if hasattr(patterns, "for_file"):
        return bool(patterns.for_file(path).excludes(path))
    if callable(patterns):
        return patterns(path)
    normalised = path.replace(os.sep, "/")
    return any(
        fnmatch.fnmatch(normalised, pattern) or fnmatch.fnmatch(normalised, f"*/{pattern}") for pattern in patterns
    )


def _walk(root: str, exclude: Exclude, skipped: list[tuple[str, str]]) -> tuple[list[str], list[str]]:
    """IaC files under root. Symbolic links are not followed out of it: a linked directory is
    not entered (that also ends link loops) and a linked file is read only if it stays inside.

    os.scandir rather than os.walk: its entries know from the directory listing whether they
    are directories or links, where os.walk plus islink would stat every file again.
    """
    found, templates = [], []
    inside = os.path.join(os.path.realpath(root), "")
    pending = [root]
    while pending:
        directory = pending.pop()
        try:
            with os.scandir(directory) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as exc:
            skipped.append((display_path(directory), f"cannot list directory: {exc.strerror}"))
            continue
        subdirectories = []
        # Files take the configuration of their directory: resolve it once per directory, and
        # skip the per-file glob test entirely where that configuration excludes nothing.
        in_directory = _exclusion_in(directory, exclude)
        for entry in entries:
            name = entry.name
            try:
                is_directory = entry.is_dir()  # follows a link: a linked directory is reported below
            except OSError:
                is_directory = False
            if is_directory:
                if name in SKIPPED_DIRECTORIES:
                    continue
                path = display_path(os.path.join(directory, name))
                if excluded(path, exclude):
                    continue
                if entry.is_symlink():
                    skipped.append((path, "symbolic link to a directory, not followed"))
                    continue
                subdirectories.append(path)
                continue
            terraform = is_terraform_file(name)
            if not terraform and not is_template_candidate(name):
                continue
            path = display_path(os.path.join(directory, name))
            if in_directory is not None and in_directory(path):
                continue
            if entry.is_symlink() and not os.path.realpath(path).startswith(inside):
                skipped.append((path, f"symbolic link to a file outside {display_path(root)}, not followed"))
                continue
            (found if terraform else templates).append(path)
        pending.extend(reversed(subdirectories))
    return found, templates


def discover(paths: list[str], exclude: Exclude = ()) -> Discovered:
    result = Discovered()
    explicit: set[str] = set()
    terraform: set[str] = set()
    templates: set[str] = set()
    for given in paths or ["."]:
        if not os.path.exists(given):
            raise DiscoveryError(f"{given}: no such file or directory")
        if os.path.isdir(given):
            found, candidates = _walk(given, exclude, result.skipped)
            if not found and not candidates:  # a clean pass of "0 files" would hide a wrong path
                what = "no Terraform, OpenTofu or CloudFormation file, or all are excluded"
                raise DiscoveryError(f"{given}: nothing to lint in this directory ({what})")
            terraform.update(found)
            templates.update(candidates)
            continue
        if not stat.S_ISREG(os.stat(given).st_mode):  # stat, not open: opening a FIFO waits for a writer
            raise DiscoveryError(f"{given}: not a regular file (a pipe or device); for a pipe, use 'check -'")
        path = display_path(given)
        if is_template_candidate(path):
            explicit.add(path)
            templates.add(path)
            continue
        if not is_terraform_file(path):
            raise DiscoveryError(f"{given}: not a file orgtrust-lint reads ({READ_FORMATS})")
        explicit.add(path)
        terraform.add(path)
        directory = os.path.dirname(given) or "."
        for sibling in os.listdir(directory):
            sibling_path = display_path(os.path.join(directory, sibling))
            if is_terraform_file(sibling) and os.path.isfile(sibling_path):
                terraform.add(sibling_path)
    result.terraform = sorted(terraform)
    result.templates = sorted(templates)
    # With a directory among the paths, everything under it is reported, so no filtering.
    if explicit and all(os.path.isfile(p) for p in paths):
        result.explicit = explicit
    return result


def discover_stdin(name: str, in_module: bool) -> Discovered:
    """The files of `check -`: the text read from stdin, linted as the file ``name``, and with
    ``in_module`` its directory's other Terraform files for context (the text stands in for the
    file of that name, as an editor's unsaved buffer does)."""
    path = display_path(name)
    result = Discovered(explicit={path})
    if is_template_candidate(path):
        result.templates = [path]
        return result
    if not is_terraform_file(path):
        raise DiscoveryError(f"--stdin-filename {name}: not a file orgtrust-lint reads ({READ_FORMATS})")
    module = {path}
    directory = os.path.dirname(name) or "."
    if in_module and os.path.isdir(directory):
        for sibling in os.listdir(directory):
            sibling_path = display_path(os.path.join(directory, sibling))
            if is_terraform_file(sibling) and os.path.isfile(sibling_path):
                module.add(sibling_path)
    result.terraform = sorted(module)
    return result
