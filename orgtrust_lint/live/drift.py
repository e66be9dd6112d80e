"""Compare the code's declared trusted access with the live organization (``drift``)."""

from __future__ import annotations

from orgtrust_lint.catalog import Catalog
from orgtrust_lint.facts import DriftItem, Facts, Location, Position
from orgtrust_lint.integrations import enabled_principals
from orgtrust_lint.live.aws import LiveState


def _date(value: object) -> str:
    return value.strftime("%Y-%m-%d") if hasattr(value, "strftime") else "an unknown date"  # type: ignore[union-attr]


def drift_items(code: Facts, live: LiveState, catalog: Catalog) -> list[DriftItem]:
    declared = enabled_principals(code)
    lists = [o for o in code.organizations if o.declares_principals and o.principals_location is not None]
    authoritative = lists[0] if lists else None
    nowhere = Location(f"organization {live.organization_id}", 1, 1, 1, 1)
    anchor = authoritative.principals_location if authoritative else nowhere
    keep = tuple(sorted(set(declared) | set(live.enabled)))
    items: list[DriftItem] = []
    for principal, enabled_on in sorted(live.enabled.items()):
        if principal not in declared:
            items.append(
                DriftItem(
                    "enabled_out_of_band",
                    principal,
                    anchor,
                    _date(enabled_on),
                    authoritative.address if authoritative else None,
                    keep,
                )
            )
        if not catalog.is_known(principal):
            items.append(DriftItem("unknown_to_catalog", principal, anchor, _date(enabled_on)))
    for principal, location in sorted(declared.items()):
        if principal not in live.enabled:
            items.append(DriftItem("declared_not_enabled", principal, location, str(location)))
    declared_admins = {r.value for r in code.principals if r.position is Position.DELEGATED_ADMINISTRATOR}
    for principal, accounts in sorted(live.delegated.items()):
        if principal not in declared_admins and code.files:
            items.append(DriftItem("delegated_out_of_band", principal, anchor, ", ".join(sorted(accounts))))
    return items
