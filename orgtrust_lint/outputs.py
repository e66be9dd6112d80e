"""The reports of one run: which format goes where (``--format``, ``--output FORMAT[=FILE]``), and
paths as the code host reading a report resolves them.

``text`` and ``json`` name files as the user named them (relative to the working directory). The
formats a code host reads (``sarif``, ``github``, ``gitlab``, ``junit``) name them relative to the
repository root (the git top level above the working directory, or ``--repo-root``): GitHub and GitLab
resolve a report's paths from there, so a run in ``working-directory: infra`` must say
``infra/main.tf``, not ``main.tf`` (the bug of astral-sh/ruff#1835). Outside a repository they are
relative to the working directory, as before.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from orgtrust_lint import REPOSITORY_URL
from orgtrust_lint.errors import UserError

if TYPE_CHECKING:
    from orgtrust_lint.baseline import Comparison
    from orgtrust_lint.lint import CheckResult

FORMATS = ("text", "json", "sarif", "github", "junit", "gitlab")
REPOSITORY_RELATIVE = frozenset({"sarif", "github", "gitlab", "junit"})

# The rule pages SARIF's helpUri points to; a fork or a mirror sets its own (the pages are docs/rules/).
DOCS_URL_VARIABLE = "ORGTRUST_LINT_DOCS_URL"
DEFAULT_DOCS_URL = f"{REPOSITORY_URL}/blob/main/docs/rules/"


@dataclass(frozen=True)
class Output:
    format: str
    file: str | None = None  # None: standard output

    def __str__(self) -> str:
        return f"{self.format}={self.file}" if self.file else self.format


def parse_output(value: str) -> Output:
    """``FORMAT`` (standard output) or ``FORMAT=FILE``; ``FORMAT=-`` is standard output too."""
    name, equals, file = value.partition("=")
    if name not in FORMATS:
        raise ValueError(f"unknown format {name!r} (choose from {', '.join(FORMATS)})")
    if equals and not file:
        raise ValueError(f"{value!r} names no file (FORMAT=FILE, or FORMAT alone for standard output)")
    return Output(name, None if file in ("", "-") else file)


def choose(stdout_format: str | None, outputs: list[Output]) -> list[Output]:
    """Every report of the run: standard output's first (``--format``, or an ``--output`` without a
    file; text when neither names one), then the files in the order given. Two reports on standard
    output, or one file named twice, would mix or overwrite each other: a usage error."""
    on_stdout = [o for o in outputs if o.file is None]
    if stdout_format is not None:
        on_stdout.insert(0, Output(stdout_format))
    if len(on_stdout) > 1:
        shown = ", ".join(str(o) for o in on_stdout)
        raise UserError(
            f"only one report can go to standard output, got {shown}; write the others to files (FORMAT=FILE)"
        )
    files = [o for o in outputs if o.file is not None]
    seen: set[str] = set()
    for output in files:
        assert output.file is not None
        real = os.path.realpath(output.file)
        if real in seen:
            raise UserError(f"--output: {output.file} is named twice")
        seen.add(real)
        directory = os.path.dirname(real)
        if os.path.isdir(real):
            raise UserError(f"--output {output}: {output.file} is a directory")
        if not os.path.isdir(directory):
            raise UserError(f"--output {output}: no such directory {os.path.dirname(output.file) or '.'}")
    return [on_stdout[0] if on_stdout else Output("text"), *files]


def repository_top(start: str = ".") -> str | None:
    """The top of the git work tree holding ``start`` (a ``.git`` directory, or the ``.git`` file of
    a linked work tree or submodule), or None outside any."""
    directory = os.path.realpath(start)
    while True:
        if os.path.lexists(os.path.join(directory, ".git")):
            return directory
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


@dataclass(frozen=True)
class Context:
    """What the reporters need beyond the findings: the tool's version, colour, and the root the
    repository-relative formats name paths from (None: the working directory)."""

    tool_version: str
    color: bool = False
    root: str | None = None

    def path_of(self, path: str) -> str:
        """``path`` (as reported: relative to the working directory, or absolute) relative to the
        root, with "/" between names; a file outside the root keeps the path it was reported with."""
        if self.root is None:
            return path
        absolute = os.path.normpath(os.path.join(os.getcwd(), path))
        for candidate in (absolute, os.path.realpath(absolute)):
            relative = os.path.relpath(candidate, self.root)
            if relative != os.pardir and not relative.startswith(os.pardir + os.sep):
                return relative.replace(os.sep, "/")
        return path


def report_root(repo_root: str | None) -> str | None:
    """``--repo-root`` (which must be a directory), or the git top level above the working directory."""
    if repo_root is None:
        return repository_top(".")
    if not os.path.isdir(repo_root):
        raise UserError(f"--repo-root: {repo_root} is not a directory")
    return os.path.realpath(repo_root)


def _shipped_rule_ids() -> frozenset[str]:
    """The rules that have a page in docs/rules/ (generated from the shipped rule files)."""
    from orgtrust_lint.engine import shipped_rule_files

    return frozenset(name.removesuffix(".yaml") for name, _ in shipped_rule_files())


def docs_url() -> str:
    base = os.environ.get(DOCS_URL_VARIABLE) or DEFAULT_DOCS_URL
    if not base.startswith(("https://", "http://")):
        raise UserError(f"{DOCS_URL_VARIABLE} must be an http:// or https:// URL, got {base!r}")
    return base if base.endswith("/") else base + "/"


def help_uri_for() -> Callable[[Any], str]:
    """A rule's help address for SARIF: its page under docs/rules/, or (a rule that ships no page)
    the first public page it rests on."""
    from orgtrust_lint.report.sarif import first_reference

    base, shipped = docs_url(), _shipped_rule_ids()
    return lambda rule: f"{base}{rule.id}.md" if rule.id in shipped else first_reference(rule)


def render(output_format: str, result: CheckResult, comparison: Comparison | None, context: Context) -> str:
    """One report of ``result``. Findings the baseline matched are left out everywhere but in SARIF,
    which marks them "unchanged"."""
    from orgtrust_lint.report import Summary

    shown = result.findings if comparison is None else [f for f in result.findings if not comparison.is_matched(f)]
    baselined = len(result.findings) - len(shown)
    summary = Summary.of(
        len(result.files), shown, len(result.suppressed), baselined, result.coverage, tuple(result.skipped)
    )
    path_of = context.path_of if output_format in REPOSITORY_RELATIVE else str
    if output_format == "json":
        from orgtrust_lint.report import json as json_report

        return json_report.render(shown, summary, context.tool_version, comparison.to_json() if comparison else None)
    if output_format == "sarif":
        from orgtrust_lint.engine import load_rules
        from orgtrust_lint.report import sarif

        state = comparison.sarif_state if comparison else None
        return sarif.render(
            result.findings,
            result.suppressed,
            result.rules or load_rules(),  # the run's: rules-dir's too
            context.tool_version,
            state,
            result.skipped,
            path_of=path_of,
            source_root=context.root,
            help_uri=help_uri_for(),
        )
    if output_format == "github":
        from orgtrust_lint.report import github

        return github.render(shown, summary, path_of)
    if output_format == "junit":
        from orgtrust_lint.report import junit

        return junit.render(shown, result.files, summary.skipped, path_of)
    if output_format == "gitlab":
        from orgtrust_lint.report import gitlab

        return gitlab.render(shown, summary.skipped, path_of)
    from orgtrust_lint.report import text

    return text.render(shown, summary, color=context.color)
