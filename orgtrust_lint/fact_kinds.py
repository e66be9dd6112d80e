"""The kinds of fact a rule can match, with every field a condition or a message may name.

One registry, shared by the engine (which checks each rule's fields and placeholders against it),
the rule schema (a test keeps its ``match.fact`` enum equal to these names) and the field
reference for rule authors (generated from it). A field is a
dataclass field of the fact's class or one of the ``views`` its class computes; a test checks
that each one is documented here.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from orgtrust_lint import conditions
from orgtrust_lint.facts import (
    FACT_LISTS,
    DriftItem,
    Integration,
    InternalError,
    LiveOrganization,
    ManagedPolicyAttachment,
    Organization,
    ParseError,
    PolicyStatement,
    PrincipalRef,
    PrincipalRemoval,
    Resource,
    ServiceAccessResource,
    SuppressionProblem,
    UnresolvedValue,
)


@dataclass(frozen=True)
class FactKind:
    name: str
    type: type
    # When facts of this kind exist: "check" (code), "change" (check --base or --plan), "live" (drift
    # only), "governance" (once inline ignores are applied), "internal" (orgtrust-lint's own failures).
    mode: str
    summary: str
    fields: dict[str, str]  # name -> what it holds, for rule authors
    views: tuple[str, ...] = ()  # fields computed by the class (properties) rather than stored


_LOCATION = "where the fact is: path, line, column, end_line, end_column (a message shows it as path:line:column)"

FACT_KINDS: dict[str, FactKind] = {
    kind.name: kind
    for kind in (
        FactKind(
            "principal",
            PrincipalRef,
            "check",
            "One service principal string in a principal position (the organization's list, a service access "
            "resource, a delegated administrator, a service-linked role, a condition value).",
            {
                "value": "the principal as written, e.g. guardduty.amazonaws.com",
                "position": "organization_list, service_access_resource, delegated_administrator, "
                "service_linked_role, condition_value or module_argument (an argument named like principals "
                "of a module whose code is not read)",
                "location": "the literal itself (a list element, a variable default, a tfvars line); " + _LOCATION,
                "resource": "the address of the resource that uses it, e.g. aws_organizations_organization.org",
                "group": "which list it belongs to (two principals of one group are in the same list)",
                "via": "the places that use it when it is reached through a variable or local (locations)",
                "origin": "how the value was reached: literal, var.NAME, local.NAME, module.NAME, ...",
                "deduplicated": "true when the list passes through distinct() or toset(), so repeats are intended",
                "variant": "the alternative .tfvars file under which the value holds (absent for a plain apply)",
                "certain": "false when the value holds only in one branch of a conditional or in an instance "
                "that may not exist",
                "configuration": "the configuration it belongs to (a root module with what it calls, a template, "
                "a plan)",
            },
        ),
        FactKind(
            "unresolved",
            UnresolvedValue,
            "check",
            "A principal list or policy whose value cannot be known statically.",
            {
                "expression": "the expression as written",
                "location": _LOCATION,
                "resource": "the address of the resource holding it",
                "attribute": "the attribute holding it",
                "reason": "why it cannot be known",
                "subject": "what could not be checked: principal, statement, document or other",
            },
        ),
        FactKind(
            "organization",
            Organization,
            "check",
            "An organization resource and what it declares about trusted access.",
            {
                "address": "the resource's address, e.g. aws_organizations_organization.org",
                "location": "the resource; " + _LOCATION,
                "feature_set": "as written; ALL when left out (the provider's default)",
                "feature_set_location": "the feature_set attribute (the resource when it is left out)",
                "declares_principals": "true when aws_service_access_principals is written",
                "principals_resolved": "true when the whole list is statically known",
                "principal_count": "how many principals the list holds",
                "principals_location": "the aws_service_access_principals attribute (absent when left out)",
                "scope": "the configuration it belongs to (compare with a principal's configuration)",
                "authoritative": "false when Terraform is told to ignore changes to the list (lifecycle "
                "ignore_changes)",
                "principals_written": "false when the attribute is left out, an empty list to the provider",
                "certain": "false when the resource may not exist (its count is 0 or unknown)",
                "list_location": "where the authoritative list is: principals_location, or the resource when "
                "the list is left out",
                "alternatives": "for each alternative .tfvars file that changes the list: variant (the file's "
                "name) and principals (what the list certainly holds when it is applied)",
            },
            views=("list_location",),
        ),
        FactKind(
            "service_access",
            ServiceAccessResource,
            "check",
            "A standalone resource that enables one principal (aws_organizations_aws_service_access).",
            {
                "address": "the resource's address or logical id",
                "location": _LOCATION,
                "principal": "the principal it enables (absent when it cannot be resolved)",
                "scope": "the configuration it belongs to",
                "certain": "false when the resource may not exist",
            },
        ),
        FactKind(
            "resource",
            Resource,
            "check",
            "Any Terraform resource or CloudFormation resource, with what is statically known of its attributes.",
            {
                "format": "terraform or cloudformation",
                "type": "the resource type, e.g. aws_organizations_delegated_administrator or AWS::Config::"
                "ConfigurationAggregator",
                "address": "the resource's address (Terraform) or logical id (CloudFormation)",
                "location": _LOCATION,
                "attributes": "attributes.NAME: a statically known scalar value (text; Terraform writes booleans "
                "as the text true or false, CloudFormation as true or false; an object-valued Terraform "
                "attribute is true)",
                "blocks": "the names of the nested blocks (object-valued properties in CloudFormation)",
                "certain": "false when the resource may not exist (its count is 0 or unknown)",
                "lists": "lists.NAME: the strings a list-valued attribute certainly holds",
                "expressions": "expressions.NAME: the parts of an attribute known only at deploy time, as "
                "written (aws_organizations_account.security.id, !Ref Account)",
                "configuration": "the configuration it belongs to",
                "written": "the name of every attribute and block written with a value (test whether one is "
                "set with {field: written, equals: NAME})",
                "values": "values.NAME: every text an attribute holds: its value, its list's strings and its "
                "deploy-time expressions",
                "nested": "blocks, and attributes whose value is an object (a block in Terraform's JSON syntax)",
            },
            views=("written", "values", "nested"),
        ),
        FactKind(
            "integration",
            Integration,
            "check",
            "A resource that relies on a principal's trusted access being enabled (the catalog says which).",
            {
                "principal": "the principal it relies on",
                "resource_type": "the resource type, or 'delegated administrator'",
                "address": "the resource's address or logical id",
                "location": _LOCATION,
                "self_enabling": "true when creating the resource enables the trusted access itself",
                "reason": "why it relies on the principal, in words (e.g. is_organization_trail = true)",
                "configuration": "the configuration it belongs to",
            },
        ),
        FactKind(
            "statement",
            PolicyStatement,
            "check",
            "One IAM policy statement, whatever syntax it was written in.",
            {
                "effect": "Allow or Deny, as written",
                "actions": "the Action entries, each with its location (empty when NotAction is used)",
                "not_actions": "the NotAction entries with their locations (absent when Action is used)",
                "conditions": "the Condition entries, each with operator, key, values, location and values_known",
                "location": _LOCATION,
                "resource": "the address of the resource or data source holding the policy",
                "actions_known": "false when some action could not be resolved",
                "grants": "false for service control policies, whose Allow filters and grants nothing",
                "action_names": "the Action entries as written",
                "not_action_names": "the NotAction entries as written (absent when Action is used)",
            },
            views=("action_names", "not_action_names"),
        ),
        FactKind(
            "managed_policy_attachment",
            ManagedPolicyAttachment,
            "check",
            "An AWS managed policy attached by ARN (to a role, user, group or permission set).",
            {
                "policy_arn": "arn:aws:iam::aws:policy/NAME, whatever the partition written",
                "location": "the ARN, or the expression naming the policy; " + _LOCATION,
                "resource": "the attaching resource's address or logical id",
            },
        ),
        FactKind(
            "removal",
            PrincipalRemoval,
            "change",
            "A principal whose trusted access a change (check --base, check --plan) disables.",
            {
                "principal": "the principal",
                "location": "where the change is visible now; " + _LOCATION,
                "change": "'since BASE' or 'in plan PLAN', for messages",
                "deleted_integrations": "the integrations relying on it that the same change removes",
                "kept_integrations": "the integrations relying on it that stay",
            },
        ),
        FactKind(
            "drift",
            DriftItem,
            "live",
            "A difference between the code's trusted access and the live organization's (drift only).",
            {
                "direction": "enabled_out_of_band, declared_not_enabled, delegated_out_of_band, "
                "delegated_not_registered or unknown_to_catalog",
                "principal": "the principal",
                "location": "the declaring literal, or the authoritative list that would change; " + _LOCATION,
                "detail": "the enable date, the declaring place, the delegated accounts, or the declared account",
                "authoritative": "the aws_service_access_principals list the next apply enforces (absent if none)",
                "keep_list": "the list that would keep what is enabled now",
                "registered": "delegated_not_registered: the accounts registered instead",
            },
        ),
        FactKind(
            "live_organization",
            LiveOrganization,
            "live",
            "The live organization as drift reads it (drift only).",
            {
                "id": "the organization id, o-...",
                "management_account": "the management account's id",
                "enabled": "the principals whose trusted access is enabled",
                "delegated_administrators": "each registration, with principal and account",
                "location": "where findings about it point: the code's authoritative list, or its first "
                "declaration; " + _LOCATION,
            },
        ),
        FactKind(
            "parse_error",
            ParseError,
            "internal",
            "A file that looks like IaC but cannot be parsed.",
            {"path": "the file", "message": "what the parser said", "location": _LOCATION},
        ),
        FactKind(
            "internal_error",
            InternalError,
            "internal",
            "orgtrust-lint itself failed on a file.",
            {
                "path": "the file",
                "stage": "what was being done: parsing, extracting facts from, checking RULE on, reporting",
                "message": "the failure",
                "location": _LOCATION,
            },
        ),
        FactKind(
            "suppression_problem",
            SuppressionProblem,
            "governance",
            "An inline ignore that is expired, unused, not allowed or without a required reason.",
            {
                "problem": "expired, bad-date, unused, not-allowed or no-reason",
                "path": "the file",
                "codes": "the rules the ignore names ('every rule' when it names none)",
                "detail": "the expiry, or the rule that may not be ignored",
                "location": "the ignore comment; " + _LOCATION,
            },
        ),
    )
}

# Facts.of_kind and this registry name the same kinds.
assert set(FACT_KINDS) == set(FACT_LISTS), sorted(set(FACT_KINDS) ^ set(FACT_LISTS))

GOVERNANCE_KIND = "suppression_problem"


@functools.cache
def kind_shape(kind: str) -> conditions.Shape:
    """The fields a condition may name on a fact of ``kind``."""
    from orgtrust_lint import facts as facts_module

    fact_kind = FACT_KINDS[kind]
    return conditions.dataclass_shape(fact_kind.type, vars(facts_module), fact_kind.views)


def kind_shapes() -> dict[str, conditions.Shape]:
    return {kind: kind_shape(kind) for kind in FACT_KINDS}
