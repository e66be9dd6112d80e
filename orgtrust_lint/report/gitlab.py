"""GitLab Code Quality: a JSON array of issues, the report a job names under ``artifacts: reports:
codequality`` and GitLab shows in merge requests.

Each issue has the fields GitLab requires (``description``, ``check_name``, ``fingerprint``,
``severity``, ``location.path``, ``location.lines.begin``) and, as its documentation recommends,
``type``, ``categories`` and ``engine_name``. The fingerprint is SARIF's: it leaves out the line number,
so an issue keeps its identity when lines above it move, and GitLab compares the merge request with its
target branch by it. Paths are relative to the repository root, as GitLab resolves them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from orgtrust_lint.facts import Finding, SkippedFile
from orgtrust_lint.fingerprint import fingerprints
from orgtrust_lint.report.severity import gitlab_severity, is_security_rule


def _issue(finding: Finding, fingerprint: str, path: str) -> dict[str, Any]:
    where = finding.location
    return {
        "type": "issue",
        "engine_name": "orgtrust-lint",
        "check_name": finding.rule,
        "description": f"{finding.rule} {finding.name}: {finding.message}",
        "categories": ["Security"] if is_security_rule(finding.rule) else ["Bug Risk"],
        "severity": gitlab_severity(finding.rule, finding.severity.value),
        "fingerprint": fingerprint,
        "location": {"path": path, "lines": {"begin": max(where.line, 1), "end": max(where.end_line, where.line, 1)}},
    }


def _skipped_issue(item: SkippedFile, path: str) -> dict[str, Any]:
    """A file that was not linted is an issue too: a clean report must not hide it."""
    digest = hashlib.sha256(f"skipped|{path}".encode("utf-8", "surrogateescape")).hexdigest()[:32]
    return {
        "type": "issue",
        "engine_name": "orgtrust-lint",
        "check_name": "skipped",
        "description": f"orgtrust-lint skipped this file: {item.reason}",
        "categories": ["Bug Risk"],
        "severity": "minor" if item.incomplete else "info",
        "fingerprint": f"{digest}:1",
        "location": {"path": path, "lines": {"begin": 1}},
    }


def render(findings: list[Finding], skipped: tuple[SkippedFile, ...] = (), path_of: Callable[[str], str] = str) -> str:
    prints = fingerprints(findings, path_key=path_of)
    issues = [_issue(f, p, path_of(f.location.path)) for f, p in zip(findings, prints, strict=True)]
    issues.extend(_skipped_issue(item, path_of(item.path)) for item in skipped)
    return json.dumps(issues, indent=2) + "\n"
