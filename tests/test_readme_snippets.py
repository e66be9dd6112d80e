"""The README's CI snippets and packaging promises hold (issue 20, first-use B1): every install line names
this repository at the release tag of this version, the GitHub and GitLab snippets' commands run and
write the files their steps and artifacts name, and the README reads on a package index (absolute links).
The pre-commit snippet is run by tests/test_pre_commit.py, the action's steps by tests/test_action.py."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from importlib.metadata import metadata
from pathlib import Path

import jsonschema
import pytest
import tomli
import xmlschema
import yaml

from orgtrust_lint import REPOSITORY_URL, __version__
from orgtrust_lint.cli import run

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text()
DATA = Path(__file__).parent / "data"
SNIPPETS = [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", README, re.S)]
TAG = f"v{__version__}"
INSTALL = f"orgtrust-lint @ git+{REPOSITORY_URL}@{TAG}"
TYPO = (
    'resource "aws_organizations_organization" "org" {\n  aws_service_access_principals = ["config.amazonaw.com"]\n}\n'
)


def _snippet(predicate) -> object:
    [found] = [s for s in SNIPPETS if predicate(s)]
    return found


@pytest.fixture
def repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "main.tf").write_text(TYPO)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _run_command(line: str, capsys: pytest.CaptureFixture[str]) -> int:
    argv = shlex.split(line)
    assert argv[0] == "orgtrust-lint"
    code = run(argv[1:])
    assert capsys.readouterr().err == "", f"{line!r} is a command that works"
    return code


def test_every_install_line_names_this_repository_at_this_versions_tag() -> None:
    lines = re.findall(r"pip install [^\n`]*", README)
    remote = [line for line in lines if "git+" in line]
    assert len(remote) >= 4 and "pip install orgtrust-lint\n" not in README
    for line in remote:
        assert f"@ git+{REPOSITORY_URL}@{TAG}" in line, line
    assert "orgtrust-lint[drift] @ git+" in README.split("## Live drift")[1].split("## Configuration")[0]
    changelog = (REPO / "CHANGELOG.md").read_text()
    assert f"## [{__version__}]" in changelog and f"v{__version__}" in changelog


def test_the_github_action_snippet_uses_inputs_the_action_has() -> None:
    workflow = _snippet(lambda s: isinstance(s, dict) and "jobs" in s and "lint" in s["jobs"])
    assert workflow["permissions"]["security-events"] == "write", "SARIF upload needs it"
    steps = workflow["jobs"]["lint"]["steps"]
    [step] = [s for s in steps if s.get("uses", "").startswith("orgtrust-lint/orgtrust-lint@")]
    assert step["uses"] == f"{REPOSITORY_URL.removeprefix('https://github.com/')}@{TAG}"
    action = yaml.safe_load((REPO / "action.yml").read_text())
    assert set(step["with"]) <= set(action["inputs"])
    assert step["with"]["fail-on"] in ("error", "warning", "info", "never")


def test_the_workflow_without_the_action_writes_the_sarif_it_uploads(
    repository: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    steps = _snippet(lambda s: isinstance(s, list) and any("upload-sarif" in str(step) for step in s))
    runs = [step["run"] for step in steps if "run" in step]
    assert runs[0] == f'pip install "{INSTALL}"'
    assert _run_command(runs[1], capsys) == 1  # the typo: the job fails, the upload still runs (if: always())
    [upload] = [step for step in steps if "upload-sarif" in step.get("uses", "")]
    assert upload["if"] == "always()"
    document = json.loads((repository / upload["with"]["sarif_file"]).read_text())
    jsonschema.validate(document, json.loads((DATA / "sarif-2.1.0.json").read_text()))


def test_the_gitlab_job_writes_the_reports_its_artifacts_name(
    repository: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job = _snippet(lambda s: isinstance(s, dict) and "orgtrust-lint" in s)["orgtrust-lint"]
    assert not job["image"].endswith("-slim"), "pip needs git to install from the repository"
    assert job["before_script"] == [f'pip install "{INSTALL}"']
    assert [_run_command(line, capsys) for line in job["script"]] == [1]
    assert job["artifacts"]["when"] == "always", "a job that failed on findings keeps its reports"
    reports = job["artifacts"]["reports"]
    issues = json.loads((repository / reports["codequality"]).read_text())
    assert [(i["check_name"], i["location"]["path"], i["location"]["lines"]["begin"]) for i in issues] == [
        ("OT101", "main.tf", 2)
    ]
    assert {"description", "fingerprint", "severity"} <= set(issues[0])
    xmlschema.XMLSchema(str(DATA / "junit-10.xsd")).validate(str(repository / reports["junit"]))


def test_the_readme_reads_on_a_package_index() -> None:
    """PyPI shows the README without the repository around it: a relative link would lead nowhere."""
    for target in re.findall(r"\]\(([^)]+)\)", README):
        assert target.startswith(("https://", "#")), target
    for target in re.findall(r"<(https?://[^>]+)>", README):
        assert target.startswith("https://")


def test_the_package_metadata_declares_license_pythons_and_urls() -> None:
    """What the installed distribution says about itself (pip show, a package index)."""
    installed = metadata("orgtrust-lint")
    assert installed["License-Expression"] == "Apache-2.0"
    assert "LICENSE" in installed.get_all("License-File")
    classifiers = installed.get_all("Classifier")
    for minor in range(10, 14):
        assert f"Programming Language :: Python :: 3.{minor}" in classifiers
    urls = dict(entry.split(", ", 1) for entry in installed.get_all("Project-URL"))
    assert urls["Repository"] == REPOSITORY_URL and urls["Changelog"].startswith(REPOSITORY_URL)
    requirements = installed.get_all("Requires-Dist")
    assert [r for r in requirements if r.startswith("boto3") and "test" not in r] == ['boto3>=1.34; extra == "drift"']
    license_text = (REPO / "LICENSE").read_text()
    assert license_text.split()[:4] == ["Apache", "License", "Version", "2.0,"]
    assert "END OF TERMS AND CONDITIONS" in license_text
    project = tomli.loads((REPO / "pyproject.toml").read_text())["project"]
    assert all(url.startswith(REPOSITORY_URL) for url in project["urls"].values())
    assert not any(d.startswith("boto3") for d in project["dependencies"])
