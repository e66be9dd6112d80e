"""Human-readable output in the style of ruff: ``path:line:col: CODE message``."""

from __future__ import annotations

from orgtrust_lint.facts import Finding
from orgtrust_lint.report import Summary, coverage_text
from orgtrust_lint.report.escape import no_workflow_command, visible

_COLORS = {"error": "\033[31m", "warning": "\033[33m", "info": "\033[36m"}
_BOLD, _RESET = "\033[1m", "\033[0m"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def render(findings: list[Finding], summary: Summary, color: bool = False) -> str:
    lines = []
    for finding in findings:
        # Paths and messages (which quote principals) come from the files: escaped before our colours go in.
        where = f"{visible(finding.location.path)}:{finding.location.line}:{finding.location.column}:"
        code = f"{finding.rule} [{finding.severity.value}]"
        if color:
            where = f"{_BOLD}{where}{_RESET}"
            code = f"{_COLORS[finding.severity.value]}{code}{_RESET}"
        lines.append(no_workflow_command(f"{where} {code} {visible(finding.message)}"))
    files = _plural(summary.files, "file")
    not_shown = [f"{summary.suppressed} suppressed"] if summary.suppressed else []
    if summary.baselined:
        not_shown.append(f"{summary.baselined} baselined")
    hidden = f"; {', '.join(not_shown)}" if not_shown else ""
    if summary.skipped:
        hidden += f"; {_plural(len(summary.skipped), 'file')} skipped (see above)"
    seen = coverage_text(summary.coverage)
    hidden += f"; {seen}" if seen else ""
    if summary.findings:
        lines.append(
            f"Found {_plural(summary.findings, 'problem')} ({_plural(summary.errors, 'error')}, "
            f"{_plural(summary.warnings, 'warning')}, {summary.infos} info) in {files}{hidden}."
        )
    else:
        lines.append(f"All checks passed ({files}{hidden}).")
    return "\n".join(lines) + "\n"
