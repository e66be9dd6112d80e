"""Speed never costs a finding: the same findings with and without the prefilter, the parse
cache (cold and warm) and parallel parsing, on every fixture and on the benchmark corpus."""

from __future__ import annotations

import importlib.util
import itertools
from collections import Counter
from pathlib import Path

import pytest

from orgtrust_lint import parallel
from orgtrust_lint.config import Config, ConfigResolver, load_config
from orgtrust_lint.engine import rule_ids
from orgtrust_lint.lint import check

REPO = Path(__file__).resolve().parent.parent
# fixtures/plans holds plan JSON, read only through --plan (tests/test_plan.py); fixtures/policy/rules
# holds rule files, read only through rules-dir (tests/test_user_rules.py); evaluation-policies/policies
# holds policy documents, read only through file() and templatefile().
FIXTURE_DIRECTORIES = sorted(
    {p.parent for p in (REPO / "fixtures").rglob("*") if p.is_file() and p.suffix in (".tf", ".yaml", ".json")}
    - {
        REPO / "fixtures" / "plans",
        REPO / "fixtures" / "policy" / "rules",
        REPO / "fixtures" / "terraform" / "evaluation-policies" / "policies",
    }
)


def _findings(
    paths: list[str], config: Config | ConfigResolver, prefilter: bool = True, use_cache: bool = False, jobs: int = 1
):
    result = check(paths, config, prefilter=prefilter, use_cache=use_cache, jobs=jobs)
    return sorted((f.rule, f.location, f.message, f.severity) for f in result.findings), sorted(result.files)


@pytest.fixture
def parallel_runs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[int]:
    """Send even the smallest run to worker processes, and count the runs that really did."""
    monkeypatch.setenv("ORGTRUST_LINT_CACHE_DIR", str(tmp_path / "cache"))  # never the user's
    monkeypatch.setattr(parallel, "MIN_PARALLEL_ITEMS", 1)
    started: list[int] = []
    original = parallel.Pending.__init__

    def counting_init(self, function, items, *rest):
        original(self, function, items, *rest)
        if self.parallel:
            started.append(len(items))

    monkeypatch.setattr(parallel.Pending, "__init__", counting_init)
    return started


def _every_way(
    paths: list[str], config: Config | ConfigResolver, cache_root: Path, monkeypatch
) -> dict[tuple[bool, str, int], tuple]:
    """Findings for every combination of prefilter, cache (off, cold, warm) and jobs (1, 2)."""
    outcomes = {}
    for prefilter, jobs in itertools.product((True, False), (1, 2)):
        monkeypatch.setenv("ORGTRUST_LINT_CACHE_DIR", str(cache_root / f"{prefilter}-{jobs}"))
        outcomes[prefilter, "off", jobs] = _findings(paths, config, prefilter, use_cache=False, jobs=jobs)
        outcomes[prefilter, "cold", jobs] = _findings(paths, config, prefilter, use_cache=True, jobs=jobs)
        outcomes[prefilter, "warm", jobs] = _findings(paths, config, prefilter, use_cache=True, jobs=jobs)
    return outcomes


@pytest.mark.parametrize("directory", FIXTURE_DIRECTORIES, ids=lambda d: str(d.relative_to(REPO)))
def test_every_fixture_directory_gives_the_same_findings_every_way(
    directory: Path, in_repo_root: None, parallel_runs: list[int], tmp_path: Path, monkeypatch
) -> None:
    relative = str(directory.relative_to(REPO))
    outcomes = _every_way([relative], load_config([relative], rule_ids=rule_ids()), tmp_path, monkeypatch)
    reference = outcomes[False, "off", 1]
    assert reference[1], "the directory was linted"
    different = {way: found for way, found in outcomes.items() if found != reference}
    assert not different
    assert parallel_runs, "worker processes were used"


def test_all_fixtures_at_once_every_way(
    in_repo_root: None, parallel_runs: list[int], tmp_path: Path, monkeypatch
) -> None:
    outcomes = _every_way(["fixtures"], Config(), tmp_path, monkeypatch)
    reference = outcomes[False, "off", 1]
    assert len(reference[0]) > 50
    assert all(found == reference for found in outcomes.values())
    assert parallel_runs


def _make_corpus(root: Path) -> Counter:
    """Write the benchmark corpus; return the planted findings per rule."""
    spec = importlib.util.spec_from_file_location("make_corpus", REPO / "bench" / "make_corpus.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make(root)


def test_the_benchmark_corpus_gives_the_same_findings(tmp_path: Path, parallel_runs: list[int]) -> None:
    corpus = tmp_path / "corpus"
    planted = _make_corpus(corpus)
    config = Config(ignore=("OT105",))
    fast = _findings([str(corpus)], config, prefilter=True, use_cache=True, jobs=2)
    assert Counter(rule for rule, *_ in fast[0]) == planted and len(planted) >= 10
    assert _findings([str(corpus)], config, prefilter=True, use_cache=True, jobs=2) == fast  # warm
    assert _findings([str(corpus)], config, prefilter=False, use_cache=False, jobs=1) == fast
    assert parallel_runs


@pytest.fixture
def kept_workers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[parallel.Workers]:
    """Every pool of workers a run starts, held here so that only the run itself can have ended them;
    workers are used even on a machine of one CPU."""
    monkeypatch.setenv("ORGTRUST_LINT_CACHE_DIR", str(tmp_path / "cache"))  # never the user's
    monkeypatch.setattr(parallel, "default_jobs", lambda: 2)
    started: list[parallel.Workers] = []
    workers_init = parallel.Workers.__init__

    def kept_init(self, *args, **kwargs):
        workers_init(self, *args, **kwargs)
        started.append(self)

    monkeypatch.setattr(parallel.Workers, "__init__", kept_init)
    return started


TEMPLATE_WITH_A_TYPO = """AWSTemplateFormatVersion: '2010-09-09'
Resources:
  GuardDutyRole:
    Type: AWS::IAM::ServiceLinkedRole
    Properties:
      AWSServiceName: guarduty.amazonaws.com
"""


def test_the_template_worker_ends_with_a_run_that_fails(
    tmp_path: Path, kept_workers: list[parallel.Workers], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run starts decoding its templates in a worker before it plans its Terraform; when planning
    fails, check() raises and leaves no worker process behind (a library caller's would keep it)."""
    import multiprocessing

    from orgtrust_lint import lint

    for index in range(20):
        module = tmp_path / "corpus" / f"m{index}"
        module.mkdir(parents=True)
        (module / "main.tf").write_text('resource "aws_organizations_organization" "o" {}\n')
        (module / "template.yaml").write_text(TEMPLATE_WITH_A_TYPO)

    def failing_plan(*args, **kwargs):
        assert multiprocessing.active_children(), "the template worker was started before planning"
        raise RuntimeError("planning failed")

    monkeypatch.setattr(lint, "plan_terraform", failing_plan)
    with pytest.raises(RuntimeError, match="planning failed"):
        check([str(tmp_path / "corpus")], Config(), jobs=2)
    assert len(kept_workers) == 1 and multiprocessing.active_children() == []


def _templates_and_two_modules(root: Path) -> None:
    """Enough templates for a worker of their own, too few Terraform modules for workers: the
    templates are decoded in a worker while this process parses the Terraform."""
    for index in range(20):
        (root / "templates").mkdir(parents=True, exist_ok=True)
        (root / "templates" / f"t{index:02d}.yaml").write_text(TEMPLATE_WITH_A_TYPO)
    for name in ("org", "other"):
        (root / name).mkdir()
        (root / name / "main.tf").write_text(
            'resource "aws_organizations_organization" "o" {\n'
            '  aws_service_access_principals = ["guardduty.amazonaws.co"]\n'
            "}\n"
        )


def test_templates_in_a_worker_beside_terraform_parsed_here_give_the_same_findings(
    tmp_path: Path, kept_workers: list[parallel.Workers], monkeypatch: pytest.MonkeyPatch
) -> None:
    import multiprocessing

    _templates_and_two_modules(tmp_path / "tree")
    in_workers: dict[str, list[bool]] = {}  # what each kind of work was given to workers, run by run
    original = parallel.Pending.__init__

    def counting_init(self, function, items, *rest):
        original(self, function, items, *rest)
        name = getattr(function, "func", function).__name__
        in_workers.setdefault(name, []).append(self.parallel)

    monkeypatch.setattr(parallel.Pending, "__init__", counting_init)
    alone = _findings([str(tmp_path / "tree")], Config(), jobs=1)
    cold = _findings([str(tmp_path / "tree")], Config(), use_cache=True, jobs=2)
    assert in_workers["_extract_template_batch"] == [False, True]  # jobs 1: here; jobs 2: in a worker
    assert in_workers["_extract_configuration_batch"] == [False, False]  # two modules: always here
    warm = _findings([str(tmp_path / "tree")], Config(), use_cache=True, jobs=2)
    assert alone == cold == warm
    assert Counter(rule for rule, *_ in cold[0])["OT101"] == 22  # every template's typo and each module's
    assert kept_workers and multiprocessing.active_children() == []


def test_workers_end_with_a_run_interrupted_while_parsing(
    tmp_path: Path, kept_workers: list[parallel.Workers], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while this process parses the Terraform (the templates in a worker meanwhile) leaves no
    worker running."""
    import multiprocessing

    from orgtrust_lint import lint

    _templates_and_two_modules(tmp_path / "tree")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(lint, "_extract_configuration_batch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        check([str(tmp_path / "tree")], Config(), jobs=2)
    assert len(kept_workers) == 1 and multiprocessing.active_children() == []
