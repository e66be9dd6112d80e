"""What an inline ignore's code list means (first-use review, minor 12-14).

- A bare ``# orgtrust-lint: ignore`` silences every rule on the lines it covers, like a bare
  ``# noqa`` in ruff and flake8; ``unignorable`` rules still cannot be silenced, and when nothing
  fires it is reported as unused (OT005).
- A code that is not a rule is reported (OT005, "no rule is OT999").
- A code that silences nothing on those lines is reported even when the other codes of the same
  ignore are used (OT005 naming only the unused code).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orgtrust_lint.cli import run

ORG = """resource "aws_organizations_organization" "org" {{
  feature_set                   = "ALL"
  aws_service_access_principals = [
    {line}
  ]
}}
"""


def _check(project: Path, capsys: pytest.CaptureFixture[str], line: str, *argv: str) -> list[tuple[str, int, str]]:
    (project / "main.tf").write_text(ORG.format(line=line))
    run(["check", "--format", "json", "--no-cache", *argv])
    return [(f["rule"], f["line"], f["message"]) for f in json.loads(capsys.readouterr().out)["findings"]]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_fu_minor12_a_bare_ignore_silences_every_rule_but_not_unignorable_ones(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Two rules fire on this line: OT105 on the first principal, OT101 on the typo.
    line = '"ipam.amazonaws.com", "config.amazonaw.com", # orgtrust-lint: ignore'
    assert _check(project, capsys, line) == []
    (project / ".orgtrust-lint.yaml").write_text("unignorable: [OT101]\n")
    found = [(rule, at) for rule, at, _ in _check(project, capsys, line)]
    assert found == [("OT006", 4), ("OT101", 4)]


def test_fu_minor12_a_bare_ignore_that_silences_nothing_is_unused(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    found = _check(project, capsys, '"account.amazonaws.com", # orgtrust-lint: ignore')
    assert found == [("OT005", 4, "this ignore of every rule silences nothing; remove it")]


def test_fu_minor13_an_ignore_of_a_code_that_is_no_rule_is_reported(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It used to silence the OT101 and say nothing about OT999."""
    found = _check(project, capsys, '"config.amazonaw.com", # orgtrust-lint: ignore[OT101, OT999]')
    assert found == [
        ("OT005", 4, "this ignore of OT999 silences nothing: no rule is OT999 (see orgtrust-lint rules); remove it")
    ]


def test_fu_minor13_an_ignore_of_only_unknown_codes_is_reported_once(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    found = _check(project, capsys, '"config.amazonaw.com", # orgtrust-lint: ignore[OT1O1]')
    assert [(rule, at) for rule, at, _ in found] == [("OT005", 4), ("OT101", 4)]
    assert "no rule is OT1O1" in found[0][2]


def test_fu_minor14_a_partly_unused_ignore_names_the_unused_code(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """ignore[OT105,OT102] where only OT105 fires used to be accepted silently."""
    found = _check(project, capsys, '"ipam.amazonaws.com", # orgtrust-lint: ignore[OT105,OT102] enabled from IPAM')
    assert found == [
        ("OT005", 4, "this ignore of OT102 silences nothing (OT105 in the same ignore does); remove OT102 from it")
    ]


def test_fu_minor14_a_fully_unused_ignore_is_reported_as_before(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    found = _check(project, capsys, '"account.amazonaws.com", # orgtrust-lint: ignore[OT102, OT101]')
    assert found == [("OT005", 4, "this ignore of OT101, OT102 silences nothing; remove it")]
