"""Rules of one's own: a configuration's ``rules-dir`` holds rule files in the shipped rules' schema,
with the team's own prefix. They are loaded, checked and documented like the shipped rules, and
honoured by --select/--ignore, inline ignores, SARIF, the baseline and the cfn-lint plugin; a rule
file that breaks the schema is one clear line and exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from orgtrust_lint.cli import run

ALLOWLIST_RULE = """id: ACME101
name: principal-outside-allowlist
severity: error
summary: Only the principals the platform team approved may be enabled.
description:
  what: Reports a principal enabled in the organization's list that the platform team has not approved.
  why: Every trusted service can act in every account; the security team reviews each one first.
examples:
  bad: |
    aws_service_access_principals = ["ram.amazonaws.com"]
  good: |
    aws_service_access_principals = ["sso.amazonaws.com"]
references:
  - title: Approved services (internal wiki)
    url: https://wiki.example.com/aws/approved-services
tags: [policy]
match:
  fact: principal
  where:
    all:
      - {field: position, in: [organization_list, service_access_resource]}
      - {field: value, not_in: [sso.amazonaws.com, guardduty.amazonaws.com]}
message: "'{value}' is not on the approved list of trusted services"
"""

ORGANIZATION = """resource "aws_organizations_organization" "org" {
  feature_set = "ALL"
  aws_service_access_principals = [
    "sso.amazonaws.com",
    "ram.amazonaws.com",
  ]
}
"""


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = run([*argv, "--no-cache"] if argv[0] == "check" else list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository whose configuration names a rules-dir holding ACME101."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "ACME101.yaml").write_text(ALLOWLIST_RULE)
    (tmp_path / ".orgtrust-lint.yaml").write_text("rules-dir: policy\n")
    (tmp_path / "main.tf").write_text(ORGANIZATION)
    return tmp_path


def _findings(out: str) -> list[tuple[str, int, str]]:
    return [(f["rule"], f["line"], f["message"]) for f in json.loads(out)["findings"]]


def test_a_rule_of_ones_own_fires_in_text_json_and_sarif(project: Path, capsys) -> None:
    code, out, err = _run(capsys, "check")
    assert (code, err) == (1, "")
    assert "main.tf:5:5: ACME101 [error] 'ram.amazonaws.com' is not on the approved list" in out
    code, out, _ = _run(capsys, "check", "--format", "json")
    assert _findings(out) == [("ACME101", 5, "'ram.amazonaws.com' is not on the approved list of trusted services")]
    code, out, _ = _run(capsys, "check", "--format", "sarif")
    sarif = json.loads(out)["runs"][0]
    descriptors = {rule["id"]: rule for rule in sarif["tool"]["driver"]["rules"]}
    assert descriptors["ACME101"]["helpUri"] == "https://wiki.example.com/aws/approved-services"
    result = sarif["results"][0]
    assert result["ruleId"] == "ACME101" and sarif["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == "ACME101"


@pytest.mark.parametrize(
    ("argv", "configuration", "fires"),
    [
        (["--select", "ACME"], "", True),
        (["--select", "OT1"], "", False),
        (["--ignore", "acme101"], "", False),
        ([], "ignore: [ACME1]\n", False),
        ([], "select: [OT, ACME101]\n", True),
        ([], "per-path-ignores:\n  'main.tf': [ACME101]\n", False),
    ],
)
def test_select_and_ignore_name_it_like_a_shipped_rule(
    project: Path, capsys, argv: list[str], configuration: str, fires: bool
) -> None:
    (project / ".orgtrust-lint.yaml").write_text("rules-dir: policy\n" + configuration)
    _, out, err = _run(capsys, "check", "--format", "json", *argv)
    assert err == ""
    assert ("ACME101" in [rule for rule, _, _ in _findings(out)]) is fires


def test_select_of_a_code_no_rule_has_is_an_error(project: Path, capsys) -> None:
    code, out, err = _run(capsys, "check", "--select", "ACME9")
    assert (code, out) == (2, "")
    assert err == "orgtrust-lint: error: --select: no rule is ACME9 or starts with it (see orgtrust-lint rules)\n"
    (project / ".orgtrust-lint.yaml").write_text("rules-dir: policy\nignore: [ACME2]\n")
    code, _, err = _run(capsys, "check")
    assert code == 2 and "'ignore': one of its codes names no rule" in err


def test_an_inline_ignore_silences_it_and_an_unknown_code_is_reported(project: Path, capsys) -> None:
    ignore = "# orgtrust-lint: ignore[ACME101] approved"
    text = ORGANIZATION.replace('"ram.amazonaws.com",', f'"ram.amazonaws.com", {ignore}')
    (project / "main.tf").write_text(text)
    code, out, _ = _run(capsys, "check", "--format", "json")
    assert (code, _findings(out)) == (0, [])
    (project / "main.tf").write_text(text.replace("ignore[ACME101]", "ignore[ACME102]"))
    code, out, _ = _run(capsys, "check", "--format", "json")
    found = {rule: message for rule, _, message in _findings(out)}
    assert sorted(found) == ["ACME101", "OT005"] and "no rule is ACME102" in found["OT005"]


def test_the_baseline_records_and_matches_it(project: Path, capsys) -> None:
    assert _run(capsys, "check", "--write-baseline", "baseline.json")[0] == 0
    assert [e["rule"] for e in json.loads((project / "baseline.json").read_text())["findings"]] == ["ACME101"]
    code, out, _ = _run(capsys, "check", "--baseline", "baseline.json", "--format", "json")
    assert (code, _findings(out)) == (0, [])


def test_rules_and_explain_document_it(project: Path, capsys) -> None:
    code, out, _ = _run(capsys, "rules")
    assert code == 0 and "ACME101  principal-outside-allowlist" in out
    # The columns line up whatever the length of the ids.
    lines = [line for line in out.splitlines() if line.startswith(("OT101 ", "ACME101 "))]
    assert len(lines) == 2 and len({line.index(" error ") for line in lines}) == 1, lines
    code, out, _ = _run(capsys, "rules", "--format", "json")
    assert "ACME101" in [rule["id"] for rule in json.loads(out)["rules"]]
    code, out, _ = _run(capsys, "explain", "principal-outside-allowlist")
    assert code == 0 and out.startswith("ACME101 principal-outside-allowlist (default severity: error)")
    assert "https://wiki.example.com/aws/approved-services" in out


def test_a_rules_dir_applies_to_the_files_its_configuration_covers(project: Path, capsys) -> None:
    """Like every setting: a team's rules are for its own files, whichever paths a run names."""
    (project / ".orgtrust-lint.yaml").unlink()
    for team, configuration in (("a", "rules-dir: ../../policy\n"), ("b", "ignore: [OT105]\n")):
        (project / "teams" / team).mkdir(parents=True)
        (project / "teams" / team / ".orgtrust-lint.yaml").write_text(configuration)
        (project / "teams" / team / "main.tf").write_text(ORGANIZATION)
    for argv in (["check"], ["check", "teams/b", "teams/a"]):
        code, out, err = _run(capsys, *argv, "--format", "json")
        found = {(f["rule"], f["path"]) for f in json.loads(out)["findings"]}
        assert (code, err, found) == (1, "", {("ACME101", "teams/a/main.tf")})


RULE_FILE_ERRORS = [
    # (what is changed, into what, the line's text after "rule file policy/ACME101.yaml: ")
    ("not_in: [sso", "not_inn: [sso", "'match/where/all/1': unknown operator 'not_inn' (known: equals, not_equals"),
    (
        "{field: value, not_in",
        "{field: value, matches: '([', not_in",
        "'match/where/all/1': a field test takes exactly one operator (found: matches, not_in)",
    ),
    (
        "{field: value, not_in: [sso.amazonaws.com, guardduty.amazonaws.com]}",
        "{field: value, matches: '(['}",
        "'match/where/all/1/matches': not a valid regular expression (unterminated character set at position 1)",
    ),
    ("{field: position, in:", "{field: positon, in:", "'match/where/all/0/field': unknown field 'positon'"),
    ("'{value}' is not", "'{vaule}' is not", "'message': message placeholder {vaule}: unknown field 'vaule'"),
    ("fact: principal", "fact: principle", "'match/fact': unknown fact kind 'principle' (known: principal,"),
    ("    all:", "    alll:", "'match/where': unknown condition 'alll' (known: all, any, not, field, exists, call"),
    ("severity: error", "severity: fatal", "'severity': must be one of error, warning, info"),
    ("summary: Only", "sumary: Only", "'sumary': unknown key (known: id, name, severity, default_enabled, summary,"),
    ("  why: Every", "  wy: Every", "'description/wy': unknown key (known: what, why)"),
    ("name: principal-outside-allowlist", "name: Principal Allowlist", "'name': 'Principal Allowlist' does not match"),
]


@pytest.mark.parametrize(("old", "new", "expected"), RULE_FILE_ERRORS, ids=[e[2][:40] for e in RULE_FILE_ERRORS])
def test_a_rule_file_that_breaks_the_schema_is_one_line_and_exit_2(
    project: Path, capsys, old: str, new: str, expected: str
) -> None:
    assert old in ALLOWLIST_RULE
    (project / "policy" / "ACME101.yaml").write_text(ALLOWLIST_RULE.replace(old, new))
    for argv in (["check"], ["rules"], ["explain", "ACME101"]):
        code, out, err = _run(capsys, *argv)
        assert (code, out) == (2, ""), err
        assert len(err.splitlines()) == 1 and "Traceback" not in err
        assert err.startswith("orgtrust-lint: error: rule file policy/ACME101.yaml: " + expected), err


def test_duplicate_ids_an_ot_id_and_a_missing_directory_are_one_line_and_exit_2(project: Path, capsys) -> None:
    (project / "other").mkdir()
    (project / "other" / "ACME101.yaml").write_text(ALLOWLIST_RULE.replace("principal-outside-allowlist", "other"))
    (project / ".orgtrust-lint.yaml").write_text("rules-dir: [policy, other]\n")
    code, _, err = _run(capsys, "check")
    assert code == 2
    assert err == (
        "orgtrust-lint: error: rule file other/ACME101.yaml: 'id': ACME101 is already the id of rule file"
        " policy/ACME101.yaml\n"
    )
    (project / "other" / "ACME101.yaml").unlink()
    (project / "other" / "OT999.yaml").write_text(ALLOWLIST_RULE.replace("ACME101", "OT999"))
    code, _, err = _run(capsys, "check")
    assert code == 2
    assert err == (
        "orgtrust-lint: error: rule file other/OT999.yaml: 'id': OT is orgtrust-lint's own prefix; your rules"
        " take another (e.g. ACME101)\n"
    )
    (project / ".orgtrust-lint.yaml").write_text("rules-dir: [polici]\n")
    code, _, err = _run(capsys, "check")
    assert code == 2
    assert err == (
        "orgtrust-lint: error: .orgtrust-lint.yaml: 'rules-dir/0': no such directory (paths are relative to"
        " this file)\n"
    )


IAM_USER_RULE = """id: ACME201
name: no-iam-users
severity: warning
summary: People sign in through IAM Identity Center, never as IAM users.
description:
  what: Reports every IAM user a template or configuration creates.
  why: Long-lived access keys of IAM users are the credentials most often leaked.
examples:
  bad: |
    Type: AWS::IAM::User
  good: |
    Type: AWS::SSO::PermissionSet
references:
  - title: IAM Identity Center
    url: https://docs.aws.amazon.com/singlesignon/latest/userguide/what-is.html
tags: [cloudformation, terraform]
match:
  fact: resource
  where:
    field: type
    in: [AWS::IAM::User, aws_iam_user]
message: "{address} is an IAM user: give people access through IAM Identity Center"
"""


def test_the_cfn_lint_plugin_runs_rules_of_ones_own(project: Path) -> None:
    (project / "policy" / "ACME201.yaml").write_text(IAM_USER_RULE)
    (project / "stack.yaml").write_text(
        "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  Alice:\n    Type: AWS::IAM::User\n"
    )
    cfn_lint = str(Path(sys.executable).parent / "cfn-lint")
    done = subprocess.run(
        [cfn_lint, "--format", "parseable", "--append-rules", "orgtrust_lint.cfnlint_plugin", "--", "stack.yaml"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stdout.splitlines() == [
        "stack.yaml:3:3:3:8:W9ACME201:Alice is an IAM user: give people access through IAM Identity Center [ACME201]"
    ]


@pytest.mark.parametrize(
    ("configuration", "said"),
    [
        ("rules-dir: nowhere\n", "rules-dir"),
        ("unknown-key: 1\n", "unknown-key"),
    ],
)
def test_the_cfn_lint_plugin_says_a_broken_configuration_in_one_line(
    project: Path, configuration: str, said: str
) -> None:
    (project / ".orgtrust-lint.yaml").write_text(configuration)
    (project / "stack.yaml").write_text("AWSTemplateFormatVersion: '2010-09-09'\nResources: {}\n")
    cfn_lint = str(Path(sys.executable).parent / "cfn-lint")
    done = subprocess.run(
        [cfn_lint, "--append-rules", "orgtrust_lint.cfnlint_plugin", "--", "stack.yaml"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("orgtrust-lint: error: ") and said in lines[0], done.stderr


@pytest.mark.parametrize("name", ["allowlist.yaml", "acme101.yml"])
def test_a_rule_file_not_named_after_its_id_is_an_error_not_left_out(project: Path, capsys, name: str) -> None:
    """Other files of a rules-dir are fixtures; one that holds a rule under another name would be
    silently skipped, and its rule would never run."""
    (project / "policy" / "ACME101.yaml").rename(project / "policy" / name)
    (project / "policy" / "template.yaml").write_text("Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n")
    code, _, err = _run(capsys, "check")
    assert code == 2
    assert err == (
        f"orgtrust-lint: error: rule file policy/{name}: holds rule ACME101 but is not named after it"
        " (ACME101.yaml), so it would not be read\n"
    )


RESOURCE_RULE = ALLOWLIST_RULE.replace("id: ACME101", "id: ACME120").replace(
    "name: principal-outside-allowlist", "name: listed-resource"
).split("match:")[0] + ('match:\n  fact: resource\n  where: WHERE\nmessage: "{address} is a {type}"\n')
RESOURCES = """resource "aws_organizations_organization" "org" {
  feature_set = "ALL"
}
resource "aws_s3_bucket" "logs" {
  bucket = "logs"
}
resource "aws_kms_key" "logs" {}
"""
BUCKET_TEMPLATE = "Resources:\n  Logs:\n    Type: AWS::S3::Bucket\n"


@pytest.mark.parametrize(
    "where",
    [
        '{field: type, in: [aws_s3_bucket, aws_kms_key, "AWS::S3::Bucket"]}',  # types the prefilter learns
        "{field: address, matches: logs, ignore_case: true}",  # any type: nothing is prefiltered
    ],
)
@pytest.mark.parametrize("cache", [False, True])
def test_a_rule_over_resources_sees_those_the_shipped_checks_do_not_read(
    project: Path, capsys, where: str, cache: bool
) -> None:
    """The shipped checks read only some resource types, and extraction skips the others: a rule of
    one's own over the resource fact must see every resource it may report, with or without a
    cache filled by a run that read fewer."""
    (project / "policy" / "ACME120.yaml").write_text(RESOURCE_RULE.replace("WHERE", where))
    (project / "main.tf").write_text(RESOURCES)
    (project / "template.yaml").write_text(BUCKET_TEMPLATE)
    if cache:  # a run without the rule first fills the cache with what the shipped checks read
        (project / ".orgtrust-lint.yaml").write_text("")
        run(["check", "--select", "OT"])
        (project / ".orgtrust-lint.yaml").write_text("rules-dir: policy\n")
    capsys.readouterr()
    argv = ["check", "--select", "ACME120", "--format", "json"] + ([] if cache else ["--no-cache"])
    assert run(argv) == 1
    found = sorted((f["path"], f["message"]) for f in json.loads(capsys.readouterr().out)["findings"])
    assert found == [
        ("main.tf", "aws_kms_key.logs is a aws_kms_key"),
        ("main.tf", "aws_s3_bucket.logs is a aws_s3_bucket"),
        ("template.yaml", "Logs is a AWS::S3::Bucket"),
    ]


def test_a_rule_over_resources_from_a_configuration_below_the_run(project: Path, capsys) -> None:
    """A subdirectory's configuration brings the rule: its resources are read too."""
    team = project / "team"
    (team / "policy").mkdir(parents=True)
    (team / "policy" / "ACME120.yaml").write_text(RESOURCE_RULE.replace("WHERE", "{field: type, equals: aws_kms_key}"))
    (team / ".orgtrust-lint.yaml").write_text("rules-dir: policy\n")
    (team / "main.tf").write_text(RESOURCES)
    code, out, _ = _run(capsys, "check", "--format", "json")
    assert code == 1
    assert [(f["path"], f["rule"]) for f in json.loads(out)["findings"] if f["rule"] == "ACME120"] == [
        ("team/main.tf", "ACME120")
    ]
