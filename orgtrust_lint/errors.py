"""The one base class the command line turns into a one-line error and exit code 2."""

from __future__ import annotations


class UserError(Exception):
    """A problem with the user's input, configuration or environment, not a bug of ours."""
