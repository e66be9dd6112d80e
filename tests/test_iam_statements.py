"""IAM semantics of the statement rules: wildcards, case, NotAction, Deny, IfExists."""

from __future__ import annotations

from pathlib import Path

import pytest

from orgtrust_lint.config import Config
from orgtrust_lint.lint import check


def _policy(tmp_path: Path, statement: str) -> list[tuple[str, int]]:
    text = (
        'resource "aws_iam_policy" "p" {\n  name = "p"\n  policy = <<EOF\n'
        f'{{"Version": "2012-10-17", "Statement": [{statement}]}}\nEOF\n}}\n'
    )
    (tmp_path / "main.tf").write_text(text)
    result = check([str(tmp_path)], Config(ignore=("OT105",)))
    return sorted((f.rule, f.location.line) for f in result.findings)


@pytest.mark.parametrize(
    "action",
    [
        '"organizations:EnableAWSServiceAccess"',
        '"ORGANIZATIONS:enableawsserviceaccess"',
        '"organizations:*"',
        '"organizations:Enable*"',
        '"organizations:*Delegated*"',
        '"*"',
        '["s3:GetObject", "organizations:Deregister?elegatedAdministrator"]',
    ],
)
def test_actions_granting_trusted_access_need_the_condition(tmp_path: Path, action: str) -> None:
    assert _policy(tmp_path, f'{{"Effect": "Allow", "Action": {action}, "Resource": "*"}}') == [("OT201", 4)]


@pytest.mark.parametrize(
    "statement",
    [
        '{"Effect": "Allow", "Action": "organizations:List*", "Resource": "*"}',
        '{"Effect": "Allow", "Action": "organizations:Describe*", "Resource": "*"}',
        '{"Effect": "Deny", "Action": "organizations:*", "Resource": "*"}',
        '{"Effect": "Allow", "NotAction": "organizations:*", "Resource": "*"}',
        '{"Effect": "Allow", "NotAction": ["organizations:Enable*", "organizations:Disable*",'
        ' "organizations:*DelegatedAdministrator"], "Resource": "*"}',
        '{"Effect": "Allow", "Action": "organizations:EnableAWSServiceAccess", "Resource": "*",'
        ' "Condition": {"StringEquals": {"Organizations:servicePrincipal": "config.amazonaws.com"}}}',
    ],
)
def test_statements_that_do_not_grant_unscoped_trusted_access(tmp_path: Path, statement: str) -> None:
    assert _policy(tmp_path, statement) == []


def test_not_action_that_leaves_the_actions_in_grants_them(tmp_path: Path) -> None:
    statement = '{"Effect": "Allow", "NotAction": ["organizations:Enable*"], "Resource": "*"}'
    assert _policy(tmp_path, statement) == [("OT201", 4)]


@pytest.mark.parametrize(
    ("operator", "values", "fires"),
    [
        ("StringLike", '"*"', True),
        ("StringLike", '["config.amazonaws.com", "*"]', True),
        ("StringLike", '"*.amazonaws.com"', True),
        ("StringLike", '"config*"', False),
        ("StringEquals", '"*"', False),  # a literal "*": restricts to nothing, not to everything
        ("StringNotEquals", '"sso.amazonaws.com"', True),
        ("StringNotLikeIfExists", '"sso.amazonaws.com"', True),
        ("ForAllValues:StringEquals", '"sso.amazonaws.com"', True),
        ("ForAnyValue:StringLike", '"sso.amazonaws.com"', True),
        ("StringLikeIfExists", '"sso.amazonaws.com"', False),
        ("StringEqualsIfExists", '"sso.amazonaws.com"', False),
        ("StringLikeIfExists", '"*"', True),
    ],
)
def test_ineffective_conditions(tmp_path: Path, operator: str, values: str, fires: bool) -> None:
    statement = (
        '{"Effect": "Allow", "Action": "organizations:RegisterDelegatedAdministrator", "Resource": "*",'
        f' "Condition": {{"{operator}": {{"organizations:ServicePrincipal": {values}}}}}}}'
    )
    assert _policy(tmp_path, statement) == ([("OT203", 4)] if fires else [])


@pytest.mark.parametrize(
    ("actions", "operator", "fires"),
    [
        (
            '["organizations:EnableAWSServiceAccess", "organizations:ListDelegatedServicesForAccount"]',
            "StringEquals",
            True,
        ),
        (
            '["organizations:EnableAWSServiceAccess", "organizations:ListDelegatedAdministrators"]',
            "StringEquals",
            False,
        ),
        ('["organizations:EnableAWSServiceAccess", "s3:GetObject"]', "StringLike", True),
        ('["organizations:EnableAWSServiceAccess", "organizations:DescribeOrganization"]', "StringLikeIfExists", False),
        ('"organizations:*"', "StringEquals", False),
    ],
)
def test_condition_on_actions_without_the_key(tmp_path: Path, actions: str, operator: str, fires: bool) -> None:
    statement = (
        f'{{"Effect": "Allow", "Action": {actions}, "Resource": "*",'
        f' "Condition": {{"{operator}": {{"organizations:ServicePrincipal": "config.amazonaws.com"}}}}}}'
    )
    assert _policy(tmp_path, statement) == ([("OT204", 4)] if fires else [])


def test_malformed_policy_json_is_a_parse_error_at_its_line(tmp_path: Path) -> None:
    text = 'resource "aws_iam_policy" "p" {\n  policy = <<EOF\n{\n  "Statement": [\n}\nEOF\n}\n'
    (tmp_path / "main.tf").write_text(text)
    result = check([str(tmp_path)], Config())
    assert [(f.rule, f.location.line) for f in result.findings] == [("OT001", 5)]
    assert "policy JSON" in result.findings[0].message
