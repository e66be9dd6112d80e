"""Where a cold run's time goes: each stage of a lint run, timed in one process, no workers, no cache.

Prints JSON (stage -> seconds) for bench/run.py. The stages are the real functions `check` uses,
called in the same order; only the parallelism and the cache are left out, so each figure is the
CPU time that stage costs.
"""

from __future__ import annotations

import json
import sys
import time

started = time.perf_counter()

from orgtrust_lint.catalog import Catalog  # noqa: E402
from orgtrust_lint.config import Config  # noqa: E402
from orgtrust_lint.discover import discover  # noqa: E402
from orgtrust_lint.engine import load_rules  # noqa: E402
from orgtrust_lint.facts import Facts  # noqa: E402
from orgtrust_lint.lint import _read_text, check_facts, extract_template  # noqa: E402
from orgtrust_lint.parse.cloudformation import looks_like_template, syntax_ok, template_is_relevant  # noqa: E402
from orgtrust_lint.parse.terraform import (  # noqa: E402
    Prefilter,
    extract_configuration,
    parse_terraform,
    plan_configurations,
    plan_terraform,
)


def main() -> int:
    stages: dict[str, float] = {"import orgtrust-lint": time.perf_counter() - started}

    def timed(name: str, since: float) -> float:
        now = time.perf_counter()
        stages[name] = stages.get(name, 0.0) + now - since
        return now

    mark = time.perf_counter()
    catalog = Catalog.load()
    rules = load_rules()
    mark = timed("load rules and catalog", mark)
    discovered = discover(sys.argv[1:])
    mark = timed("discover files", mark)
    specs = catalog.integration_specs
    modules = plan_terraform(discovered.terraform, prefilter=Prefilter(s.resource for s in specs))
    items = [(p, d) for m in modules for p, d in m.to_parse.items() if isinstance(d, bytes)]
    template_types = tuple(s.resource for s in specs if s.format == "cloudformation")
    templates = []
    for path in discovered.templates:
        text = _read_text(path)
        if not looks_like_template(text):
            continue
        if not template_is_relevant(text, template_types) and syntax_ok(text):
            continue
        templates.append((path, text))
    mark = timed("read and prefilter", mark)
    relevant = {p: m.relevant for m in modules for p in m.to_parse}
    parsed = {path: parse_terraform(path, data, relevant[path]) for path, data in items}
    mark = timed(f"parse Terraform ({len(items)} of {len(discovered.terraform)} files)", mark)
    if templates:
        import cfnlint.decode  # noqa: F401

        mark = timed("import cfn-lint's decoder", mark)
    template_facts = [extract_template(path, text) for path, text in templates]
    mark = timed(f"decode and extract templates ({len(templates)} of {len(discovered.templates)} files)", mark)
    configurations = plan_configurations(modules)
    facts = Facts()
    for configuration in configurations:
        facts.extend(extract_configuration(configuration, parsed))
    facts.deduplicated()
    for found in template_facts:
        facts.extend(found)
    mark = timed(f"evaluate and extract Terraform facts ({len(configurations)} configurations)", mark)
    result = check_facts(facts, Config(), rules, catalog)
    timed(f"evaluate rules ({len(result.findings)} findings)", mark)
    print(json.dumps(stages))
    return 0


if __name__ == "__main__":
    sys.exit(main())
