"""Apply inline suppressions (already located by the parsers) to findings."""

from __future__ import annotations

from collections import defaultdict

from orgtrust_lint.facts import INTERNAL_ERROR_RULE, Finding, Location, Suppression


def _covers(suppression: Suppression, rule: str, location: Location) -> bool:
    if not suppression.first_line <= location.line <= suppression.last_line:
        return False
    return not suppression.codes or rule in suppression.codes


def apply_suppressions(
    findings: list[Finding], suppressions: list[Suppression]
) -> tuple[list[Finding], list[tuple[Finding, Suppression]]]:
    """Split findings into (reported, suppressed with the directive that silenced them).

    A finding is silenced by a directive at its own location or at any place it was reached
    through (the use of a variable whose default holds the bad literal, say).
    """
    by_path: dict[str, list[Suppression]] = defaultdict(list)
    for suppression in suppressions:
        by_path[suppression.path].append(suppression)
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
        else:
            suppressed.append((finding, match))
    return reported, suppressed
