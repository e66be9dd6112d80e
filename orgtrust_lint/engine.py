"""Load the declarative rules (rules/*.yaml, schema-checked) and evaluate them over facts."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from orgtrust_lint.catalog import DATA_DIRECTORY, Catalog, InvalidYaml, load_yaml
from orgtrust_lint.facts import INTERNAL_ERROR_RULE, Facts, Finding, InternalError, Location, PrincipalRef, Severity
from orgtrust_lint.predicates import PREDICATES, Context
from orgtrust_lint.schema_check import DataFileError, validate_cached


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

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Rule:
        return cls(
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


def _rules_directory() -> Path:
    # Paths next to this file rather than importlib.resources, whose zip support costs a few
    # milliseconds of a pre-commit run; the wheel is always installed unpacked.
    installed = Path(__file__).parent / "rules"
    if installed.is_dir():
        return installed
    # Imported straight from a source checkout: the wheel's orgtrust_lint/rules is the
    # repository's top-level rules/ directory.
    return Path(__file__).resolve().parent.parent / "rules"


def _rule_files() -> list[tuple[str, bytes]]:
    return sorted(
        (entry.name, entry.read_bytes()) for entry in _rules_directory().iterdir() if entry.name.endswith(".yaml")
    )


def rule_schema() -> dict[str, Any]:
    text = (DATA_DIRECTORY / "rule.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


def load_rules() -> list[Rule]:
    """All shipped rules, validated against the rule schema; raise DataFileError if one is bad."""
    schema = rule_schema()
    rules = []
    for filename, raw in _rule_files():
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
        rules.append(Rule.from_data(data))
    return rules


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


class _Fields(dict):
    def __missing__(self, key: str) -> str:
        return ""


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
    fields = _Fields(_message_fields(fact))
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


def rule_selected(rule_id: str, select: tuple[str, ...], ignore: tuple[str, ...]) -> bool:
    """Codes select by prefix, like ruff: OT1 selects OT101..OT106; ignore wins over select."""
    if select and not any(rule_id.startswith(code) for code in select):
        return False
    return not any(rule_id.startswith(code) for code in ignore)


def evaluate(rules: list[Rule], facts: Facts, catalog: Catalog) -> list[Finding]:
    """Every rule's findings; selection is applied afterwards, per file (see lint.check_facts)."""
    ctx = Context(facts, catalog)
    findings: list[Finding] = []
    internal = [r for r in rules if r.id == INTERNAL_ERROR_RULE]
    for rule in rules:
        if rule.id != INTERNAL_ERROR_RULE:
            findings.extend(evaluate_rule(rule, facts, ctx))
    for rule in internal:  # last: it reports the failures of the rules above too
        findings.extend(evaluate_rule(rule, facts, ctx))
    return sorted(findings, key=lambda f: (f.location, f.rule))
