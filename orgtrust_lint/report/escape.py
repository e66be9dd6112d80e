"""Make text that came from outside (paths, principals, baseline entries, an endpoint's answers) safe to print.

Every sink that prints such text as lines (the text report, the GitHub report, every line on stderr)
goes through this module, so that no file name or principal can move the cursor, set the terminal's
title, erase a line, fake a line of our output, or start a GitHub Actions workflow command
(``::add-mask::``, ``::error ...``, and the older ``##[command]`` form the runner still accepts
anywhere in a line). JSON and SARIF need none of this: ``json.dumps`` escapes control characters.

The escapes are visible and Python-like (``\\n``, ``\\x1b``, ``\\u2028``), so a reader still sees that
the name holds such a character. Backslashes are left alone (Windows paths stay readable), so a
literal ``\\x1b`` typed in a file name reads the same as an escape character: a reader loses nothing
that matters, and nothing dangerous gets through.
"""

from __future__ import annotations

import re

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}

# C0 controls (not the space), DEL, C1 controls (NEL and CSI included), the Unicode line and paragraph
# separators (some viewers break lines there), the bidirectional overrides and isolates (they reorder
# what a reader sees, as in "Trojan Source"), and lone surrogates: a file name that is not valid UTF-8
# reaches us as U+DC80..U+DCFF (surrogateescape), which would otherwise go out as raw bytes 0x80..0xff.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")

# GitHub's runner reads a line as a workflow command if, after leading white space, it starts with
# "::", or if "##[" appears anywhere in it followed by a registered command name and "]".
_LEGACY_COMMAND = "##["
_LEGACY_COMMAND_SHOWN = "##\\x5b"


def _escape_one(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # the byte the file system gave us, as Python keeps it
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def visible(text: str) -> str:
    """``text`` with every control character (and the other characters above) written as a visible escape,
    and no "##[" (the runner's older command form works anywhere in a line, so a value cannot hold it).

    For a value placed inside a line we build; the result never holds a line break or an escape sequence."""
    return _UNSAFE.sub(_escape_one, text).replace(_LEGACY_COMMAND, _LEGACY_COMMAND_SHOWN)


def no_workflow_command(line: str) -> str:
    """``line`` (a single line, already free of control characters) unable to start a GitHub workflow command."""
    line = line.replace(_LEGACY_COMMAND, _LEGACY_COMMAND_SHOWN)
    stripped = line.lstrip()
    if stripped.startswith("::"):
        indent = len(line) - len(stripped)
        line = f"{line[:indent]}\\x3a{line[indent + 1 :]}"
    return line


def safe_line(line: str) -> str:
    """One whole line of ours that quotes outside text and holds no control characters on purpose
    (the lines on stderr): control characters escaped, no workflow command possible."""
    return no_workflow_command(visible(line))
