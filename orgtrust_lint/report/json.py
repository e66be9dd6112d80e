"""The stable, versioned JSON output (see README.md, "JSON output")."""

from __future__ import annotations

import json
from typing import Any

from orgtrust_lint.facts import Finding
from orgtrust_lint.report import Summary, coverage_json

FORMAT_VERSION = 1


def finding_to_dict(finding: Finding) -> dict[str, Any]:
    item: dict[str, Any] = {
        "rule": finding.rule,
        "name": finding.name,
        "severity": finding.severity.value,
        "path": finding.location.path,
        "line": finding.location.line,
        "column": finding.location.column,
        "end_line": finding.location.end_line,
        "end_column": finding.location.end_column,
        "message": finding.message,
    }
    if finding.principal is not None:
        item["principal"] = finding.principal
    if finding.suggestion is not None:
        item["suggestion"] = finding.suggestion
    return item


def render(findings: list[Finding], summary: Summary, tool_version: str, baseline: dict[str, Any] | None = None) -> str:
    document: dict[str, Any] = {
        "version": FORMAT_VERSION,
        "tool": {"name": "orgtrust-lint", "version": tool_version},
        "findings": [finding_to_dict(f) for f in findings],
        "summary": {
            "files": summary.files,
            "findings": summary.findings,
            "errors": summary.errors,
            "warnings": summary.warnings,
            "infos": summary.infos,
            # Not among the findings, as the text summary's "; 5 suppressed, 2 baselined" says.
            "suppressed": summary.suppressed,
            "baselined": summary.baselined,
        },
    }
    # Every file that was not linted, and why: a green report must not hide a file it never read.
    document["skipped"] = [{"path": s.path, "reason": s.reason, "incomplete": s.incomplete} for s in summary.skipped]
    coverage = coverage_json(summary.coverage)
    if coverage is not None:
        document["summary"]["coverage"] = coverage
    if baseline is not None:  # only with --baseline, so documents without one keep their exact shape
        document["baseline"] = baseline
    return json.dumps(document, indent=2) + "\n"
