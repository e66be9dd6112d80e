"""The first-use review's M7 and minor items 1, 4, 5, 15, 16 and 19, as a user meets them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from orgtrust_lint.cli import run

REPO = Path(__file__).resolve().parent.parent
TYPOS = REPO / "fixtures" / "terraform" / "org-typos"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = run(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _help(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as exited:
        run([*argv, "--help"])
    assert exited.value.code == 0
    return capsys.readouterr().out


@pytest.fixture
def typos(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the org-typos fixture (9 findings, 8 of them certain typos) as the working directory."""
    target = tmp_path / "fix1"
    shutil.copytree(TYPOS, target)
    monkeypatch.chdir(tmp_path)
    return target


def _org(items: str) -> str:
    return f'resource "aws_organizations_organization" "org" {{\n  aws_service_access_principals = [\n{items}  ]\n}}\n'


# ---- M7: --fix --diff ---------------------------------------------------------------------------


def test_fu_m7_diff_exits_1_and_says_how_many_fixes_it_would_make(typos: Path, capsys) -> None:
    before = (typos / "main.tf").read_bytes()
    code, out, err = _run(capsys, "check", "fix1", "--fix", "--diff")
    assert code == 1  # like `ruff check --diff`: a pending fix fails the run
    assert out.startswith("--- a/fix1/main.tf\n+++ b/fix1/main.tf\n")
    assert err.splitlines()[-1] == "Would fix 8 problems in 1 file."
    assert (typos / "main.tf").read_bytes() == before


def test_fu_m7_diff_exits_0_when_there_is_nothing_to_fix(tmp_path: Path, monkeypatch, capsys) -> None:
    """The other findings are not its business (plain `check` gates on them): nothing to fix, exit 0."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "main.tf").write_text(_org('    "sso.amazonaws.com",\n    "nothing-like-it.amazonaws.com",\n'))
    code, out, err = _run(capsys, "check", "main.tf", "--fix", "--diff")
    assert (code, out) == (0, "")
    assert err.splitlines()[-1] == "Would fix 0 problems."


@pytest.mark.parametrize("output_format", ["json", "sarif", "github"])
def test_fu_m7_diff_with_another_format_is_a_usage_error(typos: Path, output_format: str, capsys) -> None:
    code, out, err = _run(capsys, "check", "fix1", "--fix", "--diff", "--format", output_format)
    assert (code, out) == (2, "")
    assert err == f"orgtrust-lint: error: --diff prints a unified diff; it cannot be written as {output_format}\n"


# ---- minor 1: help text ------------------------------------------------------------------------


def test_fu_minor1_top_level_help_says_check_lints_cloudformation_and_plans_too(capsys) -> None:
    text = _help(capsys)
    check_line = next(line for line in text.splitlines() if line.strip().startswith("check "))
    assert "CloudFormation" in check_line and "plan" in check_line


def test_fu_minor1_every_argument_of_check_and_explain_has_help(capsys) -> None:
    check = _help(capsys, "check")
    assert "files or directories to lint" in check  # PATH
    assert "output format" in check  # --format
    explain = _help(capsys, "explain")
    assert "unknown-service-principal" in explain  # CODE: a code or a name


@pytest.mark.parametrize("command", ["check", "drift"])
def test_fu_minor1_check_and_drift_help_list_the_exit_codes(command: str, capsys) -> None:
    text = _help(capsys, command)
    assert "exit codes:" in text
    for code in "0123":
        assert f"\n  {code}  " in text, code


def test_fu_minor1_an_unknown_flag_points_to_the_subcommand_help(capsys) -> None:
    code, out, err = _run(capsys, "check", "--colour")
    assert (code, out) == (2, "")
    assert err == "orgtrust-lint: error: unrecognized arguments: --colour (see 'orgtrust-lint check --help')\n"


# ---- minor 4: explain takes names --------------------------------------------------------------


def test_fu_minor4_explain_takes_a_rule_name(capsys) -> None:
    code, out, _ = _run(capsys, "explain", "unknown-service-principal")
    assert code == 0 and out.startswith("OT101 unknown-service-principal ")


def test_fu_minor4_an_unknown_rule_suggests_the_closest(capsys) -> None:
    code, _, err = _run(capsys, "explain", "unknown-service-principle")
    assert code == 2
    assert "did you mean 'unknown-service-principal' (OT101)?" in err
    code, _, err = _run(capsys, "explain", "unknown_service_principal")
    assert code == 2 and "did you mean 'unknown-service-principal' (OT101)?" in err
    code, _, err = _run(capsys, "explain", "OT1O1")  # a letter O for a zero
    assert (
        code == 2
        and err == "orgtrust-lint: error: unknown rule 'OT1O1'; did you mean 'OT101' (unknown-service-principal)?\n"
    )
    code, _, err = _run(capsys, "explain", "OT109")  # one digit from nine codes: no guess
    assert code == 2 and err == "orgtrust-lint: error: unknown rule 'OT109' (see 'orgtrust-lint rules')\n"


# ---- minor 5: services suggests the domain -----------------------------------------------------


@pytest.mark.parametrize("output_format", ["text", "json"])
def test_fu_minor5_services_suggests_the_domain_for_a_bare_name(output_format: str, capsys) -> None:
    code, out, err = _run(capsys, "services", "sso", "--format", output_format)
    assert (code, out) == (2, "")
    assert err == "orgtrust-lint: error: 'sso' is not in the catalog; did you mean 'sso.amazonaws.com'?\n"


# ---- minor 15: the JSON summary counts suppressed and baselined findings -------------------------


def test_fu_minor15_json_summary_counts_suppressed_findings(capsys, in_repo_root: None) -> None:
    _, out, _ = _run(capsys, "check", "fixtures/terraform/suppressed", "--format", "json")
    summary = json.loads(out)["summary"]
    assert (summary["suppressed"], summary["baselined"]) == (4, 0)


def test_fu_minor15_json_summary_counts_baselined_findings(typos: Path, capsys) -> None:
    assert run(["check", "fix1", "--write-baseline", "baseline.json"]) == 0
    capsys.readouterr()
    code, out, _ = _run(capsys, "check", "fix1", "--baseline", "baseline.json", "--format", "json")
    summary = json.loads(out)["summary"]
    assert code == 0 and (summary["findings"], summary["baselined"], summary["suppressed"]) == (0, 9, 0)


# ---- minor 16: plurals in the github summary ---------------------------------------------------


def test_fu_minor16_github_summary_uses_proper_plurals(capsys, in_repo_root: None) -> None:
    _, out, _ = _run(capsys, "check", "fixtures/terraform/org-typos", "--format", "github")
    assert out.splitlines()[-1] == "orgtrust-lint: 9 findings (8 errors, 1 warning, 0 info) in 1 file"


# ---- minor 19: --fix ---------------------------------------------------------------------------


def test_fu_minor19_removing_a_duplicate_takes_its_own_comment_with_it(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    source = _org(
        '    "sso.amazonaws.com",\n'
        "    # ok: OT102\n"
        '    "config.amazonaws.com",\n'
        "    # ruleid: OT102\n"
        "    # (a second line of the same comment)\n"
        '    "sso.amazonaws.com",\n'
    )
    (tmp_path / "main.tf").write_text(source)
    run(["check", "main.tf", "--fix"])
    expected = _org('    "sso.amazonaws.com",\n    # ok: OT102\n    "config.amazonaws.com",\n')
    assert (tmp_path / "main.tf").read_text() == expected


@pytest.mark.parametrize(
    "items",
    [
        # A comment that heads a group: the next element belongs under it too.
        '    "sso.amazonaws.com",\n    # security services\n    "sso.amazonaws.com",\n    "config.amazonaws.com",\n',
        # A blank line between: the comment is not the element's.
        '    "sso.amazonaws.com",\n    # the list\n\n    "sso.amazonaws.com",\n',
    ],
    ids=["group-header", "blank-line"],
)
def test_fu_minor19_a_comment_that_is_not_the_elements_own_stays(
    items: str, tmp_path: Path, monkeypatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "main.tf").write_text(_org(items))
    run(["check", "main.tf", "--fix"])
    assert (tmp_path / "main.tf").read_text() == _org(_without_second_sso(items))


def _without_second_sso(items: str) -> str:
    first = items.index('"sso.amazonaws.com"')
    second = items.index('    "sso.amazonaws.com",\n', first + 1)
    return items[:second] + items[second + len('    "sso.amazonaws.com",\n') :]


def test_fu_minor19_yaml_duplicate_takes_its_own_comment_with_it(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    template = (
        'AWSTemplateFormatVersion: "2010-09-09"\n'
        "Resources:\n"
        "  EnableMany:\n"
        "    Type: Custom::EnableAwsServiceAccess\n"
        "    Properties:\n"
        "      ServiceToken: arn:aws:lambda:us-east-1:111111111111:function:enable\n"
        "      servicePrincipals:\n"
        "        - ram.amazonaws.com\n"
        "        - fms.amazonaws.com\n"
        "        # repeated by a merge\n"
        "        - ram.amazonaws.com\n"
        "  Other:\n"
        "    Type: AWS::SNS::Topic\n"
    )
    (tmp_path / "template.yaml").write_text(template)
    run(["check", "template.yaml", "--fix"])
    removed = "        # repeated by a merge\n        - ram.amazonaws.com\n"
    assert (tmp_path / "template.yaml").read_text() == template.replace(removed, "")


def test_fu_minor19_the_fixed_line_names_the_files(typos: Path, capsys) -> None:
    shutil.copytree(typos, typos.parent / "fix2")
    _, out, _ = _run(capsys, "check", "fix1", "fix2", "--fix")
    lines = out.splitlines()
    assert "Fixed 8 problems in fix1/main.tf." in lines
    assert "Fixed 8 problems in fix2/main.tf." in lines
    assert "Fixed 16 problems in 2 files." in lines
    _, out, _ = _run(capsys, "check", "fix1", "--fix")
    assert "Fixed 0 problems in 0 files." in out.splitlines()


def test_fu_minor19_a_hedged_catalog_suggestion_is_shown_but_not_applied(typos: Path, capsys) -> None:
    """trustedadvisor.amazonaws.com is another name seen in third-party tooling, not a typo of
    reporting.trustedadvisor.amazonaws.com: the finding says 'did you mean', --fix leaves it."""
    code, out, err = _run(capsys, "check", "fix1", "--fix")
    text = (typos / "main.tf").read_text()
    assert '"trustedadvisor.amazonaws.com"' in text and "reporting.trustedadvisor" not in text
    assert '"config.amazonaws.com"' in text  # a certain typo is still fixed
    assert "did you mean 'reporting.trustedadvisor.amazonaws.com'?" in out and code == 1
    assert "fix1/main.tf:11:5: OT101 not fixed: 'reporting.trustedadvisor.amazonaws.com' is" in err


def test_fu_minor19_an_unconfirmed_related_principal_is_not_applied(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    source = _org('    "dashboard.eks.amazonaws.com",\n    "config.amazonaw.com",\n')
    (tmp_path / "main.tf").write_text(source)
    code, out, _ = _run(capsys, "check", "main.tf", "--fix")
    assert (tmp_path / "main.tf").read_text() == source.replace("amazonaw.com", "amazonaws.com")
    # The unconfirmed string is a warning (issue 18), so only the typo failed the run, and it is fixed.
    assert "did you mean 'eks.amazonaws.com'?" in out and code == 0
