"""The parse cache: same findings cold and warm, hits skip parsing, corrupt entries are ignored."""

from __future__ import annotations

from pathlib import Path

import pytest

from orgtrust_lint.cli import run
from orgtrust_lint.config import Config
from orgtrust_lint.lint import check


def _findings(paths: list[str], use_cache: bool = True) -> list[tuple]:
    return sorted((f.rule, f.location, f.message) for f in check(paths, Config(), use_cache=use_cache).findings)


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "cache"
    monkeypatch.setenv("ORGTRUST_LINT_CACHE_DIR", str(directory))
    return directory


def test_warm_run_gives_the_same_findings_without_parsing(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch, in_repo_root: None
) -> None:
    uncached = _findings(["fixtures"], use_cache=False)
    assert not (cache_dir / "parse").exists()  # --no-cache writes nothing
    cold = _findings(["fixtures"])
    assert cold == uncached and any((cache_dir / "parse").rglob("*"))

    from orgtrust_lint.parse import terraform

    def no_parsing(*args, **kwargs):
        raise AssertionError("a warm run must not parse")

    monkeypatch.setattr(terraform, "parse_file", no_parsing)
    monkeypatch.setattr("orgtrust_lint.lint.extract_cloudformation", no_parsing)
    assert _findings(["fixtures"]) == cold


def test_corrupt_entries_are_ignored(cache_dir: Path, in_repo_root: None) -> None:
    cold = _findings(["fixtures"])
    entries = [p for p in (cache_dir / "parse").rglob("*") if p.is_file()]
    for entry in entries:
        entry.write_bytes(b"\x80not a pickle")
    assert _findings(["fixtures"]) == cold


def test_changed_content_is_a_miss(cache_dir: Path, tmp_path: Path, capsys) -> None:
    tf = tmp_path / "main.tf"
    tf.write_text('resource "aws_iam_service_linked_role" "r" {\n  aws_service_name = "config.amazonaw.com"\n}\n')
    assert run(["check", str(tmp_path)]) == 1
    tf.write_text('resource "aws_iam_service_linked_role" "r" {\n  aws_service_name = "config.amazonaws.com"\n}\n')
    assert run(["check", str(tmp_path)]) == 0
    capsys.readouterr()
