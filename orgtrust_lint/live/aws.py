"""Read the organization's live trusted access with boto3 (read-only calls only).

ListAWSServiceAccessForOrganization, ListDelegatedAdministrators and
ListDelegatedServicesForAccount page by page, DescribeOrganization first to fail early.
Throttling and 5xx answers are retried with backoff within --timeout, and every failure
becomes one LiveError line; nothing here ever prints credentials, the server's own text or
the user name and password of an endpoint URL.

--timeout bounds the whole read (the STS or SSO calls that get an assume-role or SSO profile's
credentials included), each answer is capped in size: see _Limits and _LimitedClient.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import os
import re
import shlex
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from orgtrust_lint import terminal
from orgtrust_lint.errors import UserError


class LiveError(UserError):
    """The live organization cannot be read; the message is one line for the user."""


@dataclass
class LiveState:
    organization_id: str
    management_account: str
    enabled: dict[str, datetime | None] = field(default_factory=dict)
    delegated: dict[str, list[str]] = field(default_factory=dict)  # principal -> account ids


# Answers worth asking again, until --timeout runs out: throttling and the service's own failures.
_RETRYABLE_CODES = frozenset(
    {"TooManyRequestsException", "ThrottlingException", "Throttling", "ServiceException", "InternalFailure"}
)


def _retryable(exc: Exception) -> bool:
    response = getattr(exc, "response", {}) or {}
    code = response.get("Error", {}).get("Code", "")
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return code in _RETRYABLE_CODES or status >= 500


# --timeout beyond a day is a mistake, not a wish; far larger values (inf) cannot even be given to a timer.
MAX_TIMEOUT_SECONDS = 86400.0
# An Organizations answer is a few KB (a page holds at most a few dozen principals or accounts).
# Past these caps the endpoint is broken or hostile, and reading on would only fill memory.
MAX_ANSWER_BYTES = 4 << 20
MAX_RUN_BYTES = 32 << 20

_URL_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


def redact_url(url: str) -> str:
    """The URL for a message: any user name and password (user:password@) become ***.

    Works on malformed URLs too, since those are the ones error messages show. Everything up to
    the last @ goes, which may hide more than the userinfo of an odd URL but never less.
    """
    scheme = _URL_SCHEME.match(url)
    start = scheme.end() if scheme else 0
    if url.startswith("//", start):
        start += 2
    at = url.rfind("@", start)
    return url if at < 0 else url[:start] + "***" + url[at:]


def endpoint_url_problem(url: str) -> str | None:
    """Why url cannot be an Organizations endpoint (a phrase that follows the URL), or None if it can."""
    if any(character.isspace() or not character.isprintable() for character in url):
        return "contains spaces or control characters"
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed IPv6 bracket: http://[::1
        return "is not a valid URL (expected http:// or https:// and a host)"
    if parts.scheme.lower() not in ("http", "https"):
        return "is not an http:// or https:// URL"
    if not parts.hostname:
        return "has no host (expected http:// or https:// and a host)"
    try:
        port = parts.port
    except ValueError:  # not a number, or above 65535
        port = 0
    if port == 0:
        return "has an invalid port (expected a number from 1 to 65535)"
    return None


def _endpoint_setting(endpoint_url: str | None) -> tuple[str, str] | None:
    """Where the endpoint URL comes from and what it is: --endpoint-url, else botocore's variables."""
    if endpoint_url is not None:
        return "--endpoint-url", endpoint_url
    if os.environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() == "true":
        return None
    for name in ("AWS_ENDPOINT_URL_ORGANIZATIONS", "AWS_ENDPOINT_URL"):
        if os.environ.get(name):
            return name, os.environ[name]
    return None


class _TooLarge(Exception):
    """Raised from inside a read of the answer: it went past MAX_ANSWER_BYTES or MAX_RUN_BYTES."""


class _Limits:
    """The deadline and the size caps of one read_live run, enforced on its connections.

    botocore's read_timeout bounds each socket read, not an answer: an endpoint sending a byte
    every half second is never cut off, and an endless body is read into memory whole. So every
    connection of the run registers its socket here, and when the deadline passes a timer thread
    shuts those sockets down: the read waiting on one returns at once (end of stream) and the
    call fails. What is shut down is a duplicate of the socket's descriptor, ours to close: the
    connection may close its own at any moment (and the number be reused), TLS wraps and
    detaches the original, and shutting a duplicate down ends the connection all the same.
    The answers are read through _CappedReader, which counts bytes against the caps.
    """

    def __init__(self, timeout: float) -> None:
        self.deadline = time.monotonic() + timeout
        self.expired = False
        self.too_large = ""  # what went past its cap: "answer" or "run"
        self.run_bytes_left = MAX_RUN_BYTES
        self._lock = threading.Lock()
        self._sockets: list[tuple[socket.socket, socket.socket]] = []  # (the connection's, our duplicate)
        self._timer = threading.Timer(timeout, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def seconds_left(self) -> float:
        return self.deadline - time.monotonic()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            # A socket whose descriptor is closed (fileno -1) is done with: the response that
            # read it is closed too, or TLS took it over and is registered in its place.
            for done in [pair for pair in self._sockets if pair[0].fileno() == -1]:
                self._sockets.remove(done)
                done[1].close()
            if any(original is sock for original, _ in self._sockets):
                return
            duplicate = socket.socket(fileno=socket.dup(sock.fileno()))
            self._sockets.append((sock, duplicate))
            if self.expired:  # connected after the deadline: end it now
                _shut_down(duplicate)

    def _expire(self) -> None:
        # Under the lock, so that no duplicate is closed meanwhile.
        with self._lock:
            self.expired = True
            for _, duplicate in self._sockets:
                _shut_down(duplicate)

    def close(self) -> None:
        self._timer.cancel()
        with self._lock:
            for _, duplicate in self._sockets:
                duplicate.close()
            self._sockets.clear()


def _shut_down(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed by the peer
        sock.shutdown(socket.SHUT_RDWR)


class _CappedReader:
    """An answer's byte stream (status line, headers, body) that fails past the size caps.

    It never asks the stream for more than one byte beyond what is left, so even a read of
    "everything" from an endless body stops at the cap.
    """

    def __init__(self, stream: io.BufferedReader, limits: _Limits) -> None:
        self._stream = stream
        self._limits = limits
        self._answer_bytes_left = MAX_ANSWER_BYTES

    def _allowed(self, size: int | None) -> int:
        allowed = min(self._answer_bytes_left, self._limits.run_bytes_left) + 1
        return allowed if size is None or size < 0 else min(size, allowed)

    def _count(self, received: int) -> None:
        self._answer_bytes_left -= received
        self._limits.run_bytes_left -= received
        if self._answer_bytes_left < 0 or self._limits.run_bytes_left < 0:
            self._limits.too_large = "answer" if self._answer_bytes_left < 0 else "run"
            raise _TooLarge

    def read(self, size: int | None = -1) -> bytes:
        data = self._stream.read(self._allowed(size))
        self._count(len(data))
        return data

    def read1(self, size: int = -1) -> bytes:
        data = self._stream.read1(self._allowed(size))
        self._count(len(data))
        return data

    def readline(self, size: int | None = -1) -> bytes:
        data = self._stream.readline(self._allowed(size))
        self._count(len(data))
        return data

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        received = self._stream.readinto(view[: self._allowed(len(view))]) or 0
        self._count(received)
        return received

    def __getattr__(self, name: str) -> Any:  # close, closed, fileno, flush, peek: as the stream has them
        return getattr(self._stream, name)


class _CappedResponse(http.client.HTTPResponse):
    limits: _Limits  # set on the subclass made for each run

    def __init__(self, sock: socket.socket, *args: Any, **kwargs: Any) -> None:
        super().__init__(sock, *args, **kwargs)
        # HTTPResponse reads only through fp's file methods, which _CappedReader has; it is no BufferedReader.
        self.fp = _CappedReader(self.fp, self.limits)  # type: ignore[assignment]


class _LimitedConnection:
    """Mixed into botocore's connection classes: registers each socket with the run's _Limits."""

    limits: _Limits  # set on the subclass made for each run
    timeout: Any

    sock: socket.socket | None

    def _new_conn(self) -> socket.socket:
        if isinstance(self.timeout, (int, float)):  # connect no longer than the run has left
            self.timeout = min(self.timeout, max(self.limits.seconds_left(), 0.01))
        # The connection class this is mixed into (urllib3's, untyped) has _new_conn; mypy sees only object.
        sock: socket.socket = super()._new_conn()  # type: ignore[misc]
        self.limits.watch(sock)  # from here on, the TLS handshake included
        return sock

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]  # as for _new_conn: the connection class's, not object's
        if self.sock is not None:  # with TLS, the socket that wraps the one _new_conn made
            self.limits.watch(self.sock)


def _limit_connections(client: Any, limits: _Limits) -> None:
    """Make the client's connections (direct or through a proxy) obey limits.

    botocore has no public hook for this: its HTTP session keeps the pool class per URL scheme in
    a dictionary of its own (one per client), which both its direct and its proxy pool managers
    use. Without that dictionary (a botocore that changed it) the deadline between calls still holds.
    """
    from botocore import awsrequest

    pool_classes = getattr(getattr(client._endpoint, "http_session", None), "_pool_classes_by_scheme", None)
    if not isinstance(pool_classes, dict):
        return
    response_class = type("CappedResponse", (_CappedResponse,), {"limits": limits})
    for scheme, pool, connection in (
        ("http", awsrequest.AWSHTTPConnectionPool, awsrequest.AWSHTTPConnection),
        ("https", awsrequest.AWSHTTPSConnectionPool, awsrequest.AWSHTTPSConnection),
    ):
        limited = type(
            f"Limited{connection.__name__}",
            (_LimitedConnection, connection),
            {"limits": limits, "response_class": response_class},
        )
        pool_classes[scheme] = type(f"Limited{pool.__name__}", (pool,), {"ConnectionCls": limited})


class _LimitedClient:
    """Mixed into every client of the run's session (see _read): the Organizations client, and those the
    credential providers make for an assume-role or SSO profile, whose calls --timeout bounds too."""

    limits: _Limits  # set on the subclass made for each run

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _limit_connections(self, self.limits)


# The services whose calls get credentials, as botocore names them in its events.
_CREDENTIAL_SERVICES = {"sts": "AWS STS", "sso": "IAM Identity Center (SSO)", "sso-oidc": "IAM Identity Center (SSO)"}


@dataclass
class _Progress:
    """Where a read is, for its error messages."""

    operation: str = "DescribeOrganization"
    attempts: int = 0
    sent: str = ""  # the last request sent, "service:Operation": sts:AssumeRole for an assume-role profile
    retrying: Exception | None = None  # the throttling or server error the current call is being retried after

    def note_sending(self, event_name: str, **_: Any) -> None:
        """botocore's before-send.SERVICE.OPERATION event, for every client of the session. Returns None:
        anything else would stand in for the answer."""
        parts = event_name.split(".")
        if len(parts) == 3:
            self.sent = f"{parts[1]}:{parts[2]}"
            terminal.status(f"waiting for {self.sent}")  # on a terminal, once a call takes a while

    @property
    def credentials_call(self) -> str | None:
        """The request that was getting credentials when the run stopped (sts:AssumeRole), if it was one."""
        return self.sent if self.sent.split(":")[0] in _CREDENTIAL_SERVICES else None

    @property
    def credentials_service(self) -> str:
        return _CREDENTIAL_SERVICES.get(self.sent.split(":")[0], "AWS")


def _profile_in_use(profile: str | None) -> tuple[str | None, str]:
    """The AWS profile the run uses and what named it, in botocore's order; (None, "") for none."""
    if profile:
        return profile, "--profile"
    for variable in ("AWS_DEFAULT_PROFILE", "AWS_PROFILE"):
        if os.environ.get(variable):
            return os.environ[variable], variable
    return None, ""


def _of_profile(profile: str | None) -> str:
    name, _ = _profile_in_use(profile)
    return f"the credentials of the AWS profile {name!r}" if name else "AWS credentials"


def read_live(profile: str | None, region: str | None, endpoint_url: str | None, timeout: float = 60.0) -> LiveState:
    if not 0 < timeout <= MAX_TIMEOUT_SECONDS:  # false for nan too
        raise LiveError(f"--timeout must be above 0 and at most {MAX_TIMEOUT_SECONDS:g} seconds, got {timeout!r}")
    setting = _endpoint_setting(endpoint_url)
    # Named in messages about the endpoint; without a setting, a profile's endpoint_url may still apply.
    endpoint = f"{setting[0]} {redact_url(setting[1])!r}" if setting else "the endpoint URL in the AWS configuration"
    if setting and (problem := endpoint_url_problem(setting[1])):
        raise LiveError(f"{endpoint} {problem}")

    progress = _Progress()
    limits = _Limits(timeout)
    try:
        return _read(profile, region, endpoint_url, endpoint, timeout, limits, progress)
    except Exception:
        # Whatever a cut-off connection made the call fail with, the reason is the limit.
        if limits.expired:
            raise _took_too_long(timeout, progress, profile) from None
        if limits.too_large == "answer":
            raise LiveError(
                f"organizations:{progress.operation} answered with more than {MAX_ANSWER_BYTES >> 20} MiB "
                "(AWS sends a few KB); giving up"
            ) from None
        if limits.too_large == "run":
            raise LiveError(
                f"the AWS Organizations endpoint sent more than {MAX_RUN_BYTES >> 20} MiB in all by "
                f"organizations:{progress.operation} (AWS sends a few KB per page); giving up"
            ) from None
        raise
    finally:
        limits.close()


def _refused(exc: Any, progress: _Progress, timeout: float, profile: str | None) -> LiveError:
    """The line for an error answer (botocore's ClientError, imported only where boto3 is)."""
    code = exc.response.get("Error", {}).get("Code", "")
    if progress.credentials_call:  # STS refused an assume-role profile, say
        return LiveError(
            f"getting {_of_profile(profile)} failed: {progress.credentials_call} answered {code or 'an error'}"
        )
    if code == "AWSOrganizationsNotInUseException":
        return LiveError("these credentials' account is not in an organization (AWSOrganizationsNotInUseException)")
    if code in ("AccessDeniedException", "AccessDenied", "UnauthorizedOperation"):
        return LiveError(
            f"access denied to organizations:{progress.operation}: run drift with credentials of the management "
            "account or of a delegated administrator for AWS Organizations"
        )
    if code in ("TooManyRequestsException", "ThrottlingException", "Throttling"):
        return LiveError(
            f"organizations:{progress.operation} stayed throttled for {timeout:g} s (--timeout), "
            f"{progress.attempts} attempts"
        )
    if code in ("ExpiredTokenException", "UnrecognizedClientException", "InvalidClientTokenId"):
        return LiveError(f"the AWS credentials were rejected ({code}); refresh them and try again")
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    if status >= 500:
        return LiveError(
            f"organizations:{progress.operation} kept failing with HTTP {status} (a server error) for "
            f"{timeout:g} s (--timeout), {progress.attempts} attempts"
        )
    return LiveError(f"organizations:{progress.operation} failed: {code or 'unknown error'}")


def _took_too_long(timeout: float, progress: _Progress, profile: str | None) -> LiveError:
    if progress.retrying is not None:  # cut off while retrying throttling or a server error: that is the news
        return _refused(progress.retrying, progress, timeout, profile)
    waiting = f", waiting for {progress.credentials_call} ({_of_profile(profile)})" if progress.credentials_call else ""
    return LiveError(f"reading the organization took longer than {timeout:g} s (--timeout){waiting}; giving up")


def _read(
    profile: str | None,
    region: str | None,
    endpoint_url: str | None,
    endpoint: str,
    timeout: float,
    limits: _Limits,
    progress: _Progress,
) -> LiveState:
    import boto3
    import botocore.config
    import botocore.exceptions as errors
    import botocore.session

    per_call = max(1.0, timeout / 6)
    # botocore retries nothing itself: its backoff knows no overall deadline, so a throttling
    # storm could outlast --timeout. call() retries within the deadline instead.
    config = botocore.config.Config(
        retries={"mode": "standard", "max_attempts": 1},
        connect_timeout=per_call,
        read_timeout=per_call,
        user_agent_extra="orgtrust-lint",
    )

    def check_deadline() -> None:
        if limits.expired or limits.seconds_left() < 0:
            raise _took_too_long(timeout, progress, profile)

    def call(method: Any, **arguments: Any) -> dict[str, Any]:
        delay = 0.5
        while True:
            check_deadline()
            progress.attempts += 1
            try:
                answer = method(**arguments)
            except errors.ClientError as exc:
                if not _retryable(exc) or delay > limits.seconds_left():
                    raise
                progress.retrying = exc
                time.sleep(delay)
                delay = min(delay * 2, 8.0)
                continue
            progress.retrying = None
            check_deadline()  # an answer cut off at the deadline may still have parsed
            if not isinstance(answer, dict):
                raise TypeError("not an object")
            return answer

    def pages(method: Any, **arguments: Any) -> Iterator[dict[str, Any]]:
        token = None
        while True:
            page = call(method, **arguments, **({"NextToken": token} if token else {}))
            yield page
            token = page.get("NextToken")
            if not token:
                return

    def limit_client_class(base_classes: list[type], **_: Any) -> None:
        base_classes.insert(0, type("LimitedClient", (_LimitedClient,), {"limits": limits}))

    try:
        # The credential providers of an assume-role or SSO profile make clients of their own (STS, SSO)
        # from this session: its default configuration and events reach them, so that their calls are
        # bounded by --timeout and named in messages like ours (a silent STS endpoint took 3 minutes).
        core = botocore.session.get_session()
        core.set_default_client_config(config)
        core.register("creating-client-class", limit_client_class)
        core.register("before-send", progress.note_sending)
        session = boto3.Session(botocore_session=core, profile_name=profile, region_name=region or None)
        try:
            client = session.client(
                "organizations",
                region_name=region or session.region_name or "us-east-1",
                endpoint_url=endpoint_url,
                config=config,
            )
        except errors.BotoCoreError:
            raise
        except ValueError:  # botocore's own check of the URL, stricter than ours on host names
            raise LiveError(f"{endpoint} is not a valid http:// or https:// URL") from None
        resolved = client.meta.endpoint_url
        if problem := endpoint_url_problem(resolved):
            raise LiveError(f"the AWS Organizations endpoint {redact_url(resolved)!r} {problem}")
        try:
            organization = call(client.describe_organization)["Organization"]
            state = LiveState(organization.get("Id", "?"), organization.get("MasterAccountId", "?"))
            progress.operation = "ListAWSServiceAccessForOrganization"
            for page in pages(client.list_aws_service_access_for_organization):
                for item in page.get("EnabledServicePrincipals", []):
                    state.enabled[item["ServicePrincipal"]] = item.get("DateEnabled")
            progress.operation = "ListDelegatedAdministrators"
            admins: list[str] = []
            for page in pages(client.list_delegated_administrators):
                admins.extend(a["Id"] for a in page.get("DelegatedAdministrators", []))
            progress.operation = "ListDelegatedServicesForAccount"
            for account in admins:
                for page in pages(client.list_delegated_services_for_account, AccountId=account):
                    for service in page.get("DelegatedServices", []):
                        state.delegated.setdefault(service["ServicePrincipal"], []).append(account)
        except (KeyError, TypeError, AttributeError, ValueError):
            # A truncated, malformed or oddly shaped answer (a proxy's error page, a broken
            # endpoint): botocore parses what it can, and what it gives us is not what AWS sends.
            raise LiveError(
                f"organizations:{progress.operation} returned an answer orgtrust-lint cannot read "
                "(malformed or truncated)"
            ) from None
        finally:
            client.close()  # the pooled connections too, not when the garbage collector gets to them
        return state
    except errors.ProfileNotFound as exc:
        missing = exc.kwargs.get("profile") or profile
        named, named_by = _profile_in_use(profile)
        source = f" ({named_by})" if named_by and missing == named else ""
        raise LiveError(f"the AWS profile {missing!r}{source} does not exist") from None
    except (errors.NoCredentialsError, errors.PartialCredentialsError):
        raise LiveError("no AWS credentials found: use --profile, AWS_PROFILE, or the usual credential chain") from None
    except (errors.SSOError, errors.TokenRetrievalError) as exc:
        if isinstance(exc, errors.TokenRetrievalError) and exc.kwargs.get("provider") != "sso":
            raise LiveError(f"getting {_of_profile(profile)} failed: {type(exc).__name__}") from None
        named, _ = _profile_in_use(profile)
        login = f"aws sso login --profile {shlex.quote(named)}" if named else "aws sso login"
        whose = f"the AWS profile {named!r}" if named else "the default AWS profile"
        raise LiveError(
            f"the IAM Identity Center (SSO) login of {whose} is missing or expired ({type(exc).__name__}): "
            f"run '{login}' and try again"
        ) from None
    except errors.InvalidConfigError as exc:  # its text may quote the configuration: named by class only
        named, _ = _profile_in_use(profile)
        whose = f"the AWS profile {named!r}" if named else "the default AWS profile"
        raise LiveError(
            f"the AWS configuration of {whose} is not valid ({type(exc).__name__}): check its source_profile, "
            "credential_source and sso settings"
        ) from None
    except errors.ClientError as exc:
        raise _refused(exc, progress, timeout, profile) from None
    except (errors.ConnectTimeoutError, errors.ReadTimeoutError):
        if progress.credentials_call:
            raise LiveError(
                f"the {progress.credentials_service} endpoint did not answer {progress.credentials_call} in time "
                f"(for {_of_profile(profile)})"
            ) from None
        raise LiveError(
            f"the AWS Organizations endpoint did not answer organizations:{progress.operation} in time"
        ) from None
    except errors.EndpointConnectionError as exc:
        url = redact_url(exc.kwargs.get("endpoint_url") or "")
        if progress.credentials_call:  # an assume-role profile's STS, say: AWS Organizations was never asked
            raise LiveError(
                f"cannot reach the {progress.credentials_service} endpoint {url} "
                f"({progress.credentials_call}, for {_of_profile(profile)})"
            ) from None
        raise LiveError(f"cannot reach the AWS Organizations endpoint {url}".rstrip()) from None
    except errors.BotoCoreError as exc:
        raise LiveError(f"organizations:{progress.operation} failed: {type(exc).__name__}") from None
