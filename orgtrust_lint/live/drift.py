"""Compare the code's declared trusted access with the live organization (``drift``)."""

from __future__ import annotations

from orgtrust_lint.catalog import Catalog
from orgtrust_lint.facts import (
    DelegatedAdministrator,
    DriftItem,
    Facts,
    LiveOrganization,
    Location,
    Position,
    PrincipalRef,
)
from orgtrust_lint.integrations import declared_account, enabled_principals
from orgtrust_lint.live.aws import LiveState


def _date(value: object) -> str:
    return value.strftime("%Y-%m-%d") if hasattr(value, "strftime") else "an unknown date"


def declares_trusted_access(code: Facts) -> bool:
    """The code manages the organization's trusted access: an aws_service_access_principals list (even
    an empty or unresolved one) or a resource that enables one principal. Like OT301, drift says
    nothing about what is enabled when the code declares none of it: the organization is managed elsewhere."""
    return any(o.declares_principals for o in code.organizations) or bool(code.service_access)


def _declared_administrators(code: Facts) -> list[PrincipalRef]:
    """One reference per declaring resource and principal, however often the value is reached, in file order."""
    refs = sorted(
        (r for r in code.principals if r.position is Position.DELEGATED_ADMINISTRATOR), key=lambda r: r.location
    )
    first: dict[tuple[str, str, str], PrincipalRef] = {}
    for ref in refs:
        first.setdefault((ref.resource, ref.value, (ref.via[0] if ref.via else ref.location).path), ref)
    return list(first.values())


def nothing_declared(code: Facts, paths: list[str]) -> str | None:
    """The one line for code that declares neither trusted access nor a delegated administrator
    (an empty directory, a mistyped path, CloudFormation only), or None when drift can compare."""
    if declares_trusted_access(code) or _declared_administrators(code):
        return None
    # A declaration may be in a file that could not be read: say so, or the line would mislead.
    unread = len({e.path for e in code.parse_errors} | {skipped.path for skipped in code.skipped})
    cannot = f"; {unread} file(s) could not be read or parsed (see 'orgtrust-lint check')" if unread else ""
    return (
        f"no trusted access is declared in the {len(code.files)} file(s) under {' '.join(paths) or '.'}{cannot}: "
        "nothing to compare with the organization (drift reads aws_service_access_principals, "
        "aws_organizations_aws_service_access, aws_organizations_delegated_administrator and CloudFormation "
        "resources that name a service principal)"
    )


def _anchor(code: Facts) -> tuple[Location, str | None]:
    """Where a finding about something the code does not declare points, and the authoritative list if any.

    The authoritative list is where a principal would be declared (and what the next apply enforces);
    without one, the first resource that declares trusted access or a delegated administrator: SARIF
    readers (GitHub code scanning among them) reject a result that is not located in a file.
    """
    lists = [o for o in code.organizations if o.declares_principals and o.certain]
    if lists:
        # A resource that leaves the list out declares an empty one: the finding points at the resource.
        org = lists[0]
        return org.principals_location or org.location, org.address if org.authoritative else None
    places = sorted(s.location for s in code.service_access) or [r.location for r in _declared_administrators(code)]
    return places[0], None


def drift_items(code: Facts, live: LiveState, catalog: Catalog) -> list[DriftItem]:
    """The differences; ``code`` must declare something (see nothing_declared)."""
    anchor, authoritative = _anchor(code)
    compare_access = declares_trusted_access(code)
    declared = enabled_principals(code)
    keep = tuple(sorted(set(declared) | set(live.enabled)))
    items: list[DriftItem] = []
    for principal, enabled_on in sorted(live.enabled.items()):
        if compare_access and principal not in declared:
            items.append(DriftItem("enabled_out_of_band", principal, anchor, _date(enabled_on), authoritative, keep))
        if not catalog.is_known(principal):
            items.append(DriftItem("unknown_to_catalog", principal, anchor, _date(enabled_on)))
    # Declared in every case (not only in one branch of a conditional or a variant): only then is
    # a principal missing from the organization a difference, not a guess.
    certain = {r.value for r in code.principals if r.certain and r.position.enables_trusted_access}
    for principal, location in sorted(declared.items()):
        if principal not in live.enabled and principal in certain:
            items.append(DriftItem("declared_not_enabled", principal, location, str(location)))
    admins = _declared_administrators(code)
    for principal, accounts in sorted(live.delegated.items()):
        if principal not in {a.value for a in admins}:
            items.append(DriftItem("delegated_out_of_band", principal, anchor, ", ".join(sorted(accounts))))
    for admin in admins:
        registered = sorted(live.delegated.get(admin.value, []))
        account = declared_account(code, admin)
        # An account the code does not spell out is satisfied by any registered one.
        if (account is None and not registered) or (account is not None and account not in registered):
            items.append(
                DriftItem(
                    "delegated_not_registered",
                    admin.value,
                    admin.location,
                    f"account {account}" if account else "an account",
                    registered=f"account(s) {', '.join(registered)}" if registered else "none",
                )
            )
    return items


def live_organization(code: Facts, live: LiveState) -> LiveOrganization:
    """The live organization as a fact, for the rules about what it holds (required, allowed and
    forbidden principals, delegated administrators): its findings point where the drift findings
    about undeclared principals do. ``code`` must declare something (see nothing_declared)."""
    registrations = tuple(
        DelegatedAdministrator(principal, account)
        for principal, accounts in sorted(live.delegated.items())
        for account in sorted(accounts)
    )
    return LiveOrganization(
        live.organization_id, live.management_account, tuple(sorted(live.enabled)), registrations, _anchor(code)[0]
    )
