"""One lint run: discover -> parse -> derive integrations -> evaluate rules -> suppress.

This is the public API behind ``orgtrust-lint check``; it never prints and never exits.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial

from orgtrust_lint import parallel, terminal
from orgtrust_lint.cache import ParseCache
from orgtrust_lint.catalog import Catalog
from orgtrust_lint.config import ConfigResolver, Settings, resolver_for
from orgtrust_lint.discover import (
    SKIPPED_DIRECTORIES,
    DiscoveryError,
    discover,
    discover_stdin,
    display_path,
    inside,
    module_files,
    repository_root,
    terraform_files_under,
)
from orgtrust_lint.engine import Rule, resource_types_read, rule_selected, rules_with, run
from orgtrust_lint.evaluate import reads
from orgtrust_lint.facts import (
    INTERNAL_ERROR_RULE,
    Coverage,
    Facts,
    Finding,
    InternalError,
    Location,
    SkippedFile,
    Suppression,
)
from orgtrust_lint.files import SkipFile, content_digest, describe_encoding_error, read_file, read_named_file
from orgtrust_lint.integrations import derive_integrations
from orgtrust_lint.parse.cloudformation import (
    extract_cloudformation,
    looks_like_template,
    syntax_ok,
    template_is_relevant,
)
from orgtrust_lint.parse.hcl_ast import HclDocument
from orgtrust_lint.parse.terraform import (
    PRINCIPAL_ARGUMENT,
    BlockFilter,
    Configuration,
    ParseFailure,
    Prefilter,
    Skipped,
    TerraformModule,
    called_directories,
    called_directories_in,
    extract_configuration,
    module_documents,
    parse_terraform,
    plan_configurations,
    plan_terraform,
)
from orgtrust_lint.parse.terragrunt import TerragruntUnit, UnitPlanner, is_unit
from orgtrust_lint.suppress import Governance


@dataclass
class CheckResult:
    files: list[str]
    findings: list[Finding]
    suppressed: list[tuple[Finding, Suppression]] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)  # not linted, and why
    # With keep_digests: files.content_digest of each parsed file as it was read, so that --fix
    # edits only a file that still holds the content its findings were computed from.
    digests: dict[str, str] = field(default_factory=dict)
    coverage: Coverage | None = None  # what the reported files held that was checked, or could not be
    rules: list[Rule] = field(default_factory=list)  # the rules the run evaluated (rules-dir's included)


STDIN_PLAN_NAME = "stdin.json"  # where findings in a plan read from stdin (`--plan -`) point


@dataclass(frozen=True)
class StdinFile:
    """The text of `check -`, linted as the file ``name``. With ``in_module``, that file's module
    (its directory's other Terraform files) is read for context, the text standing in for the file."""

    name: str
    data: bytes
    in_module: bool = False

    @classmethod
    def of(cls, data: bytes, name: str | None) -> StdinFile:
        """With a name, that file in its module; without, a file of its own named after its format."""
        if name:
            return cls(name, data, in_module=True)
        text = data.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
        if looks_like_template(text):
            return cls("stdin.json" if text.startswith("{") else "stdin.yaml", data)
        return cls("stdin.tf.json" if text.startswith("{") else "stdin.tf", data)

    def reader(self) -> Callable[[str], bytes]:
        name = display_path(self.name)
        return lambda path: self.data if path == name else read_file(path)


def _related_modules(
    modules: list[TerraformModule],
    paths: list[str],
    excludes: Callable[[str], bool],
    prefilter: Prefilter | None,
    units: list[TerragruntUnit] | None = None,
    planner: UnitPlanner | None = None,
    included: list[str] | None = None,
    callers: bool = True,
) -> tuple[list[TerraformModule], list[TerragruntUnit]]:
    """Modules and Terragrunt units outside the given paths that belong to the same configurations,
    within the repository: the callers of a given module (they bind the values it checks, so `check
    CHILD` reports what a run from the top reports for it), the units that apply it or read a given
    Terragrunt file (``included``), the modules the units apply, and the local modules any of them call."""
    units = units or []
    root = repository_root(_common_directory(paths))
    allowed = {root, *(os.path.realpath(u.boundary) for u in units)}
    known = {m.directory for m in modules}
    added: list[TerraformModule] = []
    added_units: list[TerragruntUnit] = []

    def add(directories: set[str]) -> list[TerraformModule]:
        new = sorted(
            d for d in directories if d not in known and os.path.isdir(d) and any(inside(d, a) for a in allowed)
        )
        known.update(new)
        planned = plan_terraform([f for d in new for f in module_files(d, excludes)], prefilter=prefilter)
        added.extend(planned)
        return planned

    given = [os.path.realpath(p) for p in paths or ["."]]
    if callers and not any(root == p or inside(root, p) for p in given):  # the run does not cover every caller
        callers_of, unit_paths = _callers(root, excludes)
        frontier = [m.directory for m in modules]
        reached = set(frontier)
        while frontier:
            frontier = [m.directory for m in add({c for d in frontier for c in callers_of.get(d, ())})]
            reached.update(frontier)
        wanted = set(included or ())
        if unit_paths and (reached or wanted):
            planner = planner or UnitPlanner(roots=[root])
            known_units = {u.path for u in units}
            for unit in planner.plan_all([p for p in unit_paths if p not in known_units]):
                if unit.module in reached or wanted.intersection(unit.files):
                    added_units.append(unit)
                    allowed.add(os.path.realpath(unit.boundary))
    add({u.module for u in [*units, *added_units] if u.module is not None})
    pending = [*modules, *added]
    while pending:
        pending = add({d for m in pending for d in called_directories(m)})
    return added, added_units


def _unit_relevant(unit: TerragruntUnit, module_directories: set[str]) -> bool:
    """A unit's own files can hold a fact: inputs named like principals for a module whose code is not
    read, or an inline ignore. (Its module's files decide the rest, as the prefilter decides for any module.)"""
    code_read = unit.module in module_directories
    texts = [d.decode("utf-8", errors="replace") for d in unit.files.values() if isinstance(d, bytes)]
    return any("orgtrust-lint:" in t or (not code_read and PRINCIPAL_ARGUMENT.search(t)) for t in texts)


def _terragrunt_file_alone(path: str, read: Callable[[str], bytes]) -> Facts:
    """A Terragrunt file given on its own that no unit reads: its syntax errors and inline ignores."""
    facts = Facts()
    try:
        data: bytes | ParseFailure | Skipped = read(path)
    except SkipFile as exc:
        data = Skipped(str(exc), exc.incomplete)
    except OSError as exc:
        data = ParseFailure(f"cannot read file: {exc.strerror}")
    parsed = {path: parse_terraform(path, data)} if isinstance(data, bytes) else {}
    module_documents(TerraformModule(os.path.dirname(path) or ".", [path], {path: data}), parsed, facts)
    return facts


def _under(path: str, paths: list[str]) -> bool:
    """``path`` is one of ``paths`` or inside one of them, not in a vendored folder below it."""
    for given in paths or ["."]:
        given = os.path.normpath(display_path(given))
        if path == given:
            return True
        relative = os.path.relpath(path, given)
        if not relative.startswith("..") and not SKIPPED_DIRECTORIES.intersection(relative.split(os.sep)):
            return True
    return False


def _common_directory(paths: list[str]) -> str:
    """The directory holding every given path: where the repository is looked for."""
    directories = [os.path.abspath(p if os.path.isdir(p) else os.path.dirname(p) or ".") for p in paths or ["."]]
    return os.path.commonpath(directories)


def _callers(root: str, excludes: Callable[[str], bool]) -> tuple[dict[str, set[str]], list[str]]:
    """For each directory, the directories whose Terraform calls it as a local module; and the
    Terragrunt units under ``root`` (what they apply is known once they are planned)."""
    callers: dict[str, set[str]] = {}
    terraform, units = terraform_files_under(display_path(root), excludes)
    for path in terraform:
        try:
            data = read_file(path)
        except (OSError, SkipFile):
            continue
        directory = os.path.dirname(path) or "."
        for target in called_directories_in(directory, data):
            callers.setdefault(target, set()).add(directory)
    return callers, units


def _read_text(path: str, read: Callable[[str], bytes] = read_file) -> str:
    """A YAML or JSON file's text; SkipFile (with the reason) when it cannot be read as text."""
    try:
        data = read(path)
    except OSError as exc:
        raise SkipFile(f"cannot read file: {exc.strerror}", incomplete=True) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SkipFile(describe_encoding_error(data, exc)[0]) from None


# CloudFormation has no module graph to say which stacks go together: a run's templates are taken as
# one configuration, deployed to one organization (one template enables trusted access, another relies on it).
CLOUDFORMATION_CONFIGURATION = "CloudFormation templates"


# Worker entry points: module-level so that worker processes can find them.
def _internal_error(path: str, stage: str, exc: Exception) -> InternalError:
    return InternalError(path, stage, f"{type(exc).__name__}: {exc}".splitlines()[0][:200], Location.point(path, 1))


# Parse results of one batch of work, by file and content: a module that several configurations call
# (one shared by 500 Terragrunt units, say) is parsed once per batch, not once per configuration.
ParseMemo = dict[tuple[str, str], "HclDocument | ParseFailure"]


def _parse_once(path: str, data: bytes, memo: ParseMemo, relevant: BlockFilter | None) -> HclDocument | ParseFailure:
    key = (path, content_digest(data))
    if key not in memo:
        memo[key] = parse_terraform(path, data, relevant)
    return memo[key]


def extract_configuration_guarded(configuration: Configuration, memo: ParseMemo | None = None) -> Facts:
    """One configuration's facts. An exception of ours on one file becomes an internal-error fact for
    that file (the other files are still used); one while extracting, for the whole configuration.
    Also used for the files of a --base revision."""
    parsed: dict[str, HclDocument | ParseFailure] = {}
    failed: list[InternalError] = []
    unit_files = configuration.unit.files if configuration.unit is not None else {}
    # A Terragrunt file is read whole: its blocks (include, inputs, dependency) are all it holds.
    relevant = {p: m.relevant for m in configuration.modules for p in m.to_parse}
    for path, data in [*((p, d) for m in configuration.modules for p, d in m.to_parse.items()), *unit_files.items()]:
        if not isinstance(data, bytes) or path in parsed:
            continue
        try:
            parsed[path] = _parse_once(path, data, {} if memo is None else memo, relevant.get(path))
        except Exception as exc:
            failed.append(_internal_error(path, "parsing", exc))
    broken = {error.path for error in failed}
    usable = replace(
        configuration,
        modules=[
            replace(m, to_parse={p: d for p, d in m.to_parse.items() if p not in broken}) for m in configuration.modules
        ],
    )
    if configuration.unit is not None and broken:
        files = {p: d for p, d in configuration.unit.files.items() if p not in broken}
        usable.unit = replace(configuration.unit, files=files)
    try:
        with reads.recorded() as files_read:
            facts = extract_configuration(usable, parsed)
        facts.files_read.update(files_read)
    except Exception as exc:
        first = configuration.root  # a unit's terragrunt.hcl
        if configuration.unit is None:
            root = configuration.modules[0]
            first = next(iter(root.to_parse), root.paths[0])
        facts = Facts(files=configuration.paths())
        failed.append(_internal_error(first, "extracting facts from", exc))
    facts.internal_errors.extend(failed)
    return facts


def _extract_configuration_batch(configurations: list[Configuration], memo: ParseMemo | None = None) -> list[Facts]:
    """``memo`` shares parsed files between the parts of in-process work (a module called by several roots)."""
    memo = {} if memo is None else memo
    return [extract_configuration_guarded(configuration, memo) for configuration in configurations]


def _files_to_parse(configuration: Configuration) -> int:
    return sum(1 for m in configuration.modules for d in m.to_parse.values() if isinstance(d, bytes))


def _configuration_size(configuration: Configuration) -> int:
    unit_files = configuration.unit.files.values() if configuration.unit is not None else ()
    contents = [*(d for m in configuration.modules for d in m.to_parse.values()), *unit_files]
    return sum(len(d) for d in contents if isinstance(d, bytes))


def extract_template(path: str, text: str) -> Facts:
    """One template's facts, or an internal-error fact when we fail on it."""
    try:
        return extract_cloudformation(path, text).belonging_to(CLOUDFORMATION_CONFIGURATION)
    except Exception as exc:
        return Facts(files=[path], internal_errors=[_internal_error(path, "parsing", exc)])


def _extract_template_batch(items: list[tuple[str, str]]) -> list[Facts]:
    return [extract_template(path, text) for path, text in items]


def _read_templates(
    paths: list[str], read: Callable[[str], bytes], relevant_types: tuple[str, ...] | None, skipped: list[SkippedFile]
) -> tuple[list[tuple[str, str]], set[str]]:
    """The templates among ``paths`` to decode (path, text), and those the prefilter leaves out (no
    resource of ``relevant_types``, valid syntax; None: none is left out). A file that cannot be read is
    added to ``skipped``; a YAML or JSON file that is no template is in neither."""
    items: list[tuple[str, str]] = []
    left_out: set[str] = set()
    for path in paths:
        try:
            text = _read_text(path, read)
        except SkipFile as exc:
            skipped.append(SkippedFile(path, str(exc), exc.incomplete))
            continue
        if not looks_like_template(text):
            continue
        if relevant_types is not None and not template_is_relevant(text, relevant_types) and syntax_ok(text):
            left_out.add(path)
        else:
            items.append((path, text))
    return items, left_out


def _module_content(module: TerraformModule) -> list[bytes]:
    """What a module's facts depend on: the names of its files and the content of those parsed
    (the cache length-prefixes each part, so names and contents can never run into each other)."""
    parts = [module.directory.encode("utf-8", "surrogateescape"), str(len(module.paths)).encode()]
    parts.extend(name.encode("utf-8", "surrogateescape") for name in module.paths)
    parts.append(str(len(module.to_parse)).encode())
    for path, data in module.to_parse.items():
        parts.extend(
            (path.encode("utf-8", "surrogateescape"), data if isinstance(data, bytes) else repr(data).encode())
        )
    for key, directory in sorted(module.manifest.items()):  # which directory each registry module is
        parts.extend((key.encode("utf-8", "surrogateescape"), directory.encode("utf-8", "surrogateescape")))
    # Which blocks were parsed: a run whose rules read more resource types must not get the facts of one
    # that read fewer.
    kept = b"*" if module.relevant is None else "\n".join(sorted(module.relevant.resource_types)).encode()
    parts.append(kept)
    return parts


def _configuration_content(configuration: Configuration) -> list[bytes]:
    """What a configuration's facts depend on: every module it calls, in order; for a Terragrunt unit
    also every Terragrunt file it reads, where its files may be read from, and the module it applies."""
    parts = [str(len(configuration.modules)).encode()]
    for module in configuration.modules:
        module_parts = _module_content(module)
        parts.extend((str(len(module_parts)).encode(), *module_parts))
    unit = configuration.unit
    if unit is not None:
        parts.extend(
            [
                b"unit",
                unit.boundary.encode("utf-8", "surrogateescape"),
                (unit.module or "").encode("utf-8", "surrogateescape"),
            ]
        )
        parts.append(str(len(unit.files)).encode())
        for path, data in unit.files.items():
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
    stdin: StdinFile | None = None,
    resource_types: frozenset[str] | None = frozenset(),
) -> tuple[Facts, set[str] | None]:
    """Facts of every file under ``paths`` the configuration does not exclude (or of ``stdin``).
    Files are read and prefiltered here; what must be parsed comes from the cache or is parsed in up
    to ``jobs`` worker processes for the Terraform, with one more decoding the templates meanwhile.
    ``digests``, when given, receives the content digest of every file parsed (or served from the
    cache). ``resource_types``: the types rules of one's own read beyond the
    shipped checks' (None: every type, so nothing is prefiltered)."""
    read: Callable[[str], bytes]  # a file's bytes by its path (stdin's own for the name it stands for)
    if stdin is None:
        discovered, read = discover(paths, resolver_for(config).excludes), read_file
    else:
        discovered, read = discover_stdin(stdin.name, stdin.in_module), stdin.reader()
    catalog = catalog or Catalog.load()
    terraform_prefilter: Prefilter | None = None
    template_types: tuple[str, ...] = ()
    if prefilter and resource_types is not None:
        specs = catalog.all_integration_specs  # inferred too: OT105 looks for the service's own setup
        read_types = {*(s.resource for s in specs if s.format == "terraform"), *resource_types}
        terraform_prefilter = Prefilter(read_types)
        template_types = (*(s.resource for s in specs if s.format == "cloudformation"), *sorted(resource_types))
    cache = ParseCache(catalog.version) if use_cache else None

    # Templates first: their decoding (cfn-lint's import alone is about 0.5 s, bench/RESULTS.md) then
    # runs in a worker of its own while this process plans the Terraform configurations below.
    skipped: list[SkippedFile] = list(discovered.skipped)
    template_items, skipped_templates = _read_templates(
        discovered.templates, read, template_types if terraform_prefilter is not None else None, skipped
    )
    template_facts: dict[str, Facts] = {}
    template_keys: dict[str, str] = {}
    if cache is not None:
        template_keys.update((p, cache.key("template", p, [t.encode()])) for p, t in template_items)
        template_hits = cache.get_many(template_keys.values())
        template_facts.update((p, template_hits[k]) for p, k in template_keys.items() if k in template_hits)
    if digests is not None:
        digests.update((p, content_digest(t.encode("utf-8"))) for p, t in template_items)
    template_misses = [(p, t) for p, t in template_items if p not in template_facts]
    directories = len({os.path.dirname(p) for p in discovered.terraform})  # about one configuration each
    terraform_in_workers = parallel.uses_workers(directories, jobs)
    # One worker when the Terraform goes to workers too (they then share the CPUs with it), else all.
    template_work = parallel.start(
        _extract_template_batch, template_misses, jobs, processes=1 if terraform_in_workers else None
    )
    terraform_work: parallel.Pending[Facts] | None = None
    try:  # whatever happens, no worker is left running (a library caller's process would keep them)
        if template_work.parallel and terraform_in_workers and (cache is None or not cache.exists()):
            # A run with no facts to reuse parses every relevant configuration, in workers: this process
            # builds the HCL parser for them now, while the template worker decodes (inherited when forked).
            from orgtrust_lint.parse.hcl_parser import load_parser

            load_parser()
        modules = plan_terraform(discovered.terraform, read, prefilter=terraform_prefilter)
        # Terragrunt units are evaluated once here, to learn what they apply and which files they read.
        planner = UnitPlanner(read, roots=[_common_directory(paths), os.getcwd()], cache=cache, jobs=jobs)
        units = planner.plan_all([p for p in discovered.terragrunt if is_unit(p)])
        included = [p for p in discovered.terragrunt if not is_unit(p)]  # a file units include, given on its own
        related, related_units = _related_modules(
            modules,
            paths,
            resolver_for(config).excludes,
            terraform_prefilter,
            units,
            planner,
            included,
            callers=stdin is None,
        )
        modules = sorted([*modules, *related], key=lambda m: m.directory)
        units = [*units, *related_units]

        configurations = plan_configurations(modules, units)

        module_directories = {m.directory for m in modules}

        def relevant(configuration: Configuration) -> bool:
            unit = configuration.unit
            return any(m.to_parse for m in configuration.modules) or (
                unit is not None and _unit_relevant(unit, module_directories)
            )

        # Each configuration (a root module and the local modules it calls) is the unit of work and of the
        # cache: what a called module holds depends on what its caller passes.
        found: dict[str, Facts] = {c.root: Facts(files=c.paths()) for c in configurations if not relevant(c)}
        keys: dict[str, str] = {}
        if cache is not None:
            # Whole configurations are cached, not files: a warm run then neither rebuilds syntax trees
            # nor resolves values, and a configuration's few files are cheap to parse again when one changes.
            keys.update(
                (c.root, cache.key("configuration", c.root, _configuration_content(c)))
                for c in configurations
                if relevant(c)
            )
            hits = cache.get_many(keys.values())
            found.update(
                (root, hits[key]) for root, key in keys.items() if key in hits and reads.unchanged(hits[key].files_read)
            )
        if digests is not None:
            digests.update(
                (p, content_digest(d)) for m in modules for p, d in m.to_parse.items() if isinstance(d, bytes)
            )
            digests.update((p, content_digest(d)) for u in units for p, d in u.files.items() if isinstance(d, bytes))
        misses = [c for c in configurations if c.root not in found]

        # Workers start with the Terragrunt files planning parsed (a unit's file is read whole both times).
        batch = partial(_extract_configuration_batch, memo=dict(planner.parsed_documents()))
        if parallel.uses_workers(len(misses), jobs) and (template_work.parallel or not template_misses):
            # Once here (if not above), inherited by every worker. Not when this process still has templates
            # to decode: it is then the slower side (cfn-lint's import), and the workers build it meanwhile.
            from orgtrust_lint.parse.hcl_parser import load_parser

            load_parser()
        terraform_work = parallel.start(batch, misses, jobs, size=_configuration_size)
        # On a terminal, a long (cold) run counts the files it has parsed; off, count is None and costs nothing.
        count = terminal.counter(
            sum(map(_files_to_parse, misses)) + len(template_misses), "parsed {done} of {total} files"
        )

        def templates_done(items: list[tuple[str, str]], results: list[Facts]) -> None:
            if count is not None:
                count(len(items))
            if cache is not None:
                for (path, _), extracted in zip(items, results, strict=True):
                    cache.put_key(template_keys[path], extracted)

        def configurations_done(items: list[Configuration], results: list[Facts]) -> None:
            if count is not None:
                count(sum(map(_files_to_parse, items)))
            if cache is not None:
                for configuration, extracted in zip(items, results, strict=True):
                    cache.put_key(keys[configuration.root], extracted)

        # Each part's results are counted and encoded for the cache as it finishes: for work in workers,
        # while the rest is still being done. Work done here runs as one piece when nothing is to be done
        # with its parts (no progress line, no cache).
        by_part = count is not None or cache is not None

        def template_results() -> dict[str, Facts]:
            results = template_work.result(templates_done if by_part else None)
            return dict(zip((p for p, _ in template_misses), results, strict=True))

        def configuration_results() -> dict[str, Facts]:
            results = terraform_work.result(configurations_done if by_part else None)
            return dict(zip((c.root for c in misses), results, strict=True))

        # Work left to this process first, then what workers did meanwhile.
        if terraform_work.parallel:
            new_template_facts = template_results()
            new_facts = configuration_results()
        else:
            new_facts = configuration_results()
            new_template_facts = template_results()
        terminal.clear()
    finally:
        template_work.close()
        if terraform_work is not None:
            terraform_work.close()
    found.update(new_facts)
    template_facts.update(new_template_facts)
    if cache is not None:
        cache.close()

    facts = Facts(skipped=skipped)
    for configuration in configurations:
        facts.extend(found[configuration.root])
    read_by_units = {p for u in units for p in u.files}
    for path in included:
        if path not in read_by_units:  # no unit reads it: its syntax and inline ignores only
            facts.extend(_terragrunt_file_alone(path, read))
    for path in discovered.templates:
        if path in template_facts:
            facts.extend(template_facts[path])
        elif path in skipped_templates:
            facts.files.append(path)
    facts.deduplicated()
    explicit = discovered.explicit
    if explicit is None and (related or related_units or not read_by_units <= set(discovered.terragrunt)):
        # Modules and Terragrunt files outside the paths given were read because a configuration spans
        # them: their findings are not reported, as a passed file's siblings' are not.
        explicit = {*discovered.terraform, *discovered.templates, *discovered.terragrunt}
        explicit.update(p for p in read_by_units if _under(p, paths))
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
    stdin: StdinFile | None = None,
) -> CheckResult:
    """Lint ``paths`` (or ``stdin`` instead); with ``base`` (a git revision) or ``plan`` (plan JSON,
    "-" for stdin) also check what the change disables. With a plan and no paths, only the plan is
    linted. ``config`` is one configuration for every file, or a resolver that finds each file's
    own. ``keep_digests``: record in the result what each parsed file held (for --fix)."""
    resolver = resolver_for(config)
    catalog = catalog or Catalog.load()
    # A broken rule file of one's own is an error before anything is linted.
    known_rules = rules if rules is not None else rules_with(resolver.rules_dirs(()))
    digests: dict[str, str] = {}
    if plan is not None and not paths and stdin is None:
        facts, explicit = Facts(), None
    else:
        kept = digests if keep_digests else None
        read_types = resource_types_read(known_rules)
        facts, explicit = extract(paths, resolver, catalog, prefilter, use_cache, jobs, kept, stdin, read_types)
        if rules is None:
            # Configurations below the run's may bring rules that read other resource types: read again.
            found = rules_with(resolver.rules_dirs(facts.files))
            wanted = resource_types_read(found)
            if prefilter and read_types is not None and (wanted is None or not wanted <= read_types):
                digests.clear()
                facts, explicit = extract(paths, resolver, catalog, prefilter, use_cache, jobs, kept, stdin, wanted)
            if plan is None:  # no file joins the run later: check_facts need not look for them again
                rules = found
    if plan is not None or base is not None:
        from orgtrust_lint.change import removals
    if plan is not None:
        from orgtrust_lint.parse.plan import NotAPlan, extract_plan

        shown = STDIN_PLAN_NAME if plan == "-" else display_path(plan)
        try:
            text = _read_text(plan, read_named_file)  # a pipe too: `--plan <(terraform show -json tfplan)`
            planned_before, planned_after = extract_plan(shown, text)
        except (SkipFile, NotAPlan) as exc:
            raise DiscoveryError(f"--plan: {plan}: {exc}") from None
        facts.extend(planned_after.belonging_to(shown))
        facts.removals.extend(removals(planned_before, planned_after, catalog, f"in plan {shown}"))
        if explicit is not None:
            explicit.add(shown)
    if base is not None:
        from orgtrust_lint.change import facts_at_revision

        before = facts_at_revision(base, paths, resolver)
        facts.removals.extend(removals(before, facts, catalog, f"since {base}"))
        facts.skipped.extend(before.skipped)  # files and submodules whose base side could not be compared
        # A failure of ours on the base side leaves the comparison incomplete: OT003 and exit 3, as for the work tree.
        stage = "the --base revision's copy of"
        facts.internal_errors.extend(replace(e, stage=f"{e.stage} {stage}") for e in before.internal_errors)
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
    # The shipped rules, and the rules of one's own of every configuration the files have.
    rules = rules if rules is not None else rules_with(resolver.rules_dirs(facts.files))

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
    # A rule's settings.* (the organization policy) are those of its fact's own file.
    result = run(
        rules, facts, catalog, governance, in_scope, catalog_for, lambda path: resolver.for_file(path).policy()
    )
    # A rule of one's own applies to the files whose configuration names its rules-dir.
    origins = {rule.id: rule.origin for rule in rules if rule.origin is not None}

    def wanted(finding: Finding) -> bool:
        if finding.rule == INTERNAL_ERROR_RULE:
            return True
        settings = resolver.for_file(finding.location.path)
        origin = origins.get(finding.rule)
        return (origin is None or origin in settings.rules_dirs) and _wanted(finding, settings)

    reported = [f for f in result.findings if wanted(f)]
    suppressed = [(f, s) for f, s in result.suppressed if wanted(f)]
    reported_files = set(files)
    coverage = Coverage.of(facts, lambda path: explicit is None or path in reported_files)
    return CheckResult(files, reported, suppressed, sorted(set(facts.skipped)), coverage=coverage, rules=rules)
