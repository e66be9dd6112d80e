"""Progress on a terminal (issue 20): a long cold run counts the files it parses on stderr, in one line
rewritten in place and erased before the report; never in a pipe, a CI log or beside a machine format.
The line's delay is set to 0 here, so that it shows at once however fast the run is."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from orgtrust_lint import parallel, terminal
from orgtrust_lint.cli import run

ORGANIZATION = (
    'resource "aws_organizations_organization" "o" {\n  aws_service_access_principals = ["sso.amazonaws.com"]\n}\n'
)
ERASE = "\r\033[K"


@pytest.fixture
def modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for number in range(40):
        (tmp_path / f"m{number}").mkdir()
        (tmp_path / f"m{number}" / "main.tf").write_text(ORGANIZATION)
    (tmp_path / "m0" / "main.tf").write_text(ORGANIZATION.replace("sso.amazonaws.com", "config.amazonaw.com"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(terminal, "DELAY", 0.0)
    monkeypatch.setattr(terminal, "INTERVAL", 0.0)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    return tmp_path


def _watched(monkeypatch: pytest.MonkeyPatch, stdout: bool = True, stderr: bool = True) -> None:
    # In the test's body: pytest swaps the streams between a fixture's set-up and the test.
    monkeypatch.setattr(sys.stdout, "isatty", lambda: stdout, raising=False)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: stderr, raising=False)


def _check(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = run(["check", ".", "--no-cache", "--ignore", "OT105", "--color", "never", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_cold_run_on_a_terminal_counts_the_files_it_parses(
    jobs: str, modules: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parallel, "MIN_PARALLEL_ITEMS", 1)  # 40 modules: use the workers with --jobs 2
    code, quiet_out, quiet_err = _check(capsys, "--jobs", jobs)
    assert (code, quiet_err) == (1, "")
    _watched(monkeypatch)
    code, out, err = _check(capsys, "--jobs", jobs)
    assert code == 1 and out == quiet_out, "the report is the same with the line on"
    assert err.startswith(f"{ERASE}orgtrust-lint: parsed 0 of 40 files")
    assert f"{ERASE}orgtrust-lint: parsed 40 of 40 files" in err
    assert err.endswith(ERASE), "the line is erased before the report"


def test_a_warm_run_has_nothing_to_count(
    modules: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run(["check", ".", "--ignore", "OT105"])  # fills the cache
    capsys.readouterr()
    _watched(monkeypatch)
    assert run(["check", ".", "--ignore", "OT105"]) == 1
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    ("setting", "argv"),
    [("ci", []), ("pipe", []), ("stderr-redirected", []), ("machine-format", ["--format", "json"])],
)
def test_no_progress_in_a_pipe_a_ci_log_or_beside_a_machine_format(
    setting: str, argv: list[str], modules: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    _watched(monkeypatch, stdout=setting != "pipe", stderr=setting != "stderr-redirected")
    if setting == "ci":
        monkeypatch.setenv("CI", "true")
    code, _, err = _check(capsys, *argv)
    assert (code, err) == (1, "")
