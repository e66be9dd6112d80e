"""Terraform module -> facts, through the evaluator: instances, may and must, policy context.

One module directory is one scope: its variables (bound by terraform.tfvars and *.auto.tfvars,
or by their defaults), its locals, and alternative *.tfvars files as variants. Each resource or
data block becomes its instances (``count``, ``for_each``); a block whose count is 0 has none,
and one whose instances cannot be counted statically *may* exist.

Two evaluations serve two kinds of check:
- checks of a literal (OT101-OT103, the statement checks) use every value an expression *may*
  take: both branches of every conditional, every maybe-element, every instance, every variant;
- checks that something is missing or conflicting (OT301, OT104, OT106, drift) use what *must*
  exist: instances that certainly exist, conditions decided by the values variables are bound to.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field

from orgtrust_lint.evaluate.evaluator import Evaluator, ModuleValues, as_number, iteration_pairs
from orgtrust_lint.evaluate.values import (
    Known,
    ListValue,
    Maybe,
    ObjectValue,
    OneOf,
    Unknown,
    Value,
    fully_known,
    leaves,
    must_strings,
    options,
    seen_from_caller,
    with_origin,
)
from orgtrust_lint.facts import (
    AlternativeList,
    ConditionClause,
    Facts,
    Location,
    ManagedPolicyAttachment,
    Organization,
    ParseError,
    Position,
    PrincipalRef,
    Resource,
    ServiceAccessResource,
    UnresolvedValue,
)
from orgtrust_lint.managed_policies import AWS_MANAGED_PREFIX, aws_managed_arn
from orgtrust_lint.parse.hcl_ast import Attribute, Block, Call, Expr, HclDocument, Literal, Reference, TupleExpr
from orgtrust_lint.parse.located_json import JsonNode, JsonSyntaxError
from orgtrust_lint.parse.policy import add_statement, grants_trusted_access, parse_policy_text, statements_from_document

ORGANIZATION = "aws_organizations_organization"
SERVICE_ACCESS = "aws_organizations_aws_service_access"
DELEGATED_ADMIN = "aws_organizations_delegated_administrator"
SERVICE_LINKED_ROLE = "aws_iam_service_linked_role"
POLICY_DOCUMENT = "aws_iam_policy_document"
ORGANIZATION_POLICY = "aws_organizations_policy"

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
    ORGANIZATION_POLICY: "content",
}

# Resources that attach IAM managed policies by ARN, and the attribute holding the ARN (or a list of them).
MANAGED_POLICY_ATTRIBUTES = {
    "aws_iam_role_policy_attachment": "policy_arn",
    "aws_iam_user_policy_attachment": "policy_arn",
    "aws_iam_group_policy_attachment": "policy_arn",
    "aws_iam_policy_attachment": "policy_arn",
    "aws_iam_role": "managed_policy_arns",
    "aws_iam_role_policy_attachments_exclusive": "policy_arns",
    "aws_iam_user_policy_attachments_exclusive": "policy_arns",
    "aws_iam_group_policy_attachments_exclusive": "policy_arns",
    "aws_ssoadmin_managed_policy_attachment": "managed_policy_arn",
}
MANAGED_POLICY_DATA = "aws_iam_policy"

# Past this many instances of one block (count = 1000), the rest are like the ones enumerated.
MAX_INSTANCES = 64


def is_tfvars(path: str) -> bool:
    return path.endswith((".tfvars", ".tfvars.json"))


def is_auto_tfvars(path: str) -> bool:
    name = os.path.basename(path)
    return name in ("terraform.tfvars", "terraform.tfvars.json") or name.endswith((".auto.tfvars", ".auto.tfvars.json"))


@dataclass
class ModuleScope:
    directory: str
    documents: list[HclDocument] = field(default_factory=list)
    variables: dict[str, Block] = field(default_factory=dict)
    locals: dict[str, Attribute] = field(default_factory=dict)
    outputs: dict[str, Attribute] = field(default_factory=dict)  # output "x" { value = ... }
    tfvars: dict[str, tuple[Attribute, str]] = field(default_factory=dict)  # auto-loaded values
    alternative_tfvars: list[tuple[str, dict[str, Attribute]]] = field(default_factory=list)


def build_scope(directory: str, documents: list[HclDocument]) -> ModuleScope:
    scope = ModuleScope(directory)
    auto: list[HclDocument] = []
    for document in documents:
        if is_tfvars(document.path):
            if is_auto_tfvars(document.path):
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
            elif block.type == "output" and block.labels and "value" in block.attributes:
                scope.outputs[block.labels[0]] = block.attributes["value"]

    def precedence(document: HclDocument) -> tuple[int, str]:
        name = os.path.basename(document.path)
        return (0 if name.startswith("terraform.tfvars") else 1, name)

    for document in sorted(auto, key=precedence):
        for name, attribute in document.attributes.items():
            scope.tfvars[name] = (attribute, os.path.basename(document.path))
    return scope


@dataclass
class World:
    """One binding of the module's variables: the plain apply (variant None) or one -var-file."""

    variant: str | None
    may: Evaluator  # every branch of every conditional
    must: Evaluator  # conditions decided by the bound values


@dataclass(frozen=True)
class Instance:
    """One instance of a block: the names count/for_each bind, and whether it certainly exists."""

    env: dict[str, Value]
    certain: bool


@dataclass
class _Use:
    """How a policy document is used: as a grant (an IAM policy) or as organization policy content."""

    grants: bool = False
    content: bool = False


@dataclass(frozen=True)
class Binding:
    """What a module call binds in the module it calls: its arguments, as the caller evaluated them
    for every branch (``may``) and as decided (``must``)."""

    name: str  # the address prefix of what the child declares: "module.org." (nested: "module.a.module.b.")
    may: dict[str, Value]
    must: dict[str, Value]
    # The root module of an apply whose variables come from outside (a Terragrunt unit's inputs, which
    # Terragrunt passes as TF_VAR_ variables): the module's own terraform.tfvars and *.auto.tfvars apply too.
    tfvars: bool = False


@dataclass
class _Run:
    """What the extractors of one configuration share."""

    facts: Facts
    scopes: dict[str, ModuleScope]
    configuration: str
    root: str = ""  # path.root: the root module's directory (the configuration's name unless a unit's)
    manifest: dict[str, str] = field(default_factory=dict)  # registry and git modules: key -> directory
    seen_refs: set[tuple[str, Location, Position]] = field(default_factory=set)
    seen_unresolved: set[tuple[Location, str]] = field(default_factory=set)
    seen_attachments: set[tuple[str, Location]] = field(default_factory=set)


# Terraform module block arguments that are not input variables of the module.
_META_ARGUMENTS = frozenset({"source", "version", "count", "for_each", "providers", "depends_on"})


class ModuleExtractor:
    """Facts of one module instance: a root (its variables bound by tfvars files and defaults), or a
    child bound by a module call (``binding``), which exists for sure only when ``certain``."""

    def __init__(
        self,
        scope: ModuleScope,
        run: _Run,
        binding: Binding | None = None,
        certain: bool = True,
        stack: tuple[str, ...] = (),
    ) -> None:
        self.scope = scope
        self.run = run
        self.facts = run.facts
        self.binding = binding
        self.certain = certain
        self.stack = (*stack, scope.directory)
        self.prefix = binding.name if binding else ""
        self._seen_unresolved = run.seen_unresolved
        self._seen_refs = run.seen_refs
        self._seen_attachments = run.seen_attachments
        self.document_uses: dict[str, _Use] = {}
        self.calls: dict[str, ModuleCall] = {}
        self.unread_calls: list[Block] = []  # registry and git modules whose code is not here
        for document in scope.documents:
            for block in document.blocks:
                if block.type == "module" and len(block.labels) == 1:
                    call = ModuleCall.of(self, block)
                    if call is not None:
                        self.calls[block.labels[0]] = call
                    elif _is_remote(block):
                        self.unread_calls.append(block)
        # data "aws_iam_policy" blocks: an attachment may name its policy through one.
        self.policy_data: dict[str, Block] = {
            f"data.{MANAGED_POLICY_DATA}.{block.labels[1]}": block
            for document in scope.documents
            for block in document.blocks
            if block.type == "data" and block.labels[:1] == (MANAGED_POLICY_DATA,) and len(block.labels) == 2
        }
        # tfvars files apply to the root module only: a called module's variables come from its call.
        self.primary = self._world(None, dict(scope.tfvars) if binding is None or binding.tfvars else {})
        self._alternatives: dict[str, World] = {}

    def _world(self, variant: str | None, assigned: dict[str, tuple[Attribute, str]]) -> World:
        evaluators = []
        for all_branches in (True, False):
            arguments = {} if self.binding is None else (self.binding.may if all_branches else self.binding.must)
            values = ModuleValues(
                self.scope.directory,
                self.scope.variables,
                self.scope.locals,
                assigned,
                arguments,
                root=self.run.root or self.run.configuration,
            )
            values.modules = {name: call.value for name, call in self.calls.items()}
            evaluators.append(Evaluator(values, all_branches=all_branches))
        return World(variant, evaluators[0], evaluators[1])

    def worlds_for(self, expr: Expr, env: dict[str, Value]) -> Iterator[World]:
        """The plain apply, then each alternative *.tfvars file that sets a variable ``expr`` uses."""
        yield self.primary
        if not self.scope.alternative_tfvars or self.binding is not None:
            return
        _, used = self.primary.may.evaluate_tracking(expr, env)
        for path, attributes in self.scope.alternative_tfvars:
            relevant = {name: attr for name, attr in attributes.items() if name in used}
            if not relevant:
                continue
            name = os.path.basename(path)
            if name not in self._alternatives:
                assigned = dict(self.scope.tfvars)
                assigned.update({key: (attr, name) for key, attr in attributes.items()})
                self._alternatives[name] = self._world(name, assigned)
            yield self._alternatives[name]

    # ---- instances ----------------------------------------------------------------------

    def instances(self, block: Block) -> list[Instance]:
        """The block's instances; none certainly exists unless this module instance does."""
        count = block.attributes.get("count")
        for_each = block.attributes.get("for_each")
        if count is not None:
            found = self._counted(self.primary.must.evaluate(count.value))
        elif for_each is not None:
            found = self._for_each(self.primary.must.evaluate(for_each.value), for_each.value.location)
        else:
            found = [Instance({}, True)]
        return [Instance(i.env, i.certain and self.certain) for i in found]

    @staticmethod
    def _counted(value: Value) -> list[Instance]:
        counts: list[int] = []
        for option in options(value):
            number = as_number(option)
            if number is None or number < 0:
                unknown = Unknown("count", Location.point("", 1), "the count is known only at apply time")
                return [Instance({"count": ObjectValue((("index", unknown),), unknown.location)}, False)]
            counts.append(int(number))
        location = next((o.location for o in options(value) if isinstance(o, Known)), Location.point("", 1))
        return [
            Instance({"count": ObjectValue((("index", Known(index, location)),), location)}, index < min(counts))
            for index in range(min(max(counts), MAX_INSTANCES))
        ]

    @staticmethod
    def _for_each(value: Value, location: Location) -> list[Instance]:
        several = isinstance(value, OneOf)
        found: list[Instance] = []
        for option in options(value):
            pairs = iteration_pairs(option)
            if pairs is None:
                unknown = Unknown("each", location, "for_each is known only at apply time")
                each = ObjectValue((("key", unknown), ("value", unknown)), location)
                return [*found, Instance({"each": each}, False)]
            for key, element, maybe in pairs[:MAX_INSTANCES]:
                each = ObjectValue((("key", key), ("value", element)), location)
                found.append(Instance({"each": each}, not maybe and not several))
        return found

    # ---- principals -------------------------------------------------------------------------

    def unresolved(self, item: Unknown, address: str, attribute: str, subject: str) -> None:
        key = (item.location, item.expression)
        if key in self._seen_unresolved:
            return
        self._seen_unresolved.add(key)
        self.facts.unresolved.append(
            UnresolvedValue(item.expression, item.location, address, attribute, item.reason, subject)
        )

    def principal_values(
        self,
        attribute: Attribute,
        address: str,
        position: Position,
        group: str,
        instance: Instance,
        alternatives: dict[str, set[str] | None] | None = None,
    ) -> tuple[int, bool, set[str] | None]:
        """Record every principal an attribute may hold; return (how many in a plain apply, whether
        all are known, the principals it certainly holds or None when that is not known). Into
        ``alternatives``: what it certainly holds under each alternative .tfvars file that changes it."""
        count, resolved, certain = 0, True, None
        for world in self.worlds_for(attribute.value, instance.env):
            value = world.may.evaluate(attribute.value, instance.env)
            deduplicated = all(isinstance(o, ListValue) and o.kind == "set" for o in options(value))
            if world.variant is None:
                must = must_strings(self.primary.must.evaluate(attribute.value, instance.env))
                certain = must if instance.certain else set()
            elif alternatives is not None:
                held = must_strings(world.must.evaluate(attribute.value, instance.env))
                alternatives[world.variant] = held if instance.certain or held is None else set()
            for leaf in leaves(value):
                item = leaf.value
                if isinstance(item, Unknown):
                    resolved = False
                    self.unresolved(item, address, attribute.name, "principal")
                    continue
                if not isinstance(item.value, str):
                    continue
                # A literal is reported once, however many branches, instances or variants reach it.
                key = (item.value, item.location, position)
                if key in self._seen_refs:
                    continue
                self._seen_refs.add(key)
                if world.variant is None:
                    count += 1
                list_group = group if world.variant is None else f"{group}@{world.variant}"
                self.facts.principals.append(
                    PrincipalRef(
                        value=item.value,
                        position=position,
                        location=item.location,
                        resource=address,
                        group=list_group + leaf.branch,
                        via=tuple(v for v in item.via if v != item.location),
                        origin=item.origin,
                        deduplicated=deduplicated,
                        variant=world.variant,
                        certain=world.variant is None and certain is not None and item.value in certain,
                        configuration=self.run.configuration,
                    )
                )
        return count, resolved, certain

    def scalar(self, attribute: Attribute | None, instance: Instance, may: bool = False) -> Known | Unknown | None:
        """A single value: the one it must be, or (``may``) the first it may be."""
        if attribute is None:
            return None
        evaluator = self.primary.may if may else self.primary.must
        value = evaluator.evaluate(attribute.value, instance.env)
        chosen = options(value)
        if len(chosen) != 1 and not may:
            return Unknown(attribute.value.text, attribute.value.location, "it depends on a condition")
        first = chosen[0]
        if isinstance(first, (Known, Unknown)):
            return first
        return Unknown(attribute.value.text, attribute.value.location, "a single value was expected")

    # ---- blocks -------------------------------------------------------------------------

    def extract(self) -> None:
        """This module's facts, then those of the modules it calls, then its policy documents:
        by then every use of a document (here, or by a caller through an output) is known."""
        documents: list[Block] = []
        for document in self.scope.documents:
            for block in document.blocks:
                if block.type == "resource" and len(block.labels) == 2:
                    self.resource(block)
                elif block.type == "data" and block.labels[:1] == (POLICY_DOCUMENT,) and len(block.labels) == 2:
                    documents.append(block)
        for call in self.calls.values():
            for child in call.children():
                child.extract()
        for block in self.unread_calls:
            self.unread_module_arguments(block)
        self._propagate_uses(documents)
        for block in documents:
            self.policy_document(block)

    def unread_module_arguments(self, block: Block) -> None:
        """A registry or git module whose code is not here (no .terraform/modules/modules.json): the
        arguments whose names say they hold service principals are checked as a service-linked role's
        name is (only a near miss of a known principal is reported), where the caller writes them."""
        address = f"{self.prefix}module.{block.labels[0]}"
        for instance in self.instances(block):
            arguments = {
                name: self.primary.may.evaluate(attribute.value, instance.env)
                for name, attribute in block.attributes.items()
                if name not in _META_ARGUMENTS
            }
            record_module_arguments(self.facts, self._seen_refs, arguments, address, self.run.configuration)

    def use_document(self, address: str, grants: bool) -> None:
        """Record how a policy document is used; one in a called module is recorded there."""
        parts = address.split(".", 2)
        if parts[0] == "module" and len(parts) == 3:
            call = self.calls.get(parts[1])
            for child in call.children() if call else []:
                child.use_document(parts[2], grants)
            return
        use = self.document_uses.setdefault(address, _Use())
        if grants:
            use.grants = True
        else:
            use.content = True

    def resource(self, block: Block) -> None:
        resource_type, name = block.labels
        address = f"{self.prefix}{resource_type}.{name}"
        for instance in self.instances(block):
            self.facts.resources.append(self.generic_resource(block, address, instance))
            if resource_type == ORGANIZATION:
                self.organization(block, address, instance)
            elif resource_type in SINGLE_PRINCIPAL_ATTRIBUTES:
                self.single_principal(block, address, instance, *SINGLE_PRINCIPAL_ATTRIBUTES[resource_type])
            policy_attribute = POLICY_ATTRIBUTES.get(resource_type)
            if policy_attribute and policy_attribute in block.attributes:
                grants = resource_type != ORGANIZATION_POLICY  # an SCP or RCP filters, it grants nothing
                self.policy(block.attributes[policy_attribute], address, instance, grants)
            attachment = block.attributes.get(MANAGED_POLICY_ATTRIBUTES.get(resource_type, ""))
            if attachment is not None:
                self.managed_policies(attachment, address, instance)
            if resource_type == "aws_iam_role":
                for inline in self.expanded_blocks(block, "inline_policy", instance):
                    inline_block, inline_instance = inline
                    if "policy" in inline_block.attributes:
                        self.policy(inline_block.attributes["policy"], f"{address}.inline_policy", inline_instance)

    def expanded_blocks(self, parent: Block, block_type: str, instance: Instance) -> list[tuple[Block, Instance]]:
        """The nested blocks of a type, literal ones and those a ``dynamic`` block generates, each
        with the names in scope for it (the dynamic block's iterator)."""
        found = [(b, instance) for b in parent.child_blocks(block_type)]
        for dynamic in parent.child_blocks("dynamic"):
            if dynamic.labels[:1] != (block_type,):
                continue
            content = next(iter(dynamic.child_blocks("content")), None)
            for_each = dynamic.attributes.get("for_each")
            if content is None or for_each is None:
                continue
            iterator = self.scalar(dynamic.attributes.get("iterator"), instance)
            name = block_type
            iterator_attribute = dynamic.attributes.get("iterator")
            if iterator_attribute is not None and isinstance(iterator_attribute.value, Reference):
                name = iterator_attribute.value.parts[0]
            elif isinstance(iterator, Known) and isinstance(iterator.value, str):
                name = iterator.value
            collection = self.primary.may.evaluate(for_each.value, instance.env)
            for generated in self._for_each(collection, for_each.value.location):
                each = generated.env["each"]
                env = {**instance.env, name: each}
                generated_block = Block(block_type, (), content.location, content.attributes, content.blocks)
                found.append((generated_block, Instance(env, instance.certain and generated.certain)))
        return found

    def generic_resource(self, block: Block, address: str, instance: Instance) -> Resource:
        """What integration matching reads, from the values the attributes *must* have: an
        attribute that is null in some case is not certainly set, nor a list element that may be absent."""
        attributes: dict[str, str | bool] = {}
        lists: dict[str, tuple[str, ...]] = {}
        expressions: dict[str, tuple[str, ...]] = {}
        for attribute_name, attribute in block.attributes.items():
            if attribute_name in ("count", "for_each"):
                continue
            value = self.primary.must.evaluate(attribute.value, instance.env)
            if isinstance(value, Known) and value.value is not None:
                text = value.value
                attributes[attribute_name] = ("true" if text else "false") if isinstance(text, bool) else str(text)
            elif isinstance(value, ObjectValue):
                attributes.setdefault(attribute_name, True)
            elif isinstance(value, Unknown):
                expressions[attribute_name] = (value.expression,)
            elif all(isinstance(option, ListValue) for option in options(value)):
                lists[attribute_name] = tuple(sorted(must_strings(value) or ()))
                unknown = {
                    item.expression
                    for option in options(value)
                    for item in option.items  # type: ignore[union-attr]
                    if isinstance(item, Unknown)
                }
                if unknown and not isinstance(value, OneOf):
                    expressions[attribute_name] = tuple(sorted(unknown))
        blocks = {b.labels[0] if b.type == "dynamic" and b.labels else b.type for b in block.blocks}
        return Resource(
            "terraform",
            block.labels[0],
            address,
            block.location,
            attributes,
            frozenset(blocks),
            instance.certain,
            lists,
            expressions,
            self.run.configuration,
        )

    def organization(self, block: Block, address: str, instance: Instance) -> None:
        principals = block.attributes.get("aws_service_access_principals")
        count, resolved = 0, True
        alternatives: dict[str, set[str] | None] = {}
        if principals is not None:
            # One list per configuration: a module applied by two roots or units has two lists.
            group = f"{self.run.configuration}:{self.scope.directory}:{address}"
            count, resolved, _ = self.principal_values(
                principals, address, Position.ORGANIZATION_LIST, group, instance, alternatives
            )
        feature = block.attributes.get("feature_set")
        feature_value = self.scalar(feature, instance)
        if isinstance(feature_value, Unknown):
            self.unresolved(feature_value, address, "feature_set", "other")
        self.facts.organizations.append(
            Organization(
                address=address,
                location=block.location,
                feature_set=feature_value.value
                if isinstance(feature_value, Known) and isinstance(feature_value.value, str)
                else ("ALL" if feature is None else "?"),
                feature_set_location=feature_value.location if isinstance(feature_value, Known) else block.location,
                # Optional and not computed in the provider's schema: left out, it is an empty list
                # that each apply enforces like any other.
                declares_principals=True,
                principals_resolved=resolved,
                principal_count=count,
                principals_location=principals.location if principals else None,
                scope=self.run.configuration,
                authoritative=not _ignores_changes(block, "aws_service_access_principals"),
                principals_written=principals is not None,
                certain=instance.certain,
                alternatives=tuple(
                    AlternativeList(variant, tuple(sorted(held)))
                    for variant, held in sorted(alternatives.items())
                    if held is not None  # an unknown list is unresolved: principals_resolved says so
                ),
            )
        )

    def single_principal(
        self, block: Block, address: str, instance: Instance, attribute_name: str, position: Position
    ) -> None:
        attribute = block.attributes.get(attribute_name)
        if attribute is None:
            return
        group = f"{position.value}:{address}"
        if position is Position.SERVICE_ACCESS_RESOURCE:
            # Two standalone resources for one principal in one configuration fight each other.
            group = f"{self.run.configuration}:{position.value}"
        _, _, certain = self.principal_values(attribute, address, position, group, instance)
        if position is Position.SERVICE_ACCESS_RESOURCE:
            principal = next(iter(certain)) if certain and len(certain) == 1 else None
            self.facts.service_access.append(
                ServiceAccessResource(address, block.location, principal, self.run.configuration, instance.certain)
            )

    # ---- IAM policies -----------------------------------------------------------------

    def managed_policies(self, attribute: Attribute, address: str, instance: Instance) -> None:
        """Every AWS managed policy an attachment attribute may name (each branch, each element),
        at the literal naming it; one named through a data source or with a computed partition is
        recognised by its static policy name."""
        for leaf in leaves(self.primary.may.evaluate(attribute.value, instance.env)):
            item = leaf.value
            if isinstance(item, Known):
                arn = aws_managed_arn(item.value) if isinstance(item.value, str) else None
            else:
                arn = self._named_policy(item)
            if arn is None or (arn, item.location) in self._seen_attachments:
                continue
            self._seen_attachments.add((arn, item.location))
            self.facts.managed_policy_attachments.append(ManagedPolicyAttachment(arn, item.location, address))

    def _named_policy(self, item: Unknown) -> str | None:
        """The AWS managed policy an apply-time value names: a data "aws_iam_policy" looked up by
        a literal arn or name, or an ARN template whose partition alone is computed."""
        data = self.policy_data.get(item.refers_to or "")
        if data is not None and item.expression.endswith(".arn"):
            for attribute_name in ("arn", "name"):
                value = self.scalar(data.attributes.get(attribute_name), Instance({}, True))
                if isinstance(value, Known) and isinstance(value.value, str):
                    text = value.value if attribute_name == "arn" else AWS_MANAGED_PREFIX + value.value
                    return aws_managed_arn(text)
            return None
        return aws_managed_arn(item.expression)

    def policy(self, attribute: Attribute, address: str, instance: Instance, grants: bool = True) -> None:
        """A policy attribute: jsonencode({...}), a heredoc or string of JSON, a policy document's
        JSON, or a var/local holding one."""
        expr = attribute.value
        if isinstance(expr, Call) and expr.name == "jsonencode" and len(expr.args) == 1:
            value = self.primary.may.evaluate(expr.args[0], instance.env)
            statements_from_document(to_json_node(value, expr.location), address, self.facts, grants)
            return
        value = self.primary.may.evaluate(expr, instance.env)
        documents = [o.refers_to for o in options(value) if isinstance(o, Unknown) and _is_document(o.refers_to)]
        if documents:
            for document in documents:
                assert document is not None
                self.use_document(document, grants)
            return
        texts = [o for o in options(value) if isinstance(o, Known) and isinstance(o.value, str)]
        if not texts:
            unknown = next((o for o in options(value) if isinstance(o, Unknown)), None)
            reason = unknown.reason if unknown else "not a policy document"
            self.unresolved(Unknown(expr.text, expr.location, reason), address, attribute.name, "document")
            return
        for text in texts:
            heredoc = isinstance(expr, Literal) and expr.text.startswith("<<") and text.location == expr.location
            assert isinstance(text.value, str)
            try:
                if heredoc:
                    from orgtrust_lint.parse.hcl_ast import heredoc_indent

                    root = parse_policy_text(text.value, text.location, text.location.line, heredoc_indent(expr.text))
                else:
                    root = parse_policy_text(text.value, text.location)
            except JsonSyntaxError as exc:
                where = Location.point(text.location.path, exc.line, exc.column)
                self.facts.parse_errors.append(ParseError(text.location.path, str(exc), where))
                continue
            statements_from_document(root, address, self.facts, grants)

    def _propagate_uses(self, documents: list[Block]) -> None:
        """A document merged into another (source_policy_documents, override_policy_documents)
        is used as that one is: content of an SCP stays content."""
        by_address = {f"data.{POLICY_DOCUMENT}.{b.labels[1]}": b for b in documents}  # local addresses
        changed = True
        while changed:
            changed = False
            for address, block in by_address.items():
                use = self.document_uses.get(address)
                if use is None:
                    continue
                for attribute_name in ("source_policy_documents", "override_policy_documents"):
                    attribute = block.attributes.get(attribute_name)
                    if attribute is None:
                        continue
                    for leaf in leaves(self.primary.may.evaluate(attribute.value)):
                        target = leaf.value.refers_to if isinstance(leaf.value, Unknown) else None
                        if target in by_address:
                            inner = self.document_uses.setdefault(target, _Use())
                            if (use.grants and not inner.grants) or (use.content and not inner.content):
                                inner.grants |= use.grants
                                inner.content |= use.content
                                changed = True

    def policy_document(self, block: Block) -> None:
        """data "aws_iam_policy_document": statement blocks (literal and dynamic), judged per use."""
        local_address = f"data.{POLICY_DOCUMENT}.{block.labels[1]}"
        address = f"{self.prefix}{local_address}"
        use = self.document_uses.get(local_address)
        contexts = [True] if use is None else [g for g, used in ((True, use.grants), (False, use.content)) if used]
        for instance in self.instances(block):
            for statement, statement_instance in self.expanded_blocks(block, "statement", instance):
                for grants in contexts:
                    self.statement(statement, statement_instance, address, grants)

    def statement(self, statement: Block, instance: Instance, address: str, grants: bool) -> None:
        effect_attribute = statement.attributes.get("effect")
        effects = self.strings(effect_attribute, instance) if effect_attribute is not None else None
        actions, actions_unknown = self.string_list(statement.attributes.get("actions"), instance)
        not_actions = None
        not_actions_unknown: list[Unknown] = []
        if "not_actions" in statement.attributes:
            not_actions, not_actions_unknown = self.string_list(statement.attributes["not_actions"], instance)
        if effects is None:
            effect = "Allow"
        else:
            known_effects = {value for value, _ in effects[0]}
            effect = known_effects.pop() if len(known_effects) == 1 and not effects[1] else "?"
        clauses: list[ConditionClause] = []
        values: dict[int, tuple[tuple[str, Location], ...]] = {}
        for condition, condition_instance in self.expanded_blocks(statement, "condition", instance):
            test = self.scalar(condition.attributes.get("test"), condition_instance, may=True)
            variable = self.scalar(condition.attributes.get("variable"), condition_instance, may=True)
            if not isinstance(test, Known) or not isinstance(variable, Known):
                continue
            found, unknown = self.string_list(condition.attributes.get("values"), condition_instance)
            if unknown and str(variable.value).lower() == "organizations:serviceprincipal":
                # Only this key decides what the trusted-access actions may do: other keys'
                # values (accounts, ARNs built from data sources) are not ours to resolve.
                for item in unknown:
                    self.unresolved(item, address, "values", "principal")
            values[len(clauses)] = found
            clauses.append(
                ConditionClause(
                    str(test.value), str(variable.value), tuple(v for v, _ in found), condition.location, not unknown
                )
            )
        may_allow = effect in ("Allow", "?")
        could_grant = may_allow and (
            bool(actions_unknown) or bool(not_actions_unknown) or grants_trusted_access(actions, not_actions)
        )
        if grants and could_grant:
            for item in [*actions_unknown, *not_actions_unknown]:
                self.unresolved(item, address, "actions", "statement")
            if effect == "?" and effects is not None:
                for item in effects[1]:
                    self.unresolved(item, address, "effect", "statement")
        add_statement(
            self.facts,
            effect=effect,
            actions=actions,
            not_actions=not_actions,
            conditions=tuple(clauses),
            condition_values=values,
            location=statement.location,
            resource=address,
            actions_known=not actions_unknown and not not_actions_unknown,
            grants=grants,
        )

    def strings(self, attribute: Attribute, instance: Instance) -> tuple[list[tuple[str, Location]], list[Unknown]]:
        value = self.primary.may.evaluate(attribute.value, instance.env)
        found, unknown = [], []
        for leaf in leaves(value):
            if isinstance(leaf.value, Unknown):
                unknown.append(leaf.value)
            elif leaf.value.value is not None:
                text = leaf.value.value
                found.append((str(text).lower() if isinstance(text, bool) else str(text), leaf.value.location))
        return found, unknown

    def string_list(
        self, attribute: Attribute | None, instance: Instance
    ) -> tuple[tuple[tuple[str, Location], ...], list[Unknown]]:
        if attribute is None:
            return (), []
        found, unknown = self.strings(attribute, instance)
        unique = tuple(dict.fromkeys(found))  # the same literal through two branches is one entry
        return unique, unknown


def names_principals(name: str) -> bool:
    """An argument (or object key) whose name says it holds service principals."""
    name = name.lower()
    return name.endswith(("principals", "service_principal")) or name == "aws_service_name"


def _named_principals(name: str, value: Value, named: bool = False) -> Iterator[Known]:
    """The strings of ``value`` held under a principal-naming argument or key, at any depth: a list
    of them (``service_access_principals``), or an object's key (``delegated_administrators[*].service_principal``)."""
    named = named or names_principals(name)
    if isinstance(value, Known):
        # A word without a dot ("Service" in an IAM principals block, an account ID) names no service.
        if named and isinstance(value.value, str) and "." in value.value:
            yield value
    elif isinstance(value, ListValue):
        for item in value.items:
            yield from _named_principals(name, item, named)
    elif isinstance(value, ObjectValue):
        for key, item in value.items:
            yield from _named_principals(name if named else key, item, named)
    elif isinstance(value, Maybe):
        yield from _named_principals(name, value.value, named)
    elif isinstance(value, OneOf):
        for option in value.options:
            yield from _named_principals(name, option, named)


def record_module_arguments(
    facts: Facts,
    seen: set[tuple[str, Location, Position]],
    arguments: dict[str, Value],
    address: str,
    configuration: str,
) -> None:
    """Principals written in the arguments of a module whose code is not read (Position.MODULE_ARGUMENT).
    An unknown value there is not reported: nothing says the module uses it as a principal."""
    for name, value in arguments.items():
        for item in _named_principals(name, value):
            assert isinstance(item.value, str)
            key = (item.value, item.location, Position.MODULE_ARGUMENT)
            if key in seen:
                continue
            seen.add(key)
            facts.principals.append(
                PrincipalRef(
                    value=item.value,
                    position=Position.MODULE_ARGUMENT,
                    location=item.location,
                    resource=address,
                    group=f"{address}.{name}",
                    via=tuple(v for v in item.via if v != item.location),
                    origin=item.origin,
                    certain=False,  # what the module does with it is not known: it enables nothing here
                    configuration=configuration,
                )
            )


def _source(block: Block) -> str | None:
    source = block.attributes.get("source")
    if source is None or not isinstance(source.value, Literal) or not isinstance(source.value.value, str):
        return None
    return source.value.value


def _is_remote(block: Block) -> bool:
    """A module block whose source is not a local path: the Terraform Registry, git, a URL."""
    source = _source(block)
    return source is not None and not source.startswith(("./", "../"))


def _is_document(address: str | None) -> bool:
    """A policy document's address, here or in a called module (module.org.data.aws_iam_policy_document.x)."""
    return (
        address is not None
        and f"data.{POLICY_DOCUMENT}." in address
        and (address.startswith(f"data.{POLICY_DOCUMENT}.") or address.startswith("module."))
    )


def _ignores_changes(block: Block, attribute_name: str) -> bool:
    """lifecycle { ignore_changes = [attribute] } or = all: Terraform then leaves the attribute alone."""
    for lifecycle in block.child_blocks("lifecycle"):
        ignored = lifecycle.attributes.get("ignore_changes")
        if ignored is None:
            continue
        items = ignored.value.items if isinstance(ignored.value, TupleExpr) else (ignored.value,)
        for item in items:
            if isinstance(item, Reference) and item.parts[0] in (attribute_name, "all"):
                return True
            if isinstance(item, Literal) and item.value in (attribute_name, "all"):
                return True
    return False


def to_json_node(value: Value, fallback: Location) -> JsonNode:
    """A value as the JSON tree IAM would see, keeping each literal's location. Where a value may
    be one of several, every option is kept (a list): a statement check looks at all of them."""
    if isinstance(value, ObjectValue):
        members = {}
        for key, item in value.items:
            node = to_json_node(item, value.location)
            members[key] = JsonNode(node.value, node.location, node.location)
        return JsonNode(members, value.location)
    if isinstance(value, ListValue):
        return JsonNode([to_json_node(item, value.location) for item in value.items], value.location)
    if isinstance(value, Maybe):
        return to_json_node(value.value, fallback)
    if isinstance(value, Known):
        return JsonNode(value.value, value.location)
    if isinstance(value, OneOf):
        nodes = [to_json_node(option, fallback) for option in value.options]
        if all(not isinstance(node.value, (dict, list)) for node in nodes):
            return JsonNode(nodes, nodes[0].location)  # a scalar that is one of several: all of them
        return next((node for node in nodes if isinstance(node.value, (dict, list))), nodes[0])
    return JsonNode(None, value.location if isinstance(value, Unknown) else fallback)


class ModuleCall:
    """A module block whose source is a local directory of the run: its instances are module
    instances bound by the block's arguments, and ``module.NAME`` is the value of their outputs."""

    def __init__(self, caller: ModuleExtractor, block: Block, scope: ModuleScope) -> None:
        self.caller = caller
        self.block = block
        self.scope = scope
        self.name = block.labels[0]
        self._children: list[tuple[Instance, ModuleExtractor]] | None = None

    @classmethod
    def of(cls, caller: ModuleExtractor, block: Block) -> ModuleCall | None:
        source = _source(block)
        if source is None:
            return None
        if _is_remote(block):
            # A registry or git module: read where `terraform init` put it, when the root's
            # .terraform/modules/modules.json says (its keys are the module names from the root).
            key = ".".join([*caller.prefix.split(".")[1::2], block.labels[0]])
            directory = caller.run.manifest.get(key)
            if directory is None:
                return None
        else:
            from orgtrust_lint.parse.terraform import local_source_directory

            directory = local_source_directory(caller.scope.directory, source)
        scope = caller.run.scopes.get(directory)
        if scope is None or directory in caller.stack:
            return None  # not read in this run (nothing in it to check), or a module that calls itself
        return cls(caller, block, scope)

    def instances(self) -> list[tuple[Instance, ModuleExtractor]]:
        """Each instance of the call (count, for_each) and the module instance it makes."""
        if self._children is None:
            self._children = []
            caller = self.caller
            for instance in caller.instances(self.block):
                may, must = {}, {}
                for name, attribute in self.block.attributes.items():
                    if name in _META_ARGUMENTS:
                        continue
                    # A literal written in the call says how it reached the module that uses it.
                    reached = f"{caller.prefix}module.{self.name}"
                    may[name] = with_origin(caller.primary.may.evaluate(attribute.value, instance.env), reached)
                    must[name] = with_origin(caller.primary.must.evaluate(attribute.value, instance.env), reached)
                binding = Binding(f"{caller.prefix}module.{self.name}.", may, must)
                child = ModuleExtractor(self.scope, caller.run, binding, instance.certain, caller.stack)
                self._children.append((instance, child))
        return self._children

    def children(self) -> list[ModuleExtractor]:
        return [child for _, child in self.instances()]

    def value(self, all_branches: bool) -> Value:
        """module.NAME as the caller sees it: an object of outputs, a list of them (count) or a map
        of them (for_each)."""
        objects: list[tuple[Instance, Value]] = []
        for instance, child in self.instances():
            evaluator = child.primary.may if all_branches else child.primary.must
            outputs = tuple(
                (name, seen_from_caller(evaluator.evaluate(attribute.value), f"module.{self.name}."))
                for name, attribute in child.scope.outputs.items()
            )
            objects.append((instance, ObjectValue(outputs, self.block.location)))
        if "count" in self.block.attributes:
            return ListValue(tuple(o if i.certain else Maybe(o) for i, o in objects), self.block.location)
        if "for_each" in self.block.attributes:
            keyed = []
            for instance, value in objects:
                each = instance.env.get("each")
                key = each.get("key") if isinstance(each, ObjectValue) else None
                if not isinstance(key, Known) or not isinstance(key.value, str):
                    return Unknown(self.block.labels[0], self.block.location, "for_each is known only at apply time")
                keyed.append((key.value, value))
            return ObjectValue(tuple(keyed), self.block.location)
        return objects[0][1] if objects else Unknown(self.name, self.block.location, "the module has no instance")


def extract_root(
    root: str, scopes: dict[str, ModuleScope], facts: Facts, manifest: dict[str, str] | None = None
) -> None:
    """Facts of the configuration whose root module is ``root``; ``scopes`` holds every module it may call,
    ``manifest`` where `terraform init` put the registry and git modules (by module key)."""
    ModuleExtractor(scopes[root], _Run(facts, scopes, root, manifest=manifest or {})).extract()


__all__ = ["ModuleScope", "build_scope", "extract_root", "fully_known"]
