"""Inline ``orgtrust-lint: ignore[...]`` directives in comment-bearing formats (HCL, YAML)."""

from __future__ import annotations

import re

from orgtrust_lint.facts import Suppression

DIRECTIVE = re.compile(r"(?:#|//|/\*)\s*orgtrust-lint:\s*ignore(?:\[(?P<codes>[A-Za-z0-9_,\s-]*)\])?(?P<reason>[^\n]*)")
_TRAILING_COMMENT = re.compile(r"\s(?:#|//)\s|^(?:#|//)\s")
_UNTIL = re.compile(r"(?:^|\s)until=(\S*)")
_COMMENT_ONLY = re.compile(r"^\s*(?:#|//|/\*)")


def _is_code(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not _COMMENT_ONLY.match(line)


def scan_suppressions(path: str, text: str, spans: dict[int, int]) -> list[Suppression]:
    """Find ignore directives; ``spans`` maps a line that starts a block or attribute to its end.

    A directive at the end of a line covers that line. A directive on a line of its own covers
    the next line of code and, when a block or multi-line attribute starts there, all of it.
    """
    if "orgtrust-lint" not in text:
        return []
    lines = text.splitlines()
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
