"""Split an HCL file into its top-level blocks, without parsing it, to parse only those that matter.

python-hcl2's parser reads about 60 KB/s; a monorepo's 90 KB file with one IAM policy among fifty
unrelated resources costs over a second. The scanner here walks the text once, aware of strings
(with their ``${...}`` and ``%{...}`` sequences, which may hold braces and strings of their own),
heredocs and comments, and finds where each top-level block starts and ends. Only the blocks a
check reads go to the parser (hcl_parser.parse_hcl_pieces), which maps every line back to the
file, so every finding still points at the text a user would edit.

A file the scanner cannot follow (an unterminated string, a brace that never closes, something
other than a block or an attribute at the top level) is parsed whole: never a silent skip.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

# The header of a top-level block: its type and its labels, up to the opening brace.
_HEADER = re.compile(r'[A-Za-z_][A-Za-z0-9_-]*(?:[ \t]+(?:"(?:[^"\\\n]|\\.)*"|[A-Za-z_][A-Za-z0-9_-]*))*[ \t]*\{')
_LABEL = re.compile(r'"((?:[^"\\\n]|\\.)*)"|([A-Za-z_][A-Za-z0-9_-]*)')
_HEREDOC = re.compile(r"<<-?([A-Za-z_][A-Za-z0-9_-]*)[ \t]*\r?\n")
_ATTRIBUTE = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*[ \t]*=(?!=)")


class CannotScan(Exception):
    """The text is not what this scanner follows safely: parse the whole file."""


_STRING_SPECIAL = re.compile(r'[\\"\n$%]')


def _skip_string(text: str, at: int) -> int:
    """The index just after the quoted string starting at ``at`` (a template: its ``${...}`` and
    ``%{...}`` sequences are expressions, which may hold strings and braces of their own)."""
    index = at + 1
    length = len(text)
    while index < length:
        special = _STRING_SPECIAL.search(text, index)
        if special is None:
            break
        index = special.start()
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if char == '"':
            return index + 1
        if char == "\n":
            raise CannotScan("a string that does not end on its line")
        if char in "$%" and text.startswith("{", index + 1) and not text.startswith(char * 2, index):
            index = _skip_expression(text, index + 2, "}")
            continue
        if char in "$%" and text.startswith(char * 2 + "{", index):
            index += 3  # $${ and %%{ are literal text
            continue
        index += 1
    raise CannotScan("a string that does not end")


def _skip_heredoc(text: str, at: int, match: re.Match[str]) -> int:
    """The index after a heredoc: its body runs to a line holding only its marker (indented for <<-)."""
    marker = match.group(1)
    index = match.end()
    length = len(text)
    while index < length:
        end = text.find("\n", index)
        line = text[index : length if end < 0 else end].rstrip("\r")
        if line.strip() == marker:
            return length if end < 0 else end
        if end < 0:
            break
        index = end + 1
    raise CannotScan("a heredoc that does not end")


# The characters that can change what the scanner is in: everything between them is skipped at once.
_SPECIAL = re.compile(r'["#/<{}()\[\]]')


def _skip_expression(text: str, at: int, closer: str) -> int:
    """The index just after the ``closer`` that matches, skipping strings, heredocs and comments."""
    depth = 0
    index = at
    length = len(text)
    openers = {"{": "}", "(": ")", "[": "]"}
    stack: list[str] = []
    while index < length:
        special = _SPECIAL.search(text, index)
        if special is None:
            break
        index = special.start()
        char = text[index]
        if char == '"':
            index = _skip_string(text, index)
            continue
        after = _after_comment(text, index)
        if after is not None:
            index = after
            continue
        if char == "<" and text.startswith("<<", index):
            heredoc = _HEREDOC.match(text, index)
            if heredoc is not None:
                index = _skip_heredoc(text, index, heredoc)
                continue
        if char in openers:
            stack.append(openers[char])
            depth += 1
        elif char in ")]}":
            if not stack:
                if char == closer:
                    return index + 1
                raise CannotScan("a closing bracket that opens nothing")
            if stack.pop() != char:
                raise CannotScan("brackets that do not match")
            depth -= 1
        index += 1
    raise CannotScan("a block that does not end")


def _after_comment(text: str, index: int) -> int | None:
    """Where a comment starting at ``index`` ends (#, // to the line's end, /* */); None when none starts there."""
    if text.startswith(("#", "//"), index):
        end = text.find("\n", index)
        return len(text) if end < 0 else end
    if text.startswith("/*", index):
        end = text.find("*/", index + 2)
        if end < 0:
            raise CannotScan("a comment that does not end")
        return end + 2
    return None


@functools.lru_cache(maxsize=8192)
def top_level_blocks(text: str) -> tuple[tuple[int, int, str, tuple[str, ...]], ...]:
    """(start, end, type, labels) of every top-level block; CannotScan when the text is anything
    but blocks, attributes and comments at the top level. Remembered per text: planning scans a
    module's files to narrow its variables, then parsing (in workers forked after) scans them again."""
    blocks: list[tuple[int, int, str, tuple[str, ...]]] = []
    index = 0
    length = len(text)
    while index < length:
        char = text[index]
        if char in " \t\r\n\ufeff":
            index += 1
            continue
        after = _after_comment(text, index)
        if after is not None:
            index = after
            continue
        header = _HEADER.match(text, index)
        if header is not None:
            parts = [m.group(1) if m.group(1) is not None else m.group(2) for m in _LABEL.finditer(header.group(0))]
            end = _skip_expression(text, header.end(), "}")
            blocks.append((index, end, parts[0], tuple(parts[1:])))
            index = end
            continue
        attribute = _ATTRIBUTE.match(text, index)
        if attribute is not None:  # a top-level attribute (tfvars-like): to the end of its expression
            index = _skip_attribute(text, attribute.end())
            continue
        raise CannotScan(f"unexpected {char!r} at the top level")
    return tuple(blocks)


def _skip_attribute(text: str, at: int) -> int:
    """The index after a top-level attribute's value: its line, and the lines its brackets span."""
    index = at
    length = len(text)
    while index < length:
        char = text[index]
        if char == "\n":
            return index + 1
        if char == '"':
            index = _skip_string(text, index)
            continue
        if char in "{([":
            index = _skip_expression(text, index + 1, {"{": "}", "(": ")", "[": "]"}[char])
            continue
        if char == "#" or text.startswith("//", index):
            end = text.find("\n", index)
            return length if end < 0 else end + 1
        if char == "<" and text.startswith("<<", index):
            heredoc = _HEREDOC.match(text, index)
            if heredoc is not None:
                index = _skip_heredoc(text, index, heredoc)
                continue
        index += 1
    return length


def relevant_pieces(text: str, keep: Callable[[str, tuple[str, ...]], bool]) -> list[tuple[int, int]] | None:
    """The (start, end) offsets of the top-level blocks ``keep`` accepts, or None when that would
    leave nothing out or the text cannot be scanned safely (then the whole file is parsed)."""
    try:
        blocks = top_level_blocks(text)
    except CannotScan:
        return None
    kept = [(start, end) for start, end, kind, labels in blocks if keep(kind, labels)]
    if len(kept) == len(blocks):
        return None
    return kept
