"""The pre-commit hooks, for real: `pre-commit try-repo` against this repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PRE_COMMIT = shutil.which("pre-commit", path=os.path.dirname(sys.executable))


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("project")
    _git(root, "init", "-q")
    (root / "good.tf").write_text(
        'resource "aws_organizations_organization" "org" {\n'
        '  aws_service_access_principals = ["sso.amazonaws.com"]\n}\n'
    )
    (root / "bad.tf").write_text(
        'resource "aws_iam_service_linked_role" "r" {\n  aws_service_name = "config.amazonaw.com"\n}\n'
    )
    _git(root, "add", "-A")
    return root


def _try_repo(project: Path, hook: str, *files: str) -> subprocess.CompletedProcess[str]:
    assert PRE_COMMIT, "pre-commit is installed with the test extras"
    env = {**os.environ, "PRE_COMMIT_HOME": str(project.parent / "pre-commit-home"), "NO_COLOR": "1"}
    return subprocess.run(
        [PRE_COMMIT, "try-repo", str(REPO), hook, "--files", *files],
        cwd=project,
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )


def test_hook_passes_on_a_clean_file(project: Path) -> None:
    result = _try_repo(project, "orgtrust-lint", "good.tf")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Passed" in result.stdout


def test_hook_fails_on_a_bad_file_with_our_message(project: Path) -> None:
    result = _try_repo(project, "orgtrust-lint", "bad.tf")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "bad.tf:2:22: OT101 [error] 'config.amazonaw.com' is not a known trusted-access service principal" in (
        result.stdout
    )


def test_fix_hook_rewrites_the_typo(project: Path) -> None:
    result = _try_repo(project, "orgtrust-lint-fix", "bad.tf")
    assert result.returncode == 1  # pre-commit fails a hook that modified files
    assert "files were modified by this hook" in result.stdout
    assert '"config.amazonaws.com"' in (project / "bad.tf").read_text()
