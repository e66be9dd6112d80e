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

import os
import stat
import sys

TYPE_CHECKING = False  # not typing at run time: see below
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

# Only os, stat and sys at import: a run answered from its record (replay.py) opens the cache
# before anything else is imported, and pathlib, re or hashlib would each cost more than the answer.

_KEY_NAME = "key"
_KEY_BYTES = 32
_NAMESPACE_LENGTH = 24
_HEX_DIGITS = frozenset("0123456789abcdef")

_disabled = False
_store: CacheStore | None = None
_resolved_for: str | None = None
_noted: set[str] = set()


def location() -> str:
    """Where the cache lives: ORGTRUST_LINT_CACHE_DIR, else $XDG_CACHE_HOME/orgtrust-lint,
    else ~/.cache/orgtrust-lint."""
    override = os.environ.get("ORGTRUST_LINT_CACHE_DIR")
    if override:
        return override
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "orgtrust-lint")


def hmac_sha256(key: bytes, message: bytes) -> str:
    """HMAC-SHA256 (RFC 2104) in hex, from the interpreter's built-in SHA-256: the hashlib module
    loads OpenSSL, which alone costs a few milliseconds at start-up."""
    sha256 = builtin_sha256()
    block = 64
    if len(key) > block:
        key = sha256(key).digest()
    key = key.ljust(block, b"\0")
    inner = sha256(bytes(k ^ 0x36 for k in key) + message).digest()
    return str(sha256(bytes(k ^ 0x5C for k in key) + inner).hexdigest())


def builtin_sha256() -> Any:
    """The SHA-256 constructor of CPython's own module (``_sha2`` from 3.12, ``_sha256`` before),
    else hashlib's (another interpreter)."""
    for name in ("_sha2", "_sha256"):
        try:
            return __import__(name).sha256
        except ImportError:
            continue
    from hashlib import sha256

    return sha256


def disable() -> None:
    """--no-cache: read nothing from the cache and write nothing to it, for the rest of the run."""
    global _disabled, _store, _resolved_for
    _disabled, _store, _resolved_for = True, None, None


def enable() -> None:
    """Undo ``disable`` (the command line is run several times in one process by the tests)."""
    global _disabled, _resolved_for
    _disabled, _resolved_for = False, None


def _note(directory: str, why: str) -> None:
    """One line on stderr per directory and run: the cache is an optimisation, never fatal."""
    if directory in _noted:
        return
    _noted.add(directory)
    from orgtrust_lint.report.escape import safe_line

    print(safe_line(f"orgtrust-lint: not using the cache directory '{directory}': {why}"), file=sys.stderr)


def _owned_private_directory(path: str, fix_mode: bool) -> str | None:
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
        try:  # noqa: SIM105 (contextlib would cost a replayed run its import)
            os.chmod(path, 0o700)
        except OSError:
            pass
    return None


def _parent_problem(path: str) -> str | None:
    """Anyone who can rename entries in a world-writable parent could swap the directory under us."""
    try:
        info = os.stat(os.path.dirname(os.path.abspath(path)))
    except OSError:
        return None  # the directory itself was inspected; nothing more to learn
    if info.st_mode & 0o002 and not info.st_mode & stat.S_ISVTX:
        return "its parent directory is writable by other users"
    return None


def _make_directory(path: str) -> None:
    """Best effort: what cannot be made is reported by the inspection that follows (one note)."""
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        os.mkdir(path, 0o700)
    except OSError:
        pass


def _read_key(directory: str) -> tuple[bytes, os.stat_result] | None:
    """The key and the stat of its file, creating it when there is none; None when unusable."""
    path = os.path.join(directory, _KEY_NAME)
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
        try:  # noqa: SIM105 (contextlib would cost a replayed run its import)
            os.unlink(path)
        except OSError:
            pass
    return None


def _create_key(path: str) -> None:
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

    def __init__(self, directory: str) -> None:
        self.directory = directory

    def path(self, *parts: str) -> Path:
        from pathlib import Path

        return Path(self.directory).joinpath(*parts)

    def read(self, relative: str, max_bytes: int) -> bytes | None:
        """An entry's bytes, or None: missing, not a regular file of ours, or over ``max_bytes``."""
        try:
            descriptor = os.open(os.path.join(self.directory, relative), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
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
            info = os.lstat(os.path.join(self.directory, relative))
        except OSError:
            return False
        return stat.S_ISREG(info.st_mode) and info.st_uid == os.geteuid()

    def write(self, relative: str, content: bytes) -> None:
        """Best effort and atomic: an entry appears whole (mode 0600) or not at all."""
        import tempfile

        target = os.path.join(self.directory, relative)
        temporary = None
        try:
            os.makedirs(os.path.dirname(target), mode=0o700, exist_ok=True)
            descriptor, temporary = tempfile.mkstemp(dir=os.path.dirname(target), prefix=".tmp-")  # made 0600
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(content)
            os.replace(temporary, target)
        except OSError:
            if temporary is not None:
                try:  # noqa: SIM105 (contextlib would cost a replayed run its import)
                    os.unlink(temporary)
                except OSError:
                    pass


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
    namespace = hmac_sha256(key, binding)[:_NAMESPACE_LENGTH]
    directory = os.path.join(root, namespace)
    if not os.path.exists(directory):
        _make_directory(directory)
        _drop_other_namespaces(root, namespace)
    if _owned_private_directory(directory, fix_mode=False):
        return None
    return CacheStore(directory)


def _is_namespace(name: str) -> bool:
    return len(name) == _NAMESPACE_LENGTH and set(name) <= _HEX_DIGITS


def _drop_other_namespaces(root: str, keep: str) -> None:
    """Entries of a key that is gone (a copied or restored directory) can never be read again."""
    import shutil

    try:
        with os.scandir(root) as entries:
            for entry in entries:
                if entry.name != keep and _is_namespace(entry.name) and entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
    except OSError:
        pass


def store() -> CacheStore | None:
    """The usable cache for this run, or None (disabled, or not safe to use)."""
    global _store, _resolved_for
    if _disabled:
        return None
    wanted = location()
    if _resolved_for != wanted:
        _store, _resolved_for = _open_store(), wanted
    return _store
