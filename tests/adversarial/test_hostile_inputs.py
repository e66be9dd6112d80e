"""Hostile and broken input: every case ends in seconds, within a memory limit, with OT001 at a
line or a one-line skip reason, never a traceback, and the other files are still linted.

Each case runs the installed command in a subprocess with an address-space limit, next to two
canary files with a known finding: one in another module and one beside the hostile file.
"""

from __future__ import annotations

import importlib.util
import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest


def _load_corpus():  # tests/ is not a package: load the corpus module next to this file by path
    spec = importlib.util.spec_from_file_location("hostile_corpus", Path(__file__).with_name("hostile.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is created
    spec.loader.exec_module(module)
    return module


corpus = _load_corpus()
TYPO_TF, Case, cases = corpus.TYPO_TF, corpus.Case, corpus.cases

COMMAND = str(Path(sys.executable).parent / "orgtrust-lint")
MEMORY_LIMIT = 1024 * 1024 * 1024  # address space, bytes
TIME_LIMIT = 30.0  # seconds; every case takes well under 5 s
MARKER = f"/tmp/orgtrust-lint-adversarial-{os.getpid()}-must-not-exist"
CASES = cases(MARKER)
CANARIES = {"canary/main.tf", "hostile/sibling.tf"}


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def _unprivileged(command: list[str]) -> list[str]:
    """Root reads any file; without the two DAC capabilities it meets permissions like anyone."""
    if os.geteuid() != 0:
        return command
    setpriv = shutil.which("setpriv")
    assert setpriv, "running as root: setpriv (util-linux) is needed to test an unreadable file"
    drop = "-dac_override,-dac_read_search"
    return [setpriv, f"--inh-caps={drop}", f"--bounding-set={drop}", *command]


def _run(project: Path, case: Case) -> tuple[subprocess.CompletedProcess[str], float, int]:
    command = [COMMAND, "check", ".", "--format", "json", "--no-cache"]
    if case.as_nobody:
        command = _unprivileged(command)
    environment = {**os.environ, "ORGTRUST_LINT_CACHE_DIR": str(project.parent / "cache")}
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=project,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_limit_memory,
    )
    # Read the pipes in threads and reap with wait4, which reports this process's own peak RSS.
    outputs: dict[str, str] = {}
    readers = [
        threading.Thread(target=lambda name=name, pipe=pipe: outputs.__setitem__(name, pipe.read()))
        for name, pipe in (("stdout", process.stdout), ("stderr", process.stderr))
    ]
    for reader in readers:
        reader.start()
    watchdog = threading.Timer(TIME_LIMIT, process.kill)
    watchdog.start()
    _, status, usage = os.wait4(process.pid, 0)
    watchdog.cancel()
    for reader in readers:
        reader.join()
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    assert elapsed < TIME_LIMIT, f"{case.name}: killed after {TIME_LIMIT} s"
    result = subprocess.CompletedProcess(command, process.returncode, outputs["stdout"], outputs["stderr"])
    return result, elapsed, usage.ru_maxrss // 1024


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_input(case: Case, tmp_path: Path) -> None:
    project = tmp_path / "project"
    for canary in CANARIES:
        (project / canary).parent.mkdir(parents=True, exist_ok=True)
        (project / canary).write_text(TYPO_TF.format(name=canary.replace("/", "_").replace(".", "_")))
    case.write(project)

    result, elapsed, peak_mb = _run(project, case)
    print(f"{case.name}: exit {result.returncode}, {elapsed:.2f} s, peak RSS {peak_mb} MB")

    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
    # The canaries' findings, nothing worse; 3 when the skipped file could have held a finding.
    assert result.returncode == (3 if case.expect.incomplete else 1), result.stderr
    report = json.loads(result.stdout)
    findings = [(f["rule"], f["path"], f["line"], f["message"]) for f in report["findings"]]
    # Nothing lost: both canaries are linted, whatever happened to their neighbour.
    assert {(rule, path) for rule, path, _, _ in findings} >= {("OT101", c) for c in CANARIES}

    about = [f for f in findings if f[1] == case.hostile]
    skip_lines = [line for line in result.stderr.splitlines() if line.startswith("orgtrust-lint: skipped ")]
    assert len(result.stderr.splitlines()) == len(skip_lines), result.stderr  # no other chatter
    expect = case.expect
    if expect.skipped:
        assert len(skip_lines) == 1 and skip_lines[0].startswith(f"orgtrust-lint: skipped {case.hostile}: ")
        assert expect.skipped in skip_lines[0]
        assert not about
    else:
        assert not skip_lines, skip_lines
    if expect.rule:
        assert [rule for rule, *_ in about] == [expect.rule] * expect.count, about[:5]
        _, _, line, message = about[0]
        assert "\n" not in message
        if expect.line is not None:
            assert line == expect.line, about
        if expect.message is not None:
            assert expect.message in message, message
    elif not expect.skipped:
        assert not about, about
    assert not os.path.exists(MARKER), "a YAML tag ran a command"
    # Files outside the project are never read: the linked file's typo is not reported.
    assert all(not path.startswith("..") and "outside" not in path for _, path, _, _ in findings)
