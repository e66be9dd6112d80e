"""Write a deterministic synthetic monorepo for benchmarks: bench/corpus/ (git-ignored).

5,000 Terraform files in 500 modules (VPCs, buckets, Lambda functions, IAM roles and policies
in every form we parse, variables and tfvars, a few organizations and delegated
administrators) and 300 CloudFormation templates (YAML and JSON), with a known number of
planted findings. `python bench/make_corpus.py --check` also asserts that orgtrust-lint finds
exactly the planted findings.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

MODULES = 500
TEMPLATES = 300
ORG_EVERY = 50  # every 50th module manages an organization

VPC = """resource "aws_vpc" "main_{i}" {{
  cidr_block           = "10.{a}.0.0/16"
  enable_dns_support   = true
  enable_dns_hostnames = true
  tags = {{
    Name        = "vpc-{i}"
    Environment = var.environment
  }}
}}

resource "aws_subnet" "private_{i}" {{
  count             = 3
  vpc_id            = aws_vpc.main_{i}.id
  cidr_block        = cidrsubnet(aws_vpc.main_{i}.cidr_block, 8, count.index)
  availability_zone = element(var.azs, count.index)
}}

resource "aws_route_table" "private_{i}" {{
  vpc_id = aws_vpc.main_{i}.id
}}
"""
BUCKET = """resource "aws_s3_bucket" "data_{i}" {{
  bucket = "corp-data-{i}-${{var.environment}}"
}}

resource "aws_s3_bucket_versioning" "data_{i}" {{
  bucket = aws_s3_bucket.data_{i}.id
  versioning_configuration {{
    status = "Enabled"
  }}
}}

resource "aws_s3_bucket_public_access_block" "data_{i}" {{
  bucket                  = aws_s3_bucket.data_{i}.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}}
"""
LAMBDA = """resource "aws_lambda_function" "worker_{i}" {{
  function_name = "worker-{i}"
  role          = aws_iam_role.worker_{i}.arn
  handler       = "index.handler"
  runtime       = "python3.12"
  filename      = "${{path.module}}/worker.zip"
  environment {{
    variables = {{
      STAGE = var.environment
    }}
  }}
}}

resource "aws_iam_role" "worker_{i}" {{
  name = "worker-{i}"
  assume_role_policy = jsonencode({{
    Version = "2012-10-17"
    Statement = [{{
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Principal = {{ Service = "lambda.amazonaws.com" }}
    }}]
  }})
}}
"""
POLICY_DOC = """data "aws_iam_policy_document" "worker_{i}" {{
  statement {{
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = ["${{aws_s3_bucket.data_{i}.arn}}/*"]
  }}
  statement {{
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["*"]
  }}
}}

resource "aws_iam_role_policy" "worker_{i}" {{
  name   = "worker-{i}"
  role   = aws_iam_role.worker_{i}.id
  policy = data.aws_iam_policy_document.worker_{i}.json
}}
"""
HEREDOC_POLICY = """resource "aws_iam_policy" "reader_{i}" {{
  name   = "reader-{i}"
  policy = <<POLICY
{{
  "Version": "2012-10-17",
  "Statement": [
    {{"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Query"], "Resource": "*"}}
  ]
}}
POLICY
}}
"""
SECURITY_GROUP = """resource "aws_security_group" "app_{i}" {{
  name   = "app-{i}"
  vpc_id = aws_vpc.main_{i}.id
  ingress {{
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["10.0.0.0/8"]
  }}
  egress {{
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }}
}}
"""
VARIABLES = """variable "environment" {{
  type    = string
  default = "prod"
}}

variable "azs" {{
  type    = list(string)
  default = ["us-east-1a", "us-east-1b", "us-east-1c"]
}}

variable "module_{i}_enabled" {{
  type    = bool
  default = true
}}
"""
OUTPUTS = """output "vpc_id_{i}" {{
  value = aws_vpc.main_{i}.id
}}

output "bucket_{i}" {{
  value = aws_s3_bucket.data_{i}.bucket
}}
"""
LOCALS = """locals {{
  name_prefix = "corp-{i}"
  common_tags = {{
    Owner  = "platform"
    Module = "{i}"
  }}
}}
"""
ORG = """variable "security_principals" {{
  type    = list(string)
  default = ["guardduty.amazonaws.com", "securityhub.amazonaws.com"{typo_default}]
}}

resource "aws_organizations_organization" "org_{i}" {{
  feature_set = "{feature_set}"
  aws_service_access_principals = concat(var.security_principals, [
    "sso.amazonaws.com",
    "config.amazonaws.com",{typo_list}{duplicate}
  ])
}}
{extra}
resource "aws_organizations_delegated_administrator" "config_{i}" {{
  account_id        = "222222222222"
  service_principal = "config.amazonaws.com"
}}

data "aws_iam_policy_document" "enable_{i}" {{
  statement {{
    actions   = ["organizations:EnableAWSServiceAccess"]
    resources = ["*"]{condition}
  }}
}}
"""
CONDITION = """
    condition {
      test     = "StringEquals"
      variable = "organizations:ServicePrincipal"
      values   = ["config.amazonaws.com"]
    }"""
CONDITION_WILDCARD = """
    condition {
      test     = "StringLike"
      variable = "organizations:ServicePrincipal"
      values   = ["*"]
    }"""
MIXED_FORMS = """
resource "aws_organizations_aws_service_access" "ram_{i}" {{
  service_principal = "ram.amazonaws.com"
}}
"""
BROKEN = """resource "aws_organizations_policy" "broken_{i}" {{
  name    = "deny-leaving"
  content = jsonencode({{
"""
DETECTIVE = """resource "aws_detective_organization_admin_account" "security_{i}" {{
  account_id = "333333333333"
}}
"""
LOADED_POLICY = """resource "aws_iam_policy" "loaded_{i}" {{
  name   = "loaded-{i}"
  policy = file("${{path.module}}/policy.json")
}}
"""
TEMPLATE_YAML = """AWSTemplateFormatVersion: "2010-09-09"
Description: Service stack {i}
Resources:
  Queue{i}:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: queue-{i}
  Table{i}:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - AttributeName: id
          AttributeType: S
      KeySchema:
        - AttributeName: id
          KeyType: HASH
  Policy{i}:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Action: {action}
            Resource: "*"{condition}
"""
TEMPLATE_CONDITION = """
            Condition:
              StringEquals:
                organizations:ServicePrincipal: config.amazonaws.com"""
BROKEN_TEMPLATE = """AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties: [unclosed
"""


def _module_files(i: int, rng: random.Random, planted: Counter) -> dict[str, str]:
    files = {
        "vpc.tf": VPC.format(i=i, a=i % 250),
        "buckets.tf": BUCKET.format(i=i),
        "lambda.tf": LAMBDA.format(i=i),
        "policies.tf": POLICY_DOC.format(i=i),
        "reader.tf": HEREDOC_POLICY.format(i=i),
        "security_groups.tf": SECURITY_GROUP.format(i=i),
        "variables.tf": VARIABLES.format(i=i),
        "outputs.tf": OUTPUTS.format(i=i),
        "locals.tf": LOCALS.format(i=i),
    }
    if i % ORG_EVERY == 0:
        # Ten organization modules, n = 0..9, each with its own mix of planted mistakes.
        n = i // ORG_EVERY
        typo_default = ', "guarduty.amazonaws.com"' if n % 2 == 0 else ""
        typo_list = '\n    "Config.amazonaws.com",' if n % 3 == 0 else ""
        duplicate = '\n    "sso.amazonaws.com",' if n == 1 else ""
        feature_set = "CONSOLIDATED_BILLING" if n == 4 else "ALL"
        condition = "" if n % 2 == 1 else CONDITION_WILDCARD if n == 2 else CONDITION
        extra = MIXED_FORMS.format(i=i) if n == 6 else ""
        planted["OT101"] += bool(typo_default)
        planted["OT103"] += bool(typo_list)
        planted["OT102"] += bool(duplicate)
        planted["OT104"] += feature_set != "ALL"
        planted["OT106"] += bool(extra)
        planted["OT201"] += not condition
        planted["OT203"] += condition == CONDITION_WILDCARD
        files["organization.tf"] = ORG.format(
            i=i,
            typo_default=typo_default,
            typo_list=typo_list,
            duplicate=duplicate,
            feature_set=feature_set,
            condition=condition,
            extra=extra,
        )
        if n == 9:
            files["broken.tf"] = BROKEN.format(i=i)
            planted["OT001"] += 1
    else:
        files["terraform.tfvars"] = f'environment = "{rng.choice(["prod", "stage", "dev"])}"\n'
    if i % 100 == 50:  # an integration beside an organization that does not enable its principal
        files["detective.tf"] = DETECTIVE.format(i=i)
        planted["OT301"] += 1
    if i % 100 == 75:  # a policy read from a file at plan time
        files["loaded.tf"] = LOADED_POLICY.format(i=i)
        planted["OT002"] += 1
    return files


def make(root: Path) -> Counter:
    import yaml

    rng = random.Random(20261125)
    planted: Counter = Counter()
    if root.exists():
        shutil.rmtree(root)
    for i in range(MODULES):
        module = root / "terraform" / f"team-{i // 50:02d}" / f"module-{i:03d}"
        module.mkdir(parents=True)
        for name, text in _module_files(i, rng, planted).items():
            (module / name).write_text(text)
    templates = root / "cloudformation"
    templates.mkdir(parents=True)
    # A repository of its own, as a linted repository is: otherwise orgtrust-lint's own checkout
    # is the repository, and a run looks through its fixtures and other corpus for callers.
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    for i in range(TEMPLATES):
        unscoped = i % 30 == 0
        misplaced_condition = i % 30 == 15  # a ServicePrincipal condition on an action that never carries it
        planted["OT201"] += unscoped
        planted["OT204"] += misplaced_condition
        action = (
            "organizations:*"
            if unscoped
            else "organizations:CreateAccount"
            if misplaced_condition
            else "sqs:SendMessage"
        )
        text = TEMPLATE_YAML.format(i=i, action=action, condition=TEMPLATE_CONDITION if misplaced_condition else "")
        if i == TEMPLATES - 1:
            (templates / f"stack-{i:03d}.yaml").write_text(BROKEN_TEMPLATE)
            planted["OT001"] += 1
        elif i % 2:
            (templates / f"stack-{i:03d}.template.json").write_text(json.dumps(yaml.safe_load(text), indent=2))
        else:
            (templates / f"stack-{i:03d}.yaml").write_text(text)
    return planted


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", default=str(Path(__file__).parent / "corpus"))
    parser.add_argument("--check", action="store_true", help="assert orgtrust-lint finds exactly the planted findings")
    args = parser.parse_args()
    root = Path(args.root)
    planted = make(root)
    count = sum(1 for p in root.rglob("*") if p.is_file())
    print(f"wrote {count} files under {root}; planted {dict(sorted(planted.items()))}")
    if args.check:
        from orgtrust_lint.config import Config
        from orgtrust_lint.lint import check

        found = Counter(f.rule for f in check([str(root)], Config(ignore=("OT105",))).findings)
        assert found == planted, f"found {dict(found)}, planted {dict(planted)}"
        print("orgtrust-lint finds exactly the planted findings")
    return 0


if __name__ == "__main__":
    sys.exit(main())
