"""--plan: a Terraform plan in JSON feeds OT302/OT303 and every other rule, located in the plan."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orgtrust_lint.cli import run

PLANS = "fixtures/plans"


def _check(capsys: pytest.CaptureFixture[str], plan: str, *extra: str) -> tuple[int, list[dict]]:
    code = run(["check", "--plan", f"{PLANS}/{plan}", "--ignore", "OT105", "--format", "json", *extra])
    out, err = capsys.readouterr()
    assert err == "", err
    return code, json.loads(out)["findings"]


def _rules(findings: list[dict]) -> list[tuple[str, int]]:
    return sorted((f["rule"], f["line"]) for f in findings)


def test_principal_removed_with_its_integration_deleted(capsys, in_repo_root: None) -> None:
    code, findings = _check(capsys, "remove-config-with-aggregator.json")
    assert code == 1
    assert _rules(findings) == [("OT302", 71)]  # the planned principal list
    assert findings[0]["path"] == f"{PLANS}/remove-config-with-aggregator.json"
    assert "deletes aws_config_configuration_aggregator.organization" in findings[0]["message"]


def test_principal_removed_with_its_integration_kept(capsys, in_repo_root: None) -> None:
    _, findings = _check(capsys, "remove-config-keep-aggregator.json")
    assert [f["rule"] for f in findings] == ["OT301", "OT302"]
    assert "still relies on it" in findings[1]["message"]


def test_principal_removed_after_the_integration_was_gone(capsys, in_repo_root: None) -> None:
    assert _check(capsys, "remove-config-after-aggregator-gone.json") == (0, [])


def test_principal_added(capsys, in_repo_root: None) -> None:
    assert _check(capsys, "add-config.json") == (0, [])


def test_modules_unknown_and_sensitive_values(capsys, in_repo_root: None) -> None:
    _, findings = _check(capsys, "modules-unknown-sensitive.json")
    assert _rules(findings) == [("OT002", 40), ("OT002", 115), ("OT101", 40), ("OT101", 73), ("OT201", 98)]
    by_rule = {(f["rule"], f["line"]): f for f in findings}
    assert by_rule[("OT101", 73)]["principal"] == "guarduty.amazonaws.com"  # module resource, replaced
    assert "known only after apply" in by_rule[("OT002", 40)]["message"]
    assert "sensitive" in by_rule[("OT002", 115)]["message"]
    assert "config.amazonaws.com" not in by_rule[("OT002", 115)]["message"]  # never echo a sensitive value


def test_plan_with_paths_lints_both(capsys, in_repo_root: None) -> None:
    plan = f"{PLANS}/remove-config-with-aggregator.json"
    code = run(["check", "fixtures/terraform/org-typos", "--plan", plan, "--format", "json"])
    paths = {f["path"] for f in json.loads(capsys.readouterr().out)["findings"]}
    assert code == 1
    assert {"fixtures/terraform/org-typos/main.tf", plan} <= paths


def test_missing_plan_file_is_exit_2(capsys, tmp_path: Path) -> None:
    code = run(["check", "--plan", str(tmp_path / "nope.json")])
    _, err = capsys.readouterr()
    assert code == 2 and "no such file" in err and len(err.splitlines()) == 1
