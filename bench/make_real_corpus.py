"""Write a deterministic corpus shaped like real monorepos: bench/real-corpus/ (git-ignored).

Where bench/make_corpus.py spreads small files over many modules, real repositories hold large
files (a module's main.tf with dozens of unrelated resources) where one block matters, an IAM
policy document in most modules, and Terragrunt layouts: many small units, each calling one of a
few shared modules with its own inputs. This corpus has all three:

- 200 service modules under services/, each one main.tf of 40-90 resources (30-80 KB) with one
  aws_iam_policy_document among them, and every tenth also a delegated administrator;
- 20 shared modules under modules/ and 500 Terragrunt units under live/ calling them with inputs;
- one organization root under org/ whose list some units' modules rely on.

`python bench/make_real_corpus.py --check` asserts that orgtrust-lint finds the planted findings.
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

SERVICES = 200
SHARED_MODULES = 20
UNITS = 500

BUCKET = """resource "aws_s3_bucket" "{name}" {{
  bucket = "{name}-${{var.environment}}"
  tags = {{
    Name        = "{name}"
    Team        = "platform"
    Environment = var.environment
  }}
}}

resource "aws_s3_bucket_lifecycle_configuration" "{name}" {{
  bucket = aws_s3_bucket.{name}.id
  rule {{
    id     = "expire"
    status = "Enabled"
    expiration {{
      days = {days}
    }}
  }}
}}

"""

QUEUE = """resource "aws_sqs_queue" "{name}" {{
  name                       = "{name}"
  visibility_timeout_seconds = {days}
  redrive_policy = jsonencode({{
    deadLetterTargetArn = "arn:aws:sqs:us-east-1:111111111111:{name}-dlq"
    maxReceiveCount     = 4
  }})
}}

"""

POLICY = """data "aws_iam_policy_document" "service_{i}" {{
  statement {{
    actions   = [{actions}]
    resources = ["*"]{condition}
  }}
}}

resource "aws_iam_policy" "service_{i}" {{
  name   = "service-{i}"
  policy = data.aws_iam_policy_document.service_{i}.json
}}

"""

CONDITION = """
    condition {
      test     = "StringEquals"
      variable = "organizations:ServicePrincipal"
      values   = ["config.amazonaws.com"]
    }"""

DELEGATED = """resource "aws_organizations_delegated_administrator" "service_{i}" {{
  account_id        = "222222222222"
  service_principal = "{principal}"
}}

"""

SHARED_MODULE = """variable "principals" {{
  type    = list(string)
  default = []
}}

variable "name" {{
  type = string
}}

resource "aws_s3_bucket" "logs" {{
  bucket = "${{var.name}}-logs"
}}

resource "aws_organizations_aws_service_access" "this" {{
  for_each          = toset(var.principals)
  service_principal = each.value
}}
"""

UNIT = """include "root" {{
  path = find_in_parent_folders("root.hcl")
}}

terraform {{
  source = "../../../modules/shared-{m:02d}"
}}

inputs = {{
  name       = "unit-{u:03d}"
  principals = [{principals}]
}}
"""

ROOT_HCL = """locals {
  environment = "prod"
}

inputs = {
  environment = local.environment
}
"""

ORG = """resource "aws_organizations_organization" "org" {
  feature_set = "ALL"
  aws_service_access_principals = [
    "config.amazonaws.com",
    "guardduty.amazonaws.com",
    "securityhub.amazonaws.com",
    "sso.amazonaws.com",
  ]
}
"""


def _service(i: int, rng: random.Random, planted: Counter) -> str:
    blocks = []
    for j in range(rng.randint(20, 45)):
        name = f"svc{i:03d}_{j:02d}"
        blocks.append(BUCKET.format(name=name, days=rng.randint(1, 365)) if j % 3 else QUEUE.format(name=name, days=30))
    if i % 5:  # an IAM policy document in four modules of five
        unconditioned = i % 25 == 1
        planted["OT201"] += unconditioned
        actions = '"organizations:EnableAWSServiceAccess"' if i % 25 in (1, 2) else '"s3:GetObject"'
        condition = CONDITION if i % 25 == 2 else ""
        blocks.insert(len(blocks) // 2, POLICY.format(i=i, actions=actions, condition=condition))
    if i % 10 == 0:
        typo = i % 50 == 0
        planted["OT101"] += typo
        principal = "guarduty.amazonaws.com" if typo else "guardduty.amazonaws.com"
        blocks.append(DELEGATED.format(i=i, principal=principal))
    return 'variable "environment" {\n  type    = string\n  default = "prod"\n}\n\n' + "".join(blocks)


def make(root: Path) -> Counter:
    rng = random.Random(20261202)
    planted: Counter = Counter()
    if root.exists():
        shutil.rmtree(root)
    (root / "org").mkdir(parents=True)
    # A repository of its own, as a linted repository is: otherwise orgtrust-lint's own checkout
    # is the repository, and a run looks through its fixtures and other corpus for callers.
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / "org" / "main.tf").write_text(ORG)
    for i in range(SERVICES):
        module = root / "services" / f"service-{i:03d}"
        module.mkdir(parents=True)
        text = _service(i, rng, planted)
        # The delegated administrators rely on trusted access in this service's own configuration,
        # which declares none: OT301 stays silent (the organization is managed elsewhere).
        (module / "main.tf").write_text(text)
    for m in range(SHARED_MODULES):
        (root / "modules" / f"shared-{m:02d}").mkdir(parents=True)
        (root / "modules" / f"shared-{m:02d}" / "main.tf").write_text(SHARED_MODULE.format())
    (root / "live").mkdir()
    (root / "live" / "root.hcl").write_text(ROOT_HCL)
    for u in range(UNITS):
        unit = root / "live" / f"account-{u // 25:02d}" / f"unit-{u:03d}"
        unit.mkdir(parents=True)
        typo = u % 100 == 7
        planted["OT101"] += typo
        principals = '"ram.amazonaws.com"' if u % 4 == 0 else ""
        if typo:
            principals = '"ram.amazonaws.co"'
        (unit / "terragrunt.hcl").write_text(UNIT.format(m=u % SHARED_MODULES, u=u, principals=principals))
    return planted


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", default=str(Path(__file__).parent / "real-corpus"))
    parser.add_argument("--check", action="store_true", help="assert orgtrust-lint finds the planted findings")
    args = parser.parse_args()
    root = Path(args.root)
    planted = make(root)
    files = [p for p in root.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    print(f"wrote {len(files)} files ({size / 1e6:.1f} MB) under {root}; planted {dict(sorted(planted.items()))}")
    if args.check:
        from orgtrust_lint.config import Config
        from orgtrust_lint.lint import check

        found = Counter(f.rule for f in check([str(root)], Config()).findings)
        missing = {rule: count for rule, count in planted.items() if found[rule] < count}
        assert not missing, f"found {dict(found)}, planted {dict(planted)}"
        print(f"orgtrust-lint finds the planted findings: {dict(sorted(found.items()))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
