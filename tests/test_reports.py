"""SARIF (validated against the official 2.1.0 schema) and GitHub workflow commands."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from orgtrust_lint.cli import run

SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-2.1.0.json").read_text())


def _sarif(capsys: pytest.CaptureFixture[str], *paths: str) -> dict:
    run(["check", *paths, "--format", "sarif"])
    out, err = capsys.readouterr()
    assert err == ""
    return json.loads(out)


def test_sarif_for_the_fixtures_validates_against_the_official_schema(capsys, in_repo_root: None) -> None:
    document = _sarif(capsys, "fixtures")
    jsonschema.validate(document, SCHEMA)
    run_ = document["runs"][0]
    rules = run_["tool"]["driver"]["rules"]
    assert {r["id"] for r in rules} >= {"OT101", "OT201", "OT301", "OT401"}
    assert all(r["helpUri"].startswith("https://") and r["fullDescription"]["text"] for r in rules)
    results = run_["results"]
    assert results and all(r["partialFingerprints"]["orgtrustLint/v1"] for r in results)
    assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in results)
    suppressed = [r for r in results if r.get("suppressions")]
    assert suppressed, "the suppressed fixture's findings are carried as SARIF suppressions"
    assert any("private preview" in r["suppressions"][0]["justification"] for r in suppressed)
    typo = next(r for r in results if r.get("properties", {}).get("principal") == "config.amazonaw.com")
    region = typo["locations"][0]["physicalLocation"]["region"]
    assert set(region) == {"startLine", "startColumn", "endLine", "endColumn"}


def test_fingerprints_survive_unrelated_edits_above(capsys, tmp_path: Path) -> None:
    body = (
        'resource "aws_organizations_organization" "org" {\n'
        '  aws_service_access_principals = ["config.amazonaw.com"]\n}\n'
    )
    (tmp_path / "main.tf").write_text(body)
    before = _sarif(capsys, str(tmp_path))["runs"][0]["results"]
    (tmp_path / "main.tf").write_text("# a comment\n\n# another\n" + body)
    after = _sarif(capsys, str(tmp_path))["runs"][0]["results"]
    assert [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in (before[0], after[0])] == [2, 5]
    assert before[0]["partialFingerprints"] == after[0]["partialFingerprints"]


def test_github_workflow_commands(capsys, in_repo_root: None) -> None:
    code = run(["check", "fixtures/terraform/org-typos", "--format", "github"])
    lines = capsys.readouterr().out.splitlines()
    assert code == 1
    assert (
        "::error file=fixtures/terraform/org-typos/main.tf,line=7,col=5,endLine=7,endColumn=26,"
        "title=OT101 unknown-service-principal::'config.amazonaw.com' is not a known trusted-access service "
        "principal; did you mean 'config.amazonaws.com'?"
    ) in lines
    assert any(line.startswith("::warning ") and "OT102" in line for line in lines)
    assert lines[-1].startswith("orgtrust-lint: ")
