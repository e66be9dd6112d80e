"""Per-rule Markdown pages (docs/rules/OTxxx.md), in ruff's shape: what, why, example, instead."""

from __future__ import annotations

import textwrap
from typing import Any


def _paragraph(text: str) -> str:
    return textwrap.fill(" ".join(text.split()), width=100, break_on_hyphens=False, break_long_words=False)


def rule_page(rule: Any) -> str:
    return (
        f"# {rule.id} {rule.name}\n\n"
        f"Default severity: **{rule.severity.value}**. {_enabled(rule)} Tags: {', '.join(rule.tags)}.\n\n"
        f"{help_markdown(rule)}\n"
        f"Generated from `rules/{rule.id}.yaml`; run `make docs` after editing it.\n"
    )


def help_markdown(rule: Any) -> str:
    """The rule's help for code scanning (SARIF ``help.markdown``): its page without the title and
    the generated-from line, which the alert view has no use for."""
    language = "hcl" if "terraform" in rule.tags and not rule.bad_example.lstrip().startswith(("#", "-", "+")) else ""
    references = "\n".join(f"- [{title}]({url})" for title, url in rule.references)
    return (
        f"{_paragraph(rule.summary)}\n\n"
        f"## What it does\n\n{_paragraph(rule.what)}\n\n"
        f"## Why is this bad?\n\n{_paragraph(rule.why)}\n\n"
        f"## Example\n\n```{language}\n{rule.bad_example.rstrip()}\n```\n\n"
        f"## Use instead\n\n```{language}\n{rule.good_example.rstrip()}\n```\n\n"
        f"## References\n\n{references}\n"
    )


def _enabled(rule: Any) -> str:
    if rule.default_enabled:
        return "On by default."
    return f"**Off by default**: opt in with `--select {rule.id}` (or `select: [OT, {rule.id}]` in the configuration)."


def _on_off(rule: Any) -> str:
    return "on" if rule.default_enabled else "off"


def index_page(rules: list[Any]) -> str:
    rows = "\n".join(
        f"| [{r.id}]({r.id}.md) | {r.name} | {r.severity.value} | {_on_off(r)} | {r.summary} |" for r in rules
    )
    return (
        "# orgtrust-lint rules\n\n| id | name | default severity | default | summary |\n|---|---|---|---|---|\n"
        f"{rows}\n\nRules that are off by default run only when selected by their full code.\n\n"
        "Generated from `rules/*.yaml`; run `make docs` after editing them.\n"
    )


def pages(rules: list[Any]) -> dict[str, str]:
    """File name -> content for every page of docs/rules/."""
    return {"README.md": index_page(rules), **{f"{r.id}.md": rule_page(r) for r in rules}}


# docs/writing-rules.md holds, between these markers, a reference generated from the registries.
REFERENCE_START = "<!-- generated: make docs writes what follows, from fact_kinds.py and predicates.py -->"
REFERENCE_END = "<!-- end of the generated reference -->"
_WHEN = {
    "check": "check",
    "change": "check --base / --plan",
    "live": "drift",
    "governance": "check, once inline ignores are applied",
    "internal": "check",
}


def field_reference() -> str:
    """The fields of every fact kind and the calls a condition may use, as Markdown."""
    from orgtrust_lint.fact_kinds import FACT_KINDS
    from orgtrust_lint.predicates import CALLS

    sections = ["### Facts and their fields\n"]
    for name, kind in FACT_KINDS.items():
        rows = "\n".join(f"| `{field}` | {_cell(text)} |" for field, text in kind.fields.items())
        sections.append(
            f"#### `{name}`\n\n{kind.summary} Present in: {_WHEN[kind.mode]}.\n\n| field | holds |\n|---|---|\n{rows}\n"
        )
    sections.append("### Calls\n")
    for name, spec in sorted(CALLS.items()):
        takes = "the text `of:` names" if spec.takes == "text" else f"the `{spec.takes}` fact at hand"
        if spec.takes == "value":
            takes = "the value `of:` names"
        outputs = ", ".join(f"`{output}`" for output in spec.outputs) or "none (it holds or not)"
        sections.append(f"#### `{name}`\n\nLooks at {takes}. Outputs: {outputs}.\n\n{spec.summary}\n")
    return "\n".join(sections)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def with_reference(document: str) -> str:
    """``document`` (docs/writing-rules.md) with its generated reference brought up to date."""
    before, found, rest = document.partition(REFERENCE_START)
    if not found:
        raise ValueError("docs/writing-rules.md has lost its generated-reference marker")
    _, found, after = rest.partition(REFERENCE_END)
    if not found:
        raise ValueError("docs/writing-rules.md has lost its end-of-reference marker")
    return f"{before}{REFERENCE_START}\n\n{field_reference()}\n{REFERENCE_END}{after}"
