"""The named calls rule conditions use for what is an algorithm rather than a test: catalog lookups
and edit distance, principal normalisation, IAM action and condition semantics, what a
configuration declares. A call returns values (a mapping, or an object with those attributes) and
never sentences: a rule's message says what they mean. Each call declares its outputs, so that a
rule naming one that does not exist fails when it loads.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from orgtrust_lint import integrations, managed_policies
from orgtrust_lint.catalog import Catalog
from orgtrust_lint.conditions import ANY, BOOLEAN, TEXT, CallSpec, ListShape, Runtime, Scope, Shape
from orgtrust_lint.facts import ConditionClause, Facts, Location, PolicyStatement, Position, PrincipalRef
from orgtrust_lint.parse.policy import TRUSTED_ACCESS_ACTIONS, action_matches, trusted_actions_matched

CALLS: dict[str, CallSpec] = {}


def call(takes: str, **outputs: Shape) -> Callable[[Callable[[Any, Scope], Any]], Callable[[Any, Scope], Any]]:
    """Register a call under its function name: what it looks at (``takes``: "text", "value" or a
    fact kind) and the outputs a rule may name."""

    def register(function: Callable[[Any, Scope], Any]) -> Callable[[Any, Scope], Any]:
        summary = " ".join((function.__doc__ or "").split())
        CALLS[function.__name__] = CallSpec(function.__name__, function, outputs, takes, summary)
        return function

    return register


@dataclass
class Context(Runtime):
    """What the calls need: every fact of the run, the catalog as each file sees it."""

    facts: Facts
    catalog: Catalog
    # The catalog as one file sees it: with the extra principals of that file's configuration.
    catalog_for: Callable[[str], Catalog] | None = None
    # The organization policy of one file's configuration (the ``settings`` of a condition).
    settings_for: Callable[[str], Mapping[str, Any]] | None = None
    _declared: dict[str, dict[str, Location] | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        Runtime.__init__(self, self.facts.of_kind, self.settings_for)

    def catalog_at(self, location: Location) -> Catalog:
        return self.catalog if self.catalog_for is None else self.catalog_for(location.path)

    def declared_principals(self, configuration: str) -> dict[str, Location] | None:
        """What one configuration enables (None when that cannot be said): one apply's trusted
        access is compared with what the same apply relies on, never with another root's."""
        if configuration not in self._declared:
            self._declared[configuration] = integrations.complete_principals(self.facts, configuration)
        return self._declared[configuration]

    @functools.cached_property
    def set_up_principals(self) -> set[str]:
        return integrations.set_up_principals(self.facts, self.catalog)

    @functools.cached_property
    def service_access_addresses(self) -> list[str]:
        return sorted({resource.address for resource in self.facts.service_access})


def _context(scope: Scope) -> Context:
    runtime = scope.runtime
    assert isinstance(runtime, Context)  # rules are evaluated with one (engine.run)
    return runtime


def _where(scope: Scope) -> Location:
    """The location of the rule's fact: which configuration's catalog applies."""
    location: Location = scope.fact.location
    return location


# ---- the principal catalog ------------------------------------------------------------------------


def _no_period(text: str | None) -> str | None:
    return text.rstrip(".") if text else None


class CatalogEntry:
    """What the catalog records about one string, as the configuration of the rule's file sees it
    (its extra principals are known). The suggestions are computed only when a rule asks."""

    def __init__(self, principal: str, catalog: Catalog) -> None:
        self._principal = principal
        self._catalog = catalog
        entry = catalog.entry(principal) or {}
        enable = entry.get("enable", {})
        disable = entry.get("on_disable", {})
        self.known = catalog.is_known(principal)
        self.service: str | None = entry.get("service")
        self.recommended_from: str | None = enable.get("recommended_from")
        self.enable_note = _no_period(enable.get("note"))
        self.organizations_enable_breaks = bool(enable.get("organizations_enable_breaks"))
        self.disable_summary = _no_period(disable.get("summary"))
        self.disable_lasting = bool(disable.get("lasting"))
        unconfirmed = catalog.unconfirmed.get(principal)
        self.unconfirmed = _no_period(unconfirmed["note"]) if unconfirmed else None
        misspelling = catalog.misspellings.get(principal)
        self.misspelling: str | None = misspelling["note"] if misspelling else None

    @functools.cached_property
    def suggestions(self) -> list[str]:
        return self._catalog.suggestions(self._principal)

    @functools.cached_property
    def near_miss(self) -> bool:
        return self._catalog.is_near_miss(self._principal)


@call(
    "text",
    known=BOOLEAN,
    service=TEXT,
    recommended_from=TEXT,
    enable_note=TEXT,
    organizations_enable_breaks=BOOLEAN,
    disable_summary=TEXT,
    disable_lasting=BOOLEAN,
    unconfirmed=TEXT,
    misspelling=TEXT,
    suggestions=ListShape(TEXT),
    near_miss=BOOLEAN,
)
def catalog_entry(principal: Any, scope: Scope) -> CatalogEntry | None:
    """What the principal catalog records about a string: known (also through the configuration's
    extra-principals), its service, where AWS recommends enabling it from (recommended_from,
    enable_note, organizations_enable_breaks), what disabling it does (disable_summary,
    disable_lasting), unconfirmed and misspelling notes, and the known principals it most likely
    meant (suggestions; near_miss when it is close enough to one to be a typo anywhere)."""
    if not isinstance(principal, str):
        return None
    return CatalogEntry(principal, _context(scope).catalog_at(_where(scope)))


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


@call("text", principal=TEXT, problem=TEXT)
def normalised_principal(value: Any, scope: Scope) -> dict[str, str] | None:
    """For a malformed principal (case, whitespace, a URL scheme, an ARN, a trailing dot, a missing
    domain): its normal form (principal) and what was wrong (problem). Fails on a well-formed one."""
    if not isinstance(value, str):
        return None
    result = normalise(value)
    return None if result is None else {"principal": result[0], "problem": result[1]}


@call("text")
def service_set_up(principal: Any, scope: Scope) -> dict[str, Any] | None:
    """Holds when the linted code sets up the principal's service besides the Organizations-side
    enable: a resource the catalog relates to it (an organization configuration, a sharing resource,
    the service's delegated administrator) or a delegated administrator registration."""
    return {} if principal in _context(scope).set_up_principals else None


# ---- what a configuration declares ----------------------------------------------------------------


@call("text", principals=ListShape(TEXT), service_access=ListShape(TEXT))
def declared_principals(configuration: Any, scope: Scope) -> dict[str, Any] | None:
    """The principals a configuration enables (principals), when that set is fully known; fails when
    it is not (an unresolved list, a list Terraform ignores changes to) or when the configuration
    declares no trusted access at all (the organization is managed elsewhere). service_access: the
    addresses of every standalone service access resource of the run, sorted."""
    context = _context(scope)
    declared = context.declared_principals(str(configuration))
    if declared is None:
        return None
    return {"principals": list(declared), "service_access": context.service_access_addresses}


@call("principal", account=TEXT)
def declared_account(ref: Any, scope: Scope) -> dict[str, str] | None:
    """For a delegated administrator declaration: the account it registers, when written as a
    literal account id (Terraform's account_id, a CloudFormation AccountId); fails otherwise."""
    if not isinstance(ref, PrincipalRef) or ref.position is not Position.DELEGATED_ADMINISTRATOR:
        return None
    account = integrations.declared_account(_context(scope).facts, ref)
    return None if account is None else {"account": account}


# ---- IAM statements ---------------------------------------------------------------------------------

# Actions whose requests carry organizations:ServicePrincipal, per the Service Authorization
# Reference for AWS Organizations (cited in rules/OT204.yaml). Every other action never does.
ACTIONS_WITH_SERVICE_PRINCIPAL_KEY = frozenset(
    a.lower() for a in (*TRUSTED_ACCESS_ACTIONS, "organizations:ListDelegatedAdministrators")
)


def _trusted_actions(statement: PolicyStatement) -> list[str]:
    if statement.not_actions is not None:
        if not statement.actions_known:
            return []  # an unknown exclusion might exclude them all: no guess
        return list(trusted_actions_matched(tuple(p for p, _ in statement.not_actions), negated=True))
    return list(trusted_actions_matched(tuple(p for p, _ in statement.actions), negated=False))


@call("statement", actions=ListShape(TEXT))
def trusted_access_actions(statement: Any, scope: Scope) -> dict[str, list[str]] | None:
    """The trusted-access actions (Enable/DisableAWSServiceAccess, (De)RegisterDelegatedAdministrator)
    a statement's Action or NotAction covers, directly or by wildcard, as IAM matches them; their
    names without the organizations: prefix (actions). Fails when it covers none."""
    if not isinstance(statement, PolicyStatement):
        return None
    actions = _trusted_actions(statement)
    return {"actions": [a.split(":", 1)[1] for a in actions]} if actions else None


def _wildcard_only(value: str) -> bool:
    """A pattern that matches every service principal: '*', '*.amazonaws.com', '*.com', ..."""
    if "*" not in value:
        return False
    literal = value.replace("*", "").replace("?", "")
    return literal == "" or ".amazonaws.com".endswith(literal) or literal in (".", ".com", "com")


@call("value", weakness=TEXT, operator=TEXT, plain_operator=TEXT, wildcard=TEXT)
def service_principal_condition_weakness(clause: Any, scope: Scope) -> dict[str, str] | None:
    """Why a condition on organizations:ServicePrincipal does not restrict, if it does not:
    weakness set_operator (ForAllValues/ForAnyValue on this single-valued key; plain_operator is the
    operator without it), negated_operator (a Not operator, which in an Allow grants every other
    principal) or wildcard_value (a value such as '*' that matches every principal: wildcard)."""
    if not isinstance(clause, ConditionClause):
        return None
    operator = clause.operator.lower()
    qualifier, _, base = operator.rpartition(":")
    found = {"operator": clause.operator}
    if qualifier in ("forallvalues", "foranyvalue"):
        return {**found, "weakness": "set_operator", "plain_operator": clause.operator.split(":", 1)[1]}
    if "not" in base.removesuffix("ifexists").removeprefix("string"):
        return {**found, "weakness": "negated_operator"}
    if base.startswith("stringlike"):
        wildcard = next((v for v in clause.values if _wildcard_only(v)), None)
        if wildcard is not None:
            return {**found, "weakness": "wildcard_value", "wildcard": wildcard}
    return None


@call("statement", actions=ListShape(TEXT), location=ANY)
def actions_without_service_principal_key(statement: Any, scope: Scope) -> dict[str, Any] | None:
    """The statement's Action entries that match none of the actions whose requests carry
    organizations:ServicePrincipal (actions, as written) and where the first is (location). Fails
    when every entry matches one."""
    if not isinstance(statement, PolicyStatement):
        return None
    unsupported = [
        (pattern, location)
        for pattern, location in statement.actions
        if not any(action_matches(pattern, a) for a in ACTIONS_WITH_SERVICE_PRINCIPAL_KEY)
    ]
    if not unsupported:
        return None
    return {"actions": [p for p, _ in unsupported], "location": unsupported[0][1]}


@call("text", name=TEXT, unconditioned=ListShape(TEXT), attachable=BOOLEAN, conditioned_alternative=TEXT)
def managed_policy(arn: Any, scope: Scope) -> dict[str, Any] | None:
    """What data/managed_policies.yaml records about an AWS managed policy: its name, the
    trusted-access actions it grants with no organizations:ServicePrincipal condition
    (unconditioned), whether it can be attached, and a policy that grants them with the condition
    (conditioned_alternative). Fails for a policy the table does not hold."""
    row = managed_policies.policies().get(str(arn))
    if row is None:
        return None
    return {
        "name": row["name"],
        "unconditioned": list(row["unconditioned"]),
        "attachable": bool(row["attachable"]),
        "conditioned_alternative": row.get("conditioned_alternative"),
    }
