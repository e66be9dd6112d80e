"""The orgtrust-lint command.

A run whose inputs are unchanged since it last ran is answered from its record (replay.py) before
the linter is imported: a pre-commit hook's repeated run costs little more than starting Python.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing alone costs a replayed run a fifth of its time; mypy reads this
if TYPE_CHECKING:
    from typing import NoReturn

    from orgtrust_lint.replay import Recording


def main() -> NoReturn:
    from orgtrust_lint import replay

    replay.run(sys.argv[1:], _lint)


def _lint(recording: Recording | None) -> NoReturn:
    from orgtrust_lint.cli import main as command

    command(recording)
