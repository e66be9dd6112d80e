"""Rule codes on the command line are checked like the configuration file's (first-use review M4):
a typo in a CI flag must not turn the gate green by checking nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from orgtrust_lint.cli import run

ORG_WITH_TYPO = """resource "aws_organizations_organization" "org" {
  feature_set                   = "ALL"
  aws_service_access_principals = ["config.amazonaw.com"]
}
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "main.tf").write_text(ORG_WITH_TYPO)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--select", "OT999"], "--select: no rule is OT999 or starts with it (see orgtrust-lint rules)"),
        (["--select", "OT9"], "--select: no rule is OT9 or starts with it (see orgtrust-lint rules)"),
        (["--select", "OT101,ot77"], "--select: no rule is OT77 or starts with it (see orgtrust-lint rules)"),
        (["--ignore", "OT999"], "--ignore: no rule is OT999 or starts with it (see orgtrust-lint rules)"),
        (
            ["--select", "OT401"],
            "--select: OT401 is only reported by 'orgtrust-lint drift', never by 'check' (see orgtrust-lint rules)",
        ),
        (  # each code is checked, as in the configuration file
            ["--select", "OT101,OT401"],
            "--select: OT401 is only reported by 'orgtrust-lint drift', never by 'check' (see orgtrust-lint rules)",
        ),
        (
            ["--select", "OT4"],
            "--select: OT4 is only reported by 'orgtrust-lint drift', never by 'check' (see orgtrust-lint rules)",
        ),
    ],
)
def test_fu_m4_codes_that_select_nothing_are_usage_errors(
    project: Path, capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    """These used to print "All checks passed (1 file)." and exit 0 on a file with an OT101 error."""
    code = run(["check", "--no-cache", *argv])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err == f"orgtrust-lint: error: {expected}\n"


@pytest.mark.parametrize(
    ("argv", "exit_code"),
    [
        (["--select", "OT1"], 1),
        (["--ignore", "OT4"], 1),  # ignoring drift rules in check changes nothing; a shared CI line may say it
        (["--select", "OT0", "--ignore", "OT003"], 0),
    ],
)
def test_fu_m4_codes_that_match_a_rule_check_runs_are_accepted(
    project: Path, capsys: pytest.CaptureFixture[str], argv: list[str], exit_code: int
) -> None:
    code = run(["check", "--no-cache", "--ignore", "OT105", *argv])
    _, err = capsys.readouterr()
    assert (code, err) == (exit_code, "")
