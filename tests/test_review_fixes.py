"""Defects from the code review (issue 15): each test is named after the review's id (cr_dN)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from orgtrust_lint.cli import run
from orgtrust_lint.files import MAX_FILE_BYTES

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


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args], cwd=repo, check=True)


@pytest.fixture
def base_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository whose first commit enables config.amazonaws.com; the work tree enables nothing."""
    _git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "org.tf").write_text(ORG_WITH_CONFIG_AGGREGATOR)
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-q", "-m", "base")
    (tmp_path / "org.tf").write_text(ORG_WITH_CONFIG_AGGREGATOR.replace('"config.amazonaws.com"', ""))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_cr_d14_base_revision_files_over_the_size_limit_are_skipped_not_read(
    capsys: pytest.CaptureFixture[str], base_repo: Path
) -> None:
    (base_repo / "big.tf").write_text("# generated\n" + "#" * MAX_FILE_BYTES)
    _git(base_repo, "add", "big.tf")
    _git(base_repo, "commit", "-q", "-m", "a generated file")
    (base_repo / "big.tf").write_text("# now small\n")
    code, _, err = _run(capsys, "check", "--no-cache", "--ignore", "OT105,OT301", "--base", "HEAD")
    assert err == "orgtrust-lint: skipped big.tf: 10 MB at HEAD, larger than the 10 MB limit, so it was not compared\n"
    assert code == 1  # org.tf at HEAD was still compared: the principal's removal is reported


def test_cr_d14_a_crash_on_a_base_revision_file_is_ot003_not_a_crashed_run(
    capsys: pytest.CaptureFixture[str], base_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug of ours while reading the base revision is OT003 and exit 3 (incomplete), as for the work tree."""
    import orgtrust_lint.lint as lint
    import orgtrust_lint.parse.terraform as terraform

    original = terraform.parse_terraform

    def buggy(path: str, data: bytes) -> object:
        if b'"config.amazonaws.com"' in data:  # the base revision's org.tf only
            raise RecursionError("maximum recursion depth exceeded")
        return original(path, data)

    monkeypatch.setattr(terraform, "parse_terraform", buggy)
    monkeypatch.setattr(lint, "parse_terraform", buggy)
    code, out, err = _run(capsys, "check", "--no-cache", "--jobs", "1", "--ignore", "OT105,OT301", "--base", "HEAD")
    assert (code, err) == (3, "")
    assert out.splitlines()[0] == (
        "org.tf:1:1: OT003 [error] orgtrust-lint failed while parsing the --base revision's copy of this file "
        "(RecursionError: maximum recursion depth exceeded); some checks did not run on it - please report this"
    )
