"""Values of Terraform expressions as static analysis sees them: what they may be, with provenance.

Every primitive value remembers the literal it came from (a list element, a variable default, a
tfvars line, a local), so a finding points at the text a user would edit. Where a value cannot be
known statically it is ``Unknown``; where it is one of several (a conditional whose condition is
not known, alternative tfvars files) it is ``OneOf``; a list element that may be absent (it
survives a ``setsubtract`` with an unknown set, or an ``if`` that cannot be decided) is ``Maybe``.

Two questions are asked of a value: what it *may* be (every option, every maybe-element; the
checks of a literal use this) and what it *must* be (certain in every case; the checks that say
something is missing or conflicting use this).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

from orgtrust_lint.facts import Location

Primitive = str | int | float | bool | None


@dataclass(frozen=True)
class Known:
    """A primitive value and the literal it came from."""

    value: Primitive
    location: Location
    origin: str = "literal"  # how it was reached: "default of var.x", "local.y", "var.x set in prod.tfvars"
    via: tuple[Location, ...] = ()  # the use sites on the way (var.x, local.y in other files)


@dataclass(frozen=True)
class ListValue:
    """A list, set or tuple. An ``Unknown`` element stands for any number of unknown elements."""

    items: tuple[Value, ...]
    location: Location
    kind: str = "tuple"  # "tuple" (a literal), "list", or "set" (distinct by construction)


@dataclass(frozen=True)
class ObjectValue:
    """An object or map with statically known keys."""

    items: tuple[tuple[str, Value], ...]
    location: Location

    def get(self, key: str) -> Value | None:
        for name, value in self.items:
            if name == key:
                return value
        return None


@dataclass(frozen=True)
class Unknown:
    """A value known only at apply time, or an expression this evaluator does not follow."""

    expression: str
    location: Location
    reason: str
    refers_to: str | None = None  # the resource or data source it reads, e.g. data.aws_iam_policy_document.x
    # Evaluating it certainly fails (Terraform reports an error: a missing key, a wrong type): try()
    # goes on to its next argument and can() is false, where an apply-time value might succeed.
    error: bool = False


@dataclass(frozen=True)
class OneOf:
    """One of these values; which one is not known statically."""

    options: tuple[Value, ...]


@dataclass(frozen=True)
class Maybe:
    """A list element that may be absent."""

    value: Value


Value = Known | ListValue | ObjectValue | Unknown | OneOf | Maybe

# Alternatives multiply (a conditional inside a for over a conditional...): past this many, the
# value is reported as unknown rather than enumerated.
MAX_OPTIONS = 32


def one_of(options: Sequence[Value]) -> Value:
    """The value that is one of ``options``, flattened and without repeats."""
    flat: list[Value] = []
    for option in options:
        for inner in option.options if isinstance(option, OneOf) else (option,):
            if inner not in flat:
                flat.append(inner)
    if len(flat) == 1:
        return flat[0]
    if len(flat) > MAX_OPTIONS:
        first = next((o for o in flat if isinstance(o, (Known, ListValue, ObjectValue))), None)
        location = first.location if first is not None else Location.point("", 1)
        return Unknown("", location, f"more than {MAX_OPTIONS} alternatives")
    return OneOf(tuple(flat))


def options(value: Value) -> tuple[Value, ...]:
    return value.options if isinstance(value, OneOf) else (value,)


def _map_leaves(value: Value, change: Callable[[Value], Value]) -> Value:
    """``value`` with ``change`` applied to every leaf (a Known or an Unknown), its shape kept."""
    if isinstance(value, ListValue):
        return replace(value, items=tuple(_map_leaves(item, change) for item in value.items))
    if isinstance(value, ObjectValue):
        return replace(value, items=tuple((k, _map_leaves(v, change)) for k, v in value.items))
    if isinstance(value, OneOf):
        return OneOf(tuple(_map_leaves(option, change) for option in value.options))
    if isinstance(value, Maybe):
        return Maybe(_map_leaves(value.value, change))
    return change(value)


def _map_known(value: Value, change: Callable[[Known], Known]) -> Value:
    return _map_leaves(value, lambda leaf: change(leaf) if isinstance(leaf, Known) else leaf)


def via(value: Value, location: Location) -> Value:
    """``value`` reached through a reference at ``location`` (a use site)."""
    return _map_known(value, lambda known: replace(known, via=(*known.via, location)))


def with_origin(value: Value, origin: str) -> Value:
    """``value`` as the value of a variable or local: its literals say so unless already reached
    through another one (the innermost name is the one a reader looks for)."""
    return _map_known(value, lambda known: replace(known, origin=origin) if known.origin == "literal" else known)


@dataclass(frozen=True)
class Leaf:
    """A primitive a value may hold, or an unknown part of it."""

    value: Known | Unknown
    certain: bool  # present in every case (not in one option of several, not a maybe-element)
    branch: str  # which options were taken to reach it: leaves of different branches never coexist


def leaves(value: Value, certain: bool = True, branch: str = "") -> Iterator[Leaf]:
    """Every primitive ``value`` may hold (lists and objects walked), each once per way to reach it."""
    if isinstance(value, (Known, Unknown)):
        yield Leaf(value, certain and isinstance(value, Known), branch)
    elif isinstance(value, ListValue):
        for item in value.items:
            yield from leaves(item, certain, branch)
    elif isinstance(value, ObjectValue):
        for _, item in value.items:
            yield from leaves(item, certain, branch)
    elif isinstance(value, Maybe):
        yield from leaves(value.value, False, branch)
    else:
        for index, option in enumerate(value.options):
            yield from leaves(option, False, f"{branch}/{index}")


def must_strings(value: Value) -> set[str] | None:
    """The strings ``value`` certainly holds as a list (or as one string); None when nothing is
    certain about it at all (an unknown value)."""
    if isinstance(value, OneOf):
        sets = [must_strings(option) for option in value.options]
        known = [s for s in sets if s is not None]
        if len(known) != len(sets):
            return None
        return set.intersection(*known) if known else set()
    if isinstance(value, Unknown):
        return None
    return {
        leaf.value.value
        for leaf in leaves(value)
        if leaf.certain and isinstance(leaf.value, Known) and isinstance(leaf.value.value, str)
    }


def seen_from_caller(value: Value, prefix: str) -> Value:
    """A module output as its caller sees it: what it refers to is named from the caller
    (data.aws_iam_policy_document.x inside module.org is module.org.data.aws_iam_policy_document.x)."""

    def renamed(leaf: Value) -> Value:
        if isinstance(leaf, Unknown) and leaf.refers_to:
            return replace(leaf, refers_to=f"{prefix}{leaf.refers_to}")
        return leaf

    return _map_leaves(value, renamed)


def fully_known(value: Value) -> bool:
    """No part of ``value`` is unknown (options and maybe-elements are fine: they are enumerated)."""
    return not any(isinstance(leaf.value, Unknown) for leaf in leaves(value))


def truth(value: Value) -> bool | None:
    """True or False when every option agrees; None when it cannot be decided statically."""
    found = set()
    for option in options(value):
        if not isinstance(option, Known) or not isinstance(option.value, bool):
            if isinstance(option, Known) and isinstance(option.value, str) and option.value in ("true", "false"):
                found.add(option.value == "true")
                continue
            return None
        found.add(option.value)
    return found.pop() if len(found) == 1 else None
