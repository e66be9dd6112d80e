"""Find the files to lint: walk directories, skip vendored folders, keep what a parser reads."""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field

from orgtrust_lint.parse.terraform import is_terraform_file

SKIPPED_DIRECTORIES = frozenset({".terraform", ".git", "node_modules", ".terragrunt-cache", ".venv", "__pycache__"})


class DiscoveryError(Exception):
    """A path given on the command line cannot be linted; the message is one line."""


@dataclass
class Discovered:
    terraform: list[str] = field(default_factory=list)
    # Files named on the command line: findings are reported for these (and for what they
    # reach through variables), while their module's other files are read for context.
    explicit: set[str] | None = None


def display_path(path: str) -> str:
    relative = os.path.relpath(path)
    return path if relative.startswith(".." + os.sep) else relative


def _excluded(path: str, patterns: tuple[str, ...]) -> bool:
    normalised = path.replace(os.sep, "/")
    return any(
        fnmatch.fnmatch(normalised, pattern) or fnmatch.fnmatch(normalised, f"*/{pattern}") for pattern in patterns
    )


def _walk(root: str, exclude: tuple[str, ...]) -> list[str]:
    found = []
    for directory, subdirectories, filenames in os.walk(root):
        subdirectories[:] = sorted(
            d
            for d in subdirectories
            if d not in SKIPPED_DIRECTORIES and not _excluded(display_path(os.path.join(directory, d)), exclude)
        )
        for name in sorted(filenames):
            path = display_path(os.path.join(directory, name))
            if is_terraform_file(name) and not _excluded(path, exclude):
                found.append(path)
    return found


def discover(paths: list[str], exclude: tuple[str, ...] = ()) -> Discovered:
    result = Discovered()
    explicit: set[str] = set()
    terraform: set[str] = set()
    for given in paths or ["."]:
        if not os.path.exists(given):
            raise DiscoveryError(f"{given}: no such file or directory")
        if os.path.isdir(given):
            terraform.update(_walk(given, exclude))
            continue
        path = display_path(given)
        if not is_terraform_file(path):
            continue  # a pre-commit hook may pass any YAML or JSON file; only IaC is ours
        explicit.add(path)
        terraform.add(path)
        directory = os.path.dirname(given) or "."
        for sibling in os.listdir(directory):
            sibling_path = display_path(os.path.join(directory, sibling))
            if is_terraform_file(sibling) and os.path.isfile(sibling_path):
                terraform.add(sibling_path)
    result.terraform = sorted(terraform)
    if explicit and all(os.path.isfile(p) for p in paths):
        result.explicit = explicit
    elif explicit:
        # A mix of directories and files: everything under the directories is reported too.
        result.explicit = None
    return result
