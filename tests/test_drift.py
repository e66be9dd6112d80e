"""drift against a real HTTP endpoint: moto's server on 127.0.0.1, seeded through boto3."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import pytest
import requests

from orgtrust_lint.cli import run

ACCESS_KEY = "AKIAORGTRUSTFIXTURE1"
SECRET_KEY = "orgtrust-fixture-secret-9f8e7d6c5b4a"
SESSION_TOKEN = "orgtrust-fixture-session-token-0a1b2c3d"


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


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
    """D22: --timeout nan never ended, inf failed at once, 0 and -5 were accepted."""
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
