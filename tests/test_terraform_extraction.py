"""Terraform parsing and value resolution: every principal points at the literal to edit."""

from __future__ import annotations

from pathlib import Path

import pytest

from orgtrust_lint.facts import Position
from orgtrust_lint.parse.terraform import extract_terraform


def _module(tmp_path: Path, files: dict[str, str]) -> list[str]:
    paths = []
    for name, text in files.items():
        path = tmp_path / name
        path.write_text(text)
        paths.append(str(path))
    return paths


def _org(value: str) -> str:
    return f'resource "aws_organizations_organization" "org" {{\n  aws_service_access_principals = {value}\n}}\n'


def _located(facts) -> list[tuple[str, str, int, int]]:
    return sorted((p.value, Path(p.location.path).name, p.location.line, p.location.column) for p in facts.principals)


def test_list_elements_keep_line_and_column(tmp_path: Path) -> None:
    facts = extract_terraform(_module(tmp_path, {"main.tf": _org('[\n    "a.amazonaws.com",\n  "b.amazonaws.com"]')}))
    assert _located(facts) == [("a.amazonaws.com", "main.tf", 3, 5), ("b.amazonaws.com", "main.tf", 4, 3)]
    ref = facts.principals[0]
    assert ref.location.end_column - ref.location.column == len('"a.amazonaws.com"')
    assert ref.position is Position.ORGANIZATION_LIST


def test_variable_default_tfvars_and_locals_point_at_their_own_lines(tmp_path: Path) -> None:
    files = {
        "main.tf": _org("concat(var.from_default, var.from_tfvars, var.from_auto, local.mine)"),
        "variables.tf": (
            'variable "from_default" {\n  default = ["d.amazonaws.com"]\n}\n'
            'variable "from_tfvars" {\n  default = ["overridden.amazonaws.com"]\n}\n'
            'variable "from_auto" {\n  default = []\n}\n'
        ),
        "locals.tf": 'locals {\n  mine = ["l.amazonaws.com"]\n}\n',
        "terraform.tfvars": 'from_tfvars = ["t.amazonaws.com"]\nfrom_auto = ["loses.amazonaws.com"]\n',
        "z.auto.tfvars": '\nfrom_auto = ["a.amazonaws.com"]\n',
    }
    facts = extract_terraform(_module(tmp_path, files))
    assert _located(facts) == [
        ("a.amazonaws.com", "z.auto.tfvars", 2, 14),
        ("d.amazonaws.com", "variables.tf", 2, 14),
        ("l.amazonaws.com", "locals.tf", 2, 11),
        ("t.amazonaws.com", "terraform.tfvars", 1, 16),
    ]
    via_default = next(p for p in facts.principals if p.value == "d.amazonaws.com")
    assert via_default.origin == "default of var.from_default"
    # The use site is remembered, so an inline ignore there also applies.
    assert [(Path(v.path).name, v.line) for v in via_default.via] == [("main.tf", 2)]


@pytest.mark.parametrize(
    ("expression", "values"),
    [
        ('distinct(["b.amazonaws.com", "a.amazonaws.com", "b.amazonaws.com"])', ["b", "a"]),
        ('sort(["b.amazonaws.com", "a.amazonaws.com"])', ["a", "b"]),
        ('toset(["x.amazonaws.com", "x.amazonaws.com"])', ["x"]),
        ('tolist(["x.amazonaws.com"])', ["x"]),
        ('flatten([["a.amazonaws.com"], [["b.amazonaws.com"]]])', ["a", "b"]),
        ('concat(["a.amazonaws.com"], [], ["b.amazonaws.com"])', ["a", "b"]),
        ('["${"sso"}.amazonaws.com"]', ["sso"]),
    ],
)
def test_collection_functions_are_evaluated(tmp_path: Path, expression: str, values: list[str]) -> None:
    facts = extract_terraform(_module(tmp_path, {"main.tf": _org(expression)}))
    assert [p.value for p in facts.principals] == [f"{v}.amazonaws.com" for v in values]
    assert facts.unresolved == []


def test_unresolvable_parts_are_reported_once_and_the_rest_is_kept(tmp_path: Path) -> None:
    files = {
        "main.tf": _org('concat(local.shared, local.shared, [module.x.out], ["k.amazonaws.com"])')
        + 'resource "aws_organizations_aws_service_access" "s" {\n  service_principal = lookup(var.m, "k")\n}\n',
        "locals.tf": "locals {\n  shared = data.external.list.result\n}\n",
    }
    facts = extract_terraform(_module(tmp_path, files))
    assert [p.value for p in facts.principals] == ["k.amazonaws.com"]
    unresolved = sorted((u.expression, u.location.line) for u in facts.unresolved)
    # Reported where the unknown is written: var.m inside the lookup, not the whole call.
    assert unresolved == [("data.external.list.result", 2), ("module.x.out", 2), ("var.m", 5)]
    assert facts.organizations[0].principals_resolved is False


def test_variable_without_default_is_unresolved_at_the_use(tmp_path: Path) -> None:
    files = {"main.tf": _org("var.p") + 'variable "p" {\n  type = list(string)\n}\n'}
    facts = extract_terraform(_module(tmp_path, files))
    (item,) = facts.unresolved
    assert item.expression == "var.p" and item.location.line == 2
    assert "no default" in item.reason


def test_terraform_json_syntax(tmp_path: Path) -> None:
    text = (
        '{"resource": {"aws_organizations_organization": {"org": {\n'
        '  "aws_service_access_principals": [\n'
        '    "sso.amazonaws.com", "${var.x}"]}}},\n'
        ' "variable": {"x": {"default": "config.amazonaws.com"}}}\n'
    )
    facts = extract_terraform(_module(tmp_path, {"main.tf.json": text}))
    assert _located(facts) == [
        ("config.amazonaws.com", "main.tf.json", 4, 32),
        ("sso.amazonaws.com", "main.tf.json", 3, 5),
    ]


def test_malformed_file_is_a_parse_error_and_siblings_are_still_read(tmp_path: Path) -> None:
    files = {"broken.tf": 'resource "a" "b" {\n  x = [\n  y = 1\n}\n', "good.tf": _org('["a.amazonaws.com"]')}
    facts = extract_terraform(_module(tmp_path, files))
    (error,) = facts.parse_errors
    assert Path(error.path).name == "broken.tf"
    assert (error.location.line, error.location.column) == (3, 4)
    assert [p.value for p in facts.principals] == ["a.amazonaws.com"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe\x00garbage", "UTF-16 text; save the file as UTF-8"),
        (b'resource "x" "y" {', "unexpected end of file"),
        (b'{"resource": [1, }', "unexpected character"),
    ],
)
def test_unparseable_inputs_become_parse_errors(tmp_path: Path, content: bytes, message: str) -> None:
    name = "bad.tf.json" if content.startswith(b"{") else "bad.tf"
    (tmp_path / name).write_bytes(content)
    facts = extract_terraform([str(tmp_path / name)])
    (error,) = facts.parse_errors
    assert message in error.message


def test_positions_for_service_linked_roles_and_delegated_admins(tmp_path: Path) -> None:
    text = (
        'resource "aws_iam_service_linked_role" "r" {\n  aws_service_name = "autoscaling.amazonaws.com"\n}\n'
        'resource "aws_organizations_delegated_administrator" "d" {\n  service_principal = "config.amazonaws.com"\n}\n'
    )
    facts = extract_terraform(_module(tmp_path, {"main.tf": text}))
    assert {(p.value, p.position) for p in facts.principals} == {
        ("autoscaling.amazonaws.com", Position.SERVICE_LINKED_ROLE),
        ("config.amazonaws.com", Position.DELEGATED_ADMINISTRATOR),
    }


def test_trust_policy_service_principals_are_not_extracted(tmp_path: Path) -> None:
    text = (
        'resource "aws_iam_role" "r" {\n  assume_role_policy = jsonencode({Statement = [{\n'
        '    Principal = { Service = "config.amazonaw.com" } }]})\n}\n'
    )
    facts = extract_terraform(_module(tmp_path, {"main.tf": text}))
    assert facts.principals == []


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        (r'"%%{x}.amazonaws.com"', "%{x}.amazonaws.com"),  # the template escape for a literal %{
        (r'"$${x}.amazonaws.com"', "${x}.amazonaws.com"),
        (r'"%%\u007bx.amazonaws.com"', "%%{x.amazonaws.com"),  # HCL escapes are lexical: no second pass
        (r'"\u0063onfig.amazonaws.com"', "config.amazonaws.com"),
        (r'"a\\%%{b}"', "a\\%{b}"),
    ],
)
def test_string_escapes_are_read_as_terraform_reads_them(tmp_path: Path, literal: str, value: str) -> None:
    facts = extract_terraform(_module(tmp_path, {"main.tf": _org(f"[{literal}]")}))
    assert [p.value for p in facts.principals] == [value]
