"""CloudFormation templates (YAML with short-form intrinsics, or JSON) -> facts.

Templates are loaded with cfn-lint's decoder, which keeps a line mark on every node.
cfn-lint is imported only when a file turns out to be a template (it costs about 0.5 s: bench/RESULTS.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from orgtrust_lint.facts import (
    Facts,
    Location,
    ManagedPolicyAttachment,
    ParseError,
    Position,
    PrincipalRef,
    Resource,
    ServiceAccessResource,
    SkippedFile,
    Suppression,
    UnresolvedValue,
)
from orgtrust_lint.lines import TERRAFORM_BREAKS, YAML_BREAKS, notions_agree
from orgtrust_lint.managed_policies import aws_managed_arn
from orgtrust_lint.parse.comments import scan_suppressions
from orgtrust_lint.parse.located_json import JsonNode, JsonSyntaxError
from orgtrust_lint.parse.policy import parse_policy_text, statements_from_document

SUFFIXES = (".yaml", ".yml", ".json", ".template")
_RESOURCES_KEY = re.compile(r"\"?Resources\"?\s*:")
_RESOURCE_TYPE = re.compile(r"(?:AWS|Custom|Community)::")
_PRINCIPAL_PROPERTY = re.compile(r"^service_?principals?$", re.IGNORECASE)


class _Opaque:
    """A value CloudFormation computes at deploy time (an intrinsic that is not static)."""

    def __init__(self, expression: str) -> None:
        self.expression = expression


IDENTITY_POLICY_RESOURCES = {"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"}
# Resources that attach managed policies by ARN, and the list property holding them.
MANAGED_POLICY_PROPERTIES = {
    "AWS::IAM::Role": "ManagedPolicyArns",
    "AWS::IAM::User": "ManagedPolicyArns",
    "AWS::IAM::Group": "ManagedPolicyArns",
    "AWS::SSO::PermissionSet": "ManagedPolicies",
}
INLINE_POLICY_RESOURCES = {"AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group"}


def is_candidate(path: str) -> bool:
    return path.endswith(SUFFIXES) and not path.endswith((".tf.json", ".tofu.json", ".tfvars.json"))


def looks_like_template(text: str) -> bool:
    """Detect a template by content, not by name: it has Resources with typed entries."""
    if "AWSTemplateFormatVersion" in text:
        return True
    return bool(_RESOURCES_KEY.search(text)) and bool(_RESOURCE_TYPE.search(text))


# "orgtrust-lint": an ignore (comment or Metadata) is a fact of its own, for governance (OT004-OT007).
_TEMPLATE_TOKENS = (
    "AWS::IAM::",
    "AWS::Organizations::",
    "Custom::",
    "AWS::CloudFormation::CustomResource",
    "orgtrust-lint",
)


def template_is_relevant(text: str, integration_types: Iterable[str] = ()) -> bool:
    """Whether a template names a resource we extract; if not, decoding it cannot add a fact.

    Any type outside AWS:: (a custom or third-party resource) counts, since it may name a principal.
    """
    if any(token in text for token in _TEMPLATE_TOKENS) or any(t in text for t in integration_types):
        return True
    return bool(re.search(r"Type\"?\s*:\s*\"?(?!AWS::)[A-Za-z0-9]+::", text))


def syntax_ok(text: str) -> bool:
    """A fast well-formedness check (C-accelerated JSON or YAML), so a template the prefilter
    skips still gets OT001 when it is broken: only a well-formed, irrelevant one is skipped."""
    stripped = text.lstrip()
    if stripped.startswith("{"):
        import json

        try:
            json.loads(text)
            return True
        except ValueError:
            return False
    return composes_as_yaml(text)


def composes_as_yaml(text: str) -> bool:
    """Whether a YAML parser composes the text: it is well-formed YAML, whatever its tags mean.
    Composing builds nodes and runs no constructor, so no tag (!Include, !!python/...) is acted on;
    a merge key on a tagged scalar (``<<: !Include ./x.yml``) is valid YAML that only constructing
    with merge semantics rejects."""
    import yaml

    try:
        for _ in yaml.compose_all(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
            pass
    except yaml.YAMLError:
        return False
    except RecursionError:
        return False
    return True


def _lenient_template(text: str, path: str) -> dict[str, Any] | list[Any] | None:
    """The template cfn-lint's decoder rejected, read with its own loader once the merge keys that
    no YAML library can resolve are set aside: a merge of a tagged scalar (org-formation's
    ``<<: !Include ./parameters.yml``, an include resolved by the tool that deploys the file) adds
    keys only that tool knows. A list of cfn-lint's matches when a key is repeated in a mapping
    (YAML wants keys unique, and CloudFormation rejects them); None when the file still cannot be
    read as one template."""
    import yaml
    from cfnlint.decode import cfn_yaml

    class _Loader(cfn_yaml.CfnFullLoader):  # type: ignore[misc]  # cfn-lint is untyped: its loader is Any
        def flatten_mapping(self, node: yaml.MappingNode) -> None:
            node.value = [(key, value) for key, value in node.value if not _unresolvable_merge(key, value)]
            super().flatten_mapping(node)

    try:
        loader = _Loader(text, path)
        loader.add_multi_constructor("!", cfn_yaml.multi_constructor)
        template = loader.get_single_data()
    except cfn_yaml.CfnParseError as exc:
        duplicates = [m for m in exc.matches if str(getattr(m, "message", "")).startswith("Duplicate found")]
        return duplicates or None
    except Exception:  # any other failure: the file is skipped with a note, never reported as broken
        return None
    return template if isinstance(template, dict) else None


def _bounded(template: dict[str, Any]) -> bool:
    """cfn-lint's own bound on a template with its aliases expanded (its decoder enforces it too)."""
    from orgtrust_lint.catalog import expanded_size

    try:
        expanded_size(template, 250_000)
    except (ValueError, RecursionError):
        return False
    return True


def _unresolvable_merge(key: Any, value: Any) -> bool:
    import yaml

    if getattr(key, "tag", None) != "tag:yaml.org,2002:merge":
        return False
    if isinstance(value, yaml.MappingNode):
        return False
    return not (isinstance(value, yaml.SequenceNode) and all(isinstance(v, yaml.MappingNode) for v in value.value))


def _location(path: str, node: Any, fallback: Location) -> Location:
    start, end = getattr(node, "start_mark", None), getattr(node, "end_mark", None)
    if start is None:
        return fallback
    end = end or start
    return Location(path, start.line + 1, start.column + 1, end.line + 1, end.column + 1)


class _Template:
    def __init__(self, path: str, template: dict[Any, Any], facts: Facts) -> None:
        self.path = path
        self.template = template
        self.facts = facts
        self.parameters = found if isinstance(found := template.get("Parameters"), dict) else {}

    def loc(self, node: Any, fallback: Location) -> Location:
        return _location(self.path, node, fallback)

    # ---- values ---------------------------------------------------------------------

    def resolve(self, node: Any, at: Location) -> JsonNode:
        """A template value as JSON the service would see; intrinsics resolved where static."""
        here = self.loc(node, at)
        if isinstance(node, dict):
            if len(node) == 1:
                (key,) = node.keys()
                if key == "Ref" or key.startswith("Fn::"):
                    return self.intrinsic(str(key), node[key], here)
            members = {}
            for key, value in node.items():
                child = self.resolve(value, here)
                members[str(key)] = JsonNode(child.value, child.location, self.loc(key, here))
            return JsonNode(members, here)
        if isinstance(node, list):
            return JsonNode([self.resolve(item, here) for item in node], here)
        if isinstance(node, str | bool | int | float) or node is None:
            return JsonNode(str(node) if isinstance(node, str) else node, here)
        return JsonNode(_Opaque(type(node).__name__), here)

    def parameter_default(self, name: str, at: Location) -> JsonNode | None:
        parameter = self.parameters.get(name)
        if isinstance(parameter, dict) and "Default" in parameter:
            default = parameter["Default"]
            location = self.loc(default, at)
            if isinstance(default, str) and parameter.get("Type", "String") == "CommaDelimitedList":
                return JsonNode([JsonNode(v.strip(), location) for v in default.split(",")], location)
            return JsonNode(str(default) if isinstance(default, str) else _Opaque(f"Ref {name}"), location)
        return None

    def intrinsic(self, name: str, argument: Any, at: Location) -> JsonNode:
        if name == "Ref" and isinstance(argument, str):
            resolved = self.parameter_default(argument, at)
            if resolved is not None:
                return resolved
        elif name == "Fn::Join" and isinstance(argument, list) and len(argument) == 2:
            delimiter, items = argument
            parts = self.resolve(items, at)
            if isinstance(delimiter, str) and isinstance(parts.value, list):
                texts = [p.value for p in parts.value]
                if all(isinstance(t, str) for t in texts):
                    return JsonNode(delimiter.join(texts), at)
        elif name == "Fn::Sub" and isinstance(argument, str):
            substituted = self.substitute(argument, at)
            if substituted is not None:
                return JsonNode(substituted, at)
        shown = argument if isinstance(argument, str) else "..."
        return JsonNode(_Opaque(f"{name.replace('Fn::', '!')} {shown}"), at, None)

    def substitute(self, text: str, at: Location) -> str | None:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            default = self.parameter_default(name, at)
            if default is None or not isinstance(default.value, str):
                raise LookupError(name)
            return default.value

        try:
            return re.sub(r"\$\{([^!}][^}]*)\}", replace, text).replace("${!", "${")
        except LookupError:
            return None

    def unresolved(self, node: JsonNode, resource: str, attribute: str) -> None:
        expression = node.value.expression if isinstance(node.value, _Opaque) else "a non-string value"
        self.facts.unresolved.append(
            UnresolvedValue(
                expression,
                node.location,
                resource,
                attribute,
                "only literals, parameter defaults and static !Join/!Sub are resolved",
            )
        )

    # ---- resources ------------------------------------------------------------------

    def extract(self) -> None:
        resources = self.template.get("Resources")
        if not isinstance(resources, dict):
            return
        top = Location.point(self.path, 1)
        for logical_id, body in resources.items():
            if not isinstance(body, dict) or not isinstance(body.get("Type"), str):
                continue
            resource_type = str(body["Type"])
            location = self.loc(body, top)
            key_location = self.loc(logical_id, location)
            properties = found if isinstance(found := body.get("Properties"), dict) else {}
            self.metadata_suppression(body, location)
            self.facts.resources.append(self.generic(resource_type, str(logical_id), key_location, properties))
            self.policies(resource_type, str(logical_id), properties, location)
            self.managed_policies(resource_type, str(logical_id), properties, location)
            self.principals(resource_type, str(logical_id), properties, location)

    def generic(self, resource_type: str, logical_id: str, location: Location, properties: dict[Any, Any]) -> Resource:
        attributes: dict[str, str | bool] = {}
        lists: dict[str, tuple[str, ...]] = {}
        expressions: dict[str, tuple[str, ...]] = {}
        blocks = set()
        for name, value in properties.items():
            if isinstance(value, bool):
                attributes[str(name)] = value
            elif isinstance(value, str):
                attributes[str(name)] = str(value)
            elif isinstance(value, dict):
                resolved = self.resolve(value, location)
                if isinstance(resolved.value, str):
                    attributes[str(name)] = resolved.value
                elif isinstance(resolved.value, list):
                    self._list(str(name), resolved.value, lists, expressions)
                else:
                    if isinstance(resolved.value, _Opaque):
                        if resolved.value.expression == "Ref AWS::NoValue":
                            continue  # the property is left out
                        expressions[str(name)] = (resolved.value.expression,)
                    blocks.add(str(name))
            elif isinstance(value, list):
                self._list(str(name), self.resolve(value, location).value, lists, expressions)
        return Resource(
            "cloudformation",
            resource_type,
            logical_id,
            location,
            attributes,
            frozenset(blocks),
            True,
            lists,
            expressions,
        )

    @staticmethod
    def _list(
        name: str, items: list[JsonNode], lists: dict[str, tuple[str, ...]], expressions: dict[str, tuple[str, ...]]
    ) -> None:
        """A list property: its static strings, and its intrinsics known only at deploy time."""
        lists[name] = tuple(item.value for item in items if isinstance(item.value, str))
        opaque = tuple(item.value.expression for item in items if isinstance(item.value, _Opaque))
        if opaque:
            expressions[name] = opaque

    def metadata_suppression(self, body: dict[Any, Any], location: Location) -> None:
        metadata = body.get("Metadata")
        settings = metadata.get("orgtrust-lint") if isinstance(metadata, dict) else None
        codes = settings.get("ignore") if isinstance(settings, dict) else None
        if isinstance(codes, str):
            codes = [codes]
        if isinstance(codes, list) and codes and isinstance(settings, dict):
            reason = found if isinstance(found := settings.get("reason"), str) else ""
            until = settings.get("until")
            self.facts.suppressions.append(
                Suppression(
                    self.path,
                    frozenset(str(c).strip().upper() for c in codes),
                    location.line,
                    location.end_line,
                    reason,
                    self.loc(metadata, location).line,
                    str(until) if until is not None else None,
                )
            )

    def policy_documents(self, resource_type: str, properties: dict[Any, Any]) -> Iterable[tuple[Any, bool]]:
        if resource_type in IDENTITY_POLICY_RESOURCES and "PolicyDocument" in properties:
            yield properties["PolicyDocument"], True
        elif resource_type in INLINE_POLICY_RESOURCES and isinstance(properties.get("Policies"), list):
            for policy in properties["Policies"]:
                if isinstance(policy, dict) and "PolicyDocument" in policy:
                    yield policy["PolicyDocument"], True
        elif resource_type == "AWS::Organizations::Policy" and "Content" in properties:
            yield properties["Content"], False  # an SCP filters, it grants nothing

    def policies(self, resource_type: str, logical_id: str, properties: dict[Any, Any], location: Location) -> None:
        for document, grants in self.policy_documents(resource_type, properties):
            root = self.resolve(document, location)
            if isinstance(root.value, str):
                try:
                    root = parse_policy_text(root.value, root.location)
                except JsonSyntaxError as exc:
                    self.facts.parse_errors.append(
                        ParseError(self.path, str(exc), Location.point(self.path, exc.line, exc.column))
                    )
                    continue
            if isinstance(root.value, _Opaque):
                self.unresolved(root, logical_id, "PolicyDocument")
                continue
            statements_from_document(root, logical_id, self.facts, grants)

    def managed_policies(
        self, resource_type: str, logical_id: str, properties: dict[Any, Any], location: Location
    ) -> None:
        """AWS managed policies attached by ARN: a static string, or a !Sub whose partition alone is
        computed (``!Sub arn:${AWS::Partition}:iam::aws:policy/AdministratorAccess``)."""
        name = MANAGED_POLICY_PROPERTIES.get(resource_type)
        if name is None or name not in properties:
            return
        resolved = self.resolve(properties[name], location)
        for item in resolved.value if isinstance(resolved.value, list) else []:
            text = item.value.expression if isinstance(item.value, _Opaque) else item.value
            arn = aws_managed_arn(text) if isinstance(text, str) else None
            if arn is not None:
                self.facts.managed_policy_attachments.append(ManagedPolicyAttachment(arn, item.location, logical_id))

    def principals(self, resource_type: str, logical_id: str, properties: dict[Any, Any], location: Location) -> None:
        if resource_type == "AWS::IAM::ServiceLinkedRole" and "AWSServiceName" in properties:
            self.principal_value(properties["AWSServiceName"], Position.SERVICE_LINKED_ROLE, logical_id, location)
            return
        if resource_type.startswith("AWS::") and resource_type != "AWS::CloudFormation::CustomResource":
            return
        # Custom resources (LZA's Custom::EnableAwsServiceAccess, org-formation's
        # Community::Organizations::EnableAWSServiceAccess, ...) that name a service principal.
        position = (
            Position.DELEGATED_ADMINISTRATOR
            if "delegatedadmin" in resource_type.lower()
            else Position.SERVICE_ACCESS_RESOURCE
        )
        for name, value in properties.items():
            if _PRINCIPAL_PROPERTY.match(str(name)):
                principal = self.principal_value(value, position, logical_id, location)
                if position is Position.SERVICE_ACCESS_RESOURCE:
                    self.facts.service_access.append(ServiceAccessResource(logical_id, location, principal, self.path))

    def principal_value(self, node: Any, position: Position, logical_id: str, location: Location) -> str | None:
        """Record the principal(s) a property names; return the single one when it is known."""
        resolved = self.resolve(node, location)
        items = resolved.value if isinstance(resolved.value, list) else [resolved]
        single = resolved.value if isinstance(resolved.value, str) else None
        for item in items:
            if isinstance(item.value, str):
                self.facts.principals.append(
                    PrincipalRef(
                        value=item.value,
                        position=position,
                        location=item.location,
                        resource=logical_id,
                        group=f"{self.path}:{position.value}"
                        if position is Position.SERVICE_ACCESS_RESOURCE
                        else f"{self.path}:{logical_id}",
                    )
                )
            else:
                self.unresolved(item, logical_id, "service principal")
        return single


def _spans(template: dict[Any, Any], path: str) -> dict[int, int]:
    spans: dict[int, int] = {}
    resources = template.get("Resources")
    if isinstance(resources, dict):
        for logical_id, body in resources.items():
            start = _location(path, logical_id, Location.point(path, 1))
            end = _location(path, body, start)
            spans[start.line] = max(end.end_line, start.line)
    return spans


def extract_cloudformation(path: str, text: str) -> Facts:
    """Facts of one template file (the caller has checked ``looks_like_template``)."""
    from cfnlint.decode import decode_str

    template, matches = decode_str(text)
    if matches and "<<" in text and not text.lstrip().startswith("{") and composes_as_yaml(text):
        # A merge key cfn-lint's decoder rejects in valid YAML is not a parse error (OT001): read
        # the file another way, or say it is not linted. Other rejections (a tag no safe loader
        # constructs, an alias bomb) stay OT001 as before.
        lenient = _lenient_template(text, path)
        if isinstance(lenient, dict) and _bounded(lenient):
            return facts_from_template(path, lenient, text)
        if lenient is None:
            reason = "valid YAML that cfn-lint's decoder cannot read as one CloudFormation template; not linted"
            return Facts(skipped=[SkippedFile(path, reason)])
        if isinstance(lenient, list):
            matches = lenient  # a repeated key: the template is broken, whatever its merge keys
    if matches or not isinstance(template, dict):
        facts = Facts(files=[path])
        match = matches[0] if matches else None
        line = getattr(match, "linenumber", 1) or 1
        column = getattr(match, "columnnumber", 1) or 1
        message = str(getattr(match, "message", "not a template") if match else "not a template")
        # PyYAML's messages run over several lines ('... in "<unicode string>", line 6, column 23');
        # a finding's message is one line, and that place is the finding's location.
        where = re.search(r'in "<unicode string>", line (\d+), column (\d+)', message)
        if where and int(line) == 1 and int(column) == 1:
            line, column = int(where.group(1)), int(where.group(2))
        message = " ".join(message[: where.start()].split()) if where else " ".join(message.split())
        facts.parse_errors.append(ParseError(path, message, Location.point(path, int(line), int(column))))
        return facts
    return facts_from_template(path, template, text)


def template_line_breaks(text: str) -> re.Pattern[str]:
    """How the line numbers of a template's locations count lines (see orgtrust_lint.lines).

    cfn-lint reads every template as YAML (JSON is YAML), whose line breaks include a lone CR,
    NEL and U+2028/U+2029; only when the YAML reader rejects the text does it fall back to its
    JSON decoder, which counts LF only. The notions differ only in texts holding such a break,
    so only those are decoded again to tell which reader it was.
    """
    if notions_agree(text):
        return TERRAFORM_BREAKS
    from cfnlint.decode import cfn_yaml

    try:
        cfn_yaml.loads(text)
    except Exception:  # any failure sends cfn-lint to JSON (or nowhere: then nothing is located)
        return TERRAFORM_BREAKS
    return YAML_BREAKS


def facts_from_template(path: str, template: dict[Any, Any], text: str) -> Facts:
    """Facts of a template already decoded by cfn-lint (also used by the cfn-lint plugin)."""
    facts = Facts(files=[path])
    _Template(path, template, facts).extract()
    if "orgtrust-lint" in text:
        breaks = template_line_breaks(text)
        facts.suppressions.extend(scan_suppressions(path, text, _spans(template, path), breaks))
    return facts
