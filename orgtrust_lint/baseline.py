"""The baseline file: the findings a repository already had when it adopted orgtrust-lint.

``check --write-baseline FILE`` records today's findings (after inline ignores); ``check
--baseline FILE`` then reports only the findings that are not in it. An entry matches a finding
by rule, file path and fingerprint (see fingerprint.py), never by line number, so editing a file
above a recorded finding does not bring it back. Entries that match nothing any more are stale:
they are reported, never fail the run, and ``--baseline-prune`` removes them.

Paths in the file are relative to the baseline file's own directory, with '/' separators, and the
fingerprints digest that same path: matching, stale entries and pruning then give the same results
whether a run starts at the repository root, in a subdirectory (``check ..``) or names absolute paths.
Version 1 files (before that) held paths relative to the working directory they were recorded in;
they are still read where that directory can be told (see ``_version_1_origin``).

The file is JSON sorted by path, rule and fingerprint, so that re-recording an unchanged
repository rewrites it byte for byte and a review diff shows only what really changed.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orgtrust_lint.errors import UserError
from orgtrust_lint.facts import INTERNAL_ERROR_RULE, Finding
from orgtrust_lint.fingerprint import fingerprints

if TYPE_CHECKING:
    from orgtrust_lint.config import ConfigResolver
    from orgtrust_lint.lint import CheckResult

FORMAT_VERSION = 2  # 2: paths relative to the baseline's directory; 1: relative to where it was recorded
READABLE_VERSIONS = (1, 2)
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


def _relative(path: str, start: str) -> str:
    try:
        return os.path.relpath(path, start)
    except ValueError:  # another drive (Windows): no relative path exists, the absolute one is exact
        return path


def _own_directory(file: str) -> str:
    """The real directory a baseline file lies in: what a version 2 file's paths are relative to."""
    return os.path.realpath(os.path.dirname(os.path.abspath(file)))


class PathKeys:
    """How a baseline names files: relative to ``origin`` (a real, absolute directory), '/'-separated.

    Each file's directory is resolved (memoised: a run has thousands of files in a few hundred
    directories), so a working directory or an argument reached through a symbolic link names a
    file as any other run does; the file itself is not resolved, so a linked file keeps its name."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self._real_directories: dict[str, str] = {}

    def key(self, path: str) -> str:
        """The baseline's name for ``path``, a path as this run reports it."""
        directory, name = os.path.split(path)
        real = self._real_directories.get(directory)
        if real is None:
            real = self._real_directories[directory] = os.path.realpath(directory or os.curdir)
        return _relative(os.path.join(real, name), self.origin).replace(os.sep, "/")

    def local(self, key: str) -> str:
        """The file a baseline path names, as an absolute path this process can open."""
        return os.path.normpath(os.path.join(self.origin, key.replace("/", os.sep)))


@dataclass(frozen=True)
class Baseline:
    file: str
    entries: tuple[Entry, ...]  # paths relative to ``origin``, as PathKeys names them
    origin: str = ""  # the real directory the entries' paths are relative to
    version: int = FORMAT_VERSION

    @property
    def keys(self) -> PathKeys:
        return PathKeys(self.origin or _own_directory(self.file))


@dataclass
class Comparison:
    """The findings of one run set against a baseline."""

    file: str
    matched: tuple[Finding, ...]
    stale: tuple[Entry, ...]  # as the baseline holds them (what --baseline-prune removes)
    # The same entries with their paths as this run names files (relative to the working directory,
    # like the findings): what is printed.
    stale_shown: tuple[Entry, ...]
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
        stale = [entry.to_json() for entry in self.stale_shown]
        return {"file": self.file, "matched": len(self.matched), "stale": stale}


def _keyed(findings: Sequence[Finding], keys: PathKeys) -> list[tuple[Finding, Entry]]:
    """Each finding that can be baselined with its entry. Internal errors never are: they mean a
    file was not fully checked, which must not be recorded as normal."""
    return [
        (finding, Entry(keys.key(finding.location.path), finding.rule, fingerprint, finding.message))
        for finding, fingerprint in zip(findings, fingerprints(findings, keys.key), strict=True)
        if finding.rule != INTERNAL_ERROR_RULE
    ]


def _default_mode() -> int:
    """The mode any new file would get: mkstemp's 0600 would hide a committed, shared file."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


# A file name that is not valid UTF-8 reaches us with its odd bytes as lone surrogates (U+DC80..U+DCFF,
# surrogateescape). JSON can hold them only as \u escapes; json.loads gives them back unchanged, and the
# path then names the same file again.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _json_text(document: dict[str, Any]) -> str:
    # ensure_ascii=False keeps other non-ASCII names readable in a review diff.
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return _LONE_SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def _write(file: str, entries: Iterable[Entry], option: str, version: int = FORMAT_VERSION) -> None:
    """Write atomically (a temporary file renamed over the target), keeping an existing file's mode:
    an interrupted run leaves the old baseline whole, never half a file."""
    document = {
        "version": version,
        "tool": TOOL_NAME,
        "findings": [entry.to_json() for entry in sorted(entries)],
    }
    text = _json_text(document)
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
    entries = [entry for _, entry in _keyed(findings, PathKeys(_own_directory(file)))]
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
    if isinstance(data, dict) and data.get("version", FORMAT_VERSION) not in READABLE_VERSIONS:
        raise BaselineError(
            f"{what}: unsupported version {json.dumps(data['version'])[:20]} "
            f"(this orgtrust-lint reads versions {' and '.join(map(str, READABLE_VERSIONS))})"
        )
    from orgtrust_lint.schema_check import validate  # imports jsonschema: only runs that use a baseline pay

    validate(data, json.loads(_SCHEMA_FILE.read_text(encoding="utf-8")), what, describe=_describe_error)
    entries = tuple(Entry(e["path"], e["rule"], e["fingerprint"], e["message"]) for e in data["findings"])
    version = data["version"]
    origin = _own_directory(file) if version == FORMAT_VERSION else _version_1_origin(file, entries, what)
    return Baseline(file, entries, origin, version)


def _version_1_origin(file: str, entries: Sequence[Entry], what: str) -> str:
    """The directory a version 1 baseline was recorded in, where that can be told; else BaselineError.

    Its paths were relative to the working directory of the run that recorded it (the README said to
    run from there). From the baseline's own directory that is the reading every older run used. From
    elsewhere it is either the baseline's directory or this one: the one whose reading names an existing
    file for every entry, if only one does. Guessing would match findings, or prune entries, wrongly."""
    own = _own_directory(file)
    here = os.path.realpath(os.curdir)
    if here == own or all(os.path.isabs(entry.path) for entry in entries):
        return own  # both readings are the same (no entries, or only absolute paths)

    def names_every_file(origin: str) -> bool:
        return all(os.path.lexists(os.path.join(origin, entry.path)) for entry in entries)

    fitting = [origin for origin in (own, here) if names_every_file(origin)]
    if len(fitting) == 1:
        return fitting[0]
    beside = os.path.dirname(file) or os.curdir
    reason = (
        f"from here that could be {beside} or this directory"
        if fitting
        else f"from here neither {beside} nor this directory holds every file it names"
    )
    raise BaselineError(
        f"{what}: a version 1 baseline, whose paths are relative to the directory it was recorded in, and {reason}: "
        f"run from the directory it was recorded in (from {beside}, --baseline-prune converts it to version "
        f"{FORMAT_VERSION}, whose paths work from any directory)"
    )


def _checked_here(entry: Entry, checked_files: dict[str, str], keys: PathKeys, config: ConfigResolver) -> bool:
    """Whether this run could have found the entry's finding. A run over other paths, or with the
    entry's rule deselected, says nothing about it: it is neither matched nor stale."""
    from orgtrust_lint.engine import rule_selected

    if not os.path.lexists(keys.local(entry.path)):
        return True  # the file is gone, and its findings with it
    shown = checked_files.get(entry.path)
    if shown is None:
        return False
    effective = config.for_file(shown)
    return rule_selected(entry.rule, effective.select, effective.ignores_for(shown))


def _shown(entry: Entry, checked_files: dict[str, str], keys: PathKeys) -> Entry:
    """The entry with its path as this run's findings name the file (relative to the working directory)."""
    from orgtrust_lint.discover import display_path

    shown = checked_files.get(entry.path) or display_path(keys.local(entry.path))
    return replace(entry, path=shown)


def compare(baseline: Baseline, result: CheckResult, config: ConfigResolver) -> Comparison:
    """Match the run's findings against the baseline's entries, each entry matching at most one finding."""
    keys = baseline.keys
    unmatched = Counter(entry.key for entry in baseline.entries)
    matched = []
    for finding, entry in _keyed(result.findings, keys):
        unignorable = config.for_file(finding.location.path).unignorable
        if any(finding.rule.startswith(code) for code in unignorable):
            continue  # a rule no ignore may silence is not silenced by a baseline either
        if unmatched[entry.key] > 0:
            unmatched[entry.key] -= 1
            matched.append(finding)
    checked_files = {keys.key(path): path for path in result.files}  # the baseline's name -> the run's
    stale = []
    for entry in baseline.entries:
        if unmatched[entry.key] > 0:
            unmatched[entry.key] -= 1
            if _checked_here(entry, checked_files, keys, config):
                stale.append(entry)
    stale.sort()
    shown = tuple(_shown(entry, checked_files, keys) for entry in stale)
    return Comparison(baseline.file, tuple(matched), tuple(stale), shown)


@dataclass(frozen=True)
class Pruned:
    removed: int
    converted: bool  # a version 1 file was rewritten as the current version


def prune(baseline: Baseline, stale: Iterable[Entry]) -> Pruned:
    """Rewrite the baseline without the ``stale`` entries. An up-to-date baseline is not rewritten,
    unless it is a version 1 file recorded in its own directory: its entries are then exactly what
    the current version holds, so it is converted, and works from any directory from then on."""
    to_remove = Counter(stale)
    converting = baseline.version != FORMAT_VERSION and baseline.origin == _own_directory(baseline.file)
    if not to_remove and not converting:
        return Pruned(0, converted=False)
    kept = []
    for entry in baseline.entries:
        if to_remove[entry] > 0:
            to_remove[entry] -= 1
        else:
            kept.append(entry)
    # A version 1 file recorded elsewhere keeps its version: its paths stay relative to where it was recorded.
    _write(baseline.file, kept, "--baseline-prune", FORMAT_VERSION if converting else baseline.version)
    return Pruned(len(baseline.entries) - len(kept), converted=converting)
