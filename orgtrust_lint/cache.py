"""On-disk cache of extracted facts, keyed by content, tool and catalog version.

The entries live in one SQLite database in the trusted cache directory (see trusted_cache:
owned by this user, private, bound to its own key). One file instead of one file per entry
matters: a cold run of a monorepo writes about a thousand entries, and creating a thousand
files cost more than half a second; one transaction costs milliseconds.

Values are JSON (fact_codec), never pickles: an entry is data, checked field by field on read,
and an entry of any other shape is a miss. Keys hash length-prefixed parts, so no two
different inputs (file names and contents that hold NUL bytes, say) can share one.

SQLite's locking makes concurrent runs safe: a run that finds the database busy does without
it (the cache is an optimisation, never a source of truth), and never deletes it. Only a file
SQLite itself calls damaged is removed and rebuilt.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import stat
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from orgtrust_lint import __version__, trusted_cache
from orgtrust_lint.fact_codec import CacheFormatError, decode_facts, encode_facts
from orgtrust_lint.facts import Facts

# An entry is one module's or template's facts; anything larger was not written by us.
_MAX_ENTRY_BYTES = 64 * 1024 * 1024
# Entries not rewritten for this long are dropped when a run writes: files that changed or
# vanished would otherwise grow the database forever.
_MAX_AGE_SECONDS = 30 * 24 * 3600
_BUSY_TIMEOUT_SECONDS = 2.0


def code_digest() -> str:
    """A digest of this installation's source: what the facts of a file are depends on the
    code that extracts them, so any change to it (even without a new version number) must miss."""
    package = Path(__file__).parent
    digest = hashlib.sha256()
    for source in sorted(package.rglob("*.py")):
        digest.update(length_prefixed([str(source.relative_to(package)).encode(), source.read_bytes()]))
    return digest.hexdigest()[:16]


def length_prefixed(parts: Sequence[bytes]) -> bytes:
    """Parts joined so that the result can be split back in exactly one way."""
    return b"".join(len(part).to_bytes(8, "big") + part for part in parts)


class ParseCache:
    def __init__(self, salt: str, store: trusted_cache.CacheStore | None = None) -> None:
        store = store or trusted_cache.store()
        self.path = store.path("parse.sqlite3") if store else None
        self.salt = length_prefixed([p.encode() for p in (__version__, code_digest(), str(sys.version_info[:2]), salt)])
        self._connection: sqlite3.Connection | None = None
        self._unusable = self.path is None
        self._pending: dict[str, bytes] = {}

    def key(self, kind: str, path: str, parts: Sequence[bytes]) -> str:
        # surrogateescape: a path that is not valid UTF-8 keys by its own bytes (any other encodes as before).
        name = path.encode("utf-8", "surrogateescape")
        return hashlib.sha256(length_prefixed([self.salt, kind.encode(), name, *parts])).hexdigest()

    def exists(self) -> bool:
        """Whether there is a database to read facts from (none: every lookup misses)."""
        return self.path is not None and not self._unusable and os.path.exists(self.path)

    def _regular_or_absent(self) -> bool:
        """SQLite would open a FIFO or follow a link to a device; only a plain file of ours will do."""
        assert self.path is not None
        try:
            info = os.lstat(self.path)
        except FileNotFoundError:
            return True
        except OSError:
            return False
        return stat.S_ISREG(info.st_mode) and info.st_uid == os.geteuid()

    def _connect(self, create: bool) -> sqlite3.Connection | None:
        if self._connection is not None or self._unusable:
            return self._connection
        assert self.path is not None
        if not create and not self.path.exists():
            return None
        if not self._regular_or_absent():
            self._unusable = True
            return None
        try:
            connection = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_SECONDS, isolation_level=None)
        except (sqlite3.Error, OSError):
            self._unusable = True
            return None
        try:
            with contextlib.suppress(OSError):
                os.chmod(self.path, 0o600)
            connection.execute("CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, value BLOB, stamp INTEGER)")
        except sqlite3.OperationalError:
            # Busy beyond the timeout (another run holds the lock) or a read-only file: do without.
            connection.close()
            self._unusable = True
            return None
        except sqlite3.DatabaseError:
            connection.close()
            self._set_aside()
            return None
        self._connection = connection
        return connection

    def _set_aside(self) -> None:
        """A database SQLite calls damaged is removed so that the next run starts afresh."""
        self._unusable = True
        if self.path is not None and self._regular_or_absent():
            with contextlib.suppress(OSError):
                os.unlink(self.path)

    def get_many(self, keys: Iterable[str]) -> dict[str, Facts]:
        """The cached values of those ``keys`` that have one."""
        found: dict[str, Facts] = {}
        for key, blob in self.get_many_bytes(keys).items():
            try:
                found[key] = decode_facts(blob)
            except CacheFormatError:
                continue  # an entry we cannot read is a miss; it is rewritten below
        return found

    def get_many_bytes(self, keys: Iterable[str]) -> dict[str, bytes]:
        """The stored entries of those ``keys`` that have one, as written (the caller decodes them and
        takes one it cannot decode for a miss)."""
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
        except sqlite3.OperationalError:
            return {}  # busy: this run does without
        except sqlite3.DatabaseError:
            self._discard()
            return {}
        return {key: blob for key, blob in rows if isinstance(blob, bytes) and len(blob) <= _MAX_ENTRY_BYTES}

    def put_key(self, key: str, value: Facts) -> None:
        self._pending[key] = encode_facts(value)

    def put_bytes(self, key: str, blob: bytes) -> None:
        self._pending[key] = blob

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
