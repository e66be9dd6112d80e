"""Inline ``orgtrust-lint: ignore[...]`` directives in comment-bearing formats (HCL, YAML)."""

from __future__ import annotations

import re

from orgtrust_lint.facts import Suppression
from orgtrust_lint.lines import TERRAFORM_BREAKS, split_lines

DIRECTIVE = re.compile(r"(?:#|//|/\*)\s*orgtrust-lint:\s*ignore(?:\[(?P<codes>[A-Za-z0-9_,\s-]*)\])?(?P<reason>[^\n]*)")
_TRAILING_COMMENT = re.compile(r"\s(?:#|//)\s|^(?:#|//)\s")
_UNTIL = re.compile(r"(?:^|\s)until=(\S*)")
_COMMENT_ONLY = re.compile(r"^\s*(?:#|//|/\*)")


def _is_code(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not _COMMENT_ONLY.match(line)


def scan_suppressions(
    path: str, text: str, spans: dict[int, int], breaks: re.Pattern[str] = TERRAFORM_BREAKS
) -> list[Suppression]:
    """Find ignore directives; ``spans`` maps a line that starts a block or attribute to its end.

    A directive at the end of a line covers that line. A directive on a line of its own covers
    the next line of code and, when a block or multi-line attribute starts there, all of it.
    Lines are counted as the file's parser counts them (``breaks``, see orgtrust_lint.lines):
    with ``str.splitlines()`` a form feed in a comment would make an ignore cover the wrong line.
    """
    if "orgtrust-lint" not in text:
        return []
    # The parsers drop a byte order mark: on line 1 it is neither code nor part of a comment.
    lines = split_lines(text.removeprefix("\ufeff"), breaks)
    found: list[Suppression] = []
    for index, line in enumerate(lines):
        match = DIRECTIVE.search(line)
        if not match:
            continue
        codes = frozenset(code.strip().upper() for code in (match.group("codes") or "").split(",") if code.strip())
        reason = match.group("reason").strip().rstrip("*/").strip()
        reason = _TRAILING_COMMENT.split(reason, maxsplit=1)[0].strip()  # "reason  # another comment"
        until = _UNTIL.search(reason)
        if until:
            reason = (reason[: until.start()] + reason[until.end() :]).strip()
        expiry = until.group(1) if until else None
        line_number = index + 1
        if _is_code(line[: match.start()]):
            found.append(Suppression(path, codes, line_number, line_number, reason, line_number, expiry))
            continue
        target = next(
            (n + 1 for n in range(index + 1, len(lines)) if _is_code(lines[n])),
            None,
        )
        if target is None:
            continue
        found.append(Suppression(path, codes, target, spans.get(target, target), reason, line_number, expiry))
    return found
