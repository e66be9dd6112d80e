"""orgtrust-lint's checks as cfn-lint rules: ``cfn-lint --append-rules orgtrust_lint.cfnlint_plugin``.

One implementation serves both entry points: each cfn-lint rule below runs orgtrust-lint's
engine on the template cfn-lint already decoded and reports the findings of one orgtrust-lint
rule at one severity. Ids sit in cfn-lint's custom-rule range (x9xxx), and cfn-lint reads a
match's level from its rule id's first letter, so a rule that orgtrust-lint reports at several
severities has one id per severity: OT201 is E9201, OT204 W9204, OT105 I9105 and, where enabling
from Organizations breaks the service (a warning), W9105. A rule that is off by default in
orgtrust-lint (OT105) is an experimental rule to cfn-lint: it runs with --include-experimental.
The rules of one's own (the rules-dir of the configuration for the working directory) run too,
under the same letter, 9 and their own code: ACME101 is E9ACME101.
"""

from __future__ import annotations

import weakref
from typing import Any

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from orgtrust_lint.config import Config
from orgtrust_lint.engine import Rule
from orgtrust_lint.fact_kinds import FACT_KINDS
from orgtrust_lint.facts import Finding, Location, Severity
from orgtrust_lint.lint import check_facts
from orgtrust_lint.parse.cloudformation import facts_from_template

# Rules that can fire on a CloudFormation template (OT001 is cfn-lint's own E0000).
CLOUDFORMATION_RULES = ("OT002", "OT101", "OT102", "OT103", "OT105", "OT201", "OT202", "OT203", "OT204", "OT301")
_LETTER = {Severity.ERROR: "E", Severity.WARNING: "W", Severity.INFO: "I"}
# What cfn-lint calls a template read from stdin (cfnlint.decode); it keeps no file name for it.
STDIN_NAME = "-"
# A template's findings, computed by whichever of our rules runs first on it. Keyed by cfn-lint's
# Template object itself and dropped with it, so a later template can never get its findings
# (an id() can be reused once the object is gone).
_findings_by_template: weakref.WeakKeyDictionary[Any, list[Finding]] = weakref.WeakKeyDictionary()


def cfn_lint_id(rule: Rule, severity: Severity | None = None) -> str:
    code = rule.id[2:] if rule.origin is None else rule.id
    return f"{_LETTER[severity or rule.severity]}9{code}"


def _configured() -> tuple[list[Rule], tuple[str, ...]]:
    """The shipped rules and those of the rules-dir of the configuration for the working directory
    (cfn-lint runs from the repository), and those directories."""
    import sys

    from orgtrust_lint.config import load_config
    from orgtrust_lint.engine import rule_ids, rules_with
    from orgtrust_lint.errors import UserError
    from orgtrust_lint.report.escape import safe_line

    try:
        directories = load_config(["."], rule_ids=rule_ids()).flat().rules_dirs
        return rules_with(directories), directories
    except UserError as exc:
        # cfn-lint would print a traceback for an exception raised while it imports the plugin:
        # one line and exit code 2, as orgtrust-lint itself says it.
        print(safe_line(f"orgtrust-lint: error: {exc}"), file=sys.stderr)
        raise SystemExit(2) from None


_RULES, _RULES_DIRS = _configured()


def _template_text(filename: str | None) -> str:
    """The template's text, for orgtrust-lint's comment ignores. cfn-lint keeps none: a file is
    read again; a template piped to stdin has been consumed, so only Metadata ignores apply to it."""
    if filename is None:
        return ""
    try:
        with open(filename, encoding="utf-8-sig") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError):
        return ""


def _findings(cfn: Any) -> list[Finding]:
    """Evaluate a template once per cfn-lint run, whichever of our rules asks first."""
    found = _findings_by_template.get(cfn)
    if found is None:
        name = cfn.filename if cfn.filename is not None else STDIN_NAME
        facts = facts_from_template(name, cfn.template, _template_text(cfn.filename))
        # Every rule, those off by default too: cfn-lint's own selection (--include-experimental,
        # --include-checks, --ignore-checks) decides which of our rule classes report.
        everything = tuple(rule.id for rule in _RULES)
        found = check_facts(facts, Config(select=everything, rules_dirs=_RULES_DIRS), _RULES).findings
        _findings_by_template[cfn] = found
    return found


def _path_at(template: Any, location: Location) -> list[str | int]:
    """The template path of what a finding points at, for cfn-lint's output ("Path" in its JSON)
    and for its Metadata ``ignore_checks``, which match on the resource in that path.

    Our locations come from the start marks of cfn-lint's decoded nodes, so the node (or mapping
    key) that starts exactly there is the one; failing that, the innermost node that contains it.
    """
    target = (location.line - 1, location.column - 1)
    path: list[str | int] = []
    node = template
    while isinstance(node, (dict, list)):
        children = list(node.items()) if isinstance(node, dict) else list(enumerate(node))
        inner = None
        for key, child in children:
            if _start(child) == target:
                return [*path, key]
            if isinstance(node, dict) and _start(key) == target:
                return [*path, key]
            if inner is None and _contains(child, target):
                inner = (key, child)
        if inner is None:
            break
        path.append(inner[0])
        node = inner[1]
    return path or ["Resources"]


def _start(node: Any) -> tuple[int, int] | None:
    mark = getattr(node, "start_mark", None)
    return None if mark is None else (mark.line, mark.column)


def _contains(node: Any, target: tuple[int, int]) -> bool:
    start, end = getattr(node, "start_mark", None), getattr(node, "end_mark", None)
    if start is None or end is None:
        return False
    return (start.line, start.column) <= target < (end.line, end.column)


def _make_rule_class(rule: Rule, severity: Severity) -> type[CloudFormationLintRule]:
    def match(self: CloudFormationLintRule, cfn: Any) -> list[RuleMatch]:
        matches = []
        for finding in _findings(cfn):
            if finding.rule != rule.id or finding.severity != severity:
                continue
            where = finding.location
            location = (where.line - 1, where.column - 1, where.end_line - 1, where.end_column - 1)
            path = _path_at(cfn.template, where)
            matches.append(RuleMatch(path, f"{finding.message} [{rule.id}]", location=location))
        return matches

    at_level = "" if severity == rule.severity else f" ({severity.value})"
    return type(
        f"OrgtrustLint{rule.id}{at_level and severity.value.title()}",
        (CloudFormationLintRule,),
        {
            "id": cfn_lint_id(rule, severity),
            "shortdesc": f"orgtrust-lint {rule.id} {rule.name}{at_level}",
            "description": rule.summary,
            "source_url": rule.references[0][1],
            "tags": ["orgtrust-lint", *rule.tags],
            # cfn-lint's switch for rules that are not on by default.
            "experimental": not rule.default_enabled,
            "match": match,
            "__module__": __name__,
        },
    )


def _rule_classes() -> list[type[CloudFormationLintRule]]:
    # A rule of one's own about the code can fire on a template; those about a change or the live
    # organization cannot.
    return [
        _make_rule_class(rule, severity)
        for rule in _RULES
        if rule.id in CLOUDFORMATION_RULES or (rule.origin is not None and FACT_KINDS[rule.fact].mode == "check")
        for severity in rule.severities
    ]


# cfn-lint instantiates every rule class it finds among the module's names: each exactly once.
globals().update((rule_class.__name__, rule_class) for rule_class in _rule_classes())
