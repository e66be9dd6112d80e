"""On-disk cache of per-file parse results, keyed by path, content, tool and catalog version.

The entries live in one SQLite database under the user's cache directory (see
schema_check.cache_dir). One file instead of one file per entry matters: a cold run of a
monorepo writes about a thousand entries, and creating a thousand files cost more than half a
second; one transaction costs milliseconds.

SQLite's locking makes concurrent runs safe: a writer that finds the database busy gives up
its writes (the cache is an optimisation, never a source of truth). A database that cannot be
opened or read (corrupt, truncated, from another tool) is deleted and rebuilt, and an entry
that cannot be unpickled is a miss.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import sqlite3
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from orgtrust_lint import __version__
from orgtrust_lint.schema_check import cache_dir

_MISSING = object()
# Entries not rewritten for this long are dropped when a run writes: files that changed or
# vanished would otherwise grow the database forever.
_MAX_AGE_SECONDS = 30 * 24 * 3600
_BUSY_TIMEOUT_SECONDS = 2.0


def code_digest() -> str:
    """A digest of this installation's source: cached facts are pickled instances of its
    classes, so any change to the code (even without a new version number) must miss."""
    package = Path(__file__).parent
    digest = hashlib.sha256()
    for source in sorted(package.rglob("*.py")):
        digest.update(str(source.relative_to(package)).encode() + b"\0" + source.read_bytes())
    return digest.hexdigest()[:16]


class ParseCache:
    def __init__(self, salt: str, directory: Path | None = None) -> None:
        self.path = (directory or cache_dir()) / "parse.sqlite3"
        self.salt = f"{__version__}|{code_digest()}|{sys.version_info[:2]}|{salt}".encode()
        self._connection: sqlite3.Connection | None = None
        self._unusable = False
        self._pending: dict[str, bytes] = {}

    def key(self, kind: str, path: str, content: bytes) -> str:
        return hashlib.sha256(self.salt + kind.encode() + b"\0" + path.encode() + b"\0" + content).hexdigest()

    def _connect(self, create: bool) -> sqlite3.Connection | None:
        if self._connection is not None or self._unusable:
            return self._connection
        if not create and not self.path.exists():
            return None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_SECONDS, isolation_level=None)
            connection.execute("CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, value BLOB, stamp INTEGER)")
        except (sqlite3.Error, OSError):
            self._set_aside()
            return None
        self._connection = connection
        return connection

    def _set_aside(self) -> None:
        """A database we cannot use is removed so that the next run starts afresh."""
        self._unusable = True
        with contextlib.suppress(OSError):
            os.unlink(self.path)

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """The cached values of those ``keys`` that have one."""
        wanted = list(keys)
        connection = self._connect(create=False)
        if connection is None or not wanted:
            return {}
        rows: list[tuple[str, bytes]] = []
        try:
            for start in range(0, len(wanted), 500):  # SQLite's limit on bound parameters
                chunk = wanted[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows.extend(connection.execute(f"SELECT key, value FROM entries WHERE key IN ({marks})", chunk))
        except sqlite3.DatabaseError:
            self._discard()
            return {}
        found: dict[str, Any] = {}
        for key, blob in rows:
            try:
                found[key] = pickle.loads(blob)
            except Exception:
                continue  # an entry we cannot read is a miss; it is rewritten below
        return found

    def get(self, kind: str, path: str, content: bytes) -> Any:
        """The cached value, or the module's _MISSING sentinel (see ``missing``)."""
        key = self.key(kind, path, content)
        return self.get_many([key]).get(key, _MISSING)

    @staticmethod
    def missing(value: Any) -> bool:
        return value is _MISSING

    def put(self, kind: str, path: str, content: bytes, value: Any) -> None:
        self.put_key(self.key(kind, path, content), value)

    def put_key(self, key: str, value: Any) -> None:
        with contextlib.suppress(Exception):  # not picklable: simply not cached
            self._pending[key] = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)

    def flush(self) -> None:
        """Write the entries put since the last flush, in one transaction."""
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        connection = self._connect(create=True)
        if connection is None:
            return
        now = int(time.time())
        try:
            connection.execute("BEGIN IMMEDIATE")
            connection.executemany(
                "INSERT OR REPLACE INTO entries (key, value, stamp) VALUES (?, ?, ?)",
                ((key, blob, now) for key, blob in pending.items()),
            )
            connection.execute("DELETE FROM entries WHERE stamp < ?", (now - _MAX_AGE_SECONDS,))
            connection.execute("COMMIT")
        except sqlite3.OperationalError:
            # Busy (another run is writing) or the disk is full: these entries are simply not cached.
            try:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
            except sqlite3.Error:
                self._discard()
        except sqlite3.DatabaseError:
            self._discard()

    def _discard(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        self._set_aside()

    def close(self) -> None:
        self.flush()
        if self._connection is not None:
            self._connection.close()
            self._connection = None
