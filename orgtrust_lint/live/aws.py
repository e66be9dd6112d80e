"""Read the organization's live trusted access with boto3 (read-only calls only).

ListAWSServiceAccessForOrganization, ListDelegatedAdministrators and
ListDelegatedServicesForAccount page by page, DescribeOrganization first to fail early.
Throttling and 5xx answers are retried with backoff within --timeout, and every failure
becomes one LiveError line; nothing here ever prints credentials or the server's own text.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

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


def read_live(profile: str | None, region: str | None, endpoint_url: str | None, timeout: float = 60.0) -> LiveState:
    import boto3
    import botocore.config
    import botocore.exceptions as errors

    deadline = time.monotonic() + timeout
    per_call = max(1.0, timeout / 6)
    # botocore retries nothing itself: its backoff knows no overall deadline, so a throttling
    # storm could outlast --timeout. _call retries within the deadline instead.
    config = botocore.config.Config(
        retries={"mode": "standard", "max_attempts": 1},
        connect_timeout=per_call,
        read_timeout=per_call,
        user_agent_extra="orgtrust-lint",
    )
    operation = "DescribeOrganization"
    attempts = 0

    def check_deadline() -> None:
        if time.monotonic() > deadline:
            raise LiveError(f"reading the organization took longer than {timeout:g} s (--timeout); giving up")

    def call(method: Any, **arguments: Any) -> dict[str, Any]:
        nonlocal attempts
        delay = 0.5
        while True:
            check_deadline()
            attempts += 1
            try:
                answer = method(**arguments)
            except errors.ClientError as exc:
                if not _retryable(exc) or time.monotonic() + delay > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 8.0)
                continue
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

    try:
        session = boto3.Session(profile_name=profile, region_name=region or None)
        client = session.client(
            "organizations",
            region_name=region or session.region_name or "us-east-1",
            endpoint_url=endpoint_url,
            config=config,
        )
        try:
            organization = call(client.describe_organization)["Organization"]
            state = LiveState(organization.get("Id", "?"), organization.get("MasterAccountId", "?"))
            operation = "ListAWSServiceAccessForOrganization"
            for page in pages(client.list_aws_service_access_for_organization):
                for item in page.get("EnabledServicePrincipals", []):
                    state.enabled[item["ServicePrincipal"]] = item.get("DateEnabled")
            operation = "ListDelegatedAdministrators"
            admins = []
            for page in pages(client.list_delegated_administrators):
                admins.extend(a["Id"] for a in page.get("DelegatedAdministrators", []))
            operation = "ListDelegatedServicesForAccount"
            for account in admins:
                for page in pages(client.list_delegated_services_for_account, AccountId=account):
                    for service in page.get("DelegatedServices", []):
                        state.delegated.setdefault(service["ServicePrincipal"], []).append(account)
        except (KeyError, TypeError, AttributeError, ValueError):
            # A truncated, malformed or oddly shaped answer (a proxy's error page, a broken
            # endpoint): botocore parses what it can, and what it gives us is not what AWS sends.
            raise LiveError(
                f"organizations:{operation} returned an answer orgtrust-lint cannot read (malformed or truncated)"
            ) from None
        return state
    except errors.ProfileNotFound:
        raise LiveError(f"the AWS profile {profile!r} does not exist") from None
    except (errors.NoCredentialsError, errors.PartialCredentialsError):
        raise LiveError("no AWS credentials found: use --profile, AWS_PROFILE, or the usual credential chain") from None
    except errors.ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "AWSOrganizationsNotInUseException":
            raise LiveError(
                "these credentials' account is not in an organization (AWSOrganizationsNotInUseException)"
            ) from None
        if code in ("AccessDeniedException", "AccessDenied", "UnauthorizedOperation"):
            raise LiveError(
                f"access denied to organizations:{operation}: run drift with credentials of the management "
                "account or of a delegated administrator for AWS Organizations"
            ) from None
        if code in ("TooManyRequestsException", "ThrottlingException", "Throttling"):
            raise LiveError(
                f"organizations:{operation} stayed throttled for {timeout:g} s (--timeout), {attempts} attempts"
            ) from None
        if code in ("ExpiredTokenException", "UnrecognizedClientException", "InvalidClientTokenId"):
            raise LiveError(f"the AWS credentials were rejected ({code}); refresh them and try again") from None
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if status >= 500:
            raise LiveError(
                f"organizations:{operation} kept failing with HTTP {status} (a server error) for {timeout:g} s "
                f"(--timeout), {attempts} attempts"
            ) from None
        raise LiveError(f"organizations:{operation} failed: {code or 'unknown error'}") from None
    except (errors.ConnectTimeoutError, errors.ReadTimeoutError):
        raise LiveError(f"the AWS Organizations endpoint did not answer organizations:{operation} in time") from None
    except errors.EndpointConnectionError as exc:
        raise LiveError(
            f"cannot reach the AWS Organizations endpoint {exc.kwargs.get('endpoint_url', '')}".rstrip()
        ) from None
    except errors.BotoCoreError as exc:
        raise LiveError(f"organizations:{operation} failed: {type(exc).__name__}") from None
