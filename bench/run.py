"""Time orgtrust-lint against its peers on the synthetic corpus; write bench/RESULTS.md.

Run by hand (`make bench`), never by CI. Each peer lives in its own venv under bench/venvs/.
Every measurement is the median of several runs, side by side in one invocation, with the peak
resident memory of the process tree (GNU time's %M).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
CORPUS = BENCH / "corpus"
REAL_CORPUS = BENCH / "real-corpus"
OURS = str(Path(sys.executable).parent / "orgtrust-lint")
STDLIB_IMPORTS = "import argparse, dataclasses, pathlib, hashlib, sqlite3, pickle, typing"


def _measure(command: list[str], runs: int, env: dict[str, str] | None = None, before=None) -> tuple[float, int]:
    """(median wall seconds, max peak RSS in MB) over ``runs`` runs."""
    times, peaks = [], []
    for _ in range(runs):
        if before:
            before()
        with tempfile.NamedTemporaryFile("r") as report:
            started = time.perf_counter()
            subprocess.run(
                ["/usr/bin/time", "-f", "%M", "-o", report.name, *command],
                cwd=REPO,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=False,
            )
            times.append(time.perf_counter() - started)
            text = Path(report.name).read_text().strip().splitlines()
            peaks.append(int(text[-1]) // 1024 if text and text[-1].isdigit() else 0)
    return statistics.median(times), max(peaks)


def _importtime_rows(stderr: str) -> list[tuple[str, str, str]]:
    """(self, cumulative, module) of each `import time:` line."""
    rows = []
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line and "cumulative" not in line:
            own, cumulative, name = line.removeprefix("import time:").split("|")
            rows.append((own.strip(), cumulative.strip(), name))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--before",
        metavar="GIT_REV",
        help="also time this revision of orgtrust-lint, interleaved with this one, cold and warm, against checkov",
    )
    args = parser.parse_args()
    subprocess.run([sys.executable, str(BENCH / "make_corpus.py"), "--check"], check=True)
    subprocess.run([sys.executable, str(BENCH / "make_real_corpus.py"), "--check"], check=True)
    cache = Path(tempfile.mkdtemp(prefix="orgtrust-bench-cache-"))
    env = {**os.environ, "ORGTRUST_LINT_CACHE_DIR": str(cache), "NO_COLOR": "1"}
    rows: list[tuple[str, float, int]] = []

    def clear_cache() -> None:
        # The fact database and the records of runs (replay) live in the cache's namespace directory
        # (see orgtrust_lint/trusted_cache.py); a cold run has neither.
        for database in cache.glob("*/parse.sqlite3"):
            database.unlink(missing_ok=True)
        for records in cache.glob("*/replay"):
            shutil.rmtree(records)

    def one_file_changed(path: Path) -> Callable[[], None]:
        """Before each run, one file differs from the last run's (a comment added or taken away): the
        run's record does not hold and that file's configuration is extracted again; the rest is cached."""
        original = path.read_bytes()
        state = {"touched": False}

        def change() -> None:
            state["touched"] = not state["touched"]
            path.write_bytes(original + b"\n# touched by bench/run.py\n" if state["touched"] else original)

        changed.append((path, original))
        return change

    changed: list[tuple[Path, bytes]] = []

    corpus = str(CORPUS)
    cold_name = f"orgtrust-lint, full corpus, cold (no cache), --jobs {os.cpu_count()} (default)"
    warm_name = "orgtrust-lint, full corpus, warm (cache hit)"
    rows.append((cold_name, *_measure([OURS, "check", corpus], args.runs, env, clear_cache)))
    rows.append(
        (
            "orgtrust-lint, full corpus, cold, --jobs 1",
            *_measure([OURS, "check", corpus, "--jobs", "1"], args.runs, env, clear_cache),
        )
    )
    _measure([OURS, "check", corpus], 1, env)  # fill the cache
    rows.append((warm_name, *_measure([OURS, "check", corpus], args.runs, env)))
    edited = CORPUS / "terraform" / "team-01" / "module-057" / "policies.tf"
    warm_edit_name = "orgtrust-lint, full corpus, warm, one file changed since the last run"
    rows.append((warm_edit_name, *_measure([OURS, "check", corpus], args.runs, env, one_file_changed(edited))))
    rows.append(
        (
            "orgtrust-lint, full corpus, no prefilter, no cache",
            *_measure([OURS, "check", corpus, "--no-prefilter", "--no-cache"], args.runs, env),
        )
    )
    # The corpus shaped like real monorepos: large files with one relevant block, Terragrunt units.
    real = str(REAL_CORPUS)
    real_cold = "orgtrust-lint, real-shaped corpus, cold (no cache)"
    real_warm = "orgtrust-lint, real-shaped corpus, warm (cache hit)"
    real_read = "reading every file of the real-shaped corpus (cat)"
    rows.append((real_cold, *_measure([OURS, "check", real], args.runs, env, clear_cache)))
    _measure([OURS, "check", real], 1, env)
    rows.append((real_warm, *_measure([OURS, "check", real], args.runs, env)))
    real_edited = next(p for p in sorted(REAL_CORPUS.rglob("*.tf")) if ".git" not in p.parts)
    real_warm_edit = "orgtrust-lint, real-shaped corpus, warm, one file changed since the last run"
    rows.append((real_warm_edit, *_measure([OURS, "check", real], args.runs, env, one_file_changed(real_edited))))
    for path, original in changed:
        path.write_bytes(original)
    real_files = [str(p) for p in sorted(REAL_CORPUS.rglob("*")) if p.is_file() and ".git" not in p.parts]
    rows.append((real_read, *_measure(["sh", "-c", 'cat "$@" > /dev/null', "cat", *real_files], args.runs, env)))
    # Five files of one module that manages an organization: the one that matters to the tool.
    module = CORPUS / "terraform" / "team-00" / "module-000"
    five = [str(module / name) for name in ("organization.tf", "variables.tf", "locals.tf", "lambda.tf", "vpc.tf")]
    five_warm = "orgtrust-lint, 5 files (pre-commit), unchanged since the last run (cache hit)"
    five_cold = "orgtrust-lint, 5 files (pre-commit), all changed (--no-cache: every file parsed)"
    rows.append((five_warm, *_measure([OURS, "check", *five], args.runs * 3, env)))
    rows.append((five_cold, *_measure([OURS, "check", "--no-cache", *five], args.runs * 3, env)))
    rows.append(("python -c pass", *_measure([sys.executable, "-c", "pass"], args.runs * 3, env)))
    rows.append(
        (
            "python -c 'import argparse, dataclasses, pathlib, hashlib, sqlite3, pickle, typing' (stdlib we import)",
            *_measure([sys.executable, "-c", STDLIB_IMPORTS], args.runs * 3, env),
        )
    )
    checkov = BENCH / "venvs" / "checkov" / "bin" / "checkov"
    checkov_name = "checkov -d (terraform, cloudformation)"
    if checkov.exists():
        command = [str(checkov), "-d", corpus, "--framework", "terraform", "cloudformation", "--quiet", "--compact"]
        rows.append((checkov_name, *_measure([*command, "-o", "json"], args.runs, env)))
        real_command = [str(checkov), "-d", real, "--framework", "terraform", "--quiet", "--compact", "-o", "json"]
        rows.append(("checkov -d, real-shaped corpus (terraform)", *_measure(real_command, args.runs, env)))
    cfn_lint = BENCH / "venvs" / "cfn-lint" / "bin" / "cfn-lint"
    templates = [str(p) for p in sorted((CORPUS / "cloudformation").iterdir())]
    cfn_name, ours_templates = "cfn-lint on the 300 templates", "orgtrust-lint on the 300 templates, cold"
    if cfn_lint.exists():
        rows.append((cfn_name, *_measure([str(cfn_lint), *templates], args.runs, env)))
        rows.append((ours_templates, *_measure([OURS, "check", *templates], args.runs, env, clear_cache)))
    # A pre-commit run with a CloudFormation template among its files, and cfn-lint on that template alone.
    template = str(CORPUS / "cloudformation" / "stack-000.yaml")
    five_template = "orgtrust-lint, 4 files and 1 template (pre-commit), unchanged since the last run"
    rows.append((five_template, *_measure([OURS, "check", *five[:4], template], args.runs * 3, env)))
    if cfn_lint.exists():
        rows.append(("cfn-lint on that one template", *_measure([str(cfn_lint), template], args.runs * 3, env)))
    _measure([OURS, "check", *five], 1, env)  # the template runs above began cold: record the five files' run again
    importtime = subprocess.run(
        [sys.executable, "-X", "importtime", OURS, "check", *five],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    ).stderr
    imports = sorted(
        ((int(cumulative), name.strip()) for _, cumulative, name in _importtime_rows(importtime)), reverse=True
    )[:10]
    phases = json.loads(
        subprocess.run(
            [sys.executable, str(BENCH / "phases.py"), corpus], cwd=REPO, env=env, capture_output=True, check=True
        ).stdout
    )

    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = [
        "# Benchmark results",
        "",
        f"One run of `make bench` ({args.runs} runs each, 3x that for the short runs; median wall time, "
        f"peak RSS of the process tree), {os.cpu_count()} CPUs, Python {platform.python_version()}, {stamp}. "
        "The corpus is `bench/make_corpus.py`: 5,011 `.tf` files in 500 modules and 300 templates.",
        "",
        "| what | wall (s) | peak RSS (MB) |",
        "|---|---|---|",
        *(f"| {name} | {seconds:.3f} | {peak} |" for name, seconds, peak in rows),
        "",
    ]
    by_name = {name: seconds for name, seconds, _ in rows}
    peak_by_name = {name: peak for name, _, peak in rows}
    cold = by_name[cold_name]

    def verdict(ok: bool) -> str:
        return "met" if ok else "MISSED"

    ratios = []
    if checkov_name in by_name:
        ratio = by_name[checkov_name] / cold
        ratios.append(f"- full corpus, cold, vs checkov: {ratio:.1f}x faster (target 20x: {verdict(ratio >= 20)})")
    if cfn_name in by_name:
        ratio = by_name[cfn_name] / by_name[ours_templates]
        ratios.append(f"- 300 templates, cold, vs cfn-lint: {ratio:.1f}x faster (target 10x: {verdict(ratio >= 10)})")
    ratio = cold / by_name[warm_name]
    ratios.append(f"- warm vs cold: {ratio:.1f}x faster (target 5x: {verdict(ratio >= 5)})")
    floor = by_name["python -c pass"]
    seconds = by_name[five_warm]
    ok = seconds < 0.3 and seconds <= 3 * floor
    ratios.append(
        f"- {five_warm.removeprefix('orgtrust-lint, ')}: {seconds:.3f} s, {seconds / floor:.1f}x `python -c pass` "
        f"(target under 0.3 s and within 3x: {verdict(ok)})"
    )
    seconds = by_name[five_cold]
    ratios.append(
        f"- {five_cold.removeprefix('orgtrust-lint, ')}: {seconds:.3f} s, {seconds / floor:.1f}x `python -c pass` "
        "(no target: every file is parsed)"
    )
    for name, base in ((warm_edit_name, cold), (real_warm_edit, by_name[real_cold])):
        ratios.append(
            f"- {name.removeprefix('orgtrust-lint, ')}: {base / by_name[name]:.1f}x faster than cold (no target)"
        )
    peak = max(peak_by_name[cold_name], peak_by_name[warm_name], peak_by_name[real_cold])
    ratios.append(f"- peak memory on the largest corpus: {peak} MB (target under 150 MB: {verdict(peak < 150)})")
    real_checkov_name = "checkov -d, real-shaped corpus (terraform)"
    real_checkov = by_name.get(real_checkov_name)
    if real_checkov:
        ratio = real_checkov / by_name[real_cold]
        ratios.append(
            f"- real-shaped corpus, cold, vs checkov: {ratio:.1f}x faster (target 40x: {verdict(ratio >= 40)})"
        )
    ratio = by_name[real_cold] / by_name[real_read]
    ratios.append(
        f"- real-shaped corpus, cold, vs reading its files: {ratio:.1f}x the read time (target within 10x: "
        f"{verdict(ratio <= 10)})"
    )
    ratio = by_name[real_cold] / by_name[real_warm]
    ratios.append(f"- real-shaped corpus, warm vs cold: {ratio:.1f}x faster (target 5x: {verdict(ratio >= 5)})")
    if "cfn-lint on that one template" in by_name:
        ratio = by_name[five_template] / by_name["cfn-lint on that one template"]
        ratios.append(
            f"- pre-commit run with a template: {ratio:.2f} of cfn-lint's time on the template alone "
            f"(target under 0.5: {verdict(ratio < 0.5)})"
        )
    breakdown = [
        "",
        "Where a cold run's time goes (`bench/phases.py`: each stage timed in one process, no workers, no cache):",
        "",
        "| stage | seconds |",
        "|---|---|",
        *(f"| {stage} | {seconds:.3f} |" for stage, seconds in phases.items()),
        f"| total | {sum(phases.values()):.3f} |",
        "",
    ]
    import_lines = [
        "The pre-commit run's ten most expensive imports (`python -X importtime`, cumulative microseconds):",
        "",
        "| module | us |",
        "|---|---|",
        *(f"| {name} | {micros} |" for micros, name in imports),
        "",
    ]
    comparison = _before_and_after(args.before, args.runs, by_name.get(checkov_name), by_name.get(real_checkov_name))
    (BENCH / "RESULTS.md").write_text(
        "\n".join([*lines, "Ratios:", "", *ratios, *comparison, *breakdown, *import_lines])
    )
    print((BENCH / "RESULTS.md").read_text())
    shutil.rmtree(cache, ignore_errors=True)
    return 0


# `python -m orgtrust_lint` run from this checkout would import the checkout's source whatever
# PYTHONPATH says (the working directory comes first on sys.path); -P says not to, from Python 3.11.
_FROM_PYTHONPATH = "import runpy, sys; del sys.path[0]; runpy.run_module('orgtrust_lint', run_name='__main__')"


def _before_and_after(revision: str | None, runs: int, checkov: float | None, real_checkov: float | None) -> list[str]:
    """Cold and warm runs of ``revision`` (from a temporary git worktree) and of the installed
    version, interleaved run by run so that both see the same machine, with each one's ratio to
    the checkov time measured above. Both run as ``python -m orgtrust_lint`` would, never from
    this checkout's source (see _FROM_PYTHONPATH)."""
    if revision is None:
        return []
    tree = Path(tempfile.mkdtemp(prefix="orgtrust-bench-before-"))
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "--force", str(tree), revision], check=True)
    try:
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "orgtrust_lint")], check=True)
        versions = {revision: {"PYTHONPATH": str(tree)}, "this version": {}}
        rows = []
        corpora = ((CORPUS, "full corpus", checkov), (REAL_CORPUS, "real-shaped corpus", real_checkov))
        for corpus, label, peer in corpora:
            times: dict[tuple[str, str], list[float]] = {(v, k): [] for v in versions for k in ("cold", "warm")}
            caches = {v: Path(tempfile.mkdtemp(prefix="orgtrust-bench-ab-")) for v in versions}
            for _ in range(runs):
                for version, extra in versions.items():
                    env = {**os.environ, **extra, "ORGTRUST_LINT_CACHE_DIR": str(caches[version]), "NO_COLOR": "1"}
                    command = [sys.executable, "-c", _FROM_PYTHONPATH, "check", str(corpus)]
                    # wherever the version keeps its fact database (earlier ones: at the top of the cache)
                    for database in caches[version].rglob("parse.sqlite3*"):
                        database.unlink()
                    for records in caches[version].glob("*/replay"):
                        shutil.rmtree(records)
                    times[version, "cold"].append(_measure(command, 1, env)[0])
                    _measure(command, 1, env)  # the run after a cold one writes what a warm one reads
                    times[version, "warm"].append(_measure(command, 1, env)[0])
            for cache in caches.values():
                shutil.rmtree(cache, ignore_errors=True)
            for kind in ("cold", "warm"):
                for version in versions:
                    seconds = statistics.median(times[version, kind])
                    versus = f"{peer / seconds:.1f}x" if peer else "-"
                    rows.append(f"| {label}, {kind} | {version} | {seconds:.3f} | {versus} |")
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)], check=False)
    return [
        "",
        f"Before and after (`--before {revision}`: medians of {runs} interleaved runs, each version as "
        "`python -m orgtrust_lint`; checkov's time from the table above):",
        "",
        "| run | version | wall (s) | faster than checkov |",
        "|---|---|---|---|",
        *rows,
    ]


if __name__ == "__main__":
    sys.exit(main())
