"""A skipped file is visible in every output, and the exit code says when the run was incomplete
(issue 15, item 2): a 21 MB .tf used to be one stderr line while the JSON report said nothing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import pytest

from orgtrust_lint.cli import run

REPO = Path(__file__).resolve().parent.parent
ORG = 'resource "aws_organizations_organization" "o" {\n  aws_service_access_principals = ["sso.amazonaws.com"]\n}\n'


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "main.tf").write_text(ORG)
    with (tmp_path / "generated.tf").open("wb") as handle:  # over the 10 MB limit
        handle.write(b"# " + b"x" * (11 * 1024 * 1024) + b"\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = run(["check", ".", "--no-cache", "--ignore", "OT105", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_file_too_big_to_read_makes_the_run_incomplete(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys)
    assert code == 3  # nothing found, but generated.tf could hold anything: not a pass
    assert err == "orgtrust-lint: skipped generated.tf: 11.0 MB, larger than the 10 MB limit\n"
    assert out.splitlines()[-1].startswith("All checks passed (1 file; 1 file skipped (see above)")


def test_the_json_report_lists_skipped_files(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--format", "json")
    assert code == 3
    assert json.loads(out)["skipped"] == [
        {"path": "generated.tf", "reason": "11.0 MB, larger than the 10 MB limit", "incomplete": True}
    ]


def test_sarif_reports_each_skipped_file_as_a_notification(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--format", "sarif")
    document = json.loads(out)
    schema = json.loads((REPO / "tests" / "data" / "sarif-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(document)
    (invocation,) = document["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is False
    (notification,) = invocation["toolExecutionNotifications"]
    assert notification["level"] == "warning"
    assert notification["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "generated.tf"
    assert code == 3


def test_github_output_annotates_skipped_files(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _run(capsys, "--format", "github")
    assert "::warning file=generated.tf,title=orgtrust-lint skipped this file::skipped: 11.0 MB" in out


def test_a_file_that_is_not_ours_to_read_is_listed_but_the_run_is_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A link out of the linted tree is deliberately not followed: reported, but not 'incomplete'."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "shared.tf").write_text(ORG)
    project = tmp_path / "project"
    project.mkdir()
    (project / "main.tf").write_text(ORG)
    os.symlink(outside / "shared.tf", project / "shared.tf")
    monkeypatch.chdir(project)
    code, out, _ = _run(capsys, "--format", "json")
    assert code == 0
    (skipped,) = json.loads(out)["skipped"]
    assert skipped["path"] == "shared.tf" and skipped["incomplete"] is False
