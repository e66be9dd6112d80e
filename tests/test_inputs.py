"""What the command line accepts as input (first-use review M5, M6, minor 20): OpenTofu files, stdin and
pipes, and a clear exit 2 for a path that names nothing orgtrust-lint reads, never a silent "0 files" pass."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from orgtrust_lint.cli import run
from orgtrust_lint.files import MAX_FILE_BYTES

REPO = Path(__file__).resolve().parent.parent
PLAN = REPO / "fixtures/plans/remove-config-with-aggregator.json"
CONSOLE_SCRIPT = shutil.which("orgtrust-lint", path=os.path.dirname(sys.executable))

ORG_WITH_TYPO = """resource "aws_organizations_organization" "org" {
  aws_service_access_principals = [
    "config.amazonaw.com",
  ]
}
"""
CLEAN_ORG = ORG_WITH_TYPO.replace("amazonaw.com", "amazonaws.com")
TEMPLATE_WITH_TYPO = """AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Role:
    Type: AWS::IAM::ServiceLinkedRole
    Properties:
      AWSServiceName: config.amazonaw.com
"""
TYPO_MESSAGE = "OT101 [error] 'config.amazonaw.com' is not a known trusted-access service principal"


# What a run checked (tests/test_cli.py covers the coverage figures) is not what these tests are about.
_COVERAGE = re.compile(
    r"; checked \d+ principals? and \d+ statements?(?:; \d+ values? could not be resolved \(OT002\))?"
)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = run(["check", "--no-cache", "--ignore", "OT105", *argv])
    out, err = capsys.readouterr()
    return code, _COVERAGE.sub("", out), err


def _stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


# M5: OpenTofu files are read like Terraform's


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [
        ("main.tofu", ORG_WITH_TYPO, 3),
        ("main.tofu.json", json.dumps({"resource": {"aws_organizations_organization": {"org": {
            "aws_service_access_principals": ["config.amazonaw.com"]}}}}, indent=2), 6),
    ],
)  # fmt: skip
def test_fu_m5_opentofu_files_are_linted(
    capsys: pytest.CaptureFixture[str], workdir: Path, name: str, text: str, line: int
) -> None:
    (workdir / name).write_text(text)
    code, out, err = _run(capsys, name)
    assert (code, err) == (1, "")
    assert out.splitlines()[0].startswith(f"{name}:{line}:")
    assert TYPO_MESSAGE in out
    assert out.splitlines()[-1].endswith("in 1 file.")


def test_fu_m5_a_tofu_file_hides_the_same_named_tf_file(capsys: pytest.CaptureFixture[str], workdir: Path) -> None:
    """As in OpenTofu: with main.tofu next to main.tf, only main.tofu is read (the typo in main.tf is not)."""
    (workdir / "main.tf").write_text(ORG_WITH_TYPO)
    (workdir / "main.tofu").write_text(CLEAN_ORG)
    code, out, err = _run(capsys, ".")
    assert (code, out) == (0, "All checks passed (1 file; 1 file skipped (see above)).\n")
    assert err == "orgtrust-lint: skipped main.tf: OpenTofu reads main.tofu instead\n"


# M5: an explicit path that names nothing orgtrust-lint reads is a usage error, like a missing path


def _one_line_usage_error(code: int, out: str, err: str, fragment: str) -> None:
    assert (code, out) == (2, "")
    assert len(err.splitlines()) == 1 and err.startswith("orgtrust-lint: error: "), err
    assert fragment in err


def test_fu_m5_a_file_of_another_format_is_exit_2(capsys: pytest.CaptureFixture[str], workdir: Path) -> None:
    (workdir / "main.py").write_text(ORG_WITH_TYPO)
    _one_line_usage_error(*_run(capsys, "main.py"), "main.py: not a file orgtrust-lint reads (Terraform")
    # Terraform's lock file is HCL, but nothing of ours: named alone it is not linted either.
    (workdir / ".terraform.lock.hcl").write_text('provider "registry.terraform.io/hashicorp/aws" {}\n')
    _one_line_usage_error(*_run(capsys, ".terraform.lock.hcl"), ".terraform.lock.hcl: not a file orgtrust-lint")


def test_fu_m5_an_empty_directory_is_exit_2(capsys: pytest.CaptureFixture[str], workdir: Path) -> None:
    (workdir / "emptydir").mkdir()
    (workdir / "emptydir" / "README.md").write_text("nothing to lint\n")
    _one_line_usage_error(*_run(capsys, "emptydir"), "emptydir: nothing to lint in this directory")


def test_fu_m5_a_fifo_or_pipe_path_is_exit_2_and_points_at_stdin(
    capsys: pytest.CaptureFixture[str], workdir: Path
) -> None:
    os.mkfifo(workdir / "main.tf")  # what `check <(cat main.tf)` passes is such a pipe; no writer: must not block
    _one_line_usage_error(*_run(capsys, "main.tf"), "main.tf: not a regular file (a pipe or device); for a pipe, use")
    read_end, write_end = os.pipe()
    try:
        _one_line_usage_error(*_run(capsys, f"/dev/fd/{read_end}"), "not a regular file")
    finally:
        os.close(read_end)
        os.close(write_end)


# M6: stdin and pipes


def test_fu_m6_check_dash_reads_terraform_from_stdin(
    capsys: pytest.CaptureFixture[str], workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (workdir / "other.tf").write_text(ORG_WITH_TYPO)  # not read: stdin stands alone without --stdin-filename
    _stdin(monkeypatch, ORG_WITH_TYPO.encode())
    code, out, err = _run(capsys, "-")
    assert (code, err) == (1, "")
    assert out.splitlines() == [
        f"stdin.tf:3:5: {TYPO_MESSAGE}; did you mean 'config.amazonaws.com'?",
        "Found 1 problem (1 error, 0 warnings, 0 info) in 1 file.",
    ]


def test_fu_m6_a_template_on_stdin_is_recognised(
    capsys: pytest.CaptureFixture[str], workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _stdin(monkeypatch, TEMPLATE_WITH_TYPO.encode())
    code, out, _ = _run(capsys, "-")
    assert code == 1
    assert out.startswith(f"stdin.yaml:6:23: {TYPO_MESSAGE}")


def test_fu_m6_stdin_filename_names_the_file_and_brings_its_module(
    capsys: pytest.CaptureFixture[str], workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An editor sends its unsaved buffer: it replaces org/main.tf, and org/'s variables resolve."""
    (workdir / "org").mkdir()
    (workdir / "org" / "main.tf").write_text(CLEAN_ORG)  # on disk: clean; the buffer has the typo
    (workdir / "org" / "variables.tf").write_text('variable "extra" {\n  default = ["sso.amazonaws.cm"]\n}\n')
    buffer = ORG_WITH_TYPO.replace("= [", "= concat(var.extra, [").replace("  ]\n", "  ])\n")
    _stdin(monkeypatch, buffer.encode())
    code, out, _ = _run(capsys, "-", "--stdin-filename", "org/main.tf")
    assert code == 1
    reported = [line.split(" ")[0:2] for line in out.splitlines()[:-1]]
    assert reported == [["org/main.tf:3:5:", "OT101"], ["org/variables.tf:2:14:", "OT101"]]


def test_fu_m6_stdin_filename_decides_the_format(
    capsys: pytest.CaptureFixture[str], workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _stdin(monkeypatch, TEMPLATE_WITH_TYPO.encode())
    code, out, _ = _run(capsys, "-", "--stdin-filename", "stacks/org.template")
    assert code == 1 and out.startswith("stacks/org.template:6:23: OT101")
    _stdin(monkeypatch, b"")
    _one_line_usage_error(*_run(capsys, "-", "--stdin-filename", "notes.txt"), "notes.txt: not a file orgtrust-lint")


def test_fu_m6_stdin_over_the_size_limit_is_exit_2(
    capsys: pytest.CaptureFixture[str], workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _stdin(monkeypatch, b"#" * (MAX_FILE_BYTES + 1))
    _one_line_usage_error(*_run(capsys, "-"), "stdin: larger than the 10 MB limit")


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["-", "main.tf"], "'-' (stdin) cannot be combined with other paths"),
        (["-", "--fix"], "--fix cannot rewrite stdin"),
        (["-", "--plan", "-"], "stdin can feed 'check -' or '--plan -', not both"),
        (["--stdin-filename", "main.tf", "main.tf"], "--stdin-filename only goes with '-'"),
    ],
)
def test_fu_m6_stdin_combinations_that_cannot_work_are_exit_2(
    capsys: pytest.CaptureFixture[str], workdir: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str], fragment: str
) -> None:
    (workdir / "main.tf").write_text(CLEAN_ORG)
    _stdin(monkeypatch, CLEAN_ORG.encode())
    _one_line_usage_error(*_run(capsys, *argv), fragment)


def test_fu_m6_plan_dash_reads_the_plan_from_stdin(
    capsys: pytest.CaptureFixture[str], workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _stdin(monkeypatch, PLAN.read_bytes())
    code, out, err = _run(capsys, "--plan", "-", "--format", "json")
    assert (code, err) == (1, "")
    findings = json.loads(out)["findings"]
    assert [(f["rule"], f["path"]) for f in findings] == [("OT302", "stdin.json")]


def test_fu_m6_plan_from_a_pipe(capsys: pytest.CaptureFixture[str], workdir: Path) -> None:
    """`--plan <(terraform show -json tfplan)` and `--plan /dev/stdin` name a pipe, not a regular file."""
    read_end, write_end = os.pipe()
    os.write(write_end, PLAN.read_bytes())  # smaller than a pipe's buffer
    os.close(write_end)
    try:
        code, out, err = _run(capsys, "--plan", f"/dev/fd/{read_end}", "--format", "json")
    finally:
        os.close(read_end)
    assert (code, err) == (1, "")
    assert [f["rule"] for f in json.loads(out)["findings"]] == ["OT302"]


def test_fu_m6_plan_from_a_real_pipe(tmp_path: Path) -> None:
    """`terraform show -json tfplan | orgtrust-lint check --plan /dev/stdin`, through the installed command."""
    assert CONSOLE_SCRIPT, "the console script is installed with the package"
    plan = subprocess.run(
        [CONSOLE_SCRIPT, "check", "--no-cache", "--ignore", "OT105", "--plan", "/dev/stdin"],
        input=PLAN.read_bytes(),
        capture_output=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert plan.returncode == 1 and b"OT302" in plan.stdout and plan.stderr == b""


# minor 20: --plan must be a plan


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("{not json", "not a Terraform plan in JSON (line 1, column 2:"),
        ('{"format_version": "0.1", "resource_changes": []}', "not a Terraform plan in JSON (expected"),
        ('{"Resources": {}}', "not a Terraform plan in JSON (expected"),
    ],
)
def test_fu_minor20_a_json_file_that_is_not_a_plan_is_exit_2(
    capsys: pytest.CaptureFixture[str], workdir: Path, content: str, fragment: str
) -> None:
    (workdir / "plan.json").write_text(content)
    _one_line_usage_error(*_run(capsys, "--plan", "plan.json"), f"--plan: plan.json: {fragment}")


def test_fu_m5_the_pre_commit_hooks_pass_exactly_the_files_orgtrust_lint_reads() -> None:
    """Any other file named on the command line is exit 2, so the hooks must never pass one."""
    import re

    import yaml

    from orgtrust_lint.parse.cloudformation import is_candidate
    from orgtrust_lint.parse.terraform import is_terraform_file
    from orgtrust_lint.parse.terragrunt import is_terragrunt_file

    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    names = ["main.tf", "a.tofu", "a.tf.json", "a.tofu.json", "prod.tfvars", "x.tfvars.json", "t.yaml", "t.yml"]
    names += ["t.json", "t.template", "main.hcl", ".terraform.lock.hcl", "n.ipynb", "g.geojson", "README.md", "tf"]
    names += ["live/prod/terragrunt.hcl", "root.hcl", "live/.terraform.lock.hcl"]
    for hook in hooks:
        assert "types_or" not in hook and "types" not in hook, hook["id"]
        passed = re.compile(hook["files"])
        left_out = re.compile(hook.get("exclude", "(?!)"))
        reads = {n for n in names if is_terraform_file(n) or is_candidate(n) or is_terragrunt_file(n)}
        assert {n for n in names if passed.search(n) and not left_out.search(n)} == reads
