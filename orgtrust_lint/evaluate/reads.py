"""The files evaluation reads beside the code: file(), templatefile(), fileexists().

A configuration's facts depend on them as much as on its .tf files, so its cache entry lists each
with the state it was read in, and the entry is used only while every one is still in that state
(a policy template edited since must not keep its old verdict).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager

ABSENT = "absent"
DIRECTORY = "directory"
UNREADABLE = "unreadable"

_current: dict[str, str] | None = None


def content_state(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def note(path: str, state: str) -> None:
    """``path`` (a real path) was read or looked at, and found in ``state``."""
    from orgtrust_lint import replay

    replay.probed(path)  # absent or a directory, it is an input of the run all the same
    if _current is not None:
        _current.setdefault(path, state)


@contextmanager
def recorded() -> Iterator[dict[str, str]]:
    """The files noted while the block runs, by path."""
    global _current
    outer, _current = _current, {}
    try:
        yield _current
    finally:
        _current = outer


def state_now(path: str) -> str:
    """What ``path`` is now, as evaluation would have noted it."""
    from orgtrust_lint.files import SkipFile, read_file

    if not os.path.lexists(path):
        return ABSENT
    if os.path.isdir(path):
        return DIRECTORY
    try:
        return content_state(read_file(path))
    except (SkipFile, OSError):
        return UNREADABLE


def unchanged(states: dict[str, str]) -> bool:
    return all(state_now(path) == state for path, state in states.items())
