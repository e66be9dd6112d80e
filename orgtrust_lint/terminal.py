"""One status line on a terminal while a long run works: ``parsed 1200 of 5011 files``, or drift's
``waiting for organizations:ListAWSServiceAccessForOrganization``. Written on stderr, rewritten in place,
erased before anything else is printed and when the run ends.

Only the command line turns it on (``enable``), and only where a person watches: both standard streams
on a terminal, no ``CI`` in the environment, a text report on standard output. The stages report through
``counter`` and ``status``, which cost nothing while it is off. The line appears only once the run has
been at it for ``DELAY`` seconds, so a warm or pre-commit run never shows it, and a drift call that
hangs shows which call it is.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TextIO

DELAY = 0.5  # seconds before the line first appears
INTERVAL = 0.1  # at most ten updates a second
_ERASE = "\r\033[K"


class _Line:
    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self._text = ""
        self._shown = False
        self._last = 0.0
        self._timer: threading.Timer | None = None

    def update(self, text: str) -> None:
        with self._lock:
            self._text = text
            if not self._shown and DELAY <= 0:
                self._write()
            elif not self._shown:
                if self._timer is None:  # the first news of a stretch of work: show it if the work goes on
                    self._timer = threading.Timer(DELAY, self._appear)
                    self._timer.daemon = True
                    self._timer.start()
                return
            if time.monotonic() - self._last >= INTERVAL:
                self._write()

    def _appear(self) -> None:
        with self._lock:
            if self._timer is not None and self._text:
                self._write()

    def _write(self) -> None:
        try:
            self._stream.write(_ERASE + self._text)
            self._stream.flush()
        except (OSError, ValueError):  # the terminal went away: the run goes on without its line
            return
        self._shown, self._last = True, time.monotonic()

    def clear(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._text = ""
            if self._shown:
                self._shown = False
                try:
                    self._stream.write(_ERASE)
                    self._stream.flush()
                except (OSError, ValueError):
                    pass


_line: _Line | None = None


def enable(stream: TextIO) -> None:
    global _line
    _line = _Line(stream)


def disable() -> None:
    global _line
    if _line is not None:
        _line.clear()
    _line = None


def clear() -> None:
    """Erase the line (before another line is printed on the terminal); it comes back with the next news."""
    if _line is not None:
        _line.clear()


def status(text: str) -> None:
    if _line is not None:
        _line.update(f"orgtrust-lint: {text}")


def counter(total: int, what: str) -> Callable[[int], None] | None:
    """``count(n)`` for each ``n`` of ``total`` done (``parsed 10 of 300 files``), or None while the line is off."""
    line = _line
    if line is None or total == 0:
        return None
    done = 0

    def count(number: int) -> None:
        nonlocal done
        done += number
        line.update(f"orgtrust-lint: {what.format(done=done, total=total)}")

    count(0)
    return count
