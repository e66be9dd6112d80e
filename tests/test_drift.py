"""drift against a real HTTP endpoint: moto's server on 127.0.0.1, seeded through boto3."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import jsonschema
import pytest
import requests

from orgtrust_lint.cli import run

ACCESS_KEY = "AKIAORGTRUSTFIXTURE1"
SECRET_KEY = "orgtrust-fixture-secret-9f8e7d6c5b4a"
SESSION_TOKEN = "orgtrust-fixture-session-token-0a1b2c3d"
SARIF_SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-2.1.0.json").read_text())


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))


@pytest.fixture
def organizations(moto_endpoint: str, aws_env: None):
    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=10)
    return boto3.client("organizations", endpoint_url=moto_endpoint, region_name="us-east-1")


def _code(tmp_path: Path, *principals: str) -> str:
    listed = ", ".join(f'"{p}"' for p in principals)
    (tmp_path / "org.tf").write_text(
        f'resource "aws_organizations_organization" "org" {{\n  aws_service_access_principals = [{listed}]\n}}\n'
    )
    return str(tmp_path)


def _drift(capsys, endpoint: str, *argv: str) -> tuple[int, dict | None, str, str]:
    code = run(["drift", *argv, "--endpoint-url", endpoint, "--format", "json"])
    out, err = capsys.readouterr()
    for secret in (SECRET_KEY, SESSION_TOKEN, ACCESS_KEY):
        assert secret not in out and secret not in err
    return code, (json.loads(out) if out else None), out, err


def _rules(document: dict) -> list[tuple[str, str]]:
    return sorted((f["rule"], f.get("principal") or "") for f in document["findings"])


def test_drift_in_both_directions(organizations, moto_endpoint: str, tmp_path: Path, capsys) -> None:
    organizations.create_organization(FeatureSet="ALL")
    for principal in ("config.amazonaws.com", "sso.amazonaws.com"):
        organizations.enable_aws_service_access(ServicePrincipal=principal)
    path = _code(tmp_path, "config.amazonaws.com", "guardduty.amazonaws.com")
    code, document, _, _ = _drift(capsys, moto_endpoint, path)
    assert code == 1
    assert _rules(document) == [("OT401", "sso.amazonaws.com"), ("OT402", "guardduty.amazonaws.com")]
    out_of_band = next(f for f in document["findings"] if f["rule"] == "OT401")
    assert "the next apply disables it" in out_of_band["message"]
    assert "IAM Identity Center" in out_of_band["message"] or "sign" in out_of_band["message"]
    assert out_of_band["suggestion"] == '["config.amazonaws.com", "guardduty.amazonaws.com", "sso.amazonaws.com"]'
    declared = next(f for f in document["findings"] if f["rule"] == "OT402")
    assert (declared["path"].endswith("org.tf"), declared["line"]) == (True, 2)


def test_no_drift(organizations, moto_endpoint: str, tmp_path: Path, capsys) -> None:
    organizations.create_organization(FeatureSet="ALL")
    organizations.enable_aws_service_access(ServicePrincipal="config.amazonaws.com")
    code, document, _, _ = _drift(capsys, moto_endpoint, _code(tmp_path, "config.amazonaws.com"))
    assert (code, document["findings"]) == (0, [])


def test_organization_without_trusted_access(organizations, moto_endpoint: str, tmp_path: Path, capsys) -> None:
    organizations.create_organization(FeatureSet="ALL")
    code, document, _, _ = _drift(capsys, moto_endpoint, _code(tmp_path, "config.amazonaws.com"))
    assert code == 1
    assert _rules(document) == [("OT402", "config.amazonaws.com")]


def test_no_organization_at_all(organizations, moto_endpoint: str, tmp_path: Path, capsys) -> None:
    code, document, _, err = _drift(capsys, moto_endpoint, _code(tmp_path, "config.amazonaws.com"))
    assert (code, document) == (2, None)
    assert err.strip() == (
        "orgtrust-lint: error: these credentials' account is not in an organization (AWSOrganizationsNotInUseException)"
    )


def test_delegated_administrator_out_of_band(organizations, moto_endpoint: str, tmp_path: Path, capsys) -> None:
    organizations.create_organization(FeatureSet="ALL")
    organizations.enable_aws_service_access(ServicePrincipal="guardduty.amazonaws.com")
    account = organizations.create_account(Email="security@example.com", AccountName="security")
    account_id = organizations.describe_create_account_status(
        CreateAccountRequestId=account["CreateAccountStatus"]["Id"]
    )["CreateAccountStatus"]["AccountId"]
    organizations.register_delegated_administrator(AccountId=account_id, ServicePrincipal="guardduty.amazonaws.com")
    _, document, _, _ = _drift(capsys, moto_endpoint, _code(tmp_path, "guardduty.amazonaws.com"))
    assert _rules(document) == [("OT403", "guardduty.amazonaws.com")]
    assert account_id in document["findings"][0]["message"]


def test_aws_endpoint_url_from_the_environment(
    organizations, moto_endpoint: str, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    organizations.create_organization(FeatureSet="ALL")
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    code = run(["drift", _code(tmp_path), "--format", "json"])
    document = json.loads(capsys.readouterr().out)
    assert code == 0 and document["findings"] == []


def test_no_credentials_is_one_line(aws_env: None, moto_endpoint: str, tmp_path: Path, capsys, monkeypatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    code, _, _, err = _drift(capsys, moto_endpoint, _code(tmp_path))
    assert code == 2 and err.strip().startswith("orgtrust-lint: error: no AWS credentials found")


def test_unreachable_endpoint_is_one_line(aws_env: None, tmp_path: Path, capsys) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    code, _, _, err = _drift(capsys, f"http://127.0.0.1:{port}", _code(tmp_path), "--timeout", "5")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "cannot reach the AWS Organizations endpoint" in err


# ---- endpoints of our own on 127.0.0.1, for what moto cannot do ---------------------------


class _Scripted(BaseHTTPRequestHandler):
    """Answers Organizations JSON calls from a script: throttle first, pages, or hang."""

    script: dict = {}

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        action = self.headers.get("X-Amz-Target", "").rsplit(".", 1)[-1]
        script = type(self).script
        if script.get("hang"):
            time.sleep(script["hang"])
            return
        if action in script.get("fail", {}):
            self._send(400, {"__type": script["fail"][action], "Message": "refused by the scripted endpoint"})
            return
        if script.get("throttle", 0) > 0:
            script["throttle"] -= 1
            self._send(400, {"__type": "TooManyRequestsException", "Message": "Rate exceeded"})
            return
        if action == "DescribeOrganization":
            self._send(200, {"Organization": {"Id": "o-scripted", "MasterAccountId": "111111111111"}})
        elif action == "ListAWSServiceAccessForOrganization":
            pages = script["pages"]
            index = int(body.get("NextToken", "0"))
            payload: dict = {
                "EnabledServicePrincipals": [{"ServicePrincipal": p, "DateEnabled": 1.7e9} for p in pages[index]]
            }
            if index + 1 < len(pages):
                payload["NextToken"] = str(index + 1)
            script.setdefault("calls", []).append(index)
            self._send(200, payload)
        else:
            self._send(200, {"DelegatedAdministrators": []})

    def _send(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def scripted() -> Iterator[tuple[str, dict]]:
    script: dict = {}
    handler = type("Handler", (_Scripted,), {"script": script})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", script
    server.shutdown()
    server.server_close()


def test_many_pages_are_all_read(scripted, aws_env: None, tmp_path: Path, capsys) -> None:
    """moto returns this list in one page, so pagination is exercised against our own endpoint."""
    endpoint, script = scripted
    principals = ["config.amazonaws.com", "sso.amazonaws.com", "guardduty.amazonaws.com", "securityhub.amazonaws.com"]
    script["pages"] = [[p] for p in principals]
    code, document, _, _ = _drift(capsys, endpoint, _code(tmp_path, *principals))
    assert script["calls"] == [0, 1, 2, 3]
    assert (code, document["findings"]) == (0, [])


def test_throttling_is_retried_and_the_run_succeeds(scripted, aws_env: None, tmp_path: Path, capsys) -> None:
    endpoint, script = scripted
    script.update(throttle=2, pages=[["config.amazonaws.com"]])
    code, document, _, _ = _drift(capsys, endpoint, _code(tmp_path, "config.amazonaws.com"))
    assert script["throttle"] == 0
    assert (code, document["findings"]) == (0, [])


def test_a_hanging_endpoint_ends_within_the_bound(scripted, aws_env: None, tmp_path: Path, capsys) -> None:
    endpoint, script = scripted
    script["hang"] = 30
    started = time.monotonic()
    code, _, _, err = _drift(capsys, endpoint, _code(tmp_path), "--timeout", "3")
    elapsed = time.monotonic() - started
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "did not answer" in err or "longer than" in err
    assert elapsed < 15  # the bound is --timeout plus one request's grace, far below the hang


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (
            {"ListAWSServiceAccessForOrganization": "AccessDeniedException"},
            "access denied to organizations:ListAWSServiceAccessForOrganization: run drift with credentials of the "
            "management account or of a delegated administrator for AWS Organizations",
        ),
        (
            {"DescribeOrganization": "ExpiredTokenException"},
            "the AWS credentials were rejected (ExpiredTokenException); refresh them and try again",
        ),
    ],
)
def test_refusals_are_one_line(scripted, aws_env: None, tmp_path: Path, capsys, failure: dict, expected: str) -> None:
    endpoint, script = scripted
    script.update(fail=failure, pages=[["config.amazonaws.com"]])
    code, _, out, err = _drift(capsys, endpoint, _code(tmp_path, "config.amazonaws.com"))
    assert (code, out) == (2, "")
    assert err.strip() == f"orgtrust-lint: error: {expected}"


# ---- D22: what drift accepts as --endpoint-url, AWS_ENDPOINT_URL and --timeout ---------------


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again: nothing listens there


def _one_line_error(capsys) -> str:
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1 and err.startswith("orgtrust-lint: error: "), err
    assert "internal error" not in err and "Traceback" not in err
    return err.strip()


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "unix://localhost/var/run/socket",
        "unix:///var/run/socket",
        "javascript:alert(1)",
        "ftp://example.com/",
        "http://[::1",
        "http:///no-host",
        "https://",
    ],
)
@pytest.mark.parametrize("source", ["--endpoint-url", "AWS_ENDPOINT_URL"])
def test_d22_only_http_urls_with_a_host_are_endpoints(
    aws_env: None, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch, url: str, source: str
) -> None:
    """D22: these gave "internal error: ValueError: Invalid endpoint ... (please report this)"."""
    argv = ["drift", _code(tmp_path), "--timeout", "5"]
    if source == "--endpoint-url":
        argv += ["--endpoint-url", url]
    else:
        monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    assert run(argv) == 2
    err = _one_line_error(capsys)
    assert source in err and "http:// or https://" in err, err


@pytest.mark.parametrize("port", ["99999", "0", "http"])
def test_d22_an_invalid_port_is_named(aws_env: None, tmp_path: Path, capsys, port: str) -> None:
    """D22: http://127.0.0.1:99999/ was reported as an answer "malformed or truncated"."""
    assert run(["drift", _code(tmp_path), "--endpoint-url", f"http://127.0.0.1:{port}/"]) == 2
    err = _one_line_error(capsys)
    assert "port" in err and "malformed" not in err, err


@pytest.mark.parametrize(
    ("source", "url"),
    [
        ("--endpoint-url", "http://user:PassInUrl123@127.0.0.1:{port}/"),
        ("AWS_ENDPOINT_URL", "http://svc:EnvUrlPassword@127.0.0.1:{port}"),
        ("--endpoint-url", "ftp://user:PassInUrl123@example.com/"),
        ("AWS_ENDPOINT_URL", "http://svc:EnvUrlPassword@[::1"),
    ],
)
def test_d22_a_password_in_the_endpoint_url_is_never_printed(
    aws_env: None, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch, source: str, url: str
) -> None:
    """D22: "cannot reach the AWS Organizations endpoint http://user:PassInUrl123@..." echoed the password."""
    url = url.format(port=_closed_port())
    argv = ["drift", _code(tmp_path), "--timeout", "5"]
    if source == "--endpoint-url":
        argv += ["--endpoint-url", url]
    else:
        monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    assert run(argv) == 2
    err = _one_line_error(capsys)
    password = url.split(":")[2].split("@")[0]
    assert not [password[i : i + 8] for i in range(len(password) - 7) if password[i : i + 8] in err], err
    assert "user" not in err and "svc" not in err  # the whole userinfo goes, not just the password
    assert "***@" in err, err


@pytest.mark.parametrize("value", ["nan", "inf", "0", "-5", "1e9", "soon"])
def test_d22_timeout_must_be_a_positive_finite_number(aws_env: None, tmp_path: Path, capsys, value: str) -> None:
    """D22 and first-use minor 10: --timeout nan never ended, inf failed at once, 0 and -5 were accepted
    ("took longer than -5 s"); each is now a usage error."""
    started = time.monotonic()
    code = run(["drift", _code(tmp_path), "--endpoint-url", f"http://127.0.0.1:{_closed_port()}", "--timeout", value])
    assert code == 2 and time.monotonic() - started < 3
    err = _one_line_error(capsys)
    assert "argument --timeout" in err and repr(value) in err, err


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://user:PassInUrl123@example.com/", "http://exa_mple.com"])
def test_d22_an_endpoint_url_from_the_aws_config_file_is_checked_too(
    aws_env: None, tmp_path: Path, capsys, url: str
) -> None:
    """D22: botocore also reads endpoint_url from the profile; file:// there was an internal error too."""
    (tmp_path / "no-config").write_text(f"[default]\nendpoint_url = {url}\n")  # the file AWS_CONFIG_FILE names
    assert run(["drift", _code(tmp_path), "--timeout", "5"]) == 2
    err = _one_line_error(capsys)
    assert "http:// or https://" in err and "PassInUrl" not in err and "user" not in err, err


# ---- issue 15: the first-use review's drift items (M9, minor 6 to 11) ------------------------


def _run_drift(capsys, endpoint: str, *argv: str) -> tuple[int, str, str]:
    code = run(["drift", *argv, "--endpoint-url", endpoint])
    out, err = capsys.readouterr()
    for secret in (SECRET_KEY, SESSION_TOKEN, ACCESS_KEY):
        assert secret not in out and secret not in err
    return code, out, err


def _one_line(err: str) -> str:
    assert len(err.strip().splitlines()) == 1 and err.startswith("orgtrust-lint: error: "), err
    assert "Traceback" not in err and "internal error" not in err, err
    return err.strip()


def _enable(organizations, *principals: str) -> None:
    organizations.create_organization(FeatureSet="ALL")
    for principal in principals:
        organizations.enable_aws_service_access(ServicePrincipal=principal)


@pytest.mark.parametrize(
    "files",
    [
        {},  # an empty directory
        {"template.yaml": "Resources:\n  Logs:\n    Type: AWS::S3::Bucket\n"},  # CloudFormation only
        {"main.tf": 'resource "aws_s3_bucket" "logs" {\n  bucket = "logs"\n}\n'},  # Terraform, but not the org's
    ],
    ids=["empty", "cloudformation-only", "terraform-without-organization"],
)
@pytest.mark.parametrize("output", ["text", "json", "sarif", "github"])
def test_fu_m9_code_that_declares_no_trusted_access_is_one_line_and_exit_2(
    organizations, moto_endpoint: str, tmp_path: Path, capsys, files: dict[str, str], output: str
) -> None:
    """M9: these reported every live principal as an OT401 error at "organization o-...:1:1" (exit 1)."""
    _enable(organizations, "config.amazonaws.com", "sso.amazonaws.com")
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    code, out, err = _run_drift(capsys, moto_endpoint, str(tmp_path), "--format", output)
    assert (code, out) == (2, "")
    line = _one_line(err)
    # An empty directory holds nothing to lint at all, which discovery says before drift can.
    expected = ("nothing to lint",) if not files else ("no trusted access is declared", "nothing to compare")
    assert all(part in line for part in expected), line
    assert "OT401" not in line and "organization o-" not in line


def test_an_organization_that_leaves_the_list_out_declares_an_empty_one(
    organizations, moto_endpoint: str, tmp_path: Path, capsys
) -> None:
    """The provider reads a missing aws_service_access_principals as an empty, authoritative list
    (Optional, not Computed): the next apply disables every principal enabled beside it."""
    _enable(organizations, "config.amazonaws.com", "sso.amazonaws.com")
    (tmp_path / "main.tf").write_text('resource "aws_organizations_organization" "org" {\n  feature_set = "ALL"\n}\n')
    code, out, _ = _run_drift(capsys, moto_endpoint, str(tmp_path), "--format", "json")
    findings = json.loads(out)["findings"]
    assert code == 1
    assert sorted(f["principal"] for f in findings if f["rule"] == "OT401") == [
        "config.amazonaws.com",
        "sso.amazonaws.com",
    ]
    assert all(f["line"] == 1 and "next apply disables it" in f["message"] for f in findings if f["rule"] == "OT401")

    ignored = (
        'resource "aws_organizations_organization" "org" {\n'
        "  lifecycle {\n    ignore_changes = [aws_service_access_principals]\n  }\n}\n"
    )
    (tmp_path / "main.tf").write_text(ignored)
    code, out, _ = _run_drift(capsys, moto_endpoint, str(tmp_path), "--format", "json")
    assert all("next apply" not in f["message"] for f in json.loads(out)["findings"])


def test_fu_m9_nothing_declared_needs_no_credentials(aws_env: None, tmp_path: Path, capsys, monkeypatch) -> None:
    """M9: the check comes before any call to AWS: a mistyped or empty path is reported without credentials."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    (tmp_path / "main.tf").write_text('resource "aws_s3_bucket" "logs" {\n  bucket = "logs"\n}\n')
    assert run(["drift", str(tmp_path), "--endpoint-url", "http://127.0.0.1:9"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "no trusted access is declared" in line and "credentials" not in line, line


def _service_access_code(tmp_path: Path, *principals: str) -> str:
    """Trusted access through standalone resources: no authoritative list for a finding to point at."""
    (tmp_path / "access.tf").write_text(
        "".join(
            f'resource "aws_organizations_aws_service_access" "s{i}" {{\n  service_principal = "{p}"\n}}\n'
            for i, p in enumerate(principals)
        )
    )
    return str(tmp_path)


def _security_account(organizations) -> str:
    account = organizations.create_account(Email="security@example.com", AccountName="security")
    return organizations.describe_create_account_status(CreateAccountRequestId=account["CreateAccountStatus"]["Id"])[
        "CreateAccountStatus"
    ]["AccountId"]


@pytest.mark.parametrize("output", ["sarif", "github", "json", "text"])
def test_fu_m9_every_drift_finding_is_located_in_a_file(
    organizations, moto_endpoint: str, tmp_path: Path, capsys, output: str
) -> None:
    """M9: without an authoritative list, OT401 and OT403 pointed at "organization o-...", which SARIF
    carried as an artifact URI and github as file=organization o-... (code scanning rejects a result
    without a file). They now point at the code that declares the organization's trusted access."""
    _enable(organizations, "config.amazonaws.com", "sso.amazonaws.com", "guardduty.amazonaws.com")
    organizations.register_delegated_administrator(
        AccountId=_security_account(organizations), ServicePrincipal="guardduty.amazonaws.com"
    )
    path = _service_access_code(tmp_path, "config.amazonaws.com", "guardduty.amazonaws.com")
    declaring = str(tmp_path / "access.tf")
    code, out, _ = _run_drift(capsys, moto_endpoint, path, "--format", output)
    assert code == 1
    assert "organization o-" not in out.replace("Organization o-", "")  # the text format's heading names it
    if output == "sarif":
        document = json.loads(out)
        jsonschema.validate(document, SARIF_SCHEMA)
        results = document["runs"][0]["results"]
        assert sorted(r["ruleId"] for r in results) == ["OT401", "OT403"]
        for result in results:
            assert [loc["physicalLocation"]["artifactLocation"]["uri"] for loc in result["locations"]] == [
                Path(declaring).as_uri()
            ]
    elif output == "github":
        commands = [line for line in out.splitlines() if line.startswith("::")]
        assert len(commands) == 2
        assert all(line.split(" ", 1)[1].startswith(f"file={declaring},line=1,") for line in commands), commands
    elif output == "json":
        assert {(f["rule"], f["path"], f["line"]) for f in json.loads(out)["findings"]} == {
            ("OT401", declaring, 1),
            ("OT403", declaring, 1),
        }
    else:
        assert f"{declaring}:1:1: OT401" in out and f"{declaring}:1:1: OT403" in out


def _delegated_admin_code(tmp_path: Path, principal: str, account: str | None) -> str:
    account_id = f'"{account}"' if account else "aws_organizations_account.security.id"
    (tmp_path / "delegated.tf").write_text(
        f'resource "aws_organizations_delegated_administrator" "admin" {{\n'
        f"  account_id        = {account_id}\n"
        f'  service_principal = "{principal}"\n'
        "}\n"
    )
    return str(tmp_path)


def test_fu_m9_code_with_only_delegated_administrators_is_not_told_about_trusted_access(
    organizations, moto_endpoint: str, tmp_path: Path, capsys
) -> None:
    """M9, like OT301: code that registers delegated administrators but leaves trusted access to someone
    else gets no OT401 for each enabled principal; its delegated administrators are still compared."""
    _enable(organizations, "config.amazonaws.com", "guardduty.amazonaws.com")
    account = _security_account(organizations)
    organizations.register_delegated_administrator(AccountId=account, ServicePrincipal="guardduty.amazonaws.com")
    path = _delegated_admin_code(tmp_path, "guardduty.amazonaws.com", account)
    code, document, _, _ = _drift(capsys, moto_endpoint, path)
    assert (code, document["findings"]) == (0, [])


def test_fu_minor6_drift_takes_select_and_ignore(organizations, moto_endpoint: str, tmp_path: Path, capsys) -> None:
    """Minor 6: `drift --ignore OT401` was "unrecognized arguments"; they select among the live rules like check's."""
    _enable(organizations, "config.amazonaws.com", "sso.amazonaws.com")
    path = _code(tmp_path, "config.amazonaws.com", "guardduty.amazonaws.com")
    _, everything, _, _ = _drift(capsys, moto_endpoint, path)
    assert _rules(everything) == [("OT401", "sso.amazonaws.com"), ("OT402", "guardduty.amazonaws.com")]
    code, ignored, _, _ = _drift(capsys, moto_endpoint, path, "--ignore", "OT401")
    assert (code, _rules(ignored)) == (1, [("OT402", "guardduty.amazonaws.com")])
    code, selected, _, _ = _drift(capsys, moto_endpoint, path, "--select", "ot401,OT404")
    assert (code, _rules(selected)) == (1, [("OT401", "sso.amazonaws.com")])
    code, nothing, _, _ = _drift(capsys, moto_endpoint, path, "--select", "OT4", "--ignore", "OT401,OT402")
    assert (code, nothing["findings"]) == (0, [])


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--select", "n0pe"], "--select: 'N0PE' is not a rule code"),
        (["--select", "nope"], "--select NOPE selects none of drift's rules (OT4xx)"),
        (["--ignore", "OT4x"], "--ignore: 'OT4X' is not a rule code"),
        (["--select", "OT101"], "--select OT101 selects none of drift's rules (OT4xx)"),
        (["--select", "OT401,OT2"], "--select OT2 selects none of drift's rules (OT4xx)"),
    ],
)
def test_fu_minor6_drift_select_and_ignore_are_validated(
    aws_env: None, tmp_path: Path, capsys, argv: list[str], expected: str
) -> None:
    """Minor 6: a bad code is one line and exit 2, before any call to AWS (nothing listens on the endpoint)."""
    assert run(["drift", _code(tmp_path, "config.amazonaws.com"), *argv, "--endpoint-url", "http://127.0.0.1:9"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert expected in line, line


PROFILE_SECRET = "profile-secret-never-printed-5e4d3c2b1a"
AWS_CONFIG = f"""
[profile sso-mgmt]
sso_start_url = https://example.awsapps.com/start
sso_region = us-east-1
sso_account_id = 111111111111
sso_role_name = ReadOnly
region = us-east-1

[profile sso-session-mgmt]
sso_session = corp
sso_account_id = 111111111111
sso_role_name = ReadOnly
region = us-east-1

[sso-session corp]
sso_start_url = https://example.awsapps.com/start
sso_region = us-east-1

[profile base]
aws_access_key_id = AKIAPROFILEFIXTURE01
aws_secret_access_key = {PROFILE_SECRET}

[profile management]
role_arn = arn:aws:iam::111111111111:role/orgtrust-lint-drift
source_profile = base
region = us-east-1
"""


@pytest.fixture
def aws_profiles(aws_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real AWS config file with SSO and assume-role profiles; no credentials in the environment and
    an empty home, so there is no SSO token cache (~/.aws/sso/cache) either."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    for name in ("AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL_STS", "AWS_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    config = tmp_path / "aws-config"
    config.write_text(AWS_CONFIG)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))


def _profile_error(capsys, tmp_path: Path, *argv: str) -> str:
    code = run(["drift", _code(tmp_path / "org", "config.amazonaws.com"), *argv])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert PROFILE_SECRET not in err and "AKIAPROFILEFIXTURE01" not in err
    return _one_line(err)


def _org_dir(tmp_path: Path) -> None:
    (tmp_path / "org").mkdir()


@pytest.mark.parametrize("profile", ["sso-mgmt", "sso-session-mgmt"])
@pytest.mark.parametrize("chosen_by", ["--profile", "AWS_PROFILE"])
def test_fu_minor7_an_sso_profile_without_a_login_says_to_log_in(
    aws_profiles: None, moto_endpoint: str, tmp_path: Path, capsys, monkeypatch, profile: str, chosen_by: str
) -> None:
    """Minor 7: this was "organizations:DescribeOrganization failed: SSOTokenLoadError", with no hint."""
    _org_dir(tmp_path)
    argv = ["--endpoint-url", moto_endpoint]
    if chosen_by == "--profile":
        argv += ["--profile", profile]
    else:
        monkeypatch.setenv("AWS_PROFILE", profile)
    line = _profile_error(capsys, tmp_path, *argv)
    assert f"run 'aws sso login --profile {profile}'" in line, line
    assert f"SSO) login of the AWS profile '{profile}' is missing or expired" in line, line
    assert "organizations:" not in line


@pytest.mark.parametrize("variable", ["AWS_PROFILE", "AWS_DEFAULT_PROFILE"])
def test_fu_minor8_a_missing_profile_from_the_environment_is_named(
    aws_profiles: None, moto_endpoint: str, tmp_path: Path, capsys, monkeypatch, variable: str
) -> None:
    """Minor 8: `AWS_PROFILE=nope` printed "the AWS profile None does not exist"."""
    _org_dir(tmp_path)
    monkeypatch.setenv(variable, "nope")
    line = _profile_error(capsys, tmp_path, "--endpoint-url", moto_endpoint)
    assert line == f"orgtrust-lint: error: the AWS profile 'nope' ({variable}) does not exist"
    assert _profile_error(capsys, tmp_path, "--endpoint-url", moto_endpoint, "--profile", "other").endswith(
        "the AWS profile 'other' (--profile) does not exist"
    )


def test_fu_minor9_an_unreachable_sts_is_named_as_sts(
    aws_profiles: None, moto_endpoint: str, tmp_path: Path, capsys, monkeypatch
) -> None:
    """Minor 9: an assume-role profile whose STS call failed read "cannot reach the AWS Organizations
    endpoint https://sts...", though Organizations was never asked."""
    _org_dir(tmp_path)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", f"http://127.0.0.1:{port}")
    line = _profile_error(capsys, tmp_path, "--profile", "management", "--endpoint-url", moto_endpoint)
    assert line == (
        f"orgtrust-lint: error: cannot reach the AWS STS endpoint http://127.0.0.1:{port}/ "
        "(sts:AssumeRole, for the credentials of the AWS profile 'management')"
    )


def test_fu_minor9_an_assume_role_profile_reads_the_organization(
    aws_profiles: None, organizations, moto_endpoint: str, tmp_path: Path, capsys, monkeypatch
) -> None:
    """The same profile with a working STS (moto's): its calls, now limited and watched like ours, still work."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", moto_endpoint)
    _org_dir(tmp_path)
    line = _profile_error(capsys, tmp_path, "--profile", "management", "--endpoint-url", moto_endpoint)
    # moto keeps an organization per account: the assumed role's account (111111111111) has none, which
    # shows that the read went through the assumed role's credentials.
    assert line.endswith("these credentials' account is not in an organization (AWSOrganizationsNotInUseException)")


def _second_account(organizations) -> str:
    account = organizations.create_account(Email="audit@example.com", AccountName="audit")
    return organizations.describe_create_account_status(CreateAccountRequestId=account["CreateAccountStatus"]["Id"])[
        "CreateAccountStatus"
    ]["AccountId"]


def _with_trusted_access(path: str, *principals: str) -> str:
    _code(Path(path), *principals)  # org.tf next to delegated.tf
    return path


def test_fu_minor11_a_declared_delegated_administrator_that_is_not_registered(
    organizations, moto_endpoint: str, tmp_path: Path, capsys
) -> None:
    """Minor 11: a delegated administrator declared in code but not registered live gave no finding."""
    _enable(organizations, "guardduty.amazonaws.com")
    account = _security_account(organizations)
    path = _with_trusted_access(
        _delegated_admin_code(tmp_path, "guardduty.amazonaws.com", account), "guardduty.amazonaws.com"
    )
    code, document, _, _ = _drift(capsys, moto_endpoint, path)
    assert (code, _rules(document)) == (1, [("OT405", "guardduty.amazonaws.com")])
    finding = document["findings"][0]
    assert (finding["path"], finding["line"], finding["severity"]) == (str(tmp_path / "delegated.tf"), 3, "error")
    assert finding["message"] == (
        f"account {account} is declared here as delegated administrator for 'guardduty.amazonaws.com', "
        "but the organization has none registered"
    )
    organizations.register_delegated_administrator(AccountId=account, ServicePrincipal="guardduty.amazonaws.com")
    code, document, _, _ = _drift(capsys, moto_endpoint, path)
    assert (code, document["findings"]) == (0, [])


def test_fu_minor11_another_account_registered_than_the_declared_one(
    organizations, moto_endpoint: str, tmp_path: Path, capsys
) -> None:
    """Minor 11: the declared account is compared too, when the code writes it as a literal."""
    _enable(organizations, "guardduty.amazonaws.com")
    declared, registered = _security_account(organizations), _second_account(organizations)
    organizations.register_delegated_administrator(AccountId=registered, ServicePrincipal="guardduty.amazonaws.com")
    path = _with_trusted_access(
        _delegated_admin_code(tmp_path, "guardduty.amazonaws.com", declared), "guardduty.amazonaws.com"
    )
    code, document, _, _ = _drift(capsys, moto_endpoint, path)
    assert (code, _rules(document)) == (1, [("OT405", "guardduty.amazonaws.com")])
    assert document["findings"][0]["message"] == (
        f"account {declared} is declared here as delegated administrator for 'guardduty.amazonaws.com', "
        f"but the organization has account(s) {registered} registered"
    )


def test_fu_minor11_an_account_the_code_does_not_spell_out(
    organizations, moto_endpoint: str, tmp_path: Path, capsys
) -> None:
    """Minor 11: with account_id from another resource, any registered administrator satisfies the code;
    none at all is the finding."""
    _enable(organizations, "guardduty.amazonaws.com")
    path = _with_trusted_access(
        _delegated_admin_code(tmp_path, "guardduty.amazonaws.com", None), "guardduty.amazonaws.com"
    )
    code, document, _, _ = _drift(capsys, moto_endpoint, path)
    assert (code, _rules(document)) == (1, [("OT405", "guardduty.amazonaws.com")])
    assert document["findings"][0]["message"].startswith("an account is declared here as delegated administrator")
    organizations.register_delegated_administrator(
        AccountId=_security_account(organizations), ServicePrincipal="guardduty.amazonaws.com"
    )
    code, document, _, _ = _drift(capsys, moto_endpoint, path)
    assert (code, document["findings"]) == (0, [])


def test_fu_minor11_a_cloudformation_delegated_administrator(
    organizations, moto_endpoint: str, tmp_path: Path, capsys
) -> None:
    """Minor 11 for a CloudFormation resource that registers a delegated administrator (a custom resource)."""
    _enable(organizations, "guardduty.amazonaws.com")
    (tmp_path / "admins.yaml").write_text(
        "Resources:\n"
        "  GuardDutyAdmin:\n"
        "    Type: Custom::RegisterDelegatedAdministrator\n"
        "    Properties:\n"
        "      ServiceToken: arn:aws:lambda:us-east-1:111111111111:function:register\n"
        "      ServicePrincipal: guardduty.amazonaws.com\n"
        '      AccountId: "222222222222"\n'
    )
    code, document, _, _ = _drift(capsys, moto_endpoint, str(tmp_path))
    assert (code, _rules(document)) == (1, [("OT405", "guardduty.amazonaws.com")])
    assert document["findings"][0]["path"] == str(tmp_path / "admins.yaml")
    assert document["findings"][0]["message"].startswith("account 222222222222 is declared here")


def test_fu_minor11_the_principal_through_a_variable(organizations, moto_endpoint: str, tmp_path: Path, capsys) -> None:
    """Minor 11: the account id is read from the resource even when the principal is a variable's default."""
    _enable(organizations, "guardduty.amazonaws.com")
    _code(tmp_path, "guardduty.amazonaws.com")
    (tmp_path / "variables.tf").write_text('variable "principal" {\n  default = "guardduty.amazonaws.com"\n}\n')
    (tmp_path / "admin.tf").write_text(
        'resource "aws_organizations_delegated_administrator" "guardduty" {\n'
        '  account_id        = "222222222222"\n'
        "  service_principal = var.principal\n"
        "}\n"
    )
    code, document, _, _ = _drift(capsys, moto_endpoint, str(tmp_path))
    assert (code, _rules(document)) == (1, [("OT405", "guardduty.amazonaws.com")])
    assert document["findings"][0]["message"].startswith("account 222222222222 is declared here")


def test_drift_writes_several_reports_in_one_run_and_exit_zero(
    organizations, moto_endpoint: str, tmp_path: Path, capsys
) -> None:
    """drift takes check's report options (issue 20): one run, the same findings in every report."""
    organizations.create_organization(FeatureSet="ALL")
    organizations.enable_aws_service_access(ServicePrincipal="sso.amazonaws.com")
    path = _code(tmp_path, "config.amazonaws.com")
    junit, gitlab = tmp_path / "drift.xml", tmp_path / "drift.json"
    code, document, _, _ = _drift(capsys, moto_endpoint, path, "-o", f"junit={junit}", "-o", f"gitlab={gitlab}")
    assert code == 1
    expected = _rules(document)
    assert expected == [("OT401", "sso.amazonaws.com"), ("OT402", "config.amazonaws.com")]
    assert sorted(i["check_name"] for i in json.loads(gitlab.read_text())) == ["OT401", "OT402"]
    assert sorted(f.attrib["type"] for f in ElementTree.parse(junit).getroot().iter("failure")) == ["OT401", "OT402"]
    code, document, _, _ = _drift(capsys, moto_endpoint, path, "--exit-zero")
    assert code == 0 and _rules(document) == expected


def test_drift_without_boto3_exits_2_with_the_install_hint(tmp_path: Path, capsys, monkeypatch) -> None:
    """boto3 comes with the 'drift' extra only (issue 20): without it drift says how to install it."""
    monkeypatch.setitem(sys.modules, "boto3", None)  # what an install without the extra gives: ImportError
    code = run(["drift", _code(tmp_path, "config.amazonaws.com")])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err.startswith("orgtrust-lint: error: drift needs boto3") and err.count("\n") == 1
    assert "pip install 'orgtrust-lint[drift] @ git+https://github.com/orgtrust-lint/orgtrust-lint'" in err


def test_drift_on_a_terminal_shows_which_call_it_waits_on(
    organizations, moto_endpoint: str, tmp_path: Path, capsys, monkeypatch
) -> None:
    """Issue 20: a drift that hangs on AWS says on which call (the line's delay is 0 here, so every call shows)."""
    from orgtrust_lint import terminal

    organizations.create_organization(FeatureSet="ALL")
    monkeypatch.setattr(terminal, "DELAY", 0.0)
    monkeypatch.setattr(terminal, "INTERVAL", 0.0)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    code = run(["drift", _code(tmp_path, "config.amazonaws.com"), "--endpoint-url", moto_endpoint, "--color", "never"])
    out, err = capsys.readouterr()
    assert code == 1 and "OT402" in out
    for call in ("DescribeOrganization", "ListAWSServiceAccessForOrganization", "ListDelegatedAdministrators"):
        assert f"\r\033[Korgtrust-lint: waiting for organizations:{call}" in err
    assert err.endswith("\r\033[K"), "erased before the report"
