"""Find the files to lint: walk directories, skip vendored folders, keep what a parser reads."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field

from orgtrust_lint.errors import UserError
from orgtrust_lint.facts import SkippedFile
from orgtrust_lint.parse.cloudformation import is_candidate as is_template_candidate
from orgtrust_lint.parse.terraform import is_terraform_file
from orgtrust_lint.parse.terragrunt import is_terragrunt_file, is_unit

# What an explicit path must be, for the message when it is not.
READ_FORMATS = (
    "Terraform and OpenTofu .tf, .tofu, .tfvars and their .json forms; Terragrunt .hcl; "
    "CloudFormation .yaml, .yml, .json, .template"
)

SKIPPED_DIRECTORIES = frozenset({".terraform", ".git", "node_modules", ".terragrunt-cache", ".venv", "__pycache__"})


class DiscoveryError(UserError):
    """A path given on the command line cannot be linted; the message is one line."""


@dataclass
class Discovered:
    terraform: list[str] = field(default_factory=list)
    templates: list[str] = field(default_factory=list)  # YAML/JSON files that may be CloudFormation
    # Terragrunt units (terragrunt.hcl) found in directories, and .hcl files named on the command line
    # (a unit, or a file units include).
    terragrunt: list[str] = field(default_factory=list)
    # Files named on the command line: findings are reported for these (and for what they
    # reach through variables), while their module's other files are read for context.
    explicit: set[str] | None = None
    skipped: list[SkippedFile] = field(default_factory=list)  # (path, reason): not linted


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


# Whether the configuration excludes a path (a file, or a directory and everything below it); a
# ConfigResolver's ``excludes`` answers it with each path's own configuration.
Exclude = Callable[[str], bool]


def nothing_excluded(path: str) -> bool:
    return False


EXCLUDED_REASON = "excluded by the configuration (see check --show-config)"


def _outside(root: str) -> str:
    return f"symbolic link to a file outside {display_path(root)}, not followed"


def _walk(
    root: str, excludes: Exclude, skipped: list[SkippedFile], nested_repositories: bool = True
) -> tuple[list[str], list[str], list[str]]:
    """IaC files under root: Terraform files, template candidates and Terragrunt units (the files
    units include are read through them). Symbolic links are not followed out of it: a linked directory
    is not entered (that also ends link loops) and a linked file is read only if it stays inside.

    os.scandir rather than os.walk: its entries know from the directory listing whether they
    are directories or links, where os.walk plus islink would stat every file again.
    """
    found: list[str] = []
    templates: list[str] = []
    units: list[str] = []
    inside = os.path.join(os.path.realpath(root), "")
    pending = [root]
    while pending:
        directory = pending.pop()
        try:
            with os.scandir(directory) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as exc:
            skipped.append(SkippedFile(display_path(directory), f"cannot list directory: {exc.strerror}", True))
            continue
        subdirectories = []
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
                if excludes(path):
                    continue
                if entry.is_symlink():
                    skipped.append(SkippedFile(path, "symbolic link to a directory, not followed"))
                    continue
                # A Python virtual environment holds installed packages, never the project's code
                # (and may be hundreds of megabytes to walk).
                if os.path.exists(os.path.join(path, "pyvenv.cfg")):
                    continue
                if not nested_repositories and any(os.path.exists(os.path.join(path, m)) for m in (".git", ".hg")):
                    continue
                subdirectories.append(path)
                continue
            terraform = is_terraform_file(name)
            unit = not terraform and is_unit(name)
            if not terraform and not unit and not is_template_candidate(name):
                continue
            path = display_path(os.path.join(directory, name))
            if excludes(path):
                continue
            if entry.is_symlink() and not os.path.realpath(path).startswith(inside):
                skipped.append(SkippedFile(path, _outside(root)))
                continue
            (found if terraform else units if unit else templates).append(path)
        pending.extend(reversed(subdirectories))
    return found, templates, units


def _siblings(path: str, excludes: Exclude, skipped: list[SkippedFile]) -> list[str]:
    """The other Terraform files of a passed file's module, read for context as a walk would read
    them: not those the configuration excludes, and a linked file only if it stays inside the working
    directory (pre-commit and CI run from the repository's top, so a hook reads what `check .` reads),
    or inside the module's directory for a module outside it."""
    directory = os.path.dirname(path) or "."
    working = os.path.join(os.path.realpath("."), "")
    real_directory = os.path.realpath(directory)
    root = "." if os.path.join(real_directory, "").startswith(working) else directory
    inside = working if root == "." else os.path.join(real_directory, "")
    try:
        names = sorted(os.listdir(directory))
    except OSError as exc:
        skipped.append(SkippedFile(display_path(directory), f"cannot list directory: {exc.strerror}", True))
        return []
    found = []
    for name in names:
        sibling = display_path(os.path.join(directory, name))
        if sibling == path or not is_terraform_file(name) or not os.path.isfile(sibling) or excludes(sibling):
            continue
        if os.path.islink(sibling) and not os.path.realpath(sibling).startswith(inside):
            skipped.append(SkippedFile(sibling, _outside(root)))
            continue
        found.append(sibling)
    return found


def discover(paths: list[str], excludes: Exclude = nothing_excluded) -> Discovered:
    """The files under ``paths`` that ``excludes`` keeps. A file named in ``paths`` is linted with its
    module's other files as context, unless the configuration excludes it (as ``check .`` would)."""
    result = Discovered()
    explicit: set[str] = set()
    terraform: set[str] = set()
    templates: set[str] = set()
    terragrunt: set[str] = set()
    for given in paths or ["."]:
        if not os.path.exists(given):
            raise DiscoveryError(f"{given}: no such file or directory")
        if os.path.isdir(given):
            found, candidates, units = _walk(given, excludes, result.skipped)
            if not found and not candidates and not units:  # a clean pass of "0 files" would hide a wrong path
                what = "no Terraform, OpenTofu, Terragrunt or CloudFormation file, or all are excluded"
                raise DiscoveryError(f"{given}: nothing to lint in this directory ({what})")
            terraform.update(found)
            templates.update(candidates)
            terragrunt.update(units)
            continue
        if not stat.S_ISREG(os.stat(given).st_mode):  # stat, not open: opening a FIFO waits for a writer
            raise DiscoveryError(f"{given}: not a regular file (a pipe or device); for a pipe, use 'check -'")
        path = display_path(given)
        if not is_template_candidate(path) and not is_terraform_file(path) and not is_terragrunt_file(path):
            raise DiscoveryError(f"{given}: not a file orgtrust-lint reads ({READ_FORMATS})")
        if excludes(path):
            result.skipped.append(SkippedFile(path, EXCLUDED_REASON))
            continue
        explicit.add(path)
        if is_template_candidate(path):
            templates.add(path)
            continue
        if is_terragrunt_file(path):  # a unit's module, and the units including a file, are found through it
            terragrunt.add(path)
            continue
        terraform.add(path)
        terraform.update(_siblings(path, excludes, result.skipped))
    result.terraform = sorted(terraform)
    result.templates = sorted(templates)
    result.terragrunt = sorted(terragrunt)
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
    if is_terragrunt_file(path):
        result.terragrunt = [path]
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


def repository_root(start: str = ".") -> str:
    """The top of the git (or Mercurial) repository holding ``start``, or the working directory when
    there is none (``start`` itself when the working directory does not hold it): how far orgtrust-lint
    looks for the modules a configuration calls and for callers."""
    directory = os.path.realpath(start)
    while True:
        if any(os.path.exists(os.path.join(directory, marker)) for marker in (".git", ".hg")):
            return directory
        parent = os.path.dirname(directory)
        if parent == directory:
            working, real_start = os.path.realpath("."), os.path.realpath(start)
            return working if inside(real_start, working) else real_start
        directory = parent


def inside(path: str, root: str) -> bool:
    return os.path.join(os.path.realpath(path), "").startswith(os.path.join(root, ""))


def module_files(directory: str, excludes: Exclude) -> list[str]:
    """A module directory's Terraform files (not its subdirectories), as discovery names them;
    links are read only when they stay inside the directory."""
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    real = os.path.join(os.path.realpath(directory), "")
    found = []
    for name in names:
        path = display_path(os.path.join(directory, name))
        if not is_terraform_file(name) or not os.path.isfile(path) or excludes(path):
            continue
        if os.path.islink(path) and not os.path.realpath(path).startswith(real):
            continue
        found.append(path)
    return found


def terraform_files_under(root: str, excludes: Exclude) -> tuple[list[str], list[str]]:
    """Every Terraform file and Terragrunt unit below ``root`` (vendored folders and links skipped),
    to find callers."""
    # A repository inside this one (a clone, a submodule) applies its own configurations: its files
    # call its own modules, and walking it would only cost time.
    found, _, units = _walk(root, excludes, [], nested_repositories=False)
    return found, units
