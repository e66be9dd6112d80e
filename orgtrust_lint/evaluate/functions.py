"""Terraform's built-in functions that can be evaluated statically, over values with provenance.

Conventions every function follows:
- The arguments arrive evaluated; a function sees ``OneOf`` only through ``per_option`` (which
  applies it to every combination of options), so most are written for plain values.
- An unknown argument makes only the result unknown, and a list function keeps what it can: in
  ``concat(["a"], data.x.ids)`` the "a" is still a known element beside an unknown part.
  ``length`` of a list with maybe- or unknown elements is unknown; ``contains`` is true when a
  certain element matches and unknown when only a maybe- or unknown one could.
- Elements keep their own ``Known`` (and so the location of their literal) when a function passes
  them through (concat, distinct, sort, merge values, lookup, element, coalesce, try...); so do
  conversions of one value (tostring(5) is still the literal 5's text to edit). A value a
  function computes (``upper("x")``, ``join``, ``length``, ``jsonencode``) is located at the call.
- Set operations never drop an element that may remain nor keep one as certain that may be
  removed: with unknown or maybe parts, what may or may not remain becomes ``Maybe``.
- A wrong argument (type, count) gives ``Unknown`` with ``error=True`` and a reason, never an
  exception: Terraform would report it at plan time, and it is not ours to report. A value
  Terraform computes that this port does not reproduce exactly (a %g verb, a long YAML string)
  is unknown without ``error``.

try(a, b, ...) statically: Terraform returns the first argument that evaluates without an error.
An argument that certainly fails (an ``Unknown`` with ``error``, or a collection holding one
outside its maybe-parts) is skipped; one that is known in full is the answer; one that is known
only at apply time may succeed or fail, so it becomes one option and the search goes on:
``try(data.x.y, "d")`` is ``OneOf(<unknown>, "d")`` and ``try(local.m.missing, "d")`` is "d".
can(x) is true when x is known in full, false when it certainly fails, unknown otherwise.

file(), fileexists() and templatefile() resolve a relative path against the process's working
directory, as Terraform does (paths usually start with path.module), and read only regular files
inside ``ModuleValues.allowed_root`` (default: the module's directory) after resolving symbolic
links, at most files.MAX_FILE_BYTES, without blocking on a FIFO. What is not read is unknown
with the reason.

Checked against terraform console 1.11 (1,200 random nested calls and a table of edge cases).
Known differences: only primitives are unified to a common type (coalesce({a = 1}, {a = "x"})
keeps the number; Terraform converts it), a null is taken as typed (Terraform rejects a literal
null where a list is required), element() takes negative indexes as documented today (1.11 did
not), and yamlencode of a multi-line string, format's %g and a few RE2 constructs are unknown
rather than reproduced.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import math
import os
import re
import unicodedata
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from orgtrust_lint.evaluate import gotext, reads
from orgtrust_lint.evaluate.gotext import GoError, NotEvaluated, PyValue
from orgtrust_lint.evaluate.values import (
    MAX_OPTIONS,
    Known,
    ListValue,
    Maybe,
    ObjectValue,
    OneOf,
    Unknown,
    Value,
    one_of,
    options,
    truth,
)

if TYPE_CHECKING:
    from orgtrust_lint.evaluate.evaluator import Evaluator, Function
    from orgtrust_lint.parse.hcl_ast import Call

MAX_COMBINATIONS = 16
# A split() or jsondecode() producing more elements than this is reported as unknown: each
# element is an object with a location, and a 10 MB string would make millions of them.
MAX_ELEMENTS = 100_000
MAX_DECODED_VALUES = 200_000  # as catalog.MAX_YAML_NODES: aliases written out


# ---- building blocks ---------------------------------------------------------------------


def unknown(call: Call, reason: str, refers_to: str | None = None, *, error: bool = False) -> Unknown:
    return Unknown(call.text, call.location, reason, refers_to, error)


def failed(call: Call, reason: str) -> Unknown:
    """Terraform reports an error for this call."""
    return unknown(call, reason, error=True)


def carried(call: Call, value: Unknown) -> Unknown:
    """The call's result is unknown because its argument ``value`` is: the unknown stays where it is
    written (``var.extra`` inside ``concat(...)``), so it is reported once, at the expression a
    reader must look at, however many calls it passes through."""
    return value


def computed(call: Call, value: Any) -> Known:
    return Known(_nfc(value) if isinstance(value, str) else value, call.location)


def _nfc(text: str) -> str:
    """Terraform keeps every string in Unicode normal form C ("e" and a combining accent are "é")."""
    return text if text.isascii() else unicodedata.normalize("NFC", text)


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


def _arity(call: Call, args: list[Value], low: int, high: int | None = -1) -> Unknown | None:
    high = low if high == -1 else high
    if len(args) < low or (high is not None and len(args) > high):
        expected = f"{low}" if high == low else f"{low} or more" if high is None else f"{low} to {high}"
        return failed(call, f"{call.name}() takes {expected} arguments, not {len(args)}")
    return None


def _certain(item: Value) -> bool:
    return not isinstance(item, (Maybe, Unknown))


def _maybe(item: Value) -> Value:
    """``item`` as an element that may be absent (an unknown part already stands for any number)."""
    return item if isinstance(item, (Maybe, Unknown)) else Maybe(item)


def _unwrap(item: Value) -> tuple[Value, bool]:
    return (item.value, True) if isinstance(item, Maybe) else (item, False)


def _all_certain(items: tuple[Value, ...]) -> bool:
    return all(_certain(item) for item in items)


def _text(value: Any) -> str | None:
    """A primitive as Terraform converts it to a string; None for null and collections."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return gotext.number_text(value)
    if isinstance(value, str):
        return _nfc(value)
    return None


def _string_argument(call: Call, value: Value, what: str = "a string") -> str | Unknown:
    if isinstance(value, Unknown):
        return carried(call, value)
    if isinstance(value, Known):
        if value.value is None:
            return failed(call, f"{call.name}() does not take null for {what}")
        text = _text(value.value)
        if text is not None:
            return text
    return failed(call, f"{call.name}() needs {what}")


def _number_argument(call: Call, value: Value) -> int | float | Unknown:
    if isinstance(value, Unknown):
        return carried(call, value)
    if isinstance(value, Known) and not isinstance(value.value, bool):
        if isinstance(value.value, (int, float)):
            return value.value
        if isinstance(value.value, str):
            number = gotext.parse_number(value.value)
            if number is not None:
                return number
    return failed(call, f"{call.name}() needs a number")


def _whole_argument(call: Call, value: Value) -> int | Unknown:
    number = _number_argument(call, value)
    if isinstance(number, Unknown):
        return number
    if number != int(number):
        return failed(call, f"{call.name}() needs a whole number")
    return int(number)


# ---- equality, types and sets ------------------------------------------------------------

Key = tuple[Any, ...]


def _key(value: Value) -> Key | None:
    """What Terraform compares when it tests two values for equality; None when a part is not known."""
    if isinstance(value, Known):
        if value.value is None:
            return ("null",)
        if isinstance(value.value, bool):
            return ("bool", value.value)
        if isinstance(value.value, (int, float)):
            return ("number", value.value)
        return ("string", value.value)
    if isinstance(value, ListValue):
        keys = []
        for item in value.items:
            key = _key(item) if _certain(item) else None
            if key is None:
                return None
            keys.append(key)
        return ("list", tuple(keys))
    if isinstance(value, ObjectValue):
        pairs = []
        for name, item in value.items:
            key = _key(item)
            if key is None:
                return None
            pairs.append((name, key))
        return ("object", tuple(sorted(pairs)))
    return None


def _option_keys(value: Value) -> list[Key | None]:
    return [_key(option) for option in options(value)]


def _equal(left: Value, right: Value) -> bool | None:
    results = {
        (a == b if a is not None and b is not None else None) for a in _option_keys(left) for b in _option_keys(right)
    }
    return results.pop() if len(results) == 1 else None


def _kinds(value: Value) -> set[str]:
    if isinstance(value, Known):
        if value.value is None:
            return set()
        if isinstance(value.value, bool):
            return {"bool"}
        return {"number"} if isinstance(value.value, (int, float)) else {"string"}
    if isinstance(value, Maybe):
        return _kinds(value.value)
    if isinstance(value, OneOf):
        return set().union(*(_kinds(option) for option in value.options))
    if isinstance(value, ListValue):
        return {"list"}
    if isinstance(value, ObjectValue):
        return {"object"}
    return set()


def _as_string_element(item: Value) -> Value | None:
    """An element converted as Terraform converts a list to list(string); None when it cannot be."""
    if isinstance(item, Known):
        if item.value is None or isinstance(item.value, str):
            return item
        text = _text(item.value)
        return None if text is None else replace(item, value=text)
    if isinstance(item, Maybe):
        inner = _as_string_element(item.value)
        return None if inner is None else Maybe(inner)
    if isinstance(item, OneOf):
        converted = [_as_string_element(option) for option in item.options]
        return None if any(c is None for c in converted) else one_of([c for c in converted if c is not None])
    if isinstance(item, Unknown):
        return item
    return None


def _unified(items: tuple[Value, ...] | list[Value]) -> tuple[Value, ...] | None:
    """The elements with one type, as Terraform unifies a list's elements: primitives of mixed
    types become strings; primitives beside collections have no common type (None)."""
    kinds: set[str] = set()
    for item in items:
        kinds |= _kinds(item)
    primitive = kinds & {"string", "number", "bool"}
    if (primitive and kinds - primitive) or len(kinds - primitive) > 1:
        return None
    if len(primitive) > 1:
        converted = [_as_string_element(item) for item in items]
        return tuple(c for c in converted if c is not None)
    return tuple(items)


def _dedupe(items: tuple[Value, ...]) -> tuple[Value, ...]:
    """Equal elements once: the first place, and certain if any copy is certain."""
    kept: list[Value] = []
    positions: dict[Key, int] = {}
    for item in items:
        inner, maybe = _unwrap(item)
        key = None if isinstance(inner, Unknown) else _key(inner)
        if key is None:
            kept.append(item)
            continue
        if key in positions:
            if not maybe and isinstance(kept[positions[key]], Maybe):
                kept[positions[key]] = inner
            continue
        positions[key] = len(kept)
        kept.append(item)
    return tuple(kept)


def _set_order(items: tuple[Value, ...]) -> tuple[Value, ...]:
    """A set's elements in Terraform's order: strings lexically, numbers by value (others keep theirs)."""
    sortable: list[Value] = []
    rest: list[Value] = []
    kinds: set[str] = set()
    for item in items:
        inner, _ = _unwrap(item)
        if isinstance(inner, Known) and inner.value is not None:
            sortable.append(item)
            kinds |= _kinds(inner)
        else:
            rest.append(item)
    if len(kinds) != 1:
        return items

    def value_of(item: Value) -> Any:
        inner, _ = _unwrap(item)
        assert isinstance(inner, Known)
        return inner.value

    return (*sorted(sortable, key=value_of), *rest)


def _membership(key: Key, items: tuple[Value, ...]) -> str:
    """Whether an element equal to ``key`` is in ``items``: "certain", "maybe" or "absent"."""
    found = "absent"
    for item in items:
        inner, maybe = _unwrap(item)
        keys = [None] if isinstance(inner, Unknown) else _option_keys(inner)
        if any(k is None or k == key for k in keys):
            if not maybe and len(keys) == 1 and keys[0] == key:
                return "certain"
            found = "maybe"
    return found


def _set_argument(call: Call, arg: Value) -> tuple[Value, ...] | Unknown:
    if isinstance(arg, Unknown):
        return (carried(call, arg),)  # a set known only at apply time: any elements
    found = elements(arg)
    if found is None:
        return failed(call, f"{call.name}() takes sets, lists or tuples")
    return found


# ---- collection functions ----------------------------------------------------------------


@per_option
def _concat(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
    if bad := _arity(call, args, 1, None):
        return bad
    items: list[Value] = []
    for arg in args:
        found = elements(arg)
        if isinstance(arg, Unknown):
            items.append(carried(call, arg))  # unknown elements, the rest still known
        elif found is None:
            return failed(call, "concat() takes lists or tuples")
        else:
            items.extend(found)
    return ListValue(tuple(items), call.location, "list")


def _collection(kind: str, distinct: bool) -> Function:
    @per_option
    def convert(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
        if bad := _arity(call, args, 1):
            return bad
        (arg,) = args
        if isinstance(arg, Unknown):
            return carried(call, arg)
        if isinstance(arg, Known) and arg.value is None and not distinct:
            return arg
        if not isinstance(arg, ListValue):  # the only value with elements; narrowed for arg.location below
            return failed(call, f"{call.name}() needs a list, set or tuple")
        unified = _unified(arg.items)
        if unified is None:
            return failed(call, f"{call.name}(): the elements have no common type")
        items = _dedupe(unified) if distinct or kind == "set" else unified
        if kind == "set":
            items = _set_order(items)
        return ListValue(items, arg.location, kind)

    return convert


@per_option
def _tomap(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
    if bad := _arity(call, args, 1):
        return bad
    (arg,) = args
    if isinstance(arg, Unknown):
        return carried(call, arg)
    if isinstance(arg, Known) and arg.value is None:
        return arg
    if not isinstance(arg, ObjectValue):
        return failed(call, "tomap() needs an object or map")
    unified = _unified([value for _, value in arg.items])
    if unified is None:
        return failed(call, "tomap(): the values have no common type")
    items = sorted(zip((name for name, _ in arg.items), unified, strict=True), key=lambda pair: pair[0])
    return ObjectValue(tuple(items), arg.location)


@per_option
def _tostring(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
    if bad := _arity(call, args, 1):
        return bad
    (arg,) = args
    if isinstance(arg, Unknown):
        return carried(call, arg)
    if isinstance(arg, Known):
        converted = _as_string_element(arg)
        if converted is not None:
            return converted
    return failed(call, "tostring() cannot convert a list or object to a string")


@per_option
def _tonumber(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
    if bad := _arity(call, args, 1):
        return bad
    (arg,) = args
    if isinstance(arg, Unknown):
        return carried(call, arg)
    if isinstance(arg, Known) and not isinstance(arg.value, bool):
        if arg.value is None or isinstance(arg.value, (int, float)):
            return arg
        number = gotext.parse_number(arg.value)
        if number is not None:
            return replace(arg, value=number)
        return failed(call, f"tonumber() cannot convert {arg.value!r} to a number")
    return failed(call, "tonumber() needs a number or a string of one")


@per_option
def _tobool(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
    if bad := _arity(call, args, 1):
        return bad
    (arg,) = args
    if isinstance(arg, Unknown):
        return carried(call, arg)
    if isinstance(arg, Known):
        if arg.value is None or isinstance(arg.value, bool):
            return arg
        if arg.value in ("true", "1"):
            return replace(arg, value=True)
        if arg.value in ("false", "0"):
            return replace(arg, value=False)
    return failed(call, 'tobool() takes a bool or the strings "true" and "false"')


@per_option
def _flatten(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
    if bad := _arity(call, args, 1):
        return bad

    def flat(items: tuple[Value, ...], maybe: bool) -> list[Value]:
        out: list[Value] = []
        for item in items:
            inner, inner_maybe = _unwrap(item)
            nested = elements(inner)
            if nested is not None:
                out.extend(flat(nested, maybe or inner_maybe))
            elif isinstance(inner, OneOf) and any(elements(option) is not None for option in inner.options):
                out.append(unknown(call, "a nested list is one of several"))
            else:
                out.append(_maybe(inner) if maybe or inner_maybe else inner)
        return out

    (arg,) = args
    if isinstance(arg, Unknown):
        return carried(call, arg)
    if not isinstance(arg, ListValue):  # the only value with elements; narrowed for arg.location below
        return failed(call, "flatten() needs a list, set or tuple")
    return ListValue(tuple(flat(arg.items, False)), arg.location, "list")


@per_option
def _sort(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
    if bad := _arity(call, args, 1):
        return bad
    (arg,) = args
    if isinstance(arg, Unknown):
        return carried(call, arg)
    found = elements(arg)
    if found is None:
        return failed(call, "sort() needs a list of strings")
    sortable: list[tuple[str, Value]] = []  # (its text, the element): the text is the sort key
    rest: list[Value] = []
    for item in found:
        converted = _as_string_element(item)
        inner = _unwrap(converted)[0] if converted is not None else None
        if converted is None or (isinstance(inner, Known) and inner.value is None):
            return failed(call, "sort() takes strings (not null, lists or objects)")
        if isinstance(inner, Known) and isinstance(inner.value, str):  # a known element converts to a string
            sortable.append((inner.value, converted))
        else:
            rest.append(converted)
    ordered = [element for _, element in sorted(sortable, key=lambda pair: pair[0])]
    return ListValue((*ordered, *rest), call.location, "list")


@per_option
def _reverse(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
    if bad := _arity(call, args, 1):
        return bad
    (arg,) = args
    if isinstance(arg, Unknown):
        return carried(call, arg)
    found = elements(arg)
    if found is None:
        return failed(call, "reverse() needs a list or tuple (strrev() reverses a string)")
    assert isinstance(arg, ListValue)
    return ListValue(tuple(reversed(found)), call.location, "tuple" if arg.kind == "tuple" else "list")


@per_option
def _setunion(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
    if bad := _arity(call, args, 1, None):
        return bad
    items: list[Value] = []
    for arg in args:
        found = _set_argument(call, arg)
        if isinstance(found, Unknown):
            return found
        items.extend(found)
    unified = _unified(items)
    if unified is None:
        return failed(call, "setunion(): the sets' elements have no common type")
    return ListValue(_set_order(_dedupe(unified)), call.location, "set")


@per_option
def _setintersection(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
    if bad := _arity(call, args, 1, None):
        return bad
    sets: list[tuple[Value, ...]] = []
    for arg in args:
        found = _set_argument(call, arg)
        if isinstance(found, Unknown):
            return found
        sets.append(found)
    unified = _unified([item for items in sets for item in items])
    if unified is None:
        return failed(call, "setintersection(): the sets' elements have no common type")
    start = 0
    for index, items in enumerate(sets):  # the same sets, their elements converted to the common type
        sets[index], start = unified[start : start + len(items)], start + len(items)
    candidates = _dedupe(tuple(item for item in unified if not isinstance(item, Unknown)))
    result: list[Value] = []
    for item in candidates:
        inner, _ = _unwrap(item)
        key = _key(inner)
        if key is None:
            result.append(_maybe(inner))
            continue
        statuses = [_membership(key, items) for items in sets]
        if "absent" in statuses:
            continue
        result.append(inner if all(status == "certain" for status in statuses) else _maybe(inner))
    unknown_parts = [
        part for items in sets if (part := next((i for i in items if isinstance(i, Unknown)), None)) is not None
    ]
    if len(unknown_parts) == len(sets):  # every set has an unknown part
        result.append(carried(call, unknown_parts[0]))
    return ListValue(_set_order(tuple(result)), call.location, "set")


@per_option
def _setsubtract(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
    if bad := _arity(call, args, 2):
        return bad
    base = _set_argument(call, args[0])
    removed = _set_argument(call, args[1])
    if isinstance(base, Unknown):
        return base
    if isinstance(removed, Unknown):
        return removed
    unified = _unified([*base, *removed])
    if unified is None:
        return failed(call, "setsubtract(): the sets' elements have no common type")
    base, removed = unified[: len(base)], unified[len(base) :]
    result: list[Value] = []
    for item in _dedupe(base):
        inner, _ = _unwrap(item)
        if isinstance(inner, Unknown):
            result.append(inner)
            continue
        key = _key(inner)
        status = "maybe" if key is None and removed else "absent" if key is None else _membership(key, removed)
        if status == "certain":
            continue
        result.append(_maybe(inner) if status == "maybe" else item)
    return ListValue(_set_order(tuple(result)), call.location, "set")


MAX_PRODUCT = 10_000


@per_option
def _setproduct(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
    if bad := _arity(call, args, 2, None):
        return bad
    columns: list[tuple[Value, ...]] = []
    for arg in args:
        if isinstance(arg, Unknown):
            return carried(call, arg)
        found = elements(arg)
        if found is None:
            return failed(call, "setproduct() takes sets, lists or tuples")
        unified = _unified(found)
        if unified is None:
            return failed(call, "setproduct(): the elements of an argument have no common type")
        columns.append(_set_order(_dedupe(unified)) if isinstance(arg, ListValue) and arg.kind == "set" else unified)
    if math.prod(len(column) for column in columns) > MAX_PRODUCT:
        return unknown(call, f"setproduct() of more than {MAX_PRODUCT:,} combinations")
    kind = "set" if any(isinstance(arg, ListValue) and arg.kind == "set" for arg in args) else "list"
    out: list[Value] = []
    unknown_part: Unknown | None = None
    for combination in itertools.product(*columns):  # the last argument varies fastest, as in Terraform
        parts = [_unwrap(item) for item in combination]
        missing = next((inner for inner, _ in parts if isinstance(inner, Unknown)), None)
        if missing is not None:
            unknown_part = unknown_part or carried(call, missing)  # any number of combinations
            continue
        pair = ListValue(tuple(inner for inner, _ in parts), call.location)
        out.append(Maybe(pair) if any(maybe for _, maybe in parts) else pair)
    if unknown_part is not None:
        out.append(unknown_part)
    return ListValue(tuple(out), call.location, kind)


@per_option
def _compact(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
    if bad := _arity(call, args, 1):
        return bad
    (arg,) = args
    if isinstance(arg, Unknown):
        return carried(call, arg)
    found = elements(arg)
    if found is None:
        return failed(call, "compact() needs a list of strings")
    kept: list[Value] = []
    for item in found:
        converted = _as_string_element(item)
        if converted is None:
            return failed(call, "compact() takes strings")
        inner, maybe = _unwrap(converted)
        if isinstance(inner, Unknown):
            kept.append(inner)
            continue
        remaining = [o for o in options(inner) if not (isinstance(o, Known) and o.value in (None, ""))]
        if not remaining:
            continue
        value = one_of(remaining)
        kept.append(_maybe(value) if maybe or len(remaining) < len(options(inner)) else value)
    return ListValue(tuple(kept), call.location, "list")


@per_option
def _coalesce(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
    kinds: set[str] = set()
    for arg in args:
        kinds |= _kinds(arg)
    primitive = kinds & {"string", "number", "bool"}
    if primitive and kinds - primitive:
        return failed(call, "coalesce(): all arguments must have the same type")
    to_string = len(primitive) > 1 or primitive == {"string"}
    found: list[Value] = []
    for arg in args:
        if isinstance(arg, Unknown):
            found.append(carried(call, arg))  # may be null or empty: the next ones are options too
            continue
        value = _as_string_element(arg) if to_string and isinstance(arg, Known) else arg
        if isinstance(value, Known) and (value.value is None or (to_string and value.value == "")):
            continue
        found.append(value if value is not None else arg)
        return one_of(found)
    if not found:
        return failed(call, "coalesce(): no non-null, non-empty-string arguments")
    return one_of(found)


@per_option
def _coalescelist(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
    found: list[Value] = []
    for arg in args:
        if isinstance(arg, Unknown):
            found.append(carried(call, arg))
            continue
        if isinstance(arg, Known) and arg.value is None:
            continue
        items = elements(arg)
        if items is None:
            return failed(call, "coalescelist() arguments must be lists or tuples")
        if any(_certain(item) for item in items):
            found.append(arg)
            return one_of(found)
        if items:
            found.append(arg)  # only maybe- or unknown elements: it may be empty
    if not found:
        return failed(call, "coalescelist(): no non-empty arguments")
    return one_of(found)


@per_option
def _contains(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
    if bad := _arity(call, args, 2):
        return bad
    collection, value = args
    if isinstance(collection, Unknown):
        return carried(call, collection)
    items = elements(collection)
    if items is None:
        return failed(call, "contains() needs a list, set or tuple")
    if not items:
        return computed(call, False)
    if isinstance(value, Unknown):
        return carried(call, value)
    possible = False
    for item in items:
        inner, maybe = _unwrap(item)
        equal = None if isinstance(inner, Unknown) else _equal(inner, value)
        if equal is True and not maybe:
            return computed(call, True)
        if equal is not False:
            possible = True
    if possible:
        return unknown(call, "only an element that may be absent or is not known could match")
    return computed(call, False)


@per_option
def _length(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
    if bad := _arity(call, args, 1):
        return bad
    (arg,) = args
    if isinstance(arg, Unknown):
        return carried(call, arg)
    if isinstance(arg, ListValue):
        if not _all_certain(arg.items):
            return unknown(call, "the list has elements that may be absent or are not known")
        return computed(call, len(arg.items))
    if isinstance(arg, ObjectValue):
        return computed(call, len(arg.items))
    if isinstance(arg, Known) and isinstance(arg.value, str):
        return computed(call, gotext.grapheme_count(arg.value))
    return failed(call, "length() needs a string, list, set, map or object")


def _object_argument(call: Call, arg: Value) -> ObjectValue | Unknown:
    if isinstance(arg, Unknown):
        return carried(call, arg)
    if isinstance(arg, ObjectValue):
        return arg
    return failed(call, f"{call.name}() needs a map or object")


@per_option
def _keys(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
    if bad := _arity(call, args, 1):
        return bad
    mapping = _object_argument(call, args[0])
    if isinstance(mapping, Unknown):
        return mapping
    names = sorted(name for name, _ in mapping.items)
    return ListValue(tuple(computed(call, name) for name in names), call.location, "list")


@per_option
def _values(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
    if bad := _arity(call, args, 1):
        return bad
    mapping = _object_argument(call, args[0])
    if isinstance(mapping, Unknown):
        return mapping
    ordered = sorted(mapping.items, key=lambda pair: pair[0])
    return ListValue(tuple(value for _, value in ordered), call.location, "list")


@per_option
def _lookup(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
    if bad := _arity(call, args, 2, 3):
        return bad
    mapping = _object_argument(call, args[0])
    if isinstance(mapping, Unknown):
        return mapping
    key = _string_argument(call, args[1], "a key")
    if isinstance(key, Unknown):
        return key
    found = mapping.get(key)
    if found is not None:
        return found
    if len(args) == 3:
        return args[2]
    return failed(call, f"lookup() found no key {key!r} and has no default")


@per_option
def _merge(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
    merged: dict[str, Value] = {}
    location = call.location
    for arg in args:
        if isinstance(arg, Known) and arg.value is None:
            continue
        if isinstance(arg, Unknown):
            return carried(call, arg)  # it may add or replace any key
        if not isinstance(arg, ObjectValue):
            return failed(call, "merge() takes maps or objects")
        merged.update(arg.items)
    return ObjectValue(tuple(sorted(merged.items(), key=lambda pair: pair[0])), location)


def _index_of(call: Call, items: tuple[Value, ...], position: int) -> Value:
    if not _all_certain(items):
        return unknown(call, "the list has elements that may be absent or are not known")
    if not items:
        return failed(call, f"{call.name}() of an empty list")
    return items[position % len(items)]


@per_option
def _element(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
    if bad := _arity(call, args, 2):
        return bad
    collection, index = args
    if isinstance(collection, Unknown):
        return carried(call, collection)
    if not isinstance(collection, ListValue) or collection.kind == "set":
        return failed(call, "element() needs a list or tuple")
    position = _whole_argument(call, index)
    if isinstance(position, Unknown):
        return position
    return _index_of(call, collection.items, position)


@per_option
def _index(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
    if bad := _arity(call, args, 2):
        return bad
    collection, value = args
    if isinstance(collection, Unknown):
        return carried(call, collection)
    if not isinstance(collection, ListValue) or collection.kind == "set":
        return failed(call, "index() needs a list or tuple")
    if not collection.items:
        return failed(call, "index() cannot search an empty list")
    for position, item in enumerate(collection.items):
        if not _certain(item):
            return unknown(call, "an element before the match may be absent or is not known")
        equal = _equal(item, value)
        if equal is None:
            return unknown(call, "an element cannot be compared statically")
        if equal:
            return computed(call, position)
    return failed(call, "index(): the item is not in the list")


@per_option
def _slice(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
    if bad := _arity(call, args, 3):
        return bad
    collection = args[0]
    if isinstance(collection, Unknown):
        return carried(call, collection)
    if not isinstance(collection, ListValue) or collection.kind == "set":
        return failed(call, "slice() needs a list or tuple (not a set)")
    start, end = _whole_argument(call, args[1]), _whole_argument(call, args[2])
    if isinstance(start, Unknown):
        return start
    if isinstance(end, Unknown):
        return end
    if start < 0 or end < 0 or start > end:
        return failed(call, "slice(): the indexes must be 0 <= start <= end")
    prefix = list(itertools.takewhile(_certain, collection.items))
    if end > len(prefix):
        if _all_certain(collection.items):
            return failed(call, "slice(): the end index is greater than the length of the list")
        return unknown(call, "the list has elements that may be absent or are not known")
    return ListValue(tuple(prefix[start:end]), call.location, collection.kind)


@per_option
def _zipmap(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
    if bad := _arity(call, args, 2):
        return bad
    names, values = args
    for arg in (names, values):
        if isinstance(arg, Unknown):
            return carried(call, arg)
        if elements(arg) is None:
            return failed(call, "zipmap() takes a list of keys and a list of values")
    assert isinstance(names, ListValue) and isinstance(values, ListValue)
    if not (_all_certain(names.items) and _all_certain(values.items)):
        return unknown(call, "the lists have elements that may be absent or are not known")
    if len(names.items) != len(values.items):
        return failed(call, "zipmap(): the lists of keys and values differ in length")
    merged: dict[str, Value] = {}
    for name, value in zip(names.items, values.items, strict=True):
        key = _string_argument(call, name, "string keys")
        if isinstance(key, Unknown):
            return key
        merged[key] = value
    return ObjectValue(tuple(sorted(merged.items(), key=lambda pair: pair[0])), call.location)


@per_option
def _range(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
    from decimal import Decimal

    if bad := _arity(call, args, 1, 3):
        return bad
    numbers = [_number_argument(call, arg) for arg in args]
    values: list[Decimal] = []
    for number in numbers:
        if isinstance(number, Unknown):
            return number
        values.append(Decimal(repr(number)) if isinstance(number, float) else Decimal(number))
    if len(values) == 1:
        start, end, step = Decimal(0), values[0], Decimal(-1 if values[0] < 0 else 1)
    elif len(values) == 2:
        start, end, step = values[0], values[1], Decimal(-1 if values[1] < values[0] else 1)
    else:
        start, end, step = values
    if step == 0:
        return failed(call, "range(): step must not be zero")
    if (step < 0 and end > start) or (step > 0 and end < start):
        return failed(call, "range(): the step goes away from the end")
    out: list[Value] = []
    current = start
    while (current > end) if step < 0 else (current < end):
        if len(out) >= 1024:
            return failed(call, "range(): more than 1024 values")
        out.append(computed(call, gotext.normal_number(current)))
        current += step
    return ListValue(tuple(out), call.location, "list")


@per_option
def _one(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
    if bad := _arity(call, args, 1):
        return bad
    (arg,) = args
    if isinstance(arg, Unknown):
        return carried(call, arg)
    items = elements(arg)
    if items is None:
        return failed(call, "one() needs a list, set or tuple")
    certain = [item for item in items if _certain(item)]
    maybe = [item for item in items if isinstance(item, Maybe)]
    if len(certain) > 1:
        return failed(call, "one() of a list with more than one element")
    if any(isinstance(item, Unknown) for item in items) or (len(certain) + len(maybe) > 1 and maybe):
        return unknown(call, "the list's length is not known statically")
    if certain:
        return certain[0]
    if maybe:
        return one_of([computed(call, None), maybe[0].value])
    return computed(call, None)


def _truth_function(want_all: bool) -> Function:
    @per_option
    def decide(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
        if bad := _arity(call, args, 1):
            return bad
        (arg,) = args
        if isinstance(arg, Unknown):
            return carried(call, arg)
        items = elements(arg)
        if items is None:
            return failed(call, f"{call.name}() needs a list of bools")
        undecided = False
        for item in items:
            inner, maybe = _unwrap(item)
            if isinstance(inner, Known) and inner.value is None:
                if want_all and not maybe:
                    return computed(call, False)
                undecided = undecided or (want_all and maybe)
                continue
            flag = truth(inner) if not isinstance(inner, Unknown) else None
            if flag is None and not isinstance(inner, (Unknown, OneOf)):
                return failed(call, f"{call.name}() takes bools")
            if flag is (not want_all) and not maybe:
                return computed(call, not want_all)
            if flag is None or (maybe and flag is (not want_all)):
                undecided = True
        if undecided:
            return unknown(call, "an element that decides it may be absent or is not known")
        return computed(call, want_all)

    return decide


# ---- numbers -----------------------------------------------------------------------------


def _numbers_function(name: str) -> Function:
    @per_option
    def apply(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
        if name == "sum":
            if bad := _arity(call, args, 1):
                return bad
            if isinstance(args[0], Unknown):
                return carried(call, args[0])
            items = elements(args[0])
            if items is None or not items:
                return failed(call, "sum() needs a non-empty list of numbers")
            if not _all_certain(items):
                return unknown(call, "the list has elements that may be absent or are not known")
            args = list(items)
        elif name in ("max", "min"):
            if bad := _arity(call, args, 1, None):
                return bad
        elif bad := _arity(call, args, 1):
            return bad
        numbers = [_number_argument(call, arg) for arg in args]
        values: list[int | float] = []
        for number in numbers:
            if isinstance(number, Unknown):
                return number
            values.append(number)
        if name == "max":
            return computed(call, max(values))
        if name == "min":
            return computed(call, min(values))
        if name == "sum":
            from decimal import Decimal

            total = sum((Decimal(repr(v)) if isinstance(v, float) else Decimal(v) for v in values), Decimal(0))
            return computed(call, gotext.normal_number(total))
        (value,) = values
        if name == "abs":
            return computed(call, abs(value))
        if name == "ceil":
            return computed(call, math.ceil(value))
        return computed(call, math.floor(value))

    return apply


# ---- strings -----------------------------------------------------------------------------


def _string_function(arity: int, compute: Callable[..., Any]) -> Function:
    """A function of strings (the first ``arity`` arguments) computing a primitive at the call."""

    @per_option
    def apply(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
        if bad := _arity(call, args, arity):
            return bad
        texts = [_string_argument(call, arg) for arg in args]
        for text in texts:
            if isinstance(text, Unknown):
                return text
        result = compute(*texts)
        if isinstance(result, str):
            gotext.check_size(result)
        return computed(call, result)

    return apply


def _plain_replace(text: str, old: str, new: str) -> str:
    count = len(text) + 1 if old == "" else text.count(old)
    if len(text) + count * (len(new) - len(old)) > gotext.MAX_STRING:
        raise NotEvaluated("the result would be longer than 10 MB")
    return text.replace(old, new)


def _replace(text: str, substring: str, replacement: str) -> str:
    if len(substring) > 1 and substring.startswith("/") and substring.endswith("/"):
        return gotext.regex_replace(text, substring[1:-1], replacement)
    return _plain_replace(text, substring, replacement)


def _chomp(text: str) -> str:
    return re.sub(r"(?:\r\n?|\n)*\Z", "", text, count=1)


def _strrev(text: str) -> str:
    return "".join(reversed(gotext.graphemes(text)))


@per_option
def _indent(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
    if bad := _arity(call, args, 2):
        return bad
    spaces = _whole_argument(call, args[0])
    text = _string_argument(call, args[1])
    if isinstance(spaces, Unknown):
        return spaces
    if isinstance(text, Unknown):
        return text
    if spaces < 0:
        return failed(call, "indent() needs a number of spaces of 0 or more")
    return computed(call, _plain_replace(text, "\n", "\n" + " " * min(spaces, gotext.MAX_STRING)))


@per_option
def _substr(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
    if bad := _arity(call, args, 3):
        return bad
    text = _string_argument(call, args[0])
    offset, length = _whole_argument(call, args[1]), _whole_argument(call, args[2])
    if isinstance(text, Unknown):
        return text
    if isinstance(offset, Unknown):
        return offset
    if isinstance(length, Unknown):
        return length
    return computed(call, gotext.substr(text, offset, length))


@per_option
def _split(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
    if bad := _arity(call, args, 2):
        return bad
    separator, text = _string_argument(call, args[0]), _string_argument(call, args[1])
    if isinstance(separator, Unknown):
        return separator
    if isinstance(text, Unknown):
        return text
    if (len(text) if separator == "" else text.count(separator)) >= MAX_ELEMENTS:
        return unknown(call, f"split() into more than {MAX_ELEMENTS:,} parts")
    parts = list(text) if separator == "" else text.split(separator)
    return ListValue(tuple(computed(call, part) for part in parts), call.location, "list")


def _enumerated_texts(call: Call, items: list[Value]) -> list[list[str]] | Unknown:
    """Every way the elements can be, as lists of strings (maybe-elements present or absent)."""
    combinations: list[list[str]] = [[]]
    for item in items:
        converted = _as_string_element(item)
        if converted is None:
            return failed(call, f"{call.name}() takes strings")
        inner, maybe = _unwrap(converted)
        if isinstance(inner, Unknown):
            return carried(call, inner)
        choices: list[list[str]] = []
        for option in options(inner):
            # A known element converts to a string or stays null (_as_string_element).
            if not isinstance(option, Known) or not isinstance(option.value, str):
                if isinstance(option, Unknown):
                    return carried(call, option)
                return failed(call, f"{call.name}() takes strings (not null)")
            choices.append([option.value])
        if maybe:
            choices.append([])
        if len(choices) == 1:  # in place: copying every combination per element would be quadratic
            for done in combinations:
                done.extend(choices[0])
            continue
        combinations = [done + choice for done in combinations for choice in choices]
        if len(combinations) > MAX_COMBINATIONS:
            return unknown(call, "too many alternatives")
    return combinations


@per_option
def _join(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
    if bad := _arity(call, args, 2, None):
        return bad
    separator = _string_argument(call, args[0])
    if isinstance(separator, Unknown):
        return separator
    items: list[Value] = []
    for arg in args[1:]:
        if isinstance(arg, Unknown):
            return carried(call, arg)
        found = elements(arg)
        if found is None:
            return failed(call, "join() takes lists of strings")
        items.extend(found)
    combinations = _enumerated_texts(call, items)
    if isinstance(combinations, Unknown):
        return combinations
    results = []
    for texts in combinations:
        if sum(map(len, texts)) + len(separator) * len(texts) > gotext.MAX_STRING:
            return unknown(call, "the result would be longer than 10 MB")
        results.append(computed(call, separator.join(texts)))
    return one_of(results)


@per_option
def _startswith(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
    if bad := _arity(call, args, 2):
        return bad
    prefix = _string_argument(call, args[1])
    if prefix == "" and isinstance(args[0], Unknown):
        return computed(call, True)  # every string starts with ""
    text = _string_argument(call, args[0])
    if isinstance(text, Unknown):
        return text
    if isinstance(prefix, Unknown):
        return prefix
    return computed(call, text.startswith(prefix))


# ---- format ------------------------------------------------------------------------------


class _UnknownPart(Exception):
    def __init__(self, part: Unknown) -> None:
        self.part = part


_ABSENT = object()


def _pykey(value: PyValue) -> Any:
    if isinstance(value, list):
        return ("list", tuple(_pykey(v) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple(sorted((k, _pykey(v)) for k, v in value.items())))
    return (type(value).__name__, value)


def _alternatives(value: Value, limit: int = MAX_OPTIONS) -> list[PyValue]:
    """Every plain Python value ``value`` may be (options and maybe-elements enumerated);
    _UnknownPart at an unknown part, NotEvaluated past ``limit`` alternatives."""
    if isinstance(value, Known):
        return [value.value]
    if isinstance(value, Unknown):
        raise _UnknownPart(value)
    if isinstance(value, Maybe):
        return _alternatives(value.value, limit)
    if isinstance(value, OneOf):
        found: dict[Any, PyValue] = {}
        for option in value.options:
            for alternative in _alternatives(option, limit):
                found.setdefault(_pykey(alternative), alternative)
        return _bounded(list(found.values()), limit)
    if isinstance(value, ListValue):
        lists: list[list[PyValue]] = [[]]
        for item in value.items:
            choices = _alternatives(item, limit) + ([_ABSENT] if isinstance(item, Maybe) else [])
            if len(choices) == 1:  # the common case, in place: copying would be quadratic
                for done in lists:
                    done.append(choices[0])
            else:
                lists = _bounded([done + ([] if c is _ABSENT else [c]) for done in lists for c in choices], limit)
        return lists
    objects: list[dict[str, PyValue]] = [{}]
    for name, item in value.items:
        choices = _alternatives(item, limit)
        if len(choices) == 1:
            for partial in objects:
                partial[name] = choices[0]
        else:
            objects = _bounded([{**partial, name: c} for partial in objects for c in choices], limit)
    return objects


def _bounded(found: list[Any], limit: int) -> list[Any]:
    if len(found) > limit:
        raise NotEvaluated("too many alternatives")
    return found


def _argument_alternatives(call: Call, args: list[Value]) -> list[list[PyValue]] | Unknown:
    try:
        combinations: list[list[PyValue]] = [[]]
        for arg in args:
            choices = _alternatives(arg)
            combinations = _bounded([[*done, c] for done in combinations for c in choices], MAX_OPTIONS)
    except _UnknownPart as part:
        return carried(call, part.part)
    return combinations


@per_option
def _format(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
    if bad := _arity(call, args, 1, None):
        return bad
    spec = _string_argument(call, args[0], "a format string")
    if isinstance(spec, Unknown):
        return spec
    combinations = _argument_alternatives(call, args[1:])
    if isinstance(combinations, Unknown):
        return combinations
    return one_of([computed(call, gotext.go_format(spec, values)) for values in combinations])


@per_option
def _formatlist(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
    if bad := _arity(call, args, 1, None):
        return bad
    spec = _string_argument(call, args[0], "a format string")
    if isinstance(spec, Unknown):
        return spec
    values = args[1:]
    # The elements of each list argument, by its position: row n of the result takes element n of every one.
    sequences = {i: arg.items for i, arg in enumerate(values) if isinstance(arg, ListValue)}
    lists = list(sequences)
    if any(isinstance(arg, Unknown) for arg in values):
        return carried(call, next(arg for arg in values if isinstance(arg, Unknown)))
    if not lists:
        return ListValue((_format(evaluator, call, list(args)),), call.location, "list")
    uncertain = [i for i, items in sequences.items() if not _all_certain(items)]
    if uncertain and len(lists) > 1:
        return unknown(call, "formatlist() over several lists whose lengths are not known statically")
    if len({len(items) for items in sequences.values()}) > 1:
        return failed(call, "formatlist(): the lists differ in length")
    out: list[Value] = []
    for position in range(len(sequences[lists[0]])):
        row = list(values)
        for i, items in sequences.items():
            row[i] = items[position]
        element, maybe = _unwrap(row[lists[0]]) if len(lists) == 1 else (row[lists[0]], False)
        if isinstance(element, Unknown):
            out.append(carried(call, element))
            continue
        if len(lists) == 1:
            row[lists[0]] = element
        result = _format(evaluator, call, [args[0], *row])
        out.append(_maybe(result) if maybe else result)
    return ListValue(tuple(out), call.location, "list")


# ---- encodings ---------------------------------------------------------------------------


def _encoder(encode: Callable[[PyValue], str]) -> Function:
    @per_option
    def apply(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
        if bad := _arity(call, args, 1):
            return bad
        combinations = _argument_alternatives(call, args)
        if isinstance(combinations, Unknown):
            return combinations
        return one_of([computed(call, encode(values[0])) for values in combinations])

    return apply


def _decoded(call: Call, data: PyValue) -> Value:
    """A decoded JSON or YAML document as values located at the call."""
    if isinstance(data, gotext.Unevaluated):
        return unknown(call, data.reason)
    if isinstance(data, dict):
        items = sorted(((name, _decoded(call, item)) for name, item in data.items()), key=lambda pair: pair[0])
        return ObjectValue(tuple(items), call.location)
    if isinstance(data, list):
        return ListValue(tuple(_decoded(call, item) for item in data), call.location)
    return computed(call, data)


def _json_document(text: str) -> PyValue:
    import json

    def reject(constant: str) -> None:
        raise GoError(f"{constant} is not JSON")

    counted = [0]

    def number(text: str) -> int | float:
        value = gotext.parse_number(text)
        if value is None:
            raise GoError(f"{text} is not a JSON number")
        return value

    def count(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        counted[0] += len(pairs) + 1
        if counted[0] > MAX_DECODED_VALUES:
            raise NotEvaluated(f"more than {MAX_DECODED_VALUES:,} values")
        return dict(pairs)

    from orgtrust_lint.catalog import expanded_size

    try:
        data = json.loads(text, parse_constant=reject, parse_float=number, parse_int=number, object_pairs_hook=count)
    except ValueError as exc:
        raise GoError(f"not valid JSON: {str(exc).splitlines()[0]}") from None
    try:
        expanded_size(data, MAX_DECODED_VALUES)
    except ValueError:
        raise NotEvaluated(f"more than {MAX_DECODED_VALUES:,} values") from None
    return data


@per_option
def _jsondecode(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
    if bad := _arity(call, args, 1):
        return bad
    text = _string_argument(call, args[0])
    if isinstance(text, Unknown):
        return text
    return _decoded(call, _json_document(text))


@per_option
def _yamldecode(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
    if bad := _arity(call, args, 1):
        return bad
    text = _string_argument(call, args[0])
    if isinstance(text, Unknown):
        return text
    return _decoded(call, gotext.yaml_decode(text, MAX_DECODED_VALUES))


def _base64encode(text: str) -> str:
    return base64.b64encode(text.encode("utf-8", "surrogatepass")).decode()


def _base64decode(text: str) -> str:
    try:
        data = base64.b64decode(text.replace("\r", "").replace("\n", ""), validate=True)
    except (binascii.Error, ValueError):
        raise GoError("base64decode(): the string is not valid base64") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise GoError("base64decode(): the decoded bytes are not UTF-8") from None


# ---- files and templates -----------------------------------------------------------------


def _allowed_root(evaluator: Evaluator) -> str:
    return os.path.realpath(evaluator.module.allowed_root or evaluator.module.directory)


def _local_path(evaluator: Evaluator, call: Call, value: Value) -> tuple[str, str] | Unknown:
    """(the path as written, its real path inside the allowed root)."""
    path = _string_argument(call, value, "a path")
    if isinstance(path, Unknown):
        return path
    if "\0" in path:
        return failed(call, "a path cannot contain a NUL character")
    written = os.path.normpath(os.path.expanduser(path))
    real = os.path.realpath(written)
    root = _allowed_root(evaluator)
    if real != root and not real.startswith(root.rstrip(os.sep) + os.sep):
        return unknown(call, f"{path} is outside the directory being linted; it is not read")
    return written, real


def _read_text(evaluator: Evaluator, call: Call, value: Value) -> tuple[str, str] | Unknown:
    """(the path as written, the file's text); unknown (an error where Terraform fails too)."""
    from orgtrust_lint.files import SkipFile, read_file  # MAX_FILE_BYTES, no FIFOs

    located = _local_path(evaluator, call, value)
    if isinstance(located, Unknown):
        return located
    written, real = located
    if not os.path.lexists(real):
        reads.note(real, reads.ABSENT)
        return failed(call, f"no file exists at {written}")
    if os.path.isdir(real):
        reads.note(real, reads.DIRECTORY)
        return failed(call, f"{written} is a directory, not a file")
    try:
        data = read_file(real)
    except SkipFile as exc:
        reads.note(real, reads.UNREADABLE)
        return unknown(call, f"{written} is not read: {exc}")
    except OSError as exc:
        reads.note(real, reads.UNREADABLE)
        return unknown(call, f"{written} cannot be read: {exc.strerror or exc}")
    reads.note(real, reads.content_state(data))
    try:
        return written, data.decode("utf-8")
    except UnicodeDecodeError:
        return failed(call, f"the contents of {written} are not valid UTF-8")


@per_option
def _file(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
    if bad := _arity(call, args, 1):
        return bad
    read = _read_text(evaluator, call, args[0])
    return read if isinstance(read, Unknown) else computed(call, read[1])


@per_option
def _fileexists(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
    if bad := _arity(call, args, 1):
        return bad
    located = _local_path(evaluator, call, args[0])
    if isinstance(located, Unknown):
        return located
    written, real = located
    reads.note(real, reads.state_now(real))  # what it holds too: a cache entry compares states
    try:
        status = os.stat(real)
    except FileNotFoundError:
        return computed(call, False)
    except OSError as exc:
        return unknown(call, f"{written} cannot be checked: {exc.strerror or exc}")
    import stat

    if stat.S_ISREG(status.st_mode):
        return computed(call, True)
    return failed(call, f"{written} is not a regular file")


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def _template_function(from_file: bool) -> Function:
    @per_option
    def render(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
        from orgtrust_lint.evaluate.template import (
            Interpolation,
            TemplateError,
            TemplateUnsupported,
            free_names,
            parse_template,
        )

        if bad := _arity(call, args, 2):
            return bad
        source, variables = args
        if from_file:
            read = _read_text(evaluator, call, source)
            if isinstance(read, Unknown):
                return read
            path, text = read
        else:
            given = _string_argument(call, source, "a template")
            if isinstance(given, Unknown):
                return given
            path, text = call.location.path, given
        if isinstance(variables, Unknown):
            return carried(call, variables)
        if not isinstance(variables, ObjectValue):
            return failed(call, f"{call.name}(): the variables must be a map or object")
        bad_name = next((name for name, _ in variables.items if not _IDENTIFIER.fullmatch(name)), None)
        if bad_name is not None:
            return failed(call, f"{call.name}(): {bad_name!r} is not a valid template variable name")
        try:
            nodes = parse_template(path, text)
        except TemplateError as exc:
            return failed(call, f"{call.name}(): {exc}")
        except TemplateUnsupported as exc:
            return unknown(call, f"{call.name}(): {exc} is not evaluated")
        env = dict(variables.items)
        missing = sorted(free_names(nodes) - env.keys())
        if missing:
            return failed(call, f"{call.name}(): the variables have no key {missing[0]!r}")
        inner = _template_evaluator(evaluator)
        if len(nodes) == 1 and isinstance(nodes[0], Interpolation):
            return inner.evaluate(nodes[0].expr, env)  # a lone interpolation keeps its value
        rendered = _Renderer(inner, call).texts(nodes, env)
        if isinstance(rendered, Unknown):
            return rendered
        return one_of([computed(call, text) for text in rendered])

    return render


def _recursive_template(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
    return failed(call, f"{call.name}() cannot be called from inside a template")


def _template_evaluator(evaluator: Evaluator) -> Evaluator:
    """An evaluator that sees only the template's variables (and the functions, minus templates)."""
    from orgtrust_lint.evaluate.evaluator import Evaluator, ModuleValues

    module = evaluator.module
    scope = ModuleValues(module.directory, root=module.root, allowed_root=module.allowed_root)
    functions = {**evaluator.functions, "templatefile": _recursive_template, "templatestring": _recursive_template}
    return Evaluator(scope, functions=functions)


def _interpolated(call: Call, value: Value) -> list[str] | Unknown:
    texts: list[str] = []
    for option in options(value):
        if isinstance(option, Unknown):
            return carried(call, option)
        text = _text(option.value) if isinstance(option, Known) else None
        if text is None:
            return failed(call, "a template interpolates null, a list or an object")
        texts.append(text)
    return texts


# A template's loops may multiply (a for in a for over range(1024)): past this many interpolations,
# texts and iterations the rendering stops and the result is unknown.
MAX_TEMPLATE_STEPS = 100_000


class _Text:
    """A rendered text as fragments: appending is not copying, so a long loop stays linear."""

    def __init__(self, fragments: list[str] | None = None) -> None:
        self.fragments = fragments or []
        self.size = sum(map(len, self.fragments))

    def extend(self, other: _Text) -> None:
        self.fragments.extend(other.fragments)
        self.size += other.size

    def plus(self, other: _Text) -> _Text:
        return _Text([*self.fragments, *other.fragments])


class _Renderer:
    def __init__(self, evaluator: Evaluator, call: Call) -> None:
        self.evaluator = evaluator
        self.call = call
        self.steps = 0

    def texts(self, nodes: tuple[Any, ...], env: dict[str, Value]) -> list[str] | Unknown:
        """Every text the template may render to (at most MAX_OPTIONS)."""
        rendered = self.render(nodes, env)
        if isinstance(rendered, Unknown):
            return rendered
        return list(dict.fromkeys("".join(text.fragments) for text in rendered))

    def render(self, nodes: tuple[Any, ...], env: dict[str, Value]) -> list[_Text] | Unknown:
        from orgtrust_lint.evaluate.template import ForDirective, IfDirective, Interpolation

        call = self.call
        pieces = [_Text()]
        for node in nodes:
            self.steps += 1
            if self.steps > MAX_TEMPLATE_STEPS:
                return unknown(call, f"the template takes more than {MAX_TEMPLATE_STEPS:,} steps to render")
            found: list[_Text] | Unknown
            if isinstance(node, str):
                found = [_Text([node])]
            elif isinstance(node, Interpolation):
                texts = _interpolated(call, self.evaluator.evaluate(node.expr, env))
                found = texts if isinstance(texts, Unknown) else [_Text([text]) for text in texts]
            elif isinstance(node, IfDirective):
                found = self.branch(node, env)
            else:
                assert isinstance(node, ForDirective)
                found = self.loop(node, env)
            if isinstance(found, Unknown):
                return found
            joined = self.joined(pieces, found)
            if isinstance(joined, Unknown):
                return joined
            pieces = joined
        return pieces

    def branch(self, node: Any, env: dict[str, Value]) -> list[_Text] | Unknown:
        condition = self.evaluator.evaluate(node.condition, env)
        decided = truth(condition)
        if decided is not None:
            return self.render(node.then if decided else node.otherwise, env)
        unknown_option = next((o for o in options(condition) if isinstance(o, Unknown)), None)
        if unknown_option is not None:
            return carried(self.call, unknown_option)
        if not all(truth(o) is not None for o in options(condition)):
            return failed(self.call, "a template condition is not a bool")
        then = self.render(node.then, env)
        if isinstance(then, Unknown):
            return then
        otherwise = self.render(node.otherwise, env)
        return otherwise if isinstance(otherwise, Unknown) else then + otherwise

    def loop(self, node: Any, env: dict[str, Value]) -> list[_Text] | Unknown:
        from orgtrust_lint.evaluate.evaluator import iteration_pairs

        call = self.call
        found: list[_Text] = []
        for collection in options(self.evaluator.evaluate(node.collection, env)):
            pairs = iteration_pairs(collection)
            if pairs is None:
                if isinstance(collection, Unknown):
                    return carried(call, collection)
                if isinstance(collection, ListValue):
                    return carried(call, next(item for item in collection.items if isinstance(item, Unknown)))
                return failed(call, "a template loops over a value that is not a collection")
            if any(maybe for _, _, maybe in pairs):
                return unknown(call, "a template loops over elements that may be absent")
            if isinstance(collection, ObjectValue):  # Terraform iterates a map's keys in lexical order
                # An object's keys are Known strings (iteration_pairs); the isinstance is for the type checker.
                pairs = sorted(pairs, key=lambda pair: str(pair[0].value) if isinstance(pair[0], Known) else "")
            texts: list[_Text] = [_Text()]
            for key, element, _ in pairs:
                scope = {**env, node.value_name: element}
                if node.key_name is not None:
                    scope[node.key_name] = key
                body = self.render(node.body, scope)
                if isinstance(body, Unknown):
                    return body
                joined = self.joined(texts, body)
                if isinstance(joined, Unknown):
                    return joined
                texts = joined
            found.extend(texts)
        return found

    def joined(self, before: list[_Text], after: list[_Text]) -> list[_Text] | Unknown:
        if len(after) == 1:  # the common case: append in place
            for text in before:
                text.extend(after[0])
            combined = before
        else:
            distinct: dict[str, _Text] = {}
            for text in (a.plus(b) for a in before for b in after):
                distinct.setdefault("".join(text.fragments), text)
                if len(distinct) > MAX_OPTIONS:
                    return unknown(self.call, "too many alternatives")
            combined = list(distinct.values())
        if any(text.size > gotext.MAX_STRING for text in combined):
            return unknown(self.call, "the result would be longer than 10 MB")
        return combined


# ---- try and can -------------------------------------------------------------------------


def _outcome(value: Value, certain: bool = True) -> str:
    """Whether evaluating ``value`` "fails", "succeeds" or "may fail" (known only at apply time)."""
    if isinstance(value, Known):
        return "succeeds"
    if isinstance(value, Unknown):
        return "fails" if value.error and certain else "may fail"
    if isinstance(value, Maybe):
        return _outcome(value.value, False)
    if isinstance(value, OneOf):
        outcomes = {_outcome(option, certain) for option in value.options}
        return outcomes.pop() if len(outcomes) == 1 else "may fail"
    parts = value.items if isinstance(value, ListValue) else tuple(item for _, item in value.items)
    outcomes = {_outcome(part, certain) for part in parts}
    return "fails" if "fails" in outcomes else "may fail" if "may fail" in outcomes else "succeeds"


def _certain_error(value: Value) -> Unknown | None:
    """The error that makes evaluating ``value`` fail in every case (outside options and
    maybe-elements): [x, local.m.missing] fails as a whole in Terraform."""
    if isinstance(value, Unknown):
        return value if value.error else None
    if isinstance(value, ListValue):
        parts: tuple[Value, ...] = value.items
    elif isinstance(value, ObjectValue):
        parts = tuple(item for _, item in value.items)
    else:
        return None
    for part in parts:
        found = _certain_error(part)
        if found is not None:
            return found
    return None


def _try(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
    if not args:
        return failed(call, "try() needs at least one argument")
    found: list[Value] = []
    for arg in args:
        outcome = _outcome(arg)
        if outcome == "fails":
            continue
        found.append(one_of([o for o in options(arg) if _outcome(o) != "fails"]))
        if outcome == "succeeds":
            return one_of(found)
    if not found:
        return failed(call, "every argument of try() fails")
    return one_of(found)


def _can(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
    if bad := _arity(call, args, 1):
        return bad
    outcome = _outcome(args[0])
    if outcome == "may fail":
        return unknown(call, "whether it succeeds is known only at apply time")
    return computed(call, outcome == "succeeds")


# ---- the table ---------------------------------------------------------------------------


def _strcontains(text: str, substring: str) -> bool:
    return substring in text


FUNCTIONS: dict[str, Function] = {
    # collections
    "concat": _concat,
    "tolist": _collection("list", distinct=False),
    "toset": _collection("set", distinct=True),
    "distinct": _collection("list", distinct=True),
    "tomap": _tomap,
    "flatten": _flatten,
    "sort": _sort,
    "reverse": _reverse,
    "setunion": _setunion,
    "setintersection": _setintersection,
    "setsubtract": _setsubtract,
    "setproduct": _setproduct,
    "compact": _compact,
    "coalesce": _coalesce,
    "coalescelist": _coalescelist,
    "contains": _contains,
    "length": _length,
    "keys": _keys,
    "values": _values,
    "lookup": _lookup,
    "merge": _merge,
    "element": _element,
    "index": _index,
    "slice": _slice,
    "zipmap": _zipmap,
    "range": _range,
    "one": _one,
    "alltrue": _truth_function(want_all=True),
    "anytrue": _truth_function(want_all=False),
    # conversions
    "tostring": _tostring,
    "tonumber": _tonumber,
    "tobool": _tobool,
    # numbers
    "max": _numbers_function("max"),
    "min": _numbers_function("min"),
    "sum": _numbers_function("sum"),
    "abs": _numbers_function("abs"),
    "ceil": _numbers_function("ceil"),
    "floor": _numbers_function("floor"),
    # strings
    "format": _format,
    "formatlist": _formatlist,
    "join": _join,
    "split": _split,
    "replace": _string_function(3, _replace),
    "lower": _string_function(1, gotext.go_lower),
    "upper": _string_function(1, gotext.go_upper),
    "title": _string_function(1, gotext.go_title),
    "trimspace": _string_function(1, lambda text: text.strip(gotext.GO_SPACE)),
    "trim": _string_function(2, lambda text, cutset: text.strip(cutset)),
    "trimprefix": _string_function(2, lambda text, prefix: text.removeprefix(prefix)),
    "trimsuffix": _string_function(2, lambda text, suffix: text.removesuffix(suffix)),
    "chomp": _string_function(1, _chomp),
    "strrev": _string_function(1, _strrev),
    "indent": _indent,
    "substr": _substr,
    "startswith": _startswith,
    "endswith": _string_function(2, lambda text, suffix: text.endswith(suffix)),
    "strcontains": _string_function(2, _strcontains),
    # encodings
    "jsonencode": _encoder(gotext.json_encode),
    "jsondecode": _jsondecode,
    "yamlencode": _encoder(gotext.yaml_encode),
    "yamldecode": _yamldecode,
    "base64encode": _string_function(1, _base64encode),
    "base64decode": _string_function(1, _base64decode),
    # files and templates
    "file": _file,
    "fileexists": _fileexists,
    "templatefile": _template_function(from_file=True),
    "templatestring": _template_function(from_file=False),
    # errors
    "try": _try,
    "can": _can,
}


_CATCHING = ("try", "can")  # the functions that look at their arguments' errors themselves


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
    if call.name not in _CATCHING:
        # Terraform evaluates every argument first: one that fails fails the call, whatever the
        # function would have done with it (contains([], <error>) is an error, not false).
        for arg in args:
            failing = _certain_error(arg)
            if failing is not None:
                return carried(call, failing)
    try:
        return function(evaluator, call, args)
    except GoError as exc:
        return failed(call, f"{call.name}(): {exc}")
    except NotEvaluated as exc:
        return unknown(call, f"{call.name}(): {exc}")
    except RecursionError:
        return unknown(call, f"{call.name}(): nested too deeply")
    except ArithmeticError as exc:  # an infinite or huge number from arithmetic on literals
        return unknown(call, f"{call.name}(): {type(exc).__name__}")
