"""Defects from the code review (issue 15): each test is named after the review's id (cr_dN)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from orgtrust_lint.cli import run

REPO = Path(__file__).resolve().parent.parent

ORG_WITH_CONFIG_AGGREGATOR = """resource "aws_organizations_organization" "org" {
  aws_service_access_principals = ["config.amazonaws.com"]
}

resource "aws_config_configuration_aggregator" "organization" {
  name = "organization"
  organization_aggregation_source {
    all_regions = true
    role_arn    = "arn:aws:iam::111111111111:role/config-aggregator"
  }
}
"""


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = run(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _rules(out: str) -> list[str]:
    return [line.split(": ")[1].split(" ")[0] for line in out.splitlines() if ": OT" in line]


@pytest.mark.parametrize("directory", ["envs/prod", "envs/prod@eu"])
def test_cr_d2_at_sign_in_a_directory_is_not_a_tfvars_variant(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, directory: str
) -> None:
    module = tmp_path / directory
    module.mkdir(parents=True)
    (module / "main.tf").write_text(ORG_WITH_CONFIG_AGGREGATOR)
    monkeypatch.chdir(tmp_path)
    code, out, _ = _run(capsys, "check", "--no-cache", "--ignore", "OT105", directory)
    assert (code, out) == (0, "All checks passed (1 file).\n")


def test_cr_d2_at_sign_in_a_plan_path_is_not_a_tfvars_variant(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "plans@eu").mkdir()
    shutil.copy(REPO / "fixtures/plans/add-config.json", tmp_path / "plans@eu/plan.json")
    monkeypatch.chdir(tmp_path)
    code, out, _ = _run(capsys, "check", "--no-cache", "--ignore", "OT105", "--plan", "plans@eu/plan.json")
    assert (code, out) == (0, "All checks passed (1 file).\n")


def test_cr_d2_alternative_tfvars_still_do_not_enable_a_principal(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """production.tfvars is only applied with -var-file: what it adds is not what a plain apply enables."""
    module = tmp_path / "org@main"
    module.mkdir()
    (module / "main.tf").write_text(
        'variable "principals" {\n  default = ["sso.amazonaws.com"]\n}\n'
        + ORG_WITH_CONFIG_AGGREGATOR.replace('["config.amazonaws.com"]', "var.principals")
    )
    (module / "production.tfvars").write_text('principals = ["sso.amazonaws.com", "config.amazonaws.com"]\n')
    monkeypatch.chdir(tmp_path)
    code, out, _ = _run(capsys, "check", "--no-cache", "--ignore", "OT105", "org@main")
    assert code == 1
    assert _rules(out) == ["OT301"]
