"""``orgtrust-lint test-rules PATH...``: rules tested against annotated fixtures, semgrep style.

A comment ``# ruleid: ACME101`` says the next line of code must carry that finding, ``# ok: ACME101``
that it must not; at the end of a line of code it speaks for that line. ``todoruleid:`` marks a
finding the rule should report but does not yet (a known false negative: the test fails once it is
reported, so that the annotation becomes ``ruleid:``), ``todook:`` one it reports but should not (a
known false positive). Terraform JSON and heredoc bodies cannot hold comments: ``FILE.expected``
lists ``LINE RULE`` pairs for them.

The rule files under the paths (ACME101.yaml: capital letters and digits) are the rules under test,
and only their findings are compared (and those of any rule an annotation names); without rule files,
every rule is. A directory of OT rule files is taken as a copy of orgtrust-lint's own rules (its
files replace the installed ones). Every other file is a fixture: each directory of fixtures is linted
on its own, with the configuration found for it. An annotation naming a rule that does not exist is
an error, as is one with no line of code after it.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from orgtrust_lint.config import CONFIG_FILENAMES, RULE_FILE, ConfigResolver, load_config
from orgtrust_lint.errors import UserError
from orgtrust_lint.facts import Finding

ANNOTATION = re.compile(r"(?:#|//)\s*(todoruleid|todook|ruleid|ok):\s*([A-Z]{2,}[0-9]+(?:\s*,\s*[A-Z]{2,}[0-9]+)*)")


class RuleTestError(UserError):
    """The tests cannot run: a broken annotation, no fixture at all."""


@dataclass(frozen=True)
class Annotation:
    kind: str  # ruleid, ok, todoruleid or todook
    rule: str
    line: int  # the line of code it speaks for
    written_at: int  # the line the annotation is on (of the .expected file for its entries)


def read_annotations(path: Path, shown: str | None = None) -> list[Annotation]:
    """The annotations of one fixture file (and of its ``.expected`` file)."""
    shown = shown or str(path)
    found = []
    sidecar = path.with_name(path.name + ".expected")
    if sidecar.exists():  # for lines that cannot carry a comment (JSON, heredoc bodies)
        for number, text in enumerate(sidecar.read_text(encoding="utf-8").splitlines(), start=1):
            if text.strip() and not text.startswith("#"):
                parts = text.split()
                if len(parts) != 2 or not parts[0].isdigit():
                    raise RuleTestError(f"{shown}.expected:{number}: expected 'LINE RULE', e.g. '12 OT101'")
                found.append(Annotation("ruleid", parts[1], int(parts[0]), number))
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        return found
    for index, text in enumerate(lines):
        for match in ANNOTATION.finditer(text):
            if text[: match.start()].strip():
                target = index + 1  # after code (or another comment, such as an ignore): that line
            else:
                following = (
                    n + 1
                    for n in range(index + 1, len(lines))
                    if lines[n].strip() and not lines[n].strip().startswith(("#", "//"))
                )
                target = next(following, 0)
                if not target:
                    raise RuleTestError(f"{shown}:{index + 1}: {match.group(1)}: has no line of code after it")
            for rule in match.group(2).split(","):
                found.append(Annotation(match.group(1), rule.strip(), target, index + 1))
    return found


@dataclass
class Outcome:
    """What test-rules found: one line per failure (``path:line: what``), and what was tested."""

    failures: list[str] = field(default_factory=list)
    rules: int = 0
    files: int = 0
    annotations: int = 0


def _is_fixture(path: Path) -> bool:
    name = path.name
    return not (
        name.startswith(".")
        or name.endswith(".expected")
        or name in CONFIG_FILENAMES
        or RULE_FILE.fullmatch(name) is not None
    )


def _walk(paths: list[str]) -> tuple[list[Path], list[Path]]:
    """(rule files, fixture files) under ``paths``."""
    rule_files: list[Path] = []
    fixtures: list[Path] = []
    for given in paths:
        top = Path(given)
        if not top.is_dir():
            raise RuleTestError(f"{given}: not a directory")
        for directory, subdirectories, names in os.walk(top):
            subdirectories[:] = sorted(d for d in subdirectories if not d.startswith("."))
            for name in sorted(names):
                path = Path(directory) / name
                if RULE_FILE.fullmatch(name):
                    rule_files.append(path)
                elif _is_fixture(path):
                    fixtures.append(path)
    return rule_files, fixtures


def run_rule_tests(paths: list[str]) -> Outcome:
    """Lint every fixture directory under ``paths`` with the rules under test; compare with the annotations."""
    from orgtrust_lint.engine import load_rules, load_user_rules, rule_ids, rules_with
    from orgtrust_lint.lint import check

    rule_files, fixtures = _walk(paths)
    if not fixtures:
        raise RuleTestError(f"no fixtures under {' '.join(paths)}: write annotated files beside the rules")
    directories = sorted({os.path.realpath(p.parent) for p in rule_files})
    own = [
        d for d in directories if all(p.name.startswith("OT") for p in rule_files if os.path.realpath(p.parent) == d)
    ]
    user = [d for d in directories if d not in own]
    replaced = {rule.id: rule for d in own for rule in load_rules(Path(d))}
    by_directory = {p.parent: load_config([str(p.parent)], rule_ids=rule_ids()) for p in fixtures}
    configured = [d for resolver in by_directory.values() for d in resolver.flat().rules_dirs]
    rules = [replaced.get(rule.id, rule) for rule in rules_with([*configured, *user])]
    known = {rule.id for rule in rules}
    under_test = {p.name.rsplit(".", 1)[0] for p in rule_files} or set(known)
    load_user_rules(user)  # each file of one's own checked, whatever the configurations say

    written: dict[Path, list[Annotation]] = {}
    for path in fixtures:
        shown = _shown(path)
        written[path] = read_annotations(path, shown)
        for annotation in written[path]:
            if annotation.rule not in known:
                raise RuleTestError(f"{shown}:{annotation.written_at}: {annotation.kind}: no rule is {annotation.rule}")
    compared = under_test | {a.rule for notes in written.values() for a in notes if a.kind in ("ruleid", "todoruleid")}
    outcome = Outcome(rules=len(compared), files=len(fixtures), annotations=sum(len(n) for n in written.values()))
    for directory, resolver in sorted(by_directory.items()):
        # A rule under test applies to the fixtures below its own directory, and to those whose
        # configuration names it (a rules-dir).
        below = [d for d in user if _inside(os.path.realpath(directory), d)]
        own_dirs = resolver.for_directory(str(directory)).rules_dirs
        # Fixtures are linted even where the configuration excludes them (a project's `check .` should
        # not report its rules' test fixtures: `exclude: [policy/**]`).
        adjusted: ConfigResolver = resolver.override(rules_dirs=tuple(dict.fromkeys([*own_dirs, *below])), exclude=())
        result = check([str(directory)], adjusted, rules=rules)
        files = [p for p in fixtures if p.parent == directory]
        outcome.failures.extend(_compare(result.findings, files, written, compared))
    return outcome


def _inside(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip(os.sep) + os.sep)


def _shown(path: Path) -> str:
    relative = os.path.relpath(path)
    return str(path) if relative.startswith("..") else relative


def _compare(
    findings: list[Finding], files: list[Path], written: dict[Path, list[Annotation]], compared: set[str]
) -> list[str]:
    shown = {os.path.realpath(p): _shown(p) for p in files}
    found: Counter[tuple[str, int, str]] = Counter()
    messages: dict[tuple[str, int, str], str] = {}
    for finding in findings:
        where = shown.get(os.path.realpath(finding.location.path))
        if where is not None and finding.rule in compared:
            key = (where, finding.location.line, finding.rule)
            found[key] += 1
            messages.setdefault(key, finding.message)
    expected: Counter[tuple[str, int, str]] = Counter()
    failures = []
    for path in files:
        for note in written[path]:
            key = (shown[os.path.realpath(path)], note.line, note.rule)
            where = f"{key[0]}:{note.line}"
            if note.kind == "ruleid":
                expected[key] += 1
            elif note.kind == "ok" and found[key]:
                said = f"line {note.written_at} says ok"
                failures.append(f"{where}: {note.rule} reported, but {said}: {messages[key]}")
                expected[key] += found[key]  # one failure, not a second one for being unannotated
            elif note.kind == "todoruleid" and found[key]:
                failures.append(
                    f"{where}: {note.rule} is now reported: make todoruleid on line {note.written_at} ruleid"
                )
                expected[key] += found[key]
            elif note.kind == "todook":
                if not found[key]:
                    failures.append(
                        f"{where}: {note.rule} is no longer reported: make todook on line {note.written_at} ok"
                    )
                expected[key] += found[key]  # a known false positive: reported, and expected to be
    for key, count in sorted(expected.items()):
        if found[key] < count:
            failures.append(f"{key[0]}:{key[1]}: {key[2]} expected (ruleid), but not reported")
    for key, count in sorted(found.items()):
        if count > expected[key]:
            failures.append(f"{key[0]}:{key[1]}: {key[2]} reported, but not annotated: {messages[key]}")
    return sorted(failures, key=_by_place)


def _by_place(failure: str) -> tuple[str, int, str]:
    path, line, rest = failure.split(":", 2)
    return path, int(line) if line.isdigit() else 0, rest
