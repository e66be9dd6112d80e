"""The GitHub Action (action.yml), its steps run as the runner would run them, against a fixture repository.

Each ``run:`` step's shell runs under bash as GitHub runs it (``bash --noprofile --norc -eo pipefail``),
with the step's ``env`` and ``working-directory``, ``GITHUB_OUTPUT`` and ``RUNNER_TEMP``; the expressions
the action uses (``inputs.*``, ``github.action_path``, ``steps.*.outputs.*``, ``==``, ``!=``, ``&&``) are
evaluated here. The two ``uses:`` steps are GitHub's own actions: setup-python's answer is a Python made
here, and upload-sarif's call is recorded with its arguments. The install step really runs pip on a copy
of this repository, offline: the build backend comes from the wheelhouse ``make install`` fills, and the
dependencies are this test environment's (a ``.pth`` file lists its site-packages after the new Python's
own, so the orgtrust-lint pip installs there is the one that runs).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import site
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
ACTION = yaml.safe_load((REPO / "action.yml").read_text())
WHEELHOUSE = Path(sys.prefix) / "wheelhouse"
SARIF_SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-2.1.0.json").read_text())
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
TYPOS = (REPO / "fixtures" / "terraform" / "org-typos" / "main.tf").read_text()


@dataclass
class Run:
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)  # step id -> its outputs
    logs: dict[str, str] = field(default_factory=dict)  # step name -> what it printed
    skipped: list[str] = field(default_factory=list)
    uploads: list[dict[str, str]] = field(default_factory=list)  # upload-sarif's arguments
    failed: tuple[str, int] | None = None  # the step that failed the action, and its exit code


class Runner:
    def __init__(self, action_path: Path, workspace: Path, python: Path, inputs: dict[str, str]) -> None:
        defaults = {name: str(spec.get("default", "")) for name, spec in ACTION["inputs"].items()}
        assert set(inputs) <= set(defaults), "the test passes only inputs the action declares"
        self.inputs = {**defaults, **inputs}
        self.action_path, self.workspace, self.python = action_path, workspace, python
        self.run = Run()

    def value(self, expression: str) -> str:
        kind, _, rest = expression.partition(".")
        if kind == "inputs":
            return self.inputs[rest]
        if expression == "github.action_path":
            return str(self.action_path)
        step, outputs, name = rest.split(".", 2)
        assert kind == "steps" and outputs == "outputs", f"an expression this runner does not know: {expression}"
        return self.run.outputs.get(step, {}).get(name, "")

    def substitute(self, text: str) -> str:
        return EXPRESSION.sub(lambda m: self.value(m.group(1)), text)

    def condition(self, text: str) -> bool:
        """``A == 'x' && B != ''``: the only form of condition the action uses."""
        expression = EXPRESSION.fullmatch(text.strip())
        for part in (expression.group(1) if expression else text).split("&&"):
            left, operator, literal = re.fullmatch(r"\s*(\S+)\s*(==|!=)\s*'([^']*)'\s*", part).groups()
            if (self.value(left) == literal) != (operator == "=="):
                return False
        return True

    def execute(self, extra_env: dict[str, str]) -> Run:
        temp = self.workspace.parent / "runner-temp"
        temp.mkdir(exist_ok=True)
        for step in ACTION["runs"]["steps"]:
            name = step.get("name") or step.get("id") or step["uses"]
            if "if" in step and not self.condition(step["if"]):
                self.run.skipped.append(name)
                continue
            if "uses" in step:
                self.uses(step)
                continue
            output_file = temp / f"output-{len(self.run.logs)}"
            output_file.write_text("")
            env = {
                **os.environ,
                **extra_env,
                "GITHUB_OUTPUT": str(output_file),
                "RUNNER_TEMP": str(temp),
                "GITHUB_ACTIONS": "true",
                "CI": "true",
                **{key: self.substitute(str(value)) for key, value in step.get("env", {}).items()},
            }
            cwd = self.workspace / self.substitute(step.get("working-directory", "."))
            done = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                cwd=cwd,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            self.run.logs[name] = done.stdout + done.stderr
            if "id" in step:
                lines = output_file.read_text().splitlines()
                self.run.outputs[step["id"]] = dict(line.split("=", 1) for line in lines)
            if done.returncode != 0:
                self.run.failed = (name, done.returncode)
                break
        return self.run

    def uses(self, step: dict) -> None:
        action = step["uses"].split("@")[0]
        arguments = {key: self.substitute(str(value)) for key, value in step.get("with", {}).items()}
        if action == "actions/setup-python":
            assert arguments["python-version"] == self.inputs["python-version"]
            self.run.outputs[step["id"]] = {"python-path": str(self.python)}
        else:
            assert action == "github/codeql-action/upload-sarif"
            self.run.uploads.append(arguments)


@pytest.fixture(scope="module")
def action_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This repository as the runner checks out an action: its tracked files (uncommitted changes included)."""
    copy = tmp_path_factory.mktemp("action")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, (os.fsdecode(n) for n in listed)):
        if (REPO / name).is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, copy / name)
    return copy


@pytest.fixture(scope="module")
def python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What setup-python hands the action: an interpreter of its own, with this environment's packages
    behind its own site-packages (so pip finds the dependencies installed and fetches nothing)."""
    prefix = tmp_path_factory.mktemp("setup-python")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(prefix)], check=True)
    [own] = prefix.glob("lib/python3*/site-packages")
    (own / "test-environment.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    return prefix / "bin" / "python"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A checked-out repository whose Terraform lives in infra/."""
    root = tmp_path / "workspace"
    (root / "infra").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / "infra" / "main.tf").write_text(TYPOS)
    return root


OFFLINE = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(WHEELHOUSE), "PIP_NO_COMPILE": "1"}


def _run_action(action_path: Path, workspace: Path, python: Path, **inputs: str) -> Run:
    assert any(WHEELHOUSE.glob("setuptools-*.whl")), "make install fills the wheelhouse"
    return Runner(action_path, workspace, python, inputs).execute(OFFLINE)


def test_the_action_annotates_uploads_sarif_and_fails_on_findings(
    action_path: Path, python: Path, workspace: Path
) -> None:
    run = _run_action(
        action_path, workspace, python, **{"working-directory": "infra", "formats": "junit=orgtrust-lint.xml"}
    )
    installed = subprocess.run(
        [python, "-c", "import orgtrust_lint; print(orgtrust_lint.__file__)"],
        cwd=workspace,
        capture_output=True,
        text=True,
    ).stdout
    assert installed.startswith(str(python.parent.parent)), "the orgtrust-lint pip installed from the action runs"
    check = run.logs["orgtrust-lint check"]
    # Annotations name the file from the repository root, as GitHub resolves them.
    assert "::error file=infra/main.tf,line=7,col=5," in check
    assert run.outputs["check"]["exit-code"] == "1"
    sarif = workspace / "infra" / "orgtrust-lint.sarif"
    assert run.outputs["check"]["sarif-file"] == str(sarif)
    assert run.uploads == [{"sarif_file": str(sarif), "category": "orgtrust-lint"}]
    document = json.loads(sarif.read_text())
    jsonschema.validate(document, SARIF_SCHEMA)
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in document["runs"][0]["results"]}
    assert uris == {"infra/main.tf"}
    assert (workspace / "infra" / "orgtrust-lint.xml").read_text().startswith("<?xml")
    assert run.failed == ("orgtrust-lint verdict", 1), "the action fails last, after the upload"
    assert "found problems at or above fail-on" in run.logs["orgtrust-lint verdict"]


def test_fail_on_never_reports_without_failing_and_paths_and_args_are_passed(
    action_path: Path, python: Path, workspace: Path
) -> None:
    (workspace / "infra" / "clean").mkdir()
    (workspace / "infra" / "clean" / "main.tf").write_text('resource "aws_organizations_organization" "o" {}\n')
    run = _run_action(
        action_path,
        workspace,
        python,
        **{
            "fail-on": "never",
            "paths": "infra/main.tf\ninfra/clean",
            "args": "--ignore OT103",
            "sarif-upload": "false",
        },
    )
    check = run.logs["orgtrust-lint check"]
    assert "OT101" in check and "OT103" not in check
    assert "in 2 files" in check
    assert run.outputs["check"] == {"exit-code": "0"}
    assert run.failed is None and run.uploads == []
    assert run.skipped == ["github/codeql-action/upload-sarif@v3", "orgtrust-lint verdict"]
