"""The typed model every stage shares.

Parsers turn files into these facts; rules read only facts; reporters read only findings.
Every fact carries the location of the text a user would edit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"info": 0, "warning": 1, "error": 2}[self.value]


@dataclass(frozen=True, order=True)
class Location:
    path: str
    line: int
    column: int
    end_line: int
    end_column: int

    @classmethod
    def point(cls, path: str, line: int, column: int = 1) -> Location:
        return cls(path, line, column, line, column)

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


class Position(str, Enum):
    """Where a service principal is written; OT101 is strict in some positions only."""

    ORGANIZATION_LIST = "organization_list"
    SERVICE_ACCESS_RESOURCE = "service_access_resource"
    DELEGATED_ADMINISTRATOR = "delegated_administrator"
    SERVICE_LINKED_ROLE = "service_linked_role"
    CONDITION_VALUE = "condition_value"
    # An argument of a module whose code is not read (a registry or git module without
    # .terraform/modules/modules.json), or a Terragrunt input to one, named like a principal
    # (*principals, service_principal, aws_service_name): what the module does with it is unknown.
    MODULE_ARGUMENT = "module_argument"

    @property
    def is_trusted_access(self) -> bool:
        """Strictly checked: any string that is not a known principal is reported. Elsewhere a value
        may name any service (a service-linked role) or anything at all (a module argument), and
        only a near miss of a known principal is reported."""
        return self not in (Position.SERVICE_LINKED_ROLE, Position.MODULE_ARGUMENT)

    @property
    def enables_trusted_access(self) -> bool:
        return self in (Position.ORGANIZATION_LIST, Position.SERVICE_ACCESS_RESOURCE)


@dataclass(frozen=True)
class PrincipalRef:
    """One service principal string in a principal position."""

    value: str
    position: Position
    location: Location  # the literal itself (list element, variable default, tfvars line)
    resource: str  # address of the resource that uses it, e.g. aws_organizations_organization.org
    group: str  # identifies the list it belongs to, for duplicate detection
    via: tuple[Location, ...] = ()  # use sites when reached through var.x / local.x
    origin: str = "literal"  # how the value was reached, for messages
    deduplicated: bool = False  # passed through distinct()/toset(), so repeats are intended
    # The alternative *.tfvars file (applied only with -var-file) under which the value holds, e.g.
    # "production.tfvars"; None for what a plain apply uses. Variants never count as enabled.
    variant: str | None = None
    # In every case, not only in one branch of a conditional or one instance that may not exist:
    # checks that say something is missing (OT301, drift) count only certain principals as declared.
    certain: bool = True
    # The configuration (a root module with the modules it calls, a template, a plan) it belongs to:
    # what one apply enables is compared with what the same apply relies on.
    configuration: str = ""

    @property
    def kind(self) -> str:
        return "principal"


@dataclass(frozen=True)
class UnresolvedValue:
    """A principal list or policy whose value cannot be known statically."""

    expression: str
    location: Location
    resource: str
    attribute: str
    reason: str
    subject: str = "principal"  # what could not be checked: principal, statement, document or other

    @property
    def kind(self) -> str:
        return "unresolved"


@dataclass(frozen=True)
class AlternativeList:
    """What an organization's list certainly holds when an alternative .tfvars file is applied."""

    variant: str  # the file's name, e.g. prod.tfvars
    principals: tuple[str, ...]


@dataclass(frozen=True)
class Organization:
    """An organization resource and what it declares about trusted access."""

    address: str
    location: Location
    feature_set: str  # "ALL" when not written (the provider's default)
    feature_set_location: Location
    declares_principals: bool  # aws_service_access_principals is written
    principals_resolved: bool  # and its whole value is statically known
    principal_count: int
    principals_location: Location | None
    scope: str  # the configuration it belongs to (see PrincipalRef.configuration)
    # Each apply makes the organization's trusted access exactly the list; not so when Terraform is
    # told to ignore changes to it (lifecycle ignore_changes), as the provider documents.
    authoritative: bool = True
    principals_written: bool = True  # False: the attribute is left out, an empty list to the provider
    certain: bool = True  # the resource exists in every case (its count is not 0 or unknown)
    # For each alternative .tfvars file that changes the list: what the list certainly holds then.
    alternatives: tuple[AlternativeList, ...] = ()

    @property
    def kind(self) -> str:
        return "organization"

    @property
    def list_location(self) -> Location:
        """Where the authoritative list is: the attribute, or the resource that leaves it out (an empty list)."""
        return self.principals_location or self.location


@dataclass(frozen=True)
class ServiceAccessResource:
    """A standalone resource that enables one principal (aws_organizations_aws_service_access)."""

    address: str
    location: Location
    principal: str | None  # None when unresolved
    scope: str  # the configuration it belongs to (see PrincipalRef.configuration)
    certain: bool = True  # the resource exists in every case

    @property
    def kind(self) -> str:
        return "service_access"


@dataclass(frozen=True)
class Resource:
    """Any IaC resource, reduced to what integration matching needs.

    ``attributes`` holds statically known scalar values (strings and booleans) and ``blocks`` the
    names of nested blocks or object-valued properties that are present. ``lists`` holds, for each
    list-valued attribute, the strings it certainly holds, and ``expressions`` the parts of an
    attribute known only at deploy time, as written (``aws_organizations_organization.org.arn``,
    ``!Sub arn:...``): the attribute is set, and a pattern can still recognise what it refers to.
    An attribute that is left out, or whose value is null, is in none of them.
    """

    format: str  # terraform | cloudformation
    type: str
    address: str
    location: Location
    attributes: dict[str, str | bool] = field(default_factory=dict)
    blocks: frozenset[str] = frozenset()
    certain: bool = True  # the resource exists in every case (its count is not 0 or unknown)
    lists: dict[str, tuple[str, ...]] = field(default_factory=dict)
    expressions: dict[str, tuple[str, ...]] = field(default_factory=dict)
    configuration: str = ""  # see PrincipalRef.configuration

    @property
    def kind(self) -> str:
        return "resource"

    @property
    def written(self) -> tuple[str, ...]:
        """The name of every attribute and nested block the resource writes with a value."""
        return tuple(sorted({*self.attributes, *self.lists, *self.expressions, *self.blocks}))

    @property
    def values(self) -> dict[str, tuple[str, ...]]:
        """Every text each attribute holds: its value, its list's strings, its deploy-time expressions."""
        found: dict[str, tuple[str, ...]] = {}
        for name in self.written:
            value = self.attributes.get(name)
            texts = (value,) if isinstance(value, str) else ()
            found[name] = (*texts, *self.lists.get(name, ()), *self.expressions.get(name, ()))
        return found

    @property
    def nested(self) -> tuple[str, ...]:
        """Nested blocks, and attributes whose value is an object (a block in Terraform's JSON syntax)."""
        return tuple(sorted({*self.blocks, *(name for name, value in self.attributes.items() if value is True)}))


@dataclass(frozen=True)
class Integration:
    """A resource that relies on a principal's trusted access being enabled."""

    principal: str
    resource_type: str
    address: str
    location: Location
    self_enabling: bool
    reason: str  # why it relies on the principal, for messages
    configuration: str = ""  # see PrincipalRef.configuration

    @property
    def kind(self) -> str:
        return "integration"


@dataclass(frozen=True)
class ConditionClause:
    """One ``operator: {key: values}`` entry of a statement's Condition."""

    operator: str  # as written, e.g. StringLike, ForAnyValue:StringEquals, StringNotEqualsIfExists
    key: str
    values: tuple[str, ...]
    location: Location
    values_known: bool = True


@dataclass(frozen=True)
class PolicyStatement:
    """One IAM policy statement, whatever syntax it was written in."""

    effect: str  # "Allow" or "Deny" as written
    actions: tuple[tuple[str, Location], ...]  # Action entries; empty when NotAction is used
    not_actions: tuple[tuple[str, Location], ...] | None  # None when the statement uses Action
    conditions: tuple[ConditionClause, ...]
    location: Location
    resource: str  # address of the resource or data source holding the policy
    actions_known: bool = True  # False when some action could not be resolved
    grants: bool = True  # False for service control policies, whose Allow filters and grants nothing

    @property
    def kind(self) -> str:
        return "statement"

    @property
    def action_names(self) -> tuple[str, ...]:
        """The Action entries as written, without their locations."""
        return tuple(action for action, _ in self.actions)

    @property
    def not_action_names(self) -> tuple[str, ...] | None:
        """The NotAction entries as written; None when the statement uses Action."""
        return None if self.not_actions is None else tuple(action for action, _ in self.not_actions)


@dataclass(frozen=True)
class ManagedPolicyAttachment:
    """An IAM managed policy attached by ARN: to a role, user or group (Terraform's policy
    attachments and managed_policy_arns, CloudFormation's ManagedPolicyArns) or to an IAM Identity
    Center permission set. Only AWS managed policies (``iam::aws:policy/...``) whose name is
    statically known are recorded: a customer managed policy is read through its statements."""

    policy_arn: str  # arn:aws:iam::aws:policy/Name for an AWS managed policy, whatever the partition written
    location: Location  # the ARN literal, or the expression naming the policy (a data source, a !Sub)
    resource: str  # the attaching resource's address or logical id

    @property
    def kind(self) -> str:
        return "managed_policy_attachment"


@dataclass(frozen=True)
class PrincipalRemoval:
    """A principal whose trusted access a change (git base vs work tree, or a plan) disables."""

    principal: str
    location: Location  # where the change is visible now: the principal list, or what still relies on it
    change: str  # "since BASE" or "in PLAN", for messages
    deleted_integrations: tuple[str, ...]  # integrations relying on it that the same change removes
    kept_integrations: tuple[str, ...]  # integrations relying on it that stay

    @property
    def kind(self) -> str:
        return "removal"


@dataclass(frozen=True)
class DriftItem:
    """A difference between the code's trusted access and the live organization's."""

    # enabled_out_of_band | declared_not_enabled | delegated_out_of_band | delegated_not_registered | unknown_to_catalog
    direction: str
    principal: str
    location: Location  # the declaring literal, or the authoritative list that would change
    detail: str  # the enable date, the declaring place, the delegated accounts, or the declared one
    authoritative: str | None = None  # the aws_service_access_principals list that the next apply enforces
    keep_list: tuple[str, ...] = ()  # the list that would keep what is enabled now
    registered: str = ""  # delegated_not_registered: the accounts the organization has registered instead

    @property
    def kind(self) -> str:
        return "drift"


@dataclass(frozen=True)
class DelegatedAdministrator:
    """One delegated administrator registration: an account that administers a service's principal."""

    principal: str
    account: str


@dataclass(frozen=True)
class LiveOrganization:
    """The live organization as ``drift`` reads it, for the rules about what it holds (the
    organization policy of the configuration: required, allowed and forbidden principals)."""

    id: str
    management_account: str
    enabled: tuple[str, ...]  # the principals whose trusted access is enabled
    delegated_administrators: tuple[DelegatedAdministrator, ...]
    location: Location  # where findings about it point: the authoritative list, or the first declaration

    @property
    def kind(self) -> str:
        return "live_organization"


# Internal errors (a bug of ours) are always reported: no selection or suppression hides them.
INTERNAL_ERROR_RULE = "OT003"


@dataclass(frozen=True)
class InternalError:
    """orgtrust-lint itself failed on this file (a bug of ours, not of the file)."""

    path: str
    stage: str  # "parsing", "extracting facts from", "checking {rule} on", "reporting"
    message: str
    location: Location

    @property
    def kind(self) -> str:
        return "internal_error"


@dataclass(frozen=True)
class ParseError:
    path: str
    message: str
    location: Location

    @property
    def kind(self) -> str:
        return "parse_error"


@dataclass(frozen=True)
class Suppression:
    """An inline ``orgtrust-lint: ignore[...]`` comment, already resolved to the lines it covers."""

    path: str
    codes: frozenset[str]  # empty means every rule
    first_line: int
    last_line: int
    reason: str
    directive_line: int = 0  # where the comment (or Metadata entry) is, for findings about it
    until: str | None = None  # the raw until= value: the ignore stops working after that date

    @property
    def directive(self) -> Location:
        return Location.point(self.path, self.directive_line or self.first_line)


@dataclass(frozen=True)
class SuppressionProblem:
    """An ignore that is expired, unused, not allowed or without a required reason."""

    problem: str  # "expired", "bad-date", "unused", "not-allowed", "no-reason"
    path: str
    codes: str  # the rules the ignore names, for messages ("every rule" when it names none)
    detail: str  # what the rule's message needs: the expiry, or the rule that may not be ignored
    location: Location

    @property
    def kind(self) -> str:
        return "suppression_problem"


@dataclass(frozen=True, order=True)
class SkippedFile:
    """A file that was not linted, with the one-line reason shown to the user."""

    path: str
    reason: str
    # The file could hold something orgtrust-lint checks (it is too big, or could not be read): the
    # run is then incomplete (exit 3). Not so for what is not ours to read (a link out of the
    # tree, a FIFO, a file the configuration excludes, one OpenTofu does not read either).
    incomplete: bool = False


# The Facts list that holds each kind of fact; fact_kinds.FACT_KINDS documents each kind for rule authors.
FACT_LISTS = {
    "principal": "principals",
    "unresolved": "unresolved",
    "organization": "organizations",
    "service_access": "service_access",
    "resource": "resources",
    "integration": "integrations",
    "statement": "statements",
    "managed_policy_attachment": "managed_policy_attachments",
    "removal": "removals",
    "drift": "drift",
    "live_organization": "live_organizations",
    "parse_error": "parse_errors",
    "internal_error": "internal_errors",
    "suppression_problem": "suppression_problems",
}


@dataclass
class Facts:
    """Everything extracted from one run's files."""

    files: list[str] = field(default_factory=list)
    principals: list[PrincipalRef] = field(default_factory=list)
    unresolved: list[UnresolvedValue] = field(default_factory=list)
    organizations: list[Organization] = field(default_factory=list)
    service_access: list[ServiceAccessResource] = field(default_factory=list)
    resources: list[Resource] = field(default_factory=list)
    integrations: list[Integration] = field(default_factory=list)
    statements: list[PolicyStatement] = field(default_factory=list)
    managed_policy_attachments: list[ManagedPolicyAttachment] = field(default_factory=list)
    removals: list[PrincipalRemoval] = field(default_factory=list)
    drift: list[DriftItem] = field(default_factory=list)
    live_organizations: list[LiveOrganization] = field(default_factory=list)
    parse_errors: list[ParseError] = field(default_factory=list)
    internal_errors: list[InternalError] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)  # not linted, and why
    suppression_problems: list[SuppressionProblem] = field(default_factory=list)
    suppressions: list[Suppression] = field(default_factory=list)
    # Files evaluation read beside the code (file(), templatefile()), by real path, with the state it
    # found each in (evaluate/reads.py): a cached copy of these facts holds only while they hold.
    files_read: dict[str, str] = field(default_factory=dict)

    def extend(self, other: Facts) -> None:
        self.files.extend(other.files)
        self.principals.extend(other.principals)
        self.unresolved.extend(other.unresolved)
        self.organizations.extend(other.organizations)
        self.service_access.extend(other.service_access)
        self.resources.extend(other.resources)
        self.integrations.extend(other.integrations)
        self.statements.extend(other.statements)
        self.managed_policy_attachments.extend(other.managed_policy_attachments)
        self.removals.extend(other.removals)
        self.drift.extend(other.drift)
        self.live_organizations.extend(other.live_organizations)
        self.parse_errors.extend(other.parse_errors)
        self.internal_errors.extend(other.internal_errors)
        self.skipped.extend(other.skipped)
        self.suppression_problems.extend(other.suppression_problems)
        self.suppressions.extend(other.suppressions)
        self.files_read.update(other.files_read)

    def belonging_to(self, configuration: str) -> Facts:
        """These facts as part of one configuration (a plan is applied as one unit; the templates
        of a run are taken as one, their stacks deployed to one organization)."""
        self.principals = [replace(p, configuration=configuration) for p in self.principals]
        self.resources = [replace(r, configuration=configuration) for r in self.resources]
        self.organizations = [replace(o, scope=configuration) for o in self.organizations]
        self.service_access = [replace(s, scope=configuration) for s in self.service_access]
        return self

    def deduplicated(self) -> Facts:
        """The same facts with each file, parse error, skipped file and inline ignore once: a child
        module read for several configurations contributes them once."""
        self.files = list(dict.fromkeys(self.files))
        self.parse_errors = list(dict.fromkeys(self.parse_errors))
        self.skipped = list(dict.fromkeys(self.skipped))
        self.suppressions = list(dict.fromkeys(self.suppressions))
        return self

    def of_kind(self, kind: str) -> list[Any]:
        """The facts of one kind (fact_kinds.FACT_KINDS names them): what a rule's ``match.fact`` reads."""
        # Which list a rule reads is named by its rule file, so the element type is known only there.
        facts: list[Any] = getattr(self, FACT_LISTS[kind])
        return facts


@dataclass(frozen=True)
class Coverage:
    """How much a run saw: a green run says how many values it checked and how many it could not."""

    # distinct literals in trusted-access positions and ServicePrincipal conditions, and in arguments
    # named like principals of a module whose code is not read
    principals_checked: int
    principals_unresolved: int  # values there that cannot be known statically (OT002)
    statements_checked: int  # IAM policy statements read
    statements_unresolved: int  # documents, effects or actions that cannot be known statically

    @classmethod
    def of(cls, facts: Facts, counted: Callable[[str], bool] = lambda path: True) -> Coverage:
        principals = {
            (ref.location, ref.value)
            for ref in facts.principals
            if (ref.position.is_trusted_access or ref.position is Position.MODULE_ARGUMENT)
            and counted(ref.location.path)
        }
        unresolved = [u for u in facts.unresolved if counted(u.location.path)]
        statements = {(s.location, s.resource) for s in facts.statements if counted(s.location.path)}
        return cls(
            len(principals),
            len({(u.location, u.expression) for u in unresolved if u.subject == "principal"}),
            len(statements),
            len({(u.location, u.expression) for u in unresolved if u.subject in ("statement", "document")}),
        )


@dataclass(frozen=True)
class Finding:
    rule: str
    name: str
    severity: Severity
    location: Location
    message: str
    principal: str | None = None
    suggestion: str | None = None
    # Other places where an inline ignore also applies (the use site of a variable, say).
    also_at: tuple[Location, ...] = ()
