"""The catalog's `when` conditions (a field written, a list holding a value, a pattern matched), in the rule
language, in Terraform and CloudFormation.

Each test adds one integration to a copy of the catalog. A Terraform configuration whose
authoritative list leaves the principal out gets OT301 when the integration is recognised.
CloudFormation has no whole list (one enable per principal says nothing of the others, so OT301
stays silent there): a change that removes the principal's enable gets OT302 instead.
"""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path
from typing import Any

import pytest

from orgtrust_lint.catalog import Catalog
from orgtrust_lint.config import Config
from orgtrust_lint.lint import check

PRINCIPAL = "account.amazonaws.com"
ORGANIZATION = """resource "aws_organizations_organization" "org" {
  aws_service_access_principals = ["sso.amazonaws.com"]
}
"""
# CloudFormation has no organization resource: the principal is enabled by a custom resource
# (the form LZA and org-formation use), which the change under test removes.
ENABLE_PRINCIPAL = f"""  Enable:
    Type: Custom::EnableAwsServiceAccess
    Properties:
      ServiceToken: arn:aws:lambda:us-east-1:111111111111:function:enable
      ServicePrincipal: {PRINCIPAL}
"""


def _catalog_with(fmt: str, resource: str, when: dict[str, Any]) -> Catalog:
    base = Catalog.load()
    data = copy.deepcopy(base.data)
    entry = next(e for e in data["services"] if e["principal"] == PRINCIPAL)
    entry["integrations"] = [
        {
            "format": fmt,
            "resource": resource,
            "when": when,
            "self_enabling": False,
            "inferred": False,
            "source": "https://docs.aws.amazon.com/accounts/latest/reference/using-orgs-trusted-access.html",
        }
    ]
    return Catalog(data)


def _ot301(tmp_path: Path, name: str, text: str, catalog: Catalog) -> list[tuple[int, str]]:
    (tmp_path / name).write_text(text)
    result = check([str(tmp_path)], Config(ignore=("OT105",)), catalog=catalog)
    return [(f.location.line, f.message) for f in result.findings if f.rule == "OT301"]


@pytest.mark.parametrize(
    ("value", "fires"),
    [
        ('"111111111111"', True),
        ("var.account", True),  # known only at apply time, but written: set
        ("aws_organizations_account.member.id", True),
        ("null", False),
        ("var.maybe", False),  # null by default
    ],
)
def test_exists_in_terraform(tmp_path: Path, value: str, fires: bool) -> None:
    catalog = _catalog_with("terraform", "aws_account_alternate_contact", {"field": "written", "equals": "account_id"})
    text = (
        ORGANIZATION
        + 'variable "account" {}\nvariable "maybe" {\n  default = null\n}\n'
        + f'resource "aws_account_alternate_contact" "c" {{\n  account_id = {value}\n  name = "x"\n}}\n'
    )
    found = _ot301(tmp_path, "main.tf", text, catalog)
    assert bool(found) is fires, found
    if fires:
        assert "account_id is set" in found[0][1]


def test_exists_false_when_the_attribute_is_left_out(tmp_path: Path) -> None:
    catalog = _catalog_with("terraform", "aws_account_alternate_contact", {"field": "written", "equals": "account_id"})
    text = ORGANIZATION + 'resource "aws_account_alternate_contact" "c" {\n  name = "x"\n}\n'
    assert _ot301(tmp_path, "main.tf", text, catalog) == []


@pytest.mark.parametrize(
    ("types", "fires"),
    [
        ('["SERVICE_CONTROL_POLICY", "SECURITYHUB_POLICY"]', True),
        ('concat(["SECURITYHUB_POLICY"], var.more)', True),  # certain element beside unknown ones
        ('["SERVICE_CONTROL_POLICY"]', False),
        ('var.on ? ["SECURITYHUB_POLICY"] : []', False),  # only in one branch: not certain
    ],
)
def test_contains_in_terraform(tmp_path: Path, types: str, fires: bool) -> None:
    catalog = _catalog_with(
        "terraform",
        "aws_organizations_organization",
        {"field": "lists.enabled_policy_types", "equals": "SECURITYHUB_POLICY", "ignore_case": True},
    )
    text = (
        'variable "more" {}\nvariable "on" {}\n'
        'resource "aws_organizations_organization" "org" {\n'
        '  aws_service_access_principals = ["sso.amazonaws.com"]\n'
        f"  enabled_policy_types = {types}\n}}\n"
    )
    found = _ot301(tmp_path, "main.tf", text, catalog)
    assert bool(found) is fires, found
    if fires:
        assert "enabled_policy_types includes SECURITYHUB_POLICY" in found[0][1]


# The catalog's own pattern for "an organization or OU ARN" (RAM sharing with the organization).
ORG_ARN = next(
    i["when"]["matches"]
    for e in Catalog.load().data["services"]
    if e["principal"] == "ram.amazonaws.com"
    for i in e["integrations"]
    if "matches" in i.get("when", {})
)


@pytest.mark.parametrize(
    ("principal", "fires"),
    [
        ('"arn:aws:organizations::111111111111:organization/o-abcdefghij"', True),
        ('"arn:aws:organizations::111111111111:ou/o-abcdefghij/ou-ab12-cdefghij"', True),
        ("aws_organizations_organization.org.arn", True),  # known at apply time, recognised by what it reads
        ("data.aws_organizations_organization.current.arn", True),
        ('"222222222222"', False),  # an account: no organization sharing
        ("aws_organizations_account.member.id", False),
    ],
)
def test_matches_in_terraform(tmp_path: Path, principal: str, fires: bool) -> None:
    catalog = _catalog_with(
        "terraform",
        "aws_ram_principal_association",
        {"field": "values.principal", "matches": ORG_ARN, "ignore_case": True},
    )
    text = (
        ORGANIZATION
        + 'resource "aws_ram_principal_association" "a" {\n'
        + f"  principal          = {principal}\n  resource_share_arn = aws_ram_resource_share.s.arn\n}}\n"
    )
    assert bool(_ot301(tmp_path, "main.tf", text, catalog)) is fires


def _template(resource_type: str, properties: str, enable: str = "") -> str:
    return (
        "AWSTemplateFormatVersion: '2010-09-09'\nParameters:\n  Account:\n    Type: String\n"
        "  OrgId:\n    Type: String\n"
        "  Types:\n    Type: CommaDelimitedList\n    Default: TAG_POLICY,SECURITYHUB_POLICY\n"
        f"Resources:\n{enable}  Subject:\n    Type: {resource_type}\n    Properties:\n{properties}"
    )


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def _ot302_on_disable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, resource_type: str, properties: str, catalog: Catalog
) -> list[str]:
    """OT302 when a commit drops the principal's enable and keeps the resource."""
    _git(tmp_path, "init", "-q")
    (tmp_path / "t.yaml").write_text(_template(resource_type, properties, ENABLE_PRINCIPAL))
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-q", "-m", "base")
    (tmp_path / "t.yaml").write_text(_template(resource_type, properties))
    monkeypatch.chdir(tmp_path)
    result = check(["t.yaml"], Config(ignore=("OT105",)), catalog=catalog, base="HEAD")
    return [f.message for f in result.findings if f.rule == "OT302"]


def test_cloudformation_enables_alone_are_not_the_whole_list(tmp_path: Path) -> None:
    """Enabling one principal in a template says nothing of the others (sso may be enabled from
    the console): the resource relying on an unlisted principal is not an OT301."""
    catalog = _catalog_with("cloudformation", "AWS::Example::Contact", {"field": "written", "equals": "AccountId"})
    enable_sso = ENABLE_PRINCIPAL.replace(PRINCIPAL, "sso.amazonaws.com")
    text = _template("AWS::Example::Contact", "      AccountId: '111111111111'\n", enable_sso)
    assert _ot301(tmp_path, "t.yaml", text, catalog) == []


@pytest.mark.parametrize(
    ("properties", "fires"),
    [
        ("      AccountId: '111111111111'\n", True),
        ("      AccountId: !Ref Account\n", True),
        ("      AccountId: !Ref AWS::NoValue\n", False),
        ("      Name: x\n", False),
    ],
)
def test_exists_in_cloudformation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, properties: str, fires: bool
) -> None:
    catalog = _catalog_with("cloudformation", "AWS::Example::Contact", {"field": "written", "equals": "AccountId"})
    found = _ot302_on_disable(tmp_path, monkeypatch, "AWS::Example::Contact", properties, catalog)
    assert bool(found) is fires, found


@pytest.mark.parametrize(
    ("properties", "fires"),
    [
        ("      Types: [SERVICE_CONTROL_POLICY, SECURITYHUB_POLICY]\n", True),
        ("      Types: !Ref Types\n", True),  # a CommaDelimitedList parameter's default
        ("      Types: [SERVICE_CONTROL_POLICY]\n", False),
    ],
)
def test_contains_in_cloudformation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, properties: str, fires: bool
) -> None:
    catalog = _catalog_with(
        "cloudformation",
        "AWS::Example::Root",
        {"field": "lists.Types", "equals": "SECURITYHUB_POLICY", "ignore_case": True},
    )
    found = _ot302_on_disable(tmp_path, monkeypatch, "AWS::Example::Root", properties, catalog)
    assert bool(found) is fires, found


@pytest.mark.parametrize(
    ("properties", "fires"),
    [
        ("      Principals: ['arn:aws:organizations::111111111111:organization/o-abcdefghij']\n", True),
        # An intrinsic known at deploy time is matched as written.
        (
            "      Principals:\n        - !Sub arn:${AWS::Partition}:organizations::${Account}:organization/${OrgId}\n",
            True,
        ),
        ("      Principals: ['222222222222']\n", False),
    ],
)
def test_matches_in_cloudformation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, properties: str, fires: bool
) -> None:
    catalog = _catalog_with(
        "cloudformation",
        "AWS::RAM::ResourceShare",
        {"field": "values.Principals", "matches": ORG_ARN, "ignore_case": True},
    )
    properties = "      Name: share\n" + properties
    found = _ot302_on_disable(tmp_path, monkeypatch, "AWS::RAM::ResourceShare", properties, catalog)
    assert bool(found) is fires, found


@pytest.mark.parametrize(("count", "fires"), [("", True), ("count = 1", True), ("count = var.create ? 1 : 0", False)])
def test_an_organization_that_may_not_exist_is_no_whole_list(tmp_path: Path, count: str, fires: bool) -> None:
    """OT301 compares with what must be enabled: an organization whose count is unknown may declare
    no list at all, so a principal missing from its list is not known to be disabled."""
    text = (
        'variable "create" {\n  type = bool\n}\n'
        f'resource "aws_organizations_organization" "org" {{\n  {count}\n'
        '  aws_service_access_principals = ["sso.amazonaws.com"]\n}\n'
        'resource "aws_organizations_delegated_administrator" "securityhub" {\n'
        '  account_id        = "111111111111"\n  service_principal = "securityhub.amazonaws.com"\n}\n'
    )
    found = _ot301(tmp_path, "main.tf", text, Catalog.load())
    assert bool(found) is fires, found
