"""--base: what a change since a git revision disables (OT302, OT303), read with git itself."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from orgtrust_lint.cli import run

ORG = """resource "aws_organizations_organization" "org" {{
  aws_service_access_principals = [{principals}]
}}
"""
AGGREGATOR = """resource "aws_config_configuration_aggregator" "organization" {
  name = "organization"
  organization_aggregation_source {
    all_regions = true
    role_arn    = "arn:aws:iam::111111111111:role/config"
  }
}
"""


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def _org(*principals: str) -> str:
    return ORG.format(principals=", ".join(f'"{p}"' for p in principals))


def _commit(repo: Path, files: dict[str, str | None], message: str = "change") -> str:
    for name, text in files.items():
        path = repo / name
        if text is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", message, "--allow-empty")
    return _git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    _git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / ".orgtrust-lint.yaml").write_text("ignore: [OT105]\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _findings(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[tuple[str, str, int]], list[str]]:
    code = run(["check", *argv, "--format", "json"])
    out, err = capsys.readouterr()
    assert err == "", err
    findings = json.loads(out)["findings"]
    return code, sorted((f["rule"], f["path"], f["line"]) for f in findings), [f["message"] for f in findings]


def test_principal_removed_with_its_integration_in_the_same_change(repo: Path, capsys) -> None:
    base = _commit(repo, {"org.tf": _org("config.amazonaws.com", "guardduty.amazonaws.com"), "config.tf": AGGREGATOR})
    _commit(repo, {"org.tf": _org("guardduty.amazonaws.com"), "config.tf": None})
    code, findings, messages = _findings(capsys, "--base", base)
    assert code == 1
    assert findings == [("OT302", "org.tf", 2)]
    assert "the same change deletes aws_config_configuration_aggregator.organization" in messages[0]
    assert "apply first, then remove the principal in a later apply" in messages[0]


def test_principal_removed_while_the_integration_stays(repo: Path, capsys) -> None:
    base = _commit(repo, {"org.tf": _org("config.amazonaws.com", "guardduty.amazonaws.com"), "config.tf": AGGREGATOR})
    _commit(repo, {"org.tf": _org("guardduty.amazonaws.com")})
    _, findings, messages = _findings(capsys, "--base", base)
    assert findings == [("OT301", "config.tf", 1), ("OT302", "org.tf", 2)]
    assert any("aws_config_configuration_aggregator.organization still relies on it" in m for m in messages)


def test_principal_removed_after_the_integration_was_already_gone(repo: Path, capsys) -> None:
    _commit(repo, {"org.tf": _org("config.amazonaws.com", "guardduty.amazonaws.com"), "config.tf": AGGREGATOR})
    base = _commit(repo, {"config.tf": None}, "first apply: remove the aggregator")
    _commit(repo, {"org.tf": _org("guardduty.amazonaws.com")}, "second apply: remove the principal")
    code, findings, _ = _findings(capsys, "--base", base)
    assert (code, findings) == (0, [])


def test_principal_added_is_no_finding(repo: Path, capsys) -> None:
    base = _commit(repo, {"org.tf": _org("guardduty.amazonaws.com")})
    _commit(repo, {"org.tf": _org("guardduty.amazonaws.com", "config.amazonaws.com"), "config.tf": AGGREGATOR})
    assert _findings(capsys, "--base", base)[:2] == (0, [])


def test_lasting_consequence_is_quoted(repo: Path, capsys) -> None:
    base = _commit(repo, {"org.tf": _org("sso.amazonaws.com", "guardduty.amazonaws.com")})
    _commit(repo, {"org.tf": _org("guardduty.amazonaws.com")})
    _, findings, messages = _findings(capsys, "--base", base)
    assert findings == [("OT303", "org.tf", 2)]
    assert "IAM Identity Center" in messages[0]


def test_uncommitted_work_tree_is_compared_and_left_untouched(repo: Path, capsys) -> None:
    base = _commit(repo, {"org.tf": _org("config.amazonaws.com"), "config.tf": AGGREGATOR})
    (repo / "org.tf").write_text(_org("guardduty.amazonaws.com"))
    (repo / "config.tf").unlink()
    status_before = _git(repo, "status", "--porcelain")
    _, findings, _ = _findings(capsys, "--base", base)
    assert ("OT302", "org.tf", 2) in findings
    assert _git(repo, "status", "--porcelain") == status_before


def test_from_a_subdirectory_with_renamed_files(repo: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    base = _commit(
        repo,
        {"infra/org/main.tf": _org("config.amazonaws.com", "guardduty.amazonaws.com"), "infra/org/c.tf": AGGREGATOR},
    )
    _git(repo, "mv", "infra/org/main.tf", "infra/org/organization.tf")
    _git(repo, "mv", "infra/org/c.tf", "infra/org/config.tf")
    _commit(repo, {}, "rename only")
    monkeypatch.chdir(repo / "infra")
    assert _findings(capsys, "--base", base)[:2] == (0, [])  # renames are not removals
    _commit(repo, {"infra/org/organization.tf": _org("guardduty.amazonaws.com"), "infra/org/config.tf": None})
    _, findings, _ = _findings(capsys, "--base", base)
    assert findings == [("OT302", "org/organization.tf", 2)]


def test_revision_where_the_files_did_not_exist(repo: Path, capsys) -> None:
    base = _commit(repo, {"README.md": "nothing here yet\n"})
    _commit(repo, {"org.tf": _org("config.amazonaws.com"), "config.tf": AGGREGATOR})
    assert _findings(capsys, "--base", base)[:2] == (0, [])


def test_bad_revision_is_one_line_exit_2(repo: Path, capsys) -> None:
    _commit(repo, {"org.tf": _org("config.amazonaws.com")})
    code = run(["check", "--base", "no-such-branch"])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.strip() == "orgtrust-lint: error: --base: 'no-such-branch' is not a commit in this repository"


def test_outside_a_repository_is_one_line_exit_2(tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    outside = tmp_path / "plain"
    outside.mkdir()
    monkeypatch.chdir(outside)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    code = run(["check", "--base", "HEAD"])
    _, err = capsys.readouterr()
    assert code == 2 and len(err.strip().splitlines()) == 1 and "git repository" in err
