"""The pre-commit hooks, for real: pre-commit installs this repository's hooks from the README's own
snippet (`repo:` + `rev:` at the release tag), then runs them.

The hook repository is a snapshot of this working tree committed once per test session, and one
PRE_COMMIT_HOME is shared, so the hook environment is built once. It is built offline: pip takes
the dependencies from the wheelhouse `make install` fills (PIP_NO_INDEX), never from the network.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from orgtrust_lint import REPOSITORY_URL, __version__

REPO = Path(__file__).resolve().parent.parent
PRE_COMMIT = shutil.which("pre-commit", path=os.path.dirname(sys.executable))
WHEELHOUSE = Path(sys.prefix) / "wheelhouse"


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "commit.gpgsign=false", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


@pytest.fixture(scope="module")
def hooks_repository(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """This working tree (uncommitted changes included, as `try-repo` would take them) as a repository."""
    snapshot = tmp_path_factory.mktemp("hooks-repository")
    tracked = _git(REPO, "ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    for name in filter(None, tracked):
        source = REPO / name
        if source.is_file():
            (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, snapshot / name)
    _git(snapshot, "init", "-q")
    _git(snapshot, "add", "-A")
    _git(snapshot, "commit", "-q", "-m", "snapshot")
    _git(snapshot, "tag", f"v{__version__}")  # the release tag the README's snippet names
    return snapshot, _git(snapshot, "rev-parse", "HEAD")


def _readme_configuration(repository: Path) -> str:
    """The README's pre-commit snippet, with this repository's address replaced by the snapshot's and
    the fix hook (the snippet's commented alternative) switched on as well."""
    readme = (REPO / "README.md").read_text()
    [snippet] = [b for b in re.findall(r"```yaml\n(.*?)```", readme, re.S) if b.startswith("repos:")]
    configuration = yaml.safe_load(snippet)
    [entry] = configuration["repos"]
    assert (entry["repo"], entry["rev"]) == (REPOSITORY_URL, f"v{__version__}")
    entry["repo"] = str(repository)
    entry["hooks"].append({"id": "orgtrust-lint-fix"})
    return yaml.safe_dump(configuration)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, hooks_repository: tuple[Path, str]) -> Path:
    root = tmp_path_factory.mktemp("project")
    repository, _ = hooks_repository
    _git(root, "init", "-q")
    (root / ".pre-commit-config.yaml").write_text(_readme_configuration(repository))
    (root / "good.tf").write_text(
        'resource "aws_organizations_organization" "org" {\n'
        '  aws_service_access_principals = ["sso.amazonaws.com"]\n}\n'
    )
    (root / "bad.tf").write_text(
        'resource "aws_iam_service_linked_role" "r" {\n  aws_service_name = "config.amazonaw.com"\n}\n'
    )
    _git(root, "add", "-A")
    return root


def _run_hook(project: Path, hook: str, *files: str) -> subprocess.CompletedProcess[str]:
    assert PRE_COMMIT, "pre-commit is installed with the test extras"
    assert any(WHEELHOUSE.glob("cfn_lint-*.whl")), "make install fills the wheelhouse"
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(project.parent / "pre-commit-home"),
        "NO_COLOR": "1",
        "PIP_NO_INDEX": "1",  # offline: everything comes from the wheelhouse
        "PIP_FIND_LINKS": str(WHEELHOUSE),
        "PIP_NO_COMPILE": "1",  # byte-compiling sympy and botocore would double the set-up time
    }
    return subprocess.run(
        [PRE_COMMIT, "run", hook, "--files", *files],
        cwd=project,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def test_hook_passes_on_a_clean_file(project: Path) -> None:
    result = _run_hook(project, "orgtrust-lint", "good.tf")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Passed" in result.stdout


def test_hook_fails_on_a_bad_file_with_our_message(project: Path) -> None:
    result = _run_hook(project, "orgtrust-lint", "bad.tf")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "bad.tf:2:22: OT101 [error] 'config.amazonaw.com' is not a known trusted-access service principal" in (
        result.stdout
    )


def test_fix_hook_rewrites_the_typo(project: Path) -> None:
    result = _run_hook(project, "orgtrust-lint-fix", "bad.tf")
    assert result.returncode == 1  # pre-commit fails a hook that modified files
    assert "files were modified by this hook" in result.stdout
    assert '"config.amazonaws.com"' in (project / "bad.tf").read_text()


def test_the_hook_environment_is_the_light_install(project: Path) -> None:
    """pre-commit installs this repository without extras (issue 20): no boto3, and drift, which needs
    it, says how to get it instead of failing on an import."""
    assert _run_hook(project, "orgtrust-lint", "good.tf").returncode == 0  # the environment exists
    [program] = (project.parent / "pre-commit-home").glob("repo*/py_env-*/bin/orgtrust-lint")
    without = subprocess.run([program.parent / "python", "-c", "import boto3"], capture_output=True, text=True)
    assert without.returncode == 1 and "No module named 'boto3'" in without.stderr
    drift = subprocess.run([program, "drift", "good.tf"], cwd=project, capture_output=True, text=True)
    assert drift.returncode == 2 and "drift needs boto3" in drift.stderr and drift.stdout == ""
