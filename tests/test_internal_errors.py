"""A bug of ours on one file is an OT003 finding for that file, never a crashed run.

Each test plants a failure (a parser, rule or reporter that raises on one file) the way a real
bug would surface, and checks what a user sees: the other files' findings, OT003 with "please
report" for the failing file, exit code 3 (incomplete) and no traceback.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orgtrust_lint import engine
from orgtrust_lint.cli import run

TYPO = """resource "aws_organizations_organization" "org" {
  feature_set                   = "ALL"
  aws_service_access_principals = ["config.amazonaw.com"]
}
"""
TEMPLATE_TYPO = """AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Role:
    Type: AWS::IAM::ServiceLinkedRole
    Properties:
      AWSServiceName: config.amazonaw.com
"""


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = run(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("good/main.tf", "explode/main.tf", "explode/other.tf"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(TYPO.replace('"org"', f'"{name.replace("/", "_").replace(".", "_")}"'))
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "good.yaml").write_text(TEMPLATE_TYPO)
    (tmp_path / "stacks" / "explode.yaml").write_text(TEMPLATE_TYPO)
    return tmp_path


def _by_rule(output: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for finding in json.loads(output)["findings"]:
        found.setdefault(finding["rule"], set()).add(finding["path"])
    return found


def test_a_rule_that_raises_on_one_file(project: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    original = engine._findings_for

    def buggy(rule, fact, ctx):  # a bug in the rules about the code, not in OT003's own
        if fact.location.path.startswith("explode/main") and rule.id != "OT003":
            raise KeyError("a rule bug")
        return original(rule, fact, ctx)

    monkeypatch.setattr(engine, "_findings_for", buggy)
    code, out, err = _run(capsys, "check", "--format", "json", "--no-cache")
    assert code == 3 and err == ""
    found = _by_rule(out)
    assert found["OT003"] == {"explode/main.tf"}
    assert {"good/main.tf", "explode/other.tf", "stacks/good.yaml", "stacks/explode.yaml"} <= found["OT101"]
    message = next(f["message"] for f in json.loads(out)["findings"] if f["rule"] == "OT003")
    assert "KeyError" in message and "please report" in message and "checking OT" in message


def test_a_parser_that_raises_on_one_file_spares_its_siblings(
    project: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    import orgtrust_lint.lint as lint

    original = lint.parse_terraform

    def buggy(path: str, data: bytes, *rest: object):
        if path == "explode/main.tf":
            raise RecursionError("maximum recursion depth exceeded")
        return original(path, data, *rest)

    monkeypatch.setattr(lint, "parse_terraform", buggy)
    code, out, _ = _run(capsys, "check", "--format", "json", "--no-cache", "--jobs", "1")
    assert code == 3
    found = _by_rule(out)
    assert found["OT003"] == {"explode/main.tf"}
    assert {"good/main.tf", "explode/other.tf"} <= found["OT101"]  # the sibling is still linted
    assert "explode/main.tf" not in found["OT101"]


def test_a_template_decoder_that_raises(project: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    import orgtrust_lint.lint as lint

    original = lint.extract_cloudformation

    def buggy(path: str, text: str):
        if "explode" in path:
            raise TypeError("unexpected node")
        return original(path, text)

    monkeypatch.setattr(lint, "extract_cloudformation", buggy)
    code, out, _ = _run(capsys, "check", "stacks", "--format", "json", "--no-cache", "--jobs", "1")
    assert code == 3
    assert _by_rule(out) == {"OT003": {"stacks/explode.yaml"}, "OT101": {"stacks/good.yaml"}}


def test_a_reporter_that_raises_on_one_finding(project: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    from orgtrust_lint.report import sarif

    original = sarif._result

    def buggy(finding, *rest):
        if finding.rule == "OT101" and finding.location.path == "good/main.tf":
            raise ValueError("cannot encode")
        return original(finding, *rest)

    monkeypatch.setattr(sarif, "_result", buggy)
    code, out, err = _run(capsys, "check", "--format", "sarif", "--no-cache")
    assert code == 3 and err == ""
    results = json.loads(out)["runs"][0]["results"]
    by_rule = {(r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]) for r in results}
    assert ("OT003", "good/main.tf") in by_rule
    assert ("OT101", "explode/main.tf") in by_rule and ("OT101", "good/main.tf") not in by_rule


def test_internal_errors_cannot_be_ignored_or_suppressed(
    project: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "explode" / "main.tf").write_text("# orgtrust-lint: ignore[OT003] hide it\n" + TYPO)
    original = engine._findings_for

    def buggy(rule, fact, ctx):
        if fact.location.path == "explode/main.tf" and rule.id != "OT003":
            raise KeyError("a rule bug")
        return original(rule, fact, ctx)

    monkeypatch.setattr(engine, "_findings_for", buggy)
    code, out, _ = _run(capsys, "check", "explode", "--ignore", "OT003", "--select", "OT1", "--format", "json")
    assert code == 3
    assert _by_rule(out)["OT003"] == {"explode/main.tf"}
