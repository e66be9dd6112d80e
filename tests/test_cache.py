"""The parse cache: same findings cold and warm, hits skip parsing, damage is survived."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from orgtrust_lint.cli import run
from orgtrust_lint.config import Config
from orgtrust_lint.lint import check

REPO = Path(__file__).resolve().parent.parent


def _findings(paths: list[str], use_cache: bool = True) -> list[tuple]:
    return sorted((f.rule, f.location, f.message) for f in check(paths, Config(), use_cache=use_cache).findings)


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "cache"
    monkeypatch.setenv("ORGTRUST_LINT_CACHE_DIR", str(directory))
    return directory


def _database(cache_dir: Path) -> Path:
    """The parse database, inside the namespace directory bound to the cache's key file."""
    (found,) = cache_dir.glob("*/parse.sqlite3")
    return found


def _entries(cache_dir: Path) -> int:
    with sqlite3.connect(_database(cache_dir)) as connection:
        return connection.execute("SELECT count(*) FROM entries").fetchone()[0]


def test_warm_run_gives_the_same_findings_without_parsing(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch, in_repo_root: None
) -> None:
    uncached = _findings(["fixtures"], use_cache=False)
    assert not list(cache_dir.glob("*/parse.sqlite3"))  # --no-cache writes nothing
    cold = _findings(["fixtures"])
    assert cold == uncached and _entries(cache_dir) > 20

    from orgtrust_lint.parse import terraform

    def no_parsing(*args, **kwargs):
        raise AssertionError("a warm run must not parse")

    monkeypatch.setattr(terraform, "parse_file", no_parsing)
    monkeypatch.setattr("orgtrust_lint.lint.extract_cloudformation", no_parsing)
    assert _findings(["fixtures"]) == cold


def test_corrupt_entries_are_ignored_and_rewritten(cache_dir: Path, in_repo_root: None) -> None:
    cold = _findings(["fixtures"])
    with sqlite3.connect(_database(cache_dir)) as connection:
        connection.execute("UPDATE entries SET value = x'806e6f742061207069636b6c65'")
    assert _findings(["fixtures"]) == cold
    with sqlite3.connect(_database(cache_dir)) as connection:
        damaged = connection.execute("SELECT count(*) FROM entries WHERE value = x'806e6f742061207069636b6c65'")
        assert damaged.fetchone()[0] == 0


@pytest.mark.parametrize("damage", [b"", b"not a database at all" * 100, b"SQLite format 3\x00" + b"\xff" * 4000])
def test_a_corrupt_database_is_rebuilt(cache_dir: Path, in_repo_root: None, damage: bytes) -> None:
    cold = _findings(["fixtures"])
    _database(cache_dir).write_bytes(damage)
    assert _findings(["fixtures"]) == cold  # the damaged database is dropped
    assert _findings(["fixtures"]) == cold  # and the next run builds a new one
    assert _entries(cache_dir) > 20


def test_an_unwritable_cache_directory_only_costs_speed(tmp_path: Path, monkeypatch, in_repo_root: None) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("ORGTRUST_LINT_CACHE_DIR", str(blocker / "cache"))  # cannot be created
    assert _findings(["fixtures"]) == _findings(["fixtures"], use_cache=False)


def test_concurrent_runs_share_the_cache_safely(cache_dir: Path, tmp_path: Path) -> None:
    command = [str(Path(sys.executable).parent / "orgtrust-lint"), "check", "fixtures", "--format", "json"]
    environment = {"ORGTRUST_LINT_CACHE_DIR": str(cache_dir), "PATH": "/usr/bin:/bin"}
    runs = [
        subprocess.Popen(command, cwd=REPO, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(4)
    ]
    outputs = [process.communicate(timeout=120) for process in runs]
    assert [process.returncode for process in runs] == [1] * 4
    assert all(stderr == b"" for _, stderr in outputs)
    assert len({stdout for stdout, _ in outputs}) == 1
    assert _entries(cache_dir) > 20


def test_changed_content_is_a_miss(cache_dir: Path, tmp_path: Path, capsys) -> None:
    tf = tmp_path / "main.tf"
    tf.write_text('resource "aws_iam_service_linked_role" "r" {\n  aws_service_name = "config.amazonaw.com"\n}\n')
    assert run(["check", str(tmp_path)]) == 1
    tf.write_text('resource "aws_iam_service_linked_role" "r" {\n  aws_service_name = "config.amazonaws.com"\n}\n')
    assert run(["check", str(tmp_path)]) == 0
    capsys.readouterr()


def test_a_busy_database_is_used_later_never_deleted(cache_dir: Path, in_repo_root: None) -> None:
    """D13: another run holding the database's lock past the busy timeout costs this run its
    cache, not the other run its database (it used to be deleted as if it were damaged)."""
    cold = _findings(["fixtures"])
    database = _database(cache_dir)
    rows = _entries(cache_dir)
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        assert _findings(["fixtures"]) == cold
        assert database.exists()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert _entries(cache_dir) == rows


def test_file_names_and_contents_cannot_run_into_each_other(
    cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """D12: a module whose file holds NUL bytes and the names of its neighbours must not share a
    cache entry with the module those bytes spell out (a stale finding at a line that does not exist)."""
    monkeypatch.chdir(tmp_path)
    Path("m").mkdir()
    head = b'resource "aws_organizations_organization" "o" {\n  feature_set = "ALL"\n}\n# '
    tail = b'\nresource "aws_iam_service_linked_role" "r" {\n  aws_service_name = "config.amazonaw.com"\n}\n'
    # State 1: everything in a.tf (the NULs sit in a comment); b.tf holds nothing of interest.
    Path("m/a.tf").write_bytes(head + b"\0m/b.tf\0" + tail)
    Path("m/b.tf").write_text("# nothing here\n")
    run(["check", "m"])
    assert "m/a.tf:6:22: OT101" in capsys.readouterr().out
    # State 2: the same bytes split over the two files; the typo is in b.tf now.
    Path("m/a.tf").write_bytes(head)
    Path("m/b.tf").write_bytes(tail)
    run(["check", "m"])
    output = capsys.readouterr().out
    assert "m/b.tf:3:22: OT101" in output and "m/a.tf" not in output


def test_a_file_and_directory_name_that_is_not_utf8_is_cached(
    cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """A plain `check` failed with an internal UnicodeEncodeError (the cache keyed modules by their file
    names encoded as strict UTF-8) on a directory or .tf file whose name is not valid UTF-8."""
    import os

    project = tmp_path / "project"
    directory = project / os.fsdecode(b"legacy-\xfe")
    directory.mkdir(parents=True)
    organization = 'resource "aws_organizations_organization" "org" {\n  aws_service_access_principals = ["%s"]\n}\n'
    (directory / os.fsdecode(b"main-\xff.tf")).write_text(organization % "config.amazonaw.com")
    monkeypatch.chdir(project)
    outputs = []
    for _ in ("cold", "warm"):
        code = run(["check"])
        out, err = capsys.readouterr()
        assert (code, err) == (1, "")
        outputs.append(out)
    assert outputs[0] == outputs[1]
    assert outputs[0].startswith("legacy-\\xfe/main-\\xff.tf:2:36: OT101 [error] 'config.amazonaw.com'")


@pytest.mark.parametrize(
    "change",
    ["grant", "remove"],
    ids=["the template now grants EnableAWSServiceAccess", "the template is gone"],
)
def test_a_file_evaluation_read_is_part_of_the_cached_facts(cache_dir: Path, tmp_path: Path, change: str) -> None:
    """A policy kept in a template beside the code (templatefile): the .tf files are unchanged, the
    template is not, and the warm run must judge the template as it is now."""
    module = tmp_path / "module"
    module.mkdir()
    (module / "main.tf").write_text(
        'resource "aws_iam_role_policy" "p" {\n'
        '  role   = "admin"\n'
        '  policy = templatefile("${path.module}/policy.json.tpl", {})\n'
        "}\n"
    )
    template = module / "policy.json.tpl"
    read_only = (
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}'
    )
    template.write_text(read_only)
    assert _findings([str(module)]) == []

    if change == "grant":
        template.write_text(read_only.replace("s3:GetObject", "organizations:EnableAWSServiceAccess"))
    else:
        template.unlink()
    warm = _findings([str(module)])
    assert warm == _findings([str(module)], use_cache=False)
    assert [rule for rule, *_ in warm] == (["OT201"] if change == "grant" else ["OT002"])
