"""The JSON report of every fixture directory, kept as a reviewed snapshot (like ruff's).

test_fixtures.py proves which rule fires on which line; this shows everything else a user reads
(messages, columns, suggestions, the summary), so a change to any of it appears in the diff of
tests/snapshots/ and is reviewed there. After an intended change:

    UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/test_snapshots.py

Each fixture directory is linted on its own from the repository root, as the demo does.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from orgtrust_lint.cli import run

REPO = Path(__file__).resolve().parent.parent
SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
TARGETS = sorted(
    [
        *(p.relative_to(REPO).as_posix() for p in (REPO / "fixtures" / "terraform").iterdir() if p.is_dir()),
        "fixtures/cloudformation",
        "fixtures/drift",
        "fixtures/policy",
        "fixtures/terragrunt",
    ]
)
PLANS = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "fixtures" / "plans").glob("*.json"))


def _report(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    code = run([*argv, "--format", "json", "--no-cache", "--jobs", "1"])
    out, err = capsys.readouterr()
    document = json.loads(out)
    document["tool"]["version"] = "(any)"  # not a behaviour: a release must not rewrite every snapshot
    document["exit_code"] = code
    document["stderr"] = err.splitlines()
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _snapshot_name(target: str) -> str:
    return target.replace("/", "__").removesuffix(".json") + ".json"


def _compare(name: str, actual: str) -> None:
    snapshot = SNAPSHOTS / _snapshot_name(name)
    if os.environ.get("UPDATE_SNAPSHOTS"):
        snapshot.write_text(actual, encoding="utf-8")
    assert snapshot.exists(), f"no snapshot for {name}: run with UPDATE_SNAPSHOTS=1 and review the new file"
    assert actual == snapshot.read_text(encoding="utf-8"), f"{name}: the report changed (see the diff above)"


@pytest.mark.parametrize("target", TARGETS)
def test_fixture_directory_report(target: str, capsys: pytest.CaptureFixture[str], in_repo_root: None) -> None:
    _compare(target, _report(capsys, ["check", target]))


@pytest.mark.parametrize("plan", PLANS)
def test_plan_report(plan: str, capsys: pytest.CaptureFixture[str], in_repo_root: None) -> None:
    _compare(plan, _report(capsys, ["check", "--plan", plan]))


def test_every_snapshot_belongs_to_a_fixture() -> None:
    """A fixture that was removed or renamed leaves no stale snapshot behind."""
    expected = {_snapshot_name(name) for name in [*TARGETS, *PLANS]}
    assert {p.name for p in SNAPSHOTS.glob("*.json")} == expected
