"""One lint run: discover -> parse -> derive integrations -> evaluate rules -> suppress.

This is the public API behind ``orgtrust-lint check``; it never prints and never exits.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from orgtrust_lint.cache import ParseCache
from orgtrust_lint.catalog import Catalog
from orgtrust_lint.change import removals
from orgtrust_lint.config import Config
from orgtrust_lint.discover import DiscoveryError, discover, display_path
from orgtrust_lint.engine import Rule, evaluate, load_rules
from orgtrust_lint.facts import Facts, Finding, Suppression
from orgtrust_lint.integrations import derive_integrations
from orgtrust_lint.parse.cloudformation import (
    extract_cloudformation,
    looks_like_template,
    syntax_ok,
    template_is_relevant,
)
from orgtrust_lint.parse.terraform import Prefilter, extract_terraform
from orgtrust_lint.suppress import apply_suppressions


@dataclass
class CheckResult:
    files: list[str]
    findings: list[Finding]
    suppressed: list[tuple[Finding, Suppression]] = field(default_factory=list)


def _read_text(path: str) -> str | None:
    try:
        with open(path, "rb") as handle:
            return handle.read().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None  # not a template we can read; Terraform files report this as OT001


def _template_facts(path: str, text: str, cache: ParseCache | None) -> Facts:
    """A template's facts, from the cache when this exact file was decoded before (cfn-lint's
    import alone costs about 0.5 s, so a warm run avoids it entirely)."""
    data = text.encode("utf-8")
    if cache is not None:
        hit = cache.get("cloudformation", path, data)
        if not cache.missing(hit):
            return hit
    facts = extract_cloudformation(path, text)
    if cache is not None:
        cache.put("cloudformation", path, data, facts)
    return facts


def extract(
    paths: list[str],
    config: Config,
    catalog: Catalog | None = None,
    prefilter: bool = True,
    use_cache: bool = False,
) -> tuple[Facts, set[str] | None]:
    discovered = discover(paths, config.exclude)
    cache = ParseCache((catalog or Catalog.load(config.extra_principals)).version) if use_cache else None
    terraform_types: tuple[str, ...] = ()
    template_types: tuple[str, ...] = ()
    if prefilter:
        catalog = catalog or Catalog.load(config.extra_principals)
        terraform_types = tuple(s.resource for s in catalog.integration_specs if s.format == "terraform")
        template_types = tuple(s.resource for s in catalog.integration_specs if s.format == "cloudformation")
    facts = extract_terraform(
        discovered.terraform, prefilter=Prefilter(terraform_types) if prefilter else None, cache=cache
    )
    for path in discovered.templates:
        text = _read_text(path)
        if text is None or not looks_like_template(text):
            continue
        if prefilter and not template_is_relevant(text, template_types) and syntax_ok(text):
            facts.files.append(path)
            continue
        facts.extend(_template_facts(path, text, cache))
    explicit = discovered.explicit
    if explicit is not None:
        # A YAML or JSON file that is not a template is not ours: it is not counted as linted.
        explicit = {p for p in explicit if p in facts.files}
    return facts, explicit


def check(
    paths: list[str],
    config: Config | None = None,
    rules: list[Rule] | None = None,
    catalog: Catalog | None = None,
    base: str | None = None,
    plan: str | None = None,
    prefilter: bool = True,
    use_cache: bool = False,
) -> CheckResult:
    """Lint ``paths``; with ``base`` (a git revision) or ``plan`` (plan JSON) also check what the
    change disables. With a plan and no paths, only the plan is linted."""
    config = config or Config()
    catalog = catalog or Catalog.load(config.extra_principals)
    if plan is not None and not paths:
        facts, explicit = Facts(), None
    else:
        facts, explicit = extract(paths, config, catalog, prefilter, use_cache)
    if plan is not None:
        from orgtrust_lint.parse.plan import extract_plan

        text = _read_text(plan)
        if text is None:
            raise DiscoveryError(f"--plan: cannot read {plan} as UTF-8 text")
        planned_before, planned_after = extract_plan(display_path(plan), text)
        facts.extend(planned_after)
        facts.removals.extend(removals(planned_before, planned_after, catalog, f"in plan {display_path(plan)}"))
        if explicit is not None:
            explicit.add(display_path(plan))
    if base is not None:
        from orgtrust_lint.change import facts_at_revision

        before = facts_at_revision(base, paths, config)
        facts.removals.extend(removals(before, facts, catalog, f"since {base}"))
    return check_facts(facts, config, rules, catalog, explicit)


def check_facts(
    facts: Facts,
    config: Config,
    rules: list[Rule] | None = None,
    catalog: Catalog | None = None,
    explicit: set[str] | None = None,
) -> CheckResult:
    """Evaluate already extracted facts: integrations, rules, then suppressions."""
    catalog = catalog or Catalog.load(config.extra_principals)
    rules = rules if rules is not None else load_rules()
    facts.integrations.extend(derive_integrations(facts, catalog))
    findings = evaluate(rules, facts, catalog, config.select, config.ignore)
    if explicit is not None:
        findings = [f for f in findings if f.location.path in explicit or any(a.path in explicit for a in f.also_at)]
        files = sorted(explicit)
    else:
        files = facts.files
    reported, suppressed = apply_suppressions(findings, facts.suppressions)
    return CheckResult(files, reported, suppressed)
