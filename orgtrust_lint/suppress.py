"""Apply inline suppressions (already located by the parsers) to findings, and govern them.

Governance, for teams whose platform owners want ignores to stay honest:
- ``until=YYYY-MM-DD`` makes an ignore expire: after that day it silences nothing and is reported;
- an ignore that silences nothing is reported (like ruff's unused-noqa), and so is each code of
  an ignore that silences nothing on its lines while the others do, and a code that is no rule;
- an ignore without codes silences every rule on its lines (like a bare ``# noqa``);
- rules listed as ``unignorable`` in the configuration cannot be silenced; attempts are reported;
- with ``require-reason`` (or ``--require-reason``) an ignore without a reason silences nothing.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from orgtrust_lint.facts import INTERNAL_ERROR_RULE, Finding, Location, Suppression, SuppressionProblem


@dataclass
class Governance:
    """What the configuration says about ignores (see config.Config)."""

    unignorable: Callable[[str], tuple[str, ...]] = lambda path: ()  # per file
    require_reason: bool = False
    today: datetime.date = field(default_factory=datetime.date.today)
    # Files whose ignores may be reported as unused: those whose findings were all evaluated.
    reported_paths: set[str] | None = None


def _covers(suppression: Suppression, rule: str, location: Location) -> bool:
    if not suppression.first_line <= location.line <= suppression.last_line:
        return False
    return not suppression.codes or rule in suppression.codes


def _codes(suppression: Suppression) -> str:
    return ", ".join(sorted(suppression.codes)) or "every rule"


def _code_problems(
    suppression: Suppression, used: set[str], known_codes: frozenset[str] | None
) -> list[SuppressionProblem]:
    """OT005s for an ignore that was applied: its codes that are no rule, and those that silence
    nothing (the whole ignore when none of its codes does)."""
    if not suppression.codes:
        return [] if used else [_unused(suppression, _codes(suppression), "; remove it")]
    unknown = sorted(suppression.codes - known_codes) if known_codes is not None else []
    problems = [
        _unused(suppression, code, f": no rule is {code} (see orgtrust-lint rules); remove it") for code in unknown
    ]
    idle = sorted(suppression.codes - used - set(unknown))
    if idle and not used:
        problems.append(_unused(suppression, ", ".join(idle), "; remove it"))
    elif idle:
        doing = ", ".join(sorted(used))
        also = "does" if len(used) == 1 else "do"
        problems.append(
            _unused(
                suppression, ", ".join(idle), f" ({doing} in the same ignore {also}); remove {', '.join(idle)} from it"
            )
        )
    return problems


def _unused(suppression: Suppression, codes: str, detail: str) -> SuppressionProblem:
    return SuppressionProblem("unused", suppression.path, codes, detail, suppression.directive)


def _usable(suppression: Suppression, governance: Governance, problems: list[SuppressionProblem]) -> bool:
    """Whether the ignore may silence anything; if not, why is added to ``problems``."""
    if suppression.until is not None:
        try:
            until = datetime.date.fromisoformat(suppression.until)
        except ValueError:
            problems.append(
                SuppressionProblem(
                    "bad-date",
                    suppression.path,
                    _codes(suppression),
                    f"has until={suppression.until}, which is not a date (YYYY-MM-DD)",
                    suppression.directive,
                )
            )
            return False
        if governance.today > until:
            problems.append(
                SuppressionProblem(
                    "expired", suppression.path, _codes(suppression), f"expired on {until}", suppression.directive
                )
            )
            return False
    if governance.require_reason and not suppression.reason:
        problems.append(
            SuppressionProblem("no-reason", suppression.path, _codes(suppression), "", suppression.directive)
        )
        return False
    return True


def apply_suppressions(
    findings: list[Finding],
    suppressions: list[Suppression],
    governance: Governance | None = None,
    known_codes: frozenset[str] | None = None,
) -> tuple[list[Finding], list[tuple[Finding, Suppression]], list[SuppressionProblem]]:
    """Split findings into (reported, suppressed with the directive that silenced them, problems
    with the ignores themselves). ``known_codes``, the ids of every rule, lets an ignore of a
    code that is no rule be reported.

    A finding is silenced by a directive at its own location or at any place it was reached
    through (the use of a variable whose default holds the bad literal, say).
    """
    governance = governance or Governance()
    problems: list[SuppressionProblem] = []
    usable = [s for s in suppressions if _usable(s, governance, problems)]
    by_path: dict[str, list[Suppression]] = defaultdict(list)
    for suppression in usable:
        by_path[suppression.path].append(suppression)
    used: dict[int, set[str]] = defaultdict(set)  # id of an ignore -> the rules it matched
    refused: set[tuple[int, str]] = set()
    reported: list[Finding] = []
    suppressed: list[tuple[Finding, Suppression]] = []
    for finding in findings:
        if finding.rule == INTERNAL_ERROR_RULE:
            reported.append(finding)  # a failure of ours is never silenced
            continue
        match = next(
            (
                s
                for location in (finding.location, *finding.also_at)
                for s in by_path.get(location.path, ())
                if _covers(s, finding.rule, location)
            ),
            None,
        )
        if match is None:
            reported.append(finding)
            continue
        used[id(match)].add(finding.rule)
        if any(finding.rule.startswith(code) for code in governance.unignorable(finding.location.path)):
            reported.append(finding)
            if (id(match), finding.rule) not in refused:
                refused.add((id(match), finding.rule))
                problems.append(
                    SuppressionProblem("not-allowed", match.path, _codes(match), finding.rule, match.directive)
                )
            continue
        suppressed.append((finding, match))
    for suppression in usable:
        if governance.reported_paths is not None and suppression.path not in governance.reported_paths:
            continue
        problems.extend(_code_problems(suppression, used.get(id(suppression), set()), known_codes))
    return reported, suppressed, problems
