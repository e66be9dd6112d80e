"""A cache directory someone else prepared runs no code and changes no finding (review D1, D14, D24).

The attacker builds a genuine cache on their own machine, then rewrites it: every entry becomes
either a pickle that runs a command or well-formed data that hides the findings, and pickles are
planted wherever any version of orgtrust-lint ever looked (yaml/<sha256>, parse.sqlite3 at the
top). That cache then reaches the victim committed in the repository (checked out under umask
022 or 077) or in a shared directory other users can write to. The victim's run, in a
subprocess with memory and time limits, must report exactly what a run without cache reports.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import resource
import shutil
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from orgtrust_lint.fact_codec import encode_facts
from orgtrust_lint.facts import Facts

COMMAND = str(Path(sys.executable).parent / "orgtrust-lint")
MEMORY_LIMIT = 1024 * 1024 * 1024
TIME_LIMIT = 60.0
PACKAGE = Path(__import__("orgtrust_lint").__file__).parent
TYPOS = """resource "aws_organizations_organization" "org" {
  aws_service_access_principals = ["config.amazonaw.com", "ssoo.amazonaws.com"]
}
"""


class RunsACommand:
    """What a malicious pickle holds: unpickling it calls os.system."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (os.system, (f"touch {self.marker}",))


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def _run(project: Path, environment: dict[str, str], *options: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("ORGTRUST_LINT_CACHE_DIR", "XDG_CACHE_HOME")}
    return subprocess.run(
        [COMMAND, "check", ".", "--format", "json", *options],
        cwd=project,
        env={**base, **environment},
        capture_output=True,
        text=True,
        timeout=TIME_LIMIT,
        preexec_fn=_limit_memory,
    )


def _findings(result: subprocess.CompletedProcess[str]) -> list[tuple]:
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
    return sorted((f["rule"], f["path"], f["line"], f["message"]) for f in json.loads(result.stdout)["findings"])


def _project(root: Path) -> Path:
    project = root / "repo"
    (project / "org").mkdir(parents=True)
    (project / "org" / "main.tf").write_text(TYPOS)
    return project


def _poison(cache: Path, marker: Path) -> None:
    """Rewrite a genuine cache the way an attacker would, and plant pickles at every old location."""
    payload = pickle.dumps(RunsACommand(marker))
    hiding = encode_facts(Facts(files=["org/main.tf"]))  # well-formed: the module has no findings
    catalog = json.loads(json.dumps(__import__("yaml").safe_load((PACKAGE / "data" / "catalog.yaml").read_bytes())))
    for typo in ("config.amazonaw.com", "ssoo.amazonaws.com"):  # the typos become known principals
        catalog["services"].append({**catalog["services"][0], "principal": typo})
    namespaces = [p for p in cache.iterdir() if p.is_dir() and len(p.name) == 24]
    assert namespaces, "the genuine run made no cache to poison"
    for namespace in namespaces:
        with sqlite3.connect(namespace / "parse.sqlite3") as connection:
            connection.execute("UPDATE entries SET value = ?", (hiding,))
            keys = [k for (k,) in connection.execute("SELECT key FROM entries")]
            connection.executemany("INSERT INTO entries VALUES (?, ?, 0)", ((k[::-1], payload) for k in keys))
        for entry in (namespace / "yaml").iterdir():
            entry.write_text(json.dumps(catalog))
    # Where versions before 0.2 looked: pickled YAML by content hash, pickled rows at the top.
    legacy_yaml = cache / "yaml"
    legacy_yaml.mkdir(exist_ok=True)
    for data_file in [PACKAGE / "data" / "catalog.yaml", *(PACKAGE / "rules").glob("*.yaml")]:
        (legacy_yaml / hashlib.sha256(data_file.read_bytes()).hexdigest()).write_bytes(payload)
    with sqlite3.connect(cache / "parse.sqlite3") as connection:
        connection.execute("CREATE TABLE entries (key TEXT PRIMARY KEY, value BLOB, stamp INTEGER)")
        connection.executemany("INSERT INTO entries VALUES (?, ?, 0)", ((f"{i:064x}", payload) for i in range(50)))


def _genuine_cache(tmp_path: Path, project: Path) -> Path:
    """A cache made by a real run on the attacker's machine."""
    attacker_cache = tmp_path / "attacker-cache"
    assert _run(project, {"ORGTRUST_LINT_CACHE_DIR": str(attacker_cache)}).returncode == 1
    return attacker_cache


def _as_checked_out(source: Path, target: Path, umask: int) -> None:
    """What `git clone` of a repository committing ``source`` leaves: same bytes, fresh inodes,
    modes from the umask (git records no modes beyond the executable bit)."""
    shutil.copytree(source, target, copy_function=shutil.copyfile)
    for path in [target, *target.rglob("*")]:
        os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~umask)


@pytest.mark.parametrize("umask", [0o022, 0o077], ids=["umask-022", "umask-077"])
def test_a_cache_committed_in_the_repository_runs_nothing_and_hides_nothing(tmp_path: Path, umask: int) -> None:
    project = _project(tmp_path)
    marker = tmp_path / "code-ran"
    expected = _findings(_run(project, {"ORGTRUST_LINT_CACHE_DIR": str(tmp_path / "clean")}, "--no-cache"))
    assert {rule for rule, *_ in expected} >= {"OT101"}

    crafted = _genuine_cache(tmp_path, project)
    _poison(crafted, marker)
    _as_checked_out(crafted, project / ".cache" / "orgtrust-lint", umask)

    # CI keeps tool caches in the workspace: XDG_CACHE_HOME inside the checkout.
    for _ in range(2):  # the second run reads what the first one wrote
        result = _run(project, {"XDG_CACHE_HOME": str(project / ".cache")})
        assert _findings(result) == expected
        assert result.returncode == 1
        assert not marker.exists(), "a cached pickle ran a command"


def test_a_world_writable_cache_directory_is_not_used(tmp_path: Path) -> None:
    project = _project(tmp_path)
    marker = tmp_path / "code-ran"
    expected = _findings(_run(project, {"ORGTRUST_LINT_CACHE_DIR": str(tmp_path / "clean")}, "--no-cache"))

    shared = _genuine_cache(tmp_path, project)
    _poison(shared, marker)
    for path in [shared, *shared.rglob("*")]:
        os.chmod(path, 0o777 if path.is_dir() else 0o666)  # anyone could have written all of it

    result = _run(project, {"ORGTRUST_LINT_CACHE_DIR": str(shared)})
    assert _findings(result) == expected
    assert not marker.exists(), "a cached pickle ran a command"
    assert result.stderr.splitlines() == [
        f"orgtrust-lint: not using the cache directory '{shared}': other users can write to it"
    ]
    assert stat.S_IMODE(shared.stat().st_mode) == 0o777  # left as it was: not ours to repair


def test_a_cache_directory_of_another_user_is_not_used(tmp_path: Path) -> None:
    project = _project(tmp_path)
    expected = _findings(_run(project, {"ORGTRUST_LINT_CACHE_DIR": str(tmp_path / "clean")}, "--no-cache"))
    if os.geteuid() == 0:
        foreign = _genuine_cache(tmp_path, project)
        _poison(foreign, tmp_path / "code-ran")
        os.chown(foreign, 65534, 65534)  # nobody
    else:
        foreign = Path("/usr/share")  # root's, and not writable by this user
    result = _run(project, {"ORGTRUST_LINT_CACHE_DIR": str(foreign)})
    assert _findings(result) == expected
    assert not (tmp_path / "code-ran").exists()
    assert result.stderr.splitlines() == [
        f"orgtrust-lint: not using the cache directory '{foreign}': it belongs to another user"
    ]


def test_no_cache_reads_nothing_from_the_cache(tmp_path: Path) -> None:
    """--no-cache: not even rules, catalog or configuration come from a cache this user made."""
    project = _project(tmp_path)
    own = _genuine_cache(tmp_path, project)
    expected = _findings(_run(project, {"ORGTRUST_LINT_CACHE_DIR": str(tmp_path / "clean")}, "--no-cache"))
    _poison(own, tmp_path / "code-ran")  # still this user's, private directory
    assert _findings(_run(project, {"ORGTRUST_LINT_CACHE_DIR": str(own)}, "--no-cache")) == expected
    assert not (tmp_path / "code-ran").exists()


def _namespace(cache: Path) -> Path:
    (found,) = (p for p in cache.iterdir() if p.is_dir() and len(p.name) == 24)
    return found


@pytest.mark.parametrize("plant", ["fifo", "dev-zero", "directory"])
def test_odd_files_in_the_cache_are_skipped_never_read_without_bound(tmp_path: Path, plant: str) -> None:
    """D14: a FIFO or a link to /dev/zero where an entry belongs does not hang the run or fill memory."""
    project = _project(tmp_path)
    cache = _genuine_cache(tmp_path, project)
    expected = _findings(_run(project, {"ORGTRUST_LINT_CACHE_DIR": str(cache)}))
    namespace = _namespace(cache)
    targets = [*(namespace / "yaml").iterdir(), namespace / "parse.sqlite3"]
    for target in targets:
        target.unlink()
        if plant == "fifo":
            os.mkfifo(target, 0o600)
        elif plant == "dev-zero":
            target.symlink_to("/dev/zero")
        else:
            target.mkdir()
    result = _run(project, {"ORGTRUST_LINT_CACHE_DIR": str(cache)})
    assert _findings(result) == expected
    assert all(os.path.lexists(t) for t in targets)  # skipped, not deleted: they are not ours


def test_the_cache_is_private_to_its_user(tmp_path: Path) -> None:
    """D24: directories 0700, entries 0600, and an older world-readable directory is closed."""
    project = _project(tmp_path)
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o755)
    os.chmod(cache, 0o755)
    assert _run(project, {"ORGTRUST_LINT_CACHE_DIR": str(cache)}).returncode == 1
    modes = {p.relative_to(cache).as_posix(): stat.S_IMODE(p.lstat().st_mode) for p in [cache, *cache.rglob("*")]}
    assert modes["."] == 0o700
    assert any(name.endswith("parse.sqlite3") for name in modes)
    assert all(mode == (0o700 if (cache / name).is_dir() else 0o600) for name, mode in modes.items()), modes
