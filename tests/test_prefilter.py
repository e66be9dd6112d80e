"""The prefilter is sound: the same findings with and without it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from orgtrust_lint.config import Config, load_config
from orgtrust_lint.lint import check

REPO = Path(__file__).resolve().parent.parent


def _findings(paths: list[str], config: Config, prefilter: bool) -> list[tuple]:
    result = check(paths, config, prefilter=prefilter)
    return sorted((f.rule, f.location, f.message) for f in result.findings)


@pytest.mark.parametrize(
    "directory",
    sorted({p.parent for p in (REPO / "fixtures").rglob("*") if p.is_file() and p.suffix in (".tf", ".yaml", ".json")}),
    ids=lambda d: str(d.relative_to(REPO)),
)
def test_every_fixture_directory_gives_the_same_findings(directory: Path, in_repo_root: None) -> None:
    relative = str(directory.relative_to(REPO))
    config = load_config([relative])
    with_prefilter = _findings([relative], config, True)
    assert with_prefilter == _findings([relative], config, False)


def test_all_fixtures_at_once(in_repo_root: None) -> None:
    assert _findings(["fixtures"], Config(), True) == _findings(["fixtures"], Config(), False)


def test_the_benchmark_corpus_gives_the_same_findings(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    subprocess.run(
        [sys.executable, str(REPO / "bench" / "make_corpus.py"), "--root", str(corpus)], check=True, capture_output=True
    )
    config = Config(ignore=("OT105",))
    with_prefilter = _findings([str(corpus)], config, True)
    assert len(with_prefilter) == 24  # the planted findings
    assert with_prefilter == _findings([str(corpus)], config, False)
