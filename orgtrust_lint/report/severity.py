"""How orgtrust-lint's severities read on code hosts: GitHub code scanning's security severity and
GitLab Code Quality's severity (README.md, "CI and code scanning", has the table).

GitHub shows a rule tagged ``security`` as Critical (9.0 and above), High (7.0-8.9), Medium (4.0-6.9)
or Low (below 4.0) from the rule's ``security-severity``; GitLab knows info, minor, major, critical and
blocker. Both rest on the same judgement: an error is high, a warning medium, an info low, and an
error whose finding widens who may enable trusted access, or leaves a security service relying on
trusted access that is (or is about to be) off, is the highest we give. Nothing is critical: each
finding is a misconfiguration to fix, not a compromise in progress.
"""

from __future__ import annotations

# Errors that change who can switch trusted access on, or that leave a relied-on service without it:
# OT201/OT203 (an Allow on EnableAWSServiceAccess and friends that any principal may use), OT301 (an
# integration whose trusted access is off), OT302 (a change that disables it under the integration),
# OT401 (enabled outside the code: the next apply may disable it, or nobody reviewed it).
HIGH_IMPACT_RULES = frozenset({"OT201", "OT203", "OT301", "OT302", "OT401"})

_SECURITY_SEVERITY = {"error": "7.0", "warning": "5.0", "info": "2.0"}
_HIGH_IMPACT_SECURITY_SEVERITY = "8.0"
_GITLAB = {"error": "major", "warning": "minor", "info": "info"}


def is_security_rule(rule_id: str) -> bool:
    """Rules about the organization's security; OT0xx are about the run itself (a file that could
    not be parsed, an internal error, an inline ignore out of date), not about the code's security."""
    return not rule_id.startswith("OT0")


def security_severity(rule_id: str, severity: str) -> str | None:
    """GitHub's ``properties.security-severity`` for a rule at its default severity, or None for the
    rules that are not about security (code scanning shows those as Error, Warning or Note)."""
    if not is_security_rule(rule_id):
        return None
    if severity == "error" and rule_id in HIGH_IMPACT_RULES:
        return _HIGH_IMPACT_SECURITY_SEVERITY
    return _SECURITY_SEVERITY[severity]


def gitlab_severity(rule_id: str, severity: str) -> str:
    """GitLab Code Quality's severity for one finding at the severity it was reported with."""
    if severity == "error" and rule_id in HIGH_IMPACT_RULES:
        return "critical"
    return _GITLAB[severity]
