"""OT202: AWS managed policies that grant the trusted-access actions, attached by ARN.

The table (orgtrust_lint/data/managed_policies.yaml) is sourced from the AWS managed policy
reference; the rule reports an attachment of a policy that grants any of the four actions with
no organizations:ServicePrincipal condition, in Terraform and CloudFormation.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orgtrust_lint import managed_policies
from orgtrust_lint.cli import run
from orgtrust_lint.config import Config
from orgtrust_lint.lint import check

ALL_FOUR = ["EnableAWSServiceAccess", "DisableAWSServiceAccess", "RegisterDelegatedAdministrator"]
ALL_FOUR.append("DeregisterDelegatedAdministrator")


def test_the_table_is_sourced_from_the_managed_policy_reference() -> None:
    table = managed_policies.policies()
    for arn, row in table.items():
        assert row["source"] == f"https://docs.aws.amazon.com/aws-managed-policy/latest/reference/{row['name']}.html"
        assert arn.endswith("/" + row["name"])
    admin = table["arn:aws:iam::aws:policy/AdministratorAccess"]
    organizations = table["arn:aws:iam::aws:policy/AWSOrganizationsFullAccess"]
    assert admin["unconditioned"] == ALL_FOUR == organizations["unconditioned"]
    # PowerUserAccess's NotAction excludes organizations:*, ReadOnlyAccess grants no write: neither is listed.
    assert "arn:aws:iam::aws:policy/PowerUserAccess" not in table
    assert "arn:aws:iam::aws:policy/ReadOnlyAccess" not in table
    security_hub = table["arn:aws:iam::aws:policy/AWSSecurityHubOrganizationsAccess"]
    assert security_hub["unconditioned"] == [] and security_hub["conditioned"]


@pytest.mark.parametrize(
    ("arn", "fires"),
    [
        ('"arn:aws:iam::aws:policy/AdministratorAccess"', True),
        ('"arn:aws-us-gov:iam::aws:policy/AdministratorAccess"', True),
        ('"arn:${data.aws_partition.current.partition}:iam::aws:policy/AWSOrganizationsFullAccess"', True),
        ('"arn:aws:iam::aws:policy/AWSSSOMasterAccountAdministrator"', True),  # EnableAWSServiceAccess unconditioned
        ('var.admin ? "arn:aws:iam::aws:policy/AdministratorAccess" : "arn:aws:iam::aws:policy/ReadOnlyAccess"', True),
        ('"arn:aws:iam::aws:policy/ReadOnlyAccess"', False),
        ('"arn:aws:iam::aws:policy/AmazonInspector2FullAccess_v2"', False),
        ('"arn:aws:iam::111111111111:policy/AdministratorAccess"', False),  # a customer policy of that name
        ("aws_iam_policy.mine.arn", False),
    ],
)
def test_terraform_attachment(tmp_path: Path, arn: str, fires: bool) -> None:
    (tmp_path / "main.tf").write_text(
        'variable "admin" {}\n'
        f'resource "aws_iam_role_policy_attachment" "a" {{\n  role       = "deploy"\n  policy_arn = {arn}\n}}\n'
    )
    found = [f for f in check([str(tmp_path)], Config()).findings if f.rule == "OT202"]
    assert bool(found) is fires
    if fires:
        assert found[0].severity.value == "warning" and found[0].location.line == 4


def test_data_source_by_arn_is_reported_at_the_attachment(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "main.tf").write_text(
        'data "aws_iam_policy" "org" {\n  arn = "arn:aws:iam::aws:policy/AWSOrganizationsFullAccess"\n}\n'
        'resource "aws_iam_group_policy_attachment" "admins" {\n  group      = "admins"\n'
        "  policy_arn = data.aws_iam_policy.org.arn\n}\n"
    )
    assert run(["check", "--no-cache", "--format", "json", str(tmp_path)]) == 0  # a warning
    (finding,) = json.loads(capsys.readouterr().out)["findings"]
    assert (finding["rule"], finding["line"], finding["column"]) == ("OT202", 6, 16)
    assert "AWSOrganizationsFullAccess grants EnableAWSServiceAccess" in finding["message"]


def test_an_intended_administrator_is_ignored_with_its_reason(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'resource "aws_iam_role" "breakglass" {\n  name = "breakglass"\n  assume_role_policy = "{}"\n'
        "  # orgtrust-lint: ignore[OT202] break-glass administrator, MFA enforced by SCP\n"
        '  managed_policy_arns = ["arn:aws:iam::aws:policy/AdministratorAccess"]\n}\n'
    )
    result = check([str(tmp_path)], Config())
    assert result.findings == [] and [f.rule for f, _ in result.suppressed] == ["OT202"]


def test_cloudformation_role_user_group_and_permission_set(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(
        "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n"
        "  Admins:\n    Type: AWS::IAM::Group\n    Properties:\n      ManagedPolicyArns:\n"
        "        - arn:aws:iam::aws:policy/AdministratorAccess\n"
        "  Operator:\n    Type: AWS::IAM::User\n    Properties:\n      ManagedPolicyArns:\n"
        "        - !Sub arn:${AWS::Partition}:iam::aws:policy/AmazonGuardDutyFullAccess\n"
        "        - arn:aws:iam::aws:policy/AmazonGuardDutyFullAccess_v2\n"
        "  Viewer:\n    Type: AWS::SSO::PermissionSet\n    Properties:\n"
        "      InstanceArn: arn:aws:sso:::instance/ssoins-1111111111111111\n      Name: Viewer\n"
        "      ManagedPolicies: [arn:aws:iam::aws:policy/ReadOnlyAccess]\n"
    )
    found = [(f.location.line, f.message.split()[4]) for f in check([str(tmp_path)], Config()).findings]
    assert found == [(7, "AdministratorAccess"), (12, "AmazonGuardDutyFullAccess")]
