"""Organization policy in the configuration (allowed-, required- and forbidden-principals,
delegated-administrators), backed by built-in rules in the condition language: OT501-OT504 on the
code, OT406-OT409 on the live organization. fixtures/policy is a project with those settings and a
rules-dir of three rules of its own; tests/test_fixtures.py checks its annotations, this file that
every output format and drift against moto's server report the same."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import boto3
import pytest
import requests

from orgtrust_lint.cli import run
from orgtrust_lint.conditions import glob_matches

REPO = Path(__file__).resolve().parent.parent
POLICY = REPO / "fixtures" / "policy"


ORGANIZATION = """resource "aws_organizations_organization" "org" {{
  aws_service_access_principals = [{listed}]
}}
"""


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = run(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_policy_project_reports_the_same_findings_as_text_json_and_sarif(capsys, in_repo_root: None) -> None:
    found = {}
    for output in ("text", "json", "sarif"):
        code, out, err = _run(capsys, "check", "fixtures/policy", "--format", output, "--no-cache")
        assert (code, err) == (1, "")
        if output == "text":
            found[output] = {
                (path, int(line), rule) for path, line, rule in re.findall(r"^(\S+):(\d+):\d+: ([A-Z]+\d+) ", out, re.M)
            }
        elif output == "json":
            found[output] = {(f["path"], f["line"], f["rule"]) for f in json.loads(out)["findings"]}
        else:
            results = json.loads(out)["runs"][0]["results"]
            found[output] = {
                (
                    r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
                    r["locations"][0]["physicalLocation"]["region"]["startLine"],
                    r["ruleId"],
                )
                for r in results
            }
            rules = {rule["id"] for rule in json.loads(out)["runs"][0]["tool"]["driver"]["rules"]}
            assert {"ACME101", "ACME102", "ACME103", "OT501", "OT504"} <= rules
    assert found["text"] == found["json"] == found["sarif"]
    assert {rule for _, _, rule in found["json"]} == {
        "ACME101",
        "ACME102",
        "ACME103",
        "OT301",
        "OT501",
        "OT502",
        "OT503",
        "OT504",
    }


# ---- drift against the live organization (moto's server) --------------------------------------------


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAPOLICYFIXTURE001")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "policy-fixture-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))


@pytest.fixture
def organizations(moto_endpoint: str, aws_env: None):
    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=10)
    return boto3.client("organizations", endpoint_url=moto_endpoint, region_name="us-east-1")


def _member(organizations, name: str) -> str:
    created = organizations.create_account(Email=f"{name}@example.com", AccountName=name)
    status = organizations.describe_create_account_status(CreateAccountRequestId=created["CreateAccountStatus"]["Id"])
    return str(status["CreateAccountStatus"]["AccountId"])


def test_drift_checks_the_live_organization_against_the_policy(
    organizations, moto_endpoint: str, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The code of fixtures/policy against an organization that enables sso, guardduty, ram and
    macie, and has a member account as GuardDuty's delegated administrator."""
    project = tmp_path / "policy"
    shutil.copytree(POLICY, project)
    monkeypatch.chdir(tmp_path)
    organizations.create_organization(FeatureSet="ALL")
    for principal in ("sso.amazonaws.com", "guardduty.amazonaws.com", "ram.amazonaws.com", "macie.amazonaws.com"):
        organizations.enable_aws_service_access(ServicePrincipal=principal)
    member = _member(organizations, "security")
    organizations.register_delegated_administrator(AccountId=member, ServicePrincipal="guardduty.amazonaws.com")
    code = run(["drift", "policy", "--endpoint-url", moto_endpoint, "--format", "json", "--no-cache"])
    document = json.loads(capsys.readouterr().out)
    assert code == 1
    found = sorted((f["rule"], f.get("principal") or "") for f in document["findings"])
    policy = [f for f in found if f[0] in ("OT406", "OT407", "OT408", "OT409")]
    assert policy == [
        ("OT406", "inspector2.amazonaws.com"),  # required, not enabled (sso is)
        ("OT407", "macie.amazonaws.com"),  # enabled, not allowed
        ("OT407", "ram.amazonaws.com"),
        ("OT408", "ram.amazonaws.com"),  # enabled and forbidden
        ("OT409", "guardduty.amazonaws.com"),  # registered to the member, not to 111111111111
    ]
    messages = {(f["rule"], f.get("principal")): f["message"] for f in document["findings"]}
    assert messages["OT409", "guardduty.amazonaws.com"] == (
        f"account {member} is delegated administrator for 'guardduty.amazonaws.com' in the organization "
        f"{organizations.describe_organization()['Organization']['Id']}, but delegated-administrators"
        " (policy/.orgtrust-lint.yaml) names account 111111111111"
    )
    # Where the code's authoritative list is: a finding about the organization points there.
    located = {(f["rule"], f["path"], f["line"]) for f in document["findings"] if f["rule"] == "OT406"}
    assert located == {("OT406", "policy/main.tf", 5)}
    # The same drift, without the policy: none of OT406-OT409.
    (project / ".orgtrust-lint.yaml").write_text("rules-dir: rules\n")
    run(["drift", "policy", "--endpoint-url", moto_endpoint, "--format", "json", "--no-cache"])
    rules = {f["rule"] for f in json.loads(capsys.readouterr().out)["findings"]}
    assert not rules & {"OT406", "OT407", "OT408", "OT409"}


def test_drift_meets_the_policy(organizations, moto_endpoint: str, tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".orgtrust-lint.yaml").write_text(
        "required-principals: [sso.amazonaws.com]\nallowed-principals: ['*.amazonaws.com']\n"
        "forbidden-principals: [ram.amazonaws.com]\n"
    )
    (tmp_path / "org.tf").write_text(ORGANIZATION.format(listed='"sso.amazonaws.com"'))
    organizations.create_organization(FeatureSet="ALL")
    organizations.enable_aws_service_access(ServicePrincipal="sso.amazonaws.com")
    code = run(["drift", ".", "--endpoint-url", moto_endpoint, "--format", "json", "--no-cache"])
    assert (code, json.loads(capsys.readouterr().out)["findings"]) == (0, [])


# ---- the settings -----------------------------------------------------------------------------------


def _project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, configuration: str, *principals: str) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir(exist_ok=True)
    (tmp_path / ".orgtrust-lint.yaml").write_text(configuration)
    listed = ", ".join(f'"{p}"' for p in principals)
    (tmp_path / "main.tf").write_text(ORGANIZATION.format(listed=listed))
    return tmp_path


def _policy_findings(capsys) -> list[tuple[str, str]]:
    code = run(["check", "--format", "json", "--no-cache"])
    out, err = capsys.readouterr()
    assert err == "" and code in (0, 1)
    return sorted((f["rule"], f["principal"]) for f in json.loads(out)["findings"] if f["rule"].startswith("OT5"))


@pytest.mark.parametrize(
    ("configuration", "principals", "expected"),
    [
        ("allowed-principals: ['*.amazonaws.com']\n", ["sso.amazonaws.com"], []),
        ("allowed-principals: [sso.amazonaws.com]\n", ["sso.amazonaws.com", "ram.amazonaws.com"], [("OT501", "ram")]),
        ("allowed-principals: []\n", ["sso.amazonaws.com"], [("OT501", "sso")]),  # configured empty: nothing is
        ("allowed-principals: ['sso.amazonaws.co?']\n", ["sso.amazonaws.com"], []),
        ("forbidden-principals: ['r*']\n", ["sso.amazonaws.com", "ram.amazonaws.com"], [("OT502", "ram")]),
        ("required-principals: [sso.amazonaws.com]\n", ["sso.amazonaws.com"], []),
        ("required-principals: ['guardduty.*']\n", ["sso.amazonaws.com"], [("OT503", "guardduty.*")]),
        ("required-principals: [a.amazonaws.com, b.amazonaws.com]\n", [], [("OT503", "a"), ("OT503", "b")]),
        ("{}\n", ["ram.amazonaws.com"], []),  # no policy, no policy rule
    ],
)
def test_principal_lists_take_principals_and_globs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, configuration: str, principals: list[str], expected
) -> None:
    _project(tmp_path, monkeypatch, configuration, *principals)
    short = [(rule, principal.removesuffix(".amazonaws.com")) for rule, principal in _policy_findings(capsys)]
    assert short == expected


def test_a_list_that_is_not_authoritative_or_not_known_is_not_judged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    _project(tmp_path, monkeypatch, "required-principals: [guardduty.amazonaws.com]\n", "sso.amazonaws.com")
    text = (tmp_path / "main.tf").read_text()
    (tmp_path / "main.tf").write_text(
        text.replace("]\n", "]\n  lifecycle {\n    ignore_changes = [aws_service_access_principals]\n  }\n")
    )
    assert _policy_findings(capsys) == []
    (tmp_path / "main.tf").write_text('variable "p" {}\n' + text.replace('["sso.amazonaws.com"]', "var.p"))
    assert _policy_findings(capsys) == []


@pytest.mark.parametrize(
    ("default", "prod", "expected"),
    [
        # The plain apply keeps Security Hub, -var-file=prod.tfvars disables it.
        ('["sso.amazonaws.com", "securityhub.amazonaws.com"]', '["sso.amazonaws.com"]', " when prod.tfvars is applied"),
        ('["sso.amazonaws.com"]', '["sso.amazonaws.com", "securityhub.amazonaws.com"]', ""),  # the plain apply
        ('["securityhub.amazonaws.com"]', '["securityhub.amazonaws.com", "sso.amazonaws.com"]', None),
    ],
)
def test_required_principals_in_every_tfvars_alternative(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, default: str, prod: str, expected: str | None
) -> None:
    """A missing check uses what must be in the list: under the plain apply and under each
    alternative .tfvars file that changes it (terraform apply -var-file=prod.tfvars)."""
    _project(tmp_path, monkeypatch, "required-principals: [securityhub.amazonaws.com]\n", "sso.amazonaws.com")
    text = (tmp_path / "main.tf").read_text()
    listed = '["sso.amazonaws.com"]'
    (tmp_path / "main.tf").write_text(f'variable "p" {{\n  default = {default}\n}}\n' + text.replace(listed, "var.p"))
    (tmp_path / "prod.tfvars").write_text(f"p = {prod}\n")
    run(["check", "--format", "json", "--no-cache"])
    out, _ = capsys.readouterr()
    messages = [f["message"] for f in json.loads(out)["findings"] if f["rule"] == "OT503"]
    if expected is None:
        assert messages == []
    else:
        assert len(messages) == 1 and f"leaves out 'securityhub.amazonaws.com'{expected}, which" in messages[0]


def test_delegated_administrators_in_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    _project(
        tmp_path,
        monkeypatch,
        "delegated-administrators:\n  guardduty.amazonaws.com: 111111111111\n",
        "guardduty.amazonaws.com",
    )
    admin = (
        'resource "aws_organizations_delegated_administrator" "{name}" {{\n  account_id = {account}\n'
        '  service_principal = "guardduty.amazonaws.com"\n}}\n'
    )
    for account, expected in (
        ('"111111111111"', []),
        ('"222222222222"', [("OT504", "guardduty.amazonaws.com")]),
        ("aws_organizations_account.security.id", []),  # not written as an account id: not judged
    ):
        (tmp_path / "admin.tf").write_text(admin.format(name="gd", account=account))
        assert _policy_findings(capsys) == expected


@pytest.mark.parametrize(
    ("configuration", "expected"),
    [
        ("allowed-principals: [Not A Principal]\n", "'allowed-principals/0': not a service principal or glob"),
        ("required-principals: 3\n", "'required-principals': must be a list, not a number"),
        (
            "delegated-administrators:\n  guardduty.amazonaws.com: 0123\n",
            "'delegated-administrators/guardduty.amazonaws.com': must be an account id of 12 digits (in quotes",
        ),
        (
            "delegated-administrators:\n  guardduty.amazonaws.com: '12345'\n",
            "'delegated-administrators/guardduty.amazonaws.com': must be an account id of 12 digits",
        ),
        (
            "delegated-administrators:\n  'NOT-A-PRINCIPAL': '111111111111'\n",
            "'delegated-administrators': its keys are service principals such as guardduty.amazonaws.com",
        ),
    ],
)
def test_policy_settings_are_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, configuration: str, expected: str
) -> None:
    _project(tmp_path, monkeypatch, configuration, "sso.amazonaws.com")
    code, out, err = _run(capsys, "check", "--no-cache")
    assert (code, out) == (2, "")
    assert err.startswith("orgtrust-lint: error: .orgtrust-lint.yaml: " + expected), err


def test_show_config_prints_the_policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    configuration = (
        "allowed-principals: ['*.amazonaws.com']\ndelegated-administrators:\n  guardduty.amazonaws.com: 111111111111\n"
    )
    _project(tmp_path, monkeypatch, configuration, "sso.amazonaws.com")
    code, out, _ = _run(capsys, "check", "--show-config", "main.tf")
    shown = json.loads(out)
    assert code == 0 and shown["allowed-principals"] == ["*.amazonaws.com"]
    assert shown["delegated-administrators"] == [{"principal": "guardduty.amazonaws.com", "account": "111111111111"}]
    assert "required-principals" not in shown  # not configured


@pytest.mark.parametrize(
    ("pattern", "text", "matches"),
    [
        ("*.amazonaws.com", "sso.amazonaws.com", True),
        ("*", "", True),
        ("config*.amazonaws.com", "config-multiaccountsetup.amazonaws.com", True),
        ("config*.amazonaws.com", "config.amazonaws.com", True),
        ("sso.amazonaws.co?", "sso.amazonaws.com", True),
        ("sso.amazonaws.co?", "sso.amazonaws.co", False),
        ("*a*a*a*a*a*a*a*a*a*b", "a" * 2000, False),  # linear: no backtracking blow-up
    ],
)
def test_glob(pattern: str, text: str, matches: bool) -> None:
    assert glob_matches(pattern, text) is matches
