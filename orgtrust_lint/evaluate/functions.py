"""Terraform's built-in functions that can be evaluated statically, over values with provenance.

Conventions every function follows:
- The arguments arrive evaluated; a function sees ``OneOf`` only through ``per_option`` (which
  applies it to every combination of options), so most are written for plain values.
- An unknown argument makes only the result unknown, and a list function keeps what it can: in
  ``concat(["a"], data.x.ids)`` the "a" is still a known element beside an unknown part.
- Elements keep their own ``Known`` (and so the location of their literal); a value a function
  computes (``upper("x")``, ``join``) is located at the call.
- A wrong argument (type, count) gives ``Unknown`` with a reason, never an exception: Terraform
  would report it at plan time, and it is not ours to report.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING

from orgtrust_lint.evaluate.values import Known, ListValue, Maybe, OneOf, Unknown, Value, one_of

if TYPE_CHECKING:
    from orgtrust_lint.evaluate.evaluator import Evaluator, Function
    from orgtrust_lint.parse.hcl_ast import Call

MAX_COMBINATIONS = 16


def unknown(call: Call, reason: str, refers_to: str | None = None) -> Unknown:
    return Unknown(call.text, call.location, reason, refers_to)


def per_option(function: Callable[[Evaluator, Call, list[Value]], Value]) -> Function:
    """Apply ``function`` to every combination of the arguments' options (bounded)."""

    def apply(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
        choices = [a.options if isinstance(a, OneOf) else (a,) for a in args]
        count = 1
        for choice in choices:
            count *= len(choice)
        if count > MAX_COMBINATIONS:
            return unknown(call, "too many alternatives")
        return one_of([function(evaluator, call, list(combination)) for combination in itertools.product(*choices)])

    return apply


def elements(value: Value) -> tuple[Value, ...] | None:
    """The elements of a list, set or tuple (including Maybe and Unknown parts), or None."""
    if isinstance(value, ListValue):
        return value.items
    return None


@per_option
def _concat(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
    items: list[Value] = []
    for arg in args:
        found = elements(arg)
        if isinstance(arg, Unknown):
            items.append(arg)  # unknown elements, reported where they are written; the rest still known
        elif found is None:
            return unknown(call, "concat() takes lists")
        else:
            items.extend(found)
    return ListValue(tuple(items), call.location, "list")


def _distinct_items(items: tuple[Value, ...]) -> tuple[Value, ...]:
    seen: set[object] = set()
    kept: list[Value] = []
    for item in items:
        if isinstance(item, Known):
            marker = (type(item.value).__name__, item.value)
            if marker in seen:
                continue
            seen.add(marker)
        kept.append(item)
    return tuple(kept)


def _collection(kind: str, distinct: bool) -> Function:
    @per_option
    def convert(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
        if len(args) != 1:
            return unknown(call, f"{call.name}() takes one argument")
        (arg,) = args
        if isinstance(arg, Unknown):
            return unknown(call, arg.reason, arg.refers_to)
        found = elements(arg)
        if found is None:
            return unknown(call, f"{call.name}() needs a list")
        return ListValue(_distinct_items(found) if distinct else found, arg.location, kind)

    return convert


@per_option
def _flatten(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
    if len(args) != 1:
        return unknown(call, "flatten() takes one argument")

    def flat(items: tuple[Value, ...], maybe: bool) -> list[Value]:
        out: list[Value] = []
        for item in items:
            inner = item.value if isinstance(item, Maybe) else item
            nested = elements(inner)
            if nested is not None:
                out.extend(flat(nested, maybe or isinstance(item, Maybe)))
            elif isinstance(inner, OneOf):
                out.append(unknown(call, "a nested list is one of several"))
            else:
                out.append(Maybe(inner) if maybe or isinstance(item, Maybe) else inner)
        return out

    (arg,) = args
    found = elements(arg)
    if isinstance(arg, Unknown):
        return unknown(call, arg.reason, arg.refers_to)
    if found is None:
        return unknown(call, "flatten() needs a list")
    return ListValue(tuple(flat(found, False)), arg.location, "list")


@per_option
def _sort(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
    if len(args) != 1:
        return unknown(call, "sort() takes one argument")
    (arg,) = args
    found = elements(arg)
    if found is None:
        return unknown(call, "sort() needs a list", getattr(arg, "refers_to", None))
    known = sorted((i for i in found if isinstance(i, Known)), key=lambda k: str(k.value))
    rest = [i for i in found if not isinstance(i, Known)]
    return ListValue((*known, *rest), arg.location, "list")


@per_option
def _setsubtract(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
    if len(args) != 2:
        return unknown(call, "setsubtract() takes two sets")
    base, removed = args
    base_items = elements(base)
    if base_items is None:
        return unknown(call, "setsubtract() needs a set", getattr(base, "refers_to", None))
    removed_items = elements(removed)
    if removed_items is None or any(isinstance(i, (Unknown, Maybe, OneOf)) for i in removed_items):
        # What is removed is not known: every element may or may not remain.
        known_removed = {i.value for i in removed_items or () if isinstance(i, Known)}
        kept = [i for i in base_items if not (isinstance(i, Known) and i.value in known_removed)]
        return ListValue(tuple(i if isinstance(i, (Maybe, Unknown)) else Maybe(i) for i in kept), call.location, "set")
    drop = {i.value for i in removed_items if isinstance(i, Known)}
    kept = [i for i in base_items if not (isinstance(i, Known) and i.value in drop)]
    return ListValue(_distinct_items(tuple(kept)), call.location, "set")


@per_option
def _setunion(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
    items: list[Value] = []
    for arg in args:
        found = elements(arg)
        if isinstance(arg, Unknown):
            items.append(arg)
        elif found is None:
            return unknown(call, "setunion() takes sets")
        else:
            items.extend(found)
    return ListValue(_distinct_items(tuple(items)), call.location, "set")


FUNCTIONS: dict[str, Function] = {
    "concat": _concat,
    "tolist": _collection("list", distinct=False),
    "toset": _collection("set", distinct=True),
    "distinct": _collection("list", distinct=True),
    "flatten": _flatten,
    "sort": _sort,
    "setsubtract": _setsubtract,
    "setunion": _setunion,
}


def call_function(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
    function = evaluator.functions.get(call.name)
    if function is None:
        return unknown(call, f"function {call.name}() is not evaluated statically")
    if call.expand_final:
        if (
            not args
            or elements(args[-1]) is None
            or any(isinstance(i, (Maybe, Unknown)) for i in elements(args[-1]) or ())
        ):
            return unknown(call, "argument expansion (...) of a list that is not known statically")
        args = [*args[:-1], *(elements(args[-1]) or ())]
    return function(evaluator, call, args)
