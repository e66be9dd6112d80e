"""Whole runs a hostile repository can cause (review D8, D9, D11, D17, D21): each in a subprocess
with an address-space limit and a watchdog, like the hostile files next door.

A hostile input here is a configuration file, a directory name, a principal's text or a file name
rather than one broken file. Each case says what the user must see: the run ends well within the
watchdog, in bounded memory, with no traceback, and either lints the canary or stops with one line.
"""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

COMMAND = str(Path(sys.executable).parent / "orgtrust-lint")
MEMORY_LIMIT = 1024 * 1024 * 1024
TIME_LIMIT = 30.0
CANARY = (
    'resource "aws_organizations_organization" "canary" {\n'
    '  aws_service_access_principals = ["config.amazonaw.com"]\n}\n'
)
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


@dataclass(frozen=True)
class Run:
    name: str
    write: Callable[[Path], None]
    options: tuple[str, ...] = ("--format", "json")
    exit_code: int = 1
    stderr: str | None = None  # the one stderr line expected, or None for none


def _write(relative: str, text: str) -> Callable[[Path], None]:
    def write(root: Path) -> None:
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)

    return write


def _alias_bomb(root: Path) -> None:
    lines = ['  l0: &l0 ["lol"]'] + [f"  l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, 9)]
    (root / ".orgtrust-lint.yaml").write_text("x-notes:\n" + "\n".join(lines) + "\n")


def _redos(root: Path) -> None:
    (root / ".orgtrust-lint.yaml").write_text('exclude: ["*a*a*a*a*a*a*a*a*a*a*a*a*b"]\n')
    _write("a" * 40 + "/main.tf", CANARY.replace("canary", "deep"))(root)


def _extend_chain(root: Path) -> None:
    (root / ".orgtrust-lint.yaml").write_text("extend: chain/0.yaml\n")
    (root / "chain").mkdir()
    for index in range(2000):
        (root / "chain" / f"{index}.yaml").write_text(f"extend: {index + 1}.yaml\n" if index < 1999 else "{}\n")


HOSTILE_PRINCIPALS = [
    "ssoo.amazonaws.com\x1b]0;owned-title\x07\x1b[2K\r\x1b[32mAll checks passed (0 files).\x1b[0m",
    "config.amazonaw.com\n::error file=fake.tf,line=1::injected\n::add-mask::amazonaws\n",
    "x.amazonaws.com%0A::warning::percent-encoded ##[add-mask]x",
]


def _hostile_principals(root: Path) -> None:
    values = ", ".join(json.dumps(p) for p in HOSTILE_PRINCIPALS)  # JSON string escapes are HCL's too
    _write(
        "org/main.tf",
        f'resource "aws_organizations_organization" "o" {{\n  aws_service_access_principals = [{values}]\n}}\n',
    )(root)


def _hostile_file_names(root: Path) -> None:
    _write("names/a\n::error file=x::from-filename\n\x1b[31mred.tf", CANARY.replace("canary", "a"))(root)
    (root / "names").joinpath("b\n::add-mask::secret-from-skipped-path\n.tf").symlink_to("/etc/hostname")
    os.mkfifo(root / "names" / "c\n::warning::fifo-name\n.tf")


RUNS = [
    Run(
        "alias bomb in the configuration",
        _alias_bomb,
        exit_code=2,
        stderr="orgtrust-lint: error: .orgtrust-lint.yaml: not valid YAML "
        "(more than 200,000 values once aliases are expanded)",
    ),
    Run("exclude glob against a 40-character directory name", _redos),
    Run(
        "extend chain of 2,000 files",
        _extend_chain,
        exit_code=2,
        stderr="orgtrust-lint: error: chain/30.yaml: 'extend': more than 32 files extend each other",
    ),
    Run("control characters and workflow commands in principals, text", _hostile_principals, options=()),
    Run(
        "control characters and workflow commands in principals, github",
        _hostile_principals,
        options=("--format", "github"),
    ),
    Run("control characters and workflow commands in file names, text", _hostile_file_names, options=()),
    Run(
        "control characters and workflow commands in file names, github",
        _hostile_file_names,
        options=("--format", "github"),
    ),
]


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


@pytest.mark.parametrize("case", RUNS, ids=[c.name for c in RUNS])
def test_hostile_run(case: Run, tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "canary").mkdir(parents=True)
    (project / "canary" / "main.tf").write_text(CANARY)
    case.write(project)
    started = time.perf_counter()
    result = subprocess.run(
        [COMMAND, "check", ".", "--no-cache", *case.options],
        cwd=project,
        env={**os.environ, "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        errors="surrogateescape",
        timeout=TIME_LIMIT,
        preexec_fn=_limit_memory,
    )
    print(f"{case.name}: exit {result.returncode} in {time.perf_counter() - started:.2f} s")
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
    assert result.returncode == case.exit_code, result.stdout + result.stderr
    if case.stderr is not None:
        assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith(case.stderr), result.stderr
    if case.exit_code == 1:
        assert "canary/main.tf" in result.stdout  # the rest of the repository is still linted
    # Nothing printed can drive a terminal or start a GitHub workflow command.
    for line in [*result.stdout.splitlines(), *result.stderr.splitlines()]:
        assert not CONTROL.search(line), repr(line)
        assert not line.lstrip().startswith("::") or (
            case.options[-1:] == ("github",) and line.startswith(("::error ", "::warning ", "::notice "))
        ), repr(line)
        assert "##[" not in line, repr(line)
