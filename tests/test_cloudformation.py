"""CloudFormation: detection by content, cfn-lint's decoder, intrinsics, and valid fixtures."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from orgtrust_lint.config import Config
from orgtrust_lint.discover import DiscoveryError
from orgtrust_lint.lint import check
from orgtrust_lint.parse.cloudformation import looks_like_template

REPO = Path(__file__).resolve().parent.parent
TEMPLATES = sorted(
    p
    for p in (REPO / "fixtures").rglob("*")
    if p.suffix in (".yaml", ".yml", ".json")
    and looks_like_template(p.read_text(errors="replace"))
    # org-formation's templates ('2010-09-09-OC', !Include) are for org-formation, not for CloudFormation
    and "2010-09-09-OC" not in p.read_text(errors="replace")
)


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
def test_fixture_templates_are_valid_for_plain_cfn_lint(template: Path) -> None:
    """Our examples are real templates: cfn-lint reports no error (E) of its own on them."""
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run([str(cfn_lint), str(template)], capture_output=True, text=True, timeout=120)
    assert result.returncode & 2 == 0, result.stdout + result.stderr


def _lint(tmp_path: Path, name: str, text: str) -> list[tuple[str, int, str]]:
    (tmp_path / name).write_text(text)
    result = check([str(tmp_path)], Config(ignore=("OT105",)))
    return [(f.rule, f.location.line, f.message) for f in result.findings]


def test_templates_are_found_by_content_not_by_name(tmp_path: Path) -> None:
    template = (
        "Resources:\n  R:\n    Type: AWS::IAM::ServiceLinkedRole\n    Properties:\n"
        "      AWSServiceName: config.amazonaw.com\n"
    )
    with pytest.raises(DiscoveryError, match="nothing to lint in this directory"):
        _lint(tmp_path, "stack.definition", template)  # not a YAML/JSON name: not read
    assert [r[:2] for r in _lint(tmp_path, "anything.yml", template)] == [("OT101", 5)]
    (tmp_path / "anything.yml").unlink()
    assert _lint(tmp_path, "values.yaml", "replicaCount: 2\nimage: nginx\n") == []  # a Helm values file


def test_static_intrinsics_resolve_and_others_are_ot002(tmp_path: Path) -> None:
    template = """Parameters:
  Service:
    Type: String
    Default: guardduty
  Domain:
    Type: String
    Default: amazonaws.com
Resources:
  Joined:
    Type: AWS::IAM::ServiceLinkedRole
    Properties:
      AWSServiceName: !Join [".", ["guarduty", !Ref Domain]]
  Substituted:
    Type: AWS::IAM::ServiceLinkedRole
    Properties:
      AWSServiceName: !Sub "${Service}.amazonaws.cm"
  Computed:
    Type: AWS::IAM::ServiceLinkedRole
    Properties:
      AWSServiceName: !GetAtt Something.Name
"""
    findings = _lint(tmp_path, "template.yaml", template)
    assert [(rule, line) for rule, line, _ in findings] == [("OT101", 12), ("OT101", 16), ("OT002", 20)]
    assert "!GetAtt" in findings[2][2]


def test_malformed_template_is_ot001_with_its_line(tmp_path: Path) -> None:
    findings = _lint(tmp_path, "broken.yaml", "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  A: [1,\n")
    assert [(rule, line) for rule, line, _ in findings] == [("OT001", 4)]


def test_cfn_lint_is_not_imported_for_terraform_only_runs(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text('resource "aws_iam_service_linked_role" "r" {\n  aws_service_name = "x"\n}\n')
    code = (
        "import sys; from orgtrust_lint.lint import check; "
        f"check([{str(tmp_path)!r}]); print('cfnlint' in sys.modules, 'boto3' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ}, timeout=60)
    assert out.stdout.strip() == "False False", out.stderr


STATEMENT_CASES = [
    # (case, statement, expected rules)
    ("unscoped", {"Effect": "Allow", "Action": "organizations:Enable*", "Resource": "*"}, ["OT201"]),
    (
        "scoped",
        {
            "Effect": "Allow",
            "Action": "organizations:EnableAWSServiceAccess",
            "Resource": "*",
            "Condition": {"StringEquals": {"organizations:ServicePrincipal": "config.amazonaws.com"}},
        },
        [],
    ),
    (
        "wildcard-only",
        {
            "Effect": "Allow",
            "Action": "organizations:EnableAWSServiceAccess",
            "Resource": "*",
            "Condition": {"StringLike": {"organizations:ServicePrincipal": "*"}},
        },
        ["OT203"],
    ),
    (
        "negated",
        {
            "Effect": "Allow",
            "Action": "organizations:DisableAWSServiceAccess",
            "Resource": "*",
            "Condition": {"StringNotLike": {"organizations:ServicePrincipal": "sso.amazonaws.com"}},
        },
        ["OT203"],
    ),
    (
        "set-operator",
        {
            "Effect": "Allow",
            "Action": "organizations:RegisterDelegatedAdministrator",
            "Resource": "*",
            "Condition": {"ForAllValues:StringEquals": {"organizations:ServicePrincipal": "sso.amazonaws.com"}},
        },
        ["OT203"],
    ),
    (
        "if-exists",
        {
            "Effect": "Allow",
            "Action": ["organizations:EnableAWSServiceAccess", "organizations:ListAWSServiceAccessForOrganization"],
            "Resource": "*",
            "Condition": {"StringLikeIfExists": {"organizations:ServicePrincipal": "config.amazonaws.com"}},
        },
        [],
    ),
    (
        "unsupported-action",
        {
            "Effect": "Allow",
            "Action": ["organizations:EnableAWSServiceAccess", "organizations:ListDelegatedServicesForAccount"],
            "Resource": "*",
            "Condition": {"StringEquals": {"organizations:ServicePrincipal": "config.amazonaws.com"}},
        },
        ["OT204"],
    ),
    (
        "condition-typo",
        {
            "Effect": "Allow",
            "Action": "organizations:EnableAWSServiceAccess",
            "Resource": "*",
            "Condition": {"StringEquals": {"organizations:ServicePrincipal": "config.amazonaw.com"}},
        },
        ["OT101"],
    ),
    ("deny", {"Effect": "Deny", "Action": "organizations:*", "Resource": "*"}, []),
    (
        "read-only",
        {"Effect": "Allow", "Action": "organizations:ListAWSServiceAccessForOrganization", "Resource": "*"},
        [],
    ),
]


@pytest.mark.parametrize("syntax", ["yaml", "json"])
@pytest.mark.parametrize(("case", "statement", "expected"), STATEMENT_CASES, ids=[c[0] for c in STATEMENT_CASES])
def test_statement_rules_in_both_template_syntaxes(
    tmp_path: Path, syntax: str, case: str, statement: dict, expected: list[str]
) -> None:
    import json

    import yaml

    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "Policy": {
                "Type": "AWS::IAM::ManagedPolicy",
                "Properties": {"PolicyDocument": {"Version": "2012-10-17", "Statement": [statement]}},
            }
        },
    }
    text = json.dumps(template, indent=2) if syntax == "json" else yaml.safe_dump(template, sort_keys=False)
    findings = _lint(tmp_path, f"policy.{syntax}", text)
    assert sorted(rule for rule, _, _ in findings) == expected
