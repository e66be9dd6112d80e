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


def _parseable(output: str) -> set[tuple[int, str, str]]:
    """(line, cfn-lint id, message) of each parseable line (file:line:col:endline:endcol:RULE:message)."""
    found = set()
    for line in output.splitlines():
        match = re.match(r"^(.+?):(\d+):(\d+):\d+:\d+:([EWI]\d{4}):(.*)$", line)
        assert match, line
        found.add((int(match.group(2)), match.group(4), match.group(5)))
    return found


def _expected(template: Path) -> set[tuple[int, str, str]]:
    """orgtrust-lint's own findings as cfn-lint should report them: (line, id, message [OTxxx])."""
    letter = {"error": "E", "warning": "W", "info": "I"}
    return {
        (f.location.line, f"{letter[f.severity.value]}9{f.rule[2:]}", f"{f.message} [{f.rule}]")
        for f in check([str(template)], Config(ignore=("OT105",))).findings
    }


def test_fu_m2_a_template_on_stdin_gets_the_same_findings_as_the_file() -> None:
    """`cat t.yaml | cfn-lint --append-rules ...` used to give nine E0002 (one per rule) and exit 2."""
    template = REPO / TEMPLATES[0]
    piped = subprocess.run(
        [CFN_LINT, "--format", "parseable", "--append-rules", "orgtrust_lint.cfnlint_plugin"],
        input=template.read_text(encoding="utf-8"),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert "E0002" not in piped.stdout and "Traceback" not in piped.stderr, piped.stdout + piped.stderr
    assert _parseable(piped.stdout) == _expected(template) != set()
    assert piped.returncode == 2 | 4, "cfn-lint's error and warning bits, as for the file"


@pytest.fixture(scope="module")
def plugin_rules():
    """Only our rules, through cfn-lint's own loader (loading all of cfn-lint's takes a second)."""
    from cfnlint.rules import Rules

    return Rules.create_from_module("orgtrust_lint.cfnlint_plugin")


def _lint_file(rules, path: Path, *ignore_checks: str, experimental: bool = True) -> list:
    """cfn-lint's runner on one file, as the command line runs it (Metadata directives included)."""
    from cfnlint.config import ConfigMixIn
    from cfnlint.runner.template.runner import run_template_by_file_path

    config = ConfigMixIn([], include_checks=["I"], ignore_checks=list(ignore_checks), include_experimental=experimental)
    return list(run_template_by_file_path(str(path), config, rules, False))


ENABLERS = """AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  EnableFunctionArn:
    Type: String
Resources:
  EnableIpam:
    Type: Custom::EnableAwsServiceAccess
    Properties:
      ServiceToken: !Ref EnableFunctionArn
      servicePrincipal: ipam.amazonaws.com
  EnableConfig:
    Type: Custom::EnableAwsServiceAccess
    Properties:
      ServiceToken: !Ref EnableFunctionArn
      servicePrincipal: config.amazonaws.com
"""


def test_cr_d13_cfn_lint_reports_the_severity_orgtrust_lint_reports(plugin_rules, tmp_path: Path) -> None:
    """OT105 is a warning where enabling from Organizations breaks the service (ipam); the plugin
    used to report it as informational I9105, hidden by cfn-lint's default --include-checks."""
    template = tmp_path / "enablers.yaml"
    template.write_text(ENABLERS)
    ours = {(f.location.line, f.severity.value) for f in check([str(template)], Config(select=("OT105",))).findings}
    assert ours == {(10, "warning"), (15, "info")}
    reported = {(m.linenumber, m.rule.id, m.rule.severity) for m in _lint_file(plugin_rules, template)}
    assert reported == {(10, "W9105", "warning"), (15, "I9105", "informational")}
    # cfn-lint's own selection works on the split ids.
    assert {m.rule.id for m in _lint_file(plugin_rules, template, "I9105")} == {"W9105"}


def test_a_rule_off_by_default_is_experimental_to_cfn_lint(plugin_rules, tmp_path: Path) -> None:
    """OT105 is off unless selected in orgtrust-lint; in cfn-lint it runs with --include-experimental."""
    template = tmp_path / "enablers.yaml"
    template.write_text(ENABLERS)
    assert check([str(template)], Config()).findings == []
    assert _lint_file(plugin_rules, template, experimental=False) == []
    assert {m.rule.id for m in _lint_file(plugin_rules, template)} == {"W9105", "I9105"}


BAD_ROLE = """AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Role:
    Type: AWS::IAM::ServiceLinkedRole
    Properties:
      AWSServiceName: config.amazonaw.com
"""


def test_cr_d13_a_long_lived_process_never_gets_another_templates_findings(tmp_path: Path) -> None:
    """The plugin cached findings by (file name, id(template)); once a template was freed its id
    could be reused, and a template got the findings of the one before it: the fixed one the
    broken one's E9101, or the broken one none at all (4 times in 40 alternations here)."""
    from cfnlint.decode.decode import decode_str
    from cfnlint.rules import RulesCollection
    from cfnlint.template import Template

    rules = RulesCollection()  # the collection cfn-lint's Python API lints with
    rules.create_from_module("orgtrust_lint.cfnlint_plugin")
    path = tmp_path / "role.yaml"

    def lint(text: str) -> list[str]:
        path.write_text(text)  # an editor saving the file, then linting it again in the same process
        template, _ = decode_str(text)
        return [m.rule.id for m in rules.run(str(path), Template(str(path), template))]

    stale = 0
    for _ in range(40):
        assert lint(BAD_ROLE) == ["E9101"]
        stale += bool(lint(BAD_ROLE.replace("amazonaw.com", "amazonaws.com")))
    assert stale == 0


def test_fu_minor23_findings_carry_their_template_path(plugin_rules) -> None:
    """cfn-lint's JSON "Path" used to be ["Resources"] for every finding, even at a parameter default."""
    paths = {(m.rule.id, tuple(m.path)) for m in _lint_file(plugin_rules, REPO / TEMPLATES[0])}
    assert ("E9101", ("Parameters", "ConfigPrincipal", "Default")) in paths
    assert ("E9201", ("Resources", "Unscoped", "Properties", "PolicyDocument", "Statement", 0)) in paths
    json_paths = {(m.rule.id, tuple(m.path)) for m in _lint_file(plugin_rules, REPO / TEMPLATES[1])}
    assert all(path[0] in ("Resources", "Parameters") and len(path) > 2 for _, path in json_paths), json_paths


def test_fu_minor23_cfn_lint_metadata_ignore_checks_silences_our_rules(plugin_rules, tmp_path: Path) -> None:
    """The README promised it; with the path ["Resources"] cfn-lint could not tell which resource a match was in."""
    template = tmp_path / "stack.yaml"
    template.write_text(TEMPLATE_WITH_METADATA)
    reported = [(m.rule.id, m.linenumber) for m in _lint_file(plugin_rules, template)]
    assert reported == [("E9201", 22)]  # only in the resource without the directive


TEMPLATE_WITH_METADATA = """AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Ignored:
    Type: AWS::IAM::ManagedPolicy
    Metadata:
      cfn-lint:
        config:
          ignore_checks: [E9201]
    Properties:
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Action: organizations:*
            Resource: "*"
  Reported:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Action: organizations:*
            Resource: "*"
"""


def test_fu_minor22_the_cfnlintrc_form_in_the_readme_needs_no_double_dash(tmp_path: Path) -> None:
    """The README's `.cfnlintrc` (append_rules) loads the plugin for `cfn-lint template.yaml`, the form
    that avoids `--append-rules` swallowing the template's name."""
    (tmp_path / ".git").mkdir()
    (tmp_path / ".cfnlintrc").write_text("append_rules:\n  - orgtrust_lint.cfnlint_plugin\n")
    (tmp_path / "template.yaml").write_text((REPO / "fixtures/cloudformation/iam-policies.yaml").read_text())
    result = subprocess.run(
        [CFN_LINT, "--format", "parseable", "template.yaml"], cwd=tmp_path, capture_output=True, text=True, timeout=180
    )
    assert "Traceback" not in result.stderr, result.stderr
    assert any(re.search(r":E9201:.*\[OT201\]$", line) for line in result.stdout.splitlines()), result.stdout
