"""Terraform plan JSON (``terraform show -json PLAN``, format_version 1.x) -> facts before and after.

``resource_changes`` lists every managed resource of the configuration, modules included, with
its ``before`` and ``after`` values, so one pass yields the facts of both sides of the apply.
Values known only after apply (``after_unknown``) and sensitive values (``after_sensitive``) are
never guessed or printed: they become OT002. Locations point into the plan file.
"""

from __future__ import annotations

from typing import Any

from orgtrust_lint.errors import UserError
from orgtrust_lint.extract.terraform import POLICY_ATTRIBUTES, SINGLE_PRINCIPAL_ATTRIBUTES
from orgtrust_lint.facts import (
    Facts,
    Location,
    Organization,
    ParseError,
    Position,
    PrincipalRef,
    Resource,
    ServiceAccessResource,
    UnresolvedValue,
)
from orgtrust_lint.parse.located_json import JsonNode, JsonSyntaxError, loads_located
from orgtrust_lint.parse.policy import parse_policy_text, statements_from_document

NOT_A_PLAN = "not a Terraform plan in JSON"
EXPECTED = "expected `terraform show -json` output, format_version 1.x"


class NotAPlan(UserError):
    """What --plan names is not a plan: a usage error (exit 2), not a finding in a file of the project."""


def _member(node: JsonNode | None, key: str) -> JsonNode | None:
    if node is None or not isinstance(node.value, dict):
        return None
    return node.value.get(key)


def _plain(node: JsonNode | None) -> Any:
    return None if node is None else node.plain()


class _Side:
    """The values of one side (before or after) of every resource change."""

    def __init__(self, path: str, facts: Facts) -> None:
        self.path = path
        self.facts = facts

    def hidden(self, address: str, attribute: str, location: Location, reason: str) -> None:
        shown = "(sensitive value)" if "sensitive" in reason else "(known after apply)"
        self.facts.unresolved.append(UnresolvedValue(shown, location, address, attribute, reason))

    def principal_list(
        self, values: JsonNode, unknown: Any, sensitive: Any, address: str, attribute: str, position: Position
    ) -> tuple[int, bool]:
        node = _member(values, attribute)
        if sensitive is True or (isinstance(sensitive, dict) and sensitive.get(attribute) is True):
            location = node.location if node else values.location
            self.hidden(address, attribute, location, "the value is sensitive, so it is not read")
            return 0, False
        marks = unknown.get(attribute) if isinstance(unknown, dict) else None
        if marks is True:
            self.hidden(address, attribute, values.location, "the value is known only after apply")
            return 0, False
        if node is None or node.value is None:
            return 0, True
        items = node.value if isinstance(node.value, list) else [node]
        resolved, count = True, 0
        for index, item in enumerate(items):
            if isinstance(marks, list) and index < len(marks) and marks[index] is True:
                resolved = False
                self.hidden(address, attribute, item.location, "an element is known only after apply")
                continue
            if not isinstance(item.value, str):
                continue
            count += 1
            group = f"{self.path}:{address}" if position is not Position.SERVICE_ACCESS_RESOURCE else self.path
            self.facts.principals.append(PrincipalRef(item.value, position, item.location, address, group))
        if isinstance(marks, list) and len(marks) > len(items) and any(m is True for m in marks[len(items) :]):
            resolved = False
            self.hidden(address, attribute, node.location, "an element is known only after apply")
        return count, resolved

    def resource(self, change: JsonNode, values: JsonNode, unknown: Any, sensitive: Any) -> None:
        resource_type = _plain(_member(change, "type"))
        address = _plain(_member(change, "address"))
        if not isinstance(resource_type, str) or not isinstance(address, str) or not isinstance(values.value, dict):
            return
        location = change.location
        attributes: dict[str, str | bool] = {}
        lists: dict[str, tuple[str, ...]] = {}
        expressions: dict[str, tuple[str, ...]] = {}
        blocks = set()
        for name, node in values.value.items():
            if isinstance(node.value, str | bool):
                attributes[name] = node.value
            elif isinstance(node.value, dict) or (
                isinstance(node.value, list) and node.value and isinstance(node.value[0].value, dict)
            ):
                blocks.add(name)
            elif isinstance(node.value, list):
                lists[name] = tuple(item.value for item in node.value if isinstance(item.value, str))
        if isinstance(unknown, dict):
            # Known only after apply: set, whatever it will be.
            expressions.update((name, ("(known after apply)",)) for name, mark in unknown.items() if mark is True)
        self.facts.resources.append(
            Resource(
                "terraform", resource_type, address, location, attributes, frozenset(blocks), True, lists, expressions
            )
        )
        if resource_type == "aws_organizations_organization":
            declared = "aws_service_access_principals" in values.value and values.value[
                "aws_service_access_principals"
            ].value not in (None, [])
            count, resolved = self.principal_list(
                values, unknown, sensitive, address, "aws_service_access_principals", Position.ORGANIZATION_LIST
            )
            feature = _member(values, "feature_set")
            self.facts.organizations.append(
                Organization(
                    address=address,
                    location=location,
                    feature_set=feature.value if feature is not None and isinstance(feature.value, str) else "ALL",
                    feature_set_location=feature.location if feature is not None else location,
                    declares_principals=declared or not resolved,
                    principals_resolved=resolved,
                    principal_count=count,
                    principals_location=(_member(values, "aws_service_access_principals") or values).location,
                    scope=self.path,
                )
            )
        elif resource_type in SINGLE_PRINCIPAL_ATTRIBUTES:
            attribute, position = SINGLE_PRINCIPAL_ATTRIBUTES[resource_type]
            count, resolved = self.principal_list(values, unknown, sensitive, address, attribute, position)
            if position is Position.SERVICE_ACCESS_RESOURCE:
                principal = _plain(_member(values, attribute)) if resolved and count else None
                self.facts.service_access.append(ServiceAccessResource(address, location, principal, self.path))
        policies = []
        if resource_type in POLICY_ATTRIBUTES:
            policies.append(
                (_member(values, POLICY_ATTRIBUTES[resource_type]), resource_type != "aws_organizations_policy")
            )
        if resource_type == "aws_iam_role":
            inline = _member(values, "inline_policy")
            for item in inline.value if inline is not None and isinstance(inline.value, list) else []:
                policies.append((_member(item, "policy"), True))
        for policy, grants in policies:
            if policy is None or not isinstance(policy.value, str) or not policy.value.strip():
                continue
            try:
                root = parse_policy_text(policy.value, policy.location)
            except JsonSyntaxError as exc:
                self.facts.parse_errors.append(ParseError(self.path, str(exc), policy.location))
                continue
            statements_from_document(root, address, self.facts, grants)


def extract_plan(path: str, text: str) -> tuple[Facts, Facts]:
    """(facts before the apply, facts after it) of a plan; NotAPlan for anything else."""
    before, after = Facts(files=[path]), Facts(files=[path])
    try:
        root = loads_located(path, text)
    except JsonSyntaxError as exc:
        raise NotAPlan(f"{NOT_A_PLAN} (line {exc.line}, column {exc.column}: {exc}); {EXPECTED}") from None
    version = _plain(_member(root, "format_version"))
    changes = _member(root, "resource_changes")
    if not isinstance(version, str) or not version.startswith("1.") or changes is None:
        raise NotAPlan(f"{NOT_A_PLAN} ({EXPECTED})")
    sides = (_Side(path, before), _Side(path, after))
    for change in changes.value if isinstance(changes.value, list) else []:
        if _plain(_member(change, "mode")) != "managed":
            continue
        detail = _member(change, "change")
        actions = _plain(_member(detail, "actions")) or []
        old, new = _member(detail, "before"), _member(detail, "after")
        if old is not None and old.value is not None:
            sides[0].resource(change, old, None, _plain(_member(detail, "before_sensitive")))
        if new is not None and new.value is not None and actions != ["delete"]:
            sides[1].resource(
                change, new, _plain(_member(detail, "after_unknown")), _plain(_member(detail, "after_sensitive"))
            )
    return before, after
