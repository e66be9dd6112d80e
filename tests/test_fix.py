"""--fix rewrites exactly the typos, byte for byte, atomically, and only the files that need it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from orgtrust_lint.cli import run

DATA = Path(__file__).parent / "data" / "fix"


@pytest.fixture
def copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    target = tmp_path / "fix"
    shutil.copytree(DATA, target, ignore=shutil.ignore_patterns("*.fixed"))
    (target / ".orgtrust-lint.yaml").write_text("ignore: [OT105]\n")
    monkeypatch.chdir(target)
    return target


def test_fix_produces_the_expected_files_byte_for_byte(copy: Path, capsys) -> None:
    untouched = copy / "untouched.tf"
    os.utime(untouched, (1_000_000_000, 1_000_000_000))
    mode = (copy / "main.tf").stat().st_mode
    run(["check", ".", "--fix"])
    out = capsys.readouterr().out
    assert "Fixed 8 problems in 3 files." in out
    for expected in DATA.glob("*.fixed"):
        assert (copy / expected.stem).read_bytes() == expected.read_bytes(), expected.stem
    assert untouched.stat().st_mtime == 1_000_000_000  # not rewritten
    assert (copy / "main.tf").stat().st_mode == mode
    assert not list(copy.glob(".orgtrust-lint-*")), "no temporary file left behind"
    # What is left is not fixable: an unknown principal with no close match.
    assert "unknownservice.amazonaws.com" in out


def test_second_run_changes_nothing(copy: Path, capsys) -> None:
    run(["check", ".", "--fix"])
    capsys.readouterr()
    stamps = {p: p.stat().st_mtime_ns for p in copy.iterdir()}
    run(["check", ".", "--fix"])
    assert "Fixed 0 problems in 0 files." in capsys.readouterr().out
    assert {p: p.stat().st_mtime_ns for p in copy.iterdir()} == stamps


def test_diff_shows_the_change_without_writing(copy: Path, capsys) -> None:
    before = (copy / "main.tf").read_bytes()
    code = run(["check", "main.tf", "--fix", "--diff"])
    out = capsys.readouterr().out
    assert code == 1  # a fix is pending (first-use review M7)
    assert '-    "secruityhub.amazonaws.com",' in out and '+    "securityhub.amazonaws.com",' in out
    assert (copy / "main.tf").read_bytes() == before


def test_a_file_changed_while_fixing_is_left_alone(copy: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    from orgtrust_lint import fix as fix_module

    original_plan = fix_module.plan_fixes

    def plan_then_edit(*args):
        fixes = original_plan(*args)
        (copy / "main.tf").write_text("# someone saved the file meanwhile\n")
        return fixes

    monkeypatch.setattr(fix_module, "plan_fixes", plan_then_edit)
    run(["check", "main.tf", "--fix"])
    captured = capsys.readouterr()
    assert "main.tf changed while it was being fixed; left alone" in captured.err
    assert (copy / "main.tf").read_text() == "# someone saved the file meanwhile\n"


def test_fix_on_a_copy_of_all_fixtures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """Only files with fixable findings change; a second run finds nothing left to fix."""
    from orgtrust_lint.config import load_config
    from orgtrust_lint.engine import rule_ids
    from orgtrust_lint.fix import FIXABLE
    from orgtrust_lint.lint import check

    target = tmp_path / "fixtures"
    shutil.copytree(Path(__file__).resolve().parent.parent / "fixtures", target)
    monkeypatch.chdir(tmp_path)
    # With each file's own configuration, as the command below reads them.
    configured = load_config(["fixtures"], rule_ids=rule_ids())
    fixable_files = {
        f.location.path for f in check(["fixtures"], configured).findings if f.rule in FIXABLE and f.suggestion
    }
    files = [p for p in target.rglob("*") if p.is_file()]
    for path in files:
        os.utime(path, (1_000_000_000, 1_000_000_000))
    run(["check", "fixtures", "--fix"])
    assert "Fixed" in capsys.readouterr().out
    changed = {str(p.relative_to(tmp_path)) for p in files if p.stat().st_mtime != 1_000_000_000}
    assert changed and changed <= fixable_files
    run(["check", "fixtures", "--fix"])
    assert "Fixed 0 problems in 0 files." in capsys.readouterr().out


def test_fix_keeps_the_file_mode_and_leaves_no_temporary_file(copy: Path, capsys) -> None:
    (copy / "main.tf").chmod(0o640)
    run(["check", "main.tf", "--fix"])
    capsys.readouterr()
    assert (copy / "main.tf").read_bytes() == (DATA / "main.tf.fixed").read_bytes()
    assert (copy / "main.tf").stat().st_mode & 0o777 == 0o640
    assert not [p.name for p in copy.iterdir() if p.name.startswith(".orgtrust-lint-")]


def test_a_failed_write_leaves_the_original_whole(copy: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    before = (copy / "main.tf").read_bytes()

    def disk_full(source, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    code = run(["check", "main.tf", "--fix"])
    _, err = capsys.readouterr()
    assert (copy / "main.tf").read_bytes() == before
    assert not [p.name for p in copy.iterdir() if p.name.startswith(".orgtrust-lint-")]
    assert "cannot write main.tf (No space left on device); left unchanged" in err
    assert "Traceback" not in err and code == 1  # the typo is still there, and reported
