"""One lint run: discover -> parse -> derive integrations -> evaluate rules -> suppress.

This is the public API behind ``orgtrust-lint check``; it never prints and never exits.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from orgtrust_lint import parallel
from orgtrust_lint.cache import ParseCache
from orgtrust_lint.catalog import Catalog
from orgtrust_lint.config import ConfigResolver, Settings, resolver_for
from orgtrust_lint.discover import DiscoveryError, discover, display_path
from orgtrust_lint.engine import Rule, load_rules, rule_selected, run
from orgtrust_lint.facts import INTERNAL_ERROR_RULE, Coverage, Facts, Finding, InternalError, Location, Suppression
from orgtrust_lint.files import SkipFile, content_digest, describe_encoding_error, read_file
from orgtrust_lint.integrations import derive_integrations
from orgtrust_lint.parse.cloudformation import (
    extract_cloudformation,
    looks_like_template,
    syntax_ok,
    template_is_relevant,
)
from orgtrust_lint.parse.hcl_ast import HclDocument
from orgtrust_lint.parse.terraform import (
    ParseFailure,
    Prefilter,
    TerraformModule,
    extract_modules,
    parse_terraform,
    plan_terraform,
)
from orgtrust_lint.suppress import Governance


@dataclass
class CheckResult:
    files: list[str]
    findings: list[Finding]
    suppressed: list[tuple[Finding, Suppression]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason): not linted
    # With keep_digests: files.content_digest of each parsed file as it was read, so that --fix
    # edits only a file that still holds the content its findings were computed from.
    digests: dict[str, str] = field(default_factory=dict)
    coverage: Coverage | None = None  # what the reported files held that was checked, or could not be


def _read_text(path: str) -> str:
    """A YAML or JSON file's text; SkipFile (with the reason) when it cannot be read as text."""
    try:
        data = read_file(path)
    except OSError as exc:
        raise SkipFile(f"cannot read file: {exc.strerror}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SkipFile(describe_encoding_error(data, exc)[0]) from None


# Worker entry points: module-level so that worker processes can find them.
def _internal_error(path: str, stage: str, exc: Exception) -> InternalError:
    return InternalError(path, stage, f"{type(exc).__name__}: {exc}".splitlines()[0][:200], Location.point(path, 1))


def _extract_module(module: TerraformModule) -> Facts:
    """One module's facts. An exception of ours on one file becomes an internal-error fact for
    that file (its siblings are still used); one while extracting, for the whole module."""
    parsed: dict[str, HclDocument | ParseFailure] = {}
    failed: list[InternalError] = []
    for path, data in module.to_parse.items():
        if not isinstance(data, bytes):
            continue
        try:
            parsed[path] = parse_terraform(path, data)
        except Exception as exc:
            failed.append(_internal_error(path, "parsing", exc))
    broken = {error.path for error in failed}
    usable = replace(module, to_parse={p: d for p, d in module.to_parse.items() if p not in broken})
    try:
        facts = extract_modules([usable], parsed)
    except Exception as exc:
        first = next(iter(usable.to_parse), module.paths[0])
        facts = Facts(files=list(module.paths))
        failed.append(_internal_error(first, "extracting facts from", exc))
    facts.internal_errors.extend(failed)
    return facts


def _extract_module_batch(modules: list[TerraformModule]) -> list[Facts]:
    return [_extract_module(module) for module in modules]


def _module_size(module: TerraformModule) -> int:
    return sum(len(d) for d in module.to_parse.values() if isinstance(d, bytes))


def _extract_template(path: str, text: str) -> Facts:
    try:
        return extract_cloudformation(path, text)
    except Exception as exc:
        return Facts(files=[path], internal_errors=[_internal_error(path, "parsing", exc)])


def _extract_template_batch(items: list[tuple[str, str]]) -> list[Facts]:
    return [_extract_template(path, text) for path, text in items]


def _module_content(module: TerraformModule) -> list[bytes]:
    """What a module's facts depend on: the names of its files and the content of those parsed
    (the cache length-prefixes each part, so names and contents can never run into each other)."""
    parts = [str(len(module.paths)).encode(), *(name.encode("utf-8", "surrogateescape") for name in module.paths)]
    for path, data in module.to_parse.items():
        parts.extend(
            (path.encode("utf-8", "surrogateescape"), data if isinstance(data, bytes) else repr(data).encode())
        )
    return parts


def extract(
    paths: list[str],
    config: Settings | ConfigResolver | None,
    catalog: Catalog | None = None,
    prefilter: bool = True,
    use_cache: bool = False,
    jobs: int = 1,
    digests: dict[str, str] | None = None,
) -> tuple[Facts, set[str] | None]:
    """Facts of every file under ``paths`` the configuration does not exclude. Files are read and
    prefiltered here; what must be parsed comes from the cache or is parsed in up to ``jobs``
    processes. ``digests``, when given, receives the content digest of every file parsed (or
    served from the cache)."""
    discovered = discover(paths, resolver_for(config).excludes)
    catalog = catalog or Catalog.load()
    terraform_prefilter: Prefilter | None = None
    template_types: tuple[str, ...] = ()
    if prefilter:
        specs = catalog.all_integration_specs  # inferred too: OT105 looks for the service's own setup
        terraform_prefilter = Prefilter(s.resource for s in specs if s.format == "terraform")
        template_types = tuple(s.resource for s in specs if s.format == "cloudformation")
    modules = plan_terraform(discovered.terraform, prefilter=terraform_prefilter)

    skipped_templates: set[str] = set()
    template_items: list[tuple[str, str]] = []
    skipped: list[tuple[str, str]] = list(discovered.skipped)
    for path in discovered.templates:
        try:
            text = _read_text(path)
        except SkipFile as exc:
            skipped.append((path, str(exc)))
            continue
        if not looks_like_template(text):
            continue
        if prefilter and not template_is_relevant(text, template_types) and syntax_ok(text):
            skipped_templates.add(path)
        else:
            template_items.append((path, text))

    cache = ParseCache(catalog.version) if use_cache else None
    module_facts: dict[str, Facts] = {m.directory: Facts(files=list(m.paths)) for m in modules if not m.to_parse}
    template_facts: dict[str, Facts] = {}
    keys: dict[tuple[str, str], str] = {}
    if cache is not None:
        # Whole modules are cached, not files: a warm run then neither rebuilds syntax trees
        # nor resolves values, and a module's few files are cheap to parse again when one changes.
        keys.update(
            (("module", m.directory), cache.key("module", m.directory, _module_content(m)))
            for m in modules
            if m.to_parse
        )
        keys.update((("template", p), cache.key("template", p, [t.encode()])) for p, t in template_items)
        hits = cache.get_many(keys.values())
        module_facts.update(
            (m.directory, hits[keys["module", m.directory]])
            for m in modules
            if m.to_parse and keys["module", m.directory] in hits
        )
        template_facts.update((p, hits[keys["template", p]]) for p, _ in template_items if keys["template", p] in hits)
    if digests is not None:
        digests.update((p, content_digest(d)) for m in modules for p, d in m.to_parse.items() if isinstance(d, bytes))
        digests.update((p, content_digest(t.encode("utf-8"))) for p, t in template_items)
    module_misses = [m for m in modules if m.directory not in module_facts]
    template_misses = [(p, t) for p, t in template_items if p not in template_facts]

    # Terraform modules go to the workers first; while they parse, this process decodes the
    # templates (cfn-lint's import alone is about 0.3 s, better paid once than in every worker).
    module_work = parallel.start(_extract_module_batch, module_misses, jobs, size=_module_size)
    template_jobs = 1 if module_work.parallel else jobs
    template_work = parallel.start(_extract_template_batch, template_misses, template_jobs)
    new_template_facts = dict(zip((p for p, _ in template_misses), template_work.result(), strict=True))
    new_module_facts = dict(zip((m.directory for m in module_misses), module_work.result(), strict=True))
    module_facts.update(new_module_facts)
    template_facts.update(new_template_facts)
    if cache is not None:
        for directory, found in new_module_facts.items():
            cache.put_key(keys["module", directory], found)
        for path, found in new_template_facts.items():
            cache.put_key(keys["template", path], found)
        cache.close()

    facts = Facts(skipped=skipped)
    for module in modules:
        facts.extend(module_facts[module.directory])
    for path in discovered.templates:
        if path in template_facts:
            facts.extend(template_facts[path])
        elif path in skipped_templates:
            facts.files.append(path)
    explicit = discovered.explicit
    if explicit is not None:
        # A YAML or JSON file that is not a template is not ours: it is not counted as linted.
        explicit = {p for p in explicit if p in facts.files}
    return facts, explicit


def check(
    paths: list[str],
    config: Settings | ConfigResolver | None = None,
    rules: list[Rule] | None = None,
    catalog: Catalog | None = None,
    base: str | None = None,
    plan: str | None = None,
    prefilter: bool = True,
    use_cache: bool = False,
    jobs: int = 1,
    keep_digests: bool = False,
) -> CheckResult:
    """Lint ``paths``; with ``base`` (a git revision) or ``plan`` (plan JSON) also check what the
    change disables. With a plan and no paths, only the plan is linted. ``config`` is one
    configuration for every file, or a resolver that finds each file's own. ``keep_digests``:
    record in the result what each parsed file held (for --fix)."""
    resolver = resolver_for(config)
    catalog = catalog or Catalog.load()
    digests: dict[str, str] = {}
    if plan is not None and not paths:
        facts, explicit = Facts(), None
    else:
        facts, explicit = extract(
            paths, resolver, catalog, prefilter, use_cache, jobs, digests if keep_digests else None
        )
    if plan is not None or base is not None:
        from orgtrust_lint.change import removals
    if plan is not None:
        from orgtrust_lint.parse.plan import extract_plan

        try:
            text = _read_text(plan)
        except SkipFile as exc:
            raise DiscoveryError(f"--plan: {plan}: {exc}") from None
        planned_before, planned_after = extract_plan(display_path(plan), text)
        facts.extend(planned_after)
        facts.removals.extend(removals(planned_before, planned_after, catalog, f"in plan {display_path(plan)}"))
        if explicit is not None:
            explicit.add(display_path(plan))
    if base is not None:
        from orgtrust_lint.change import facts_at_revision

        before = facts_at_revision(base, paths, resolver)
        facts.removals.extend(removals(before, facts, catalog, f"since {base}"))
        facts.skipped.extend(before.skipped)  # submodules whose base files could not be compared
    result = check_facts(facts, resolver, rules, catalog, explicit)
    result.digests = digests
    return result


def _wanted(finding: Finding, settings: Settings) -> bool:
    """Selected and not ignored by the configuration of the finding's own file."""
    return rule_selected(finding.rule, settings.select, settings.ignores_for(finding.location.path))


def check_facts(
    facts: Facts,
    config: Settings | ConfigResolver | None,
    rules: list[Rule] | None = None,
    catalog: Catalog | None = None,
    explicit: set[str] | None = None,
) -> CheckResult:
    """Evaluate already extracted facts: integrations, then the rules and ignores (engine.run),
    then each file's selection. With ``explicit`` (the files a user named), only findings in those
    files or reached from them are reported."""
    resolver = resolver_for(config)
    catalog = catalog or Catalog.load()
    rules = rules if rules is not None else load_rules()

    def catalog_for(path: str) -> Catalog:
        # A principal is known if the catalog or its own file's configuration lists it.
        return catalog.with_extra_principals(resolver.for_file(path).extra_principals)

    facts.integrations.extend(derive_integrations(facts, catalog))
    files = sorted(explicit) if explicit is not None else facts.files

    def in_scope(finding: Finding) -> bool:
        """Not a finding about a file only read for context (the sibling of a file pre-commit passed)."""
        return explicit is None or finding.location.path in explicit or any(a.path in explicit for a in finding.also_at)

    governance = Governance(
        unignorable=lambda path: resolver.for_file(path).unignorable,
        require_reason=lambda path: resolver.for_file(path).require_reason,
        reported_paths=set(files),
    )
    result = run(rules, facts, catalog, governance, in_scope, catalog_for)

    def wanted(finding: Finding) -> bool:
        return finding.rule == INTERNAL_ERROR_RULE or _wanted(finding, resolver.for_file(finding.location.path))

    reported = [f for f in result.findings if wanted(f)]
    suppressed = [(f, s) for f, s in result.suppressed if wanted(f)]
    reported_files = set(files)
    coverage = Coverage.of(facts, lambda path: explicit is None or path in reported_files)
    return CheckResult(files, reported, suppressed, sorted(set(facts.skipped)), coverage=coverage)
