"""Load the declarative rules (rules/*.yaml, schema-checked) and evaluate them over facts.

``run`` is the one place where a run's rules are applied, in this order:
evaluate the rules about the code -> apply inline ignores -> the rules about the ignores
(OT004-OT007) -> internal errors (OT003), last so that a failure in any stage before is reported.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orgtrust_lint import conditions
from orgtrust_lint.catalog import DATA_DIRECTORY, Catalog, InvalidYaml, load_yaml
from orgtrust_lint.conditions import ConditionError, Env, Node, Part, Scope, Template
from orgtrust_lint.conditions import Path as FieldPath
from orgtrust_lint.config import rule_files_in
from orgtrust_lint.fact_kinds import FACT_KINDS, GOVERNANCE_KIND, kind_shapes
from orgtrust_lint.facts import (
    INTERNAL_ERROR_RULE,
    Facts,
    Finding,
    InternalError,
    Location,
    PrincipalRef,
    Severity,
    Suppression,
)
from orgtrust_lint.predicates import CALLS, Context
from orgtrust_lint.schema_check import DataFileError, validate_cached
from orgtrust_lint.suppress import Governance, apply_suppressions

# Rules about the inline ignores themselves: they run once the ignores have been applied.
GOVERNANCE_FACT = GOVERNANCE_KIND
# A shipped rule's id, and the id of a rule of one's own (rules-dir): a prefix that is not OT.
SHIPPED_RULE_ID = re.compile(r"OT[0-9]{3}")
USER_RULE_ID = re.compile(r"(?!OT)[A-Z]{2,}[0-9]+")
# What ``settings`` holds in a condition: the organization policy of the configuration that
# applies to the fact's file (config.Settings.policy). A setting that is not configured is absent.
SETTINGS_SHAPE = conditions.ObjectShape(
    {
        "allowed-principals": conditions.ListShape(conditions.TEXT),
        "required-principals": conditions.ListShape(conditions.TEXT),
        "forbidden-principals": conditions.ListShape(conditions.TEXT),
        "delegated-administrators": conditions.ListShape(
            conditions.ObjectShape({"principal": conditions.TEXT, "account": conditions.TEXT}, "a registration")
        ),
        "source": conditions.TEXT,
    },
    "settings",
)


@dataclass(frozen=True)
class RuleProgram:
    """A rule's match and message, compiled: what ``findings`` evaluates."""

    kind: str
    each: tuple[tuple[FieldPath | tuple[Any, ...], str], ...]  # a list field, or the values written
    where: Node | None
    overrides: tuple[tuple[Node, Severity], ...]
    at: FieldPath | None
    principal: FieldPath | None
    message: Template
    parts: dict[str, Part]
    suggestion: Part | None


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
    program: RuleProgram | None = field(default=None, compare=False, repr=False)
    # The rules-dir a rule of one's own was loaded from (absolute); None for the shipped rules.
    origin: str | None = None
    file: str = ""  # its file, as errors name it

    @classmethod
    def from_data(
        cls, data: dict[str, Any], program: RuleProgram | None = None, origin: str | None = None, file: str = ""
    ) -> Rule:
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
            program=program,
            origin=origin,
            file=file,
        )

    @property
    def fact(self) -> str:
        """The kind of fact the rule looks at (``match.fact``)."""
        fact: str = self.match["fact"]  # the rule schema makes it a string
        return fact

    @property
    def live(self) -> bool:
        """Whether only ``drift`` reports it (it looks at the live organization)."""
        return FACT_KINDS[self.fact].mode == "live"

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
    folder = directory or _rules_directory()
    return [(name, (folder / name).read_bytes()) for _, name in rule_files_in(str(folder))]


def shipped_rule_files() -> list[tuple[str, bytes]]:
    """The rule files this installation ships, wherever it is imported from."""
    return _rule_files()


def rule_schema() -> dict[str, Any]:
    text = (DATA_DIRECTORY / "rule.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)  # a JSON Schema is an object
    return schema


def load_rules(directory: Path | None = None) -> list[Rule]:
    """All shipped rules (or those in ``directory``, shipped ones too), validated against the rule
    schema and compiled; raise DataFileError if one is bad."""
    if directory is None:
        return list(_shipped_rules())
    return _read_rules(directory, None)


def rule_ids() -> frozenset[str]:
    """The ids of the shipped rules: what configuration files and flags may name."""
    return frozenset(rule.id for rule in _shipped_rules())


@functools.cache
def _shipped_rules() -> tuple[Rule, ...]:
    # Once per process: the rule files ship with the package and do not change during a run, and
    # reading and validating them costs more than linting a small repository.
    return tuple(_read_rules(None, None))


# Rules of one's own loaded in this process, by directory and content (they may be asked for
# several times a run; a test, or a long-lived process, may change them in between).
_user_rules: dict[tuple[str, tuple[tuple[str, bytes], ...]], tuple[Rule, ...]] = {}


def load_user_rules(directories: Sequence[str]) -> list[Rule]:
    """The rules of one's own in ``directories`` (the configuration's rules-dir, absolute paths),
    validated and compiled like the shipped rules; their ids must not start with OT, and no two
    rules (shipped ones included) may share an id or a name. DataFileError names the file otherwise."""
    rules: list[Rule] = []
    for directory in dict.fromkeys(os.path.realpath(d) for d in directories):
        _refuse_misnamed_rules(directory)
        files = tuple(_rule_files(Path(directory)))
        found = _user_rules.get((directory, files))
        if found is None:
            found = _user_rules[(directory, files)] = tuple(_read_rules(Path(directory), directory, files))
        rules.extend(found)
    seen: dict[str, Rule] = {}
    for rule in [*_shipped_rules(), *rules]:
        for key in (rule.id, rule.name):
            other = seen.get(key)
            if other is not None and other is not rule:
                what = "id" if key == rule.id else "name"
                owner = "a shipped rule" if other.origin is None else f"rule file {other.file}"
                raise DataFileError(f"rule file {rule.file}: '{what}': {key} is already the {what} of {owner}")
            seen[key] = rule
    return rules


_LOOKS_LIKE_A_RULE = re.compile(rb"(?m)^id:[ \t]*['\"]?([A-Za-z0-9_-]+)")
_HAS_MATCH = re.compile(rb"(?m)^match:")


def _refuse_misnamed_rules(directory: str) -> None:
    """A YAML file of a rules-dir that holds a rule but is not named after its id would be silently
    left out (other files there are fixtures): an error naming the file and the name it needs."""
    try:
        names = sorted(e.name for e in os.scandir(directory) if e.is_file() and e.name.endswith((".yaml", ".yml")))
    except OSError:
        return
    named = {name for _, name in rule_files_in(directory)}
    for name in names:
        if name in named:
            continue
        try:
            with open(os.path.join(directory, name), "rb") as stream:
                head = stream.read(65536)
        except OSError:
            continue
        found = _LOOKS_LIKE_A_RULE.search(head)
        if found and _HAS_MATCH.search(head):
            shown = os.path.relpath(os.path.join(directory, name))
            wanted = found.group(1).decode("ascii").upper()
            raise DataFileError(
                f"rule file {shown}: holds rule {wanted} but is not named after it ({wanted}.yaml), so it would"
                " not be read"
            )


def resource_types_read(rules: Sequence[Rule]) -> frozenset[str] | None:
    """The resource types the rules' conditions over the general ``resource`` fact can look at, so that
    extraction reads those resources too (it reads only what the shipped checks need); None when a
    condition may look at any type, and every resource must be read."""
    types: set[str] = set()

    def visit(node: Any) -> bool:
        if isinstance(node, list):
            return all(visit(item) for item in node)
        if not isinstance(node, dict):
            return True
        if node.get("fact") == "resource":
            named = _types_named(node.get("where"))
            if named is None:
                return False
            types.update(named)
        return all(visit(value) for key, value in node.items() if key != "fact")

    return frozenset(types) if all(visit(rule.match) for rule in rules) else None


def _types_named(where: Any) -> set[str] | None:
    """The types a ``where`` restricts a resource to (a test of ``type`` by equals or in, alone or in
    an ``all``); None when it does not restrict them."""
    leaves = where.get("all", []) if isinstance(where, dict) and "all" in where else [where]
    for leaf in leaves:
        if not isinstance(leaf, dict) or leaf.get("field") != "type" or leaf.get("ignore_case"):
            continue
        if isinstance(leaf.get("equals"), str):
            return {leaf["equals"]}
        if isinstance(leaf.get("in"), list) and all(isinstance(t, str) for t in leaf["in"]):
            return set(leaf["in"])
    return None


def rules_with(directories: Sequence[str]) -> list[Rule]:
    """The shipped rules and the rules of one's own in ``directories`` (a configuration's rules-dir)."""
    return [*_shipped_rules(), *load_user_rules(directories)]


def _read_rules(
    directory: Path | None, origin: str | None, files: Sequence[tuple[str, bytes]] | None = None
) -> list[Rule]:
    schema = rule_schema()
    rules = []
    for filename, raw in _rule_files(directory) if files is None else files:
        shown = filename
        if origin is not None:
            relative = os.path.relpath(os.path.join(origin, filename))
            shown = relative if not relative.startswith("..") else os.path.join(origin, filename)
        what = f"rule file {shown}"
        try:
            data = load_yaml(raw)
        except InvalidYaml as exc:
            raise DataFileError(f"{what}: {exc}") from None
        if not isinstance(data, dict):
            raise DataFileError(f"{what}: must be a mapping of id, name, severity, ..., match and message")
        program = _compiled(data, what)
        validate_cached(raw, data, schema, what, describe=_describe_schema_error)
        identifier = data["id"]
        if filename.rsplit(".", 1)[0] != identifier:
            raise DataFileError(f"{what} holds rule {identifier} (a rule file is named after its rule's id)")
        if origin is None and not SHIPPED_RULE_ID.fullmatch(identifier):
            raise DataFileError(f"{what}: 'id': a shipped rule's id is OT and three digits")
        if origin is not None and not USER_RULE_ID.fullmatch(identifier):
            raise DataFileError(
                f"{what}: 'id': OT is orgtrust-lint's own prefix; your rules take another (e.g. ACME101)"
            )
        rules.append(Rule.from_data(data, program, origin, shown))
    return rules


def _describe_schema_error(error: Any) -> tuple[str, str]:
    """(the key, what is expected) for a rule file that does not match the rule schema."""
    path = [str(p) for p in error.absolute_path]
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else "a key"
        return "/".join(path), f"'{missing}' is required" + (" here" if path else "")
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = error.schema.get("properties", {})
        unknown = sorted(str(key) for key in error.instance if key not in known)
        return "/".join([*path, *unknown[:1]]), f"unknown key (known: {', '.join(known)})"
    if error.validator == "enum":
        return "/".join(path), "must be one of " + ", ".join(str(v) for v in error.validator_value)
    if error.validator == "pattern" and path[-1:] == ["id"]:
        return "id", "an id is capital letters then digits, e.g. ACME101"
    return "/".join(path), error.message.splitlines()[0]


def _compiled(data: dict[str, Any], what: str) -> RuleProgram:
    """Compile a rule file's match and message; DataFileError naming the key of the first problem."""
    try:
        return compile_rule(data)
    except ConditionError as exc:
        raise DataFileError(f"{what}: '{exc.where}': {exc.problem}" if exc.where else f"{what}: {exc}") from None


def compile_rule(data: dict[str, Any]) -> RuleProgram:
    """The compiled form of a rule's match, message, message parts and suggestion; ConditionError
    names the first problem (an unknown fact kind, field, operator, call or placeholder, a regular
    expression that does not compile)."""
    match = data.get("match")
    if not isinstance(match, dict):
        raise ConditionError("match", "must be a mapping with fact and where")
    kind = match.get("fact")
    if kind not in FACT_KINDS:
        raise ConditionError("match/fact", f"unknown fact kind {kind!r} (known: {', '.join(FACT_KINDS)})")
    shapes = kind_shapes()
    env = Env(
        subject=shapes[kind],
        names={"fact": shapes[kind], "settings": SETTINGS_SHAPE},
        calls=CALLS,
        kinds=shapes,
        subject_kind=kind,
    )
    each: list[tuple[FieldPath | tuple[Any, ...], str]] = []
    for index, entry in enumerate(_list(match.get("each", []), "match/each")):
        where = f"match/each/{index}"
        if (
            not isinstance(entry, dict)
            or len(set(entry) & {"field", "values"}) != 1
            or set(entry) - {"field", "values", "as"}
        ):
            raise ConditionError(where, "takes {field: PATH, as: NAME} or {values: [...], as: NAME}")
        if "values" in entry:
            values = entry["values"]
            if not isinstance(values, list) or not values or not all(conditions.is_scalar(v) for v in values):
                raise ConditionError(f"{where}/values", "must be a list of values (text, numbers, true or false)")
            item: conditions.Shape = conditions.TEXT if all(isinstance(v, str) for v in values) else conditions.ANY
            source: FieldPath | tuple[Any, ...] = tuple(values)
        else:
            source, shape = conditions.compile_path(entry["field"], env, f"{where}/field")
            item = shape.item if isinstance(shape, conditions.ListShape) else shape
        conditions.bind_name(env, entry.get("as"), item, f"{where}/as")
        each.append((source, str(entry["as"])))
    where_node = conditions.compile_condition(match["where"], env, "match/where") if "where" in match else None
    overrides = []
    for index, override in enumerate(_list(match.get("severity_overrides", []), "match/severity_overrides")):
        place = f"match/severity_overrides/{index}"
        if (
            not isinstance(override, dict)
            or "when" not in override
            or override.get("severity") not in {s.value for s in Severity}
        ):
            raise ConditionError(place, "takes {when: CONDITION, severity: error, warning or info}")
        node = conditions.compile_condition(override["when"], _branch(env), f"{place}/when")
        overrides.append((node, Severity(override["severity"])))
    raw_parts = data.get("message_parts", {})
    if not isinstance(raw_parts, dict):
        raise ConditionError("message_parts", "must be a mapping of part names to alternatives")
    for name in raw_parts:
        if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            raise ConditionError("message_parts", "a part's name is lower case letters, digits and _")
        if name in env.names or name in env.subject.names():
            raise ConditionError(f"message_parts/{name}", f"{name!r} is already a field or bound name")
    places = [(f"message_parts/{name}", options) for name, options in raw_parts.items()]
    if "suggestion" in data:
        places.append(("suggestion", data["suggestion"]))
    # A part's when may name what another part's when binds (a part used inside another): compile
    # them until no new name is bound, then once more, reporting what is still unknown.
    alternatives: dict[str, list[tuple[Node | None, Any]]] = {}
    for attempt in range(4):
        known = len(env.bound)
        try:
            for place, options in places:
                alternatives[place] = [
                    (
                        conditions.compile_condition(
                            option["when"], _branch(env, with_bound=True), f"{place}/{index}/when"
                        )
                        if "when" in option
                        else None,
                        option["text"],
                    )
                    for index, option in enumerate(_alternatives(options, place))
                ]
            break
        except ConditionError:
            if attempt == 3 or len(env.bound) == known:
                raise
    # Templates may name what any condition of the rule binds (at run time, what was not bound is empty).
    names_env = dataclasses.replace(env, names={**env.bound, **env.names})
    part_names = tuple(raw_parts)
    compiled: dict[str, list[tuple[Node | None, Template]]] = {
        place: [
            (when, conditions.compile_template(text, names_env, part_names, f"{place}/{index}/text"))
            for index, (when, text) in enumerate(options)
        ]
        for place, options in alternatives.items()
    }
    parts = {name: Part(compiled[f"message_parts/{name}"]) for name in raw_parts}
    message = conditions.compile_template(data.get("message"), names_env, part_names, "message")
    _check_cycles(parts, compiled)
    at = _location_path(match.get("at"), names_env, "match/at")
    principal = (
        conditions.compile_path(match["principal"], names_env, "match/principal")[0] if "principal" in match else None
    )
    suggestion = Part(compiled["suggestion"]) if "suggestion" in compiled else None
    return RuleProgram(kind, tuple(each), where_node, tuple(overrides), at, principal, message, parts, suggestion)


def _branch(env: Env, with_bound: bool = False) -> Env:
    """The environment of a condition whose bindings stay inside it (an override's when, a part's);
    ``with_bound``: it may also name what any other condition of the rule binds."""
    return dataclasses.replace(env, names={**env.bound, **env.names} if with_bound else dict(env.names))


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise ConditionError(where, "must be a list")
    return value


def _alternatives(options: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(options, list) or not options:
        raise ConditionError(where, "must be a list of {when: CONDITION, text: TEXT} (the first that holds is used)")
    for index, option in enumerate(options):
        if not isinstance(option, dict) or "text" not in option or set(option) - {"when", "text"}:
            raise ConditionError(f"{where}/{index}", "takes text and, optionally, when")
    return options


def _location_path(text: Any, env: Env, where: str) -> FieldPath | None:
    if text is None:
        return None
    path, shape = conditions.compile_path(text, env, where)
    if isinstance(shape, (conditions.ScalarShape, conditions.ListShape)):
        raise ConditionError(where, f"{text!r} is {shape.description}, not a location")
    return path


def _check_cycles(parts: dict[str, Part], compiled: dict[str, list[tuple[Node | None, Template]]]) -> None:
    uses = {
        name: {used for _, template in compiled[f"message_parts/{name}"] for used in template.parts} for name in parts
    }
    state: dict[str, int] = {}

    def visit(name: str, trail: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            raise ConditionError(
                f"message_parts/{name}", f"parts use each other in a cycle: {' -> '.join([*trail, name])}"
            )
        state[name] = 1
        for used in sorted(uses[name]):
            visit(used, [*trail, name])
        state[name] = 2

    for name in sorted(parts):
        visit(name, [])


def _items(value: Any) -> tuple[Any, ...]:
    if value is conditions.MISSING:
        return ()
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


def evaluate_rule(rule: Rule, facts: Facts, ctx: Context) -> list[Finding]:
    findings = []
    # A copy: a failure below adds an internal error, and OT003 reads that very list.
    for fact in list(facts.of_kind(rule.fact)):
        try:
            findings.extend(_findings_for(rule, fact, ctx))
        except Exception as exc:
            # One rule failing on one fact must not cost the run: the file is reported as
            # incompletely checked and every other fact and rule still runs.
            path = fact.location.path
            message = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
            facts.internal_errors.append(InternalError(path, f"checking {rule.id} on", message, fact.location))
    return findings


def _findings_for(rule: Rule, fact: Any, ctx: Context) -> list[Finding]:
    program = rule.program
    assert program is not None  # every loaded rule is compiled
    scopes = [Scope.of(fact, ctx)]
    for source, name in program.each:
        scopes = [
            scope.bind(name, item)
            for scope in scopes
            for item in (source if isinstance(source, tuple) else _items(source.resolve(scope)))
        ]
    findings = []
    for scope in scopes:
        matched = scope if program.where is None else program.where.holds(scope)
        if matched is None:
            continue
        severity = next((s for when, s in program.overrides if when.holds(matched) is not None), rule.severity)
        location = program.at.resolve(matched) if program.at is not None else conditions.MISSING
        if not isinstance(location, Location):
            location = fact.location
        if program.principal is not None:
            named = program.principal.resolve(matched)
            principal = named if isinstance(named, str) else None
        else:
            principal = fact.value if isinstance(fact, PrincipalRef) else getattr(fact, "principal", None)
        suggestion = program.suggestion.render(matched, program.parts) if program.suggestion else ""
        findings.append(
            Finding(
                rule=rule.id,
                name=rule.name,
                severity=severity,
                location=location,
                message=program.message.render(matched, program.parts),
                principal=principal,
                suggestion=suggestion or None,
                also_at=fact.via if isinstance(fact, PrincipalRef) else (),
            )
        )
    return findings


def default_disabled() -> frozenset[str]:
    """The rules that are off unless selected by their full code (``default_enabled: false``): the
    shipped ones, and those of one's own loaded in this process."""
    loaded = [*_shipped_rules(), *(rule for rules in _user_rules.values() for rule in rules)]
    return frozenset(rule.id for rule in loaded if not rule.default_enabled)


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
    settings_for: Callable[[str], Mapping[str, Any]] | None = None,
) -> EngineResult:
    """Evaluate ``rules`` over ``facts``: the rules about the code, then the inline ignores, then the
    rules about the ignores (OT004-OT007), then internal errors (OT003) of every stage before.

    Every rule runs, whatever is selected: ignores are applied to all findings, so an ignore of a
    rule that is merely deselected is not mistaken for an unused one (the caller selects).
    ``in_scope`` drops the findings about files that were only read for context; ``catalog_for``
    gives the catalog as one file sees it (its configuration's extra principals), ``settings_for``
    the organization policy of its configuration (``settings`` in a condition).
    """
    ctx = Context(facts, catalog, catalog_for, settings_for)
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
