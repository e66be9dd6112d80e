"""Terraform (HCL and JSON syntax) -> facts.

Files are parsed one by one, then grouped by directory (a Terraform module) so that
``var.x`` and ``local.x`` resolve against that module's variables, locals and tfvars.
Every resolved principal keeps the location of the literal that produced it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from orgtrust_lint.facts import (
    ConditionClause,
    Facts,
    Location,
    Organization,
    ParseError,
    Position,
    PrincipalRef,
    Resource,
    ServiceAccessResource,
    UnresolvedValue,
)
from orgtrust_lint.files import SkipFile, describe_encoding_error, read_file
from orgtrust_lint.parse.comments import scan_suppressions
from orgtrust_lint.parse.hcl_ast import (
    Attribute,
    Block,
    Call,
    Expr,
    HclDocument,
    HclSyntaxError,
    Literal,
    ObjectExpr,
    Reference,
    Template,
    TupleExpr,
    heredoc_indent,
)
from orgtrust_lint.parse.located_json import JsonNode, JsonSyntaxError, loads_located
from orgtrust_lint.parse.policy import add_statement, parse_policy_text, statements_from_document

ORGANIZATION = "aws_organizations_organization"
SERVICE_ACCESS = "aws_organizations_aws_service_access"
DELEGATED_ADMIN = "aws_organizations_delegated_administrator"
SERVICE_LINKED_ROLE = "aws_iam_service_linked_role"

SUFFIXES = (".tf", ".tf.json", ".tfvars", ".tfvars.json")

# Resources with one service principal: the attribute that holds it, and what kind of position it is.
SINGLE_PRINCIPAL_ATTRIBUTES = {
    SERVICE_ACCESS: ("service_principal", Position.SERVICE_ACCESS_RESOURCE),
    DELEGATED_ADMIN: ("service_principal", Position.DELEGATED_ADMINISTRATOR),
    SERVICE_LINKED_ROLE: ("aws_service_name", Position.SERVICE_LINKED_ROLE),
}

# Resources whose attribute holds an IAM policy document (trust policies are not among them).
POLICY_ATTRIBUTES = {
    "aws_iam_policy": "policy",
    "aws_iam_role_policy": "policy",
    "aws_iam_user_policy": "policy",
    "aws_iam_group_policy": "policy",
    "aws_organizations_policy": "content",
}


def is_terraform_file(path: str) -> bool:
    return path.endswith(SUFFIXES)


def _is_tfvars(path: str) -> bool:
    return path.endswith((".tfvars", ".tfvars.json"))


def _is_auto_tfvars(path: str) -> bool:
    name = os.path.basename(path)
    return name in ("terraform.tfvars", "terraform.tfvars.json") or name.endswith((".auto.tfvars", ".auto.tfvars.json"))


# --------------------------------------------------------------------------------------
# Terraform JSON syntax -> the same located tree as HCL
# --------------------------------------------------------------------------------------

_INTERPOLATION = re.compile(r"(?<!\$)\$\{")


def _json_string_expr(path: str, node: JsonNode) -> Expr:
    text: str = node.value
    raw = repr(text)
    if not _INTERPOLATION.search(text):
        return Literal(node.location, raw, text.replace("$${", "${"))
    parts: list[str | Expr] = []
    cursor = 0
    while True:
        match = _INTERPOLATION.search(text, cursor)
        if not match:
            break
        depth, end = 1, match.end()
        while end < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[end], 0)
            end += 1
        if depth:
            return Literal(node.location, raw, text)  # unbalanced: Terraform would reject it too
        if match.start() > cursor:
            parts.append(text[cursor : match.start()])
        try:
            from orgtrust_lint.parse.hcl_parser import parse_hcl_expression

            parts.append(parse_hcl_expression(path, text[match.end() : end - 1], node.location))
        except HclSyntaxError:
            return Literal(node.location, raw, text)
        cursor = end
    if cursor < len(text):
        parts.append(text[cursor:])
    if len(parts) == 1 and not isinstance(parts[0], str):
        return parts[0]
    return Template(node.location, raw, tuple(parts))


def _json_expr(path: str, node: JsonNode) -> Expr:
    value = node.value
    if isinstance(value, str):
        return _json_string_expr(path, node)
    if isinstance(value, list):
        return TupleExpr(node.location, "[...]", tuple(_json_expr(path, item) for item in value))
    if isinstance(value, dict):
        items = tuple((key, _json_expr(path, item)) for key, item in value.items())
        return ObjectExpr(node.location, "{...}", items)
    return Literal(node.location, repr(value), value)


def _json_body(path: str, block_type: str, labels: tuple[str, ...], node: JsonNode) -> Block:
    block = Block(block_type, labels, node.location)
    if not isinstance(node.value, dict):
        return block
    for key, child in node.value.items():
        location = child.key_location or child.location
        block.attributes[key] = Attribute(key, _json_expr(path, child), location)
        nested = child.value if isinstance(child.value, list) else [child]
        for item in nested:
            if isinstance(item.value, dict):
                block.blocks.append(_json_body(path, key, (), item))
    return block


def _json_document(path: str, root: JsonNode) -> HclDocument:
    blocks: list[Block] = []
    attributes: dict[str, Attribute] = {}
    if not isinstance(root.value, dict):
        raise JsonSyntaxError("a Terraform JSON file must hold an object", 1, 1)
    if _is_tfvars(path):
        for key, child in root.value.items():
            attributes[key] = Attribute(key, _json_expr(path, child), child.key_location or child.location)
        return HclDocument(path, blocks, attributes)
    label_depth = {"resource": 2, "data": 2, "variable": 1, "module": 1, "output": 1, "locals": 0}
    for block_type, section in root.value.items():
        depth = label_depth.get(block_type)
        if depth is None:
            continue
        for body in section.value if isinstance(section.value, list) else [section]:
            blocks.extend(_json_labelled(path, block_type, (), depth, body))
    return HclDocument(path, blocks, attributes)


def _json_labelled(path: str, block_type: str, labels: tuple[str, ...], depth: int, node: JsonNode) -> Iterator[Block]:
    if depth == 0:
        for item in node.value if isinstance(node.value, list) else [node]:
            yield _json_body(path, block_type, labels, item)
        return
    if isinstance(node.value, dict):
        for label, child in node.value.items():
            yield from _json_labelled(path, block_type, (*labels, label), depth - 1, child)


def parse_file(path: str, text: str) -> HclDocument:
    """Parse one Terraform file (HCL or JSON syntax)."""
    if path.endswith(".json"):
        return _json_document(path, loads_located(path, text))
    # Imported here: lark and the HCL grammar cost about 0.1 s, which a run served entirely
    # from the parse cache never pays.
    from orgtrust_lint.parse.hcl_parser import parse_hcl

    return parse_hcl(path, text.removeprefix("\ufeff"))


@dataclass(frozen=True)
class ParseFailure:
    """Why a file could not be parsed, as a value: it crosses process boundaries and is cached."""

    message: str
    line: int = 1
    column: int = 1


def parse_terraform(path: str, data: bytes) -> HclDocument | ParseFailure:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return ParseFailure(*describe_encoding_error(data, exc))
    try:
        return parse_file(path, text)
    except (HclSyntaxError, JsonSyntaxError) as exc:
        return ParseFailure(str(exc), exc.line, exc.column)
    except RecursionError:
        # Deeply nested lists or objects (generated, or hostile): Terraform has no such limit
        # in principle, but no real configuration comes near it.
        return ParseFailure("nesting too deep to parse")


@dataclass(frozen=True)
class Skipped:
    """A file that is not linted (see files.SkipFile), with the reason."""

    reason: str


ParseMany = Callable[[list[tuple[str, bytes]]], list["HclDocument | ParseFailure"]]


def parse_serially(items: list[tuple[str, bytes]]) -> list[HclDocument | ParseFailure]:
    return [parse_terraform(path, data) for path, data in items]


# --------------------------------------------------------------------------------------
# Value resolution
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Str:
    value: str
    location: Location
    origin: str
    via: tuple[Location, ...]


@dataclass(frozen=True)
class Unknown:
    expression: str
    location: Location
    reason: str


@dataclass(frozen=True)
class Seq:
    items: tuple[Value, ...]
    deduplicated: bool = False


class _Null:
    pass


NULL = _Null()
Value = Str | Unknown | Seq | _Null


@dataclass
class ModuleScope:
    directory: str
    documents: list[HclDocument] = field(default_factory=list)
    variables: dict[str, Block] = field(default_factory=dict)
    locals: dict[str, Attribute] = field(default_factory=dict)
    tfvars: dict[str, tuple[Attribute, str]] = field(default_factory=dict)  # auto-loaded values
    alternative_tfvars: list[tuple[str, dict[str, Attribute]]] = field(default_factory=list)


def _flatten(value: Value) -> Iterator[Str | Unknown]:
    if isinstance(value, Seq):
        for item in value.items:
            yield from _flatten(item)
    elif isinstance(value, (Str, Unknown)):
        yield value


class Resolver:
    """Evaluates the static subset of Terraform expressions: literals, var, local, list functions."""

    def __init__(self, scope: ModuleScope, overrides: dict[str, tuple[Attribute, str]]) -> None:
        self.scope = scope
        self.overrides = overrides
        self.variables_used: set[str] = set()

    def resolve(self, expr: Expr, via: tuple[Location, ...] = (), origin: str = "literal") -> Value:
        return self._resolve(expr, via, origin, frozenset())

    def _resolve(self, expr: Expr, via: tuple[Location, ...], origin: str, active: frozenset[str]) -> Value:
        if isinstance(expr, Literal):
            if expr.value is None:
                return NULL
            if isinstance(expr.value, bool):
                return Str("true" if expr.value else "false", expr.location, origin, via)
            return Str(str(expr.value), expr.location, origin, via)
        if isinstance(expr, Template):
            return self._template(expr, via, origin, active)
        if isinstance(expr, TupleExpr):
            return Seq(tuple(self._resolve(item, via, origin, active) for item in expr.items))
        if isinstance(expr, Reference):
            return self._reference(expr, via, active)
        if isinstance(expr, Call):
            return self._call(expr, via, origin, active)
        return Unknown(expr.text, expr.location, "the expression cannot be evaluated statically")

    def _template(self, expr: Template, via: tuple[Location, ...], origin: str, active: frozenset[str]) -> Value:
        if len(expr.parts) == 1 and not isinstance(expr.parts[0], str):
            return self._resolve(expr.parts[0], via, origin, active)
        text = []
        for part in expr.parts:
            if isinstance(part, str):
                text.append(part)
                continue
            value = self._resolve(part, via, origin, active)
            if isinstance(value, Unknown):
                return value
            if not isinstance(value, Str):
                return Unknown(expr.text, expr.location, "a template interpolates a non-string value")
            text.append(value.value)
        return Str("".join(text), expr.location, origin, via)

    def _reference(self, expr: Reference, via: tuple[Location, ...], active: frozenset[str]) -> Value:
        parts = expr.parts
        here = (*via, expr.location)
        if len(parts) == 2 and parts[0] == "var":
            name = parts[1]
            self.variables_used.add(name)
            key = f"var.{name}"
            if key in active:
                return Unknown(expr.text, expr.location, f"{key} refers to itself")
            if name in self.overrides:
                attribute, filename = self.overrides[name]
                return self._resolve(attribute.value, here, f"var.{name} set in {filename}", active | {key})
            declaration = self.scope.variables.get(name)
            if declaration is None:
                return Unknown(expr.text, expr.location, f"variable {name!r} is not declared in this module")
            default = declaration.attributes.get("default")
            if default is None:
                return Unknown(
                    expr.text,
                    expr.location,
                    f"var.{name} has no default and is not set in terraform.tfvars or *.auto.tfvars",
                )
            return self._resolve(default.value, here, f"default of var.{name}", active | {key})
        if len(parts) == 2 and parts[0] == "local":
            key = f"local.{parts[1]}"
            attribute = self.scope.locals.get(parts[1])
            if attribute is None:
                return Unknown(expr.text, expr.location, f"{key} is not defined in this module")
            if key in active:
                return Unknown(expr.text, expr.location, f"{key} refers to itself")
            return self._resolve(attribute.value, here, key, active | {key})
        return Unknown(expr.text, expr.location, "it refers to a value known only at apply time")

    def _call(self, expr: Call, via: tuple[Location, ...], origin: str, active: frozenset[str]) -> Value:
        args = [self._resolve(arg, via, origin, active) for arg in expr.args]
        name = expr.name
        if name in ("concat", "flatten", "distinct", "toset", "sort", "tolist") and expr.expand_final:
            return Unknown(expr.text, expr.location, "argument expansion (...) is not evaluated")
        if name == "concat":
            items: list[Value] = []
            for arg in args:
                if isinstance(arg, Seq):
                    items.extend(arg.items)
                elif isinstance(arg, Unknown):
                    items.append(arg)
                elif isinstance(arg, Str):
                    return Unknown(expr.text, expr.location, "concat() takes lists, not a string")
            return Seq(tuple(items), any(isinstance(a, Seq) and a.deduplicated for a in args))
        if len(args) != 1:
            return Unknown(expr.text, expr.location, f"function {name}() is not evaluated statically")
        (arg,) = args
        if name in ("tolist", "toset", "distinct", "sort", "flatten"):
            if isinstance(arg, Unknown):
                return arg
            if not isinstance(arg, Seq):
                return Unknown(expr.text, expr.location, f"{name}() needs a list")
        else:
            return Unknown(expr.text, expr.location, f"function {name}() is not evaluated statically")
        if name == "tolist":
            return arg
        if name == "flatten":
            return Seq(tuple(_flatten(arg)), arg.deduplicated)
        if name == "sort":
            known = sorted((i for i in arg.items if isinstance(i, Str)), key=lambda s: s.value)
            return Seq((*known, *(i for i in arg.items if not isinstance(i, Str))), arg.deduplicated)
        seen: set[str] = set()
        unique: list[Value] = []
        for item in arg.items:
            if isinstance(item, Str):
                if item.value in seen:
                    continue
                seen.add(item.value)
            unique.append(item)
        return Seq(tuple(unique), True)


# --------------------------------------------------------------------------------------
# Module scopes and fact extraction
# --------------------------------------------------------------------------------------


def _spans(document: HclDocument) -> dict[int, int]:
    spans: dict[int, int] = {}

    def visit(block: Block) -> None:
        spans[block.location.line] = max(spans.get(block.location.line, 0), block.location.end_line)
        for attribute in block.attributes.values():
            line = attribute.location.line
            spans[line] = max(spans.get(line, 0), attribute.location.end_line)
        for child in block.blocks:
            visit(child)

    for block in document.blocks:
        visit(block)
    for attribute in document.attributes.values():
        spans[attribute.location.line] = attribute.location.end_line
    return spans


def _build_scope(directory: str, documents: list[HclDocument]) -> ModuleScope:
    scope = ModuleScope(directory)
    auto: list[HclDocument] = []
    for document in documents:
        if _is_tfvars(document.path):
            if _is_auto_tfvars(document.path):
                auto.append(document)
            else:
                scope.alternative_tfvars.append((document.path, document.attributes))
            continue
        scope.documents.append(document)
        for block in document.blocks:
            if block.type == "variable" and block.labels:
                scope.variables[block.labels[0]] = block
            elif block.type == "locals":
                scope.locals.update(block.attributes)

    def precedence(document: HclDocument) -> tuple[int, str]:
        name = os.path.basename(document.path)
        return (0 if name.startswith("terraform.tfvars") else 1, name)

    for document in sorted(auto, key=precedence):
        for name, attribute in document.attributes.items():
            scope.tfvars[name] = (attribute, os.path.basename(document.path))
    return scope


@dataclass
class _Extractor:
    scope: ModuleScope
    facts: Facts
    seen_unresolved: set[tuple[Location, str]] = field(default_factory=set)

    def resolutions(self, expr: Expr, via: tuple[Location, ...]) -> Iterator[tuple[Value, str]]:
        """The value under auto-loaded tfvars, then under each alternative *.tfvars file that matters."""
        primary = Resolver(self.scope, self.scope.tfvars)
        yield primary.resolve(expr, via), ""
        for path, attributes in self.scope.alternative_tfvars:
            relevant = {name: attr for name, attr in attributes.items() if name in primary.variables_used}
            if relevant:
                overrides = dict(self.scope.tfvars)
                overrides.update({name: (attr, os.path.basename(path)) for name, attr in relevant.items()})
                yield Resolver(self.scope, overrides).resolve(expr, via), f"@{os.path.basename(path)}"

    def unresolved(self, item: Unknown, address: str, attribute: str) -> None:
        key = (item.location, item.expression)
        if key in self.seen_unresolved:
            return
        self.seen_unresolved.add(key)
        self.facts.unresolved.append(UnresolvedValue(item.expression, item.location, address, attribute, item.reason))

    def principal_values(self, attribute: Attribute, address: str, position: Position, group: str) -> tuple[int, bool]:
        """Record every principal an attribute can hold; return (count, fully resolved)."""
        count, resolved = 0, True
        seen_refs: set[tuple[str, Location]] = set()
        for value, variant in self.resolutions(attribute.value, ()):
            items = list(_flatten(value))
            deduplicated = isinstance(value, Seq) and value.deduplicated
            for item in items:
                if isinstance(item, Unknown):
                    resolved = False
                    self.unresolved(item, address, attribute.name)
                    continue
                if (item.value, item.location) in seen_refs:
                    continue
                seen_refs.add((item.value, item.location))
                if not variant:
                    count += 1
                self.facts.principals.append(
                    PrincipalRef(
                        value=item.value,
                        position=position,
                        location=item.location,
                        resource=address,
                        group=group + variant,
                        via=tuple(v for v in item.via if v != item.location),
                        origin=item.origin,
                        deduplicated=deduplicated,
                    )
                )
        return count, resolved

    def scalar(self, attribute: Attribute | None) -> Str | Unknown | None:
        if attribute is None:
            return None
        value = Resolver(self.scope, self.scope.tfvars).resolve(attribute.value)
        if isinstance(value, (Str, Unknown)):
            return value
        return Unknown(attribute.value.text, attribute.value.location, "a single string was expected")

    def resource(self, block: Block) -> None:
        resource_type, name = block.labels[0], block.labels[1]
        address = f"{resource_type}.{name}"
        self.facts.resources.append(self.generic_resource(block, address))
        if resource_type == ORGANIZATION:
            self.organization(block, address)
        elif resource_type in SINGLE_PRINCIPAL_ATTRIBUTES:
            self.single_principal(block, address, *SINGLE_PRINCIPAL_ATTRIBUTES[resource_type])
        policy_attribute = POLICY_ATTRIBUTES.get(resource_type)
        if policy_attribute and policy_attribute in block.attributes:
            grants = resource_type != "aws_organizations_policy"  # an SCP filters, it grants nothing
            self.policy(block.attributes[policy_attribute], address, grants)
        if resource_type == "aws_iam_role":
            for inline in block.child_blocks("inline_policy"):
                if "policy" in inline.attributes:
                    self.policy(inline.attributes["policy"], f"{address}.inline_policy")

    # ---- IAM policies ---------------------------------------------------------------

    def policy(self, attribute: Attribute, address: str, grants: bool = True) -> None:
        """A policy attribute: jsonencode({...}), heredoc or string JSON, or a var/local holding one."""
        expr = attribute.value
        if isinstance(expr, Call) and expr.name == "jsonencode" and len(expr.args) == 1:
            statements_from_document(self.to_node(expr.args[0]), address, self.facts, grants)
            return
        if isinstance(expr, Reference) and expr.parts[:2] == ("data", "aws_iam_policy_document"):
            return  # the data source is read on its own
        value = Resolver(self.scope, self.scope.tfvars).resolve(expr)
        if not isinstance(value, Str):
            unknown = value if isinstance(value, Unknown) else Unknown(expr.text, expr.location, "not a policy")
            self.unresolved(unknown, address, attribute.name)
            return
        heredoc = isinstance(expr, Literal) and expr.text.startswith("<<") and value.location == expr.location
        try:
            if heredoc:
                root = parse_policy_text(value.value, value.location, value.location.line, heredoc_indent(expr.text))
            else:
                root = parse_policy_text(value.value, value.location)
        except JsonSyntaxError as exc:
            self.facts.parse_errors.append(
                ParseError(value.location.path, str(exc), Location.point(value.location.path, exc.line, exc.column))
            )
            return
        statements_from_document(root, address, self.facts, grants)

    def to_node(self, expr: Expr) -> JsonNode:
        """An HCL object/tuple/value as the JSON tree IAM would see, keeping HCL locations."""
        if isinstance(expr, ObjectExpr):
            members = {}
            for key, value in expr.items:
                if key is not None:
                    node = self.to_node(value)
                    members[key] = JsonNode(node.value, node.location, node.location)
            return JsonNode(members, expr.location)
        if isinstance(expr, TupleExpr):
            return JsonNode([self.to_node(item) for item in expr.items], expr.location)
        value = Resolver(self.scope, self.scope.tfvars).resolve(expr)
        if isinstance(value, Str):
            return JsonNode(value.value, value.location)
        if isinstance(value, Seq):
            items = [
                JsonNode(i.value, i.location) if isinstance(i, Str) else JsonNode(None, expr.location)
                for i in _flatten(value)
            ]
            return JsonNode(items, expr.location)
        return JsonNode(None, expr.location)

    def policy_document(self, block: Block) -> None:
        """data "aws_iam_policy_document": statement blocks with effect, actions and conditions."""
        address = f"data.aws_iam_policy_document.{block.labels[1]}"
        for statement in block.child_blocks("statement"):
            effect_attr = statement.attributes.get("effect")
            effect = self.scalar(effect_attr)
            actions, known = self.string_list(statement.attributes.get("actions"), address)
            not_actions = None
            if "not_actions" in statement.attributes:
                not_actions, not_known = self.string_list(statement.attributes["not_actions"], address)
                known = known and not_known
            clauses: list[ConditionClause] = []
            values: dict[int, tuple[tuple[str, Location], ...]] = {}
            for condition in statement.child_blocks("condition"):
                test, variable = (
                    self.scalar(condition.attributes.get("test")),
                    self.scalar(condition.attributes.get("variable")),
                )
                if not isinstance(test, Str) or not isinstance(variable, Str):
                    continue
                found, values_known = self.string_list(condition.attributes.get("values"), address)
                values[len(clauses)] = found
                clauses.append(
                    ConditionClause(
                        test.value, variable.value, tuple(v for v, _ in found), condition.location, values_known
                    )
                )
            add_statement(
                self.facts,
                effect=effect.value if isinstance(effect, Str) else ("Allow" if effect_attr is None else "?"),
                actions=actions,
                not_actions=not_actions,
                conditions=tuple(clauses),
                condition_values=values,
                location=statement.location,
                resource=address,
                actions_known=known,
            )

    def string_list(self, attribute: Attribute | None, address: str) -> tuple[tuple[tuple[str, Location], ...], bool]:
        if attribute is None:
            return (), True
        value = Resolver(self.scope, self.scope.tfvars).resolve(attribute.value)
        found, known = [], True
        for item in _flatten(value):
            if isinstance(item, Str):
                found.append((item.value, item.location))
            else:
                known = False
                self.unresolved(item, address, attribute.name)
        return tuple(found), known

    def generic_resource(self, block: Block, address: str) -> Resource:
        attributes: dict[str, str | bool] = {}
        for attribute_name, attribute in block.attributes.items():
            value = attribute.value
            if isinstance(value, (Literal, Reference, Template)):
                resolved = self.scalar(attribute)
                if isinstance(resolved, Str):
                    attributes[attribute_name] = resolved.value
            if isinstance(value, ObjectExpr):
                attributes.setdefault(attribute_name, True)
        blocks = {b.labels[0] if b.type == "dynamic" and b.labels else b.type for b in block.blocks}
        return Resource("terraform", block.labels[0], address, block.location, attributes, frozenset(blocks))

    def organization(self, block: Block, address: str) -> None:
        principals = block.attributes.get("aws_service_access_principals")
        count, resolved = 0, True
        if principals is not None:
            group = f"{self.scope.directory}:{address}"
            count, resolved = self.principal_values(principals, address, Position.ORGANIZATION_LIST, group)
        feature = block.attributes.get("feature_set")
        feature_value = self.scalar(feature)
        if isinstance(feature_value, Unknown):
            self.unresolved(feature_value, address, "feature_set")
        self.facts.organizations.append(
            Organization(
                address=address,
                location=block.location,
                feature_set=feature_value.value
                if isinstance(feature_value, Str)
                else ("ALL" if feature is None else "?"),
                feature_set_location=(feature_value.location if isinstance(feature_value, Str) else block.location),
                declares_principals=principals is not None,
                principals_resolved=resolved,
                principal_count=count,
                principals_location=principals.location if principals else None,
                scope=self.scope.directory,
            )
        )

    def single_principal(self, block: Block, address: str, attribute_name: str, position: Position) -> None:
        attribute = block.attributes.get(attribute_name)
        if attribute is None:
            return
        group = f"{position.value}:{address}"
        if position is Position.SERVICE_ACCESS_RESOURCE:
            # Two standalone resources for one principal in one configuration fight each other.
            group = f"{self.scope.directory}:{position.value}"
        self.principal_values(attribute, address, position, group)
        value = self.scalar(attribute)
        if position is Position.SERVICE_ACCESS_RESOURCE:
            principal = value.value if isinstance(value, Str) else None
            self.facts.service_access.append(
                ServiceAccessResource(address, block.location, principal, self.scope.directory)
            )


# Text that a file must contain to hold a fact of its own (a principal position, a policy, an
# organization); catalog integration resource types are added by the caller.
_PRIMARY_TOKENS = (
    "aws_organizations_",
    "aws_iam_policy",
    "aws_iam_role_policy",
    "aws_iam_user_policy",
    "aws_iam_group_policy",
    "inline_policy",
    "aws_iam_service_linked_role",
    # Managed policies attached by ARN (aws_iam_*_policy_attachment*, managed_policy_arns).
    "policy_attachment",
    "managed_policy_arn",
    # An inline ignore is a fact of its own: governance reports it when unused or expired.
    "orgtrust-lint:",
)
_CONTEXT_BLOCK = re.compile(r"(?m)^\s*(?:variable|locals)\b|^\s*\"(?:variable|locals)\"\s*:")
_REFERENCE = re.compile(r"\b(?:var|local)\.")


class Prefilter:
    """Decides, from text alone, which files can contribute facts, so the rest is never parsed.

    A file is *primary* when it names a resource we extract (organizations, IAM policies,
    service-linked roles, the catalog's integration types). Variable, locals and tfvars files
    are *context*: parsed only when a primary file of the same module refers to var. or local.
    A file that is neither holds no resource, policy or value we read, so skipping it cannot
    change a finding, except that a syntax error in it goes unreported (Terraform reports it).
    """

    def __init__(self, integration_types: Iterable[str] = ()) -> None:
        types = sorted(set(integration_types))
        self.tokens = _PRIMARY_TOKENS + tuple(f'"{t}"' for t in types)

    def is_primary(self, path: str, text: str) -> bool:
        return not _is_tfvars(path) and any(token in text for token in self.tokens)

    @staticmethod
    def is_context(path: str, text: str) -> bool:
        return _is_tfvars(path) or bool(_CONTEXT_BLOCK.search(text))


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _select(contents: dict[str, bytes | ParseFailure | Skipped], prefilter: Prefilter) -> list[str]:
    """The files of one module directory worth parsing."""
    texts = {
        path: data.decode("utf-8", errors="replace") if isinstance(data, bytes) else ""
        for path, data in contents.items()
    }
    primary = [p for p in contents if prefilter.is_primary(p, texts[p])]
    if not primary:
        return []
    wanted = set(primary)
    if any(_REFERENCE.search(texts[p]) for p in primary):
        wanted.update(p for p in contents if prefilter.is_context(p, texts[p]))
    return sorted(wanted)


@dataclass
class TerraformModule:
    """One directory's files, and the contents of those worth parsing (or why they cannot be read)."""

    directory: str
    paths: list[str]
    to_parse: dict[str, bytes | ParseFailure | Skipped]


def plan_terraform(
    paths: Iterable[str], read: Callable[[str], bytes] = read_file, prefilter: Prefilter | None = None
) -> list[TerraformModule]:
    """Read the files and group them by module directory; with a prefilter, keep for parsing only
    the files that can contribute a fact (see Prefilter)."""
    by_directory: dict[str, list[str]] = {}
    for path in paths:
        by_directory.setdefault(os.path.dirname(path) or ".", []).append(path)
    modules: list[TerraformModule] = []
    for directory, directory_paths in sorted(by_directory.items()):
        contents: dict[str, bytes | ParseFailure | Skipped] = {}
        for path in sorted(directory_paths):
            try:
                contents[path] = read(path)
            except SkipFile as exc:
                contents[path] = Skipped(str(exc))
            except OSError as exc:
                contents[path] = ParseFailure(f"cannot read file: {exc.strerror}")
        if prefilter is not None:
            chosen = set(_select(contents, prefilter))
            # A file that cannot be read or decoded is reported, whatever the prefilter says:
            # Terraform would refuse it too.
            chosen.update(p for p, data in contents.items() if not isinstance(data, bytes) or not _is_utf8(data))
            contents = {p: data for p, data in contents.items() if p in chosen}
        modules.append(TerraformModule(directory, sorted(directory_paths), contents))
    return modules


def extract_modules(modules: list[TerraformModule], parsed: dict[str, HclDocument | ParseFailure]) -> Facts:
    """Facts of planned modules, given the parse result of every file they chose."""
    facts = Facts()
    for module in modules:
        documents: list[HclDocument] = []
        skipped = {path: data.reason for path, data in module.to_parse.items() if isinstance(data, Skipped)}
        facts.skipped.extend(skipped.items())
        for path, data in module.to_parse.items():
            if isinstance(data, Skipped):
                continue
            result = data if isinstance(data, ParseFailure) else parsed[path]
            if isinstance(result, ParseFailure):
                facts.parse_errors.append(
                    ParseError(path, result.message, Location.point(path, result.line, result.column))
                )
                continue
            documents.append(result)
            assert isinstance(data, bytes)
            facts.suppressions.extend(scan_suppressions(path, data.decode("utf-8"), _spans(result)))
        facts.files.extend(p for p in module.paths if p not in skipped)
        from orgtrust_lint.extract.terraform import build_scope, extract_scope

        extract_scope(build_scope(module.directory, documents), facts)
    return facts


def extract_terraform(
    paths: Iterable[str],
    read: Callable[[str], bytes] = read_file,
    prefilter: Prefilter | None = None,
    parse: ParseMany = parse_serially,
) -> Facts:
    """Parse Terraform files and extract facts, resolving values per module directory."""
    modules = plan_terraform(paths, read, prefilter)
    items = [(p, d) for m in modules for p, d in m.to_parse.items() if isinstance(d, bytes)]
    return extract_modules(modules, dict(zip((p for p, _ in items), parse(items), strict=True)))
