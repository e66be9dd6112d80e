"""Output formats. Each module renders findings only and knows nothing of parsers or rules."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from orgtrust_lint.facts import Finding


@dataclass(frozen=True)
class Summary:
    files: int
    findings: int
    errors: int
    warnings: int
    infos: int
    suppressed: int
    baselined: int = 0  # matched by --baseline: not among the findings

    @classmethod
    def of(cls, files: int, findings: list[Finding], suppressed: int = 0, baselined: int = 0) -> Summary:
        counts = Counter(f.severity.value for f in findings)
        return cls(files, len(findings), counts["error"], counts["warning"], counts["info"], suppressed, baselined)
