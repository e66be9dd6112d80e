"""The cfn-lint entry point reports the same findings, under cfn-lint's custom-rule ids."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from orgtrust_lint.config import Config
from orgtrust_lint.lint import check

REPO = Path(__file__).resolve().parent.parent
CFN_LINT = str(Path(sys.executable).parent / "cfn-lint")
TEMPLATES = ["fixtures/cloudformation/iam-policies.yaml", "fixtures/cloudformation/iam-policies.template.json"]


def _cfn_lint(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CFN_LINT, "--format", "parseable", *args], cwd=REPO, capture_output=True, text=True, timeout=180
    )


@pytest.mark.parametrize("template", TEMPLATES)
def test_append_rules_reports_our_findings_at_our_lines(template: str) -> None:
    result = _cfn_lint("--append-rules", "orgtrust_lint.cfnlint_plugin", "--", template)
    assert "Traceback" not in result.stderr, result.stderr
    # parseable: file:line:col:endline:endcol:RULE:message
    reported = set()
    for line in result.stdout.splitlines():
        match = re.match(r"^(.+?):(\d+):(\d+):\d+:\d+:([EWI]\d{4}):(.*)$", line)
        assert match, line
        reported.add((int(match.group(2)), match.group(4), match.group(5).rsplit("[", 1)[-1].rstrip("]")))
    ours = check([str(REPO / template)], Config(ignore=("OT105",))).findings
    assert ours, "the fixture has findings"
    for finding in ours:
        letter = {"error": "E", "warning": "W", "info": "I"}[finding.severity.value]
        assert (finding.location.line, f"{letter}9{finding.rule[2:]}", finding.rule) in reported
    assert all(rule[1:2] == "9" for _, rule, _ in reported), "ids stay in cfn-lint's custom range"
    assert result.returncode & 2, "E-level matches make cfn-lint exit with its error bit"


def test_plain_cfn_lint_does_not_report_our_rules() -> None:
    result = _cfn_lint("--", TEMPLATES[0])
    assert result.returncode == 0, result.stdout
