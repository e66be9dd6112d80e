"""Terragrunt units, planned: which files a unit reads and which Terraform module it applies.

A unit (a directory with a terragrunt.hcl) is one configuration: its module is evaluated with the
unit's inputs as variables. Planning evaluates the unit once (evaluate/terragrunt.py) to learn its
``terraform { source }`` and every Terragrunt file it reads (the files it includes, those
read_terragrunt_config and find_in_parent_folders reach): their contents are part of what the
configuration's facts depend on (the cache key), and extraction evaluates the unit again from exactly
those contents, so both see the same files.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from orgtrust_lint.evaluate.values import Known
from orgtrust_lint.files import SkipFile, content_digest, read_file
from orgtrust_lint.parse.hcl_ast import HclDocument
from orgtrust_lint.parse.terraform import ParseFailure, Skipped, parse_terraform

if TYPE_CHECKING:
    from orgtrust_lint.cache import ParseCache

UNIT_FILE = "terragrunt.hcl"
LOCK_FILE = ".terraform.lock.hcl"  # HCL, but the providers `terraform init` chose: nothing of ours


def is_terragrunt_file(path: str) -> bool:
    """An HCL file orgtrust-lint reads as Terragrunt: a unit's terragrunt.hcl, or a file units include."""
    name = os.path.basename(path)
    return name.endswith(".hcl") and name != LOCK_FILE


def is_unit(path: str) -> bool:
    return os.path.basename(path) == UNIT_FILE


Content = bytes | ParseFailure | Skipped


@dataclass
class TerragruntUnit:
    """A unit: its terragrunt.hcl, what it reads, and the module it applies."""

    path: str  # its terragrunt.hcl, as discovery names files
    boundary: str  # get_repo_root() (absolute): the repository, or the linted directory without one
    files: dict[str, Content] = field(default_factory=dict)  # the unit's file first, then what it reads
    # The directory of the Terraform module it applies, when its code is local: ``source`` resolved
    # (with its //subdirectory), or the unit's own directory without one. None for a registry, git or
    # other remote source, or one that cannot be known statically: then only the inputs named like
    # principals are checked.
    module: str | None = None
    source: str | None = None  # terraform { source } as evaluated, for messages

    @property
    def directory(self) -> str:
        return os.path.dirname(self.path) or "."


# A source go-getter fetches: a forced getter (git::, s3::), a URL, the Terraform Registry (tfr://),
# or a host name first (github.com/org/repo).
_REMOTE_SOURCE = re.compile(r"^(?:[A-Za-z0-9]+::|[A-Za-z][A-Za-z0-9+.-]*:|[^/.][^/]*\.[^/]+/|git@)")


def module_directory(unit_directory: str, source: str) -> str | None:
    """The directory a unit's source names (absolute), or None for a remote one."""
    if not source or _REMOTE_SOURCE.match(source):
        return None
    path = source.partition("?")[0].replace("//", "/")  # "../modules//org": a subdirectory of the package
    return os.path.normpath(os.path.join(unit_directory, path))


def display(path: str) -> str:
    from orgtrust_lint.discover import display_path

    return display_path(os.path.normpath(path))


def repository_of(directory: str, roots: Sequence[str] = ()) -> str:
    """get_repo_root() for a unit in ``directory`` (absolute): the enclosing git or Mercurial
    repository; without one, the outermost of ``roots`` (the linted directories, the working
    directory) holding it; else the directory itself."""
    current = directory
    while True:
        if any(os.path.exists(os.path.join(current, marker)) for marker in (".git", ".hg")):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    holding = [r for r in roots if directory == r or directory.startswith(os.path.join(r, ""))]
    return min(holding, key=len) if holding else directory


class _DiskFiles:
    """The Terragrunt files a unit reads while it is planned: from disk, inside its boundary, each
    recorded with its content so that extraction reads the same."""

    def __init__(self, planner: UnitPlanner, boundary: str) -> None:
        self.planner = planner
        self.boundary = boundary
        self.real_boundary = os.path.join(os.path.realpath(boundary), "")
        self.files: dict[str, Content] = {}
        self.absent: set[str] = set()  # looked for and not found: a file appearing there changes the plan

    def exists(self, path: str) -> bool:
        key = display(path)
        if key in self.files:
            return True
        if key in self.absent:
            return False
        if not self.planner.readable(key, self.real_boundary):
            self.absent.add(key)
            return False
        self.files[key] = self.planner.content(key)
        return True

    def document(self, path: str) -> HclDocument | None:
        if not self.exists(path):
            return None
        return self.planner.parsed(display(path))


class ParsedFiles:
    """The files planning recorded, parsed: what a unit reads when it is extracted."""

    def __init__(self, unit: TerragruntUnit, parsed: dict[str, HclDocument | ParseFailure]) -> None:
        self.unit = unit
        self.parsed = parsed

    def exists(self, path: str) -> bool:
        return display(path) in self.unit.files

    def document(self, path: str) -> HclDocument | None:
        found = self.parsed.get(display(path))
        return found if isinstance(found, HclDocument) else None


class UnitPlanner:
    """Plans units, reading and parsing each Terragrunt file once however many units read it. With a
    cache, a unit whose file and every file its plan looked at (read, or looked for and not found) are
    as they were is not evaluated again: a warm run parses nothing."""

    def __init__(
        self,
        read: Callable[[str], bytes] = read_file,
        roots: Iterable[str] = (),
        cache: ParseCache | None = None,
        jobs: int = 1,
        available: Callable[[str], bool] | None = None,
    ) -> None:
        self.read = read
        self.roots = [os.path.abspath(r) for r in roots]
        self.cache = cache
        self.jobs = jobs if read is read_file else 1  # workers read files themselves
        self.available = available  # which files exist, when they are not read from disk (a git revision)
        self._contents: dict[str, Content] = {}
        self._parsed: dict[str, HclDocument | None] = {}
        self._boundaries: dict[str, str] = {}

    def readable(self, path: str, real_boundary: str) -> bool:
        """A regular file inside the unit's boundary, after resolving links."""
        if self.available is not None:
            return self.available(path)
        from orgtrust_lint import replay

        replay.probed(path)  # found or not, what planning looked for is an input of the run
        return os.path.isfile(path) and os.path.join(os.path.realpath(path), "").startswith(real_boundary)

    def content(self, path: str) -> Content:
        if path not in self._contents:
            try:
                self._contents[path] = self.read(path)
            except SkipFile as exc:
                self._contents[path] = Skipped(str(exc), exc.incomplete)
            except OSError as exc:
                self._contents[path] = ParseFailure(f"cannot read file: {exc.strerror}")
            except KeyError:  # not in the revision being read
                self._contents[path] = ParseFailure("cannot read file: not in this revision")
        return self._contents[path]

    def parsed(self, path: str) -> HclDocument | None:
        if path not in self._parsed:
            data = self.content(path)
            result = parse_terraform(path, data) if isinstance(data, bytes) else None
            self._parsed[path] = result if isinstance(result, HclDocument) else None
        return self._parsed[path]

    def parsed_documents(self) -> dict[tuple[str, str], HclDocument]:
        """Every Terragrunt file planning parsed, by path and content digest (a ParseMemo's key)."""
        return {
            (path, content_digest(data)): document
            for path, document in self._parsed.items()
            if document is not None and isinstance(data := self._contents.get(path), bytes)
        }

    def boundary(self, directory: str) -> str:
        if directory not in self._boundaries:
            self._boundaries[directory] = repository_of(directory, self.roots)
        return self._boundaries[directory]

    def plan(self, path: str) -> TerragruntUnit:
        return self.plan_all([path])[0]

    def plan_all(self, paths: Sequence[str]) -> list[TerragruntUnit]:
        keys = {path: self._key(path) for path in paths} if self.cache is not None else {}
        stored = self.cache.get_many_bytes(keys.values()) if self.cache is not None else {}
        found = {path: self._from_cache(path, stored.get(keys[path])) for path in keys}
        misses = [path for path in paths if found.get(path) is None]
        from orgtrust_lint import parallel

        # Each unit is parsed and evaluated on its own: many units are planned in worker processes,
        # which hand back the syntax trees too (extraction would otherwise parse every unit again).
        if parallel.uses_workers(len(misses), self.jobs):
            from orgtrust_lint.parse.hcl_parser import load_parser

            load_parser()  # once here, inherited by every worker (and by extraction's after them)
        work = parallel.start(_plan_batch, [(path, tuple(self.roots)) for path in misses], self.jobs)
        if work.parallel:
            planned = []
            for unit, absent, documents in work.result():
                self._parsed.update(documents)
                self._contents.update((p, c) for p, c in unit.files.items() if p in documents)
                planned.append((unit, absent))
        else:
            planned = [self._plan(path) for path in misses]
        for path, (unit, absent) in zip(misses, planned, strict=True):
            found[path] = unit
            if self.cache is not None:
                self.cache.put_bytes(keys[path], _encode_plan(unit, absent))
        return [unit for unit in (found[path] for path in paths) if unit is not None]

    def _key(self, path: str) -> str:
        assert self.cache is not None
        boundary = self.boundary(os.path.dirname(os.path.abspath(path)))
        parts = [_fingerprint(self.content(path)).encode(), boundary.encode("utf-8", "surrogateescape")]
        return self.cache.key("terragrunt unit", path, [*parts, os.getcwd().encode("utf-8", "surrogateescape")])

    def _from_cache(self, path: str, blob: bytes | None) -> TerragruntUnit | None:
        """The stored plan, if every file it looked at is as it was then."""
        plan = _decode_plan(blob) if blob is not None else None
        if plan is None:
            return None
        reads, module, source = plan
        boundary = self.boundary(os.path.dirname(os.path.abspath(path)))
        real_boundary = os.path.join(os.path.realpath(boundary), "")
        files: dict[str, Content] = {path: self.content(path)}
        for read, fingerprint in reads:
            if fingerprint is None:
                if self.readable(read, real_boundary):
                    return None
            elif not self.readable(read, real_boundary) or _fingerprint(self.content(read)) != fingerprint:
                return None
            else:
                files[read] = self.content(read)
        return TerragruntUnit(path, boundary, files, module, source)

    def _plan(self, path: str) -> tuple[TerragruntUnit, set[str]]:
        from orgtrust_lint.evaluate.terragrunt import evaluate_unit

        absolute = os.path.abspath(path)
        unit = TerragruntUnit(path, self.boundary(os.path.dirname(absolute)))
        files = _DiskFiles(self, unit.boundary)
        files.files[path] = self.content(path)  # the unit's own file, as given (stdin stands in for it)
        try:
            values = evaluate_unit(absolute, unit.boundary, files)
        except Exception:  # a bug of ours must not stop the run: extraction evaluates the unit
            # again and reports what fails there as an internal error
            unit.files = files.files
            return unit, files.absent
        unit.files = files.files
        if values.source is None:
            unit.module = unit.directory  # Terragrunt applies the Terraform files of the unit's directory
        elif isinstance(values.source, Known) and isinstance(values.source.value, str):
            unit.source = values.source.value
            directory = module_directory(os.path.dirname(absolute), values.source.value)
            unit.module = display(directory) if directory is not None else None
        return unit, files.absent


def _plan_batch(
    items: list[tuple[str, tuple[str, ...]]],
) -> list[tuple[TerragruntUnit, set[str], dict[str, HclDocument]]]:
    """Worker entry point: plan units (read from disk), each with the files it looked for in vain and
    the syntax trees of the files it read."""
    planners: dict[tuple[str, ...], UnitPlanner] = {}
    planned = []
    for path, roots in items:
        planner = planners.setdefault(roots, UnitPlanner(roots=roots))
        unit, absent = planner._plan(path)
        documents = {p: d for p in unit.files if (d := planner._parsed.get(p)) is not None}
        planned.append((unit, absent, documents))
    return planned


def _fingerprint(content: Content) -> str:
    return f"sha256:{content_digest(content)}" if isinstance(content, bytes) else f"unread:{content!r}"


PLAN_FORMAT = 1


def _encode_plan(unit: TerragruntUnit, absent: set[str]) -> bytes:
    reads: list[list[str | None]] = [[p, _fingerprint(c)] for p, c in unit.files.items() if p != unit.path]
    reads.extend([p, None] for p in sorted(absent))
    document = {"format": PLAN_FORMAT, "reads": reads, "module": unit.module, "source": unit.source}
    return json.dumps(document, separators=(",", ":")).encode()


def _decode_plan(blob: bytes) -> tuple[list[tuple[str, str | None]], str | None, str | None] | None:
    """(files looked at with their fingerprints, None for one not found; module; source), or None
    for an entry of another shape (a miss)."""
    try:
        document = json.loads(blob)
    except (ValueError, RecursionError):
        return None
    if not isinstance(document, dict) or document.get("format") != PLAN_FORMAT:
        return None
    reads, module, source = document.get("reads"), document.get("module"), document.get("source")
    if not isinstance(reads, list) or not all(isinstance(v, (str, type(None))) for v in (module, source)):
        return None
    checked: list[tuple[str, str | None]] = []
    for entry in reads:
        if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str)):
            return None
        if not isinstance(entry[1], (str, type(None))):
            return None
        checked.append((entry[0], entry[1]))
    return checked, module, source
