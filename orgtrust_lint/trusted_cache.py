"""The cache directory, used only when nobody but this user could have written what it holds.

A linter runs on untrusted pull requests, often with a CI cache restored into the workspace, so
the cache is treated as hostile input:

- Nothing read from it can execute: entries are JSON or plain SQLite values, checked on read.
- The directory is used only when it is a real directory owned by this user that no other user
  can write to (nor its parent, unless that is sticky like /tmp); otherwise it is ignored with
  one note on stderr. It is created 0700 and entries are written 0600.
- Entries are bound to this very directory: they live under a namespace derived from a random
  key file and from that file's device, inode and change time. A directory that was copied,
  restored or checked out from a repository (even one holding a key file) has a key file with a
  new inode and change time, so none of its entries are ever opened: it starts cold.
- Files are opened without following links and without blocking, and read with a size bound,
  so a FIFO or a link to /dev/zero planted in it cannot hang or exhaust the run.

``disable()`` (``--no-cache``) makes every lookup a miss and every write a no-op.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import re
import stat
import sys
from pathlib import Path

_KEY_NAME = "key"
_KEY_BYTES = 32
_NAMESPACE = re.compile(r"[0-9a-f]{24}")

_disabled = False
_store: CacheStore | None = None
_resolved_for: str | None = None
_noted: set[str] = set()


def location() -> Path:
    """Where the cache lives: ORGTRUST_LINT_CACHE_DIR, else $XDG_CACHE_HOME/orgtrust-lint,
    else ~/.cache/orgtrust-lint."""
    override = os.environ.get("ORGTRUST_LINT_CACHE_DIR")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "orgtrust-lint"


def disable() -> None:
    """--no-cache: read nothing from the cache and write nothing to it, for the rest of the run."""
    global _disabled, _store, _resolved_for
    _disabled, _store, _resolved_for = True, None, None


def enable() -> None:
    """Undo ``disable`` (the command line is run several times in one process by the tests)."""
    global _disabled, _resolved_for
    _disabled, _resolved_for = False, None


def _note(directory: Path, why: str) -> None:
    """One line on stderr per directory and run: the cache is an optimisation, never fatal."""
    if str(directory) in _noted:
        return
    _noted.add(str(directory))
    from orgtrust_lint.report.escape import safe_line

    print(safe_line(f"orgtrust-lint: not using the cache directory '{directory}': {why}"), file=sys.stderr)


def _owned_private_directory(path: Path, fix_mode: bool) -> str | None:
    """Why ``path`` cannot hold trusted entries, or None when it can."""
    try:
        info = os.lstat(path)
    except OSError as exc:
        return f"cannot inspect it ({exc.strerror})"
    if stat.S_ISLNK(info.st_mode):
        return "it is a symbolic link"
    if not stat.S_ISDIR(info.st_mode):
        return "it is not a directory"
    if info.st_uid != os.geteuid():
        return "it belongs to another user"
    if info.st_mode & 0o022:
        return "other users can write to it"
    if info.st_mode & 0o077 and fix_mode:
        # Ours and writable only by us, but readable by others (made by an older version or a
        # umask of 022): cached facts describe private code, so close it.
        with contextlib.suppress(OSError):
            os.chmod(path, 0o700)
    return None


def _parent_problem(path: Path) -> str | None:
    """Anyone who can rename entries in a world-writable parent could swap the directory under us."""
    try:
        info = os.stat(path.parent)
    except OSError:
        return None  # the directory itself was inspected; nothing more to learn
    if info.st_mode & 0o002 and not info.st_mode & stat.S_ISVTX:
        return "its parent directory is writable by other users"
    return None


def _make_directory(path: Path) -> None:
    with contextlib.suppress(FileExistsError):
        path.parent.mkdir(parents=True, exist_ok=True)
        os.mkdir(path, 0o700)


def _read_key(directory: Path) -> tuple[bytes, os.stat_result] | None:
    """The key and the stat of its file, creating it when there is none; None when unusable."""
    path = directory / _KEY_NAME
    for _ in range(2):
        try:
            descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except FileNotFoundError:
            _create_key(path)
            continue
        except OSError:
            return None
        try:
            info = os.fstat(descriptor)
            usable = (
                stat.S_ISREG(info.st_mode)
                and info.st_uid == os.geteuid()
                and not info.st_mode & 0o077
                and info.st_size == _KEY_BYTES
            )
            key = os.read(descriptor, _KEY_BYTES + 1) if usable else b""
        finally:
            os.close(descriptor)
        if len(key) == _KEY_BYTES:
            return key, info
        if info.st_size == 0 and stat.S_ISREG(info.st_mode):
            return None  # another run is creating it this instant: no cache for this run
        # Not a key this user made (wrong owner, mode or size): replace it with one of ours.
        with contextlib.suppress(OSError):
            os.unlink(path)
    return None


def _create_key(path: Path) -> None:
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except OSError:
        return  # another run made it first, or the directory is read-only
    try:
        os.write(descriptor, os.urandom(_KEY_BYTES))
    finally:
        os.close(descriptor)


class CacheStore:
    """The namespace directory this installation may read entries from and write them to."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, *parts: str) -> Path:
        return self.directory.joinpath(*parts)

    def read(self, relative: str, max_bytes: int) -> bytes | None:
        """An entry's bytes, or None: missing, not a regular file of ours, or over ``max_bytes``."""
        try:
            descriptor = os.open(self.directory / relative, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            return None
        try:
            info = os.fstat(descriptor)
            if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid() or info.st_size > max_bytes:
                return None
            chunks, size = [], 0
            while size <= max_bytes:
                chunk = os.read(descriptor, max_bytes + 1 - size)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
            return b"".join(chunks) if size <= max_bytes else None
        except OSError:
            return None
        finally:
            os.close(descriptor)

    def exists(self, relative: str) -> bool:
        try:
            info = os.lstat(self.directory / relative)
        except OSError:
            return False
        return stat.S_ISREG(info.st_mode) and info.st_uid == os.geteuid()

    def write(self, relative: str, content: bytes) -> None:
        """Best effort and atomic: an entry appears whole (mode 0600) or not at all."""
        import tempfile

        target = self.directory / relative
        temporary = None
        try:
            target.parent.mkdir(mode=0o700, exist_ok=True)
            descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")  # mkstemp makes it 0600
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(content)
            os.replace(temporary, target)
        except OSError:
            if temporary is not None:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)


def _open_store() -> CacheStore | None:
    root = location()
    _make_directory(root)
    problem = _owned_private_directory(root, fix_mode=True) or _parent_problem(root)
    if problem:
        _note(root, problem)
        return None
    found = _read_key(root)
    if found is None:
        return None
    key, info = found
    binding = f"{info.st_dev}:{info.st_ino}:{info.st_ctime_ns}".encode()
    namespace = hmac.new(key, binding, hashlib.sha256).hexdigest()[:24]
    directory = root / namespace
    if not directory.exists():
        _make_directory(directory)
        _drop_other_namespaces(root, namespace)
    if _owned_private_directory(directory, fix_mode=False):
        return None
    return CacheStore(directory)


def _drop_other_namespaces(root: Path, keep: str) -> None:
    """Entries of a key that is gone (a copied or restored directory) can never be read again."""
    import shutil

    with contextlib.suppress(OSError), os.scandir(root) as entries:
        for entry in entries:
            if entry.name != keep and _NAMESPACE.fullmatch(entry.name) and entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)


def store() -> CacheStore | None:
    """The usable cache for this run, or None (disabled, or not safe to use)."""
    global _store, _resolved_for
    if _disabled:
        return None
    wanted = str(location())
    if _resolved_for != wanted:
        _store, _resolved_for = _open_store(), wanted
    return _store
