"""Output formats. Each module renders findings only and knows nothing of parsers or rules."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from orgtrust_lint.facts import Coverage, Finding, SkippedFile


@dataclass(frozen=True)
class Summary:
    files: int
    findings: int
    errors: int
    warnings: int
    infos: int
    suppressed: int
    baselined: int = 0  # matched by --baseline: not among the findings
    coverage: Coverage | None = None
    skipped: tuple[SkippedFile, ...] = ()  # not linted: every format says which and why

    @classmethod
    def of(
        cls,
        files: int,
        findings: list[Finding],
        suppressed: int = 0,
        baselined: int = 0,
        coverage: Coverage | None = None,
        skipped: tuple[SkippedFile, ...] = (),
    ) -> Summary:
        counts = Counter(f.severity.value for f in findings)
        return cls(
            files,
            len(findings),
            counts["error"],
            counts["warning"],
            counts["info"],
            suppressed,
            baselined,
            coverage,
            skipped,
        )


def plural(count: int, word: str) -> str:
    """'1 file', '2 files', '0 files'."""
    return f"{count} {word}{'' if count == 1 else 's'}"


def coverage_text(coverage: Coverage | None) -> str:
    """'checked 12 principals and 3 statements; 1 value could not be resolved' (empty without coverage)."""
    if coverage is None:
        return ""

    def count(number: int, word: str) -> str:
        return f"{number} {word}{'' if number == 1 else 's'}"

    principals = count(coverage.principals_checked, "principal")
    text = f"checked {principals} and {count(coverage.statements_checked, 'statement')}"
    unresolved = coverage.principals_unresolved + coverage.statements_unresolved
    if unresolved:
        text += f"; {count(unresolved, 'value')} could not be resolved (OT002)"
    return text


def coverage_json(coverage: Coverage | None) -> dict[str, dict[str, int]] | None:
    if coverage is None:
        return None
    return {
        "principals": {"checked": coverage.principals_checked, "unresolved": coverage.principals_unresolved},
        "statements": {"checked": coverage.statements_checked, "unresolved": coverage.statements_unresolved},
    }
