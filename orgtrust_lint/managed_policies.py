"""AWS managed policies that grant trusted-access actions (data/managed_policies.yaml, schema-checked).

Extraction records which managed policy ARNs are attached; OT202 looks each one up here. An ARN is
recognised in any partition (aws, aws-cn, aws-us-gov) and also when only its policy path and name
are static: ``arn:${data.aws_partition.current.partition}:iam::aws:policy/AdministratorAccess`` in
Terraform, ``!Sub arn:${AWS::Partition}:iam::aws:policy/AdministratorAccess`` in CloudFormation.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from orgtrust_lint.catalog import DATA_DIRECTORY, load_yaml
from orgtrust_lint.schema_check import validate_cached

AWS_MANAGED_PREFIX = "arn:aws:iam::aws:policy/"
# The policy part of an AWS managed policy ARN written with any partition, a literal one or a
# placeholder (${...}); anchored at the end so a template's closing quote may follow.
_AWS_MANAGED = re.compile(r"""iam::aws:policy/((?:[A-Za-z0-9+=,.@_-]+/)*[A-Za-z0-9+=,.@_-]+)["']?\s*$""")


def aws_managed_arn(text: str) -> str | None:
    """The ARN in the aws partition of an AWS managed policy that ``text`` names, or None."""
    if not text.startswith(("arn:", '"arn:', "!Sub arn:")) or "iam::aws:policy/" not in text:
        return None
    match = _AWS_MANAGED.search(text)
    return AWS_MANAGED_PREFIX + match.group(1) if match else None


@functools.cache
def policies() -> dict[str, dict[str, Any]]:
    """Table rows by their ARN (aws partition)."""
    raw = (DATA_DIRECTORY / "managed_policies.yaml").read_bytes()
    schema = json.loads((DATA_DIRECTORY / "managed_policies.schema.json").read_text(encoding="utf-8"))
    data = load_yaml(raw)
    validate_cached(raw, data, schema, "the managed policy table")
    return {row["arn"]: row for row in data["policies"]}
