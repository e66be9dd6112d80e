"""Values followed across local module calls (issue 17): configurations, callers of a module linted
on its own, and the pre-commit form reporting for a file what a run from the top reports for it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from orgtrust_lint.cli import run

REPO = Path(__file__).resolve().parent.parent
FIXTURE = REPO / "fixtures" / "terraform" / "modules"


@pytest.fixture
def repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The modules fixture as a repository of its own, run from its top."""
    root = tmp_path / "repo"
    shutil.copytree(FIXTURE, root)
    (root / ".git").mkdir()  # where the search for callers stops
    monkeypatch.chdir(root)
    return root


def _findings(capsys: pytest.CaptureFixture[str], *paths: str) -> set[tuple[str, int, str]]:
    run(["check", "--no-cache", "--format", "json", *paths])
    report = json.loads(capsys.readouterr().out)
    return {(f["path"], f["line"], f["rule"]) for f in report["findings"]}


@pytest.mark.parametrize(
    "path",
    [
        "modules/trail/main.tf",
        "modules/aggregator/main.tf",
        "modules/guardrails/main.tf",
        "modules/organization/main.tf",
        "org/main.tf",
    ],
)
def test_the_pre_commit_form_reports_for_a_file_what_a_run_from_the_top_reports(
    repository: Path, capsys: pytest.CaptureFixture[str], path: str
) -> None:
    everything = _findings(capsys)
    alone = _findings(capsys, path)
    assert {f for f in alone if f[0] == path} == {f for f in everything if f[0] == path}
    assert everything  # the fixture has findings: a comparison of two empty sets would prove nothing


def test_a_called_module_linted_alone_takes_its_values_from_its_caller(
    repository: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """modules/trail's own default switches the trail off; the caller switches it on."""
    assert ("modules/trail/main.tf", 7, "OT301") in _findings(capsys, "modules/trail")
    # Without the caller (another repository, say), the module is a root with its defaults.
    shutil.rmtree(repository / "org")
    assert _findings(capsys, "modules/trail") == set()


def test_a_typo_in_a_callers_argument_is_reported_at_the_callers_line(
    repository: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ("org/main.tf", 9, "OT101") in _findings(capsys, "org")


def test_a_module_called_twice_is_checked_with_each_calls_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "child").mkdir()
    (tmp_path / "child" / "main.tf").write_text(
        'variable "principal" {}\n'
        'resource "aws_organizations_aws_service_access" "this" {\n  service_principal = var.principal\n}\n'
    )
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "main.tf").write_text(
        'module "a" {\n  source    = "../child"\n  principal = "sso.amazonaws.com"\n}\n'
        'module "b" {\n  source    = "../child"\n  principal = "confg.amazonaws.com"\n}\n'
    )
    monkeypatch.chdir(tmp_path)
    assert _findings(capsys) == {("root/main.tf", 7, "OT101")}


def test_configurations_are_compared_separately(capsys: pytest.CaptureFixture[str], in_repo_root: None) -> None:
    """One root enables Config; another relies on it without enabling it: only the second fires."""
    found = _findings(capsys, "fixtures/terraform/two-roots")
    assert found == {("fixtures/terraform/two-roots/b/main.tf", 8, "OT301")}


def test_the_search_for_callers_stays_inside_what_was_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Outside any repository, only the named path is searched: never the working directory, whose
    unrelated files (a broken configuration here) have nothing to do with the run."""
    working = tmp_path / "working"
    (working / "elsewhere").mkdir(parents=True)
    (working / "elsewhere" / ".orgtrust-lint.yaml").write_text("extend: nowhere.yaml\n")
    (working / "elsewhere" / "main.tf").write_text('module "x" {\n  source = "../../project"\n}\n')
    project = tmp_path / "project"
    project.mkdir()
    (project / "main.tf").write_text(
        'resource "aws_organizations_organization" "o" {\n  aws_service_access_principals = ["sso.amazonaws.com"]\n}\n'
    )
    monkeypatch.chdir(working)
    assert run(["check", "--no-cache", str(project)]) == 0
    assert capsys.readouterr().err == ""


def test_callers_in_a_repository_inside_this_one_are_not_this_ones(
    repository: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A clone or submodule below the top applies its own configurations: its callers do not bind
    this repository's module (and walking it, a corpus of thousands of files, costs every run)."""
    assert ("modules/trail/main.tf", 7, "OT301") in _findings(capsys, "modules/trail")
    shutil.move(str(repository / "org"), str(repository / "vendor-clone"))
    (repository / "vendor-clone" / ".git").mkdir()
    assert _findings(capsys, "modules/trail") == set()


def test_a_python_virtual_environment_is_not_walked(tmp_path: Path, monkeypatch, capsys) -> None:
    """A venv holds installed packages, never the project's code: a .tf file inside one (a package's
    test data) is neither linted nor a caller."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()
    venv = tmp_path / "venv"
    (venv / "lib").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (venv / "lib" / "main.tf").write_text(
        'resource "aws_organizations_organization" "o" {\n  aws_service_access_principals = ["sso.amazonaws.co"]\n}\n'
    )
    (tmp_path / "main.tf").write_text('resource "aws_organizations_organization" "o" {\n  feature_set = "ALL"\n}\n')
    assert run(["check", "--no-cache", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["summary"]["files"] == 1
