"""GitHub Actions workflow commands: one ``::error file=...,line=...,col=...::message`` per finding."""

from __future__ import annotations

from orgtrust_lint.facts import Finding
from orgtrust_lint.report import Summary
from orgtrust_lint.report.escape import visible

_COMMAND = {"error": "error", "warning": "warning", "info": "notice"}


# GitHub's toolkit (escapeData, escapeProperty) escapes only what the runner decodes again: "%", CR and
# LF, and in properties ":" and ",". Other control characters would reach the log (and a terminal, when
# run by hand) raw, and the runner decodes no other %XX: they are written as visible escapes first.
def _escape_data(text: str) -> str:
    return visible(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render(findings: list[Finding], summary: Summary) -> str:
    lines = []
    for finding in findings:
        where = finding.location
        properties = ",".join(
            f"{key}={_escape_property(str(value))}"
            for key, value in (
                ("file", where.path),
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
        properties = (
            f"file={_escape_property(skipped.path)},title={_escape_property('orgtrust-lint skipped this file')}"
        )
        lines.append(f"::{command} {properties}::{_escape_data('skipped: ' + skipped.reason)}")
    baselined = f"; {summary.baselined} baselined" if summary.baselined else ""
    lines.append(
        f"orgtrust-lint: {summary.findings} finding(s) ({summary.errors} errors, {summary.warnings} warnings, "
        f"{summary.infos} info) in {summary.files} file(s){baselined}"
    )
    return "\n".join(lines) + "\n"
