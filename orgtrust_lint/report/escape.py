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
_UNSAFE_RANGES = ((0x00, 0x1F), (0x7F, 0x9F), (0x2028, 0x202E), (0x2066, 0x2069), (0xD800, 0xDFFF))


def _escape_for(code: int) -> str:
    char = chr(code)
    if char in _NAMED:
        return _NAMED[char]
    if 0xDC80 <= code <= 0xDCFF:  # the byte the file system gave us, as Python keeps it
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


_ESCAPES = {code: _escape_for(code) for low, high in _UNSAFE_RANGES for code in range(low, high + 1)}
_UNSAFE_RUN = re.compile("[" + "".join(f"{chr(low)}-{chr(high)}" for low, high in _UNSAFE_RANGES) + "]+")

# GitHub's runner reads a line as a workflow command if, after leading white space, it starts with
# "::", or if "##[" appears anywhere in it followed by a registered command name and "]".
_LEGACY_COMMAND = "##["
_LEGACY_COMMAND_SHOWN = "##\\x5b"


def _escape_run(match: re.Match[str]) -> str:
    run = match.group()
    return _ESCAPES[ord(run)] if len(run) == 1 else run.translate(_ESCAPES)


def visible(text: str) -> str:
    """``text`` with every control character (and the other characters above) written as a visible escape,
    and no "##[" (the runner's older command form works anywhere in a line, so a value cannot hold it).

    For a value placed inside a line we build; the result never holds a line break or an escape sequence."""
    # ASCII text (nearly every path and principal) is translated in one pass, which CPython does fastest for
    # ASCII; other text is searched for runs of unsafe characters, and only those are translated.
    escaped = text.translate(_ESCAPES) if text.isascii() else _UNSAFE_RUN.sub(_escape_run, text)
    return escaped.replace(_LEGACY_COMMAND, _LEGACY_COMMAND_SHOWN)


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
