"""Every fixture says what it expects; this test walks them all.

Like semgrep's rule tests (and ``orgtrust-lint test-rules``, whose annotation reader this uses): a
comment ``# ruleid: OT101`` says the next line of code must carry that finding, ``# ok: OT101`` that
it must not; a comment at the end of a line speaks for that line. Terraform JSON and heredoc bodies
cannot hold comments, so ``FILE.expected`` lists ``LINE RULE`` pairs for them.
Every finding in a fixture must be expected: an unannotated finding fails the test too.
Each fixture directory is linted on its own, with the configuration found for it.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from orgtrust_lint.config import load_config
from orgtrust_lint.engine import rule_ids
from orgtrust_lint.lint import check
from orgtrust_lint.rule_tests import read_annotations

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _annotations(path: Path) -> tuple[Counter, set[tuple[int, str]]]:
    """What test-rules reads: the ruleid lines (and .expected entries), and the ok lines."""
    expected: Counter = Counter()
    ok: set[tuple[int, str]] = set()
    for note in read_annotations(path):
        if note.kind == "ruleid":
            expected[(note.line, note.rule)] += 1
        elif note.kind == "ok":
            ok.add((note.line, note.rule))
    return expected, ok


def _fixture_directories() -> list[Path]:
    files = [p for p in FIXTURES.rglob("*") if p.is_file() and p.suffix in (".tf", ".tfvars", ".json", ".hcl")]
    # A registry module `terraform init` put in .terraform is read for its caller's context, never linted alone.
    return sorted({p.parent for p in files if ".terraform" not in p.parts})


@pytest.mark.parametrize("directory", _fixture_directories(), ids=lambda d: str(d.relative_to(FIXTURES)))
def test_fixture_findings_match_annotations(directory: Path, in_repo_root: None) -> None:
    relative = directory.relative_to(FIXTURES.parent)
    config = load_config([str(relative)], rule_ids=rule_ids())
    files = sorted(p for p in directory.iterdir() if p.is_file() and not p.name.startswith("."))
    result = check([str(relative)], config)
    found = Counter((f.location.path, f.location.line, f.rule) for f in result.findings)
    expected: Counter = Counter()
    forbidden: set[tuple[str, int, str]] = set()
    for path in files:
        if path.suffix == ".expected":
            continue
        display = str(path.relative_to(FIXTURES.parent))
        wanted, ok = _annotations(path)
        for (line, rule), count in wanted.items():
            expected[(display, line, rule)] += count
        forbidden.update((display, line, rule) for line, rule in ok)
    in_directory = Counter({k: v for k, v in found.items() if Path(k[0]).parent == relative})
    missing = {k: v for k, v in expected.items() if in_directory[k] < v}
    unexpected = {k: v for k, v in in_directory.items() if expected[k] < v}
    fired_ok = sorted(k for k in forbidden if in_directory[k])
    messages = {(f.location.path, f.location.line, f.rule): f.message for f in result.findings}
    assert not missing, f"expected findings not reported: {sorted(missing)}"
    assert not unexpected, "unannotated findings: " + "; ".join(f"{k}: {messages[k]}" for k in sorted(unexpected))
    assert not fired_ok, f"'ok:' lines that fired: {fired_ok}"


def test_every_rule_has_a_true_positive_and_a_near_miss_in_the_fixtures() -> None:
    positives: set[str] = set()
    near_misses: set[str] = set()
    for path in FIXTURES.rglob("*"):
        if not path.is_file() or path.name.startswith(".") or path.suffix == ".expected":
            continue
        for note in read_annotations(path):
            (positives if note.kind == "ruleid" else near_misses).add(note.rule)
    from orgtrust_lint.engine import load_rules

    # Rules about a change (git base or plan) or the live organization need two states:
    # tests/test_change.py, tests/test_plan.py and tests/test_drift.py cover them. An internal
    # error needs a bug of ours: tests/test_internal_errors.py plants one.
    rule_ids = {rule.id for rule in load_rules() if not {"change", "live", "internal"} & set(rule.tags)}
    assert rule_ids - positives == set(), "rules without a true positive fixture"
    # A parse error and an unresolvable value have no meaningful "near miss" in a fixture
    # (a file that parses and a literal that resolves are every other fixture).
    assert rule_ids - near_misses - {"OT001", "OT002"} == set(), "rules without a near-miss fixture"
