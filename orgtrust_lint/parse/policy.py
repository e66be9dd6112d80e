"""IAM policy documents (any source syntax) -> located statements.

Every source form (JSON text, a Terraform ``jsonencode({...})`` object, an
``aws_iam_policy_document`` data source, CloudFormation) is first turned into a ``JsonNode``
tree or into statement parts; this module reads IAM's grammar from there, with IAM's
case-insensitive element names.
"""

from __future__ import annotations

import functools
import re
from dataclasses import replace

from orgtrust_lint.facts import ConditionClause, Facts, Location, PolicyStatement, Position, PrincipalRef
from orgtrust_lint.parse.located_json import JsonNode, JsonSyntaxError, loads_located

SERVICE_PRINCIPAL_KEY = "organizations:serviceprincipal"  # the condition key, lower-cased as IAM compares it

# The four actions that change trusted access or delegated administration.
TRUSTED_ACCESS_ACTIONS = (
    "organizations:EnableAWSServiceAccess",
    "organizations:DisableAWSServiceAccess",
    "organizations:RegisterDelegatedAdministrator",
    "organizations:DeregisterDelegatedAdministrator",
)


@functools.lru_cache(maxsize=4096)
def _action_pattern(pattern: str) -> re.Pattern[str]:
    # Policies in a monorepo repeat the same few patterns; compiling each once keeps rule
    # evaluation out of the profile.
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern.lower()))


def action_matches(pattern: str, action: str) -> bool:
    """IAM action matching: case-insensitive, * and ? wildcards, service prefix included."""
    return _action_pattern(pattern).fullmatch(action.lower()) is not None


@functools.lru_cache(maxsize=4096)
def trusted_actions_matched(patterns: tuple[str, ...], negated: bool) -> tuple[str, ...]:
    # Thousands of statements in a monorepo share a few dozen action lists.
    return tuple(a for a in TRUSTED_ACCESS_ACTIONS if any(action_matches(p, a) for p in patterns) != negated)


def grants_trusted_access(
    actions: tuple[tuple[str, Location], ...], not_actions: tuple[tuple[str, Location], ...] | None
) -> bool:
    """Whether these known Action (or NotAction) entries of an Allow cover a trusted-access action."""
    if not_actions is not None:
        return bool(trusted_actions_matched(tuple(p for p, _ in not_actions), negated=True))
    return bool(trusted_actions_matched(tuple(p for p, _ in actions), negated=False))


def _get(node: JsonNode, name: str) -> JsonNode | None:
    if not isinstance(node.value, dict):
        return None
    lowered = name.lower()
    members: dict[str, JsonNode] = node.value  # what a JSON object decodes to
    for key, child in members.items():
        if key.lower() == lowered:
            return child
    return None


def strings(node: JsonNode | None) -> tuple[tuple[tuple[str, Location], ...], bool]:
    """(string, location) pairs of a string-or-list element, and whether all were known."""
    if node is None:
        return (), True
    if isinstance(node.value, str):
        return ((node.value, node.location),), True
    if isinstance(node.value, list):
        found: list[tuple[str, Location]] = []
        known = True
        for item in node.value:
            if isinstance(item.value, str):
                found.append((item.value, item.location))
            else:
                known = False
        return tuple(found), known
    if isinstance(node.value, bool | int | float):
        return ((str(node.value).lower(), node.location),), True
    return (), False


def add_statement(
    facts: Facts,
    *,
    effect: str,
    actions: tuple[tuple[str, Location], ...],
    not_actions: tuple[tuple[str, Location], ...] | None,
    conditions: tuple[ConditionClause, ...],
    condition_values: dict[int, tuple[tuple[str, Location], ...]],
    location: Location,
    resource: str,
    actions_known: bool = True,
    grants: bool = True,
) -> None:
    """Record a statement, and each ServicePrincipal condition value as a principal reference."""
    facts.statements.append(
        PolicyStatement(effect, actions, not_actions, conditions, location, resource, actions_known, grants)
    )
    for index, clause in enumerate(conditions):
        if clause.key.lower() != SERVICE_PRINCIPAL_KEY:
            continue
        for value, value_location in condition_values.get(index, ()):
            if any(mark in value for mark in ("*", "?", "${")):
                continue  # a pattern is not a principal; OT203 judges wildcards
            facts.principals.append(
                PrincipalRef(
                    value=value,
                    position=Position.CONDITION_VALUE,
                    location=value_location,
                    resource=resource,
                    group=f"condition:{location}",
                )
            )


def statements_from_document(root: JsonNode, resource: str, facts: Facts, grants: bool = True) -> None:
    """Read every statement of a policy document tree (``grants`` False for an SCP)."""
    statement = _get(root, "Statement")
    if statement is None:
        return
    items = statement.value if isinstance(statement.value, list) else [statement]
    for item in items:
        if not isinstance(item.value, dict):
            continue
        effect_node = _get(item, "Effect")
        effect = effect_node.value if effect_node is not None and isinstance(effect_node.value, str) else "?"
        action_node, not_action_node = _get(item, "Action"), _get(item, "NotAction")
        actions, actions_known = strings(action_node)
        not_actions: tuple[tuple[str, Location], ...] | None = None
        if not_action_node is not None:
            not_actions, known = strings(not_action_node)
            actions_known = actions_known and known
        clauses: list[ConditionClause] = []
        values: dict[int, tuple[tuple[str, Location], ...]] = {}
        condition = _get(item, "Condition")
        if condition is not None and isinstance(condition.value, dict):
            for operator, keys in condition.value.items():
                if not isinstance(keys.value, dict):
                    continue
                for key, value_node in keys.value.items():
                    found, known = strings(value_node)
                    location = value_node.key_location or value_node.location
                    values[len(clauses)] = found
                    clauses.append(ConditionClause(operator, key, tuple(v for v, _ in found), location, known))
        add_statement(
            facts,
            effect=effect,
            actions=actions,
            not_actions=not_actions,
            conditions=tuple(clauses),
            condition_values=values,
            location=item.location,
            resource=resource,
            actions_known=actions_known,
            grants=grants,
        )


def _shift(node: JsonNode, line_offset: int, column_offset: int) -> JsonNode:
    def move(location: Location) -> Location:
        # Heredoc bodies start on a line of their own; `<<-` removed the same indent from each.
        return replace(
            location,
            line=location.line + line_offset,
            end_line=location.end_line + line_offset,
            column=location.column + column_offset,
            end_column=location.end_column + column_offset,
        )

    value = node.value
    if isinstance(value, dict):
        value = {k: _shift(v, line_offset, column_offset) for k, v in value.items()}
    elif isinstance(value, list):
        value = [_shift(v, line_offset, column_offset) for v in value]
    key_location = move(node.key_location) if node.key_location is not None else None
    return JsonNode(value, move(node.location), key_location)


def _pin(node: JsonNode, at: Location) -> JsonNode:
    value = node.value
    if isinstance(value, dict):
        value = {k: _pin(v, at) for k, v in value.items()}
    elif isinstance(value, list):
        value = [_pin(v, at) for v in value]
    return JsonNode(value, at, at if node.key_location else None)


def parse_policy_text(text: str, at: Location, line_offset: int | None = None, column_offset: int = 0) -> JsonNode:
    """Parse policy JSON embedded in another file.

    With ``line_offset`` (a heredoc, whose lines are the file's lines) locations are shifted
    into the file; without it (an escaped string) every node points at the string itself.
    Raises JsonSyntaxError with the position in the file when it can be known.
    """
    try:
        root = loads_located(at.path, text)
    except JsonSyntaxError as exc:
        if line_offset is None:
            raise JsonSyntaxError(f"policy JSON: {exc}", at.line, at.column) from None
        raise JsonSyntaxError(f"policy JSON: {exc}", exc.line + line_offset, exc.column) from None
    if line_offset is None:
        return _pin(root, at)
    return _shift(root, line_offset, column_offset)
