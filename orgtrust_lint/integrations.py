"""Resources -> integrations that rely on trusted access, as the catalog documents them.

Format-agnostic: parsers report resources with their scalar attributes and nested blocks;
the catalog says which resource types (under which conditions) rely on which principal.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from orgtrust_lint import conditions
from orgtrust_lint.catalog import Catalog, IntegrationSpec
from orgtrust_lint.fact_kinds import kind_shape
from orgtrust_lint.facts import Facts, Integration, Location, Position, PrincipalRef, Resource
from orgtrust_lint.schema_check import DataFileError


def declared_principals(facts: Facts, configuration: str | None = None) -> dict[str, Location] | None:
    """Principals the code enables (with where), or None when that set is not fully known.

    None also when the code declares no trusted access at all: the organization is then
    managed somewhere else, and nothing can be said about what it enables. An organization
    resource that leaves aws_service_access_principals out declares an empty list.
    """
    if configuration is not None:
        facts = _of_configuration(facts, configuration)
    declarations = [o for o in facts.organizations if o.declares_principals]
    if not declarations and not facts.service_access:
        return None
    if any(not o.principals_resolved for o in declarations):
        return None
    if any(not o.authoritative for o in declarations):
        return None  # Terraform ignores changes to the list: what is enabled is decided elsewhere
    if any(s.principal is None for s in facts.service_access):
        return None
    return enabled_principals(facts)


def complete_principals(facts: Facts, configuration: str | None = None) -> dict[str, Location] | None:
    """Every principal one configuration can have enabled, or None when the code cannot say.

    Only an organization resource's list is the whole set: its next apply disables whatever
    else is enabled. Standalone enables (a custom resource per principal, org-formation's
    EnableAWSServiceAccess) say what is enabled, not what is not: the same organization may
    have other principals enabled from the console or from code outside this run.
    """
    if configuration is not None:
        facts = _of_configuration(facts, configuration)
    lists = [o for o in facts.organizations if o.declares_principals]
    if not lists:
        return None
    if any(not o.certain for o in lists):
        return None  # an organization whose count is 0 or unknown may declare no list at all
    return declared_principals(facts)


def _of_configuration(facts: Facts, configuration: str) -> Facts:
    """The trusted access one configuration declares: what one apply enables."""
    return Facts(
        organizations=[o for o in facts.organizations if o.scope == configuration],
        service_access=[s for s in facts.service_access if s.scope == configuration],
        principals=[p for p in facts.principals if p.configuration == configuration],
    )


def enabled_principals(facts: Facts) -> dict[str, Location]:
    """Every principal the code enables, with its first literal; alternative tfvars excluded."""
    enabled: dict[str, Location] = {}
    for ref in facts.principals:
        if ref.position.enables_trusted_access and ref.variant is None:
            enabled.setdefault(ref.value, ref.location)
    return enabled


@functools.cache
def _compiled(when_json: str) -> conditions.Node | None:
    when = json.loads(when_json)
    if not when:
        return None
    env = conditions.Env(subject=kind_shape("resource"), names={}, subject_kind="resource")
    try:
        return conditions.compile_condition(when, env)
    except conditions.ConditionError as exc:
        raise DataFileError(f"the principal catalog: a when condition: {exc}") from None


def compiled_when(when: dict[str, Any] | None) -> conditions.Node | None:
    """A catalog ``when`` (a condition of the rule language over the resource), compiled once."""
    return _compiled(json.dumps(when or {}, sort_keys=True))


def condition_holds(resource: Resource, when: dict[str, Any] | None) -> tuple[bool, str]:
    """Whether a catalog ``when`` holds for a resource, and the reason in words for messages
    (the test that decided it: "is_organization_trail = true", "it has an ... block")."""
    node = compiled_when(when)
    if node is None:
        return True, f"every {resource.type} does"
    scope = conditions.Scope.of(resource)
    if node.holds(scope) is None:
        return False, ""
    found = node.witness(scope)
    return True, _reason(*found) if found else ""


def _reason(leaf: conditions.Leaf, value: Any) -> str:
    head, *rest = leaf.path.segments
    if head == "nested":
        return f"it has an {leaf.argument} block"
    if head == "written":
        return f"{leaf.argument} is set"
    if head == "lists" and rest:
        return f"{rest[-1]} includes {leaf.argument}"
    if leaf.operator == "exists":
        return f"{leaf.path.name} is {'set' if leaf.argument else 'not set'}"
    return f"{leaf.path.name} = {value}"


def describe_when(when: dict[str, Any] | None) -> str:
    """A catalog ``when`` in words, for ``orgtrust-lint services``."""
    node = compiled_when(when)
    return "" if node is None else _described(node)


def _described(node: conditions.Node) -> str:
    if isinstance(node, conditions.AnyOf):
        return " or ".join(_described(child) for child in node.children)
    if isinstance(node, conditions.All):
        return " and ".join(_described(child) for child in node.children)
    if not isinstance(node, conditions.Leaf):
        return node.describe()
    head, *rest = node.path.segments
    if head == "nested" and node.operator == "equals":
        return f"it has a {node.argument} block"
    if head == "written" and node.operator == "equals":
        return f"{node.argument} is set"
    if head == "lists" and rest and node.operator == "equals":
        return f"{rest[-1]} includes {node.argument}"
    if head in ("attributes", "values") and rest:
        if node.operator == "equals":
            return f"{rest[-1]} = {node.argument}"
        if node.operator == "in" and isinstance(node.argument, list):
            return f"{rest[-1]} is one of {', '.join(str(v) for v in node.argument)}"
        if node.operator == "matches":
            return f"{rest[-1]} matches /{node.argument}/"
    return node.describe()


def declared_account(code: Facts, admin: PrincipalRef) -> str | None:
    """The account a delegated administrator declaration names, when written as a literal account id
    (Terraform's account_id, a CloudFormation resource's AccountId); None when it comes from elsewhere."""
    paths_of_use = {place.path for place in admin.via}
    accounts = {
        str(value)
        for resource in code.resources
        # The resource's own file: the principal's literal may be a variable's default elsewhere.
        if resource.address == admin.resource and resource.location.path in {admin.location.path, *paths_of_use}
        for name, value in resource.attributes.items()
        if name.lower().replace("_", "") in ("accountid", "delegatedadminaccountid", "adminaccountid")
    }
    found = accounts.pop() if len(accounts) == 1 else None
    return found if found and re.fullmatch(r"\d{12}", found) else None


def derive_integrations(facts: Facts, catalog: Catalog) -> list[Integration]:
    by_type: dict[tuple[str, str], list[IntegrationSpec]] = {}
    for spec in catalog.integration_specs:
        by_type.setdefault((spec.format, spec.resource), []).append(spec)
    found: list[Integration] = []
    for resource in facts.resources:
        if not resource.certain:
            continue  # an instance that may not exist (count unknown or a branch of a condition) proves nothing
        relied_on: set[str] = set()
        for spec in by_type.get((resource.format, resource.type), []):
            if spec.principal in relied_on:
                continue  # two documented reasons (permission_model and call_as) are one reliance
            holds, reason = condition_holds(resource, spec.when)
            if holds:
                relied_on.add(spec.principal)
                found.append(
                    Integration(
                        spec.principal,
                        resource.type,
                        resource.address,
                        resource.location,
                        spec.self_enabling,
                        reason,
                        resource.configuration,
                    )
                )
    for ref in facts.principals:
        if ref.position is Position.DELEGATED_ADMINISTRATOR and ref.certain:
            found.append(
                Integration(
                    ref.value,
                    "delegated administrator",
                    ref.resource,
                    ref.location,
                    False,
                    "a delegated administrator can only be registered while trusted access is enabled",
                    ref.configuration,
                )
            )
    return found


def set_up_principals(facts: Facts, catalog: Catalog) -> set[str]:
    """The principals whose service the linted code sets up besides the Organizations-side enable:
    a resource the catalog relates to the principal (inferred ones too: an organization
    configuration, a sharing resource, the service's own delegated-administrator resource) or a
    delegated administrator registration. The whole run counts, as for OT301: module calls are not
    followed, so a service set up by a sibling module the same root calls is still set up. Resources
    that may not exist count too: this only keeps advice quiet."""
    by_type: dict[tuple[str, str], list[IntegrationSpec]] = {}
    for spec in catalog.all_integration_specs:
        by_type.setdefault((spec.format, spec.resource), []).append(spec)
    found = {integration.principal for integration in facts.integrations}
    for resource in facts.resources:
        for spec in by_type.get((resource.format, resource.type), []):
            if spec.principal not in found and condition_holds(resource, spec.when)[0]:
                found.add(spec.principal)
    found.update(ref.value for ref in facts.principals if ref.position is Position.DELEGATED_ADMINISTRATOR)
    return found
