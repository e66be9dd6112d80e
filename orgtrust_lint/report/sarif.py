"""SARIF 2.1.0 for code scanning: rules, results with regions, stable fingerprints, suppressions."""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

from orgtrust_lint.facts import Finding, Suppression

_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def _line_text(path: str, line: int, cache: dict[str, list[str]]) -> str:
    if path not in cache:
        try:
            cache[path] = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            cache[path] = []
    lines = cache[path]
    return lines[line - 1].strip() if 0 < line <= len(lines) else ""


def _fingerprints(findings: list[Finding]) -> list[str]:
    """Stable across unrelated edits: the rule, the file, the principal and the offending line's text,
    not its number; repeats of the same text are told apart by their order."""
    cache: dict[str, list[str]] = {}
    seen: Counter[str] = Counter()
    prints = []
    for finding in findings:
        text = _line_text(finding.location.path, finding.location.line, cache)
        key = "|".join((finding.rule, finding.location.path, finding.principal or "", text))
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]
        seen[digest] += 1
        prints.append(f"{digest}:{seen[digest]}")
    return prints


def _rule_descriptor(rule: Any) -> dict[str, Any]:
    help_text = (
        f"{rule.what}\n\nWhy is this bad? {rule.why}\n\nExample:\n{rule.bad_example}\nUse instead:\n{rule.good_example}"
    )
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": " ".join(rule.what.split())},
        "help": {"text": help_text},
        "helpUri": rule.references[0][1],  # the public page the rule rests on
        "defaultConfiguration": {"level": _LEVEL[rule.severity.value]},
        "properties": {"tags": list(rule.tags)},
    }


def _artifact(path: str) -> dict[str, str]:
    if os.path.isabs(path):
        return {"uri": Path(path).as_uri()}
    return {"uri": path.replace(os.sep, "/"), "uriBaseId": "%SRCROOT%"}


def _result(finding: Finding, index: int, fingerprint: str) -> dict[str, Any]:
    where = finding.location
    region: dict[str, int] = {"startLine": max(where.line, 1), "startColumn": max(where.column, 1)}
    if where.end_line >= where.line:
        region["endLine"] = where.end_line
        if where.end_column > 0 and (where.end_line > where.line or where.end_column > where.column):
            region["endColumn"] = where.end_column
    result: dict[str, Any] = {
        "ruleId": finding.rule,
        "ruleIndex": index,
        "level": _LEVEL[finding.severity.value],
        "message": {"text": finding.message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": _artifact(where.path),
                    "region": region,
                }
            }
        ],
        "partialFingerprints": {"orgtrustLint/v1": fingerprint},
    }
    if finding.principal:
        result["properties"] = {"principal": finding.principal}
    return result


def render(
    findings: list[Finding],
    suppressed: list[tuple[Finding, Suppression]],
    rules: list[Any],
    tool_version: str,
) -> str:
    index = {rule.id: i for i, rule in enumerate(rules)}
    everything = [*findings, *(f for f, _ in suppressed)]
    prints = _fingerprints(everything)
    results = [_result(f, index[f.rule], p) for f, p in zip(findings, prints, strict=False)]
    for (finding, suppression), fingerprint in zip(suppressed, prints[len(findings) :], strict=True):
        result = _result(finding, index[finding.rule], fingerprint)
        result["suppressions"] = [{"kind": "inSource", "justification": suppression.reason or "no reason given"}]
        results.append(result)
    document = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "orgtrust-lint",
                        "version": tool_version,
                        "rules": [_rule_descriptor(rule) for rule in rules],
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": Path.cwd().as_uri() + "/"}},
                "results": results,
            }
        ],
    }
    return json.dumps(document, indent=2) + "\n"
