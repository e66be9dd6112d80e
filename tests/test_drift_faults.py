"""Live mode under faults, against a misbehaving endpoint of our own on 127.0.0.1.

Every fault ends within a bound, with exactly one line on stderr, exit code 2, no traceback,
and none of the credentials (nor any long piece of them) in any output, even when the endpoint
echoes the request's signed headers back in its error message.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import json
import os
import resource
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from orgtrust_lint.cli import run

ACCESS_KEY = "AKIAFAULTFIXTURE0001"
SECRET_KEY = "fault/fixture/SECRET+do-not-print-7c6b5a"
SESSION_TOKEN = "FAULTFIXTURESESSIONTOKEN/0123456789abcdef=="
SECRETS = (ACCESS_KEY, SECRET_KEY, SESSION_TOKEN)


class _Faulty(BaseHTTPRequestHandler):
    fault = ""
    stopping: threading.Event  # set when the test ends: endless answers stop there

    def log_message(self, *args: object) -> None:
        pass

    def _trickle(self, data: bytes) -> None:
        """Send data one byte every 0.5 s: each socket read gets a byte well within any read timeout."""
        for byte in data:
            if type(self).stopping.wait(0.5):
                return
            self.wfile.write(bytes([byte]))

    def _flood(self, chunk: bytes, framing: str) -> None:
        """Send chunk after chunk, as fast as the client reads, until it hangs up (see handle) or the test ends."""
        while not type(self).stopping.is_set():
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if framing == "chunked" else chunk)

    def handle(self) -> None:
        # A client that gives up (at its deadline or its size cap) is what these tests want, not news.
        with contextlib.suppress(ConnectionError):
            if type(self).fault == "trickled TLS handshake":
                self.request.recv(65536)  # the client's hello; the answer is a 16 KB record, ever so slowly
                self._trickle(b"\x16\x03\x03\x40\x00" + bytes(16384))
                return
            super().handle()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        action = self.headers.get("X-Amz-Target", "").rsplit(".", 1)[-1]
        fault = type(self).fault
        if fault == "healthy":
            if action == "DescribeOrganization":
                self._send(200, json.dumps({"Organization": {"Id": "o-healthy", "MasterAccountId": "111111111111"}}))
            else:
                self._send(200, json.dumps({"EnabledServicePrincipals": [{"ServicePrincipal": "sso.amazonaws.com"}]}))
        elif fault == "endless 3 MiB pages":
            if action == "DescribeOrganization":
                self._send(200, json.dumps({"Organization": {"Id": "o-pages", "MasterAccountId": "111111111111"}}))
            else:  # each page under the cap for one answer, and always one more
                self._send(200, json.dumps({"EnabledServicePrincipals": [], "NextToken": "more"}) + " " * (3 << 20))
        elif fault == "throttling storm":
            self._send(400, json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}))
        elif fault.startswith("http "):
            self._send(int(fault.split()[1]), "<html><body>Service Unavailable</body></html>", "text/html")
        elif fault == "truncated body":
            self.send_response(200)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", "4096")
            self.end_headers()
            self.wfile.write(b'{"Organization": {"Id": "o-')
            self.wfile.flush()
            self.close_connection = True
        elif fault == "invalid JSON":
            self._send(200, "{this is not json")
        elif fault == "wrong shape":
            if action == "DescribeOrganization":
                self._send(200, json.dumps({"Organization": {"Id": "o-faulty", "MasterAccountId": "111111111111"}}))
            else:
                self._send(200, json.dumps({"EnabledServicePrincipals": "config.amazonaws.com", "NextToken": 7}))
        elif fault in ("ExpiredTokenException", "UnrecognizedClientException", "InvalidClientTokenId"):
            self._send(403 if fault == "InvalidClientTokenId" else 400, json.dumps({"__type": fault, "message": "no"}))
        elif fault == "trickled body":
            body = json.dumps({"Organization": {"Id": "o-slow", "MasterAccountId": "111111111111"}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self._trickle(body)
        elif fault == "trickled headers":
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\n")
            self._trickle(b"X-Slow: " + b"a" * 60000)
        elif fault == "endless chunked body":
            self.send_response(200)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self._flood(b" " * 65536, "chunked")
        elif fault == "8 GiB body":
            self.send_response(200)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(8 << 30))
            self.end_headers()
            self._flood(b" " * 65536, "raw")
        elif fault == "echoes credentials":
            echoed = f"bad request from {self.headers.get('Authorization')} {self.headers.get('X-Amz-Security-Token')}"
            self._send(400, json.dumps({"__type": "ValidationException", "message": echoed}))

    def _send(self, status: int, body: str, content_type: str = "application/x-amz-json-1.1") -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _TLSServer(ThreadingHTTPServer):
    context: ssl.SSLContext

    def finish_request(self, request, client_address) -> None:  # type: ignore[no-untyped-def]
        # The handshake in the request's own thread, so that a client that gives up blocks nobody.
        with contextlib.suppress(OSError):
            super().finish_request(self.context.wrap_socket(request, server_side=True), client_address)


def _serve(server_class: type[ThreadingHTTPServer], scheme: str) -> Iterator[type[_Faulty]]:
    handler = type("Handler", (_Faulty,), {"fault": "", "stopping": threading.Event()})
    server = server_class(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    handler.endpoint = f"{scheme}://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    yield handler
    handler.stopping.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def faulty_endpoint() -> Iterator[type[_Faulty]]:
    yield from _serve(ThreadingHTTPServer, "http")


def _self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that is its own authority, strict enough for Python 3.13's checks."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "orgtrust-lint test endpoint")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, False, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    certificate_file, key_file = directory / "endpoint.pem", directory / "endpoint.key"
    certificate_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return certificate_file, key_file


@pytest.fixture
def tls_endpoint(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[type[_Faulty]]:
    """The same endpoint behind real TLS, with a certificate botocore is told to trust (AWS_CA_BUNDLE)."""
    certificate_file, key_file = _self_signed_certificate(tmp_path_factory.mktemp("tls"))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate_file, key_file)
    monkeypatch.setenv("AWS_CA_BUNDLE", str(certificate_file))
    yield from _serve(type("Server", (_TLSServer,), {"context": context}), "https")


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))


def _pieces(secret: str, length: int = 8) -> set[str]:
    return {secret[i : i + length] for i in range(len(secret) - length + 1)}


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ("throttling storm", "throttl"),
        ("http 500", "kept failing with HTTP 500"),
        ("http 502", "kept failing with HTTP 502"),
        ("http 503", "kept failing with HTTP 503"),
        ("truncated body", ""),
        ("invalid JSON", ""),
        ("wrong shape", ""),
        ("ExpiredTokenException", "ExpiredTokenException"),
        ("UnrecognizedClientException", "UnrecognizedClientException"),
        ("InvalidClientTokenId", "InvalidClientTokenId"),
        ("echoes credentials", "ValidationException"),
    ],
)
def test_fault_ends_in_one_line_without_leaking(
    faulty_endpoint, credentials: None, tmp_path: Path, capsys, fault: str, expected: str
) -> None:
    faulty_endpoint.fault = fault
    (tmp_path / "org.tf").write_text(
        'resource "aws_organizations_organization" "org" {\n'
        '  aws_service_access_principals = ["sso.amazonaws.com"]\n'
        "}\n"
    )
    started = time.monotonic()
    code = run(["drift", str(tmp_path), "--endpoint-url", faulty_endpoint.endpoint, "--timeout", "4"])
    elapsed = time.monotonic() - started
    out, err = capsys.readouterr()
    print(f"{fault}: exit {code} in {elapsed:.1f} s: {err.strip()}")
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("orgtrust-lint: error: "), err
    assert "Traceback" not in err
    assert expected.lower() in err.lower()
    assert elapsed < 12  # --timeout 4 plus one request's grace
    leaked = {piece for secret in SECRETS for piece in _pieces(secret) if piece in out + err}
    assert not leaked, f"credential fragments in the output: {sorted(leaked)}"


def _org_code(tmp_path: Path) -> str:
    (tmp_path / "org.tf").write_text(
        'resource "aws_organizations_organization" "org" {\n'
        '  aws_service_access_principals = ["sso.amazonaws.com"]\n'
        "}\n"
    )
    return str(tmp_path)


def _assert_one_line_without_leaking(code: int, out: str, err: str) -> None:
    assert code == 2 and out == "", (code, out, err)
    assert len(err.strip().splitlines()) == 1 and err.startswith("orgtrust-lint: error: "), err
    assert "Traceback" not in err and "internal error" not in err and "MemoryError" not in err, err
    leaked = {piece for secret in SECRETS for piece in _pieces(secret) if piece in out + err}
    assert not leaked, f"credential fragments in the output: {sorted(leaked)}"


@pytest.mark.parametrize("fault", ["trickled body", "trickled headers"])
def test_d10_a_trickling_endpoint_ends_at_the_timeout(
    faulty_endpoint, credentials: None, tmp_path: Path, capsys, fault: str
) -> None:
    """D10: a byte every 0.5 s satisfies every per-read timeout; --timeout must still end the whole run.

    Before the fix these runs were still going after 120 s; the run is in a thread here so that a
    regression fails this test instead of hanging the suite.
    """
    faulty_endpoint.fault = fault
    outcome: list[int] = []
    argv = ["drift", _org_code(tmp_path), "--endpoint-url", faulty_endpoint.endpoint, "--timeout", "2"]
    started = time.monotonic()
    worker = threading.Thread(target=lambda: outcome.append(run(argv)), daemon=True)
    worker.start()
    worker.join(10)
    elapsed = time.monotonic() - started
    assert not worker.is_alive(), f"drift --timeout 2 was still running after {elapsed:.0f} s"
    out, err = capsys.readouterr()
    print(f"{fault}: exit {outcome} in {elapsed:.2f} s: {err.strip()}")
    _assert_one_line_without_leaking(outcome[0], out, err)
    assert "longer than 2 s (--timeout)" in err
    assert elapsed < 5  # --timeout 2 plus a grace (starting boto3 included), not minutes


def _limit_address_space() -> None:
    one_gib = 1 << 30
    resource.setrlimit(resource.RLIMIT_AS, (one_gib, one_gib))


@pytest.mark.parametrize("fault", ["endless chunked body", "8 GiB body"])
def test_d10_an_endless_answer_is_cut_off_at_the_size_cap(
    faulty_endpoint, credentials: None, tmp_path: Path, fault: str
) -> None:
    """D10: an answer that never ends must stop at the size cap, not grow memory (4 GB in 6 s before the fix).

    The command runs in its own process limited to 1 GiB of address space: going past the cap
    there would end in MemoryError, not in the one-line error.
    """
    faulty_endpoint.fault = fault
    argv = ["drift", _org_code(tmp_path), "--endpoint-url", faulty_endpoint.endpoint, "--timeout", "20"]
    started = time.monotonic()
    finished = subprocess.run(
        [sys.executable, "-m", "orgtrust_lint", *argv],
        capture_output=True,
        text=True,
        timeout=30,
        env=os.environ.copy(),
        cwd=tmp_path,  # not the checkout: python -m would import the package from its sources there
        preexec_fn=_limit_address_space,
    )
    elapsed = time.monotonic() - started
    print(f"{fault}: exit {finished.returncode} in {elapsed:.2f} s: {finished.stderr.strip()}")
    _assert_one_line_without_leaking(finished.returncode, finished.stdout, finished.stderr)
    assert "organizations:DescribeOrganization answered with more than 4 MiB" in finished.stderr
    assert elapsed < 10  # the cap is reached in well under a second on 127.0.0.1


def test_d10_endless_pages_are_cut_off_at_the_cap_for_the_run(
    faulty_endpoint, credentials: None, tmp_path: Path, capsys
) -> None:
    """D10: pages each under the cap for one answer, without end, stop at the cap for the whole run."""
    faulty_endpoint.fault = "endless 3 MiB pages"
    started = time.monotonic()
    code = run(["drift", _org_code(tmp_path), "--endpoint-url", faulty_endpoint.endpoint, "--timeout", "20"])
    elapsed = time.monotonic() - started
    out, err = capsys.readouterr()
    _assert_one_line_without_leaking(code, out, err)
    assert "sent more than 32 MiB in all by organizations:ListAWSServiceAccessForOrganization" in err, err
    assert elapsed < 10  # not the 20 s of --timeout


def test_d10_tls_is_read_and_its_handshake_bounded(tls_endpoint, credentials: None, tmp_path: Path, capsys) -> None:
    """The deadline's watch on each connection leaves TLS working, from the handshake to the last page."""
    tls_endpoint.fault = "healthy"
    code = run(["drift", _org_code(tmp_path), "--endpoint-url", tls_endpoint.endpoint, "--timeout", "10"])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "") and "Organization o-healthy: 1 principal(s) enabled" in out


@pytest.mark.parametrize("fault", ["trickled body", "trickled TLS handshake"])
def test_d10_a_trickling_tls_endpoint_ends_at_the_timeout(
    tls_endpoint, credentials: None, tmp_path: Path, capsys, fault: str
) -> None:
    """D10 over TLS: the socket to shut down is wrapped by TLS, or still being wrapped (the handshake)."""
    tls_endpoint.fault = fault
    outcome: list[int] = []
    argv = ["drift", _org_code(tmp_path), "--endpoint-url", tls_endpoint.endpoint, "--timeout", "2"]
    started = time.monotonic()
    worker = threading.Thread(target=lambda: outcome.append(run(argv)), daemon=True)
    worker.start()
    worker.join(10)
    elapsed = time.monotonic() - started
    assert not worker.is_alive(), f"drift --timeout 2 was still running after {elapsed:.0f} s"
    out, err = capsys.readouterr()
    _assert_one_line_without_leaking(outcome[0], out, err)
    assert "longer than 2 s (--timeout)" in err
    assert elapsed < 5
