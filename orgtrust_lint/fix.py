"""``--fix``: rewrite unambiguous principal typos in place, preserving every other byte.

Fixable: OT101 with exactly one close catalog principal, OT103 whose normal form is known
(both replace the literal's text), and OT102 (remove the repeated list element). Edits are
computed from finding locations only, applied from the end of a file to its start, and
written atomically (temporary file, then rename, mode kept). A file that changed since it
was read is left alone.
"""

from __future__ import annotations

import difflib
import os
import re
import tempfile
from collections import defaultdict
from dataclasses import dataclass

from orgtrust_lint.facts import Finding

FIXABLE = frozenset({"OT101", "OT102", "OT103"})
_NOT_SOURCE = (".json",)  # plan files and JSON templates are not rewritten for OT102


@dataclass(frozen=True)
class Edit:
    start: int
    end: int
    replacement: str
    finding: Finding


@dataclass
class FileFix:
    path: str
    original: str
    fixed: str
    findings: list[Finding]

    def diff(self) -> str:
        return "".join(
            difflib.unified_diff(
                self.original.splitlines(keepends=True),
                self.fixed.splitlines(keepends=True),
                fromfile=f"a/{self.path}",
                tofile=f"b/{self.path}",
            )
        )


def _offset(lines: list[str], line: int, column: int) -> int | None:
    if not 1 <= line <= len(lines):
        return None
    return sum(len(x) for x in lines[: line - 1]) + column - 1


def _replace_edit(text: str, lines: list[str], finding: Finding) -> Edit | None:
    where = finding.location
    start, end = _offset(lines, where.line, where.column), _offset(lines, where.end_line, where.end_column)
    if start is None or end is None or not finding.principal or not finding.suggestion:
        return None
    written = text[start:end]
    at = written.find(finding.principal)
    if at < 0:
        return None  # escaped or computed: not the literal we can see
    return Edit(start + at, start + at + len(finding.principal), finding.suggestion, finding)


def _remove_edit(text: str, lines: list[str], finding: Finding) -> Edit | None:
    where = finding.location
    if where.line != where.end_line or where.path.endswith(_NOT_SOURCE):
        return None
    start, end = _offset(lines, where.line, where.column), _offset(lines, where.end_line, where.end_column)
    if start is None or end is None:
        return None
    line_text = lines[where.line - 1]
    line_start = _offset(lines, where.line, 1) or 0
    element = text[start:end]
    # On a line of its own ("    "x",  # comment"): remove the line.
    if re.fullmatch(r"\s*" + re.escape(element) + r"\s*,?\s*(?:(?:#|//).*)?\r?\n?", line_text):
        return Edit(line_start, line_start + len(line_text), "", finding)
    # Inline ("[a, b, a]"): take the comma before it, or for a first element the one after it.
    before = re.search(r",\s*$", text[line_start:start])
    if before:
        return Edit(line_start + before.start(), end, "", finding)
    after = re.match(r"\s*,\s*", text[end:])
    if after:
        return Edit(start, end + after.end(), "", finding)
    return None


def plan_fixes(findings: list[Finding]) -> list[FileFix]:
    by_path: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        if finding.rule in FIXABLE and os.path.isfile(finding.location.path):
            by_path[finding.location.path].append(finding)
    fixes = []
    for path, path_findings in sorted(by_path.items()):
        with open(path, encoding="utf-8", newline="") as handle:
            text = handle.read()
        lines = text.splitlines(keepends=True)
        edits: list[Edit] = []
        for finding in path_findings:
            edit = (
                _remove_edit(text, lines, finding) if finding.rule == "OT102" else _replace_edit(text, lines, finding)
            )
            if edit is not None:
                edits.append(edit)
        edits.sort(key=lambda e: (e.start, e.end))
        chosen: list[Edit] = []
        for edit in edits:  # overlapping edits (a duplicate that is also a typo): keep the first
            if chosen and edit.start < chosen[-1].end:
                continue
            chosen.append(edit)
        if not chosen:
            continue
        fixed = text
        for edit in reversed(chosen):
            fixed = fixed[: edit.start] + edit.replacement + fixed[edit.end :]
        fixes.append(FileFix(path, text, fixed, [e.finding for e in chosen]))
    return fixes


def write_fix(fix: FileFix) -> bool:
    """Write atomically; False (and nothing written) when the file changed since it was read."""
    with open(fix.path, encoding="utf-8", newline="") as handle:
        if handle.read() != fix.original:
            return False
    directory = os.path.dirname(os.path.abspath(fix.path))
    mode = os.stat(fix.path).st_mode
    descriptor, temporary = tempfile.mkstemp(prefix=".orgtrust-lint-", dir=directory)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
            handle.write(fix.fixed)
        os.chmod(temporary, mode)
        os.replace(temporary, fix.path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    return True
