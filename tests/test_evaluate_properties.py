"""Properties of the expression evaluator (issue 16), over generated Terraform expressions.

- Any expression of the supported grammar (literals, references, conditionals, operators, for
  expressions, index, splat, templates, calls of any function with any arguments) evaluates
  without raising, in both modes, and its leaves and certain strings can be read.
- An expression made only of literals evaluates to exactly the value written, and every
  primitive in the result is located at the text of its own literal.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from orgtrust_lint.evaluate.evaluator import Evaluator, ModuleValues
from orgtrust_lint.evaluate.functions import FUNCTIONS
from orgtrust_lint.evaluate.values import Known, ListValue, ObjectValue, Value, leaves, must_strings
from orgtrust_lint.facts import Location
from orgtrust_lint.parse.hcl_ast import HclSyntaxError
from orgtrust_lint.parse.hcl_parser import parse_hcl

SETTINGS = settings(max_examples=150, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SCOPE = """
variable "flag" {
  default = true
}
variable "names" {
  default = ["sso", "config"]
}
variable "unset" {}
locals {
  services = ["sso.amazonaws.com", "config.amazonaws.com"]
  by_team  = { a = "guardduty.amazonaws.com", b = "detective.amazonaws.com" }
  unknown  = data.aws_ssm_parameter.p.value
}
"""

names = st.sampled_from(["alpha", "b", "sso", "config", "amazonaws.com"])
strings = st.text(alphabet="abcxyz.-_ ", max_size=12)
literals = st.one_of(
    strings.map(json.dumps),
    st.integers(-5, 20).map(str),
    st.sampled_from(["true", "false", "null", "1.5"]),
)
references = st.sampled_from(
    [
        "var.flag",
        "var.names",
        "var.unset",
        "var.missing",
        "local.services",
        "local.by_team",
        "local.unknown",
        "local.nope",
        "each.key",
        "each.value",
        "count.index",
        "data.aws_caller_identity.current.account_id",
        "module.m.out",
        "aws_s3_bucket.b[0].arn",
        "path.module",
    ]
)
operators = st.sampled_from(["==", "!=", "<", ">", "<=", ">=", "&&", "||", "+", "-", "*", "/", "%"])
functions = st.sampled_from([*sorted(FUNCTIONS), "no_such_function"])


def _expressions(leaf: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.lists(inner, max_size=4).map(lambda items: "[" + ", ".join(items) + "]"),
            st.lists(st.tuples(names, inner), max_size=3).map(
                lambda pairs: "{" + ", ".join(f'"{k}" = {v}' for k, v in pairs) + "}"
            ),
            st.tuples(inner, inner, inner).map(lambda t: f"({t[0]} ? {t[1]} : {t[2]})"),
            st.tuples(inner, operators, inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            inner.map(lambda e: f"!({e})"),
            st.tuples(functions, st.lists(inner, max_size=3)).map(lambda t: f"{t[0]}({', '.join(t[1])})"),
            st.tuples(inner, inner).map(lambda t: f"({t[0]})[{t[1]}]"),
            inner.map(lambda e: f"({e})[*].x"),
            st.tuples(inner, inner).map(lambda t: f"[for v in {t[0]} : {t[1]}]"),
            st.tuples(inner, inner).map(lambda t: f"{{for k, v in {t[0]} : k => {t[1]}}}"),
            inner.map(lambda e: f'"pre-${{{e}}}-post"'),
        )

    return st.recursive(leaf, extend, max_leaves=12)


def _evaluators() -> tuple[Evaluator, Evaluator, dict[str, Any]]:
    document = parse_hcl("main.tf", SCOPE)
    variables = {b.labels[0]: b for b in document.blocks if b.type == "variable"}
    locals_ = {k: v for b in document.blocks if b.type == "locals" for k, v in b.attributes.items()}
    values = ModuleValues(".", variables, locals_)
    return Evaluator(values, all_branches=True), Evaluator(values, all_branches=False), {}


@SETTINGS
@given(_expressions(st.one_of(literals, references)))
def test_any_expression_evaluates_without_raising(text: str) -> None:
    try:
        document = parse_hcl("main.tf", f"x = {text}\n")
    except HclSyntaxError:
        assume(False)
        return
    expression = document.attributes["x"].value
    may, must, _ = _evaluators()
    each = ObjectValue((("key", Known("k", _HERE)), ("value", Known("v", _HERE))), _HERE)
    for evaluator in (may, must):
        for env in ({}, {"each": each}):
            value = evaluator.evaluate(expression, env)
            assert all(leaf.value is not None for leaf in leaves(value))
            must_strings(value)


_HERE = Location.point("main.tf", 1)

plain_strings = st.text(alphabet="abcdefxyz.-_ :/", max_size=15)
literal_values = st.recursive(
    st.one_of(plain_strings, st.integers(-1000, 1000), st.booleans()),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True), inner)
    ),
    max_leaves=10,
)


def _written(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, str)):
        return json.dumps(value)
    if isinstance(value, list):
        return "[\n" + ",\n".join(_written(v) for v in value) + "\n]"
    return "{\n" + "\n".join(f"{k} = {_written(v)}" for k, v in value.items()) + "\n}"


def _plain(value: Value) -> Any:
    if isinstance(value, Known):
        return value.value
    if isinstance(value, ListValue):
        return [_plain(v) for v in value.items]
    if isinstance(value, ObjectValue):
        return {k: _plain(v) for k, v in value.items}
    raise AssertionError(f"a literal evaluated to {value!r}")


@SETTINGS
@given(literal_values)
def test_a_literal_expression_evaluates_to_exactly_what_is_written(written: Any) -> None:
    source = f"x = {_written(written)}\n"
    expression = parse_hcl("main.tf", source).attributes["x"].value
    may, must, _ = _evaluators()
    lines = source.split("\n")
    for evaluator in (may, must):
        value = evaluator.evaluate(expression)
        assert _plain(value) == written
        for leaf in leaves(value):
            assert leaf.certain
            known = leaf.value
            assert isinstance(known, Known)
            where = known.location
            assert where.line == where.end_line
            text = lines[where.line - 1][where.column - 1 : where.end_column - 1]
            assert text == _written(known.value), (text, known)
