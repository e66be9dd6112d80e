"""Named predicates that rule files use where a YAML condition cannot say it.

Each predicate takes one fact and the evaluation context and returns None when the fact does
not match, or a dict of extra message fields (possibly empty) when it does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from orgtrust_lint.catalog import AWS_DOMAINS, Catalog
from orgtrust_lint.facts import (
    Facts,
    Integration,
    Location,
    Organization,
    PrincipalRef,
    ServiceAccessResource,
)

Extras = dict[str, Any]
Predicate = Callable[[Any, "Context"], Extras | None]
PREDICATES: dict[str, Predicate] = {}


def predicate(function: Predicate) -> Predicate:
    PREDICATES[function.__name__] = function
    return function


@dataclass
class Context:
    facts: Facts
    catalog: Catalog

    @cached_property
    def first_occurrence(self) -> dict[tuple[str, str], PrincipalRef]:
        first: dict[tuple[str, str], PrincipalRef] = {}
        for ref in sorted(self.facts.principals, key=lambda r: r.location):
            first.setdefault((ref.group, ref.value), ref)
        return first

    @cached_property
    def declared_principals(self) -> dict[str, Location] | None:
        """Principals the code enables, or None when that set is not fully known."""
        declarations = [o for o in self.facts.organizations if o.declares_principals]
        if not declarations and not self.facts.service_access:
            return None
        if any(not o.principals_resolved for o in declarations):
            return None
        if any(s.principal is None for s in self.facts.service_access):
            return None
        declared: dict[str, Location] = {}
        for ref in self.facts.principals:
            if ref.position.enables_trusted_access and "@" not in ref.group:
                declared.setdefault(ref.value, ref.location)
        return declared


def _suggestion_text(suggestions: list[str]) -> str:
    if not suggestions:
        return ""
    if len(suggestions) == 1:
        return f"; did you mean '{suggestions[0]}'?"
    return "; did you mean one of " + ", ".join(f"'{s}'" for s in suggestions) + "?"


_ARN_PRINCIPAL = re.compile(r"([a-z0-9.-]+\.amazonaws\.com)")


def normalise(value: str) -> tuple[str, str] | None:
    """(normalised form, what was wrong) for a malformed principal, or None if well formed."""
    problems = []
    candidate = value
    if candidate != candidate.strip():
        problems.append("leading or trailing whitespace")
        candidate = candidate.strip()
    if candidate.lower().startswith("arn:"):
        match = _ARN_PRINCIPAL.search(candidate.lower())
        problems.append("an ARN is not a service principal")
        candidate = match.group(1) if match else candidate
    if re.match(r"^[a-z]+://", candidate, re.IGNORECASE):
        problems.append("a URL scheme is not part of a service principal")
        candidate = re.sub(r"^[a-z]+://", "", candidate, flags=re.IGNORECASE).rstrip("/")
    if candidate != candidate.lower():
        problems.append("service principals are lower case")
        candidate = candidate.lower()
    if candidate.endswith("."):
        problems.append("trailing dot")
        candidate = candidate.rstrip(".")
    if candidate and "." not in candidate and re.fullmatch(r"[a-z0-9-]+", candidate):
        problems.append("missing the .amazonaws.com domain")
        candidate = f"{candidate}.amazonaws.com"
    if any(ch.isspace() for ch in candidate):
        problems.append("contains whitespace")
    return (candidate, "; ".join(problems)) if problems else None


@predicate
def malformed_principal(ref: PrincipalRef, ctx: Context) -> Extras | None:
    result = normalise(ref.value)
    if result is None:
        return None
    candidate, problem = result
    if ctx.catalog.is_known(candidate):
        return {"problem": problem, "suggestion": candidate, "did_you_mean": f"; use '{candidate}'"}
    suggestions = ctx.catalog.suggestions(candidate)
    return {
        "problem": problem,
        "suggestion": suggestions[0] if len(suggestions) == 1 else None,
        "did_you_mean": _suggestion_text(suggestions),
    }


@predicate
def unknown_principal(ref: PrincipalRef, ctx: Context) -> Extras | None:
    catalog = ctx.catalog
    if catalog.is_known(ref.value) or normalise(ref.value) is not None:
        return None
    if not ref.position.is_trusted_access and not catalog.is_near_miss(ref.value):
        return None
    suggestions = catalog.suggestions(ref.value)
    note = ""
    if ref.value in catalog.unconfirmed:
        note = f" ({catalog.unconfirmed[ref.value]['note']})"
    elif ref.value in catalog.misspellings:
        note = f" ({catalog.misspellings[ref.value]['note']})"
    elif not suggestions and ref.value.rpartition(".")[2] and not ref.value.endswith(AWS_DOMAINS):
        note = " (AWS service principals end in .amazonaws.com)"
    return {
        "did_you_mean": _suggestion_text(suggestions),
        "suggestion": suggestions[0] if len(suggestions) == 1 else None,
        "note": note,
    }


@predicate
def duplicate_principal(ref: PrincipalRef, ctx: Context) -> Extras | None:
    if ref.deduplicated:
        return None
    first = ctx.first_occurrence[(ref.group, ref.value)]
    if first is ref or first.location == ref.location:
        return None
    return {"first": str(first.location)}


def _entry(ref: PrincipalRef, ctx: Context) -> dict[str, Any] | None:
    return ctx.catalog.entry(ref.value)


@predicate
def enable_via_trusted_service(ref: PrincipalRef, ctx: Context) -> Extras | None:
    entry = _entry(ref, ctx)
    if entry is None or entry["enable"]["recommended_from"] != "trusted-service":
        return None
    return {"service": entry["service"], "note": entry["enable"]["note"]}


@predicate
def organizations_enable_breaks(ref: PrincipalRef, ctx: Context) -> Extras | None:
    entry = _entry(ref, ctx)
    return {} if entry and entry["enable"].get("organizations_enable_breaks") else None


@predicate
def principals_without_all_features(org: Organization, ctx: Context) -> Extras | None:
    if not org.declares_principals or org.feature_set.upper() in ("ALL", "?"):
        return None
    if org.principal_count == 0 and org.principals_resolved:
        return None
    return {}


@predicate
def mixed_with_principal_list(resource: ServiceAccessResource, ctx: Context) -> Extras | None:
    for org in ctx.facts.organizations:
        if org.declares_principals and org.scope == resource.scope:
            return {"organization": org.address, "organization_location": str(org.principals_location)}
    return None


@predicate
def principal_not_enabled(integration: Integration, ctx: Context) -> Extras | None:
    declared = ctx.declared_principals
    if declared is None or integration.principal in declared:
        return None
    lists = [o for o in ctx.facts.organizations if o.declares_principals]
    declared_in = (
        f"the aws_service_access_principals of {lists[0].address} ({lists[0].principals_location})"
        if lists
        else "no aws_organizations_aws_service_access resource"
    )
    consequence = ""
    if lists and integration.self_enabling:
        consequence = (
            "; the service enables trusted access itself when this resource is created, and the next "
            "apply of the authoritative list disables it again"
        )
    entry = ctx.catalog.entry(integration.principal)
    if entry and entry["on_disable"].get("summary"):
        consequence += f". Without it: {entry['on_disable']['summary'].rstrip('.')}"
    return {"declared_in": declared_in, "consequence": consequence}
