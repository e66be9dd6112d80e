"""``orgtrust-lint test-rules``: rules tested against annotated fixtures (ruleid, ok, todoruleid,
todook), the shipped rules the same way as a team's own."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from orgtrust_lint.cli import run

REPO = Path(__file__).resolve().parent.parent
RULE = (REPO / "fixtures" / "policy" / "rules" / "ACME103.yaml").read_text()

FIXTURE = """# ruleid: ACME103
resource "aws_organizations_delegated_administrator" "elsewhere" {
  account_id        = "222222222222"
  service_principal = "guardduty.amazonaws.com"
}

resource "aws_organizations_delegated_administrator" "security" { # ok: ACME103
  account_id        = "111111111111"
  service_principal = "guardduty.amazonaws.com"
}
"""


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], str]:
    code = run(["test-rules", *argv])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def test_the_shipped_rules_pass_their_fixtures(capsys, in_repo_root: None) -> None:
    """rules/ beside fixtures/: every rule, every annotation (the policy project's rules-dir too)."""
    code, lines, err = _run(capsys, "rules", "fixtures")
    assert (code, err) == (0, "")
    assert lines[-1].startswith("test-rules: 36 rule(s), ") and lines[-1].endswith(": all passed"), lines


@pytest.fixture
def rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A team's rules directory: the rule and its fixture side by side, no configuration needed."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "ACME103.yaml").write_text(RULE)
    (tmp_path / "policy" / "ACME103.tf").write_text(FIXTURE)
    return tmp_path / "policy"


def test_a_rule_of_ones_own_passes_beside_its_fixture(rules: Path, capsys) -> None:
    code, lines, _ = _run(capsys, "policy")
    assert (code, lines) == (0, ["test-rules: 1 rule(s), 1 fixture file(s), 2 annotation(s): all passed"])


@pytest.mark.parametrize(
    ("old", "new", "failure"),
    [
        (
            "# ruleid: ACME103",
            "# ok: ACME103",
            "policy/ACME103.tf:2: ACME103 reported, but line 1 says ok: aws_organizations_delegated_administrator"
            ".elsewhere registers account 222222222222; delegated administrators belong in the security account,"
            " 111111111111",
        ),
        ("# ruleid: ACME103", "", "policy/ACME103.tf:2: ACME103 reported, but not annotated: "),
        ("# ok: ACME103", "# ruleid: ACME103", "policy/ACME103.tf:7: ACME103 expected (ruleid), but not reported"),
        (
            "# ruleid: ACME103",
            "# todoruleid: ACME103",
            "policy/ACME103.tf:2: ACME103 is now reported: make todoruleid on line 1 ruleid",
        ),
        (
            "# ok: ACME103",
            "# todook: ACME103",
            "policy/ACME103.tf:7: ACME103 is no longer reported: make todook on line 7 ok",
        ),
    ],
)
def test_a_wrong_annotation_fails_naming_the_line(rules: Path, capsys, old: str, new: str, failure: str) -> None:
    (rules / "ACME103.tf").write_text(FIXTURE.replace(old, new))
    code, lines, err = _run(capsys, "policy")
    assert (code, err) == (1, "")
    assert lines[0].startswith(failure), lines
    assert lines[-1].endswith(": 1 failure(s)")


def test_known_gaps_pass_while_they_are_gaps(rules: Path, capsys) -> None:
    """todoruleid: a false negative not reported yet; todook: a false positive still reported."""
    gap = (
        '\n# todoruleid: ACME103\nresource "aws_organizations_delegated_administrator" "var" {\n'
        "  account_id = var.x\n}\n"
    )
    (rules / "ACME103.tf").write_text(FIXTURE.replace("# ruleid: ACME103", "# todook: ACME103") + gap)
    code, lines, _ = _run(capsys, "policy")
    assert (code, lines[-1]) == (0, "test-rules: 1 rule(s), 1 fixture file(s), 3 annotation(s): all passed")


@pytest.mark.parametrize(
    ("old", "new", "error"),
    [
        ("# ok: ACME103", "# ok: ACME130", "policy/ACME103.tf:7: ok: no rule is ACME130"),
        ("# ruleid: ACME103", "# ruleid: OT999", "policy/ACME103.tf:1: ruleid: no rule is OT999"),
    ],
)
def test_an_annotation_naming_no_rule_is_an_error(rules: Path, capsys, old: str, new: str, error: str) -> None:
    (rules / "ACME103.tf").write_text(FIXTURE.replace(old, new))
    code, lines, err = _run(capsys, "policy")
    assert (code, lines, err) == (2, [], f"orgtrust-lint: error: {error}\n")


def test_a_broken_rule_file_and_a_directory_without_fixtures_are_errors(rules: Path, capsys) -> None:
    (rules / "ACME103.yaml").write_text(RULE.replace("equals: aws_organizations", "equal: aws_organizations"))
    code, _, err = _run(capsys, "policy")
    assert code == 2 and err.startswith("orgtrust-lint: error: rule file policy/ACME103.yaml: 'match/where/all/0':")
    (rules / "ACME103.tf").unlink()
    code, _, err = _run(capsys, "policy")
    assert code == 2 and "no fixtures under policy" in err


def test_the_shipped_rules_are_tested_from_their_files(tmp_path: Path, capsys, in_repo_root: None) -> None:
    """A copy of rules/ is taken as orgtrust-lint's own rules: an edited rule is tested before it is installed."""
    copy = tmp_path / "rules"
    shutil.copytree(REPO / "rules", copy)
    text = (copy / "OT104.yaml").read_text()
    (copy / "OT104.yaml").write_text(text.replace("not_in: [ALL,", "not_in: [ALL, CONSOLIDATED_BILLING,"))
    code, lines, _ = _run(capsys, str(copy), "fixtures/terraform/consolidated-billing")
    assert code == 1
    assert lines[0].startswith("fixtures/terraform/consolidated-billing/main.tf:") and "OT104 expected" in lines[0]


def test_fixtures_the_configuration_excludes_are_still_tested(rules: Path, capsys) -> None:
    """`check .` is kept off the fixtures by an exclude; test-rules lints them all the same."""
    (rules.parent / ".orgtrust-lint.yaml").write_text('rules-dir: policy\nexclude: ["policy/**"]\n')
    code, lines, err = _run(capsys, "policy")
    assert (code, err, lines) == (0, "", ["test-rules: 1 rule(s), 1 fixture file(s), 2 annotation(s): all passed"])
    assert run(["check", ".", "--no-cache"]) == 0, "check does not lint the excluded fixtures"
