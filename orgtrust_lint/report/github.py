"""GitHub Actions workflow commands: one ``::error file=...,line=...,col=...::message`` per finding."""

from __future__ import annotations

from collections.abc import Callable

from orgtrust_lint.facts import Finding
from orgtrust_lint.report import Summary, plural
from orgtrust_lint.report.escape import visible

_COMMAND = {"error": "error", "warning": "warning", "info": "notice"}


# GitHub's toolkit (escapeData, escapeProperty) escapes only what the runner decodes again: "%", CR and
# LF, and in properties ":" and ",". Other control characters would reach the log (and a terminal, when
# run by hand) raw, and the runner decodes no other %XX: they are written as visible escapes first.
def _escape_data(text: str) -> str:
    return visible(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render(findings: list[Finding], summary: Summary, path_of: Callable[[str], str] = str) -> str:
    """``path_of`` names a file as the runner resolves it: relative to the repository root."""
    lines = []
    for finding in findings:
        where = finding.location
        properties = ",".join(
            f"{key}={_escape_property(str(value))}"
            for key, value in (
                ("file", path_of(where.path)),
                ("line", where.line),
                ("col", where.column),
                ("endLine", where.end_line),
                ("endColumn", where.end_column),
                ("title", f"{finding.rule} {finding.name}"),
            )
        )
        lines.append(f"::{_COMMAND[finding.severity.value]} {properties}::{_escape_data(finding.message)}")
    for skipped in summary.skipped:
        # A file that was not linted is an annotation too: a green check must not hide it.
        command = "warning" if skipped.incomplete else "notice"
        title = _escape_property("orgtrust-lint skipped this file")
        properties = f"file={_escape_property(path_of(skipped.path))},title={title}"
        lines.append(f"::{command} {properties}::{_escape_data('skipped: ' + skipped.reason)}")
    # Worded as the text format's summary line: what is not shown is counted too.
    not_shown = [f"{summary.suppressed} suppressed"] if summary.suppressed else []
    if summary.baselined:
        not_shown.append(f"{summary.baselined} baselined")
    hidden = f"; {', '.join(not_shown)}" if not_shown else ""
    counts = f"{plural(summary.errors, 'error')}, {plural(summary.warnings, 'warning')}, {summary.infos} info"
    lines.append(
        f"orgtrust-lint: {plural(summary.findings, 'finding')} ({counts}) in {plural(summary.files, 'file')}{hidden}"
    )
    return "\n".join(lines) + "\n"
