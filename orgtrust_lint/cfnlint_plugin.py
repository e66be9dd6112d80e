"""orgtrust-lint's checks as cfn-lint rules: ``cfn-lint --append-rules orgtrust_lint.cfnlint_plugin``.

One implementation serves both entry points: each cfn-lint rule below runs orgtrust-lint's
engine on the template cfn-lint already decoded and reports the findings of one orgtrust-lint
rule. Ids sit in cfn-lint's custom-rule range (x9xxx): OT201 becomes E9201, OT204 W9204,
OT105 I9105, and so on.
"""

from __future__ import annotations

from typing import Any

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from orgtrust_lint.config import Config
from orgtrust_lint.engine import Rule, load_rules
from orgtrust_lint.facts import Finding, Severity
from orgtrust_lint.lint import check_facts
from orgtrust_lint.parse.cloudformation import facts_from_template

# Rules that can fire on a CloudFormation template (OT001 is cfn-lint's own E0000).
CLOUDFORMATION_RULES = ("OT002", "OT101", "OT102", "OT103", "OT105", "OT201", "OT203", "OT204", "OT301")
_LETTER = {Severity.ERROR: "E", Severity.WARNING: "W", Severity.INFO: "I"}
_findings_by_template: dict[tuple[str, int], list[Finding]] = {}


def cfn_lint_id(rule: Rule) -> str:
    return f"{_LETTER[rule.severity]}9{rule.id[2:]}"


def _findings(cfn: Any) -> list[Finding]:
    """Evaluate a template once per cfn-lint run, whichever of our rules asks first."""
    key = (cfn.filename, id(cfn.template))
    if key not in _findings_by_template:
        try:
            with open(cfn.filename, encoding="utf-8-sig") as handle:
                text = handle.read()
        except OSError:
            text = ""
        facts = facts_from_template(cfn.filename, cfn.template, text)
        _findings_by_template[key] = check_facts(facts, Config()).findings
    return _findings_by_template[key]


def _make_rule_class(rule: Rule) -> type[CloudFormationLintRule]:
    def match(self: CloudFormationLintRule, cfn: Any) -> list[RuleMatch]:
        matches = []
        for finding in _findings(cfn):
            if finding.rule != rule.id:
                continue
            where = finding.location
            location = (where.line - 1, where.column - 1, where.end_line - 1, where.end_column - 1)
            matches.append(RuleMatch(["Resources"], f"{finding.message} [{rule.id}]", location=location))
        return matches

    return type(
        f"OrgtrustLint{rule.id}",
        (CloudFormationLintRule,),
        {
            "id": cfn_lint_id(rule),
            "shortdesc": f"orgtrust-lint {rule.id} {rule.name}",
            "description": rule.summary,
            "source_url": rule.references[0][1],
            "tags": ["orgtrust-lint", *rule.tags],
            "match": match,
            "__module__": __name__,
        },
    )


for _rule in load_rules():
    if _rule.id in CLOUDFORMATION_RULES:
        globals()[f"OrgtrustLint{_rule.id}"] = _make_rule_class(_rule)
