"""Read the organization's live trusted access with boto3 (read-only calls only).

ListAWSServiceAccessForOrganization, ListDelegatedAdministrators and
ListDelegatedServicesForAccount through boto3's paginators, DescribeOrganization first to
fail early. Throttling is retried by botocore (adaptive mode) within a bounded total time,
and every failure becomes one LiveError line; nothing here ever prints credentials.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime

from orgtrust_lint.errors import UserError


class LiveError(UserError):
    """The live organization cannot be read; the message is one line for the user."""


@dataclass
class LiveState:
    organization_id: str
    management_account: str
    enabled: dict[str, datetime | None] = field(default_factory=dict)
    delegated: dict[str, list[str]] = field(default_factory=dict)  # principal -> account ids


REQUIRED_ACTIONS = (
    "organizations:DescribeOrganization",
    "organizations:ListAWSServiceAccessForOrganization",
    "organizations:ListDelegatedAdministrators",
    "organizations:ListDelegatedServicesForAccount",
)


def read_live(profile: str | None, region: str | None, endpoint_url: str | None, timeout: float = 60.0) -> LiveState:
    import boto3
    import botocore.config
    import botocore.exceptions as errors

    deadline = time.monotonic() + timeout
    attempts = 5
    per_call = max(1.0, timeout / (attempts + 1))
    config = botocore.config.Config(
        retries={"mode": "adaptive", "max_attempts": attempts},
        connect_timeout=per_call,
        read_timeout=per_call,
        user_agent_extra="orgtrust-lint",
    )
    operation = "DescribeOrganization"
    try:
        session = boto3.Session(profile_name=profile, region_name=region or None)
        client = session.client(
            "organizations",
            region_name=region or session.region_name or "us-east-1",
            endpoint_url=endpoint_url,
            config=config,
        )

        def check_deadline() -> None:
            if time.monotonic() > deadline:
                raise LiveError(f"reading the organization took longer than {timeout:g} s (--timeout); giving up")

        organization = client.describe_organization()["Organization"]
        state = LiveState(organization.get("Id", "?"), organization.get("MasterAccountId", "?"))
        operation = "ListAWSServiceAccessForOrganization"
        for page in client.get_paginator("list_aws_service_access_for_organization").paginate():
            check_deadline()
            for item in page.get("EnabledServicePrincipals", []):
                state.enabled[item["ServicePrincipal"]] = item.get("DateEnabled")
        operation = "ListDelegatedAdministrators"
        admins = []
        for page in client.get_paginator("list_delegated_administrators").paginate():
            check_deadline()
            admins.extend(a["Id"] for a in page.get("DelegatedAdministrators", []))
        operation = "ListDelegatedServicesForAccount"
        for account in admins:
            for page in client.get_paginator("list_delegated_services_for_account").paginate(AccountId=account):
                check_deadline()
                for service in page.get("DelegatedServices", []):
                    state.delegated.setdefault(service["ServicePrincipal"], []).append(account)
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
        if code in ("TooManyRequestsException", "ThrottlingException"):
            raise LiveError(f"organizations:{operation} stayed throttled after {attempts} attempts") from None
        if code in ("ExpiredTokenException", "UnrecognizedClientException", "InvalidClientTokenId"):
            raise LiveError(f"the AWS credentials were rejected ({code}); refresh them and try again") from None
        raise LiveError(f"organizations:{operation} failed: {code or 'unknown error'}") from None
    except (errors.ConnectTimeoutError, errors.ReadTimeoutError):
        raise LiveError(f"the AWS Organizations endpoint did not answer organizations:{operation} in time") from None
    except errors.EndpointConnectionError as exc:
        raise LiveError(
            f"cannot reach the AWS Organizations endpoint {exc.kwargs.get('endpoint_url', '')}".rstrip()
        ) from None
    except errors.BotoCoreError as exc:
        raise LiveError(f"organizations:{operation} failed: {type(exc).__name__}") from None
