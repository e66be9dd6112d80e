"""The engine runs evaluate -> suppress -> rules about ignores -> internal errors in one place,
and a rule file's message can only name fields the rule has (code review D3, D15)."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from orgtrust_lint import engine
from orgtrust_lint.cli import run
from orgtrust_lint.fact_kinds import FACT_KINDS
from orgtrust_lint.facts import Facts, SuppressionProblem
from orgtrust_lint.schema_check import DataFileError

UNUSED_IGNORE = """resource "aws_organizations_organization" "org" {
  feature_set                   = "ALL"
  aws_service_access_principals = [
    "sso.amazonaws.com", # orgtrust-lint: ignore[OT101] nothing to silence here
  ]
}
"""


def test_cr_d3_a_failing_rule_about_ignores_is_ot003_and_exit_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """OT004-OT007 run after the ignores are applied; a bug there used to vanish (0 findings, exit 0)."""
    (tmp_path / "main.tf").write_text(UNUSED_IGNORE)
    monkeypatch.chdir(tmp_path)
    assert run(["check", "--ignore", "OT105", "--format", "json", "--no-cache"]) == 0
    assert [f["rule"] for f in json.loads(capsys.readouterr().out)["findings"]] == ["OT005"]  # a warning

    original = engine._findings_for

    def buggy(rule, fact, ctx):  # a bug planted in the rules about ignores only
        if isinstance(fact, SuppressionProblem):
            raise KeyError("a governance bug")
        return original(rule, fact, ctx)

    monkeypatch.setattr(engine, "_findings_for", buggy)
    code = run(["check", "--ignore", "OT105", "--format", "json", "--no-cache"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert code == 3
    # One OT003 for each of OT004-OT007 that failed on the ignore, at the ignore.
    assert {(f["rule"], f["path"], f["line"]) for f in findings} == {("OT003", "main.tf", 4)}
    assert all("KeyError" in f["message"] and "checking OT00" in f["message"] for f in findings)


def _rules_with(tmp_path: Path, rule_file: str, old: str, new: str) -> Path:
    directory = tmp_path / "rules"
    shutil.copytree(engine._rules_directory(), directory)
    path = directory / rule_file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    return directory


@pytest.mark.parametrize(
    ("rule_file", "old", "new", "placeholder"),
    [
        ("OT101.yaml", "'{value}' is not", "'{valeu}' is not", "valeu"),  # a fact field misspelled
        ("OT103.yaml", "{normal.problem}", "{normal.probelm}", "probelm"),  # a call's output misspelled
        ("OT104.yaml", "{address}", "{address.name}", "address.name"),  # not a plain field
        ("OT005.yaml", "{codes}", "{}", "{}"),  # positional
    ],
)
def test_cr_d15_a_misspelled_message_placeholder_is_a_load_error(
    tmp_path: Path, rule_file: str, old: str, new: str, placeholder: str
) -> None:
    """It used to render as an empty string: "'' is not a known trusted-access service principal"."""
    with pytest.raises(DataFileError) as raised:
        engine.load_rules(_rules_with(tmp_path, rule_file, old, new))
    message = str(raised.value)
    assert f"rule file {rule_file}" in message and placeholder in message


def test_cr_d15_the_shipped_rules_load_from_a_directory(tmp_path: Path) -> None:
    unchanged = _rules_with(tmp_path, "OT101.yaml", "{value}", "{value}")
    assert [r.id for r in engine.load_rules(unchanged)] == [r.id for r in engine.load_rules()]


def test_cr_d15_every_fact_kind_a_rule_can_name_has_its_fields_known() -> None:
    """One registry of fact kinds: the rule schema's enum (the catalog's too), Facts.of_kind and the
    documented fields (every dataclass field and view) agree, the resource fact among them."""
    kinds = engine.rule_schema()["$defs"]["fact_kind"]["enum"]
    assert kinds == list(FACT_KINDS) and "resource" in kinds
    for kind, registered in FACT_KINDS.items():
        assert Facts().of_kind(kind) == []
        stored = {f.name for f in dataclasses.fields(registered.type)}
        assert set(registered.fields) == stored | set(registered.views), kind
