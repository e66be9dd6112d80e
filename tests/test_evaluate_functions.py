"""Terraform's built-in functions evaluated statically: values as Terraform computes them (the
expected values without unknown parts were compared with terraform console 1.11), and provenance:
an element a function passes through keeps its literal's location, a value it computes is located
at the call."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orgtrust_lint.evaluate.evaluator import Evaluator, ModuleValues
from orgtrust_lint.evaluate.values import Known, ListValue, Maybe, ObjectValue, OneOf, Unknown, Value, leaves
from orgtrust_lint.files import MAX_FILE_BYTES
from orgtrust_lint.parse.hcl_ast import Call, Expr, Literal
from orgtrust_lint.parse.hcl_parser import parse_hcl

PREFIX = "x = "
UNKNOWN = "?"  # known only at apply time (or not reproduced statically)
ERROR = "!"  # Terraform reports an error


def parse(expression: str) -> Expr:
    return parse_hcl("main.tf", f"{PREFIX}{expression}\n").attributes["x"].value


def evaluate(expression: str, directory: str = ".", **module: Any) -> Value:
    return Evaluator(ModuleValues(directory, **module)).evaluate(parse(expression))


def plain(value: Value) -> Any:
    """A value as plain data: unknown parts as "?" (or "!" for an error), maybe-elements and options tagged."""
    if isinstance(value, Known):
        return value.value
    if isinstance(value, Unknown):
        return ERROR if value.error else UNKNOWN
    if isinstance(value, Maybe):
        return ("maybe", plain(value.value))
    if isinstance(value, OneOf):
        return ("oneof", [plain(option) for option in value.options])
    if isinstance(value, ListValue):
        return [plain(item) for item in value.items]
    assert isinstance(value, ObjectValue)
    return {name: plain(item) for name, item in value.items}


def maybe(value: Any) -> tuple[str, Any]:
    return ("maybe", value)


def oneof(*values: Any) -> tuple[str, list[Any]]:
    return ("oneof", list(values))


VALUES: list[tuple[str, Any]] = [
    # concat, flatten, reverse
    ('concat(["a"], ["b", "c"])', ["a", "b", "c"]),
    ('concat(["a"], data.x.ids, ["b"])', ["a", UNKNOWN, "b"]),
    ('concat(["a"], "b")', ERROR),
    ("concat()", ERROR),
    ('flatten([["a"], [["b"]], [], "c"])', ["a", "b", "c"]),
    ('flatten([["a"], data.x.ids])', ["a", UNKNOWN]),
    ('flatten("a")', ERROR),
    ('reverse(["a", "b", 1])', [1, "b", "a"]),
    ('reverse(["a", data.x.ids])', [UNKNOWN, "a"]),
    ('reverse("ab")', ERROR),
    # distinct, sort, toset, tolist, tomap
    ('distinct(["b", "a", "b"])', ["b", "a"]),
    ('distinct(["b", "a", 1])', ["b", "a", "1"]),  # a list of one type: the number becomes a string
    ("distinct([[1], [1], [2]])", [[1], [2]]),
    ('distinct(["a", data.x.ids, "a"])', ["a", UNKNOWN]),
    ('sort(["b", "a", "B", "10", "9"])', ["10", "9", "B", "a", "b"]),
    ("sort([3, 11, 2])", ["11", "2", "3"]),  # strings, sorted as strings
    ('sort(["b", null])', ERROR),
    ('sort(["b", data.x.ids, "a"])', ["a", "b", UNKNOWN]),
    ('toset(["b", "a", "b"])', ["a", "b"]),
    ("toset([3, 1, 2])", [1, 2, 3]),
    ("toset([true, false, true])", [False, True]),
    ('tolist(["a", 1, true])', ["a", "1", "true"]),
    ('tolist(["a", ["b"]])', ERROR),
    ("tolist(null)", None),
    ('tomap({a = 1, b = "x"})', {"a": "1", "b": "x"}),
    ("tomap({a = 1, b = [1]})", ERROR),
    # set operations with unknown and maybe parts
    ('setunion(["b"], ["a", "c"], ["a"])', ["a", "b", "c"]),
    ('setunion(["a"], data.x.ids)', ["a", UNKNOWN]),
    ('setintersection(["a", "b", "c"], ["c", "b"], ["b", "c", "d"])', ["b", "c"]),
    ('setintersection(["a", "b"], data.x.ids)', [maybe("a"), maybe("b")]),
    ('setintersection(["a", "b"], ["b", data.x.ids])', [maybe("a"), "b"]),
    ('setintersection(data.x.ids, data.y.ids, ["a"])', [maybe("a")]),
    ('setintersection(data.x.ids, concat(["a"], data.y.ids))', [maybe("a"), UNKNOWN]),
    ('setintersection(["/a|b/", 10, "1"])', ["/a|b/", "1", "10"]),
    ('setsubtract(["a", "b", "c"], ["b"])', ["a", "c"]),
    ('setsubtract(["a", "b"], data.x.ids)', [maybe("a"), maybe("b")]),
    ('setsubtract(["a", "b"], ["a", data.x.ids])', [maybe("b")]),
    ('setsubtract(["a", "b"], setsubtract(["a", "z"], data.x.ids))', [maybe("a"), "b"]),
    ('setsubtract(concat(["a"], data.x.ids), ["a"])', [UNKNOWN]),
    ('setsubtract([1, 2], ["1"])', ["2"]),
    ('setproduct(["a", "b"], [1, 2])', [["a", 1], ["a", 2], ["b", 1], ["b", 2]]),
    ('setproduct(toset(["b", "a"]), ["x"])', [["a", "x"], ["b", "x"]]),
    ('setproduct(["a"])', ERROR),
    # compact, coalesce, coalescelist
    ('compact(["a", "", null, "b"])', ["a", "b"]),
    ('compact(["a", data.x.ids])', ["a", UNKNOWN]),
    ('compact(["a", var.flag ? "" : "b"])', ["a", maybe("b")]),
    ('coalesce("", null, "a", "b")', "a"),
    ('coalesce(1, "a")', "1"),
    ("coalesce(null, 2)", 2),
    ('coalesce(data.x.id, "a")', oneof(UNKNOWN, "a")),
    ('coalesce("", null)', ERROR),
    ("coalescelist([], [1], [2])", [1]),
    ('coalescelist(data.x.ids, ["a"])', oneof(UNKNOWN, ["a"])),
    ('coalescelist(setsubtract(["a"], data.x.ids), ["b"])', oneof([maybe("a")], ["b"])),
    # contains, length, index, element, slice, one
    ('contains(["a", "b"], "b")', True),
    ('contains(["a"], "b")', False),
    ('contains(["1"], 1)', False),
    ("contains([1, 2], 2.0)", True),
    ('contains([["a"]], ["a"])', True),
    ('contains(["a", data.x.ids], "b")', UNKNOWN),
    ('contains(["b", data.x.ids], "b")', True),
    ('contains(setsubtract(["a", "b"], data.x.ids), "a")', UNKNOWN),
    ("contains([], {a = 1}.b)", ERROR),  # every argument is evaluated first
    ('length(["a", "b"])', 2),
    ("length({a = 1, b = 2})", 2),
    ('length("héllo")', 5),
    ('length("👩‍👩‍👧🇫🇷")', 2),  # grapheme clusters
    ('length(concat(["a"], data.x.ids))', UNKNOWN),
    ('length(setsubtract(["a"], data.x.ids))', UNKNOWN),
    ("length(5)", ERROR),
    ('index(["a", "b", "c"], "c")', 2),
    ('index(["a"], "z")', ERROR),
    ('index([data.x.id, "a"], "a")', UNKNOWN),
    ('element(["a", "b", "c"], 4)', "b"),
    ('element(["a", "b", "c"], -1)', "c"),  # as documented today (Terraform 1.11 still rejected it)
    ("element([], 0)", ERROR),
    ('element(concat(["a"], data.x.ids), 0)', UNKNOWN),
    ('slice(["a", "b", "c"], 1, 3)', ["b", "c"]),
    ('slice(["a", "b", "c"], 2, 4)', ERROR),
    ('slice(toset(["a"]), 0, 1)', ERROR),
    ('slice(concat(["a", "b"], data.x.ids), 0, 2)', ["a", "b"]),
    ('slice(concat(["a"], data.x.ids), 0, 2)', UNKNOWN),
    ('one(["a"])', "a"),
    ("one([])", None),
    ('one(["a", "b"])', ERROR),
    ('one(setsubtract(["a"], data.x.ids))', oneof(None, "a")),
    # keys, values, lookup, merge, zipmap
    ("keys({b = 1, a = 2})", ["a", "b"]),
    ('values({b = "x", a = "y"})', ["y", "x"]),
    ('lookup({a = "x"}, "a")', "x"),
    ('lookup({a = "x"}, "b", "d")', "d"),
    ('lookup({a = "x"}, "b")', ERROR),
    ('lookup(data.x.map, "a", "d")', UNKNOWN),
    ("merge({a = 1, b = 2}, null, {b = 3, c = 4})", {"a": 1, "b": 3, "c": 4}),
    ("merge({a = 1}, data.x.map)", UNKNOWN),  # it may add or replace any key
    ("merge({a = 1}, [1])", ERROR),
    ('zipmap(["b", "a", "b"], [1, 2, 3])', {"a": 2, "b": 3}),
    ('zipmap(["a"], [1, 2])', ERROR),
    # range
    ("range(3)", [0, 1, 2]),
    ("range(-3)", [0, -1, -2]),
    ("range(1, 2, 0.25)", [1, 1.25, 1.5, 1.75]),
    ("range(1, 0.5, -0.1)", [1, 0.9, 0.8, 0.7, 0.6]),
    ("range(5, 1, 1)", ERROR),
    ("range(0, 2000)", ERROR),  # more than 1024 values
    # conversions
    ("tostring(5)", "5"),
    ("tostring(1e-7)", "0.0000001"),
    ("tostring(true)", "true"),
    ("tostring([1])", ERROR),
    ('tonumber("1e3")', 1000),
    ('tonumber("0x10")', ERROR),
    ('tobool("true")', True),
    ('tobool("yes")', ERROR),
    # alltrue, anytrue, numbers
    ('alltrue([true, "true"])', True),
    ("alltrue([true, null])", False),
    ("alltrue([true, data.x.flag])", UNKNOWN),
    ('anytrue([false, null, "true"])', True),
    ("anytrue([false, data.x.flag])", UNKNOWN),
    ('max(1, 5.5, "3")', 5.5),
    ("min(-1, 2)", -1),
    ('sum([1, 2.5, "3"])', 6.5),
    ("sum([])", ERROR),
    ("abs(-2.5)", 2.5),
    ("ceil(1.2)", 2),
    ("floor(-1.2)", -2),
    # format, formatlist
    ('format("%s-%d-%q-%v-%%", "a", 5, "q\\"", [1])', 'a-5-"q\\""-[1]-%'),
    ('format("%05d|%-5s|%x|%#x|%X|%o|%b", 42, "ab", 255, 255, 255, 8, 5)', "00042|ab   |ff|0xff|FF|10|101"),
    ('format("%.2f|%.2e|%.0f|%.0f|%10.3f|", 2.675, 1.005, 2.5, 3.5, -1.5)', "2.67|1.00e+00|2|4|    -1.500|"),
    ('format("%v %v %v %v", 1234567, 0.00001, 123456, true)', "1.234567e+06 1e-05 123456 true"),
    ('format("%#v|%v", {b = 1, a = "x"}, [true])', '{"a":"x","b":1}|[true]'),
    ('format("%.3s|%5s|%q", "héllo", "é", "<tab\\t>")', 'hél|    é|"\\u003ctab\\t\\u003e"'),
    ('format("%[2]s %[1]s %s", "a", "b")', "b a b"),
    ('format("%d", 1.5)', ERROR),
    ('format("%s %s", "a")', ERROR),
    ('format("%s", "a", "b")', ERROR),
    ('format("%z", 1)', ERROR),
    ('format("%g", 1.5)', UNKNOWN),  # Terraform computes it; this port does not
    ('format("%s.amazonaws.com", data.x.name)', UNKNOWN),
    ('format("%s.amazonaws.com", var.flag ? "sso" : "config")', oneof("sso.amazonaws.com", "config.amazonaws.com")),
    ('formatlist("%s.amazonaws.com", ["sso", "config"])', ["sso.amazonaws.com", "config.amazonaws.com"]),
    ('formatlist("%s=%d", ["a", "b"], [1, 2])', ["a=1", "b=2"]),
    ('formatlist("%s-%s", "x", ["a", "b"])', ["x-a", "x-b"]),
    ('formatlist("%s=%d", ["a", "b"], [1])', ERROR),
    ('formatlist("%s!", concat(["a"], data.x.ids))', ["a!", UNKNOWN]),
    ('formatlist("%s!", setsubtract(["a"], data.x.ids))', [maybe("a!")]),
    # join, split, replace
    ('join(",", ["a", "b"], ["c"])', "a,b,c"),
    ('join("-", ["a", 1, true])', "a-1-true"),
    ('join("-", ["a", null])', ERROR),
    ('join(",", ["a", data.x.id])', UNKNOWN),
    ('join(",", compact(["a", var.flag ? "" : "b"]))', oneof("a,b", "a")),
    ('split(",", "a,,b")', ["a", "", "b"]),
    ('split(",", "")', [""]),
    ('split("", "abc")', ["a", "b", "c"]),
    ('replace("hello world", "o", "0")', "hell0 w0rld"),
    ('replace("abc", "", "-")', "-a-b-c-"),
    ('replace("hello world", "/o(.)/", "$1$$")', "hell $wr$ld"),
    ('replace("hello world", "/(?P<first>\\\\w+) (\\\\w+)/", "$2 $${first} $3 $first")', "world hello  hello"),
    ('replace("abc", "/x*/", "-")', "-a-b-c-"),  # Go's rule for empty matches
    ('replace("aaa", "/a*/", "X")', "X"),
    ('replace("a\\n", "/a$/", "b")', "a\n"),  # RE2's $ is the end of the text
    ('replace("café", "/\\\\w+/", "W")', "Wé"),  # RE2's \\w is ASCII
    ('replace("x.y", "/[[:punct:]]/", "!")', "x!y"),
    ('replace("ab ab", "/\\\\bab\\\\b/", "X")', "X X"),
    ('replace("abc", "/(a)(?=b)/", "x")', ERROR),  # no look-arounds in RE2
    ('replace("abc", "/a\\\\1/", "x")', ERROR),
    ('replace("abc", "/a{1001}/", "x")', ERROR),
    # case, trimming, substrings
    ('lower("HÉLLO İ")', "héllo i"),
    ('upper("straße ǆ")', "STRAßE Ǆ"),  # Go maps rune by rune: ß stays
    ('title("hello wörld-foo_bar ǆx")', "Hello Wörld-Foo_bar ǅx"),
    ('trimspace("\\u00a0 x \\n")', "x"),
    ('trim("?!hello?!", "!?")', "hello"),
    ('trimprefix("helloworld", "hello")', "world"),
    ('trimsuffix("helloworld", "world")', "hello"),
    ('chomp("a\\r\\n\\r\\n")', "a"),
    ('indent(2, "a\\nb")', "a\n  b"),
    ('strrev("abc")', "cba"),
    ('substr("hello world", 1, 4)', "ello"),
    ('substr("hello", -3, -1)', "llo"),
    ('substr("hello", -2, 0)', "lo"),  # cty's quirk: length 0 after a negative offset is the rest
    ('substr("hello", 1, 0)', ""),
    ('substr("hello", 7, 2)', ""),
    ('startswith("hello", "he")', True),
    ('startswith(data.x.name, "")', True),
    ('endswith("hello", "LO")', False),
    ('strcontains("hello", "ell")', True),
    ('upper(["a"])', ERROR),
    ("upper(data.x.name)", UNKNOWN),
    # encodings
    ('jsonencode({b = [1, "<x>"], a = null, c = 1.5})', '{"a":null,"b":[1,"\\u003cx\\u003e"],"c":1.5}'),
    ("jsonencode(1e20)", "100000000000000000000"),
    ('jsonencode(toset(["b", "a"]))', '["a","b"]'),
    ("jsonencode({a = data.x.id})", UNKNOWN),
    ('jsonencode({a = var.flag ? "x" : "y"})', oneof('{"a":"x"}', '{"a":"y"}')),
    ('jsondecode("{\\"b\\": [1, 2.5, null, true], \\"a\\": \\"x\\"}")', {"a": "x", "b": [1, 2.5, None, True]}),
    ('jsondecode("[1,")', ERROR),
    ('jsondecode("NaN")', ERROR),
    (
        'yamldecode("a: yes\\nb: [1, 0x1F, 0o17, 017, 1_000, .5]\\nc: &x {d: y}\\ne: *x\\nf: 2001-12-14")',
        {
            "a": True,
            "b": [1, 31, 15, 17, "1_000", 0.5],
            "c": {"d": True},
            "e": {"d": True},
            "f": "2001-12-14T00:00:00Z",
        },
    ),
    ('yamldecode("<<: {a: 1}\\nb: 2")', {"a": 1, "b": 2}),
    ('yamldecode("a: 1\\n---\\nb: 2")', ERROR),
    ('yamldecode("a: &x [*x]")', ERROR),
    ('yamldecode("a: !foo x")', ERROR),
    (
        'yamlencode({foo = [1, {a = "b", c = "d"}, 3], bar = "baz"})',
        '"bar": "baz"\n"foo":\n- 1\n- "a": "b"\n  "c": "d"\n- 3\n',
    ),
    ('yamlencode([[1, 2], [], {}, null, "\\t"])', '- - 1\n  - 2\n- []\n- {}\n- null\n- "\\t"\n'),
    ("yamlencode(true)", "true\n...\n"),
    ('yamlencode("a\\nb")', UNKNOWN),  # a literal block: not reproduced
    ('base64encode("héllo")', "aMOpbGxv"),
    ('base64decode("aMOpbGxv")', "héllo"),
    ('base64decode("/w==")', ERROR),  # not UTF-8
    # try and can
    ('try({a = 1}.b, "fallback")', "fallback"),
    ('try(tonumber("x"), 5)', 5),
    ('try(data.x.id, "fallback")', oneof(UNKNOWN, "fallback")),
    ('try(data.x.id, {a = 1}.b, "fallback")', oneof(UNKNOWN, "fallback")),
    ('try(["a", {a = 1}.b], ["c"])', ["c"]),
    ("try({a = 1}.b)", ERROR),
    ("can({a = 1}.b)", False),
    ('can("x")', True),
    ("can(data.x.id)", UNKNOWN),
    # options and bounds
    ('upper(var.flag ? "a" : "b")', oneof("A", "B")),
    ('concat(var.flag ? ["a"] : ["b"], ["c"])', oneof(["a", "c"], ["b", "c"])),
    ("not_a_function(1)", UNKNOWN),
    ('concat(["a"], [["b"], ["c"]]...)', ["a", "b", "c"]),  # the last argument expanded
    ('concat(["a"], ["b"]...)', ERROR),  # expanded to concat(["a"], "b")
    ('concat(["a"], data.x.lists...)', UNKNOWN),
]


@pytest.mark.parametrize(("expression", "expected"), VALUES, ids=[case[0] for case in VALUES])
def test_function_values(expression: str, expected: Any) -> None:
    assert plain(evaluate(expression, variables=_flag())) == expected


def _flag() -> dict[str, Any]:
    """var.flag: a variable without a default, so conditionals on it take both branches."""
    from orgtrust_lint.parse.hcl_ast import Block

    return {"flag": Block("variable", ("flag",), parse("1").location)}


def column(expression: str, snippet: str) -> int:
    """The column of ``snippet``'s first occurrence in the attribute line."""
    assert snippet in expression, snippet
    return expression.index(snippet) + len(PREFIX) + 1


# (expression, [(value of every Known leaf in order, the literal or call it is located at)])
PROVENANCE: list[tuple[str, list[tuple[Any, str]]]] = [
    ('concat(["a"], data.x.ids, ["b"])', [("a", '"a"'), ("b", '"b"')]),
    ('distinct(["b", "a", "b"])', [("b", '"b"'), ("a", '"a"')]),
    ('sort(["b", "a", 3])', [("3", "3"), ("a", '"a"'), ("b", '"b"')]),
    ('toset(["b", "a"])', [("a", '"a"'), ("b", '"b"')]),
    ('setunion(["a"], ["b", "a"])', [("a", '"a"'), ("b", '"b"')]),
    ('setsubtract(["a", "b"], data.x.ids)', [("a", '"a"'), ("b", '"b"')]),
    ('setintersection(["a", "b"], ["b"])', [("b", '"b"')]),
    ('merge({a = "x"}, {b = "y"})', [("x", '"x"'), ("y", '"y"')]),
    ('lookup({a = "x"}, "a")', [("x", '"x"')]),
    ('lookup({a = "x"}, "b", "d")', [("d", '"d"')]),
    ('element(["a", "b"], 1)', [("b", '"b"')]),
    ('slice(["a", "b", "c"], 1, 2)', [("b", '"b"')]),
    ('values({b = "x", a = "y"})', [("y", '"y"'), ("x", '"x"')]),
    ('coalesce("", "a")', [("a", '"a"')]),
    ('try({a = 1}.b, "d")', [("d", '"d"')]),
    ("tostring(5)", [("5", "5")]),
    ('compact(["a", ""])', [("a", '"a"')]),
    ('zipmap(["k"], ["v"])', [("v", '"v"')]),
    ('flatten([["a"]])', [("a", '"a"')]),
    ('reverse(["a", "b"])', [("b", '"b"'), ("a", '"a"')]),
    # computed values are located at their call
    ('upper("x")', [("X", 'upper("x")')]),
    ('concat([upper("x")], ["y"])', [("X", 'upper("x")'), ("y", '"y"')]),
    ('join(",", ["a", "b"])', [("a,b", "join")]),
    ('length(["a"])', [(1, "length")]),
    ('keys({a = "x"})', [("a", "keys")]),
    ('format("%s.amazonaws.com", "sso")', [("sso.amazonaws.com", "format")]),
    ('jsonencode(["a"])', [('["a"]', "jsonencode")]),
    ('split(",", "a,b")', [("a", "split"), ("b", "split")]),
    ('jsondecode("[\\"a\\"]")', [("a", "jsondecode")]),
]


@pytest.mark.parametrize(("expression", "expected"), PROVENANCE, ids=[case[0] for case in PROVENANCE])
def test_function_provenance(expression: str, expected: list[tuple[Any, str]]) -> None:
    value = evaluate(expression)
    found = [(leaf.value.value, leaf.value.location.column) for leaf in leaves(value) if isinstance(leaf.value, Known)]
    assert found == [(item, column(expression, snippet)) for item, snippet in expected]


def test_origin_and_use_sites_survive_a_function(tmp_path: Path) -> None:
    """A variable's default passed through concat() still says where it came from."""
    document = parse_hcl("main.tf", 'variable "p" {\n  default = ["sso.amazonaws.com"]\n}\nx = concat(var.p, ["b"])\n')
    evaluator = Evaluator(ModuleValues(".", variables={"p": document.blocks[0]}))
    first, second = evaluator.evaluate(document.attributes["x"].value).items  # type: ignore[union-attr]
    assert isinstance(first, Known) and (first.location.line, first.location.column) == (2, 14)
    assert first.origin == "default of var.p" and [use.line for use in first.via][-1] == 4  # the use of var.p
    assert isinstance(second, Known) and second.origin == "literal"


def test_unknown_keeps_what_it_refers_to() -> None:
    value = evaluate('concat(["a"], data.aws_iam_policy_document.x.statement)')
    assert isinstance(value, ListValue)
    part = value.items[1]
    assert isinstance(part, Unknown) and part.refers_to == "data.aws_iam_policy_document.x"


# ---- files --------------------------------------------------------------------------------


@pytest.fixture
def module(tmp_path: Path) -> Path:
    directory = tmp_path / "mod"
    directory.mkdir()
    (directory / "p.json").write_text('{"principals": ["sso.amazonaws.com"]}')
    (directory / "list.yaml").write_text("- config.amazonaws.com\n")
    (directory / "latin1.txt").write_bytes(b"caf\xe9")
    (tmp_path / "secret.txt").write_text("outside")
    return directory


def test_file_reads_inside_the_module(module: Path) -> None:
    value = evaluate('jsondecode(file("${path.module}/p.json")).principals', str(module))
    assert plain(value) == ["sso.amazonaws.com"]
    assert plain(evaluate('yamldecode(file("${path.module}/list.yaml"))', str(module))) == ["config.amazonaws.com"]


def test_file_relative_to_the_working_directory(module: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(module.parent)
    assert plain(evaluate('file("mod/p.json")', "mod")) == '{"principals": ["sso.amazonaws.com"]}'
    assert plain(evaluate('fileexists("${path.module}/p.json")', "mod")) is True


@pytest.mark.parametrize(
    ("expression", "expected", "reason"),
    [
        ('file("${path.module}/missing.json")', ERROR, "no file exists"),
        ('try(file("${path.module}/missing.json"), "{}")', "{}", None),
        ('file("${path.module}/latin1.txt")', ERROR, "not valid UTF-8"),
        ('file("${path.module}/../secret.txt")', UNKNOWN, "outside the directory being linted"),
        ('file("/etc/hostname")', UNKNOWN, "outside the directory being linted"),
        ('file("${path.module}")', ERROR, "is a directory"),
        ("file(data.x.path)", UNKNOWN, "a data source is read at apply time"),
        ('fileexists("${path.module}/p.json")', True, None),
        ('fileexists("${path.module}/missing")', False, None),
        ('fileexists("${path.module}")', ERROR, "not a regular file"),
        ('fileexists("${path.module}/../secret.txt")', UNKNOWN, "outside"),
    ],
)
def test_file_errors_and_bounds(module: Path, expression: str, expected: Any, reason: str | None) -> None:
    value = evaluate(expression, str(module))
    assert plain(value) == expected
    if reason is not None:
        assert isinstance(value, Unknown) and reason in value.reason


def test_file_does_not_follow_a_link_out_of_the_tree(module: Path) -> None:
    (module / "link.txt").symlink_to(module.parent / "secret.txt")
    (module / "inner.txt").symlink_to(module / "p.json")
    value = evaluate('file("${path.module}/link.txt")', str(module))
    assert isinstance(value, Unknown) and "outside" in value.reason
    assert plain(evaluate('file("${path.module}/inner.txt")', str(module))).startswith("{")


def test_file_allowed_root_widens_the_tree(module: Path) -> None:
    value = evaluate('file("${path.module}/../secret.txt")', str(module), allowed_root=str(module.parent))
    assert plain(value) == "outside"


def test_file_skips_a_fifo_and_a_file_over_the_limit(module: Path) -> None:
    os.mkfifo(module / "pipe")
    with open(module / "huge.txt", "wb") as huge:
        huge.truncate(MAX_FILE_BYTES + 1)  # sparse: no 10 MB written
    for name, reason in (("pipe", "not a regular file"), ("huge.txt", "limit")):
        value = evaluate(f'file("${{path.module}}/{name}")', str(module))
        assert isinstance(value, Unknown) and not value.error and reason in value.reason


# ---- templatefile -------------------------------------------------------------------------

TEMPLATE = 'principals = %{ for p in list ~}\n"${p}.amazonaws.com" %{ endfor ~}\n%{ if flag }yes%{ else }no%{ endif }\n'


@pytest.mark.parametrize(
    ("template", "variables", "expected"),
    [
        (
            TEMPLATE,
            '{list = ["sso", "config"], flag = true}',
            'principals = "sso.amazonaws.com" "config.amazonaws.com" yes\n',
        ),
        (TEMPLATE, '{list = [], flag = "false"}', "principals = no\n"),
        (
            TEMPLATE,
            '{list = ["a"], flag = var.flag ? true : false}',
            oneof('principals = "a.amazonaws.com" yes\n', 'principals = "a.amazonaws.com" no\n'),
        ),
        (TEMPLATE, '{list = ["a"], flag = var.flag}', UNKNOWN),
        (TEMPLATE, '{list = ["a", data.x.id], flag = true}', UNKNOWN),
        (TEMPLATE, '{list = ["a"]}', ERROR),  # flag is not among the variables
        ("%{ for k, v in m }${k}=${v};%{ endfor }", '{m = {b = 1, a = "x"}}', "a=x;b=1;"),
        ("%{ for i, v in m }${i}=${v};%{ endfor }", '{m = ["p", "q"]}', "0=p;1=q;"),
        ("$${x} %%{y} $ % ${1.5} ${true}", "{}", "${x} %{y} $ % 1.5 true"),
        ("a\n\n  ${~ x}", '{x = "!"}', "a\n\n!"),  # a strip marker trims one line only
        ("a\n${~ x}", '{x = "!"}', "a!"),
        ('${ "x" ~}  \n\n  b', "{}", "x\n  b"),
        ("%{ if true ~}\n  yes\n%{~ endif }\nz", "{}", "  yes\nz"),
        ("${x}", '{x = ["a"]}', ["a"]),  # a lone interpolation keeps its value
        ("${path.module}", "{}", ERROR),  # only the variables are in scope
        ('${templatefile("t.tpl", {})}', "{}", ERROR),  # no recursion
        ("${", "{}", ERROR),
        ("%{ if true }", "{}", ERROR),
        ("${x}!", "{x = null}", ERROR),
    ],
)
def test_templatefile(module: Path, template: str, variables: str, expected: Any) -> None:
    (module / "t.tpl").write_text(template)
    value = evaluate(f'templatefile("${{path.module}}/t.tpl", {variables})', str(module), variables=_flag())
    assert plain(value) == expected


def test_templatefile_provenance(module: Path) -> None:
    """A value passed through a template keeps its literal; a literal written in the template is
    located in the template file."""
    (module / "lone.tpl").write_text("${x}")
    (module / "lit.tpl").write_text('a\n  ${ "lit" }')
    expression = 'templatefile("${path.module}/lone.tpl", {x = "sso.amazonaws.com"})'
    value = evaluate(expression, str(module))
    assert isinstance(value, Known) and value.location.column == column(expression, '"sso')
    (module / "only.tpl").write_text('${ "lit" }')
    inside = evaluate('templatefile("${path.module}/only.tpl", {})', str(module))
    assert isinstance(inside, Known) and inside.value == "lit"
    assert Path(inside.location.path).name == "only.tpl" and (inside.location.line, inside.location.column) == (1, 4)
    rendered = evaluate('templatefile("${path.module}/lit.tpl", {})', str(module))
    assert plain(rendered) == "a\n  lit" and isinstance(rendered, Known) and rendered.location.path == "main.tf"


def test_templatestring() -> None:
    document = parse_hcl(
        "main.tf", 'locals {\n  t = "Hello $${name}"\n}\nx = templatestring(local.t, {name = "you"})\n'
    )
    evaluator = Evaluator(ModuleValues(".", locals=document.blocks[0].attributes))
    assert plain(evaluator.evaluate(document.attributes["x"].value)) == "Hello you"


# ---- never raise, provenance of every leaf -------------------------------------------------

LIST_FUNCTIONS = {
    "concat": (1, 3),
    "distinct": (1, 1),
    "flatten": (1, 1),
    "sort": (1, 1),
    "reverse": (1, 1),
    "toset": (1, 1),
    "tolist": (1, 1),
    "setunion": (1, 3),
    "setsubtract": (2, 2),
    "setintersection": (1, 3),
    "setproduct": (2, 2),
    "compact": (1, 1),
    "coalescelist": (1, 3),
    "try": (1, 2),
    "one": (1, 1),
    "formatlist": (2, 2),
}
LITERALS = st.one_of(
    st.sampled_from(['"a"', '"b"', '""', '"sso.amazonaws.com"', '"%s"', "1", "2.5", "true", "null"]),
)
ATOMS = st.one_of(
    st.lists(LITERALS, max_size=4).map(lambda items: "[" + ", ".join(items) + "]"),
    st.sampled_from(["data.x.ids", 'var.flag ? ["a"] : ["c"]', '[["a"], ["b", 1]]']),
)


def _calls(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    def build(name: str) -> st.SearchStrategy[str]:
        low, high = LIST_FUNCTIONS[name]
        return st.lists(inner, min_size=low, max_size=high).map(lambda args: f"{name}({', '.join(args)})")

    return st.sampled_from(sorted(LIST_FUNCTIONS)).flatmap(build)


EXPRESSIONS = st.recursive(ATOMS, _calls, max_leaves=8)


def _nodes(expr: object) -> list[Expr]:
    found: list[Expr] = []
    if isinstance(expr, Expr):
        found.append(expr)
        for name in expr.__dataclass_fields__:
            found.extend(_nodes(getattr(expr, name)))
    elif isinstance(expr, tuple):
        for item in expr:
            found.extend(_nodes(item))
    return found


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EXPRESSIONS)
def test_nested_list_functions_never_raise_and_keep_provenance(expression: str) -> None:
    tree = parse(expression)
    nodes = _nodes(tree)
    literals = {node.location: node.value for node in nodes if isinstance(node, Literal)}
    calls = {node.location for node in nodes if isinstance(node, Call)}
    value = Evaluator(ModuleValues(".", variables=_flag())).evaluate(tree)
    for leaf in leaves(value):
        if not isinstance(leaf.value, Known):
            continue
        location = leaf.value.location
        assert location in literals or location in calls, (expression, leaf)
        if location in literals:  # the literal itself, or its text where a list of strings converts it
            written = literals[location]
            assert leaf.value.value == written or leaf.value.value == _text(written), (expression, leaf)


def _text(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, (int, float)) else value


# ---- bounds a hostile repository cannot get past ------------------------------------------

_LAUGHS = "a: &a [1,1,1,1,1,1,1,1,1]" + "".join(
    f"\\n{name}: &{name} [{', '.join(['*' + previous] * 9)}]" for previous, name in zip("abcde", "bcdef", strict=True)
)


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ('replace("' + "x" * 5000 + '", "/(x+x+)+y/", "z")', "takes too long"),  # backtracking
        ('replace("' + "a" * 1000 + '", "", "' + "b" * 20000 + '")', "longer than 10 MB"),
        ('indent(20000, "' + "\\n" * 1000 + '")', "longer than 10 MB"),
        ('yamldecode("' + _LAUGHS + '")', "more than 200,000 values"),  # the billion laughs
        ('format("%999999999s", "x")', "width beyond"),
    ],
)
def test_hostile_inputs_are_unknown_quickly(expression: str, reason: str) -> None:
    started = time.monotonic()
    value = evaluate(expression)
    assert isinstance(value, Unknown) and not value.error and reason in value.reason
    assert time.monotonic() - started < 5


def test_a_template_that_multiplies_its_loops_stops(module: Path) -> None:
    (module / "bomb.tpl").write_text("%{ for a in range(1000) }%{ for b in range(1000) }${x}%{ endfor }%{ endfor }")
    started = time.monotonic()
    value = evaluate('templatefile("${path.module}/bomb.tpl", {x = "0123456789"})', str(module))
    assert isinstance(value, Unknown) and "steps" in value.reason
    assert time.monotonic() - started < 5


def test_decoding_is_bounded_like_the_catalog() -> None:
    from orgtrust_lint.catalog import MAX_YAML_NODES
    from orgtrust_lint.evaluate.functions import MAX_DECODED_VALUES

    assert MAX_DECODED_VALUES == MAX_YAML_NODES
