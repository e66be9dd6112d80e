"""The one condition language of rule files (``where``, ``severity_overrides``, message parts) and
of the catalog's ``when``: compiled once when a file loads, then evaluated over facts.

A condition is one of::

    {all: [C, ...]}                      every one holds (bindings flow from one to the next)
    {any: [C, ...]}                      at least one holds (the first that does binds)
    {not: C}                             C does not hold
    [C, ...]                             the same as {all: [...]}
    {field: PATH, OP: VALUE}             a test on one field (OP below), with ignore_case: true if wanted
    {exists: {fact: KIND, as: NAME, where: C}}   another fact for which C holds (a join), bound as NAME
    {exists: {field: PATH, as: NAME, where: C}}  an item of a list field for which C holds
    {call: NAME, of: PATH, as: NAME}     a named algorithm (edit distance, IAM wildcards, catalog
                                         lookups): holds when it returns a result, bound as NAME

Operators: equals, not_equals, in, not_in, matches (a regular expression, searched), glob (``*``
any text, ``?`` one character; a pattern or a list of them), gt, lt, exists (true or false). A value
may be ``{ref: PATH}``, another field or binding. A test on a list field holds when some item passes
(not_equals and not_in are the negation of equals and in: no item is equal). A field that is absent
(or null) passes only ``exists: false``, not_equals and not_in.

A PATH is dotted: ``value``, ``attributes.account_id``, ``org.scope``, ``suggestions.0``. Its first
part is a bound name (``fact``: the rule's fact; ``settings``: the configuration's organization
policy; a join's or call's ``as``) or a field of the fact at hand. A number picks an item of a list
(``-1`` the last); another name on a list takes that field of every item.

Messages are templates: ``{PATH}`` or ``{PATH|FILTER}`` (quoted, json, count), lists shown
comma-separated, ``{{`` for a brace. Everything a template or condition names is checked when the
file loads: an unknown operator, field or placeholder, or a regular expression that does not
compile, is a ConditionError naming where it is.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import re
import string
import types
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any


class _Missing:
    """An absent field: distinct from every value, None included."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()


class ConditionError(ValueError):
    """A condition, path or template that cannot be compiled; ``where`` is the path of keys to it."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}" if where else problem)
        self.where = where
        self.problem = problem


def _at(where: str, key: str | int) -> str:
    return f"{where}/{key}" if where else str(key)


# ---- shapes: what a path may name, for load-time checks ----------------------------------------


class Shape:
    """What a value looks like, so that a path into it can be checked before any fact exists."""

    description = "a value"

    def child(self, segment: str) -> Shape | str:
        """The shape of ``segment`` below this one, or a description of why there is none."""
        return ANY

    def names(self) -> tuple[str, ...]:
        return ()


class _AnyShape(Shape):
    description = "any value"


ANY: Shape = _AnyShape()


class ScalarShape(Shape):
    def __init__(self, description: str) -> None:
        self.description = description

    def child(self, segment: str) -> Shape | str:
        return f"is {self.description}, with no field {segment!r}"


TEXT = ScalarShape("text")
NUMBER = ScalarShape("a number")
BOOLEAN = ScalarShape("true or false")


class ObjectShape(Shape):
    def __init__(self, fields: Mapping[str, Shape], description: str = "an object") -> None:
        self.fields = dict(fields)
        self.description = description

    def child(self, segment: str) -> Shape | str:
        found = self.fields.get(segment)
        if found is None:
            return f"unknown field {segment!r} of {self.description} (known: {', '.join(sorted(self.fields))})"
        return found

    def names(self) -> tuple[str, ...]:
        return tuple(self.fields)


class MapShape(Shape):
    """A table whose keys are names from the input (a resource's attributes)."""

    def __init__(self, value: Shape) -> None:
        self.value = value
        self.description = "a table"

    def child(self, segment: str) -> Shape | str:
        return self.value


class ListShape(Shape):
    def __init__(self, item: Shape) -> None:
        self.item = item
        self.description = "a list"

    def child(self, segment: str) -> Shape | str:
        if _INDEX.fullmatch(segment):
            return self.item
        below = self.item.child(segment)  # a name takes that field of every item
        return below if isinstance(below, str) else ListShape(below)


_INDEX = re.compile(r"-?[0-9]+")


def shape_of(annotation: Any, namespace: Mapping[str, Any] | None = None) -> Shape:
    """The shape of a type annotation of facts.py (a dataclass, tuple, dict, union, scalar)."""
    origin = typing.get_origin(annotation)
    arguments = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin in (typing.Union, types.UnionType):
        return shape_of(arguments[0], namespace) if len(arguments) == 1 else ANY
    if annotation is str:
        return TEXT
    if annotation is bool:
        return BOOLEAN
    if annotation in (int, float):
        return NUMBER
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return TEXT
    if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
        return dataclass_shape(annotation, namespace)
    if origin is tuple and len(arguments) == 2 and arguments[1] is Ellipsis:
        return ListShape(shape_of(arguments[0], namespace))
    if origin in (list, frozenset, set):
        return ListShape(shape_of(arguments[0], namespace))
    if origin is tuple:
        return ListShape(ANY)
    if origin is dict:
        return MapShape(shape_of(arguments[1], namespace))
    return ANY


def dataclass_shape(cls: type, namespace: Mapping[str, Any] | None = None, views: Sequence[str] = ()) -> Shape:
    hints = typing.get_type_hints(cls, dict(namespace or {}))
    fields = {f.name: shape_of(hints[f.name], namespace) for f in dataclasses.fields(cls)}
    for view in views:
        getter = getattr(cls, view).fget
        fields[view] = shape_of(typing.get_type_hints(getter, dict(namespace or {}))["return"], namespace)
    return ObjectShape(fields, cls.__name__)


# ---- evaluation --------------------------------------------------------------------------------


class Runtime:
    """What evaluation needs beyond the fact at hand: the other facts (for joins, each kind sorted
    by location and indexed on demand) and the organization policy of a file's configuration."""

    def __init__(
        self,
        facts_of: Callable[[str], list[Any]],
        settings_for: Callable[[str], Mapping[str, Any]] | None = None,
    ) -> None:
        self._facts_of = facts_of
        self._settings_for = settings_for
        self._sorted: dict[str, list[Any]] = {}
        self._indexes: dict[tuple[str, tuple[tuple[str, ...], ...]], dict[tuple[str, ...], list[Any]] | None] = {}
        self._settings: dict[str, Mapping[str, Any]] = {}

    def sorted_facts(self, kind: str) -> list[Any]:
        found = self._sorted.get(kind)
        if found is None:
            found = self._sorted[kind] = sorted(self._facts_of(kind), key=lambda fact: fact.location)
        return found

    def index(self, kind: str, paths: tuple[tuple[str, ...], ...]) -> dict[tuple[str, ...], list[Any]] | None:
        """The facts of ``kind`` by the text values of ``paths``; None when some value is not text
        (then the join scans every fact)."""
        key = (kind, paths)
        if key not in self._indexes:
            index: dict[tuple[str, ...], list[Any]] = {}
            usable = True
            for fact in self.sorted_facts(kind):
                values = tuple(_walk(fact, path) for path in paths)
                if any(v is MISSING for v in values):
                    continue
                if not all(isinstance(v, str) for v in values):
                    usable = False
                    break
                index.setdefault(values, []).append(fact)
            self._indexes[key] = index if usable else None
        return self._indexes[key]

    def settings_at(self, fact: Any) -> Any:
        if self._settings_for is None:
            return MISSING
        path = getattr(getattr(fact, "location", None), "path", "")
        found = self._settings.get(path)
        if found is None:
            found = self._settings[path] = self._settings_for(path)
        return found


class Scope:
    """The fact a condition looks at (``subject``: the rule's fact, or a joined fact or item) and
    the names bound so far."""

    __slots__ = ("names", "runtime", "subject")

    def __init__(self, subject: Any, names: dict[str, Any], runtime: Runtime | None) -> None:
        self.subject = subject
        self.names = names
        self.runtime = runtime

    @classmethod
    def of(cls, fact: Any, runtime: Runtime | None = None, **names: Any) -> Scope:
        return cls(fact, {"fact": fact, **names}, runtime)

    def lookup(self, name: str) -> Any:
        value = self.names.get(name, MISSING)
        if value is MISSING and name == "settings" and self.runtime is not None:
            value = self.names["settings"] = self.runtime.settings_at(self.names.get("fact"))
        return value

    def bind(self, name: str, value: Any) -> Scope:
        return Scope(self.subject, {**self.names, name: value}, self.runtime)

    def on(self, subject: Any, name: str | None) -> Scope:
        names = {**self.names, name: subject} if name else self.names
        return Scope(subject, names, self.runtime)

    @property
    def fact(self) -> Any:
        return self.names.get("fact")


def _plain(value: Any) -> Any:
    if value is None:
        return MISSING
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (frozenset, set)):
        return tuple(sorted(value))
    return value


def _step(value: Any, segment: str) -> Any:
    if isinstance(value, Mapping):
        return _plain(value.get(segment, MISSING))
    if isinstance(value, (list, tuple)):
        if _INDEX.fullmatch(segment):
            position = int(segment)
            return _plain(value[position]) if -len(value) <= position < len(value) else MISSING
        projected: list[Any] = []
        for item in value:
            below = _step(_plain(item), segment)
            if isinstance(below, (list, tuple)):
                projected.extend(below)
            elif below is not MISSING:
                projected.append(below)
        return tuple(projected)
    if value is MISSING or isinstance(value, (str, int, float, bool)) or segment.startswith("_"):
        return MISSING
    return _plain(getattr(value, segment, MISSING))


def _walk(value: Any, segments: Sequence[str]) -> Any:
    value = _plain(value)
    for segment in segments:
        if value is MISSING:
            return MISSING
        value = _step(value, segment)
    return value


@dataclasses.dataclass(frozen=True)
class Path:
    """A compiled dotted path: from a bound name (``root``) or from the subject."""

    text: str
    root: str | None
    segments: tuple[str, ...]

    def resolve(self, scope: Scope) -> Any:
        start = scope.subject if self.root is None else scope.lookup(self.root)
        return _walk(start, self.segments)

    @property
    def name(self) -> str:
        """The last part, as a message names the field."""
        return self.text.rpartition(".")[2]


@dataclasses.dataclass(frozen=True)
class Ref:
    path: Path


def _equal(value: Any, expected: Any, ignore_case: bool) -> bool:
    if isinstance(expected, bool):
        # Terraform writes booleans as text, CloudFormation templates often too.
        if isinstance(value, str):
            return value.strip().lower() == ("true" if expected else "false")
        return isinstance(value, bool) and value is expected
    if isinstance(value, bool):
        return False
    if isinstance(value, str) and isinstance(expected, str):
        return value.casefold() == expected.casefold() if ignore_case else value == expected
    return bool(value == expected)


def _ordered(value: Any, other: Any) -> bool:
    """Whether ``value`` and ``other`` can be ordered: numbers, texts, locations."""
    if isinstance(value, bool) or isinstance(other, bool):
        return False
    if isinstance(value, (int, float)) and isinstance(other, (int, float)):
        return True
    return type(value) is type(other) and hasattr(value, "__lt__") and not isinstance(value, (list, tuple))


def glob_matches(pattern: str, text: str, ignore_case: bool = False) -> bool:
    """``*`` any text (dots included), ``?`` one character, everything else itself. Greedy with one
    backtrack point, so at most len(text) * len(pattern) steps whatever the pattern."""
    if ignore_case:
        pattern, text = pattern.casefold(), text.casefold()
    p = t = 0
    star, resume = -1, 0
    while t < len(text):
        if p < len(pattern) and (pattern[p] == "?" or pattern[p] == text[t]):
            p += 1
            t += 1
        elif p < len(pattern) and pattern[p] == "*":
            star, resume = p, t
            p += 1
        elif star >= 0:
            p = star + 1
            resume += 1
            t = resume
        else:
            return False
    while p < len(pattern) and pattern[p] == "*":
        p += 1
    return p == len(pattern)


# ---- condition nodes ---------------------------------------------------------------------------


class Node:
    """A compiled condition: ``holds`` gives the scope with what it bound, or None."""

    def holds(self, scope: Scope) -> Scope | None:
        raise NotImplementedError

    def witness(self, scope: Scope) -> tuple[Leaf, Any] | None:
        """The test that made this condition hold, and the value (or list item) that passed it."""
        return None

    def describe(self) -> str:
        raise NotImplementedError


class All(Node):
    def __init__(self, children: list[Node]) -> None:
        self.children = children

    def holds(self, scope: Scope) -> Scope | None:
        current = scope
        for child in self.children:
            held = child.holds(current)
            if held is None:
                return None
            current = held
        return current

    def witness(self, scope: Scope) -> tuple[Leaf, Any] | None:
        for child in self.children:
            found = child.witness(scope)
            if found is not None:
                return found
        return None

    def describe(self) -> str:
        return " and ".join(_grouped(child) for child in self.children) or "always"


class AnyOf(Node):
    def __init__(self, children: list[Node]) -> None:
        self.children = children

    def holds(self, scope: Scope) -> Scope | None:
        for child in self.children:
            found = child.holds(scope)
            if found is not None:
                return found
        return None

    def witness(self, scope: Scope) -> tuple[Leaf, Any] | None:
        for child in self.children:
            if child.holds(scope) is not None:
                return child.witness(scope)
        return None

    def describe(self) -> str:
        return " or ".join(_grouped(child) for child in self.children) or "never"


class Not(Node):
    def __init__(self, child: Node) -> None:
        self.child = child

    def holds(self, scope: Scope) -> Scope | None:
        return scope if self.child.holds(scope) is None else None

    def describe(self) -> str:
        return f"not ({self.child.describe()})"


def _grouped(node: Node) -> str:
    return f"({node.describe()})" if isinstance(node, (All, AnyOf)) and len(node.children) > 1 else node.describe()


# Operators: which compare a value with the test's argument, and which are the negation of another.
OPERATORS = ("equals", "not_equals", "in", "not_in", "matches", "glob", "gt", "lt", "exists")
_NEGATED = {"not_equals": "equals", "not_in": "in"}
_CASE_OPERATORS = frozenset({"equals", "not_equals", "in", "not_in", "matches", "glob"})


class Leaf(Node):
    def __init__(self, path: Path, operator: str, argument: Any, ignore_case: bool) -> None:
        self.path = path
        self.operator = operator
        self.argument = argument
        self.ignore_case = ignore_case
        self.negated = operator in _NEGATED
        self.test = _NEGATED.get(operator, operator)
        self.regex = (
            re.compile(argument, re.IGNORECASE if ignore_case else 0)
            if operator == "matches" and isinstance(argument, str)
            else None
        )

    def _argument(self, scope: Scope) -> Any:
        return self.argument.path.resolve(scope) if isinstance(self.argument, Ref) else self.argument

    def _passes(self, value: Any, argument: Any) -> bool:
        test = self.test
        if test == "equals":
            return _equal(value, argument, self.ignore_case)
        if test == "in":
            options = argument if isinstance(argument, (list, tuple)) else (argument,)
            return any(_equal(value, option, self.ignore_case) for option in options)
        if test == "matches":
            return isinstance(value, str) and self.regex is not None and self.regex.search(value) is not None
        if test == "glob":
            patterns = argument if isinstance(argument, (list, tuple)) else (argument,)
            return isinstance(value, str) and any(
                isinstance(p, str) and glob_matches(p, value, self.ignore_case) for p in patterns
            )
        if test == "gt":
            return _ordered(value, argument) and bool(value > argument)
        return _ordered(value, argument) and bool(value < argument)  # lt

    def _passing(self, scope: Scope) -> Iterator[Any]:
        """The value (or each list item) that passes the positive test."""
        value = self.path.resolve(scope)
        if value is MISSING:
            return
        argument = self._argument(scope)
        if argument is MISSING:
            return
        items = value if isinstance(value, (list, tuple)) else (value,)
        for item in items:
            if self._passes(item, argument):
                yield item

    def holds(self, scope: Scope) -> Scope | None:
        if self.operator == "exists":
            present = self.path.resolve(scope) is not MISSING
            return scope if present is self.argument else None
        passed = next(self._passing(scope), MISSING) is not MISSING
        return scope if passed is not self.negated else None

    def witness(self, scope: Scope) -> tuple[Leaf, Any] | None:
        if self.holds(scope) is None:
            return None
        if self.operator == "exists" or self.negated:
            return self, self.path.resolve(scope)
        return self, next(self._passing(scope), MISSING)

    def describe(self) -> str:
        argument = f"{{{self.argument.path.text}}}" if isinstance(self.argument, Ref) else self.argument
        if self.operator == "exists":
            return f"{self.path.text} is {'set' if self.argument else 'not set'}"
        if self.operator in ("in", "not_in") and isinstance(argument, list):
            argument = ", ".join(str(a) for a in argument)
        if self.operator == "matches":
            argument = f"/{argument}/"
        words = {
            "equals": "=",
            "not_equals": "!=",
            "in": "is one of",
            "not_in": "is none of",
            "matches": "matches",
            "glob": "matches",
            "gt": ">",
            "lt": "<",
        }
        return f"{self.path.text} {words[self.operator]} {argument}"


def _joined(scope: Scope, candidate: Any, name: str | None, where: Node | None) -> Scope | None:
    """``scope`` with ``candidate`` bound as ``name`` and what ``where`` bound on it, if it holds."""
    inner: Scope | None = scope.on(candidate, name)
    if where is not None and inner is not None:
        inner = where.holds(inner)
    return None if inner is None else Scope(scope.subject, inner.names, scope.runtime)


class Join(Node):
    """``exists: {fact: KIND, ...}``: the first fact of KIND (in file order) for which ``where`` holds."""

    def __init__(
        self, kind: str, name: str | None, where: Node | None, indexed: list[tuple[tuple[str, ...], Path]]
    ) -> None:
        self.kind = kind
        self.name = name
        self.where = where
        self.index_paths = tuple(path for path, _ in indexed)
        self.index_refs = [ref for _, ref in indexed]

    def _candidates(self, scope: Scope) -> Sequence[Any]:
        runtime = scope.runtime
        if runtime is None:
            return ()
        if self.index_paths:
            keys = tuple(ref.resolve(scope) for ref in self.index_refs)
            if all(isinstance(key, str) for key in keys):
                index = runtime.index(self.kind, self.index_paths)
                if index is not None:
                    return index.get(keys, ())
            elif any(key is MISSING for key in keys):
                return ()
        return runtime.sorted_facts(self.kind)

    def holds(self, scope: Scope) -> Scope | None:
        for candidate in self._candidates(scope):
            found = _joined(scope, candidate, self.name, self.where)
            if found is not None:
                return found
        return None

    def describe(self) -> str:
        where = f" where {self.where.describe()}" if self.where else ""
        return f"there is a {self.kind}{where}"


class ItemJoin(Node):
    """``exists: {field: PATH, ...}``: the first item of a list field for which ``where`` holds."""

    def __init__(self, path: Path, name: str | None, where: Node | None) -> None:
        self.path = path
        self.name = name
        self.where = where

    def holds(self, scope: Scope) -> Scope | None:
        items = self.path.resolve(scope)
        if not isinstance(items, (list, tuple)):
            items = () if items is MISSING else (items,)
        for item in items:
            found = _joined(scope, item, self.name, self.where)
            if found is not None:
                return found
        return None

    def describe(self) -> str:
        where = f" where {self.where.describe()}" if self.where else ""
        return f"some item of {self.path.text}{where}"


@dataclasses.dataclass(frozen=True)
class CallSpec:
    """A named algorithm a condition may call. ``takes`` is "text" (the value of ``of:``) or a fact
    kind (the fact at hand, or the fact ``of:`` names); ``function`` returns the outputs (a mapping or
    an object with those attributes), or None when there is nothing to return: the call then fails."""

    name: str
    function: Callable[[Any, Scope], Any]
    outputs: Mapping[str, Shape]
    takes: str
    summary: str


class Call(Node):
    def __init__(self, spec: CallSpec, of: Path | None, name: str) -> None:
        self.spec = spec
        self.of = of
        self.name = name

    def holds(self, scope: Scope) -> Scope | None:
        subject = scope.subject if self.of is None else self.of.resolve(scope)
        if subject is MISSING:
            return None
        result = self.spec.function(subject, scope)
        return None if result is None else scope.bind(self.name, result)

    def describe(self) -> str:
        return f"{self.spec.name}({self.of.text if self.of else ''})"


# ---- compiling ---------------------------------------------------------------------------------


@dataclasses.dataclass
class Env:
    """What a condition may name where it is written: the subject's shape, the bound names, the
    calls and fact kinds available. ``bound`` collects every name bound anywhere in a rule (with its
    shape), for the rule's message."""

    subject: Shape
    names: dict[str, Shape]
    calls: Mapping[str, CallSpec] | None = None  # None: no calls here (the catalog's when)
    kinds: Mapping[str, Shape] | None = None  # None: no joins here
    subject_kind: str | None = None
    bound: dict[str, Shape] = dataclasses.field(default_factory=dict)

    def on(self, subject: Shape, kind: str | None, name: str | None) -> Env:
        names = {**self.names, name: subject} if name else dict(self.names)
        return dataclasses.replace(self, subject=subject, subject_kind=kind, names=names)


_NAME = re.compile(r"[a-z][a-z0-9_]*")
_PATH = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*")


def compile_path(text: Any, env: Env, where: str) -> tuple[Path, Shape]:
    """A dotted path and the shape of what it names; ConditionError if it names nothing."""
    if not isinstance(text, str) or not _PATH.fullmatch(text):
        raise ConditionError(where, "must be a dotted field path such as value or attributes.account_id")
    segments = tuple(text.split("."))
    if segments[0] in env.names:
        root: str | None = segments[0]
        shape = env.names[segments[0]]
        rest = segments[1:]
    else:
        root, shape, rest = None, env.subject, segments
        known = env.subject.child(segments[0])
        if isinstance(known, str):
            names = ", ".join(sorted({*env.subject.names(), *env.names}))
            what = f"a field of {env.subject_kind}" if env.subject_kind else "a field here"
            raise ConditionError(where, f"unknown field {segments[0]!r}: not {what} or a bound name (known: {names})")
    for index, segment in enumerate(rest):
        below = shape.child(segment)
        if isinstance(below, str):
            before = ".".join(segments[: len(segments) - len(rest) + index]) or "it"
            raise ConditionError(where, f"{text!r}: {before} {below}" if not below.startswith("unknown") else below)
        shape = below
    return Path(text, root, rest), shape


def _argument(value: Any, operator: str, env: Env, where: str) -> Any:
    if isinstance(value, dict):
        if set(value) != {"ref"}:
            raise ConditionError(where, "a value is a scalar, a list, or {ref: PATH}")
        path, _ = compile_path(value["ref"], env, _at(where, "ref"))
        return Ref(path)
    if operator in ("in", "not_in"):
        if not isinstance(value, list) or not all(is_scalar(v) for v in value):
            raise ConditionError(where, f"{operator} takes a list of values or {{ref: PATH}}")
    elif operator == "matches":
        if not isinstance(value, str):
            raise ConditionError(where, "matches takes a regular expression (text)")
        try:
            re.compile(value)
        except re.error as exc:
            raise ConditionError(where, f"not a valid regular expression ({exc})") from None
    elif operator == "glob":
        patterns = value if isinstance(value, list) else [value]
        if not patterns or not all(isinstance(p, str) for p in patterns):
            raise ConditionError(where, "glob takes a pattern (text), a list of them, or {ref: PATH}")
    elif operator == "exists":
        if not isinstance(value, bool):
            raise ConditionError(where, "exists takes true or false")
    elif operator in ("gt", "lt"):
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ConditionError(where, f"{operator} takes a number, a text or {{ref: PATH}}")
    elif not is_scalar(value):
        raise ConditionError(where, f"{operator} takes a scalar (text, number, true or false) or {{ref: PATH}}")
    return value


def is_scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool))


_NODE_KEYS = ("all", "any", "not", "field", "exists", "call")


def compile_condition(data: Any, env: Env, where: str = "") -> Node:
    """A condition of the language; ConditionError names the first problem. Names the condition
    binds are added to ``env.names`` for what follows it (in an ``all``) and to ``env.bound``."""
    if isinstance(data, list):
        return _compile_all(data, env, where)
    if not isinstance(data, dict) or not data:
        raise ConditionError(where, "a condition is a mapping: all, any, not, field, exists or call")
    if "field" in data:
        return _compile_leaf(data, env, where)
    heads = [key for key in data if key in _NODE_KEYS]
    if len(heads) != 1:
        unknown = sorted(str(key) for key in data if key not in _NODE_KEYS)
        if unknown and not heads:
            raise ConditionError(
                where, f"unknown condition {unknown[0]!r} (known: {', '.join(_NODE_KEYS)}; operators go with field)"
            )
        raise ConditionError(where, f"one of {', '.join(_NODE_KEYS)} per condition (found: {', '.join(heads)})")
    head = heads[0]
    if head == "call":
        return _compile_call(data, env, where)
    extra = sorted(str(key) for key in data if key != head)
    if extra:
        raise ConditionError(where, f"unknown key {extra[0]!r} beside {head}")
    body = data[head]
    if head == "all":
        if not isinstance(body, list):
            raise ConditionError(_at(where, "all"), "must be a list of conditions")
        return _compile_all(body, env, _at(where, "all"))
    if head == "any":
        if not isinstance(body, list) or not body:
            raise ConditionError(_at(where, "any"), "must be a list of conditions")
        children = []
        for index, child in enumerate(body):
            branch = dataclasses.replace(env, names=dict(env.names))
            children.append(compile_condition(child, branch, _at(_at(where, "any"), index)))
            for name, shape in branch.names.items():  # bound in a branch: maybe bound afterwards
                env.names.setdefault(name, shape)
        return AnyOf(children)
    if head == "not":
        return Not(compile_condition(body, dataclasses.replace(env, names=dict(env.names)), _at(where, "not")))
    return _compile_join(body, env, _at(where, "exists"))


def _compile_all(items: list[Any], env: Env, where: str) -> Node:
    children = [compile_condition(item, env, _at(where, index)) for index, item in enumerate(items)]
    return children[0] if len(children) == 1 else All(children)


def _compile_leaf(data: dict[str, Any], env: Env, where: str) -> Node:
    path, _ = compile_path(data["field"], env, _at(where, "field"))
    operators = [key for key in data if key in OPERATORS]
    unknown = sorted(str(key) for key in data if key not in (*OPERATORS, "field", "ignore_case"))
    if unknown:
        raise ConditionError(where, f"unknown operator {unknown[0]!r} (known: {', '.join(OPERATORS)}, ignore_case)")
    if len(operators) != 1:
        found = f" (found: {', '.join(operators)})" if operators else ""
        raise ConditionError(where, f"a field test takes exactly one operator{found}")
    operator = operators[0]
    ignore_case = data.get("ignore_case", False)
    if not isinstance(ignore_case, bool):
        raise ConditionError(_at(where, "ignore_case"), "must be true or false")
    if ignore_case and operator not in _CASE_OPERATORS:
        raise ConditionError(_at(where, "ignore_case"), f"does not apply to {operator}")
    if operator == "exists" and isinstance(data[operator], dict):
        raise ConditionError(_at(where, "exists"), "beside field, exists takes true or false")
    argument = _argument(data[operator], operator, env, _at(where, operator))
    return Leaf(path, operator, argument, ignore_case)


def _check_name(env: Env, name: Any, where: str) -> None:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ConditionError(where, "a name is lower case letters, digits and _, e.g. org")
    if name in ("fact", "settings"):
        raise ConditionError(where, f"{name!r} is already the name of the rule's {name}")
    if env.subject_kind is not None and not isinstance(env.subject.child(name), str):
        raise ConditionError(where, f"{name!r} is a field of {env.subject_kind}: choose another name")


def bind_name(env: Env, name: Any, shape: Shape, where: str) -> str:
    _check_name(env, name, where)
    env.names[name] = env.bound[name] = shape
    return str(name)


def _compile_join(body: Any, env: Env, where: str) -> Node:
    if not isinstance(body, dict) or not ({"fact", "field"} & set(body)):
        raise ConditionError(where, "takes {fact: KIND, as: NAME, where: CONDITION} or {field: PATH, ...}")
    unknown = sorted(str(key) for key in body if key not in ("fact", "field", "as", "where"))
    if unknown or ("fact" in body and "field" in body):
        found = unknown[0] if unknown else "field"
        raise ConditionError(where, f"unknown key {found!r} (known: fact or field, as, where)")
    if "fact" in body:
        kind = body["fact"]
        if env.kinds is None:
            raise ConditionError(_at(where, "fact"), "joins with other facts are not available here")
        if kind not in env.kinds:
            raise ConditionError(_at(where, "fact"), f"unknown fact kind {kind!r} (known: {', '.join(env.kinds)})")
        subject: Shape = env.kinds[kind]
        item_path: Path | None = None
        subject_kind: str | None = kind
    else:
        item_path, shape = compile_path(body["field"], env, _at(where, "field"))
        subject = shape.item if isinstance(shape, ListShape) else shape
        subject_kind = None
    name = body.get("as")
    if name is not None:
        _check_name(env, name, _at(where, "as"))
    outer = set(env.names)  # what the join's own tests may look its facts up by
    inner = env.on(subject, subject_kind, name)
    condition = None
    if "where" in body:
        condition = compile_condition(body["where"], inner, _at(where, "where"))
    # What the join binds (its name, and the calls and joins inside it) is bound after it too.
    env.names.update((key, shape) for key, shape in inner.names.items() if key not in env.names)
    if name is not None:
        env.bound[name] = subject
    if item_path is not None:
        return ItemJoin(item_path, name, condition)
    return Join(body["fact"], name, condition, _indexable(condition, name, outer))


def _indexable(condition: Node | None, name: str | None, outer: set[str]) -> list[tuple[tuple[str, ...], Path]]:
    """The conjuncts ``{field: F, equals: {ref: OUTER}}`` of a join, F a path of the joined fact: the
    facts are looked up by them instead of scanned."""
    conjuncts = condition.children if isinstance(condition, All) else [condition] if condition else []
    found = []
    for node in conjuncts:
        if not (isinstance(node, Leaf) and node.operator == "equals" and not node.ignore_case):
            continue
        if not isinstance(node.argument, Ref) or node.argument.path.root not in outer:
            continue
        if node.path.root is None or node.path.root == name:
            found.append((node.path.segments, node.argument.path))
    return found


def _compile_call(data: dict[str, Any], env: Env, where: str) -> Node:
    unknown = sorted(str(key) for key in data if key not in ("call", "of", "as"))
    if unknown:
        raise ConditionError(where, f"unknown key {unknown[0]!r} beside call (known: call, of, as)")
    if env.calls is None:
        raise ConditionError(_at(where, "call"), "calls are not available here")
    spec = env.calls.get(data["call"]) if isinstance(data["call"], str) else None
    if spec is None:
        raise ConditionError(
            _at(where, "call"), f"unknown call {data['call']!r} (known: {', '.join(sorted(env.calls))})"
        )
    of = None
    if "of" in data:
        of, shape = compile_path(data["of"], env, _at(where, "of"))
        if spec.takes == "text" and isinstance(shape, (ObjectShape, ListShape, MapShape)):
            raise ConditionError(_at(where, "of"), f"{spec.name} takes a text field, not {shape.description}")
    elif spec.takes == "text":
        raise ConditionError(where, f"{spec.name} needs of: the text field it looks at (e.g. of: value)")
    elif spec.takes != env.subject_kind:
        raise ConditionError(_at(where, "call"), f"{spec.name} looks at a {spec.takes} fact, not at this one")
    name = bind_name(env, data.get("as", spec.name), ObjectShape(spec.outputs, f"the result of {spec.name}"), where)
    return Call(spec, of, name)


# ---- templates ---------------------------------------------------------------------------------

FILTERS = ("quoted", "json", "count")


def _text(value: Any) -> str:
    """A value as a message shows it."""
    if value is MISSING or value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, (list, tuple, frozenset)):
        return ", ".join(_text(item) for item in value)
    return str(value)


def _filtered(value: Any, name: str) -> str:
    items = [] if value is MISSING else list(value) if isinstance(value, (list, tuple)) else [value]
    if name == "quoted":
        return ", ".join(f"'{_text(item)}'" for item in items)
    if name == "count":
        return str(len(items))
    return json.dumps([_text(item) for item in items] if isinstance(value, (list, tuple)) else _text(value))


@dataclasses.dataclass(frozen=True)
class _Placeholder:
    path: Path | None  # None: a part
    part: str | None
    filter: str | None


class Template:
    """A message or part text with its placeholders compiled."""

    def __init__(self, pieces: list[str | _Placeholder]) -> None:
        self.pieces = pieces

    @property
    def parts(self) -> list[str]:
        return [p.part for p in self.pieces if isinstance(p, _Placeholder) and p.part is not None]

    def render(self, scope: Scope, parts: Mapping[str, Part]) -> str:
        out = []
        for piece in self.pieces:
            if isinstance(piece, str):
                out.append(piece)
            elif piece.part is not None:
                out.append(parts[piece.part].render(scope, parts))
            else:
                assert piece.path is not None
                value = piece.path.resolve(scope)
                out.append(_filtered(value, piece.filter) if piece.filter else _text(value))
        return "".join(out)


def compile_template(text: Any, env: Env, part_names: Sequence[str], where: str) -> Template:
    if not isinstance(text, str):
        raise ConditionError(where, "must be text")
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:  # an unmatched brace
        raise ConditionError(where, f"{exc} (write {{{{ or }}}} for a brace)") from None
    pieces: list[str | _Placeholder] = []
    for literal, field, spec, conversion in parsed:
        if literal:
            pieces.append(literal)
        if field is None:
            continue
        if spec or conversion:
            raise ConditionError(where, f"placeholder {{{field}}}: format specs are not supported")
        name, _, chosen = field.partition("|")
        if chosen and chosen not in FILTERS:
            raise ConditionError(
                where, f"placeholder {{{field}}}: unknown filter {chosen!r} (known: {', '.join(FILTERS)})"
            )
        if name in part_names:
            if chosen:
                raise ConditionError(where, f"placeholder {{{field}}}: a message part takes no filter")
            pieces.append(_Placeholder(None, name, None))
            continue
        if not name:
            raise ConditionError(where, "placeholder {}: name the field, e.g. {value}")
        try:
            path, _ = compile_path(name, env, where)
        except ConditionError as exc:
            raise ConditionError(where, f"message placeholder {{{name}}}: {exc.problem}") from None
        pieces.append(_Placeholder(path, None, chosen or None))
    return Template(pieces)


class Part:
    """A named piece of a message: the first alternative whose ``when`` holds, or nothing."""

    def __init__(self, alternatives: list[tuple[Node | None, Template]]) -> None:
        self.alternatives = alternatives

    def render(self, scope: Scope, parts: Mapping[str, Part]) -> str:
        for when, template in self.alternatives:
            chosen = scope if when is None else when.holds(scope)
            if chosen is not None:
                return template.render(chosen, parts)
        return ""
