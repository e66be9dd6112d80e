"""Monorepo configuration: the nearest file above each linted file, `extend`, per-path ignores,
excludes, `check --show-config`, and one-line errors naming the file, the key and what is expected."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from orgtrust_lint.cli import run
from orgtrust_lint.config import glob_matches

TYPO = """resource "aws_organizations_organization" "org" {
  feature_set                   = "ALL"
  aws_service_access_principals = ["config.amazonaw.com", "sso.amazonaws.com"]
}
"""


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = run(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def monorepo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A platform-wide base, a root config that extends it, and a team config below."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "base.yaml").write_text("ignore: [OT105]\nunignorable: [OT201]\nfail-on: warning\n")
    (tmp_path / ".orgtrust-lint.yaml").write_text(
        "extend: shared/base.yaml\nexclude: ['generated/**']\nper-path-ignores:\n  'legacy/**': [OT101]\n"
    )
    team = tmp_path / "teams" / "payments"
    team.mkdir(parents=True)
    (team / ".orgtrust-lint.yaml").write_text(
        "extend: ../../.orgtrust-lint.yaml\nper-path-ignores:\n  'old/*.tf': [OT1]\n"
    )
    for directory in ("org", "legacy/org", "generated", "teams/payments/org", "teams/payments/old"):
        (tmp_path / directory).mkdir(parents=True, exist_ok=True)
        (tmp_path / directory / "main.tf").write_text(TYPO)
    return tmp_path


def _paths_with(out: str, rule: str) -> set[str]:
    return {f["path"] for f in json.loads(out)["findings"] if f["rule"] == rule}


def test_show_config_for_nested_files(monorepo: Path, capsys) -> None:
    code, out, err = _run(capsys, "check", "--show-config", "teams/payments/old/main.tf")
    assert code == 0 and err == ""
    shown = json.loads(out)
    assert shown["file"] == "teams/payments/old/main.tf"
    assert shown["source"] == (
        "teams/payments/.orgtrust-lint.yaml (extends .orgtrust-lint.yaml (extends shared/base.yaml))"
    )
    # Inherited from two levels up, merged with the team's own table (the nearest file wins per key).
    assert shown["ignore"] == ["OT105"] and shown["unignorable"] == ["OT201"] and shown["fail-on"] == "warning"
    assert shown["per-path-ignores"] == {"old/*.tf": ["OT1"]}
    code, out, _ = _run(capsys, "check", "--show-config", "legacy/org/main.tf")
    root = json.loads(out)
    assert root["source"] == ".orgtrust-lint.yaml (extends shared/base.yaml)"
    assert root["per-path-ignores"] == {"legacy/**": ["OT101"]} and root["exclude"] == ["generated/**"]


def test_the_nearest_configuration_applies_to_each_file(monorepo: Path, capsys) -> None:
    code, out, _ = _run(capsys, "check", "--format", "json")
    assert code == 1
    flagged = _paths_with(out, "OT101")
    assert flagged == {"org/main.tf", "teams/payments/org/main.tf"}
    # legacy/** is ignored by the root's per-path ignore, old/*.tf by the team's (relative to the
    # team's directory), generated/ is excluded and not even counted as linted.
    assert json.loads(out)["summary"]["files"] == 4
    assert not _paths_with(out, "OT105")  # inherited through two extends


def test_the_command_line_adds_to_each_files_configuration(monorepo: Path, capsys) -> None:
    code, out, _ = _run(capsys, "check", "--format", "json", "--ignore", "OT101")
    assert code == 0 and not _paths_with(out, "OT101")
    code, out, _ = _run(capsys, "check", "--format", "json", "--select", "OT104")
    assert code == 0 and json.loads(out)["findings"] == []  # --select replaces each file's selection


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("selct: [OT101]\n", "'selct': unknown setting (known: "),
        ("ignore: [X1]\n", "'ignore/0': not a rule code (expected OT followed by digits, e.g. OT105"),
        ("ignore: [XY1]\n", "'ignore': one of its codes names no rule (see orgtrust-lint rules)"),
        ("ignore: [OT999]\n", "'ignore': no rule is OT999 or starts with it"),
        ("per-path-ignores:\n  'legacy/**': [OT42]\n", "'per-path-ignores/legacy/**': no rule is OT42"),
        (
            "per-path-ignores:\n  '/abs/**': [OT101]\n",
            "'per-path-ignores': one of its patterns is not a relative path pattern",
        ),
        ("exclude: ['']\n", "'exclude/0': not a relative path pattern (e.g. legacy/** or *.tf.json)"),
        ("exclude: 3\n", "'exclude': must be a list, not a number"),
        ("fail-on: sometimes\n", "'fail-on': must be error, warning or info\n"),
        ("require-reason: perhaps\n", "'require-reason': must be true or false, not text"),
        ("extend: nowhere.yaml\n", "'extend': no such file (paths are relative to this file)"),
        (
            "per-path-ignores:\n  'legacy/**': {rules: [OT101], until: '2027-02-30'}\n",
            "'per-path-ignores/legacy/**/until': not a date (expected YYYY-MM-DD)",
        ),
        (
            "per-path-ignores:\n  'legacy/**': {rules: [OT101], until: 'next spring'}\n",
            "'per-path-ignores/legacy/**/until': not a date (expected YYYY-MM-DD)",
        ),
        ("per-path-ignores:\n  'legacy/**': {until: 2027-01-01}\n", "'per-path-ignores/legacy/**': must be a list"),
        ("per-path-ignores:\n  'legacy/**': {rules: [OT101], until: 2027-02-30}\n", "not valid YAML (day is out"),
        ("extend: .orgtrust-lint.yaml\n", "'extend': .orgtrust-lint.yaml extends this file again (a cycle)"),
    ],
)
def test_configuration_errors_name_file_key_and_expectation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, content: str, expected: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "main.tf").write_text(TYPO)
    (tmp_path / ".orgtrust-lint.yaml").write_text(content)
    code, out, err = _run(capsys, "check")
    assert code == 2 and out == ""
    assert err.startswith("orgtrust-lint: error: .orgtrust-lint.yaml: ") and len(err.splitlines()) == 1
    assert expected in err, err


def test_an_error_in_a_nested_configuration_names_that_file(monorepo: Path, capsys) -> None:
    (monorepo / "teams" / "payments" / ".orgtrust-lint.yaml").write_text("ignore: [OT7777]\n")
    code, _, err = _run(capsys, "check")
    assert code == 2
    assert err.startswith("orgtrust-lint: error: teams/payments/.orgtrust-lint.yaml: 'ignore/0': not a rule code")


def test_a_dated_per_path_ignore_stops_applying_after_its_day(monorepo: Path, capsys) -> None:
    def config(until: str) -> None:
        (monorepo / ".orgtrust-lint.yaml").write_text(
            f"extend: shared/base.yaml\nper-path-ignores:\n  'legacy/**': {{rules: [OT101], until: {until}}}\n"
        )

    config("2099-12-31")  # unquoted: YAML reads it as a date, which is accepted too
    code, out, _ = _run(capsys, "check", "legacy", "--format", "json")
    assert code == 0 and not _paths_with(out, "OT101")
    _, shown, _ = _run(capsys, "check", "--show-config", "legacy/org/main.tf")
    assert json.loads(shown)["per-path-ignores"] == {"legacy/**": {"rules": ["OT101"], "until": "2099-12-31"}}
    config("'2024-01-31'")
    code, out, _ = _run(capsys, "check", "legacy", "--format", "json")
    assert code == 1 and _paths_with(out, "OT101") == {"legacy/org/main.tf"}


# --- D8: globs are matched in linear time --------------------------------------------------------

CLI = str(Path(sys.executable).parent / "orgtrust-lint")


def _cli_in(directory: Path, *argv: str, timeout: float = 30) -> tuple[subprocess.CompletedProcess[str], float]:
    """The installed command, as a user runs it, with its wall time."""
    started = time.monotonic()
    done = subprocess.run([CLI, *argv], cwd=directory, capture_output=True, text=True, timeout=timeout)
    return done, time.monotonic() - started


@pytest.mark.parametrize(
    "config",
    [
        "exclude: ['*a*a*a*a*a*a*a*a*a*a*a*a*b']\n",
        "per-path-ignores:\n  '**a**a**a**a**a**a**a**a**a**a**b': [OT105]\n",
    ],
)
def test_d8_glob_is_linear(tmp_path: Path, config: str) -> None:
    """D8: a pattern with many wildcards against a 40-character directory name took more than 60 s
    (the regex backtracked exponentially); it must not matter how many wildcards a pattern has."""
    (tmp_path / ".orgtrust-lint.yaml").write_text(config)
    (tmp_path / ("a" * 40)).mkdir()
    (tmp_path / ("a" * 40) / "main.tf").write_text(TYPO)
    # The subprocess's 30 s timeout is the watchdog (the old matcher needed over 60 s here); no
    # tighter wall-clock bound, which a loaded CI machine could break.
    done, _ = _cli_in(tmp_path, "check", "--no-cache", "--format", "json")
    assert done.returncode == 1 and done.stderr == ""
    # Nothing matched (no "b" in the path), so the file is linted and its findings reported.
    assert _paths_with(done.stdout, "OT101") == {"a" * 40 + "/main.tf"}


GLOB_CASES = [
    # ** spans directories, * and ? stay within one
    ("legacy/**", "legacy/a/b/main.tf", True),
    ("legacy/*", "legacy/a/b/main.tf", True),  # a directory pattern covers everything below it
    ("legacy/*.tf", "legacy/a/main.tf", False),
    ("legacy/*.tf", "legacy/main.tf", True),
    ("legacy/?.tf", "legacy/a.tf", True),
    ("legacy/?.tf", "legacy/ab.tf", False),
    ("a?b", "a/b", False),
    ("**/x.tf", "x.tf", True),
    ("**/x.tf", "a/b/x.tf", True),
    ("a/**/x.tf", "a/x.tf", True),
    ("a/**/x.tf", "a/b/c/x.tf", True),
    ("a/**/x.tf", "ab/x.tf", False),
    ("a**b", "a/c/b", True),  # ** without a slash spans directories too
    ("*.tf.json", "deep/down/main.tf.json", True),  # no slash: at any depth
    ("main.tf", "deep/down/main.tf", True),
    ("main.tf", "deep/down/xmain.tf", False),
    ("down/main.tf", "deep/down/main.tf", False),  # with a slash: relative to the configuration
    ("generated/", "generated/x.tf", True),
    ("generated", "x/generated/y/z.tf", True),
    ("[ab].tf", "b.tf", True),
    ("[ab].tf", "c.tf", False),
    ("[!ab].tf", "c.tf", True),
    ("[!ab].tf", "a.tf", False),
    ("[a-c].tf", "b.tf", False),  # no ranges: the characters a, - and c
    ("[a-c].tf", "-.tf", True),
    ("[ab.tf", "[ab.tf", True),  # an unclosed [ is itself
    ("*a*a*a*a*a*a*a*a*a*a*a*a*b", "a" * 40, False),
    ("*a*a*a*a*a*a*a*a*a*a*a*a*b", "a" * 39 + "b", True),
    ("**a**a**a**a**a**a**a**a**a**a**b", "a/" * 30 + "b", True),
    ("**a**a**a**a**a**a**a**a**a**a**b", "a/" * 300, False),
    ("legacy/**", "legacy/a\nb.tf", True),  # ** spans every character, a newline too
]


@pytest.mark.parametrize(("pattern", "path", "expected"), GLOB_CASES)
def test_glob_semantics(pattern: str, path: str, expected: bool) -> None:
    assert glob_matches(pattern, path) is expected


def _regex_glob_matches(pattern: str, relative: str) -> bool:
    """The regex translation globs had before D8 (exponential on some patterns), as the reference
    for their meaning; ``**`` now also spans a newline (DOTALL)."""
    pattern = pattern.rstrip("/")
    if "/" not in pattern:
        pattern = "**/" + pattern
    parts, index = [], 0
    while index < len(pattern):
        char = pattern[index]
        if pattern.startswith("**/", index):
            parts.append("(?:.*/)?")
            index += 3
            continue
        if pattern.startswith("**", index):
            parts.append(".*")
            index += 2
            continue
        if char == "*":
            parts.append("[^/]*")
        elif char == "?":
            parts.append("[^/]")
        elif char == "[" and "]" in pattern[index + 1 :]:
            end = pattern.index("]", index + 1)
            body = pattern[index + 1 : end]
            parts.append("[" + ("^" + re.escape(body[1:]) if body.startswith("!") else re.escape(body)) + "]")
            index = end + 1
            continue
        else:
            parts.append(re.escape(char))
        index += 1
    return re.fullmatch("".join(parts) + "(?:/.*)?", relative, re.DOTALL) is not None


@settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(
    pattern=st.text(alphabet="ab./*?[]!", min_size=1, max_size=10),
    path=st.text(alphabet="ab./\n", min_size=1, max_size=14),
)
def test_globs_keep_their_meaning(pattern: str, path: str) -> None:
    """Whatever the pattern, the linear matcher agrees with the regex translation it replaced (short
    inputs, so the regex stays fast), except for empty [] and [!], which that regex could not compile."""
    assume("[]" not in pattern and "[!]" not in pattern and not pattern.startswith("/"))
    assert glob_matches(pattern, path) is _regex_glob_matches(pattern, path)


# --- D17: `extend` reads only regular files, ends, and never echoes what it read ---------------

SECRET = "ghp_SECRETSECRETSECRET0123456789abcdef"


def _extending(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str) -> Path:
    """A repository whose configuration extends a file outside it, by a relative path."""
    repo = tmp_path / "repo"
    repo.mkdir(exist_ok=True)
    monkeypatch.chdir(repo)
    (tmp_path / "elsewhere").mkdir(exist_ok=True)
    (tmp_path / "elsewhere" / "settings.yaml").write_text(content)
    (repo / ".orgtrust-lint.yaml").write_text("extend: ../elsewhere/settings.yaml\n")
    (repo / "main.tf").write_text(TYPO)
    return repo


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (f"ignore: [{SECRET}]\n", "'ignore/0': not a rule code (expected OT followed by digits, e.g. OT105"),
        ("ignore: [SECRETWORD]\n", "'ignore': one of its codes names no rule"),
        (f"fail-on: {SECRET}\n", "'fail-on': must be error, warning or info"),
        (f"require-reason: {SECRET}\n", "'require-reason': must be true or false, not text"),
        (f"extra-principals: [{SECRET}]\n", "'extra-principals/0': not a service principal"),
        (f"{SECRET}: 1\n", ": an unknown setting (known: "),
        ("-apt:*:20228:0:99999:7:::\n", ": an unknown setting (known: "),  # a line of /etc/shadow
        (f"exclude: {{{SECRET}: 1}}\n", "'exclude': must be a list, not a table"),
        (
            f"per-path-ignores:\n  'legacy/**': {{rules: [OT101], until: {SECRET}}}\n",
            "'per-path-ignores/legacy/**/until': not a date",
        ),
        (f"per-path-ignores: {{{SECRET}: 3}}\n", "must be a list of rule codes, or {rules: [codes]"),
        (f"per-path-ignores: {{'/{SECRET}': [OT101]}}\n", "'per-path-ignores': one of its patterns is not a relative"),
        (f"extend: {SECRET}\n", "'extend': no such file"),
        (f"ignore: !!int {SECRET}\n", "not valid YAML (a value it cannot build)"),  # int() quoted it
        (f"ignore: !!bool {SECRET}\n", "not valid YAML (a value it cannot build)"),  # was an internal error
        (f"select: [OT1]\nextend: ../{SECRET}/x\n", "'extend': no such file"),
    ],
)
def test_d17_errors_never_quote_what_a_file_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, content: str, expected: str
) -> None:
    """D17: an extended file's values (and keys that are not short names) were quoted in the error:
    `extend: ../../etc/shadow` printed a line of the shadow file, a token in `ignore` was echoed."""
    _extending(tmp_path, monkeypatch, content)
    code, out, err = _run(capsys, "check")
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and expected in err, err
    assert f"{tmp_path}/elsewhere/settings.yaml: " in err  # the file with the problem is named
    assert "secret" not in err.lower() and "20228" not in err  # fail-on is lowercased before it is checked


def test_d17_show_config_prints_only_valid_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """D17: `--show-config` printed a token read as `extra-principals` from an extended file."""
    _extending(tmp_path, monkeypatch, f"extra-principals: [{SECRET}]\n")
    code, out, err = _run(capsys, "check", "--show-config", "main.tf")
    assert code == 2 and out == "" and "SECRET" not in err
    _extending(tmp_path, monkeypatch, "extra-principals: [preview-service.amazonaws.com]\nignore: [OT105]\n")
    code, out, err = _run(capsys, "check", "--show-config", "main.tf")
    assert code == 0 and err == ""
    shown = json.loads(out)
    # An absolute or outside path stays allowed: monorepos share one configuration.
    assert shown["extra-principals"] == ["preview-service.amazonaws.com"] and shown["ignore"] == ["OT105"]
    assert shown["source"] == f".orgtrust-lint.yaml (extends {tmp_path}/elsewhere/settings.yaml)"


@pytest.mark.parametrize(("length", "works"), [(32, True), (33, False), (2000, False)])
def test_d17_a_chain_of_extends_is_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, length: int, works: bool
) -> None:
    """D17: a chain of 2,000 files ended in "internal error: RecursionError"; more than 32 files is
    now a one-line configuration error (32 still work)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "main.tf").write_text(TYPO)
    (tmp_path / ".orgtrust-lint.yaml").write_text("extend: c1.yaml\n")
    for index in range(1, length - 1):
        (tmp_path / f"c{index}.yaml").write_text(f"extend: c{index + 1}.yaml\n")
    (tmp_path / f"c{length - 1}.yaml").write_text("ignore: [OT101]\n")
    code, out, err = _run(capsys, "check")
    if works:
        assert code == 0 and err == "" and "OT101" not in out  # the far end's ignore applies
    else:
        assert code == 2 and len(err.splitlines()) == 1, err
        assert "'extend': more than 32 files extend each other" in err


def test_d17_a_cycle_of_extends_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "main.tf").write_text(TYPO)
    (tmp_path / ".orgtrust-lint.yaml").write_text("extend: a.yaml\n")
    (tmp_path / "a.yaml").write_text("extend: b.yaml\n")
    (tmp_path / "b.yaml").write_text("extend: ./a.yaml\n")
    code, _, err = _run(capsys, "check")
    assert code == 2 and err == "orgtrust-lint: error: b.yaml: 'extend': a.yaml extends this file again (a cycle)\n"


@pytest.mark.parametrize("kind", ["fifo", "device", "directory", "link to a device"])
def test_d17_extend_reads_only_regular_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, kind: str
) -> None:
    """A FIFO would block, /dev/zero never ends: only a regular file is read."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "main.tf").write_text(TYPO)
    target = tmp_path / "target"
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "directory":
        target.mkdir()
    else:
        target.symlink_to("/dev/zero")
    name = "/dev/zero" if kind == "device" else "target"
    (tmp_path / ".orgtrust-lint.yaml").write_text(f"extend: {name}\n")
    code, _, err = _run(capsys, "check")
    assert code == 2 and len(err.splitlines()) == 1
    assert err.startswith("orgtrust-lint: error: .orgtrust-lint.yaml: 'extend': ") and "regular file" in err


def test_d17_a_huge_file_is_not_read_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    repo = _extending(tmp_path, monkeypatch, "# " + "x" * (1 << 20) + "\n")
    code, _, err = _run(capsys, "check")
    assert code == 2 and err.endswith("settings.yaml: larger than 1 MiB, too large for a configuration file\n")
    (repo / ".orgtrust-lint.yaml").write_text(f"extend: {tmp_path}/elsewhere/settings.yaml\nignore: [OT101]\n")
    (tmp_path / "elsewhere" / "settings.yaml").write_text("# " + "x" * 1000 + "\nfail-on: warning\n")
    code, out, err = _run(capsys, "check", "--show-config", "main.tf")
    assert code == 0 and json.loads(out)["fail-on"] == "warning"  # an absolute path works too


# --- issue 15: configuration as values plus a resolver ----------------------------------------

SERVICE_ACCESS = (
    'resource "aws_organizations_aws_service_access" "x" {\n  service_principal = "config.amazonaws.com"\n}\n'
)
ORG_WITH_LIST = """resource "aws_organizations_organization" "org" {
  feature_set                   = "ALL"
  aws_service_access_principals = ["sso.amazonaws.com"]
}
"""


def _org_with(principal: str, comment: str = "") -> str:
    return (
        'resource "aws_organizations_organization" "org" {\n  feature_set = "ALL"\n'
        f"{comment}  aws_service_access_principals = [{principal!r}]\n}}\n".replace("'", '"')
    )


def _findings(out: str) -> set[tuple[str, str]]:
    return {(f["path"], f["rule"]) for f in json.loads(out)["findings"]}


def test_cr_d1_per_path_ignores_with_unignorable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """Code review D1: a configuration setting both per-path-ignores and unignorable (the README's own
    example) crashed with "internal error: TypeError: 'list' object is not callable"."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".orgtrust-lint.yaml").write_text(
        "ignore: [OT105]\nper-path-ignores:\n  'legacy/**': [OT101]\nunignorable: [OT101]\n"
    )
    for directory in ("org", "legacy"):
        (tmp_path / directory).mkdir()
        (tmp_path / directory / "main.tf").write_text(TYPO)
    (tmp_path / "inline").mkdir()
    (tmp_path / "inline" / "main.tf").write_text(
        _org_with("config.amazonaw.com", "  # orgtrust-lint: ignore[OT101] private preview\n")
    )
    code, out, err = _run(capsys, "check", "--format", "json")
    assert err == "" and code == 1
    # The per-path ignore applies; the inline ignore of an unignorable rule does not (OT006).
    assert _findings(out) == {("org/main.tf", "OT101"), ("inline/main.tf", "OT101"), ("inline/main.tf", "OT006")}
    code, out, _ = _run(capsys, "check", "--show-config", "org/main.tf")
    shown = json.loads(out)
    assert shown["per-path-ignores"] == {"legacy/**": ["OT101"]} and shown["unignorable"] == ["OT101"]


@pytest.fixture
def excluded_sibling(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """main.tf manages trusted access with a standalone resource; generated.tf, which the
    configuration excludes, holds the organization's authoritative list (OT106 if both are read)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".orgtrust-lint.yaml").write_text("exclude: ['generated.tf']\nignore: [OT105]\n")
    (tmp_path / "main.tf").write_text(SERVICE_ACCESS)
    (tmp_path / "generated.tf").write_text(ORG_WITH_LIST)
    return tmp_path


def test_cr_d4_a_passed_file_does_not_read_excluded_siblings(excluded_sibling: Path, capsys) -> None:
    """Code review D4: `check .` passed, but the pre-commit form `check main.tf` read the excluded
    generated.tf for context and reported OT106 against it (exit 1)."""
    whole = _run(capsys, "check", "--no-cache", "--format", "json")
    assert whole[0] == 0 and json.loads(whole[1])["findings"] == []
    code, out, err = _run(capsys, "check", "--no-cache", "--format", "json", "main.tf")
    assert (code, json.loads(out)["findings"], err) == (0, [], "")


def test_cr_d4_a_passed_file_that_is_excluded_is_skipped(excluded_sibling: Path, capsys) -> None:
    """`check .` never reads an excluded file; naming it (pre-commit passes every staged file) skips
    it too, with one line on stderr saying why, like ruff's pre-commit hook (--force-exclude)."""
    (excluded_sibling / "generated.tf").write_text(TYPO)
    code, out, err = _run(capsys, "check", "--no-cache", "--format", "json", "generated.tf", "main.tf")
    assert code == 0 and json.loads(out)["findings"] == [] and json.loads(out)["summary"]["files"] == 1
    assert err == "orgtrust-lint: skipped generated.tf: excluded by the configuration (see check --show-config)\n"


def test_cr_d4_a_passed_files_siblings_follow_the_symlink_policy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """A directory walk reads a linked file only if it stays inside what is linted; a passed file's
    siblings follow the same policy (they were all read, even links to files outside)."""
    repo = tmp_path / "repo"
    (repo / "mod").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "org.tf").write_text(ORG_WITH_LIST)
    (repo / "mod" / "org.tf").symlink_to(tmp_path / "elsewhere" / "org.tf")
    (repo / "mod" / "main.tf").write_text(SERVICE_ACCESS)
    monkeypatch.chdir(repo)
    note = "orgtrust-lint: skipped mod/org.tf: symbolic link to a file outside ., not followed\n"
    for argv in ([], ["mod/main.tf"]):
        code, out, err = _run(capsys, "check", "--no-cache", "--ignore", "OT105", "--format", "json", *argv)
        assert (code, json.loads(out)["findings"], err) == (0, [], note), argv


def test_fu_m8_findings_only_for_the_passed_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """First-use M8: `check other/ok.tf` reported an OT004 (expired ignore) of other/legacy.tf, which was
    not passed and is not reached through a variable; under fail-on: warning it failed the run."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "other").mkdir()
    expired = "  # orgtrust-lint: ignore[OT101] until=2024-01-01 preview\n"
    (tmp_path / "other" / "legacy.tf").write_text(_org_with("config.amazonaw.com", expired))
    (tmp_path / "other" / "ok.tf").write_text(SERVICE_ACCESS)
    code, out, err = _run(
        capsys, "check", "--fail-on", "warning", "--ignore", "OT105,OT106", "--format", "json", "other/ok.tf"
    )
    assert (code, json.loads(out)["findings"], err) == (0, [], "")
    code, out, _ = _run(capsys, "check", "--ignore", "OT105,OT106", "--format", "json", "other/legacy.tf")
    assert _findings(out) == {("other/legacy.tf", "OT004"), ("other/legacy.tf", "OT101")}


@pytest.fixture
def two_teams(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """teams/b knows a private-preview principal, teams/a does not; both name it."""
    monkeypatch.chdir(tmp_path)
    for team in ("a", "b"):
        (tmp_path / "teams" / team).mkdir(parents=True)
        (tmp_path / "teams" / team / "main.tf").write_text(_org_with("preview-service.amazonaws.com"))
    (tmp_path / "teams" / "b" / ".orgtrust-lint.yaml").write_text("extra-principals: [preview-service.amazonaws.com]\n")
    return tmp_path


@pytest.mark.parametrize("paths", [[], ["."], ["teams"], ["teams/a/main.tf", "teams/b/main.tf"], ["teams/b"]])
def test_fu_m3_nested_extra_principals_apply_per_file(two_teams: Path, capsys, paths: list[str]) -> None:
    """First-use M3: teams/b's extra-principals was ignored when the run started at the root or covered
    several directories (pre-commit), while --show-config said it applied."""
    code, out, err = _run(capsys, "check", "--ignore", "OT105", "--format", "json", *paths)
    expected = set() if paths == ["teams/b"] else {("teams/a/main.tf", "OT101")}
    assert err == "" and _findings(out) == expected and code == (1 if expected else 0)
    _, shown, _ = _run(capsys, "check", "--show-config", "teams/b/main.tf")
    assert json.loads(shown)["extra-principals"] == ["preview-service.amazonaws.com"]


def test_fu_m3_fail_on_and_require_reason_are_per_file(two_teams: Path, capsys) -> None:
    """fail-on and require-reason used to come from the configuration nearest the linted paths, so a
    team's own values depended on which other files the run covered. Each file's own configuration
    now decides: a finding fails the run if it reaches its file's fail-on, an ignore needs a reason
    where its file requires one. The command line's --fail-on and --require-reason apply to all."""
    (two_teams / "teams" / "a" / ".orgtrust-lint.yaml").write_text(
        "fail-on: warning\nrequire-reason: true\nignore: [OT105]\n"
    )
    (two_teams / "teams" / "b" / ".orgtrust-lint.yaml").write_text("ignore: [OT105]\n")
    for team in ("a", "b"):
        ignored = "  # orgtrust-lint: ignore[OT101]\n"
        (two_teams / "teams" / team / "main.tf").write_text(_org_with("preview-service.amazonaws.com", ignored))
    expired = "  # orgtrust-lint: ignore[OT101] until=2024-01-01 preview\n"
    (two_teams / "teams" / "b" / "old.tf").write_text(_org_with("sso.amazonaws.com", expired))
    both = ["teams/a/main.tf", "teams/b/main.tf", "teams/b/old.tf"]
    code, out, _ = _run(capsys, "check", "--format", "json", *both)
    # teams/a requires a reason (OT007, and the ignore silences nothing); teams/b does not.
    assert _findings(out) == {("teams/a/main.tf", "OT007"), ("teams/a/main.tf", "OT101"), ("teams/b/old.tf", "OT004")}
    assert code == 1  # OT101 is an error anywhere
    (two_teams / "teams" / "a" / "main.tf").write_text(_org_with("sso.amazonaws.com"))
    code, out, _ = _run(capsys, "check", "--format", "json", *both)
    assert _findings(out) == {("teams/b/old.tf", "OT004")} and code == 0  # a warning, below teams/b's fail-on
    (two_teams / "teams" / "a" / "old.tf").write_text(_org_with("sso.amazonaws.com", expired))
    code, _, _ = _run(capsys, "check", "--format", "json", *both, "teams/a/old.tf")
    assert code == 1  # the same warning in teams/a reaches its fail-on: warning
    assert _run(capsys, "check", "--format", "json", "--fail-on", "error", "teams/a")[0] == 0
    _, shown, _ = _run(capsys, "check", "--show-config", "teams/a/main.tf")
    assert json.loads(shown)["fail-on"] == "warning" and json.loads(shown)["require-reason"] is True
    assert "a run fails if any finding reaches the fail-on of its own file" in json.loads(shown)["scope"]


def test_cr_d5_configuration_files_do_not_reload_the_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """Code review D5: every configuration file loaded every rule again (~17 ms each): 200 directories
    with a one-line configuration took 3.45 s instead of 0.88 s. The rule files are now read once."""
    from orgtrust_lint import engine

    monkeypatch.chdir(tmp_path)
    for index in range(40):
        (tmp_path / f"m{index}").mkdir()
        (tmp_path / f"m{index}" / ".orgtrust-lint.yaml").write_text("ignore: [OT105]\n")
        (tmp_path / f"m{index}" / "main.tf").write_text(ORG_WITH_LIST)
    reads = []  # how often the rule files are read (once at most, whatever ran earlier in this process)
    real_rule_files = engine._rule_files
    monkeypatch.setattr(engine, "_rule_files", lambda: reads.append(1) or real_rule_files())
    code, out, err = _run(capsys, "check", "--no-cache", "--jobs", "1", "--format", "json")
    assert (code, err, json.loads(out)["summary"]["files"]) == (0, "", 40)
    assert len(reads) <= 1


def test_cr_d5_loading_a_configuration_does_not_load_the_rules(tmp_path: Path) -> None:
    """Code review D5: validating a configuration's rule codes imported the engine and loaded every rule.
    The resolver is now given the rule ids, so loading configurations never touches the engine."""
    (tmp_path / ".orgtrust-lint.yaml").write_text("ignore: [OT105]\n")
    probe = (
        "import sys\nfrom orgtrust_lint.config import load_config\n"
        "resolver = load_config(['.'], rule_ids=frozenset({'OT101', 'OT105'}))\n"
        "print(resolver.for_file('main.tf').ignore, 'orgtrust_lint.engine' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True)
    assert done.stdout.strip() == "('OT105',) False", done.stderr


def test_fu_minor27_configuration_above_the_repository_does_not_apply(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """First-use minor 27: a .orgtrust-lint.yaml above the git repository silently applied (ignore: [OT1]
    hid every OT1 finding). The search now stops at the repository's top, like mypy and ansible-lint:
    a clone in CI and a checkout inside someone's home directory give the same results."""
    (tmp_path / ".orgtrust-lint.yaml").write_text("ignore: [OT1]\n")
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "org").mkdir()
    (repo / "org" / "main.tf").write_text(TYPO)
    monkeypatch.chdir(repo)
    code, out, _ = _run(capsys, "check", "--format", "json")
    assert code == 1 and _findings(out) >= {("org/main.tf", "OT101")}
    _, shown, _ = _run(capsys, "check", "--show-config", "org/main.tf")
    assert json.loads(shown)["source"] == "(defaults: no configuration file)"
    # Inside the repository the nearest file still wins, and `extend` may still name a file above it.
    (repo / ".orgtrust-lint.yaml").write_text("extend: ../.orgtrust-lint.yaml\n")
    code, out, _ = _run(capsys, "check", "--format", "json")
    assert code == 0 and not _findings(out)
    # A git worktree or submodule marks its top with a .git file: the search stops there too.
    (repo / ".orgtrust-lint.yaml").unlink()
    (repo / ".git").rmdir()
    (repo / ".git").write_text("gitdir: /somewhere/else\n")
    assert _run(capsys, "check", "--format", "json")[0] == 1


def test_configuration_settings_table_covers_the_schema() -> None:
    """Every setting the schema allows is read by from_mapping's table (extend is read by load_file)."""
    from orgtrust_lint.catalog import DATA_DIRECTORY
    from orgtrust_lint.config import SETTINGS_FROM_FILE

    schema = json.loads((DATA_DIRECTORY / "config.schema.json").read_text(encoding="utf-8"))
    assert set(schema["properties"]) == {key for key, _, _ in SETTINGS_FROM_FILE} | {"extend"}
