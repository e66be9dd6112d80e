"""SARIF 2.1.0 for code scanning: rules, results with regions, stable fingerprints, suppressions,
and with --baseline each result's baselineState."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote_from_bytes

from orgtrust_lint.facts import Finding, SkippedFile, Suppression
from orgtrust_lint.fingerprint import fingerprints
from orgtrust_lint.report.rule_docs import help_markdown
from orgtrust_lint.report.severity import security_severity

_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def _rule_descriptor(rule: Any, help_uri: Callable[[Any], str]) -> dict[str, Any]:
    help_text = (
        f"{rule.what}\n\nWhy is this bad? {rule.why}\n\nExample:\n{rule.bad_example}\nUse instead:\n{rule.good_example}"
    )
    properties: dict[str, Any] = {"tags": list(rule.tags)}
    score = security_severity(rule.id, rule.severity.value)
    if score is not None:
        # GitHub reads security-severity only from a rule tagged "security" (it then shows Critical,
        # High, Medium or Low instead of Error, Warning or Note); report/severity.py has the mapping.
        properties = {"tags": ["security", *rule.tags], "security-severity": score}
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": " ".join(rule.what.split())},
        "help": {"text": help_text, "markdown": help_markdown(rule)},
        "helpUri": help_uri(rule),
        "defaultConfiguration": {"level": _LEVEL[rule.severity.value]},
        "properties": properties,
    }


def first_reference(rule: Any) -> str:
    """The public page the rule rests on: the help address of a rule without a page in docs/rules/."""
    url: str = rule.references[0][1]
    return url


def _artifact(path: str) -> dict[str, str]:
    """The file as code scanning finds it: relative to %SRCROOT% (the repository root, or the working
    directory outside a repository), or an absolute file URI for a file outside it."""
    if os.path.isabs(path):
        return {"uri": Path(path).as_uri()}  # percent-encodes, like the relative form below
    # A relative reference per RFC 3986: everything but unreserved characters and "/" percent-encoded
    # (a space, "%", "#", "?", a ":" that would read as a scheme, control and non-ASCII characters),
    # from the file system's own bytes, so a name that is not valid UTF-8 still names the same file.
    return {"uri": quote_from_bytes(os.fsencode(path.replace(os.sep, "/")), safe="/"), "uriBaseId": "%SRCROOT%"}


def _result(finding: Finding, index: int, fingerprint: str, path: str) -> dict[str, Any]:
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
                    "artifactLocation": _artifact(path),
                    "region": region,
                }
            }
        ],
        "partialFingerprints": {"orgtrustLint/v1": fingerprint},
    }
    if finding.principal:
        result["properties"] = {"principal": finding.principal}
    return result


def _invocation(skipped: list[SkippedFile], path_of: Callable[[str], str]) -> dict[str, Any]:
    """The run itself: each file that was not linted is a notification, and a run that skipped a
    file that could hold a finding did not succeed in checking everything."""
    notifications = [
        {
            "level": "warning" if item.incomplete else "note",
            "message": {"text": f"skipped: {item.reason}"},
            "locations": [{"physicalLocation": {"artifactLocation": _artifact(path_of(item.path))}}],
        }
        for item in skipped
    ]
    return {
        "executionSuccessful": not any(item.incomplete for item in skipped),
        "toolExecutionNotifications": notifications,
    }


def render(
    findings: list[Finding],
    suppressed: list[tuple[Finding, Suppression]],
    rules: list[Any],
    tool_version: str,
    baseline_state: Callable[[Finding], str] | None = None,
    skipped: list[SkippedFile] | None = None,
    path_of: Callable[[str], str] = str,
    source_root: str | None = None,
    help_uri: Callable[[Any], str] = first_reference,
) -> str:
    """With ``baseline_state`` (finding -> "new" or "unchanged"), every result carries its state.
    Stale baseline entries are not emitted as "absent" results: GitHub code scanning ignores
    baselineState and would open an alert for each finding that was fixed. ``path_of`` names a
    reported file relative to ``source_root`` (the repository root; default the working directory),
    in the artifact locations and in the fingerprints, so neither depends on where the run started."""
    index = {rule.id: i for i, rule in enumerate(rules)}
    everything = [*findings, *(f for f, _ in suppressed)]
    prints = fingerprints(everything, path_key=path_of)
    results = [_result(f, index[f.rule], p, path_of(f.location.path)) for f, p in zip(findings, prints, strict=False)]
    for (finding, suppression), fingerprint in zip(suppressed, prints[len(findings) :], strict=True):
        result = _result(finding, index[finding.rule], fingerprint, path_of(finding.location.path))
        result["suppressions"] = [{"kind": "inSource", "justification": suppression.reason or "no reason given"}]
        results.append(result)
    if baseline_state is not None:
        for result, finding in zip(results, everything, strict=True):
            result["baselineState"] = baseline_state(finding)
    document = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "orgtrust-lint",
                        "version": tool_version,
                        "rules": [_rule_descriptor(rule, help_uri) for rule in rules],
                    }
                },
                "originalUriBaseIds": {
                    "%SRCROOT%": {"uri": Path(source_root or Path.cwd()).as_uri().rstrip("/") + "/"}
                },
                "invocations": [_invocation(skipped or [], path_of)],
                "results": results,
            }
        ],
    }
    return json.dumps(document, indent=2) + "\n"
