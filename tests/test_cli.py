"""The command line as users meet it: output format, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from orgtrust_lint.cli import run

REPO = Path(__file__).resolve().parent.parent
TYPOS = "fixtures/terraform/org-typos"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = run(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


ORG_WITH_TYPO = """resource "aws_organizations_organization" "org" {
  aws_service_access_principals = [
    "sso.amazonaws.com",
    "config.amazonaw.com",
  ]
}
"""


def test_text_output_reads_like_ruff(capsys: pytest.CaptureFixture[str], in_repo_root: None) -> None:
    code, out, err = _run(capsys, "check", TYPOS)
    assert code == 1
    assert err == ""
    lines = out.splitlines()
    assert (
        f"{TYPOS}/main.tf:7:5: OT101 [error] 'config.amazonaw.com' is not a known trusted-access "
        "service principal; did you mean 'config.amazonaws.com'?"
    ) in lines
    assert lines[-1].startswith("Found ") and "in 1 file" in lines[-1]


def test_json_output_follows_the_spec(capsys: pytest.CaptureFixture[str], in_repo_root: None) -> None:
    code, out, _ = _run(capsys, "check", TYPOS, "--format", "json")
    document = json.loads(out)
    assert code == 1
    assert document["version"] == 1
    assert document["tool"]["name"] == "orgtrust-lint"
    typo = next(f for f in document["findings"] if f["principal"] == "config.amazonaw.com")
    assert typo == {
        "rule": "OT101",
        "name": "unknown-service-principal",
        "severity": "error",
        "path": f"{TYPOS}/main.tf",
        "line": 7,
        "column": 5,
        "end_line": 7,
        "end_column": 26,
        "message": typo["message"],
        "principal": "config.amazonaw.com",
        "suggestion": "config.amazonaws.com",
    }
    summary = document["summary"]
    assert summary["files"] == 1
    assert summary["findings"] == len(document["findings"])
    assert summary["errors"] + summary["warnings"] + summary["infos"] == summary["findings"]


def test_clean_repository_exits_zero(capsys: pytest.CaptureFixture[str], in_repo_root: None) -> None:
    code, out, _ = _run(capsys, "check", "fixtures/terraform/clean")
    assert code == 0
    assert out.strip() == "All checks passed (1 file; checked 12 principals and 0 statements)."


def test_fail_on_decides_the_exit_code(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    _write(
        tmp_path,
        "main.tf",
        ORG_WITH_TYPO.replace('"config.amazonaw.com"', '"ipam.amazonaws.com"'),
    )
    code, out, _ = _run(capsys, "check", str(tmp_path), "--select", "OT,OT105")
    assert "OT105 [warning]" in out
    assert code == 0  # a warning does not fail the default --fail-on error
    assert _run(capsys, "check", str(tmp_path), "--select", "OT,OT105", "--fail-on", "warning")[0] == 1


def test_select_and_ignore_filter_rules(capsys: pytest.CaptureFixture[str], in_repo_root: None) -> None:
    _, only_103, _ = _run(capsys, "check", TYPOS, "--select", "OT103", "--format", "json")
    assert {f["rule"] for f in json.loads(only_103)["findings"]} == {"OT103"}
    _, without_1xx, _ = _run(capsys, "check", TYPOS, "--ignore", "OT10", "--format", "json")
    assert json.loads(without_1xx)["findings"] == []


def test_ignored_rules_from_config_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    _write(tmp_path, "main.tf", ORG_WITH_TYPO)
    _write(tmp_path, "pyproject.toml", '[tool.orgtrust-lint]\nignore = ["OT101"]\n')
    code, out, _ = _run(capsys, "check", str(tmp_path))
    assert code == 0
    assert "OT101" not in out


def test_extra_principals_from_config_are_known(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    _write(tmp_path, "main.tf", ORG_WITH_TYPO.replace("config.amazonaw.com", "preview.example-svc.amazonaws.com"))
    assert "OT101" in _run(capsys, "check", str(tmp_path))[1]
    _write(tmp_path, ".orgtrust-lint.yaml", "extra-principals: [preview.example-svc.amazonaws.com]\n")
    code, out, _ = _run(capsys, "check", str(tmp_path))
    assert code == 0, out


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["check", "--format", "xml"], "invalid choice: 'xml'"),
        (["check", "no/such/dir"], "no/such/dir: no such file or directory"),
        (["check", "--select", "X1"], "'X1' is not a rule code"),
        (["check", "--select", "XY1"], "--select: no rule is XY1 or starts with it"),
        (["explain", "OT999"], "unknown rule 'OT999'"),
        (["services", "config.amazonaw.com"], "did you mean 'config.amazonaws.com'"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["check", "--jobs", "0"], "expected at least 1 process, got 0"),
        (["check", "--jobs", "many"], "expected a whole number of processes, got 'many'"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], in_repo_root: None, argv: list[str], fragment: str
) -> None:
    code, out, err = _run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert fragment in err
    assert err.startswith("orgtrust-lint: error: ")


def test_bad_config_is_one_line_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    _write(tmp_path, "main.tf", ORG_WITH_TYPO)
    _write(tmp_path, ".orgtrust-lint.yaml", "ignore: [OT101]\nfail_on: sometimes\n")
    code, _, err = _run(capsys, "check", str(tmp_path))
    assert code == 2
    assert ".orgtrust-lint.yaml: 'fail-on': must be error, warning or info\n" in err
    _write(tmp_path, ".orgtrust-lint.yaml", "select: [OT101]\nunknown_key: 1\n")
    code, _, err = _run(capsys, "check", str(tmp_path))
    assert code == 2 and "'unknown-key': unknown setting (known: " in err
    _write(tmp_path, ".orgtrust-lint.yaml", "select: [OT101\n")
    code, _, err = _run(capsys, "check", str(tmp_path))
    assert code == 2 and "not valid YAML" in err and len(err.splitlines()) == 1


def test_rules_lists_every_rule(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "rules")
    assert code == 0
    ids = [line.split()[0] for line in out.splitlines() if line.startswith("OT")]
    assert ids == sorted(ids)
    assert {"OT001", "OT002", "OT101", "OT102", "OT103", "OT104", "OT105", "OT106", "OT301"} <= set(ids)


def test_explain_prints_every_rule_in_full(capsys: pytest.CaptureFixture[str]) -> None:
    from orgtrust_lint.engine import load_rules

    for rule in load_rules():
        code, out, _ = _run(capsys, "explain", rule.id.lower())
        assert code == 0
        assert out.startswith(f"{rule.id} {rule.name} (default severity: {rule.severity.value})")
        for heading in ("What it does", "Why is this bad?", "Example", "Use instead", "References"):
            assert f"\n{heading}\n" in out, (rule.id, heading)
        assert rule.bad_example.strip().splitlines()[0].strip() in out
        assert all(url in out for _, url in rule.references)


def test_services_prints_the_catalog(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "services")
    assert code == 0
    assert "sso.amazonaws.com" in out and "IAM Identity Center" in out
    assert len([line for line in out.splitlines() if ".amazon" in line]) >= 50
    code, details, _ = _run(capsys, "services", "sso.amazonaws.com")
    assert code == 0
    assert "https://docs.aws.amazon.com/" in details
    assert "disabling from Organizations:" in details


def test_installed_console_script_runs_from_anywhere(tmp_path: Path) -> None:
    """The entry point works outside the checkout: rules and catalog ship inside the package."""
    script = shutil.which("orgtrust-lint", path=os.path.dirname(sys.executable))
    assert script, "the orgtrust-lint console script is not installed next to this Python"
    _write(tmp_path, "org/main.tf", ORG_WITH_TYPO)
    env = {**os.environ, "NO_COLOR": "1"}
    result = subprocess.run([script, "check", "org"], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 1, result.stderr
    assert "org/main.tf:4:5: OT101 [error]" in result.stdout
    assert result.stderr == ""


def _fixture_files() -> list[str]:
    """The fixtures the pre-commit hooks would pass: those their `files` pattern matches."""
    import re

    import yaml

    patterns = {hook["files"] for hook in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    assert len(patterns) == 1, "both hooks pass the same files"
    passed = re.compile(patterns.pop())
    files = (p for p in (REPO / "fixtures").rglob("*") if p.is_file() and passed.search(p.name))
    return sorted(str(p.relative_to(REPO)) for p in files)


@pytest.mark.parametrize("path", _fixture_files())
def test_no_fixture_file_makes_the_cli_fail(capsys: pytest.CaptureFixture[str], in_repo_root: None, path: str) -> None:
    """Each fixture on its own, as pre-commit passes files: findings or not, never an error."""
    code, out, err = _run(capsys, "check", path)
    assert code in (0, 1), err
    assert err == ""
    assert out.rstrip().splitlines()[-1].startswith(("Found ", "All checks passed"))


def test_suppressed_findings_are_counted_not_shown(capsys: pytest.CaptureFixture[str], in_repo_root: None) -> None:
    code, out, _ = _run(capsys, "check", "fixtures/terraform/suppressed")
    assert code == 1
    assert "preview-service" not in out and "Config.amazonaws.com" not in out and "not-a-service" not in out
    assert "preview-two" not in out  # its ignore has not expired yet
    assert "guarduty.amazonaws.com" in out and "previewed-service" in out  # the latter's ignore expired
    assert "; 4 suppressed; checked " in out.splitlines()[-1]


def test_malformed_file_reports_its_line_and_the_rest_is_linted(
    capsys: pytest.CaptureFixture[str], in_repo_root: None
) -> None:
    code, out, err = _run(capsys, "check", "fixtures/terraform/malformed")
    assert code == 1 and err == ""
    assert (
        "fixtures/terraform/malformed/broken.tf:7:5: OT001 [error] cannot parse this file: unexpected 'feature_set'"
        in out
    )
    assert "fixtures/terraform/malformed/sibling.tf:4:22: OT101" in out
    assert "fixtures/terraform/malformed/other-module/main.tf:4:23: OT101" in out


def test_rules_and_services_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["rules", "--format", "json"]) == 0
    rules = json.loads(capsys.readouterr().out)["rules"]
    ot101 = next(rule for rule in rules if rule["id"] == "OT101")
    assert {"id": "OT101", "name": "unknown-service-principal", "severity": "error"}.items() <= ot101.items()
    assert run(["services", "--format", "json"]) == 0
    services = json.loads(capsys.readouterr().out)["services"]
    assert len(services) >= 50 and all(s["sources"] for s in services)
    assert run(["services", "sso.amazonaws.com", "--format", "json"]) == 0
    assert [s["principal"] for s in json.loads(capsys.readouterr().out)["services"]] == ["sso.amazonaws.com"]


def test_text_is_colored_only_on_a_terminal_without_no_color(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, in_repo_root: None
) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    monkeypatch.setenv("TERM", "xterm")
    run(["check", TYPOS])
    assert "\033[31mOT101 [error]\033[0m" in capsys.readouterr().out
    monkeypatch.setenv("NO_COLOR", "1")
    run(["check", TYPOS])
    assert "\033[" not in capsys.readouterr().out


def test_jobs_change_nothing_but_speed(capsys: pytest.CaptureFixture[str], in_repo_root: None, monkeypatch) -> None:
    from orgtrust_lint import parallel

    monkeypatch.setattr(parallel, "MIN_PARALLEL_ITEMS", 1)  # the fixtures are small: use workers anyway
    outputs = [_run(capsys, "check", "fixtures", "--format", "json", "--jobs", jobs) for jobs in ("1", "2", "4")]
    assert outputs[0][0] == 1 and outputs[0][2] == ""
    assert outputs[0][:2] == outputs[1][:2] == outputs[2][:2]


def test_jobs_beyond_the_cpus_are_capped_with_a_note(
    capsys: pytest.CaptureFixture[str], in_repo_root: None, monkeypatch
) -> None:
    """D20: --jobs 100000 used to start 2,001 worker processes (8 GB); now never more than the CPUs."""
    import multiprocessing

    from orgtrust_lint import parallel

    monkeypatch.setattr(parallel, "MIN_PARALLEL_ITEMS", 1)
    started: list[int] = []
    real_context = parallel._context

    class CountingContext:
        def Pool(self, processes: int, **options):  # the multiprocessing name
            started.append(processes)
            return real_context().Pool(processes=processes, **options)

        def get_start_method(self) -> str:
            return str(real_context().get_start_method())

    monkeypatch.setattr(parallel, "_context", CountingContext)
    code, out, err = _run(capsys, "check", "fixtures", "--format", "json", "--jobs", "100000", "--no-cache")
    cpus = parallel.default_jobs()
    assert code == 1 and json.loads(out)["summary"]["findings"] > 0
    assert err == f"orgtrust-lint: --jobs 100000 is more than the {cpus} CPU(s) available; using {cpus}\n"
    assert max(started, default=0) <= cpus <= multiprocessing.cpu_count()


def test_the_summary_says_how_much_was_checked_and_what_was_not(
    capsys: pytest.CaptureFixture[str], in_repo_root: None
) -> None:
    """A green run says how much it saw (issue 16): principals and statements checked, values unresolved."""
    code, out, _ = _run(capsys, "check", "fixtures/terraform/unresolved", "--format", "json")
    assert code == 1
    coverage = json.loads(out)["summary"]["coverage"]
    assert coverage["principals"]["unresolved"] == 3  # a module output, a variable without a value, a data source
    assert coverage["principals"]["checked"] >= 4
    _, out, _ = _run(capsys, "check", "fixtures/terraform/unresolved")
    assert out.splitlines()[-1].endswith("; 3 values could not be resolved (OT002).")


def test_services_details_for_every_principal(capsys: pytest.CaptureFixture[str]) -> None:
    """Every catalog entry prints, those whose service-linked roles the sources leave unsaid too
    (backup.amazonaws.com used to be an internal error), each with its sources."""
    from orgtrust_lint.catalog import Catalog

    for principal, entry in Catalog.load().entries.items():
        code, out, err = _run(capsys, "services", principal)
        assert code == 0 and err == "", principal
        assert all(url in out for url in entry["sources"]), principal
    code, out, _ = _run(capsys, "services", "backup.amazonaws.com")
    assert "service-linked roles: not documented" in out
