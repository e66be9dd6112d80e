"""``--fix``: rewrite unambiguous principal typos in place, and never write a wrong byte.

Fixable: OT101 with exactly one close catalog principal, OT103 whose normal form is known
(both replace the literal's text), and OT102 (remove the repeated list element). An edit is made
only when all of this holds, else the finding stays reported and a one-line note says why:

- the file is one the run linted from the paths given (never a plan, never anything else), and
  still holds exactly the content the findings were computed from (a digest taken when it was read);
- the finding's line and column, counted as the file's parser counts lines (orgtrust_lint.lines),
  hold exactly the literal: the principal itself, or it in quotes;
- the file's own parser, run again, has a string literal with that value at that place, and for
  OT102 that literal is an element of a list, outside JSON, and not reached through a variable or
  local that its module refers to more than once (another use would lose the element too);
- the edited text parses, and into exactly the tree expected: the same as before except for the
  replaced values and the removed elements.

Writing (``write_fix``) takes an exclusive lock on the file, reads it again and writes only if it
still holds what was planned, then replaces it atomically (temporary file, then rename) with its
mode (without setuid/setgid) and owner. Symbolic links, files with several hard links, read-only
files and files owned by someone else are left alone.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from orgtrust_lint.catalog import Catalog
from orgtrust_lint.facts import Finding, Location
from orgtrust_lint.files import UTF8_BOM, SkipFile, content_digest, read_file
from orgtrust_lint.lines import TERRAFORM_BREAKS, LineIndex

if TYPE_CHECKING:
    from orgtrust_lint.lint import CheckResult

if sys.platform != "win32":  # on Windows files are still compared again before they are replaced, just not locked
    import fcntl

FIXABLE = frozenset({"OT101", "OT102", "OT103"})
_NO_REMOVAL = (".json",)  # JSON has no trailing comma: removing a last element on its own line would break it
_TERRAFORM = (".tf", ".tfvars", ".tf.json", ".tfvars.json", ".hcl")  # .hcl: Terragrunt, HCL too
_NOTES_PER_FILE = 10
LOCK_WAIT_SECONDS = 10.0  # a concurrent --fix holds a file's lock for milliseconds


class FixSkipped(Exception):
    """The file is not written; the message completes "orgtrust-lint: PATH ...; left alone"."""


@dataclass(frozen=True)
class Edit:
    start: int
    end: int
    replacement: str
    finding: Finding
    removes: bool = False  # OT102: the list element itself goes


@dataclass
class FileFix:
    path: str
    original: str  # the text as parsed: without a leading byte order mark
    fixed: str
    findings: list[Finding]
    data: bytes = b""  # the bytes read, compared again under the lock before writing
    bom: bool = False

    def diff(self) -> str:
        return "".join(
            difflib.unified_diff(
                _display_lines(self.original),
                _display_lines(self.fixed),
                fromfile=f"a/{self.path}",
                tofile=f"b/{self.path}",
            )
        )


@dataclass
class FixPlan:
    fixes: list[FileFix] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # one line each: what was not fixed, and why

    def __iter__(self) -> Iterator[FileFix]:
        return iter(self.fixes)


def _display_lines(text: str) -> list[str]:
    # Lines end at LF only: a form feed in a comment must not split a line of the diff either.
    return re.findall(r"[^\n]*\n|[^\n]+", text)


# ---- the parsed tree, reduced to what an edit may change ----------------------------------


@dataclass
class _Node:
    kind: str  # "str" for a string literal, "seq" for a list; anything else is compared as is
    value: Any
    location: tuple[int, int, int, int] | None
    children: list[_Node] = field(default_factory=list)


def _where(location: Location) -> tuple[int, int, int, int]:
    return (location.line, location.column, location.end_line, location.end_column)


def _hcl_tree(document: Any) -> _Node:
    from orgtrust_lint.parse.hcl_ast import Attribute, Block, Call, Literal, ObjectExpr, Reference, Template, TupleExpr

    def expr(node: Any) -> _Node:
        where = _where(node.location)
        if isinstance(node, Literal):
            if isinstance(node.value, str):
                return _Node("str", node.value, where)
            return _Node("scalar", (type(node.value).__name__, node.value), where)
        if isinstance(node, TupleExpr):
            return _Node("seq", None, where, [expr(item) for item in node.items])
        if isinstance(node, ObjectExpr):
            return _Node("object", None, where, [_Node("member", key, None, [expr(v)]) for key, v in node.items])
        if isinstance(node, Template):
            parts = [_Node("text", p, None) if isinstance(p, str) else expr(p) for p in node.parts]
            return _Node("template", None, where, parts)
        if isinstance(node, Reference):
            return _Node("reference", node.parts, where)
        if isinstance(node, Call):
            return _Node("call", (node.name, node.expand_final), where, [expr(a) for a in node.args])
        return _Node("other", node.text, where)  # its source text: an edit inside it shows

    def body(attributes: dict[str, Attribute], blocks: list[Block]) -> list[_Node]:
        members = [_Node("attribute", name, None, [expr(a.value)]) for name, a in attributes.items()]
        return members + [_Node("block", (b.type, b.labels), None, body(b.attributes, b.blocks)) for b in blocks]

    return _Node("document", None, None, body(document.attributes, document.blocks))


def _template_tree(template: Any) -> _Node:
    def where(value: Any) -> tuple[int, int, int, int] | None:
        start, end = getattr(value, "start_mark", None), getattr(value, "end_mark", None)
        if start is None:
            return None
        end = end or start
        return (start.line + 1, start.column + 1, end.line + 1, end.column + 1)

    def node(value: Any) -> _Node:
        if isinstance(value, dict):
            members = [_Node("member", str(k), None, [node(v)]) for k, v in value.items()]
            return _Node("map", None, where(value), members)
        if isinstance(value, list):
            return _Node("seq", None, where(value), [node(item) for item in value])
        if isinstance(value, str):
            return _Node("str", str(value), where(value))
        return _Node("scalar", (type(value).__name__, value), where(value))

    return node(template)


def _parse_tree(path: str, text: str) -> _Node | str:
    """The file's tree as its own parser (the one lint uses) sees it, or why it does not parse."""
    try:
        if path.endswith(_TERRAFORM):
            from orgtrust_lint.parse.hcl_ast import HclSyntaxError
            from orgtrust_lint.parse.located_json import JsonSyntaxError
            from orgtrust_lint.parse.terraform import parse_file

            try:
                return _hcl_tree(parse_file(path, text))
            except (HclSyntaxError, JsonSyntaxError) as exc:
                return f"line {exc.line}: {exc}"
        from cfnlint.decode import decode_str

        template, matches = decode_str(text)
        if matches or not isinstance(template, dict):
            return " ".join(
                str(getattr(matches[0], "message", "not a template") if matches else "not a template").split()
            )
        return _template_tree(template)
    except RecursionError:
        return "nesting too deep"


def _plain(
    node: _Node, replaced: dict[tuple[int, int, int, int], tuple[str, str]], removed: set[tuple[int, int, int, int]]
) -> tuple[object, ...]:
    """The tree without locations; with the string literals at ``replaced`` that hold its old
    value given the new one, and the list elements at ``removed`` left out: what the edited file
    must parse into."""
    value = node.value
    if node.kind == "str" and node.location in replaced and replaced[node.location][0] == value:
        value = replaced[node.location][1]
    children = node.children
    if node.kind == "seq" and removed:
        children = [child for child in children if child.location not in removed]
    return (node.kind, value, tuple(_plain(child, replaced, removed) for child in children))


def _occurrences(tree: _Node) -> dict[tuple[int, int, int, int], list[tuple[_Node, _Node | None]]]:
    """Every located node with its parent (a YAML alias puts one node in several places)."""
    found: dict[tuple[int, int, int, int], list[tuple[_Node, _Node | None]]] = defaultdict(list)
    pending: list[tuple[_Node, _Node | None]] = [(tree, None)]
    while pending:
        node, parent = pending.pop()
        if node.location is not None:
            found[node.location].append((node, parent))
        pending.extend((child, node) for child in node.children)
    return found


# ---- edits ----------------------------------------------------------------------------------


_YAML_ANCHOR = re.compile(r"&[^\s,\[\]{}]+[ \t]+")


def _literal_span(text: str, index: LineIndex, finding: Finding) -> tuple[int, int, bool] | None:
    """The offsets of the principal's characters when the finding's range holds exactly the
    principal, bare or in quotes, and whether it is embedded in an expression (below); None
    otherwise (escaped, computed, or not there any more).

    One exception: an expression inside a Terraform JSON string ("${concat(var.x, [\\"p\\"])}") is
    located at the whole string; there the principal must be written exactly once, as \\"p\\"."""
    where, principal = finding.location, finding.principal
    start, end = index.offset(where.line, where.column), index.offset(where.end_line, where.end_column)
    if start is None or end is None or not principal:
        return None
    written = text[start:end]
    anchor = _YAML_ANCHOR.match(written) if written.startswith("&") else None
    if anchor:  # a YAML node's range starts at its anchor ("&name value"); aliases share the value
        start, written = start + anchor.end(), written[anchor.end() :]
    if written == principal:
        return start, end, False
    quoted = len(written) == len(principal) + 2 and written[0] == written[-1] and written[0] in "\"'"
    if quoted and written[1:-1] == principal:
        return start + 1, end - 1, False
    embedded = f'\\"{principal}\\"'
    if where.path.endswith(".json") and written.startswith('"${') and written.count(embedded) == 1:
        at = start + written.index(embedded) + 2
        return at, at + len(principal), True
    return None


def _removal(text: str, index: LineIndex, finding: Finding, yaml: bool) -> tuple[int, int] | None:
    """What to delete so that the list element at the finding's range goes, with its separator."""
    where = finding.location
    start, end = index.offset(where.line, where.column), index.offset(where.end_line, where.end_column)
    if start is None or end is None or where.line != where.end_line:
        return None
    line_start, line_end = index.starts[where.line - 1], index.end_of(where.line)
    before, after = text[line_start:start], text[end:line_end]
    comment = r"#.*" if yaml else r"(?:#|//).*"
    item = r"-[ \t]+" if yaml else ""
    # On a line of its own ("    "x",  # comment"): the whole line goes, with its line break, and
    # with the comment lines that are its own (below).
    if re.fullmatch(rf"[ \t]*(?:{item})?", before) and re.fullmatch(
        rf"[ \t]*,?[ \t]*(?:{comment})?(?:\r\n|[\n\r\x85\u2028\u2029])?", after
    ):
        return _own_comments_start(index, where.line, before, yaml), line_end
    # Inline ("[a, b, a]"): with the comma before it, or for a first element the one after it.
    comma_before = re.search(r",[ \t]*$", before)
    if comma_before:
        return line_start + comma_before.start(), end
    if re.search(r"\[[ \t]*$", before):
        comma_after = re.match(r"[ \t]*,[ \t]*", after)
        if comma_after:
            return start, end + comma_after.end()
        if re.match(r"[ \t]*\]", after):
            return start, end
    return None


def _own_comments_start(index: LineIndex, line: int, before: str, yaml: bool) -> int:
    """Where a removed element's own comment starts: the full-line comments directly above its line
    (no blank line between), like "# ruleid: OT102" or an ignore for that line, which would otherwise
    be left above nothing or above the next element. They are kept when the next line is another
    element of the list, because then they may head a group ("# security services"). The start of
    the element's line when there is no such comment."""
    start = index.starts[line - 1]
    following = index.line(line + 1) if line < index.count else ""
    if yaml:
        indent = re.match(r"[ \t]*", before)
        another = re.match(rf"{indent.group() if indent else ''}-(?:[ \t\r\n]|$)", following)
    else:
        another = re.match(r"[ \t]*[^ \t\r\n#/\])]", following)
    if another:
        return start
    comment_line = re.compile(r"[ \t]*#.*\n?" if yaml else r"[ \t]*(?:#|//).*\n?")
    first = line
    while first > 1 and comment_line.fullmatch(index.line(first - 1)):
        first -= 1
    return index.starts[first - 1]


def _edit_for(
    finding: Finding,
    text: str,
    index: LineIndex,
    occurrences: dict[tuple[int, int, int, int], list[tuple[_Node, _Node | None]]],
    yaml: bool,
    path: str,
    uses: _Uses,
) -> Edit | str:
    """The edit a finding asks for, or why it is not made."""
    where = finding.location
    span = _literal_span(text, index, finding)
    if span is None:
        return f"{where}: {finding.rule} not fixed: the text there is not the literal '{finding.principal}'"
    places = occurrences.get(_where(where), [])
    literals = [(n, parent) for n, parent in places if n.kind == "str" and n.value == finding.principal]
    # Several nodes in one place: a YAML alias (the same literal, so all of it changes), or the
    # parts of an expression in a Terraform JSON string (where the literal must be the only one).
    start, end, embedded = span
    alone = len(literals) == 1 if embedded else len(literals) == len(places)
    if not literals or not alone:
        return f"{where}: {finding.rule} not fixed: the parser finds no plain string literal there"
    if finding.rule != "OT102":
        return Edit(start, end, finding.suggestion or "", finding)
    if path.endswith(_NO_REMOVAL):
        return f"{where}: OT102 not fixed: elements are not removed from JSON files"
    shared = _shared(finding, uses)
    if shared:
        return (
            f"{where}: OT102 not fixed: '{finding.principal}' is written in {shared}: "
            "removing it there could change more than this list; remove it by hand if that is right"
        )
    if len(places) > 1:
        return f"{where}: OT102 not fixed: the same literal is also used elsewhere (a YAML alias)"
    if embedded or places[0][1] is None or places[0][1].kind != "seq":
        return f"{where}: OT102 not fixed: '{finding.principal}' there is not an element of a list"
    removal = _removal(text, index, finding, yaml)
    if removal is None:
        return f"{where}: OT102 not fixed: the element's surroundings are not a plain list"
    return Edit(removal[0], removal[1], "", finding, removes=True)


_REFERENCE = re.compile(r"(?:var|local)\.[A-Za-z_][A-Za-z0-9_-]*")


class _Uses:
    """How often a module refers to a variable or local, counted in its files' text.

    A repeated element written in ``local.x`` or in a variable's value is removed only when the
    literal reaches the finding through references that each occur once in their module: a
    second use (another resource's for_each, an output, a module argument) would lose the
    element too. A mention in a comment counts as a use, which errs on the side of leaving it."""

    def __init__(self) -> None:
        self._texts: dict[str, str] = {}
        self._counts: dict[tuple[str, str], int] = {}
        self._indexes: dict[str, LineIndex | None] = {}

    def _module_text(self, directory: str) -> str:
        if directory not in self._texts:
            texts = []
            try:
                names = sorted(os.listdir(directory))
            except OSError:
                names = []
            for name in names:
                if name.endswith((".tf", ".tf.json")):
                    try:
                        texts.append(read_file(os.path.join(directory, name)).decode("utf-8", errors="replace"))
                    except (OSError, SkipFile):
                        texts.append("\0unreadable")  # unknown uses: counted as one more
            self._texts[directory] = "\n".join(texts)
        return self._texts[directory]

    def _index(self, path: str) -> LineIndex | None:
        if path not in self._indexes:
            try:
                text = read_file(path).decode("utf-8").removeprefix("\ufeff")
                self._indexes[path] = LineIndex.of(text)
            except (OSError, SkipFile, UnicodeDecodeError):
                self._indexes[path] = None
        return self._indexes[path]

    def reference_at(self, use: Location) -> str | None:
        """The ``var.x`` or ``local.x`` written at a use site, or None for anything else."""
        index = self._index(use.path)
        if index is None:
            return None
        text = index.text
        start, end = index.offset(use.line, use.column), index.offset(use.end_line, use.end_column)
        written = text[start:end] if start is not None and end is not None else ""
        return written if _REFERENCE.fullmatch(written) else None

    def count(self, directory: str, reference: str) -> int:
        key = (directory, reference)
        if key not in self._counts:
            pattern = re.compile(rf"(?<![\w.-]){re.escape(reference)}(?![\w-])")
            text = self._module_text(directory)
            self._counts[key] = len(pattern.findall(text)) + text.count("\0unreadable")
        return self._counts[key]


def _shared(finding: Finding, uses: _Uses) -> str | None:
    """What makes the finding's literal possibly shared (words for a message), or None."""
    for use in finding.also_at:
        reference = uses.reference_at(use)
        if reference is None:
            return f"a value reached through {use}"
        directory = os.path.dirname(use.path) or "."
        if uses.count(directory, reference) != 1:
            return f"{reference}, which is used more than once in {directory}"
    return None


def _apply(text: str, edits: list[Edit]) -> str:
    """The text with non-overlapping ``edits`` (sorted by start) applied, built in one pass."""
    pieces, cursor = [], 0
    for edit in edits:
        pieces.append(text[cursor : edit.start])
        pieces.append(edit.replacement)
        cursor = edit.end
    pieces.append(text[cursor:])
    return "".join(pieces)


def _line_breaks(path: str, text: str) -> re.Pattern[str]:
    if path.endswith(_TERRAFORM):
        return TERRAFORM_BREAKS
    from orgtrust_lint.parse.cloudformation import template_line_breaks

    return template_line_breaks(text)


# ---- which files may be written ------------------------------------------------------------


def _is_given(path: str, given: Sequence[str]) -> bool:
    """Whether ``path`` is one of the paths given on the command line or under one of them."""
    absolute = os.path.abspath(path)
    for root in given or ["."]:
        root = os.path.abspath(root)
        if absolute == root or absolute.startswith(os.path.join(root, "")):
            return True
    return False


def unwritable(path: str, status: os.stat_result) -> str | None:
    """Why a file is not rewritten, as words that follow its name; None when it may be."""
    if stat.S_ISLNK(status.st_mode):
        return "is a symbolic link (fix the file it points to)"
    if not stat.S_ISREG(status.st_mode):
        return "is not a regular file"
    if status.st_nlink > 1:
        return f"has {status.st_nlink} hard links, which a rewrite would split"
    if not status.st_mode & 0o222 or not os.access(path, os.W_OK):
        return "is read-only"
    geteuid = getattr(os, "geteuid", None)
    if geteuid is not None and geteuid() not in (0, status.st_uid):
        return "belongs to another user"
    return None


# ---- planning -------------------------------------------------------------------------------


def _plan_file(path: str, findings: list[Finding], digest: str, notes: list[str], uses: _Uses) -> FileFix | None:
    try:
        reason = unwritable(path, os.lstat(path))
        if reason:
            notes.append(f"{path} {reason}; left alone")
            return None
        data = read_file(path)
    except (OSError, SkipFile) as exc:
        notes.append(f"{path} cannot be read again ({getattr(exc, 'strerror', None) or exc}); left alone")
        return None
    if content_digest(data) != digest:
        notes.append(f"{path} changed since it was linted; left alone")
        return None
    bom = data.startswith(UTF8_BOM)
    try:
        text = data[len(UTF8_BOM) if bom else 0 :].decode("utf-8")
    except UnicodeDecodeError:  # the digest matched, so only a bug of ours could lead here
        notes.append(f"{path} is not UTF-8 text; left alone")
        return None
    tree = _parse_tree(path, text)
    if isinstance(tree, str):
        notes.append(f"{path} does not parse ({tree}); left alone")
        return None
    yaml = not path.endswith(_TERRAFORM)
    index = LineIndex.of(text, _line_breaks(path, text))
    occurrences = _occurrences(tree)
    edits: list[Edit] = []
    for finding in findings:
        edit = _edit_for(finding, text, index, occurrences, yaml, path, uses)
        if isinstance(edit, str):
            notes.append(edit)
        else:
            edits.append(edit)
    edits.sort(key=lambda e: (e.start, e.end))
    chosen: list[Edit] = []
    for edit in edits:  # overlapping edits (a duplicate that is also a typo): keep the first
        if chosen and edit.start < chosen[-1].end:
            continue
        chosen.append(edit)
    if not chosen:
        return None
    fixed = _apply(text, chosen)
    fixed_tree = _parse_tree(path, fixed)
    if isinstance(fixed_tree, str):
        notes.append(f"{path}: the fix would leave it unparseable ({fixed_tree}); left unchanged")
        return None
    replaced = {_where(e.finding.location): (e.finding.principal or "", e.replacement) for e in chosen if not e.removes}
    removed = {_where(e.finding.location) for e in chosen if e.removes}
    try:
        intended = _plain(tree, replaced, removed) == _plain(fixed_tree, {}, set())
    except RecursionError:
        intended = False
    if not intended:
        notes.append(f"{path}: the fix would change more than the literals it names; left unchanged")
        return None
    return FileFix(path, text, fixed, [e.finding for e in chosen], data, bom)


def _guessed(finding: Finding, catalog: Catalog) -> bool:
    """Whether an OT101/OT103 suggestion is the catalog's guess (Catalog.suggestion_is_a_guess),
    which a finding may offer but a fix must not write. OT103's own normal form (a bare name with
    its domain, lower case) is certain; a suggestion for that normal form is judged like OT101's."""
    from orgtrust_lint.predicates import normalise

    value = finding.principal or ""
    if finding.rule == "OT103":
        normal = normalise(value)
        value = normal[0] if normal else value
        if value == finding.suggestion:
            return False
    return catalog.suggestion_is_a_guess(value)


def plan_fixes(result: CheckResult, given: Sequence[str] = ()) -> FixPlan:
    """The fixes for a run's findings: computed from each file as read again now, and made only
    where the file still holds what was linted (``result.digests``) and every check above holds."""
    plan = FixPlan()
    by_path: dict[str, list[Finding]] = defaultdict(list)
    for finding in result.findings:
        wanted = finding.rule == "OT102" or finding.suggestion
        if finding.rule in FIXABLE and finding.principal and wanted:
            by_path[finding.location.path].append(finding)
    linted = set(result.files)
    uses = _Uses()
    catalog: Catalog | None = None
    for path, findings in sorted(by_path.items()):
        digest = result.digests.get(path)
        if digest is None or path not in linted or not _is_given(path, given):
            plan.notes.append(
                f"{path} is not one of the Terraform or CloudFormation files linted from the paths given "
                "(a plan is fixed in its configuration); left alone"
            )
            continue
        notes: list[str] = []
        if any(f.rule != "OT102" for f in findings):
            catalog = catalog or Catalog.load()
        certain = []
        for finding in findings:
            if finding.rule != "OT102" and catalog is not None and _guessed(finding, catalog):
                notes.append(
                    f"{finding.location}: {finding.rule} not fixed: '{finding.suggestion}' is a guess, not a typo's "
                    "certain correction; change it by hand if it is right"
                )
            else:
                certain.append(finding)
        try:
            fix = _plan_file(path, certain, digest, notes, uses) if certain else None
        except Exception as exc:  # a bug of ours: this file is not fixed, the others still are
            message = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
            notes.append(f"{path} could not be fixed (internal error: {message}; please report this); left alone")
            fix = None
        if len(notes) > _NOTES_PER_FILE:  # 20,000 repeats in one shared local need not be 20,000 lines
            notes[_NOTES_PER_FILE:] = [f"{path}: {len(notes) - _NOTES_PER_FILE} more finding(s) not fixed"]
        plan.notes.extend(notes)
        if fix is not None:
            plan.fixes.append(fix)
    return plan


# ---- writing --------------------------------------------------------------------------------


def _read_all(descriptor: int) -> bytes:
    chunks = []
    while chunk := os.read(descriptor, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def _lock(descriptor: int) -> None:
    """Take the file's exclusive lock. Another --fix run on the same file waits here (and then
    finds the file replaced); a program that keeps the lock longer makes us leave the file alone
    rather than wait forever."""
    if sys.platform == "win32":  # pragma: no cover - no fcntl there
        return
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise FixSkipped("is locked by another program") from None
            time.sleep(0.02)


def write_fix(fix: FileFix) -> bool:
    """Write atomically; False (and nothing written) when the file changed since it was planned.
    FixSkipped when it may not be rewritten; OSError when writing fails (the file is then whole)."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        descriptor = os.open(fix.path, flags)
    except FileNotFoundError:
        return False
    except OSError as exc:
        if os.path.islink(fix.path):
            raise FixSkipped("is a symbolic link (fix the file it points to)") from None
        raise exc
    try:
        _lock(descriptor)
        status = os.fstat(descriptor)
        try:
            now = os.lstat(fix.path)
        except FileNotFoundError:
            return False
        if (now.st_dev, now.st_ino) != (status.st_dev, status.st_ino):
            return False  # replaced (by an editor, or another run) since it was opened
        reason = unwritable(fix.path, status)
        if reason:
            raise FixSkipped(reason)
        if _read_all(descriptor) != fix.data:
            return False
        content = (UTF8_BOM if fix.bom else b"") + fix.fixed.encode("utf-8")
        _replace(fix.path, content, status)
        return True
    finally:
        os.close(descriptor)  # releases the lock


def _replace(path: str, content: bytes, status: os.stat_result) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    descriptor, temporary = tempfile.mkstemp(prefix=".orgtrust-lint-", dir=directory)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
            if hasattr(os, "fchown"):
                written = os.fstat(handle.fileno())
                if (written.st_uid, written.st_gid) != (status.st_uid, status.st_gid):
                    try:
                        os.fchown(handle.fileno(), status.st_uid, status.st_gid)
                    except PermissionError:
                        raise FixSkipped("would change its owner or group") from None
        # The permission bits, without setuid/setgid: a rewritten file never gains a privilege.
        os.chmod(temporary, stat.S_IMODE(status.st_mode) & ~(stat.S_ISUID | stat.S_ISGID))
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
