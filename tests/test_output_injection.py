"""Output stays neutral (review defects D11 and D23): file names, principals, baseline entries and an
endpoint's answers can neither drive a terminal nor start a GitHub Actions workflow command, and
SARIF artifact URIs are valid RFC 3986 references.

GitHub's runner reads a line as a command when, after leading white space, it starts with "::", or
when "##[" appears anywhere in it (the older form); see actions/runner ActionCommand.TryParseV2/TryParse.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote_to_bytes, urlsplit

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orgtrust_lint.cli import run
from orgtrust_lint.report.escape import safe_line

SARIF_SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-2.1.0.json").read_text())

# What the review wrote into a .tf file (probe 5), as HCL escapes.
HOSTILE_PRINCIPALS_HCL = [
    r"ssoo.amazonaws.com\u001b]0;owned-title\u0007\u001b[2K\r\u001b[32mAll checks passed (0 files).\u001b[0m\u001b[8m",
    r"config.amazonaw.com\n::error file=fake.tf,line=1::injected annotation\n::add-mask::amazonaws"
    r"\n::stop-commands::tok\n",
    r"x.amazonaws.com%0A::warning::percent-encoded",
    r"y.amazonaws.com ##[add-mask]legacy-form\u2028::error::after-a-line-separator\u009b31m",
]

# Characters no line we print may hold: C0 controls (tab included), DEL, C1 controls, the Unicode
# line and paragraph separators, and lone surrogates (raw bytes of a file name that is not UTF-8).
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def _assert_neutral(output: str, allowed_command_lines: bool = False) -> list[str]:
    """Every line of ``output``: no control character, no workflow command (unless ours, in github format)."""
    assert not UNSAFE.search(output), f"control characters in {output!r}"
    lines = output.splitlines()
    for line in lines:
        assert "##[" not in line, line
        if line.lstrip().startswith("::"):
            assert allowed_command_lines and re.match(r"::(error|warning|notice) file=", line), line
    return lines


def _org_tf(*principals_hcl: str) -> str:
    listed = ", ".join(f'"{p}"' for p in principals_hcl)
    return f'resource "aws_organizations_organization" "org" {{\n  aws_service_access_principals = [{listed}]\n}}\n'


def test_d11_hostile_principals_in_text_output_are_escaped(capsys, tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(_org_tf(*HOSTILE_PRINCIPALS_HCL))
    code = run(["check", str(tmp_path), "--no-cache"])
    out, err = capsys.readouterr()
    assert code == 1 and err == ""
    lines = _assert_neutral(out)
    # One line per finding plus the summary: nothing forged a line of its own.
    assert all(line.startswith(str(tmp_path / "main.tf")) for line in lines[:-1]), lines
    assert lines[-1].startswith("Found ")
    # The reader still sees what the principal holds, as visible escapes.
    assert r"ssoo.amazonaws.com\x1b]0;owned-title\x07\x1b[2K\r\x1b[32mAll checks passed" in out
    assert r"config.amazonaw.com\n::error file=fake.tf,line=1::injected annotation\n::add-mask::" in out
    assert r"y.amazonaws.com ##\x5badd-mask]legacy-form\u2028::error::after-a-line-separator\x9b31m" in out


def test_d11_hostile_principals_in_github_output_are_escaped(capsys, tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(_org_tf(*HOSTILE_PRINCIPALS_HCL))
    code = run(["check", str(tmp_path), "--no-cache", "--format", "github"])
    out, err = capsys.readouterr()
    assert code == 1 and err == ""
    lines = _assert_neutral(out, allowed_command_lines=True)
    assert all(line.startswith("::") for line in lines[:-1]) and lines[-1].startswith("orgtrust-lint: ")
    # escapeData: "%" as %25 (the runner decodes %25, %0D, %0A); ESC and BEL visible instead of raw.
    assert "x.amazonaws.com%250A::warning::percent-encoded" in out
    assert r"ssoo.amazonaws.com\x1b]0;owned-title\x07" in out


def test_d11_json_output_is_unchanged_and_keeps_the_exact_principal(capsys, tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(_org_tf(HOSTILE_PRINCIPALS_HCL[0]))
    run(["check", str(tmp_path), "--no-cache", "--format", "json"])
    out = capsys.readouterr().out
    assert "\x1b" not in out  # json.dumps escapes it
    principals = {f.get("principal") for f in json.loads(out)["findings"]}
    assert "ssoo.amazonaws.com\x1b]0;owned-title\x07\x1b[2K\r\x1b[32mAll checks passed (0 files).\x1b[0m\x1b[8m" in (
        principals
    )


@pytest.fixture
def hostile_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The review's hostile file names, in the working directory so that paths are printed as given."""
    body = _org_tf("config.amazonaw.com")
    work = tmp_path / "work"
    tree = work / "fn"
    tree.mkdir(parents=True)
    (tree / "a\n::error file=x::from-filename\n\x1b[31mred.tf").write_text(body)
    (tree / "##[add-mask]legacy\x07.tf").write_text(body)
    outside = tmp_path / "outside.tf"
    outside.write_text(body)
    os.symlink(outside, tree / "b\n::add-mask::secret-from-skipped-path\n.tf")
    (work / "::warning::at-line-start.tf").write_text(body)  # no control character needed for this one
    monkeypatch.chdir(work)
    return work


@pytest.mark.parametrize("output_format", ["text", "github"])
def test_d11_hostile_file_names_on_stdout_and_stderr(capsys, hostile_tree: Path, output_format: str) -> None:
    code = run(["check", "--no-cache", "--format", output_format])
    out, err = capsys.readouterr()
    assert code == 1
    _assert_neutral(out, allowed_command_lines=output_format == "github")
    err_lines = _assert_neutral(err)
    assert err_lines == [
        r"orgtrust-lint: skipped fn/b\n::add-mask::secret-from-skipped-path\n.tf: "
        "symbolic link to a file outside ., not followed"
    ]
    if output_format == "text":
        assert r"fn/a\n::error file=x::from-filename\n\x1b[31mred.tf:2:36: OT101" in out
        assert r"\x3a:warning::at-line-start.tf:2:36: OT101" in out


def test_d11_hostile_baseline_entry_on_stderr(capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("main.tf").write_text(_org_tf("config.amazonaw.com"))
    assert run(["check", "--no-cache", "--write-baseline", "baseline.json"]) == 0
    document = json.loads(Path("baseline.json").read_text())
    forged = dict(document["findings"][0])
    forged["path"] = (
        "gone.tf\n::add-mask::ghp_\n::error file=README.md,line=1::Looks good to me, merge it\n\x1b[2K ##[add-mask]x"
    )
    document["findings"].append(forged)
    Path("baseline.json").write_text(json.dumps(document))
    capsys.readouterr()
    code = run(["check", "--no-cache", "--format", "github", "--baseline", "baseline.json"])
    out, err = capsys.readouterr()
    assert code == 0
    _assert_neutral(out, allowed_command_lines=True)
    assert _assert_neutral(err) == [
        r"orgtrust-lint: stale baseline entry: OT101 gone.tf\n::add-mask::ghp_\n::error file=README.md,line=1::"
        r"Looks good to me, merge it\n\x1b[2K ##\x5badd-mask]x: "
        + " ".join(forged["message"].split())
        + " (fixed? run with --baseline-prune)"
    ]


def test_d11_error_message_quoting_a_path_is_one_neutral_line(capsys, tmp_path: Path) -> None:
    code = run(["check", str(tmp_path), "--plan", str(tmp_path / "x\n::add-mask::secret\x1b[2K.json")])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert _assert_neutral(err) == [
        rf"orgtrust-lint: error: --plan: {tmp_path}/x\n::add-mask::secret\x1b[2K.json: no such file"
    ]


class _HostileOrganizations(BaseHTTPRequestHandler):
    """An Organizations endpoint (compromised, or a test double gone wrong) whose answers carry
    control characters and workflow commands in the organization id and a principal."""

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        action = self.headers.get("X-Amz-Target", "").rsplit(".", 1)[-1]
        answers = {
            "DescribeOrganization": {
                "Organization": {"Id": "o-abc\n::error file=x::forged by endpoint\x1b[2K", "MasterAccountId": "1" * 12}
            },
            "ListAWSServiceAccessForOrganization": {
                "EnabledServicePrincipals": [{"ServicePrincipal": "evil.amazonaws.com\n::add-mask::aws\x1b]0;t\x07"}]
            },
        }
        body = json.dumps(answers.get(action, {})).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def hostile_endpoint(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAINJECTIONFIXTURE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "injection/fixture/secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HostileOrganizations)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_d11_drift_text_escapes_what_the_endpoint_says(capsys, tmp_path: Path, hostile_endpoint: str) -> None:
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "org.tf").write_text(_org_tf("sso.amazonaws.com"))
    run(["drift", str(tmp_path / "code"), "--endpoint-url", hostile_endpoint, "--timeout", "5"])
    out, err = capsys.readouterr()
    lines = _assert_neutral(out)
    _assert_neutral(err)
    assert lines[0] == r"Organization o-abc\n::error file=x::forged by endpoint\x1b[2K: 1 principal(s) enabled"
    assert r"evil.amazonaws.com\n::add-mask::aws\x1b]0;t\x07" in out


def _format_checked_sarif_validator() -> jsonschema.protocols.Validator:
    checker = jsonschema.FormatChecker()
    # Without rfc3986-validator (or rfc3987) jsonschema silently skips the format: fail instead.
    assert "uri-reference" in checker.checkers, "install the test extras: uri-reference needs rfc3986-validator"
    return jsonschema.validators.validator_for(SARIF_SCHEMA)(SARIF_SCHEMA, format_checker=checker)


def test_d23_sarif_uris_are_valid_uri_references(capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    names = ["org dir/main tf.tf", "100%/main.tf", "a#b/main.tf", "é?x/ünï.tf", "c:d/e.tf", "fn/a\n\x1b[31mred.tf"]
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(_org_tf("config.amazonaw.com"))
    monkeypatch.chdir(tmp_path)
    run(["check", "--no-cache", "--format", "sarif"])
    document = json.loads(capsys.readouterr().out)
    errors = [error.message for error in _format_checked_sarif_validator().iter_errors(document)]
    assert errors == []
    locations = [r["locations"][0]["physicalLocation"]["artifactLocation"] for r in document["runs"][0]["results"]]
    assert {location["uriBaseId"] for location in locations} == {"%SRCROOT%"}
    # Each URI is a relative path and nothing else ("a#b" would be file "a" with a fragment, "c:d" a scheme),
    # and percent-decoding it gives back the file's exact name.
    parts = [urlsplit(location["uri"]) for location in locations]
    assert all(part.scheme == part.netloc == part.query == part.fragment == "" for part in parts), parts
    assert {unquote_to_bytes(part.path).decode() for part in parts} == set(names)
    assert "org%20dir/main%20tf.tf" in {location["uri"] for location in locations}


def test_d23_sarif_uri_of_a_file_name_that_is_not_utf8(capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name = os.fsdecode(b"bad\xff.tf")  # Linux takes any bytes but "/" and NUL in a name
    (tmp_path / name).write_text(_org_tf("config.amazonaw.com"))
    monkeypatch.chdir(tmp_path)
    code = run(["check", "--no-cache", "--format", "sarif"])
    out, err = capsys.readouterr()
    assert code == 1 and err == ""
    document = json.loads(out)
    assert [error.message for error in _format_checked_sarif_validator().iter_errors(document)] == []
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in document["runs"][0]["results"]}
    assert uris == {"bad%FF.tf"}
    run(["check", "--no-cache"])
    assert r"bad\xff.tf:2:36: OT101" in capsys.readouterr().out


# Text built to hit the edges: control characters, separators, surrogates, and the pieces of commands.
_hostile_text = st.lists(
    st.one_of(
        st.characters(exclude_categories=()),  # surrogates included
        st.sampled_from(["::", "##[", "#", "[", ":", " ", "\u00a0", "\u3000", "%0A", "\\"]),
    ),
    max_size=40,
).map("".join)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(text=_hostile_text)
def test_d11_no_text_makes_a_line_break_a_control_character_or_a_workflow_command(text: str) -> None:
    """The one helper every stderr line goes through: whatever a path or an endpoint holds, the result is
    one line, holds no control character, and the runner cannot read it as a command."""
    line = safe_line(f"orgtrust-lint: skipped {text}")
    assert len(line.splitlines()) == 1 and not UNSAFE.search(line)
    assert "##[" not in line
    bare = safe_line(text)
    assert len(bare.splitlines()) <= 1 and not UNSAFE.search(bare)
    assert "##[" not in bare and not bare.lstrip().startswith("::")
