"""On-disk cache of per-file parse results, keyed by path, content, tool and catalog version.

Entries live under the user's cache directory (see schema_check.cache_dir). Writes go to a
temporary file renamed into place, so concurrent runs never see half an entry; an entry that
cannot be read (corrupt, truncated, from another Python) is ignored and rewritten.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import tempfile
from pathlib import Path
from typing import Any

from orgtrust_lint import __version__
from orgtrust_lint.schema_check import cache_dir

_MISSING = object()


class ParseCache:
    def __init__(self, salt: str, directory: Path | None = None) -> None:
        self.directory = (directory or cache_dir()) / "parse"
        self.salt = f"{__version__}|{sys.version_info[:2]}|{salt}".encode()

    def _path(self, kind: str, path: str, content: bytes) -> Path:
        digest = hashlib.sha256(self.salt + kind.encode() + b"\0" + path.encode() + b"\0" + content).hexdigest()
        return self.directory / digest[:2] / digest

    def get(self, kind: str, path: str, content: bytes) -> Any:
        """The cached value, or the module's _MISSING sentinel (see ``missing``)."""
        try:
            with open(self._path(kind, path, content), "rb") as handle:
                return pickle.load(handle)
        except Exception:
            return _MISSING

    @staticmethod
    def missing(value: Any) -> bool:
        return value is _MISSING

    def put(self, kind: str, path: str, content: bytes, value: Any) -> None:
        target = self._path(kind, path, content)
        temporary = None
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
            with os.fdopen(descriptor, "wb") as handle:
                pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temporary, target)
        except Exception:
            if temporary is not None and os.path.exists(temporary):
                os.unlink(temporary)
