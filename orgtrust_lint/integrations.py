"""Resources -> integrations that rely on trusted access, as the catalog documents them.

Format-agnostic: parsers report resources with their scalar attributes and nested blocks;
the catalog says which resource types (under which conditions) rely on which principal.
"""

from __future__ import annotations

import re
from typing import Any

from orgtrust_lint.catalog import Catalog, IntegrationSpec
from orgtrust_lint.facts import Facts, Integration, Location, Position, Resource


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
    if not any(o.declares_principals for o in facts.organizations):
        return None
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


def _as_bool(value: str | bool) -> bool | None:
    if isinstance(value, bool):
        return value
    return {"true": True, "false": False}.get(value.strip().lower())


def _equal(actual: str | bool, expected: Any) -> bool:
    if isinstance(expected, bool):
        return _as_bool(actual) is expected
    return isinstance(actual, str) and actual.strip().lower() == str(expected).lower()


def _texts(resource: Resource, name: str) -> list[str]:
    """Every text an attribute holds: its value, its list's strings, its deploy-time expressions."""
    value = resource.attributes.get(name)
    texts = [value] if isinstance(value, str) else []
    return [*texts, *resource.lists.get(name, ()), *resource.expressions.get(name, ())]


def _condition_holds(resource: Resource, when: dict[str, Any]) -> tuple[bool, str]:
    """Whether a catalog ``when`` holds for a resource, and the reason in words for messages.

    Each form is one leaf test on one attribute (block, equals, in, exists, contains, matches),
    the shape a general condition language would combine with all/any/not.
    """
    if not when:
        return True, f"every {resource.type} does"
    if "block" in when:
        name = when["block"]
        present = name in resource.blocks or resource.attributes.get(name) is True
        return present, f"it has an {name} block"
    name = when["attribute"]
    if "exists" in when:
        present = (
            name in resource.attributes
            or name in resource.lists
            or name in resource.expressions
            or name in resource.blocks
        )
        return present is bool(when["exists"]), f"{name} is {'set' if present else 'not set'}"
    if "contains" in when:
        wanted = str(when["contains"]).lower()
        found = any(item.strip().lower() == wanted for item in resource.lists.get(name, ()))
        return found, f"{name} includes {when['contains']}"
    if "matches" in when:
        pattern = re.compile(when["matches"], re.IGNORECASE)
        matched = next((text for text in _texts(resource, name) if pattern.search(text)), None)
        return matched is not None, f"{name} = {matched}"
    if name not in resource.attributes:
        return False, ""
    actual = resource.attributes[name]
    if "equals" in when:
        return _equal(actual, when["equals"]), f"{name} = {actual}"
    return any(_equal(actual, option) for option in when["in"]), f"{name} = {actual}"


def describe_when(when: dict[str, Any] | None) -> str:
    """A catalog ``when`` in words, for ``orgtrust-lint services``."""
    if not when:
        return ""
    if "block" in when:
        return f"it has a {when['block']} block"
    name = when["attribute"]
    if "exists" in when:
        return f"{name} is {'set' if when['exists'] else 'not set'}"
    if "contains" in when:
        return f"{name} includes {when['contains']}"
    if "matches" in when:
        return f"{name} matches /{when['matches']}/"
    if "equals" in when:
        return f"{name} = {when['equals']}"
    return f"{name} is one of {', '.join(str(v) for v in when['in'])}"


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
            holds, reason = _condition_holds(resource, spec.when)
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
            if spec.principal not in found and _condition_holds(resource, spec.when)[0]:
                found.add(spec.principal)
    found.update(ref.value for ref in facts.principals if ref.position is Position.DELEGATED_ADMINISTRATOR)
    return found
