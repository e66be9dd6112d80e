"""The baseline file: the findings a repository already had when it adopted orgtrust-lint.

``check --write-baseline FILE`` records today's findings (after inline ignores); ``check
--baseline FILE`` then reports only the findings that are not in it. An entry matches a finding
by rule, file path and fingerprint (see fingerprint.py), never by line number, so editing a file
above a recorded finding does not bring it back. Entries that match nothing any more are stale:
they are reported, never fail the run, and ``--baseline-prune`` removes them.

The file is JSON sorted by path, rule and fingerprint, so that re-recording an unchanged
repository rewrites it byte for byte and a review diff shows only what really changed.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orgtrust_lint.errors import UserError
from orgtrust_lint.facts import INTERNAL_ERROR_RULE, Finding
from orgtrust_lint.fingerprint import fingerprints

if TYPE_CHECKING:
    from orgtrust_lint.config import Config
    from orgtrust_lint.lint import CheckResult

FORMAT_VERSION = 1
TOOL_NAME = "orgtrust-lint"
_SCHEMA_FILE = Path(__file__).parent / "data" / "baseline.schema.json"


class BaselineError(UserError):
    """The baseline file cannot be read, is not a baseline, or cannot be written."""


@dataclass(frozen=True, order=True)
class Entry:
    # Field order is sort order: the file groups a path's entries together.
    path: str
    rule: str
    fingerprint: str
    message: str

    @property
    def key(self) -> tuple[str, str, str]:
        """What a finding must share to match this entry; the message is only for the reader."""
        return self.rule, self.path, self.fingerprint

    def to_json(self) -> dict[str, str]:
        return {"rule": self.rule, "path": self.path, "fingerprint": self.fingerprint, "message": self.message}


@dataclass(frozen=True)
class Baseline:
    file: str
    entries: tuple[Entry, ...]


@dataclass
class Comparison:
    """The findings of one run set against a baseline."""

    file: str
    matched: tuple[Finding, ...]
    stale: tuple[Entry, ...]
    # By identity, not equality: two findings can be equal field by field (the same literal
    # reported twice) while the baseline holds one entry for them. ``matched`` keeps the objects
    # alive, so their ids cannot be reused while this comparison exists.
    _matched_ids: frozenset[int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._matched_ids = frozenset(id(finding) for finding in self.matched)

    def is_matched(self, finding: Finding) -> bool:
        return id(finding) in self._matched_ids

    def sarif_state(self, finding: Finding) -> str:
        return "unchanged" if self.is_matched(finding) else "new"

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "matched": len(self.matched), "stale": [entry.to_json() for entry in self.stale]}


def _keyed(findings: Sequence[Finding]) -> list[tuple[Finding, Entry]]:
    """Each finding that can be baselined with its entry. Internal errors never are: they mean a
    file was not fully checked, which must not be recorded as normal."""
    return [
        (finding, Entry(finding.location.path, finding.rule, fingerprint, finding.message))
        for finding, fingerprint in zip(findings, fingerprints(findings), strict=True)
        if finding.rule != INTERNAL_ERROR_RULE
    ]


def _default_mode() -> int:
    """The mode any new file would get: mkstemp's 0600 would hide a committed, shared file."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _write(file: str, entries: Iterable[Entry], option: str) -> None:
    """Write atomically (a temporary file renamed over the target), keeping an existing file's mode:
    an interrupted run leaves the old baseline whole, never half a file."""
    document = {
        "version": FORMAT_VERSION,
        "tool": TOOL_NAME,
        "findings": [entry.to_json() for entry in sorted(entries)],
    }
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    target = os.path.abspath(file)
    temporary = None
    try:
        try:
            mode = os.stat(target).st_mode & 0o777
        except FileNotFoundError:
            mode = _default_mode()
        descriptor, temporary = tempfile.mkstemp(prefix=".orgtrust-lint-baseline-", dir=os.path.dirname(target))
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException as exc:  # Ctrl-C included: no temporary file is left behind
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        if isinstance(exc, OSError):
            raise BaselineError(f"{option}: {file}: cannot write ({exc.strerror or exc})") from None
        raise


def record(file: str, findings: Sequence[Finding]) -> int:
    """Write ``findings`` as the baseline ``file``; return how many entries were recorded."""
    entries = [entry for _, entry in _keyed(findings)]
    _write(file, entries, "--write-baseline")
    return len(entries)


def _describe_error(error: Any) -> tuple[str, str]:
    where = "/".join(str(part) for part in error.absolute_path)
    if error.validator in ("required", "additionalProperties"):
        return where, error.message
    # jsonschema's own messages quote the offending value, which can be a whole entry.
    expected = error.schema.get("description")
    return where, f"expected {expected}" if expected else error.message


def load(file: str) -> Baseline:
    """Read and validate a baseline; BaselineError (one line naming the file) if it is not one."""
    what = f"--baseline: {file}"
    try:
        raw = Path(file).read_bytes()
    except FileNotFoundError:
        raise BaselineError(f"{what}: no such file (record one with --write-baseline {file})") from None
    except OSError as exc:
        raise BaselineError(f"{what}: cannot read ({exc.strerror or exc})") from None
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise BaselineError(f"{what}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise BaselineError(f"{what}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise BaselineError(f"{what}: not a baseline (nested too deeply)") from None
    if isinstance(data, dict) and data.get("version", FORMAT_VERSION) != FORMAT_VERSION:
        raise BaselineError(
            f"{what}: unsupported version {json.dumps(data['version'])[:20]} "
            f"(this orgtrust-lint reads version {FORMAT_VERSION})"
        )
    from orgtrust_lint.schema_check import validate  # imports jsonschema: only runs that use a baseline pay

    validate(data, json.loads(_SCHEMA_FILE.read_text(encoding="utf-8")), what, describe=_describe_error)
    return Baseline(file, tuple(Entry(e["path"], e["rule"], e["fingerprint"], e["message"]) for e in data["findings"]))


def _checked_here(entry: Entry, checked_files: set[str], config: Config) -> bool:
    """Whether this run could have found the entry's finding. A run over other paths, or with the
    entry's rule deselected, says nothing about it: it is neither matched nor stale."""
    from orgtrust_lint.engine import rule_selected

    if not os.path.lexists(entry.path):
        return True  # the file is gone, and its findings with it
    if entry.path not in checked_files:
        return False
    effective = config.for_file(entry.path)
    return rule_selected(entry.rule, effective.select, effective.ignores_for(entry.path))


def compare(baseline: Baseline, result: CheckResult, config: Config) -> Comparison:
    """Match the run's findings against the baseline's entries, each entry matching at most one finding."""
    unmatched = Counter(entry.key for entry in baseline.entries)
    matched = []
    for finding, entry in _keyed(result.findings):
        unignorable = config.for_file(finding.location.path).unignorable
        if any(finding.rule.startswith(code) for code in unignorable):
            continue  # a rule no ignore may silence is not silenced by a baseline either
        if unmatched[entry.key] > 0:
            unmatched[entry.key] -= 1
            matched.append(finding)
    checked_files = set(result.files)
    stale = []
    for entry in baseline.entries:
        if unmatched[entry.key] > 0:
            unmatched[entry.key] -= 1
            if _checked_here(entry, checked_files, config):
                stale.append(entry)
    return Comparison(baseline.file, tuple(matched), tuple(sorted(stale)))


def prune(baseline: Baseline, stale: Iterable[Entry]) -> int:
    """Rewrite the baseline without the ``stale`` entries; return how many were removed. An
    up-to-date baseline is not rewritten."""
    to_remove = Counter(stale)
    if not to_remove:
        return 0
    kept = []
    for entry in baseline.entries:
        if to_remove[entry] > 0:
            to_remove[entry] -= 1
        else:
            kept.append(entry)
    _write(baseline.file, kept, "--baseline-prune")
    return len(baseline.entries) - len(kept)
