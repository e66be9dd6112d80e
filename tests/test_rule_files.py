"""Rule files are data: each validates against the rule schema and loads into the engine."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from orgtrust_lint.catalog import load_yaml
from orgtrust_lint.engine import _rule_files, load_rules, rule_schema
from orgtrust_lint.schema_check import DataFileError, validate

RULE_FILES = _rule_files()


@pytest.mark.parametrize(("filename", "raw"), RULE_FILES, ids=[name for name, _ in RULE_FILES])
def test_rule_file_validates_against_the_schema(filename: str, raw: bytes) -> None:
    data = load_yaml(raw)
    validate(data, rule_schema(), filename)
    assert filename == f"{data['id']}.yaml"


def test_rules_ship_as_one_file_per_rule_at_the_top_of_the_repository() -> None:
    top = Path(__file__).resolve().parent.parent / "rules"
    assert sorted(p.name for p in top.glob("*.yaml")) == [name for name, _ in RULE_FILES]


def test_rule_ids_and_names_are_unique_and_every_rule_is_compiled() -> None:
    rules = load_rules()
    assert len({r.id for r in rules}) == len(rules)
    assert len({r.name for r in rules}) == len(rules)
    assert all(rule.program is not None for rule in rules)


def test_the_catalog_schema_holds_the_same_condition_language() -> None:
    """The catalog's when is a condition of the rule language: its schema holds the same definitions."""
    import json

    from orgtrust_lint.catalog import DATA_DIRECTORY

    catalog = json.loads((DATA_DIRECTORY / "catalog.schema.json").read_text(encoding="utf-8"))["$defs"]
    rules = rule_schema()["$defs"]
    shared = [name for name in rules if name.startswith("condition") or name == "fact_kind"]
    assert {name: catalog[name] for name in shared} == {name: rules[name] for name in shared}


@pytest.mark.parametrize(
    "mutation",
    [
        lambda d: d.pop("references"),
        lambda d: d.update(severity="fatal"),
        lambda d: d["match"].update(fact="policy-ish"),
        lambda d: d.update(id="X101"),
        lambda d: d["match"].setdefault("where", []).append({"field": "position"}),
    ],
)
def test_schema_rejects_broken_rules(mutation) -> None:
    data = copy.deepcopy(load_yaml(RULE_FILES[0][1]))
    mutation(data)
    with pytest.raises(DataFileError):
        validate(data, rule_schema(), "broken rule")


def test_every_source_package_ships_in_the_wheel() -> None:
    """pyproject lists packages explicitly (rules/ is mapped in); a new subpackage must be listed."""
    import sys

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib

    repo = Path(__file__).resolve().parent.parent
    listed = set(tomllib.loads((repo / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    sources = {".".join(p.parent.relative_to(repo).parts) for p in (repo / "orgtrust_lint").rglob("__init__.py")}
    assert sources <= listed, f"missing from [tool.setuptools] packages: {sorted(sources - listed)}"


def test_rule_docs_are_up_to_date() -> None:
    """docs/rules/ is generated from rules/*.yaml; `make docs` regenerates it."""
    from orgtrust_lint.report.rule_docs import pages

    docs = Path(__file__).resolve().parent.parent / "docs" / "rules"
    wanted = pages(load_rules())
    on_disk = {p.name: p.read_text(encoding="utf-8") for p in docs.glob("*.md")}
    assert sorted(on_disk) == sorted(wanted), "run `make docs`"
    stale = [name for name, content in wanted.items() if on_disk[name] != content]
    assert not stale, f"out of date, run `make docs`: {stale}"
    for name, content in wanted.items():
        if name != "README.md":
            for heading in ("## What it does", "## Why is this bad?", "## Example", "## Use instead", "## References"):
                assert heading in content, (name, heading)


def test_the_guide_for_rule_authors_is_up_to_date_and_its_examples_are_tested_rules() -> None:
    """docs/writing-rules.md: its field and call reference is generated (`make docs`), and its three
    complete examples are the rules fixtures/policy tests, word for word."""
    from orgtrust_lint.report.rule_docs import with_reference

    repo = Path(__file__).resolve().parent.parent
    guide = (repo / "docs" / "writing-rules.md").read_text(encoding="utf-8")
    assert with_reference(guide) == guide, "out of date, run `make docs`"
    examples = sorted((repo / "fixtures" / "policy" / "rules").glob("ACME*.yaml"))
    assert len(examples) == 3
    for example in examples:
        assert f"```yaml\n{example.read_text(encoding='utf-8')}```" in guide, example.name
    from orgtrust_lint.fact_kinds import FACT_KINDS
    from orgtrust_lint.predicates import CALLS

    for name in [*FACT_KINDS, *CALLS]:
        assert f"#### `{name}`" in guide
