"""Finding fingerprints that survive unrelated edits, shared by SARIF and the baseline file.

A fingerprint must not contain a line number: a comment added above a finding would otherwise
turn it into a "new" finding in code scanning and resurrect it from a baseline. Changing how
fingerprints are computed re-opens every code-scanning alert and invalidates every baseline.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from orgtrust_lint.facts import Finding


def _line_text(path: str, line: int, cache: dict[str, list[str]]) -> str:
    if path not in cache:
        try:
            cache[path] = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            cache[path] = []
    lines = cache[path]
    return lines[line - 1].strip() if 0 < line <= len(lines) else ""


def fingerprints(findings: Sequence[Finding], path_key: Callable[[str], str] | None = None) -> list[str]:
    """One fingerprint per finding, in order: a digest of the rule, the file, the principal and the
    offending line's text (not its number), then ``:N`` to tell apart repeats of the same digest
    by their order in ``findings``. ``path_key`` names the file in the digest (the baseline names it
    relative to the baseline's directory, so that its fingerprints do not depend on the working
    directory); without it, the path as reported."""
    cache: dict[str, list[str]] = {}
    seen: Counter[str] = Counter()
    prints = []
    for finding in findings:
        text = _line_text(finding.location.path, finding.location.line, cache)
        path = finding.location.path if path_key is None else path_key(finding.location.path)
        key = "|".join((finding.rule, path, finding.principal or "", text))
        # surrogateescape: a file name that is not valid UTF-8 hashes as its own bytes instead of failing;
        # every other key encodes exactly as before, so no existing fingerprint changes.
        digest = hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:32]
        seen[digest] += 1
        prints.append(f"{digest}:{seen[digest]}")
    return prints
