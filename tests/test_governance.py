"""Suppression governance beyond the fixtures: CloudFormation Metadata ignores, pre-commit runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orgtrust_lint.cli import run

TEMPLATE = """AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Enabler:
    Type: AWS::IAM::ManagedPolicy
    Metadata:
      orgtrust-lint:
        ignore: [OT201]
        reason: the account factory needs it
{until}    Properties:
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Action: organizations:EnableAWSServiceAccess
            Resource: "*"
"""


def _findings(capsys, *argv: str) -> tuple[int, list[tuple[str, int]]]:
    code = run(["check", "--format", "json", *argv])
    out, _ = capsys.readouterr()
    return code, [(f["rule"], f["line"]) for f in json.loads(out)["findings"]]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_metadata_ignore_with_reason_and_future_expiry_silences(project: Path, capsys) -> None:
    (project / "stack.yaml").write_text(TEMPLATE.format(until="        until: 2099-12-31\n"))
    assert _findings(capsys, "--require-reason") == (0, [])


def test_expired_metadata_ignore_is_reported_and_stops_silencing(project: Path, capsys) -> None:
    (project / "stack.yaml").write_text(TEMPLATE.format(until="        until: 2024-06-30\n"))
    code, found = _findings(capsys)
    assert code == 1 and ("OT004", 6) in found and any(rule == "OT201" for rule, _ in found)


def test_unignorable_rule_in_metadata(project: Path, capsys) -> None:
    (project / "stack.yaml").write_text(TEMPLATE.format(until=""))
    (project / ".orgtrust-lint.yaml").write_text("unignorable: [OT2]\n")
    code, found = _findings(capsys)
    assert code == 1 and ("OT006", 6) in found and any(rule == "OT201" for rule, _ in found)


def test_pre_commit_run_does_not_call_a_siblings_ignore_unused(project: Path, capsys) -> None:
    (project / "variables.tf").write_text(
        '# orgtrust-lint: ignore[OT101] preview\nvariable "p" {\n  default = ["preview.amazonaws.com"]\n}\n'
    )
    (project / "main.tf").write_text('resource "aws_s3_bucket" "b" {\n  bucket = "logs"\n}\n')
    assert _findings(capsys, "main.tf") == (0, [])  # variables.tf is only read for context
    (project / "variables.tf").write_text('# orgtrust-lint: ignore[OT101] preview\nvariable "p" {\n  default = []\n}\n')
    assert _findings(capsys, "variables.tf") == (0, [("OT005", 1)])  # a warning: fails only with --fail-on
