"""OT105 as redesigned: off by default, and only where following it is right.

It fires on a principal AWS recommends enabling from its service when the code enables it only
through Organizations and nothing in the same configuration sets the service up; it never asks
to remove a principal something relies on, so it never contradicts OT301.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orgtrust_lint.cli import run
from orgtrust_lint.config import Config
from orgtrust_lint.lint import check

IPAM_ADMIN = (
    'resource "aws_vpc_ipam_organization_admin_account" "ipam" {\n  delegated_admin_account_id = "111111111111"\n}\n'
)
SSO_PERMISSION_SET = (
    'resource "aws_ssoadmin_permission_set" "admin" {\n  name = "Admin"\n'
    '  instance_arn = "arn:aws:sso:::instance/ssoins-1111111111111111"\n}\n'
)


def _org(*principals: str) -> str:
    listed = ", ".join(f'"{p}"' for p in principals)
    return f'resource "aws_organizations_organization" "org" {{\n  aws_service_access_principals = [{listed}]\n}}\n'


def _rules(tmp_path: Path, text: str, select: tuple[str, ...] = ("OT", "OT105")) -> dict[str, set[str]]:
    (tmp_path / "main.tf").write_text(text)
    found: dict[str, set[str]] = {}
    for finding in check([str(tmp_path)], Config(select=select)).findings:
        found.setdefault(finding.rule, set()).add(finding.principal or "")
    return found


def test_off_by_default_and_selected_only_by_its_full_code(tmp_path: Path) -> None:
    text = _org("ipam.amazonaws.com")
    assert "OT105" not in _rules(tmp_path, text, select=())
    assert "OT105" not in _rules(tmp_path, text, select=("OT1",))  # a prefix selects the rules that are on
    assert _rules(tmp_path, text, select=("OT105",)) == {"OT105": {"ipam.amazonaws.com"}}
    assert _rules(tmp_path, text, select=("OT", "OT105")) == {"OT105": {"ipam.amazonaws.com"}}


def test_configuration_select_opts_in(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "main.tf").write_text(_org("ipam.amazonaws.com", "config.amazonaws.com"))
    assert run(["check", "--no-cache", "--format", "json", str(tmp_path)]) == 0
    assert json.loads(capsys.readouterr().out)["findings"] == []
    (tmp_path / ".orgtrust-lint.yaml").write_text("select: [OT, OT105]\n")
    run(["check", "--no-cache", "--format", "json", str(tmp_path)])
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert sorted((f["rule"], f["severity"]) for f in findings) == [("OT105", "info"), ("OT105", "warning")]


def test_rules_and_explain_show_which_rules_are_on(capsys: pytest.CaptureFixture[str]) -> None:
    run(["rules"])
    lines = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines() if line.startswith("OT")}
    assert lines["OT105"][3] == "off" and lines["OT101"][3] == "on"
    run(["rules", "--format", "json"])
    rules = {r["id"]: r for r in json.loads(capsys.readouterr().out)["rules"]}
    assert rules["OT105"]["default_enabled"] is False and rules["OT301"]["default_enabled"] is True
    run(["explain", "OT105"])
    assert "\nOff by default: a recommendation you opt into with --select OT105" in capsys.readouterr().out
    run(["explain", "OT101"])
    assert "\nOn by default.\n" in capsys.readouterr().out


def test_ipam_no_longer_contradicts_ot301(tmp_path: Path) -> None:
    """Public code: OT105 said IPAM cannot be enabled through Organizations while OT301 asked for
    ipam.amazonaws.com in the list beside the IPAM delegated administrator. Now the delegated
    administrator is the service's own setup: OT105 is quiet, and OT301 alone asks to list it."""
    assert _rules(tmp_path, _org("ipam.amazonaws.com") + IPAM_ADMIN) == {}
    assert _rules(tmp_path, _org("sso.amazonaws.com") + IPAM_ADMIN) == {
        "OT301": {"ipam.amazonaws.com"},
        "OT105": {"sso.amazonaws.com"},
    }


def test_sso_relied_on_is_never_advice_to_remove(tmp_path: Path) -> None:
    assert _rules(tmp_path, _org("sso.amazonaws.com") + SSO_PERMISSION_SET) == {}


def test_the_advice_keeps_the_principal(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(_org("config.amazonaws.com"))
    (message,) = [f.message for f in check([str(tmp_path)], Config(select=("OT105",))).findings]
    assert "keep it in this authoritative list, or the next apply disables it again" in message
    assert "remove" not in message


def test_delegated_administrator_or_organization_configuration_quiets_it(tmp_path: Path) -> None:
    text = (
        _org("cloudtrail.amazonaws.com", "guardduty.amazonaws.com", "servicecatalog.amazonaws.com")
        + 'resource "aws_organizations_delegated_administrator" "trail" {\n'
        '  account_id = "111111111111"\n  service_principal = "cloudtrail.amazonaws.com"\n}\n'
        'resource "aws_guardduty_organization_configuration" "gd" {\n  detector_id = "d"\n}\n'
    )
    assert _rules(tmp_path, text) == {"OT105": {"servicecatalog.amazonaws.com"}}


def test_setup_in_a_sibling_module_counts(tmp_path: Path) -> None:
    """Module calls are not followed: a root that calls an organization module and a security
    module has its service set up in a sibling directory. Like OT301, OT105 looks at the whole run."""
    (tmp_path / "modules" / "organization").mkdir(parents=True)
    (tmp_path / "modules" / "organization" / "main.tf").write_text(_org("ipam.amazonaws.com", "config.amazonaws.com"))
    (tmp_path / "modules" / "network").mkdir()
    (tmp_path / "modules" / "network" / "main.tf").write_text(IPAM_ADMIN)
    found = check([str(tmp_path)], Config(select=("OT105",))).findings
    assert [f.principal for f in found] == ["config.amazonaws.com"]
