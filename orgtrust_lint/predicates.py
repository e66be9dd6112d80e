"""Named predicates that rule files use where a YAML condition cannot say it.

Each predicate takes one fact and the evaluation context and returns None when the fact does
not match, or a dict of extra message fields (possibly empty) when it does.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from orgtrust_lint import managed_policies
from orgtrust_lint.catalog import AWS_DOMAINS, Catalog
from orgtrust_lint.facts import (
    ConditionClause,
    DriftItem,
    Facts,
    Integration,
    Location,
    ManagedPolicyAttachment,
    Organization,
    PolicyStatement,
    Position,
    PrincipalRef,
    PrincipalRemoval,
    ServiceAccessResource,
)
from orgtrust_lint.integrations import complete_principals, set_up_principals
from orgtrust_lint.parse.policy import (
    SERVICE_PRINCIPAL_KEY,
    TRUSTED_ACCESS_ACTIONS,
    action_matches,
    trusted_actions_matched,
)

Extras = dict[str, Any]
Predicate = Callable[[Any, "Context"], Extras | None]
PREDICATES: dict[str, Predicate] = {}


# The fields each predicate's result adds for the rule's message (besides "_location" and
# "suggestion", which are not message text): the engine checks every message placeholder
# against them when it loads the rules, so a misspelled one is a load error, not an empty string.
PROVIDES: dict[str, frozenset[str]] = {}


def predicate(*provides: str) -> Callable[[Predicate], Predicate]:
    """Register a predicate under its function name, with the message fields it provides."""

    def register(function: Predicate) -> Predicate:
        PREDICATES[function.__name__] = function
        PROVIDES[function.__name__] = frozenset(provides)
        return function

    return register


@dataclass
class Context:
    facts: Facts
    catalog: Catalog
    # The catalog as one file sees it: with the extra principals of that file's configuration.
    catalog_for: Callable[[str], Catalog] | None = None
    _declared: dict[str, dict[str, Location] | None] = field(default_factory=dict)

    def catalog_at(self, location: Location) -> Catalog:
        return self.catalog if self.catalog_for is None else self.catalog_for(location.path)

    @functools.cached_property
    def first_occurrence(self) -> dict[tuple[str, str], PrincipalRef]:
        first: dict[tuple[str, str], PrincipalRef] = {}
        for ref in sorted(self.facts.principals, key=lambda r: r.location):
            first.setdefault((ref.group, ref.value), ref)
        return first

    def declared_principals(self, configuration: str) -> dict[str, Location] | None:
        """What one configuration enables (None when that cannot be said): one apply's trusted
        access is compared with what the same apply relies on, never with another root's."""
        if configuration not in self._declared:
            self._declared[configuration] = complete_principals(self.facts, configuration)
        return self._declared[configuration]

    @functools.cached_property
    def set_up_principals(self) -> set[str]:
        return set_up_principals(self.facts, self.catalog)


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


def _plainly_a_principal(value: str, candidate: str, catalog: Catalog) -> bool:
    """A module argument's value is a known principal written the wrong way (case, whitespace, a
    scheme, a trailing dot). An ARN or a bare name may be what the unread module expects: it may
    hold IAM principals, or append the domain itself."""
    bare = "." not in value.strip().rstrip(".")
    return catalog.is_known(candidate) and not value.strip().lower().startswith("arn:") and not bare


@predicate("problem", "suggestion", "did_you_mean")
def malformed_principal(ref: PrincipalRef, ctx: Context) -> Extras | None:
    result = normalise(ref.value)
    if result is None:
        return None
    candidate, problem = result
    catalog = ctx.catalog_at(ref.location)
    if ref.position is Position.MODULE_ARGUMENT and not _plainly_a_principal(ref.value, candidate, catalog):
        return None
    if catalog.is_known(candidate):
        return {"problem": problem, "suggestion": candidate, "did_you_mean": f"; use '{candidate}'"}
    suggestions = catalog.suggestions(candidate)
    return {
        "problem": problem,
        "suggestion": suggestions[0] if len(suggestions) == 1 else None,
        "did_you_mean": _suggestion_text(suggestions),
    }


@predicate("did_you_mean", "suggestion", "note")
def unknown_principal(ref: PrincipalRef, ctx: Context) -> Extras | None:
    catalog = ctx.catalog_at(ref.location)
    if catalog.is_known(ref.value) or normalise(ref.value) is not None:
        return None
    unconfirmed = catalog.unconfirmed.get(ref.value)
    if not ref.position.is_trusted_access and (unconfirmed or not catalog.is_near_miss(ref.value)):
        return None  # a service-linked role may name any service, the recorded SLR-only names included
    suggestions = catalog.suggestions(ref.value)
    note = ""
    if unconfirmed:
        # Recorded but not confirmed: say what is known, and never rewrite it (--fix) on a guess.
        return {
            "did_you_mean": _suggestion_text(suggestions),
            "suggestion": None,
            "note": f" (recorded as unconfirmed: {unconfirmed['note'].rstrip('.')})",
        }
    if ref.value in catalog.misspellings:
        note = f" ({catalog.misspellings[ref.value]['note']})"
    elif not suggestions and ref.value.rpartition(".")[2] and not ref.value.endswith(AWS_DOMAINS):
        note = " (AWS service principals end in .amazonaws.com)"
    return {
        "did_you_mean": _suggestion_text(suggestions),
        "suggestion": suggestions[0] if len(suggestions) == 1 else None,
        "note": note + _reached(ref),
    }


def _reached(ref: PrincipalRef) -> str:
    """How a literal written in a module call reached the module that uses it: ' (via module.org,
    modules/org/main.tf:8)', the place in the module where it is used."""
    if not ref.origin.startswith("module."):
        return ""
    return f" (via {ref.origin}, {ref.via[-1]})" if ref.via else f" (via {ref.origin})"


@predicate()
def unconfirmed_principal(ref: PrincipalRef, ctx: Context) -> Extras | None:
    """A string the catalog records as unconfirmed: what is known about it is a warning, not an error."""
    return {} if ref.value in ctx.catalog_at(ref.location).unconfirmed else None


@predicate("first")
def duplicate_principal(ref: PrincipalRef, ctx: Context) -> Extras | None:
    if ref.deduplicated:
        return None
    first = ctx.first_occurrence[(ref.group, ref.value)]
    if first is ref or first.location == ref.location:
        return None
    return {"first": str(first.location)}


def _entry(ref: PrincipalRef, ctx: Context) -> dict[str, Any] | None:
    return ctx.catalog.entry(ref.value)


@predicate("service", "note", "keep")
def enable_via_trusted_service(ref: PrincipalRef, ctx: Context) -> Extras | None:
    """A principal AWS recommends enabling from its service, enabled here through Organizations
    only: nothing in the linted code sets the service up (its delegated administrator,
    organization configuration or sharing resource, as the catalog relates them to the principal)
    and nothing relies on it. Where something does, the service's own setup is in the code, and
    advice about how to enable it would only contradict OT301, which asks for the principal to
    stay enabled."""
    entry = _entry(ref, ctx)
    if entry is None or entry["enable"]["recommended_from"] != "trusted-service":
        return None
    if ref.value in ctx.set_up_principals:
        return None
    keep = (
        "keep it in this authoritative list, or the next apply disables it again"
        if ref.position is Position.ORGANIZATION_LIST
        else "keep this resource, whose removal disables it"
    )
    return {"service": entry["service"], "note": entry["enable"]["note"].rstrip("."), "keep": keep}


@predicate()
def organizations_enable_breaks(ref: PrincipalRef, ctx: Context) -> Extras | None:
    entry = _entry(ref, ctx)
    return {} if entry and entry["enable"].get("organizations_enable_breaks") else None


@predicate()
def principals_without_all_features(org: Organization, ctx: Context) -> Extras | None:
    if not org.declares_principals or org.feature_set.upper() in ("ALL", "?"):
        return None
    if org.principal_count == 0 and org.principals_resolved:
        return None
    return {}


@predicate("organization", "organization_location")
def mixed_with_principal_list(resource: ServiceAccessResource, ctx: Context) -> Extras | None:
    if not resource.certain:
        return None
    for org in ctx.facts.organizations:
        if org.declares_principals and org.authoritative and org.certain and org.scope == resource.scope:
            return {"organization": org.address, "organization_location": str(_list_location(org))}
    return None


def _list_location(org: Organization) -> Location:
    """Where the authoritative list is: the attribute, or the resource that leaves it out (an empty list)."""
    return org.principals_location or org.location


def _list_description(org: Organization) -> str:
    if not org.principals_written:
        return f"{org.address} ({org.location}), which leaves aws_service_access_principals out (an empty list),"
    return f"the aws_service_access_principals of {org.address} ({org.principals_location})"


@predicate("declared_in", "consequence")
def principal_not_enabled(integration: Integration, ctx: Context) -> Extras | None:
    declared = ctx.declared_principals(integration.configuration)
    if declared is None or integration.principal in declared:
        return None
    if not ctx.catalog_at(integration.location).is_known(integration.principal):
        return None  # not a principal at all: OT101 or OT103 reports the literal, once
    lists = [
        o
        for o in ctx.facts.organizations
        if o.declares_principals and o.certain and o.scope == integration.configuration
    ]
    if lists:
        declared_in = _list_description(lists[0])
    else:
        names = sorted({r.address for r in ctx.facts.service_access})
        shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
        declared_in = f"the trusted access declared in this code ({shown})"
    consequence = ""
    if lists and lists[0].authoritative and integration.self_enabling:
        consequence = (
            "; the service enables trusted access itself when this resource is created, and the next "
            "apply of the authoritative list disables it again"
        )
    entry = ctx.catalog.entry(integration.principal)
    if entry and entry["on_disable"].get("summary"):
        consequence += f". Without it: {entry['on_disable']['summary'].rstrip('.')}"
    return {"declared_in": declared_in, "consequence": consequence}


# ---- IAM statements ---------------------------------------------------------------------

# Actions whose requests carry organizations:ServicePrincipal, per the Service Authorization
# Reference for AWS Organizations (cited in rules/OT204.yaml). Every other action never does.
ACTIONS_WITH_SERVICE_PRINCIPAL_KEY = frozenset(
    a.lower() for a in (*TRUSTED_ACCESS_ACTIONS, "organizations:ListDelegatedAdministrators")
)


def granted_trusted_access_actions(statement: PolicyStatement) -> list[str]:
    """The trusted-access actions an Allow statement grants (directly, by wildcard or NotAction)."""
    if statement.effect.lower() != "allow" or not statement.grants:
        return []
    if statement.not_actions is not None:
        if not statement.actions_known:
            return []  # an unknown exclusion might exclude them all: no guess
        return list(trusted_actions_matched(tuple(p for p, _ in statement.not_actions), negated=True))
    return list(trusted_actions_matched(tuple(p for p, _ in statement.actions), negated=False))


def _service_principal_clauses(statement: PolicyStatement) -> list[ConditionClause]:
    return [c for c in statement.conditions if c.key.lower() == SERVICE_PRINCIPAL_KEY]


def _short(actions: list[str]) -> str:
    return ", ".join(a.split(":", 1)[1] for a in actions)


@predicate("actions")
def grants_trusted_access_without_condition(statement: PolicyStatement, ctx: Context) -> Extras | None:
    actions = granted_trusted_access_actions(statement)
    if not actions or _service_principal_clauses(statement):
        return None
    return {"actions": _short(actions)}


def _wildcard_only(value: str) -> bool:
    """A pattern that matches every service principal: '*', '*.amazonaws.com', '*.com', ..."""
    if "*" not in value:
        return False
    literal = value.replace("*", "").replace("?", "")
    return literal == "" or ".amazonaws.com".endswith(literal) or literal in (".", ".com", "com")


def _why_ineffective(clause: ConditionClause) -> str | None:
    operator = clause.operator.lower()
    qualifier, _, base = operator.rpartition(":")
    if qualifier in ("forallvalues", "foranyvalue"):
        return (
            f"'{clause.operator}' is a set operator on the single-valued key organizations:ServicePrincipal; "
            f"use '{clause.operator.split(':', 1)[1]}'"
        )
    if "not" in base.removesuffix("ifexists").removeprefix("string"):
        return f"'{clause.operator}' in an Allow grants every service principal except the ones listed"
    if base.startswith("stringlike") and any(_wildcard_only(v) for v in clause.values):
        wildcard = next(v for v in clause.values if _wildcard_only(v))
        return f"the value '{wildcard}' matches every service principal"
    return None


@predicate("actions", "problem")
def ineffective_service_principal_condition(statement: PolicyStatement, ctx: Context) -> Extras | None:
    actions = granted_trusted_access_actions(statement)
    if not actions:
        return None
    for clause in _service_principal_clauses(statement):
        problem = _why_ineffective(clause)
        if problem:
            return {"actions": _short(actions), "problem": problem, "_location": clause.location}
    return None


@predicate("unsupported", "carry", "operator")
def service_principal_condition_on_unsupported_actions(statement: PolicyStatement, ctx: Context) -> Extras | None:
    if statement.effect.lower() != "allow" or not statement.grants or statement.not_actions is not None:
        return None
    clauses = [c for c in _service_principal_clauses(statement) if not c.operator.lower().endswith("ifexists")]
    if not clauses:
        return None
    unsupported = [
        (pattern, location)
        for pattern, location in statement.actions
        if not any(action_matches(pattern, a) for a in ACTIONS_WITH_SERVICE_PRINCIPAL_KEY)
    ]
    if not unsupported:
        return None
    return {
        "unsupported": ", ".join(p for p, _ in unsupported),
        "carry": "carries" if len(unsupported) == 1 else "carry",
        "operator": clauses[0].operator,
        "_location": unsupported[0][1],
    }


@predicate("policy", "actions", "instead")
def managed_policy_grants_trusted_access(attachment: ManagedPolicyAttachment, ctx: Context) -> Extras | None:
    """An AWS managed policy that grants trusted-access actions with no organizations:ServicePrincipal
    condition (data/managed_policies.yaml), attached where it can be: what OT201 is for a statement."""
    row = managed_policies.policies().get(attachment.policy_arn)
    if row is None or not row["unconditioned"] or not row["attachable"]:
        return None
    alternative = row.get("conditioned_alternative")
    instead = (
        f"; {alternative} grants them only for the service's own principals"
        if alternative
        else "; attach a policy whose statements name the services it is for instead"
    )
    return {"policy": row["name"], "actions": ", ".join(row["unconditioned"]), "instead": instead}


# ---- changes (git base or plan) -----------------------------------------------------------


@predicate("what")
def removal_breaks_integrations(removal: PrincipalRemoval, ctx: Context) -> Extras | None:
    if not removal.deleted_integrations and not removal.kept_integrations:
        return None
    parts = []
    if removal.deleted_integrations:
        parts.append(f"the same change deletes {', '.join(removal.deleted_integrations)}, which relies on it")
    if removal.kept_integrations:
        parts.append(f"{', '.join(removal.kept_integrations)} still relies on it")
    return {"what": " and ".join(parts)}


@predicate("service", "consequence")
def lasting_disable_consequence(removal: PrincipalRemoval, ctx: Context) -> Extras | None:
    entry = ctx.catalog.entry(removal.principal)
    if not entry or not entry["on_disable"].get("lasting") or not entry["on_disable"].get("summary"):
        return None
    return {"service": entry["service"], "consequence": entry["on_disable"]["summary"].rstrip(".")}


# ---- live drift ----------------------------------------------------------------------------


@predicate("effect", "suggestion")
def out_of_band_consequence(item: DriftItem, ctx: Context) -> Extras | None:
    entry = ctx.catalog.entry(item.principal)
    consequence = ""
    if entry and entry["on_disable"].get("summary"):
        consequence = f" Disabling it: {entry['on_disable']['summary'].rstrip('.')}."
    if item.authoritative:
        listed = ", ".join(f'"{p}"' for p in item.keep_list)
        return {
            "effect": (
                f"; {item.authoritative}'s aws_service_access_principals is authoritative, so the next apply "
                f"disables it.{consequence} To keep it, declare it: [{listed}]"
            ),
            "suggestion": f"[{listed}]",
        }
    return {"effect": f"; declare it in code if it should stay.{consequence}"}
