"""Load the declarative rules (rules/*.yaml, schema-checked) and evaluate them over facts.

``run`` is the one place where a run's rules are applied, in this order:
evaluate the rules about the code -> apply inline ignores -> the rules about the ignores
(OT004-OT007) -> internal errors (OT003), last so that a failure in any stage before is reported.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import string
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from orgtrust_lint.catalog import DATA_DIRECTORY, Catalog, InvalidYaml, load_yaml
from orgtrust_lint.facts import (
    INTERNAL_ERROR_RULE,
    DriftItem,
    Facts,
    Finding,
    Integration,
    InternalError,
    Location,
    ManagedPolicyAttachment,
    Organization,
    ParseError,
    PolicyStatement,
    PrincipalRef,
    PrincipalRemoval,
    Resource,
    ServiceAccessResource,
    Severity,
    Suppression,
    SuppressionProblem,
    UnresolvedValue,
)
from orgtrust_lint.predicates import PREDICATES, PROVIDES, Context
from orgtrust_lint.schema_check import DataFileError, validate_cached
from orgtrust_lint.suppress import Governance, apply_suppressions

# The fact class behind each ``match.fact`` of the rule schema: a rule's message may name its fields.
FACT_TYPES: dict[str, type] = {
    "principal": PrincipalRef,
    "unresolved": UnresolvedValue,
    "organization": Organization,
    "service_access": ServiceAccessResource,
    "resource": Resource,
    "integration": Integration,
    "statement": PolicyStatement,
    "managed_policy_attachment": ManagedPolicyAttachment,
    "removal": PrincipalRemoval,
    "drift": DriftItem,
    "parse_error": ParseError,
    "internal_error": InternalError,
    "suppression_problem": SuppressionProblem,
}
# Rules about the inline ignores themselves: they run once the ignores have been applied.
GOVERNANCE_FACT = "suppression_problem"


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    severity: Severity
    summary: str
    what: str
    why: str
    bad_example: str
    good_example: str
    references: tuple[tuple[str, str], ...]
    tags: tuple[str, ...]
    match: dict[str, Any]
    message: str
    default_enabled: bool = True  # False: runs only when selected by its full code

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Rule:
        return cls(
            default_enabled=data.get("default_enabled", True),
            id=data["id"],
            name=data["name"],
            severity=Severity(data["severity"]),
            summary=data["summary"],
            what=data["description"]["what"],
            why=data["description"]["why"],
            bad_example=data["examples"]["bad"],
            good_example=data["examples"]["good"],
            references=tuple((r["title"], r["url"]) for r in data["references"]),
            tags=tuple(data["tags"]),
            match=data["match"],
            message=data["message"],
        )

    @property
    def fact(self) -> str:
        """The kind of fact the rule looks at (``match.fact``)."""
        fact: str = self.match["fact"]  # the rule schema makes it a string
        return fact

    @property
    def severities(self) -> tuple[Severity, ...]:
        """Every severity a finding of this rule can have: the default, then its overrides'."""
        overridden = (Severity(o["severity"]) for o in self.match.get("severity_overrides", []))
        return tuple(dict.fromkeys((self.severity, *overridden)))


def _rules_directory() -> Path:
    # Paths next to this file rather than importlib.resources, whose zip support costs a few
    # milliseconds of a pre-commit run; the wheel is always installed unpacked.
    installed = Path(__file__).parent / "rules"
    if installed.is_dir():
        return installed
    # Imported straight from a source checkout: the wheel's orgtrust_lint/rules is the
    # repository's top-level rules/ directory.
    return Path(__file__).resolve().parent.parent / "rules"


def _rule_files(directory: Path | None = None) -> list[tuple[str, bytes]]:
    return sorted(
        (entry.name, entry.read_bytes())
        for entry in (directory or _rules_directory()).iterdir()
        if entry.name.endswith(".yaml")
    )


def shipped_rule_files() -> list[tuple[str, bytes]]:
    """The rule files this installation ships, wherever it is imported from."""
    return _rule_files()


def rule_schema() -> dict[str, Any]:
    text = (DATA_DIRECTORY / "rule.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)  # a JSON Schema is an object
    return schema


def load_rules(directory: Path | None = None) -> list[Rule]:
    """All shipped rules (or those in ``directory``), validated against the rule schema and their
    messages against the fields they can name; raise DataFileError if one is bad."""
    if directory is None:
        return list(_shipped_rules())
    return _read_rules(directory)


def rule_ids() -> frozenset[str]:
    """The ids of the shipped rules: what configuration files and flags may name."""
    return frozenset(rule.id for rule in _shipped_rules())


@functools.cache
def _shipped_rules() -> tuple[Rule, ...]:
    # Once per process: the rule files ship with the package and do not change during a run, and
    # reading and validating them costs more than linting a small repository.
    return tuple(_read_rules(None))


def _read_rules(directory: Path | None) -> list[Rule]:
    schema = rule_schema()
    rules = []
    for filename, raw in _rule_files(directory):
        try:
            data = load_yaml(raw)
        except InvalidYaml as exc:
            raise DataFileError(f"rule file {filename}: {exc}") from None
        validate_cached(raw, data, schema, f"rule file {filename}")
        if f"{data['id']}.yaml" != filename:
            raise DataFileError(f"rule file {filename} holds rule {data['id']}")
        for condition in _conditions(data["match"]):
            if "predicate" in condition and condition["predicate"] not in PREDICATES:
                raise DataFileError(f"rule file {filename} uses unknown predicate {condition['predicate']!r}")
        _check_placeholders(filename, data)
        rules.append(Rule.from_data(data))
    return rules


def _check_placeholders(filename: str, data: dict[str, Any]) -> None:
    """Every ``{placeholder}`` of the message is a field of the rule's fact or of what its ``where``
    predicates provide: a misspelled one would otherwise print as an empty string or fail on every
    finding."""
    match = data["match"]
    fields = {f.name for f in dataclasses.fields(FACT_TYPES[match["fact"]])}
    for condition in match.get("where", []):
        if "predicate" in condition:
            fields |= PROVIDES[condition["predicate"]]
    try:
        placeholders = [name for _, name, _, _ in string.Formatter().parse(data["message"]) if name is not None]
    except ValueError as exc:  # an unmatched brace
        raise DataFileError(f"rule file {filename}: message: {exc}") from None
    for name in placeholders:
        if name not in fields:
            known = ", ".join(sorted(fields))
            raise DataFileError(
                f"rule file {filename}: message placeholder {{{name}}} is not a field of this rule (known: {known})"
            )


def _conditions(match: dict[str, Any]) -> list[dict[str, Any]]:
    return [*match.get("where", []), *(o["when"] for o in match.get("severity_overrides", []))]


def _plain(value: Any) -> Any:
    """Enum members (Position, Severity) compare and print as their string values."""
    return value.value if isinstance(value, Enum) else value


def _field(fact: Any, name: str) -> Any:
    return _plain(getattr(fact, name))


def _check(condition: dict[str, Any], fact: Any, ctx: Context) -> dict[str, Any] | None:
    if "predicate" in condition:
        return PREDICATES[condition["predicate"]](fact, ctx)
    value = _field(fact, condition["field"])
    if "equals" in condition:
        return {} if value == condition["equals"] else None
    if "not_equals" in condition:
        return {} if value != condition["not_equals"] else None
    if "in" in condition:
        return {} if value in condition["in"] else None
    return {} if value not in condition["not_in"] else None


def _message_fields(fact: Any) -> dict[str, Any]:
    return {f.name: _plain(getattr(fact, f.name)) for f in dataclasses.fields(fact)}


def evaluate_rule(rule: Rule, facts: Facts, ctx: Context) -> list[Finding]:
    findings = []
    for fact in facts.of_kind(rule.match["fact"]):
        try:
            finding = _finding_for(rule, fact, ctx)
        except Exception as exc:
            # One rule failing on one fact must not cost the run: the file is reported as
            # incompletely checked and every other fact and rule still runs.
            path = fact.location.path
            message = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
            facts.internal_errors.append(InternalError(path, f"checking {rule.id} on", message, fact.location))
            continue
        if finding is not None:
            findings.append(finding)
    return findings


def _finding_for(rule: Rule, fact: Any, ctx: Context) -> Finding | None:
    match = rule.match
    extras: dict[str, Any] = {}
    for condition in match.get("where", []):
        result = _check(condition, fact, ctx)
        if result is None:
            return None
        extras.update(result)
    severity = rule.severity
    for override in match.get("severity_overrides", []):
        if _check(override["when"], fact, ctx) is not None:
            severity = Severity(override["severity"])
            break
    fields = _message_fields(fact)
    fields.update(extras)
    location: Location = extras.pop("_location", None) or getattr(fact, match.get("at", "location"))
    principal = fact.value if isinstance(fact, PrincipalRef) else getattr(fact, "principal", None)
    return Finding(
        rule=rule.id,
        name=rule.name,
        severity=severity,
        location=location,
        message=rule.message.format_map(fields),
        principal=principal,
        suggestion=extras.get("suggestion"),
        also_at=fact.via if isinstance(fact, PrincipalRef) else (),
    )


def default_disabled() -> frozenset[str]:
    """The shipped rules that are off unless selected by their full code (``default_enabled: false``)."""
    return frozenset(rule.id for rule in _shipped_rules() if not rule.default_enabled)


def rule_selected(rule_id: str, select: tuple[str, ...], ignore: tuple[str, ...]) -> bool:
    """Codes select by prefix, like ruff: OT1 selects OT101..OT106; ignore wins over select.

    A rule that is off by default (a recommendation, like tflint's disabled rules) is selected only
    by its full code: ``select: [OT, OT105]`` is every rule that is on by default, and OT105 too.
    """
    if any(rule_id.startswith(code) for code in ignore):
        return False
    if rule_id in default_disabled():
        return rule_id in select
    return not select or any(rule_id.startswith(code) for code in select)


@dataclass
class EngineResult:
    """What a run reports: ``findings`` (not silenced; problems with the ignores and internal errors
    included) and the findings inline ignores silenced, each with its ignore."""

    findings: list[Finding]
    suppressed: list[tuple[Finding, Suppression]]


def _by_location(findings: list[Finding]) -> list[Finding]:
    """Sorted, each finding once: a module called by several configurations holds the same
    literal, with the same finding, for each of them."""
    return sorted(dict.fromkeys(findings), key=lambda f: (f.location, f.rule))


def run(
    rules: list[Rule],
    facts: Facts,
    catalog: Catalog,
    governance: Governance | None = None,
    in_scope: Callable[[Finding], bool] = lambda finding: True,
    catalog_for: Callable[[str], Catalog] | None = None,
) -> EngineResult:
    """Evaluate ``rules`` over ``facts``: the rules about the code, then the inline ignores, then the
    rules about the ignores (OT004-OT007), then internal errors (OT003) of every stage before.

    Every rule runs, whatever is selected: ignores are applied to all findings, so an ignore of a
    rule that is merely deselected is not mistaken for an unused one (the caller selects).
    ``in_scope`` drops the findings about files that were only read for context; ``catalog_for``
    gives the catalog as one file sees it (its configuration's extra principals).
    """
    ctx = Context(facts, catalog, catalog_for)
    internal = [r for r in rules if r.id == INTERNAL_ERROR_RULE]
    about_ignores = [r for r in rules if r.fact == GOVERNANCE_FACT and r.id != INTERNAL_ERROR_RULE]
    about_code = [r for r in rules if r.fact != GOVERNANCE_FACT and r.id != INTERNAL_ERROR_RULE]
    findings = [f for rule in about_code for f in evaluate_rule(rule, facts, ctx) if in_scope(f)]
    known_codes = frozenset(rule.id for rule in rules)
    reported, suppressed, problems = apply_suppressions(findings, facts.suppressions, governance, known_codes)
    # Problems with the ignores are findings too (OT004-OT007), never silenced by an ignore.
    facts.suppression_problems.extend(problems)
    # Like any finding, they are reported only for the files a user named (first-use M8).
    reported.extend(f for rule in about_ignores for f in evaluate_rule(rule, facts, ctx) if in_scope(f))
    # Last: a failure of ours is never silenced, and it covers the failures of every rule above.
    reported.extend(f for rule in internal for f in evaluate_rule(rule, facts, ctx) if in_scope(f))
    return EngineResult(_by_location(reported), suppressed)
