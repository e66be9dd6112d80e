"""Time orgtrust-lint against its peers on the synthetic corpus; write bench/RESULTS.md.

Run by hand (`make bench`), never by CI. Each peer lives in its own venv under bench/venvs/.
Every measurement is the median of several runs, side by side in one invocation, with the peak
resident memory of the process tree (GNU time's %M).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
CORPUS = BENCH / "corpus"
OURS = str(Path(sys.executable).parent / "orgtrust-lint")


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    subprocess.run([sys.executable, str(BENCH / "make_corpus.py"), "--check"], check=True)
    cache = Path(tempfile.mkdtemp(prefix="orgtrust-bench-cache-"))
    env = {**os.environ, "ORGTRUST_LINT_CACHE_DIR": str(cache), "NO_COLOR": "1"}
    rows: list[tuple[str, float, int]] = []

    def clear_cache() -> None:
        shutil.rmtree(cache / "parse", ignore_errors=True)

    corpus = str(CORPUS)
    rows.append(
        ("orgtrust-lint, full corpus, cold (no cache)", *_measure([OURS, "check", corpus], args.runs, env, clear_cache))
    )
    _measure([OURS, "check", corpus], 1, env)  # fill the cache
    rows.append(("orgtrust-lint, full corpus, warm (cache hit)", *_measure([OURS, "check", corpus], args.runs, env)))
    rows.append(
        (
            "orgtrust-lint, full corpus, no prefilter, no cache",
            *_measure([OURS, "check", corpus, "--no-prefilter", "--no-cache"], args.runs, env),
        )
    )
    five = [str(p) for p in sorted((CORPUS / "terraform").rglob("*.tf"))[:5]]
    rows.append(("orgtrust-lint, 5 files (pre-commit), warm", *_measure([OURS, "check", *five], args.runs, env)))
    rows.append(("python -c pass", *_measure([sys.executable, "-c", "pass"], args.runs, env)))
    checkov = BENCH / "venvs" / "checkov" / "bin" / "checkov"
    if checkov.exists():
        command = [
            str(checkov),
            "-d",
            corpus,
            "--framework",
            "terraform",
            "cloudformation",
            "--quiet",
            "--compact",
            "-o",
            "json",
        ]
        rows.append(("checkov -d (terraform, cloudformation)", *_measure(command, args.runs, env)))
    cfn_lint = BENCH / "venvs" / "cfn-lint" / "bin" / "cfn-lint"
    templates = [str(p) for p in sorted((CORPUS / "cloudformation").iterdir())]
    if cfn_lint.exists():
        rows.append(("cfn-lint on the 300 templates", *_measure([str(cfn_lint), *templates], args.runs, env)))
        rows.append(
            (
                "orgtrust-lint on the 300 templates, cold",
                *_measure([OURS, "check", *templates], args.runs, env, clear_cache),
            )
        )
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = [
        "# Benchmark results",
        "",
        f"One run of `make bench` ({args.runs} runs each, median wall time, peak RSS), {platform.node()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, {stamp}.",
        "",
        "| what | wall (s) | peak RSS (MB) |",
        "|---|---|---|",
        *(f"| {name} | {seconds:.2f} | {peak} |" for name, seconds, peak in rows),
        "",
    ]
    by_name = {name: seconds for name, seconds, _ in rows}
    cold = by_name["orgtrust-lint, full corpus, cold (no cache)"]
    ratios = [f"- warm vs cold: {cold / by_name['orgtrust-lint, full corpus, warm (cache hit)']:.1f}x faster"]
    checkov_time = by_name.get("checkov -d (terraform, cloudformation)")
    if checkov_time:
        ratios.append(f"- cold vs checkov: {checkov_time / cold:.1f}x faster")
    if "cfn-lint on the 300 templates" in by_name:
        ratio = by_name["cfn-lint on the 300 templates"] / by_name["orgtrust-lint on the 300 templates, cold"]
        ratios.append(f"- templates vs cfn-lint: {ratio:.1f}x faster")
    five_time = by_name["orgtrust-lint, 5 files (pre-commit), warm"]
    ratios.append(f"- 5-file run: {five_time:.2f} s, {five_time / by_name['python -c pass']:.1f}x `python -c pass`")
    (BENCH / "RESULTS.md").write_text("\n".join([*lines, "Ratios:", "", *ratios, ""]))
    print((BENCH / "RESULTS.md").read_text())
    shutil.rmtree(cache, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
