"""Reports for CI systems and code hosts (issue 20): several reports from one run (--output
FORMAT[=FILE]), JUnit validated against a JUnit schema, GitLab Code Quality's fields, SARIF for GitHub
code scanning (security severity, markdown help, rule pages, repository-root paths, GitHub's limits),
--exit-zero and --color."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import jsonschema
import pytest
import xmlschema

from orgtrust_lint.cli import run

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data"
SARIF_SCHEMA = json.loads((DATA / "sarif-2.1.0.json").read_text())
JUNIT_SCHEMA = xmlschema.XMLSchema(str(DATA / "junit-10.xsd"))
TYPO = (
    'resource "aws_organizations_organization" "org" {\n  aws_service_access_principals = ["config.amazonaw.com"]\n}\n'
)
# fixtures/policy brings rules of its own (ACME101, ...): a team's rules are reported like the shipped ones.
TEXT_LINE = re.compile(r"^(?P<path>.+?):(?P<line>\d+):\d+: (?P<rule>[A-Z]{2,}\d+) \[")
GITLAB_SEVERITIES = {"info", "minor", "major", "critical", "blocker"}


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = run(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# ---- several reports, one run ---------------------------------------------------------------------


def _from_text(out: str) -> set[tuple[str, str, int]]:
    return {(m["rule"], m["path"], int(m["line"])) for m in map(TEXT_LINE.match, out.splitlines()) if m}


def _from_sarif(document: dict) -> set[tuple[str, str, int]]:
    return {
        (
            r["ruleId"],
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
        )
        for r in document["runs"][0]["results"]
        if not r.get("suppressions")
    }


def _from_junit(root: ElementTree.Element) -> set[tuple[str, str, int]]:
    found = set()
    for suite in root.iter("testsuite"):
        for case in suite.iter("testcase"):
            for problem in [*case.iter("failure"), *case.iter("error")]:
                for line in (problem.text or "").splitlines():
                    found.add((problem.attrib["type"], suite.attrib["file"], int(line.split(":")[0])))
    return found


def _from_gitlab(issues: list[dict]) -> set[tuple[str, str, int]]:
    return {(i["check_name"], i["location"]["path"], i["location"]["lines"]["begin"]) for i in issues}


def test_one_run_writes_text_sarif_junit_and_gitlab_with_the_same_findings(
    capsys: pytest.CaptureFixture[str], in_repo_root: None, tmp_path: Path
) -> None:
    sarif, junit, gitlab = tmp_path / "a.sarif", tmp_path / "a.xml", tmp_path / "a.json"
    code, out, err = _run(
        capsys, "check", "fixtures", "--output", f"sarif={sarif}", "-o", f"junit={junit}", "-o", f"gitlab={gitlab}"
    )
    assert code == 1 and err == ""
    text = _from_text(out)
    assert len(text) > 20, "the fixtures have findings of many rules"
    assert out.splitlines()[-1].startswith("Found "), "standard output holds the text report, as without --output"
    assert _from_sarif(json.loads(sarif.read_text())) == text
    assert _from_junit(ElementTree.parse(junit).getroot()) == text
    assert _from_gitlab(json.loads(gitlab.read_text())) == text


def test_an_output_without_a_file_is_standard_output(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(TYPO)
    code, out, _ = _run(capsys, "check", str(tmp_path), "--output", "gitlab", "-o", f"json={tmp_path / 'r.json'}")
    assert code == 1
    assert [i["check_name"] for i in json.loads(out)] == ["OT101"]
    assert json.loads((tmp_path / "r.json").read_text())["summary"]["findings"] == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--format", "json", "--output", "sarif"], "only one report can go to standard output"),
        (["-o", "text", "-o", "github=-"], "only one report can go to standard output"),
        (["-o", "checkstyle=x.xml"], "unknown format 'checkstyle'"),
        (["-o", "sarif="], "names no file"),
        (["-o", "sarif=missing/dir/a.sarif"], "no such directory missing/dir"),
        (["-o", "sarif=a.sarif", "-o", "gitlab=./a.sarif"], "a.sarif is named twice"),
        (["-o", "sarif=."], "is a directory"),
    ],
)
def test_output_usage_errors_are_one_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch
) -> None:
    (tmp_path / "main.tf").write_text(TYPO)
    monkeypatch.chdir(tmp_path)
    code, out, err = _run(capsys, "check", *argv)
    assert (code, out) == (2, "")
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "a.sarif").exists(), "nothing is linted or written before the outputs are known good"


# ---- JUnit ------------------------------------------------------------------------------------------


def test_junit_validates_against_the_junit_schema(capsys: pytest.CaptureFixture[str], in_repo_root: None) -> None:
    code, out, _ = _run(capsys, "check", "fixtures", "--format", "junit")
    assert code == 1
    JUNIT_SCHEMA.validate(out)
    root = ElementTree.fromstring(out)
    suites = root.findall("testsuite")
    assert int(root.attrib["tests"]) == sum(int(s.attrib["tests"]) for s in suites)
    assert int(root.attrib["failures"]) > 0
    # A file without findings is one passing test case: the report counts every file checked.
    passing = [s for s in suites if s.attrib["failures"] == "0" and s.attrib["errors"] == "0"]
    assert passing and all(len(s.findall("testcase")) == 1 for s in passing)
    # One test case per rule and file: the typo fixture's three OT101 findings are one failure.
    typos = next(s for s in suites if s.attrib["file"] == "fixtures/terraform/org-typos/main.tf")
    ot101 = next(c for c in typos.findall("testcase") if c.attrib["name"].startswith("OT101 "))
    failure = ot101.find("failure")
    assert failure is not None and failure.attrib["message"] == "3 findings"
    assert (failure.text or "").splitlines()[0].startswith("7:5 [error] 'config.amazonaw.com' is not a known")


def test_junit_holds_hostile_names_skipped_files_and_internal_errors_validly(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a\x01\ufffe<&>.tf").write_text(TYPO.replace("config.amazonaw.com", "x\x02y.amazonaws.com"))
    (tmp_path / "big.tf").write_bytes(b"# " + b"x" * (11 * 1024 * 1024) + b"\n")  # over the read limit
    monkeypatch.chdir(tmp_path)
    code, out, _ = _run(capsys, "check", ".", "--format", "junit", "--no-cache")
    assert code == 3  # the big file could not be read: incomplete
    JUNIT_SCHEMA.validate(out)
    suites = {s.attrib["file"]: s for s in ElementTree.fromstring(out).findall("testsuite")}
    assert "a\\x01\\ufffe<&>.tf" in suites
    error = suites["big.tf"].find("testcase/error")
    assert error is not None and error.attrib["message"].startswith("skipped: ")


# ---- GitLab Code Quality ----------------------------------------------------------------------------


def test_gitlab_code_quality_has_the_fields_gitlab_requires(
    capsys: pytest.CaptureFixture[str], in_repo_root: None
) -> None:
    code, out, _ = _run(capsys, "check", "fixtures", "--format", "gitlab")
    issues = json.loads(out)
    assert code == 1 and isinstance(issues, list) and issues
    for issue in issues:
        assert isinstance(issue["description"], str) and issue["description"]
        assert re.fullmatch(r"[A-Z]{2,}\d+", issue["check_name"])
        assert issue["severity"] in GITLAB_SEVERITIES
        assert isinstance(issue["location"]["path"], str) and not issue["location"]["path"].startswith("/")
        assert isinstance(issue["location"]["lines"]["begin"], int) and issue["location"]["lines"]["begin"] >= 1
    fingerprints = [i["fingerprint"] for i in issues]
    assert len(set(fingerprints)) == len(fingerprints), "GitLab tells issues apart by fingerprint"
    severities = {(i["check_name"], i["severity"]) for i in issues}
    assert ("OT301", "critical") in severities and ("OT102", "minor") in severities


def test_gitlab_fingerprints_survive_lines_moving(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(TYPO)
    before = json.loads(_run(capsys, "check", str(tmp_path), "--format", "gitlab")[1])
    (tmp_path / "main.tf").write_text("# a comment\n\n" + TYPO)
    after = json.loads(_run(capsys, "check", str(tmp_path), "--format", "gitlab")[1])
    assert [i["location"]["lines"]["begin"] for i in before + after] == [2, 4]
    assert before[0]["fingerprint"] == after[0]["fingerprint"]


# ---- SARIF for GitHub code scanning -----------------------------------------------------------------


def _within_githubs_limits(document: dict) -> None:
    """GitHub's documented limits for a SARIF upload ("SARIF results exceed limit")."""
    assert len(document["runs"]) <= 20
    for run_ in document["runs"]:
        rules = run_["tool"]["driver"]["rules"]
        assert len(rules) <= 25_000 and len(run_["results"]) <= 25_000
        assert len(run_["tool"]["driver"].get("extensions", [])) <= 100
        for rule in rules:
            assert len(rule["properties"]["tags"]) <= 10, "GitHub shows at most 10 tags (and takes 20)"
        for result in run_["results"]:
            assert len(result["locations"]) <= 1_000


def test_sarif_rules_carry_security_severity_markdown_help_and_their_page(
    capsys: pytest.CaptureFixture[str], in_repo_root: None
) -> None:
    _, out, _ = _run(capsys, "check", "fixtures", "--format", "sarif")
    document = json.loads(out)
    jsonschema.validate(document, SARIF_SCHEMA)
    _within_githubs_limits(document)
    rules = {r["id"]: r for r in document["runs"][0]["tool"]["driver"]["rules"]}
    assert {"ACME101", "ACME102", "ACME103"} <= set(rules), "fixtures/policy's rules of its own"
    for rule_id, rule in rules.items():
        if not rule_id.startswith("OT"):  # a team's rule has no page here: the first page it cites
            assert rule["helpUri"].startswith("https://") and "/docs/rules/" not in rule["helpUri"]
            continue
        assert rule["helpUri"] == f"https://github.com/orgtrust-lint/orgtrust-lint/blob/main/docs/rules/{rule_id}.md"
        assert (REPO / "docs" / "rules" / f"{rule_id}.md").is_file()
        assert "## Why is this bad?" in rule["help"]["markdown"] and "## Use instead" in rule["help"]["markdown"]
        properties = rule["properties"]
        if rule_id.startswith("OT0"):  # about the run itself, not the code's security
            assert "security" not in properties["tags"] and "security-severity" not in properties
        else:
            assert properties["tags"][0] == "security"
            assert 0.0 < float(properties["security-severity"]) <= 10.0
    # GitHub: 9.0+ Critical, 7.0-8.9 High, 4.0-6.9 Medium, below 4.0 Low.
    assert [rules[r]["properties"]["security-severity"] for r in ("OT201", "OT101", "OT102", "OT105")] == [
        "8.0",
        "7.0",
        "5.0",
        "2.0",
    ]


def test_rule_pages_can_live_elsewhere(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "main.tf").write_text(TYPO)
    monkeypatch.setenv(
        "ORGTRUST_LINT_DOCS_URL", "https://git.example.com/mirror/orgtrust-lint/-/blob/v0.1.0/docs/rules"
    )
    _, out, _ = _run(capsys, "check", str(tmp_path), "--format", "sarif")
    rules = json.loads(out)["runs"][0]["tool"]["driver"]["rules"]
    assert rules[0]["helpUri"] == "https://git.example.com/mirror/orgtrust-lint/-/blob/v0.1.0/docs/rules/OT001.md"
    monkeypatch.setenv("ORGTRUST_LINT_DOCS_URL", "docs/rules")
    code, out, err = _run(capsys, "check", str(tmp_path), "--format", "sarif")
    assert (code, out) == (2, "") and "ORGTRUST_LINT_DOCS_URL must be an http:// or https:// URL" in err


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    """A git repository whose Terraform is in infra/, as a workflow with working-directory: infra sees it."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "main.tf").write_text(TYPO)
    return tmp_path


def test_sarif_and_github_paths_are_relative_to_the_repository_root_from_a_subdirectory(
    capsys: pytest.CaptureFixture[str], repository: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(repository / "infra")
    code, out, _ = _run(capsys, "check", ".", "--format", "github", "-o", "sarif=../from-infra.sarif")
    assert code == 1
    assert out.startswith("::error file=infra/main.tf,line=2,")
    inside = json.loads((repository / "from-infra.sarif").read_text())
    jsonschema.validate(inside, SARIF_SCHEMA)
    run_ = inside["runs"][0]
    location = run_["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": "infra/main.tf", "uriBaseId": "%SRCROOT%"}
    assert run_["originalUriBaseIds"]["%SRCROOT%"]["uri"] == repository.resolve().as_uri() + "/"
    assert float(run_["tool"]["driver"]["rules"][run_["results"][0]["ruleIndex"]]["properties"]["security-severity"])
    # The same finding from the repository root: the same path and the same fingerprint.
    monkeypatch.chdir(repository)
    _run(capsys, "check", "infra", "-o", "sarif=from-root.sarif")
    outside = json.loads((repository / "from-root.sarif").read_text())["runs"][0]["results"][0]
    assert outside["locations"] == run_["results"][0]["locations"]
    assert outside["partialFingerprints"] == run_["results"][0]["partialFingerprints"]
    # Text and JSON keep naming files as the user named them.
    monkeypatch.chdir(repository / "infra")
    assert _run(capsys, "check", ".")[1].startswith("main.tf:2:")


def test_repo_root_chooses_the_root_outside_git(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "main.tf").write_text(TYPO)
    monkeypatch.chdir(tmp_path / "infra")
    assert _run(capsys, "check", "--format", "gitlab")[1].count('"path": "main.tf"') == 1
    issues = json.loads(_run(capsys, "check", "--format", "gitlab", "--repo-root", "..")[1])
    assert issues[0]["location"]["path"] == "infra/main.tf"
    code, _, err = _run(capsys, "check", "--repo-root", "nowhere")
    assert code == 2 and "--repo-root: nowhere is not a directory" in err


# ---- --exit-zero and --color ------------------------------------------------------------------------


def test_exit_zero_reports_findings_and_exits_0(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(TYPO)
    code, out, _ = _run(capsys, "check", str(tmp_path), "--exit-zero")
    assert code == 0 and "OT101 [error]" in out
    assert _run(capsys, "check", str(tmp_path), "--fix", "--diff", "--exit-zero")[0] == 0


def test_exit_zero_still_fails_an_incomplete_run_and_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "main.tf").write_text(TYPO)
    (tmp_path / "big.tf").write_bytes(b"# " + b"x" * (11 * 1024 * 1024) + b"\n")
    assert _run(capsys, "check", str(tmp_path), "--exit-zero", "--no-cache")[0] == 3
    assert _run(capsys, "check", str(tmp_path / "missing"), "--exit-zero")[0] == 2


def _on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    # In the test's body: pytest swaps sys.stdout between a fixture's set-up and the test.
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    monkeypatch.setenv("TERM", "xterm")
    for name in ("NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)


RED = "\033[31mOT101 [error]\033[0m"


def test_color_always_and_never_win_over_the_terminal_and_the_environment(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "main.tf").write_text(TYPO)
    monkeypatch.setenv("NO_COLOR", "1")
    assert RED in _run(capsys, "check", str(tmp_path), "--color", "always")[1]  # captured: not a terminal
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert "\033[" not in _run(capsys, "check", str(tmp_path), "--color", "never")[1]


def test_force_color_colours_a_pipe_and_no_color_wins_over_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "main.tf").write_text(TYPO)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert RED in _run(capsys, "check", str(tmp_path))[1]
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\033[" not in _run(capsys, "check", str(tmp_path))[1]
    monkeypatch.setenv("NO_COLOR", "")  # empty: not set (no-color.org), so FORCE_COLOR applies
    assert RED in _run(capsys, "check", str(tmp_path))[1]


def test_color_auto_follows_the_terminal_and_never_colours_a_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _on_a_terminal(monkeypatch)
    (tmp_path / "main.tf").write_text(TYPO)
    report = tmp_path / "report.txt"
    code, out, _ = _run(capsys, "check", str(tmp_path), "-o", f"text={report}", "--format", "gitlab")
    assert code == 1 and json.loads(out)[0]["check_name"] == "OT101"
    assert "\033[" not in report.read_text() and "OT101 [error]" in report.read_text()
    assert RED in _run(capsys, "check", str(tmp_path))[1]
    code, out, err = _run(capsys, "check", str(tmp_path), "--color", "sometimes")
    assert (code, out) == (2, "") and "invalid choice: 'sometimes'" in err
