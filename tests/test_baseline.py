"""Adopting orgtrust-lint in a repository with existing findings: ``check --write-baseline``,
``check --baseline`` and ``--baseline-prune``, as a user meets them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from orgtrust_lint.cli import run

SARIF_SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-2.1.0.json").read_text())
BASELINE = ".orgtrust-lint-baseline.json"

# Two OT101 typos and one OT102 duplicate (line 7); the tag policies principal itself is fine.
ORG = """resource "aws_organizations_organization" "org" {
  feature_set                   = "ALL"
  aws_service_access_principals = [
    "config.amazonaw.com",
    "securityhub.amazonaw.com",
    "tagpolicies.tag.amazonaws.com",
    "tagpolicies.tag.amazonaws.com",
  ]
}
"""
CONFIG_TYPO = "'config.amazonaw.com' is not a known trusted-access service principal"


# What a run checked (tests/test_cli.py covers it) says nothing about baselining: left out here.
_COVERAGE = re.compile(
    r"; checked \d+ principals? and \d+ statements?(?:; \d+ values? could not be resolved \(OT002\))?"
)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = run(list(argv))
    out, err = capsys.readouterr()
    return code, _COVERAGE.sub("", out), err


def _entries(path: Path) -> list[tuple[str, str, str]]:
    return [(e["rule"], e["path"], e["message"]) for e in json.loads(path.read_text())["findings"]]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "org").mkdir()
    (tmp_path / "org" / "main.tf").write_text(ORG)
    return tmp_path


@pytest.fixture
def baselined(project: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """The project with today's three findings recorded in its baseline."""
    assert run(["check", "--write-baseline", BASELINE]) == 0
    capsys.readouterr()
    return project / BASELINE


def test_write_baseline_records_the_findings_and_exits_0(project: Path, capsys) -> None:
    code, out, err = _run(capsys, "check", "--write-baseline", BASELINE)
    assert (code, out, err) == (0, f"Recorded 3 finding(s) in {BASELINE}.\n", "")
    document = json.loads((project / BASELINE).read_text())
    assert (document["version"], document["tool"]) == (2, "orgtrust-lint")
    assert [list(entry) for entry in document["findings"]] == [["rule", "path", "fingerprint", "message"]] * 3
    assert [(rule, path) for rule, path, _ in _entries(project / BASELINE)] == [
        ("OT101", "org/main.tf"),
        ("OT101", "org/main.tf"),
        ("OT102", "org/main.tf"),
    ]
    # Recording again after lines moved gives the same entries in the same order, so a review
    # diff of the baseline shows only real changes (OT102's message names the first line).
    before = json.loads((project / BASELINE).read_text())["findings"]
    (project / "org" / "main.tf").write_text("# owned by the platform team\n\n" + ORG)
    assert run(["check", "--write-baseline", BASELINE]) == 0
    after = json.loads((project / BASELINE).read_text())["findings"]
    assert [{**e, "message": ""} for e in after] == [{**e, "message": ""} for e in before]
    assert sorted(p.name for p in project.iterdir()) == [BASELINE, "org"]  # no temporary file left behind


def test_baselined_findings_are_not_reported_and_do_not_fail(baselined: Path, capsys) -> None:
    code, out, err = _run(capsys, "check", "--baseline", BASELINE)
    assert (code, out, err) == (0, "All checks passed (1 file; 3 baselined).\n", "")


def test_an_unrelated_edit_above_a_finding_keeps_it_baselined(baselined: Path, capsys) -> None:
    main = baselined.parent / "org" / "main.tf"
    edited = ORG.replace(
        "  aws_service_access_principals = [\n",
        "  # Trusted access, reviewed by security\n\n  aws_service_access_principals = [\n    # typos below\n",
    )
    main.write_text('terraform {\n  required_version = ">= 1.5"\n}\n\n' + edited)
    code, out, err = _run(capsys, "check", "--baseline", BASELINE)
    assert (code, out, err) == (0, "All checks passed (1 file; 3 baselined).\n", "")


def test_a_new_finding_is_reported_and_fails(baselined: Path, capsys) -> None:
    main = baselined.parent / "org" / "main.tf"
    main.write_text(ORG.replace('    "securityhub', '    "guardduty.amazonaw.com",\n    "securityhub'))
    code, out, err = _run(capsys, "check", "--baseline", BASELINE)
    assert code == 1 and err == ""
    lines = out.splitlines()
    assert lines[0].startswith("org/main.tf:5:5: OT101 [error] 'guardduty.amazonaw.com'")
    assert lines[1:] == ["Found 1 problem (1 error, 0 warnings, 0 info) in 1 file; 3 baselined."]


def test_a_fixed_finding_is_a_stale_entry_until_pruned(baselined: Path, capsys) -> None:
    main = baselined.parent / "org" / "main.tf"
    main.write_text(ORG.replace('    "config.amazonaw.com",\n', ""))
    recorded = json.loads(baselined.read_text())

    code, out, err = _run(capsys, "check", "--baseline", BASELINE)
    assert (code, out) == (0, "All checks passed (1 file; 2 baselined).\n")
    assert err.splitlines() == [
        f"orgtrust-lint: stale baseline entry: OT101 org/main.tf: {CONFIG_TYPO}; did you mean "
        "'config.amazonaws.com'? (fixed? run with --baseline-prune)"
    ]
    assert json.loads(baselined.read_text()) == recorded, "reporting a stale entry does not rewrite the file"

    code, out, err = _run(capsys, "check", "--baseline", BASELINE, "--baseline-prune")
    assert code == 0
    assert err.startswith("orgtrust-lint: removed stale baseline entry: OT101 org/main.tf: 'config.amazonaw.com'")
    pruned = json.loads(baselined.read_text())
    assert pruned["findings"] == [e for e in recorded["findings"] if not e["message"].startswith(CONFIG_TYPO)]
    assert len(pruned["findings"]) == 2

    pruned_bytes = baselined.read_bytes()
    code, out, err = _run(capsys, "check", "--baseline", BASELINE, "--baseline-prune")
    assert (code, out, err) == (0, "All checks passed (1 file; 2 baselined).\n", "")
    assert baselined.read_bytes() == pruned_bytes


def test_entries_a_run_could_not_have_found_are_neither_stale_nor_pruned(baselined: Path, capsys) -> None:
    (baselined.parent / "other").mkdir()
    (baselined.parent / "other" / "main.tf").write_text('locals {\n  team = "platform"\n}\n')
    recorded = baselined.read_bytes()
    # Only another directory, then only OT101: the OT102 entry and org/main.tf are out of sight.
    for argv in (["check", "other"], ["check", "--select", "OT101"]):
        code, _, err = _run(capsys, *argv, "--baseline", BASELINE, "--baseline-prune")
        assert (code, err) == (0, "")
    assert baselined.read_bytes() == recorded


@pytest.mark.parametrize("output_format", ["text", "json", "sarif", "github"])
def test_every_format_reports_only_new_findings(baselined: Path, capsys, output_format: str) -> None:
    main = baselined.parent / "org" / "main.tf"
    new_typo = '    "guardduty.amazonaw.com",\n'
    main.write_text(ORG.replace('    "config.amazonaw.com",\n', new_typo))  # one fixed, one new
    code, out, err = _run(capsys, "check", "--baseline", BASELINE, "--format", output_format)
    assert code == 1
    assert "stale baseline entry: OT101 org/main.tf: 'config.amazonaw.com'" in err
    if output_format == "text":
        assert "guardduty.amazonaw.com" in out and "securityhub" not in out
        assert out.splitlines()[-1] == "Found 1 problem (1 error, 0 warnings, 0 info) in 1 file; 2 baselined."
    elif output_format == "github":
        annotations = [line for line in out.splitlines() if line.startswith("::")]
        assert len(annotations) == 1 and "guardduty.amazonaw.com" in annotations[0]
        assert out.splitlines()[-1].endswith("in 1 file; 2 baselined")
    elif output_format == "json":
        document = json.loads(out)
        assert list(document) == ["version", "tool", "findings", "summary", "skipped", "baseline"]
        assert [f["principal"] for f in document["findings"]] == ["guardduty.amazonaw.com"]
        assert document["summary"]["findings"] == 1
        assert document["baseline"]["file"] == BASELINE and document["baseline"]["matched"] == 2
        [stale] = document["baseline"]["stale"]
        assert (stale["rule"], stale["path"]) == ("OT101", "org/main.tf")
        assert stale["message"].startswith(CONFIG_TYPO)
    else:
        document = json.loads(out)
        jsonschema.validate(document, SARIF_SCHEMA)
        results = document["runs"][0]["results"]
        assert len(results) == 3, "SARIF carries every finding, baselined or not"
        states = {(r["ruleId"], r["properties"]["principal"]): r["baselineState"] for r in results}
        assert states == {
            ("OT101", "guardduty.amazonaw.com"): "new",
            ("OT101", "securityhub.amazonaw.com"): "unchanged",
            ("OT102", "tagpolicies.tag.amazonaws.com"): "unchanged",
        }


def test_sarif_without_a_baseline_has_no_baseline_state(project: Path, capsys) -> None:
    _, out, _ = _run(capsys, "check", "--format", "sarif")
    assert all("baselineState" not in result for result in json.loads(out)["runs"][0]["results"])


VALID_ENTRY = {"rule": "OT101", "path": "org/main.tf", "fingerprint": "0" * 32 + ":1", "message": "m"}


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "no such file (record one with --write-baseline"),
        ("{\n  'version': 1\n}\n", "not valid JSON (Expecting property name enclosed in double quotes at line 2"),
        (
            '{"version": 3, "tool": "orgtrust-lint", "findings": []}',
            "unsupported version 3 (this orgtrust-lint reads versions 1 and 2)",
        ),
        ("[]", "expected a JSON object with version, tool and findings"),
        ('{"version": 1, "tool": "orgtrust-lint"}', "'findings' is a required property"),
        ('{"version": 1, "tool": "eslint", "findings": []}', "'tool': expected \"orgtrust-lint\""),
        ('{"version": 1, "tool": "orgtrust-lint", "findings": {}}', "'findings': expected a list of entries"),
        (
            json.dumps({"version": 1, "tool": "orgtrust-lint", "findings": [{**VALID_ENTRY, "fingerprint": "12"}]}),
            "'findings/0/fingerprint': expected a fingerprint as written by --write-baseline",
        ),
        (
            json.dumps({"version": 1, "tool": "orgtrust-lint", "findings": [VALID_ENTRY, {"rule": "OT101"}]}),
            "'findings/1': 'path' is a required property",
        ),
        (b"\xff\xfe{\x00}\x00", "not UTF-8 text"),
    ],
)
def test_a_broken_baseline_is_one_line_and_exit_2(
    project: Path, capsys, content: str | bytes | None, problem: str
) -> None:
    if isinstance(content, str):
        (project / BASELINE).write_text(content)
    elif isinstance(content, bytes):
        (project / BASELINE).write_bytes(content)
    code, out, err = _run(capsys, "check", "--baseline", BASELINE)
    assert (code, out) == (2, "")
    assert err.startswith(f"orgtrust-lint: error: --baseline: {BASELINE}: {problem}"), err
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["--baseline-prune"], "--baseline-prune only goes with --baseline"),
        (["--baseline", BASELINE, "--write-baseline", BASELINE], "not allowed with argument --baseline"),
        (["--write-baseline", "missing-directory/baseline.json"], "cannot write (No such file or directory)"),
    ],
)
def test_baseline_usage_errors_are_one_line_and_exit_2(project: Path, capsys, argv: list[str], problem: str) -> None:
    code, out, err = _run(capsys, "check", *argv)
    assert (code, out) == (2, "")
    assert err.startswith("orgtrust-lint: error: ") and problem in err and err.count("\n") == 1, err


def test_a_file_orgtrust_lint_failed_on_is_not_recorded(project: Path, capsys, monkeypatch) -> None:
    from orgtrust_lint import lint

    (project / "stack.yaml").write_text(
        'AWSTemplateFormatVersion: "2010-09-09"\nResources:\n  Role:\n    Type: AWS::IAM::ServiceLinkedRole\n'
        "    Properties:\n      AWSServiceName: config.amazonaw.com\n"
    )

    def buggy(path: str, text: str):
        raise TypeError("unexpected node")

    monkeypatch.setattr(lint, "extract_cloudformation", buggy)
    code, out, err = _run(capsys, "check", "--write-baseline", BASELINE, "--no-cache", "--jobs", "1")
    assert code == 3, "incomplete: the baseline misses what the failed file holds"
    assert out == f"Recorded 3 finding(s) in {BASELINE}.\n"
    assert err.startswith("orgtrust-lint: not recorded: stack.yaml:1:1: orgtrust-lint failed while parsing")
    assert {rule for rule, _, _ in _entries(project / BASELINE)} == {"OT101", "OT102"}


def test_jsonschema_is_imported_only_when_a_baseline_is_read(baselined: Path) -> None:
    script = (
        "import sys; from orgtrust_lint.cli import run; run(sys.argv[1:]); "
        "print('jsonschema' in sys.modules, file=sys.stderr)"
    )

    def imports_jsonschema(*argv: str) -> bool:
        done = subprocess.run([sys.executable, "-c", script, *argv], capture_output=True, text=True, env={**os.environ})
        return done.stderr.splitlines()[-1] == "True"

    imports_jsonschema("check")  # the first run validates the shipped data files and remembers it
    assert not imports_jsonschema("check")
    assert not imports_jsonschema("check", "--write-baseline", BASELINE)
    assert imports_jsonschema("check", "--baseline", BASELINE)


def test_a_baseline_does_not_silence_an_unignorable_rule(project: Path, capsys) -> None:
    assert _run(capsys, "check", "--write-baseline", BASELINE)[0] == 0
    (project / ".orgtrust-lint.yaml").write_text("unignorable: [OT101]\n")
    code, out, _ = _run(capsys, "check", "--baseline", BASELINE, "--format", "json")
    assert code == 1
    assert sorted(f["rule"] for f in json.loads(out)["findings"]) == ["OT101", "OT101"]  # OT102 stays baselined


# Issue 15: a baseline, its pruning, inline ignores and per-path-ignores give the same results from
# any working directory. The project: org/main.tf (three findings) and team/stack.yaml (one), with the
# baseline at the project root.
TEAM = """AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Role:
    Type: AWS::IAM::ServiceLinkedRole
    Properties:
      AWSServiceName: guardduty.amazonaw.com
"""


@pytest.fixture
def two_teams(project: Path) -> Path:
    (project / "team").mkdir()
    (project / "team" / "stack.yaml").write_text(TEAM)
    return project


def _ways(project: Path, elsewhere: Path) -> dict[str, tuple[Path, str, str]]:
    """(working directory, how the project is named, how the baseline is named) for each way of running."""
    link = elsewhere / "checkout"  # the project reached through a symbolic link, as in some CI workspaces
    if not link.exists():
        link.symlink_to(project, target_is_directory=True)
    return {
        "root": (project, ".", BASELINE),
        "subdirectory": (project / "team", "..", f"../{BASELINE}"),
        "absolute": (elsewhere, str(project), str(project / BASELINE)),
        "linked": (elsewhere, str(link), str(link / BASELINE)),
    }


def _fingerprinted(path: Path) -> list[tuple[str, str, str]]:
    return [(e["rule"], e["path"], e["fingerprint"]) for e in json.loads(path.read_text())["findings"]]


@pytest.mark.parametrize("way", ["root", "subdirectory", "absolute", "linked"])
def test_fu_m1_baseline_works_the_same_from_any_directory(
    two_teams: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, capsys, way: str
) -> None:
    """M1: from a subdirectory (`check ..`) every baselined finding came back as new, every entry was
    stale and --baseline-prune emptied the baseline (4 entries -> 0). Recording, matching, stale
    entries and pruning must not depend on where the run starts."""
    project = two_teams
    cwd, target, baseline_name = _ways(project, tmp_path_factory.mktemp("elsewhere"))[way]
    assert _run(capsys, "check", "--write-baseline", BASELINE)[0] == 0  # the reference: from the root
    reference = _fingerprinted(project / BASELINE)
    assert [(rule, path) for rule, path, _ in reference] == [
        ("OT101", "org/main.tf"),
        ("OT101", "org/main.tf"),
        ("OT102", "org/main.tf"),
        ("OT101", "team/stack.yaml"),
    ]
    recorded = (project / BASELINE).read_bytes()

    monkeypatch.chdir(cwd)
    assert _run(capsys, "check", target, "--write-baseline", baseline_name)[0] == 0
    assert _fingerprinted(project / BASELINE) == reference, "the same entries, whoever records them"
    (project / BASELINE).write_bytes(recorded)

    code, out, err = _run(capsys, "check", target, "--baseline", baseline_name, "--baseline-prune")
    assert (code, out, err) == (0, "All checks passed (2 files; 4 baselined).\n", "")
    assert (project / BASELINE).read_bytes() == recorded

    # Runs over other files or other rules say nothing about org/main.tf's entries: left alone.
    only_team = os.path.join(target, "team") if way != "subdirectory" else "."
    for argv in ([only_team], [target, "--select", "OT102"]):
        code, _, err = _run(capsys, "check", *argv, "--baseline", baseline_name, "--baseline-prune")
        assert (code, err) == (0, ""), argv
        assert (project / BASELINE).read_bytes() == recorded, argv

    # One finding fixed, one new: the same stale entry (named as the findings name the file) and the same pruning.
    org = project / "org" / "main.tf"
    org.write_text(ORG.replace('    "config.amazonaw.com",\n', '    "inspector2.amazonaw.com",\n'))
    code, out, err = _run(capsys, "check", target, "--baseline", baseline_name, "--format", "json")
    document = json.loads(out)
    assert code == 1
    assert [(f["rule"], f["principal"]) for f in document["findings"]] == [("OT101", "inspector2.amazonaw.com")]
    shown_org = document["findings"][0]["path"]
    assert os.path.samefile(shown_org, org)
    assert document["baseline"]["matched"] == 3
    assert [(e["rule"], e["path"]) for e in document["baseline"]["stale"]] == [("OT101", shown_org)]
    assert err.startswith(f"orgtrust-lint: stale baseline entry: OT101 {shown_org}: 'config.amazonaw.com'")
    assert _run(capsys, "check", target, "--baseline", baseline_name, "--baseline-prune")[0] == 1
    assert _fingerprinted(project / BASELINE) == [entry for entry in reference if entry != reference[0]]


def _version_1(path: Path) -> None:
    """Make a recorded baseline what orgtrust-lint wrote before issue 15: the same entries (paths relative
    to the directory it was recorded in), version 1."""
    document = json.loads(path.read_text())
    path.write_text(json.dumps({**document, "version": 1}, indent=2) + "\n")


def test_fu_m1_a_version_1_baseline_keeps_working_where_it_unambiguously_can(
    two_teams: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """M1: a version 1 baseline (paths relative to the working directory it was recorded in) is read as
    before from its own directory, and from a subdirectory where only one reading names existing files."""
    project = two_teams
    assert _run(capsys, "check", "--write-baseline", BASELINE)[0] == 0
    _version_1(project / BASELINE)
    old = (project / BASELINE).read_bytes()
    assert _run(capsys, "check", "--baseline", BASELINE) == (0, "All checks passed (2 files; 4 baselined).\n", "")

    monkeypatch.chdir(project / "team")  # org/main.tf and team/stack.yaml exist only from the root
    code, out, err = _run(capsys, "check", "..", "--baseline", f"../{BASELINE}")
    assert (code, out, err) == (0, "All checks passed (2 files; 4 baselined).\n", "")
    assert (project / BASELINE).read_bytes() == old, "reading never rewrites it"

    # --baseline-prune converts it to version 2: recorded in its own directory, it holds exactly those paths.
    code, out, err = _run(capsys, "check", "..", "--baseline", f"../{BASELINE}", "--baseline-prune")
    assert (code, out) == (0, "All checks passed (2 files; 4 baselined).\n")
    assert err == f"orgtrust-lint: converted ../{BASELINE} to version 2: its paths are relative to its own directory\n"
    assert json.loads((project / BASELINE).read_text()) == {**json.loads(old), "version": 2}
    converted = (project / BASELINE).read_bytes()
    monkeypatch.chdir(project)
    assert _run(capsys, "check", "--baseline", BASELINE, "--baseline-prune")[1:] == (
        "All checks passed (2 files; 4 baselined).\n",
        "",
    )
    assert (project / BASELINE).read_bytes() == converted


def test_fu_m1_a_version_1_baseline_recorded_in_a_subdirectory_keeps_working_there(
    two_teams: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """A version 1 baseline recorded from team/ (its paths relative to team/) still works from team/."""
    project = two_teams
    monkeypatch.chdir(project / "team")
    assert _run(capsys, "check", "--write-baseline", BASELINE)[0] == 0  # version 2, relative to team/
    (project / "team" / BASELINE).rename(project / BASELINE)
    _version_1(project / BASELINE)  # now exactly what the old orgtrust-lint wrote with ../BASELINE
    assert [path for _, path, _ in _fingerprinted(project / BASELINE)] == ["stack.yaml"]
    code, out, err = _run(capsys, "check", "--baseline", f"../{BASELINE}", "--baseline-prune")
    assert (code, out, err) == (0, "All checks passed (1 file; 1 baselined).\n", "")


def test_fu_m1_an_ambiguous_version_1_baseline_is_one_line_and_exit_2(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """A version 1 entry 'main.tf' names a file both from the baseline's directory and from the working
    directory: which one was meant cannot be told, so no finding is matched (or pruned) by guess."""
    (project / "main.tf").write_text(ORG)
    (project / "team").mkdir()
    (project / "team" / "main.tf").write_text(ORG)
    assert _run(capsys, "check", "main.tf", "--write-baseline", BASELINE)[0] == 0
    _version_1(project / BASELINE)
    old = (project / BASELINE).read_bytes()
    monkeypatch.chdir(project / "team")
    code, out, err = _run(capsys, "check", ".", "--baseline", f"../{BASELINE}", "--baseline-prune")
    assert (code, out) == (2, "")
    assert err.startswith(f"orgtrust-lint: error: --baseline: ../{BASELINE}: a version 1 baseline"), err
    assert err.count("\n") == 1
    assert "run from the directory it was recorded in" in err
    assert (project / BASELINE).read_bytes() == old


def test_a_non_utf8_file_name_is_recorded_losslessly(project: Path, capsys) -> None:
    """--write-baseline failed with an internal UnicodeEncodeError on a file name that is not UTF-8."""
    name = os.fsdecode(b"legacy-\xff.tf")
    (project / name).write_text(ORG)
    code, out, err = _run(capsys, "check", "--write-baseline", BASELINE)
    assert (code, out, err) == (0, f"Recorded 6 finding(s) in {BASELINE}.\n", "")
    raw = (project / BASELINE).read_bytes()
    raw.decode("utf-8")  # still UTF-8 JSON: the odd byte is kept as an escape, not written raw
    assert {path for _, path, _ in _entries(project / BASELINE)} == {name, "org/main.tf"}
    assert _run(capsys, "check", "--baseline", BASELINE) == (0, "All checks passed (2 files; 6 baselined).\n", "")

    (project / name).unlink()
    code, out, err = _run(capsys, "check", "--baseline", BASELINE, "--baseline-prune")
    assert code == 0
    assert err.splitlines()[0].startswith("orgtrust-lint: removed stale baseline entry: OT101 legacy-\\xff.tf: ")
    assert {path for _, path, _ in _entries(project / BASELINE)} == {"org/main.tf"}


def test_issue15_ignores_and_per_path_ignores_are_the_same_from_any_directory(
    two_teams: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """Issue 15 item 3: inline ignores (used, unused) and per-path-ignores (by glob, relative to the
    configuration's directory) select the same findings wherever the run starts; only the shown paths differ."""
    project = two_teams
    (project / ".orgtrust-lint.yaml").write_text('per-path-ignores:\n  "org/**": [OT102]\n  "*.tf": [OT103]\n')
    org = ORG.replace(
        '    "config.amazonaw.com",\n', '    # orgtrust-lint: ignore[OT101] legacy\n    "config.amazonaw.com",\n'
    )
    (project / "org" / "main.tf").write_text(org)
    (project / "team" / "stack.yaml").write_text("# orgtrust-lint: ignore[OT105] nothing to silence here\n" + TEAM)

    seen = {}
    for way, (cwd, target, _) in _ways(project, tmp_path_factory.mktemp("elsewhere")).items():
        monkeypatch.chdir(cwd)
        code, out, _ = _run(capsys, "check", target, "--format", "json")
        document = json.loads(out)
        findings = sorted(
            (f["rule"], os.path.relpath(os.path.realpath(f["path"]), project), f["line"]) for f in document["findings"]
        )
        seen[way] = (code, findings, document["summary"])
    assert seen["root"][1] == [
        ("OT005", "team/stack.yaml", 1),
        ("OT101", "org/main.tf", 6),
        ("OT101", "team/stack.yaml", 7),
    ]
    assert seen["subdirectory"] == seen["root"] and seen["absolute"] == seen["root"] and seen["linked"] == seen["root"]
