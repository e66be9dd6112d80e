"""Adopting orgtrust-lint in a repository with existing findings: ``check --write-baseline``,
``check --baseline`` and ``--baseline-prune``, as a user meets them."""

from __future__ import annotations

import json
import os
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


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = run(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


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
    assert (document["version"], document["tool"]) == (1, "orgtrust-lint")
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
        assert out.splitlines()[-1].endswith("in 1 file(s); 2 baselined")
    elif output_format == "json":
        document = json.loads(out)
        assert list(document) == ["version", "tool", "findings", "summary", "baseline"]
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
        ('{"version": 2, "tool": "orgtrust-lint", "findings": []}', "unsupported version 2"),
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
