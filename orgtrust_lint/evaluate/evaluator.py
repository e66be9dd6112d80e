"""Evaluate Terraform expressions statically, as Terraform would where it can know the answer.

The evaluator works on hcl_ast expressions in the scope of one module instance: its variables
(bound by tfvars files, by a caller, or by their defaults), its locals, ``path.*``, and the names
an expression introduces (``each``, ``count``, ``for`` variables, ``dynamic`` iterators). What
depends on apply-time state (resource attributes, data sources, module outputs it cannot follow)
is ``Unknown``; an unknown part makes only its own result unknown, so the literals beside it are
still seen.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from orgtrust_lint.evaluate.values import (
    Known,
    ListValue,
    Maybe,
    ObjectValue,
    Unknown,
    Value,
    one_of,
    options,
    truth,
    via,
    with_origin,
)
from orgtrust_lint.facts import Location
from orgtrust_lint.parse.hcl_ast import (
    Attribute,
    BinaryOp,
    Block,
    Call,
    Conditional,
    Expr,
    ForExpr,
    GetAttr,
    Index,
    Literal,
    ObjectExpr,
    Reference,
    Splat,
    Template,
    TupleExpr,
    UnaryOp,
)

# A for expression or count over more elements than this is summarised, not enumerated.
MAX_ELEMENTS = 10_000


@dataclass
class ModuleValues:
    """What ``var.*``, ``local.*`` and ``path.*`` mean in one module instance."""

    directory: str
    variables: dict[str, Block] = field(default_factory=dict)  # the variable blocks
    locals: dict[str, Attribute] = field(default_factory=dict)
    assigned: dict[str, tuple[Attribute, str]] = field(default_factory=dict)  # name -> (tfvars entry, file name)
    arguments: dict[str, Value] = field(default_factory=dict)  # set by a module call (evaluated by the caller)
    root: str = "."  # path.root: the root module's directory
    # file(), fileexists() and templatefile() read only inside this directory (default: the module's directory)
    allowed_root: str | None = None
    # module.NAME: the value of a call's outputs (an object, or a list or map of them for count and
    # for_each), given whether the caller evaluates every branch; absent for calls it cannot follow.
    modules: dict[str, Callable[[bool], Value]] = field(default_factory=dict)


Function = Callable[["Evaluator", Call, list[Value]], Value]


class Evaluator:
    """Evaluates expressions of one module instance; values of var and local are computed once."""

    def __init__(
        self, module: ModuleValues, all_branches: bool = False, functions: Mapping[str, Function] | None = None
    ) -> None:
        """With ``all_branches`` every conditional is one of its two branches, even one whose
        condition is known: a literal in a branch that is not taken today is still checked."""
        from orgtrust_lint.evaluate.functions import FUNCTIONS

        self.module = module
        self.all_branches = all_branches
        self.functions = FUNCTIONS if functions is None else functions
        self._memo: dict[str, Value] = {}
        self._depends: dict[str, frozenset[str]] = {}  # var/local -> the variables its value uses
        self._active: set[str] = set()
        self._tracking: list[set[str]] = []

    # ---- entry points -------------------------------------------------------------------

    def evaluate(self, expr: Expr, env: Mapping[str, Value] | None = None) -> Value:
        return self._eval(expr, env or {})

    def evaluate_tracking(self, expr: Expr, env: Mapping[str, Value] | None = None) -> tuple[Value, set[str]]:
        """The value and the names of the variables it depends on (through locals too)."""
        self._tracking.append(set())
        try:
            value = self._eval(expr, env or {})
        finally:
            used = self._tracking.pop()
        return value, used

    def _uses(self, names: frozenset[str] | set[str]) -> None:
        for tracked in self._tracking:
            tracked.update(names)

    # ---- expressions --------------------------------------------------------------------

    def _eval(self, expr: Expr, env: Mapping[str, Value]) -> Value:
        if isinstance(expr, Literal):
            return Known(expr.value, expr.location)
        if isinstance(expr, TupleExpr):
            return ListValue(tuple(self._eval(item, env) for item in expr.items), expr.location)
        if isinstance(expr, ObjectExpr):
            return self._object(expr, env)
        if isinstance(expr, Template):
            return self._template(expr, env)
        if isinstance(expr, Reference):
            return self._reference(expr, env)
        if isinstance(expr, Call):
            return self._call(expr, env)
        if isinstance(expr, Conditional):
            return self._conditional(expr, env)
        if isinstance(expr, BinaryOp):
            return self._binary(expr, env)
        if isinstance(expr, UnaryOp):
            return self._unary(expr, env)
        if isinstance(expr, Index):
            return self.index(self._eval(expr.base, env), self._eval(expr.key, env), expr)
        if isinstance(expr, GetAttr):
            return self.attribute(self._eval(expr.base, env), expr.name, expr)
        if isinstance(expr, Splat):
            return self._splat(expr, env)
        if isinstance(expr, ForExpr):
            return self._for(expr, env)
        return Unknown(expr.text, expr.location, "the expression cannot be evaluated statically")

    def _object(self, expr: ObjectExpr, env: Mapping[str, Value]) -> Value:
        items: list[tuple[str, Value]] = []
        for key, value_expr in expr.items:
            if key is None:
                return Unknown(expr.text, expr.location, "an object key is computed")
            items.append((key, self._eval(value_expr, env)))
        return ObjectValue(tuple(items), expr.location)

    def _template(self, expr: Template, env: Mapping[str, Value]) -> Value:
        if len(expr.parts) == 1 and not isinstance(expr.parts[0], str):
            return self._eval(expr.parts[0], env)
        pieces: list[list[str]] = [[]]
        for part in expr.parts:
            if isinstance(part, str):
                pieces = [[*p, part] for p in pieces]
                continue
            value = self._eval(part, env)
            texts: list[str] = []
            for option in options(value):
                text = as_text(option)
                if text is None:
                    reason = option.reason if isinstance(option, Unknown) else "a template interpolates a non-string"
                    return Unknown(
                        expr.text,
                        expr.location,
                        reason,
                        getattr(option, "refers_to", None),
                        error=option.error if isinstance(option, Unknown) else True,
                    )
                texts.append(text)
            pieces = [[*p, t] for p in pieces for t in texts]
            if len(pieces) > 32:
                return Unknown(expr.text, expr.location, "too many alternatives")
        return one_of([Known("".join(p), expr.location) for p in pieces])

    def _call(self, expr: Call, env: Mapping[str, Value]) -> Value:
        from orgtrust_lint.evaluate.functions import call_function

        return call_function(self, expr, [self._eval(arg, env) for arg in expr.args])

    def _conditional(self, expr: Conditional, env: Mapping[str, Value]) -> Value:
        decided = truth(self._eval(expr.condition, env))
        if self.all_branches:
            decided = None
        if decided is True:
            return self._eval(expr.then, env)
        if decided is False:
            return self._eval(expr.otherwise, env)
        return one_of([self._eval(expr.then, env), self._eval(expr.otherwise, env)])

    def _unary(self, expr: UnaryOp, env: Mapping[str, Value]) -> Value:
        def apply(operand: Value) -> Value:
            if not isinstance(operand, Known):
                return _unknown_from(operand, expr)
            if expr.operator == "!":
                flag = truth(operand)
                return Known(not flag, expr.location) if flag is not None else _unknown_from(operand, expr)
            number = as_number(operand)
            return Known(-number, expr.location) if number is not None else _unknown_from(operand, expr)

        return one_of([apply(option) for option in options(self._eval(expr.operand, env))])

    def _binary(self, expr: BinaryOp, env: Mapping[str, Value]) -> Value:
        left = self._eval(expr.left, env)
        if expr.operator in ("&&", "||"):
            decided = truth(left)
            # Terraform evaluates both sides, but a decided left side decides the answer here
            # even when the right side is unknown (false && x is false whatever x is).
            if decided is False and expr.operator == "&&":
                return Known(False, expr.location)
            if decided is True and expr.operator == "||":
                return Known(True, expr.location)
            right_decided = truth(self._eval(expr.right, env))
            if decided is not None and right_decided is not None:
                both = decided and right_decided if expr.operator == "&&" else decided or right_decided
                return Known(both, expr.location)
            if (right_decided is False and expr.operator == "&&") or (right_decided is True and expr.operator == "||"):
                return Known(right_decided, expr.location)
            return Unknown(expr.text, expr.location, "the condition is known only at apply time")
        right = self._eval(expr.right, env)
        results = [
            binary(expr.operator, a, b, expr) for a in options(left) for b in options(right) if len(options(left)) < 9
        ]
        return one_of(results) if results else Unknown(expr.text, expr.location, "too many alternatives")

    def _splat(self, expr: Splat, env: Mapping[str, Value]) -> Value:
        base = self._eval(expr.base, env)

        def traverse(element: Value) -> Value:
            for step in expr.traversal:
                if isinstance(step, str):
                    element = self.attribute(element, step, expr)
                else:
                    element = self.index(element, self._eval(step, env), expr)
            return element

        results: list[Value] = []
        for option in options(base):
            if isinstance(option, ListValue):
                results.append(ListValue(tuple(_map_element(item, traverse) for item in option.items), option.location))
            elif isinstance(option, Known) and option.value is None:
                results.append(ListValue((), option.location))
            elif isinstance(option, Unknown):
                results.append(ListValue((_unknown_from(option, expr),), expr.location))
            else:
                results.append(ListValue((traverse(option),), expr.location))
        return one_of(results)

    def _for(self, expr: ForExpr, env: Mapping[str, Value]) -> Value:
        results = [self._for_one(expr, env, option) for option in options(self._eval(expr.collection, env))]
        return one_of(results)

    def _for_one(self, expr: ForExpr, env: Mapping[str, Value], collection: Value) -> Value:
        pairs = iteration_pairs(collection)
        if pairs is None:
            unknown = _unknown_from(collection, expr)
            return (
                ListValue((unknown,), expr.location)
                if expr.key is None
                else Unknown(expr.text, expr.location, unknown.reason, unknown.refers_to, unknown.error)
            )
        tuple_items: list[Value] = []
        object_items: dict[str, list[Value]] = {}
        object_order: list[str] = []
        uncertain_keys = False
        for key, element, maybe in pairs[:MAX_ELEMENTS]:
            inner = dict(env)
            if expr.key_name is not None:
                inner[expr.key_name] = key
            inner[expr.value_name] = element
            keep = True
            if expr.condition is not None:
                decided = truth(self._eval(expr.condition, inner))
                if decided is False:
                    continue
                keep = decided is True
            present = keep and not maybe
            if expr.key is None:
                value = self._eval(expr.value, inner)
                tuple_items.append(value if present else Maybe(value))
                continue
            key_value = self._eval(expr.key, inner)
            if not isinstance(key_value, Known) or key_value.value is None:
                uncertain_keys = True
                continue
            name = as_text(key_value) or ""
            value = self._eval(expr.value, inner)
            if name not in object_items:
                object_items[name] = []
                object_order.append(name)
            object_items[name].append(value if present else Maybe(value))
        if len(pairs) > MAX_ELEMENTS:
            tuple_items.append(Unknown(expr.text, expr.location, f"more than {MAX_ELEMENTS:,} elements"))
        if expr.key is None:
            return ListValue(tuple(tuple_items), expr.location)
        if uncertain_keys:
            return Unknown(expr.text, expr.location, "an object key is known only at apply time")
        items: list[tuple[str, Value]] = []
        for name in object_order:
            values = object_items[name]
            if expr.grouping:
                items.append((name, ListValue(tuple(values), expr.location)))
            else:
                last = values[-1]
                items.append((name, last.value if isinstance(last, Maybe) else last))
        return ObjectValue(tuple(items), expr.location)

    # ---- references ---------------------------------------------------------------------

    def _reference(self, expr: Reference, env: Mapping[str, Value]) -> Value:
        parts = expr.parts
        head = parts[0]
        if head in env:
            return self.traverse(env[head], parts[1:], expr)
        if head == "var" and len(parts) >= 2:
            value = self.variable(parts[1], expr)
            return self.traverse(value, parts[2:], expr)
        if head == "local" and len(parts) >= 2:
            value = self.local(parts[1], expr)
            return self.traverse(value, parts[2:], expr)
        if head == "path" and len(parts) == 2 and parts[1] in ("module", "root", "cwd"):
            directory = {"module": self.module.directory, "root": self.module.root, "cwd": os.getcwd()}[parts[1]]
            return Known(directory, expr.location, f"path.{parts[1]}")
        if head in ("each", "count", "self"):
            return Unknown(expr.text, expr.location, f"{head} is known only per instance at apply time")
        if head == "data" and len(parts) >= 3:
            address = ".".join(parts[:3])
            return Unknown(expr.text, expr.location, "a data source is read at apply time", address)
        if head == "module" and len(parts) >= 2:
            call = self.module.modules.get(parts[1])
            if call is not None:
                outputs = via(call(self.all_branches), expr.location)
                if len(parts) >= 3 and all(
                    isinstance(o, ObjectValue) and o.get(parts[2]) is None for o in options(outputs)
                ):
                    # The prefilter reads a module's outputs only with the files that matter to a check:
                    # an output not read is not known here (never an error that hides what is known).
                    reason = f"output {parts[2]!r} of module.{parts[1]} is not read"
                    return Unknown(expr.text, expr.location, reason, ".".join(parts[:3]))
                return self.traverse(outputs, parts[2:], expr)
            return Unknown(expr.text, expr.location, "a module output is not followed", ".".join(parts[:2]))
        address = ".".join(parts[:2])
        return Unknown(expr.text, expr.location, "it refers to a value known only at apply time", address)

    def variable(self, name: str, use: Expr) -> Value:
        key = f"var.{name}"
        self._uses({name})
        if key not in self._memo:
            if key in self._active:
                return Unknown(use.text, use.location, f"{key} refers to itself")
            self._memo[key] = self._computed(key, lambda: self._variable_value(name, use))
        return _at_use(self._memo[key], use)

    def _computed(self, key: str, compute: Callable[[], Value]) -> Value:
        """Compute a var or local once, remembering which variables it used."""
        self._active.add(key)
        self._tracking.append(set())
        try:
            value = compute()
        finally:
            used = self._tracking.pop()
            self._active.discard(key)
        self._depends[key] = frozenset(used)
        self._uses(used)
        return value

    def _variable_value(self, name: str, use: Expr) -> Value:
        if name in self.module.arguments:
            return self.module.arguments[name]
        if name in self.module.assigned:
            attribute, filename = self.module.assigned[name]
            return with_origin(self._eval(attribute.value, {}), f"var.{name} set in {filename}")
        declaration = self.module.variables.get(name)
        # "var" marks an unknown that _at_use places at each use of the variable.
        if declaration is None:
            return Unknown("var", use.location, f"variable {name!r} is not declared in this module")
        default = declaration.attributes.get("default")
        if default is None:
            return Unknown(
                "var", use.location, f"var.{name} has no default and is not set in terraform.tfvars or *.auto.tfvars"
            )
        return with_origin(self._eval(default.value, {}), f"default of var.{name}")

    def local(self, name: str, use: Expr) -> Value:
        key = f"local.{name}"
        if key in self._memo:
            self._uses(self._depends.get(key, frozenset()))
        else:
            attribute = self.module.locals.get(name)
            if attribute is None:
                return Unknown(use.text, use.location, f"{key} is not defined in this module")
            if key in self._active:
                return Unknown(use.text, use.location, f"{key} refers to itself")
            self._memo[key] = self._computed(key, lambda: with_origin(self._eval(attribute.value, {}), key))
        return via(self._memo[key], use.location)

    # ---- traversal ----------------------------------------------------------------------

    def traverse(self, value: Value, names: tuple[str, ...], expr: Expr) -> Value:
        for name in names:
            value = self.attribute(value, name, expr)
        return value

    def attribute(self, value: Value, name: str, expr: Expr) -> Value:
        def one(option: Value) -> Value:
            if isinstance(option, ObjectValue):
                found = option.get(name)
                if found is None:
                    return Unknown(expr.text, expr.location, f"the object has no attribute {name!r}", error=True)
                return found
            if isinstance(option, Unknown):
                refers = option.refers_to
                if refers is not None and refers.startswith("data.aws_iam_policy_document.") and name == "json":
                    return Unknown(expr.text, expr.location, "the JSON of a policy document", refers)
                return Unknown(expr.text, expr.location, option.reason, refers, option.error)
            return Unknown(expr.text, expr.location, f"{name!r} is not an attribute of this value", error=True)

        return one_of([one(option) for option in options(value)])

    def index(self, value: Value, key: Value, expr: Expr) -> Value:
        def one(option: Value, key_option: Value) -> Value:
            if isinstance(option, Unknown):
                return Unknown(expr.text, expr.location, option.reason, option.refers_to, option.error)
            if not isinstance(key_option, Known):
                return _unknown_from(key_option, expr)
            if isinstance(option, ObjectValue):
                found = option.get(as_text(key_option) or "")
                return found if found is not None else Unknown(expr.text, expr.location, "no such key", error=True)
            if isinstance(option, ListValue):
                number = as_number(key_option)
                if number is None or number != int(number):
                    return Unknown(expr.text, expr.location, "a list index must be a whole number", error=True)
                if any(isinstance(item, (Maybe, Unknown)) for item in option.items):
                    return Unknown(expr.text, expr.location, "the list's length is not known statically")
                position = int(number)
                if not 0 <= position < len(option.items):
                    return Unknown(expr.text, expr.location, "the index is out of range", error=True)
                return option.items[position]
            return Unknown(expr.text, expr.location, "only lists and maps can be indexed", error=True)

        return one_of([one(o, k) for o in options(value) for k in options(key)])


# ---- helpers shared with the function library ------------------------------------------


def as_text(value: Value) -> str | None:
    """A primitive as Terraform converts it to a string, or None."""
    if not isinstance(value, Known) or value.value is None:
        return None
    if isinstance(value.value, bool):
        return "true" if value.value else "false"
    if isinstance(value.value, float) and value.value.is_integer():
        return str(int(value.value))
    return str(value.value)


def as_number(value: Value) -> float | int | None:
    if not isinstance(value, Known) or isinstance(value.value, bool) or value.value is None:
        return None
    if isinstance(value.value, (int, float)):
        return value.value
    try:
        number = float(value.value)
    except ValueError:
        return None
    if not math.isfinite(number):
        return None
    return int(number) if number.is_integer() else number


def _at_use(value: Value, use: Expr) -> Value:
    """A variable's value as seen at one use: its literals remember the use site, and a variable
    that nothing sets is reported where it is used (an unknown inside its default or tfvars
    value stays where it is written, reported once however often it is used)."""
    if isinstance(value, Unknown) and value.expression == "var":
        return Unknown(use.text, use.location, value.reason, value.refers_to)
    return via(value, use.location)


def _unknown_from(value: Value, expr: Expr) -> Unknown:
    if isinstance(value, Unknown):
        return Unknown(expr.text, expr.location, value.reason, value.refers_to, value.error)
    return Unknown(expr.text, expr.location, "a value of the wrong type", error=True)


def _map_element(item: Value, function: Callable[[Value], Value]) -> Value:
    if isinstance(item, Maybe):
        return Maybe(function(item.value))
    if isinstance(item, Unknown):
        return item
    return function(item)


def iteration_pairs(collection: Value) -> list[tuple[Value, Value, bool]] | None:
    """(key, element, may be absent) for every element of a list or object; None when the
    collection's elements cannot be known (then an iteration yields unknown elements)."""
    if isinstance(collection, ListValue):
        pairs: list[tuple[Value, Value, bool]] = []
        for position, item in enumerate(collection.items):
            if isinstance(item, Unknown):
                return None
            maybe = isinstance(item, Maybe)
            element = item.value if isinstance(item, Maybe) else item
            key: Value = element if collection.kind == "set" else Known(position, collection.location)
            pairs.append((key, element, maybe))
        return pairs
    if isinstance(collection, ObjectValue):
        return [
            (Known(name, _location_of(value, collection.location)), value, False) for name, value in collection.items
        ]
    return None


def _location_of(value: Value, fallback: Location) -> Location:
    if isinstance(value, (Known, ListValue, ObjectValue, Unknown)):
        return value.location
    return fallback


def binary(operator: str, left: Value, right: Value, expr: Expr) -> Value:
    """One binary operation on primitives; unknown when an operand is."""
    if operator in ("==", "!="):
        if isinstance(left, Unknown) or isinstance(right, Unknown):
            return _unknown_from(left if isinstance(left, Unknown) else right, expr)
        if isinstance(left, Known) and isinstance(right, Known):
            equal = left.value == right.value and type(left.value) is type(right.value)
            if isinstance(left.value, (int, float)) and isinstance(right.value, (int, float)):
                equal = left.value == right.value and not isinstance(left.value, bool)
            return Known(equal == (operator == "=="), expr.location)
        return Unknown(expr.text, expr.location, "collections are compared at apply time")
    a, b = as_number(left), as_number(right)
    if a is None or b is None:
        return _unknown_from(left if not isinstance(left, Known) else right, expr)
    result: Any
    if operator == "<":
        result = a < b
    elif operator == ">":
        result = a > b
    elif operator == "<=":
        result = a <= b
    elif operator == ">=":
        result = a >= b
    elif operator == "+":
        result = a + b
    elif operator == "-":
        result = a - b
    elif operator == "*":
        result = a * b
    elif operator == "/":
        if b == 0:
            return Unknown(expr.text, expr.location, "division by zero", error=True)
        result = a / b
    elif operator == "%":
        if b == 0:
            return Unknown(expr.text, expr.location, "division by zero", error=True)
        result = math.fmod(a, b)
    else:
        return Unknown(expr.text, expr.location, f"the operator {operator} is not evaluated")
    if isinstance(result, float) and result.is_integer() and not isinstance(result, bool):
        result = int(result)
    return Known(result, expr.location)
