"""Terraform and OpenTofu files (HCL and JSON syntax): parsing, the prefilter, and modules.

Files are parsed one by one, then grouped by directory (a module); extract/terraform.py turns
each module's documents into facts, resolving ``var.x`` and ``local.x`` against that module.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from orgtrust_lint.facts import Facts, Location, ParseError, SkippedFile
from orgtrust_lint.files import SkipFile, describe_encoding_error, read_file
from orgtrust_lint.parse.comments import scan_suppressions
from orgtrust_lint.parse.hcl_ast import (
    Attribute,
    Block,
    Expr,
    HclDocument,
    HclSyntaxError,
    Literal,
    ObjectExpr,
    Template,
    TupleExpr,
)
from orgtrust_lint.parse.located_json import JsonNode, JsonSyntaxError, loads_located

if TYPE_CHECKING:
    from orgtrust_lint.parse.terragrunt import TerragruntUnit

# OpenTofu reads .tofu and .tofu.json as it reads .tf and .tf.json (variable files stay .tfvars).
SUFFIXES = (".tf", ".tf.json", ".tofu", ".tofu.json", ".tfvars", ".tfvars.json")


def is_terraform_file(path: str) -> bool:
    return path.endswith(SUFFIXES)


def _opentofu_replacement(path: str, siblings: set[str]) -> str | None:
    """The .tofu file OpenTofu reads instead of ``path`` (foo.tofu hides foo.tf, foo.tofu.json hides
    foo.tf.json: opentofu.org/docs/language/files, "Extension Precedence"), or None."""
    for terraform, opentofu in ((".tf", ".tofu"), (".tf.json", ".tofu.json")):
        if path.endswith(terraform) and (replacement := path[: -len(terraform)] + opentofu) in siblings:
            return replacement
    return None


def _is_tfvars(path: str) -> bool:
    return path.endswith((".tfvars", ".tfvars.json"))


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


def parse_terraform(path: str, data: bytes, relevant: BlockFilter | None = None) -> HclDocument | ParseFailure:
    """Parse one file; with ``relevant``, the top-level blocks of an HCL file that no check reads are
    blanked first (see parse/hcl_blocks.py), which keeps every line and column."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return ParseFailure(*describe_encoding_error(data, exc))
    if relevant is not None and not path.endswith(".json"):
        from orgtrust_lint.parse.hcl_blocks import relevant_pieces

        body = text.removeprefix("\ufeff")
        pieces = relevant_pieces(body, relevant.keeps)
        if pieces is not None:
            from orgtrust_lint.parse.hcl_parser import parse_hcl_pieces

            try:
                return parse_hcl_pieces(path, body, pieces)
            except HclSyntaxError:
                pass  # the parser's own message and position come from the whole file, below
            except RecursionError:
                return ParseFailure("nesting too deep to parse")
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
    incomplete: bool = False  # it could hold what orgtrust-lint checks


ParseMany = Callable[[list[tuple[str, bytes]]], list["HclDocument | ParseFailure"]]


def parse_serially(items: list[tuple[str, bytes]]) -> list[HclDocument | ParseFailure]:
    return [parse_terraform(path, data) for path, data in items]


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
# A module (or Terragrunt) source that is a local path: ./x, ../x, with an optional //subdirectory.
_LOCAL_SOURCE = re.compile(r'\bsource\s*[=:]\s*"(\.\.?/[^"$]*)"')
# An argument named like a service principal (a registry module's service_access_principals, say):
# checked even where the module's code is not read.
PRINCIPAL_ARGUMENT = re.compile(r'\b(?:\w*principals|\w*service_principal|aws_service_name)"?\s*[=:]')
_CONTEXT_BLOCK = re.compile(r"(?m)^\s*(?:variable|locals)\b|^\s*\"(?:variable|locals)\"\s*:")
_REFERENCE = re.compile(r"\b(?:var|local)\.")
_VARIABLE_REFERENCE = re.compile(r"\bvar\.([A-Za-z_][A-Za-z0-9_-]*)")


@dataclass(frozen=True)
class BlockFilter:
    """Which top-level blocks of a Terraform file can hold or feed a fact: the resources and data
    sources a check reads (Organizations, IAM and IAM Identity Center types, the catalog's
    integration types) and every module, variable, locals and output block that may carry values
    to them. Providers, terraform settings and every other resource are not read."""

    resource_types: frozenset[str]
    # The variables the module's other kept blocks refer to (var.NAME): no other can carry a value to
    # a fact, since Terraform names a variable only that way. None: every variable (not narrowed).
    variables: frozenset[str] | None = None

    def keeps(self, kind: str, labels: tuple[str, ...]) -> bool:
        if kind == "variable":
            return self.variables is None or (bool(labels) and labels[0] in self.variables)
        if kind in ("module", "locals", "output"):
            return True
        if kind not in ("resource", "data") or not labels:
            return False
        resource_type = labels[0]
        return resource_type.startswith(_READ_TYPE_PREFIXES) or resource_type in self.resource_types

    def for_module(self, files: Iterable[tuple[str, str]]) -> BlockFilter:
        """This filter narrowed to one module's files (path, text): the variable blocks kept are those
        the other kept blocks refer to. A variable file in a big module is mostly other resources'
        inputs (on the benchmark corpus, 1.4 KB of its 116 KB of variable blocks are read)."""
        from orgtrust_lint.parse.hcl_blocks import CannotScan, top_level_blocks

        names: set[str] = set()
        for path, text in files:
            if path.endswith(".json"):  # read whole (never sliced): any reference in it counts
                names.update(_VARIABLE_REFERENCE.findall(text))
                continue
            try:
                blocks = top_level_blocks(text)
            except CannotScan:
                return self  # parsed whole, below: every reference counts, keep every variable
            for start, end, kind, labels in blocks:  # none in a .tfvars file: it assigns, it never refers
                if kind != "variable" and self.keeps(kind, labels):
                    names.update(_VARIABLE_REFERENCE.findall(text, start, end))
        return replace(self, variables=frozenset(names))


# Resource and data types every check family reads: organizations, IAM policies, attachments and
# roles, IAM Identity Center permission sets (managed policy attachments).
_READ_TYPE_PREFIXES = ("aws_organizations_", "aws_iam_", "aws_ssoadmin_")


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
        self.blocks = BlockFilter(frozenset(types))

    def is_primary(self, path: str, text: str) -> bool:
        # A call of a local module passes values into another directory: that is where they are checked.
        # The substring tests first: the two searches cost far more, and most files fail both tests.
        return not _is_tfvars(path) and (
            any(token in text for token in self.tokens)
            or (('"./' in text or '"../' in text) and bool(_LOCAL_SOURCE.search(text)))
            or (("principal" in text or "aws_service_name" in text) and bool(PRINCIPAL_ARGUMENT.search(text)))
        )

    @staticmethod
    def is_context(path: str, text: str) -> bool:
        return _is_tfvars(path) or bool(_CONTEXT_BLOCK.search(text))


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _select(texts: dict[str, str], prefilter: Prefilter) -> list[str]:
    """The files of one module directory worth parsing, from their texts ("" for one not read)."""
    primary = [p for p in texts if prefilter.is_primary(p, texts[p])]
    if not primary:
        return []
    wanted = set(primary)
    if any(_REFERENCE.search(texts[p]) for p in primary):
        wanted.update(p for p in texts if prefilter.is_context(p, texts[p]))
    return sorted(wanted)


@dataclass
class TerraformModule:
    """One directory's files, and the contents of those worth parsing (or why they cannot be read)."""

    directory: str
    paths: list[str]
    to_parse: dict[str, bytes | ParseFailure | Skipped]
    relevant: BlockFilter | None = None  # with a prefilter: the blocks worth parsing
    # Where `terraform init` put the registry and git modules this directory calls, by module key
    # ("org", "org.nested"): from .terraform/modules/modules.json, when it is there.
    manifest: dict[str, str] = field(default_factory=dict)


MANIFEST = os.path.join(".terraform", "modules", "modules.json")


def read_manifest(directory: str, read: Callable[[str], bytes]) -> dict[str, str]:
    """The module directories `terraform init` recorded for the root module in ``directory``: each
    entry's Key (dotted module names from the root) and Dir (relative to the root module). Offline:
    nothing is downloaded; without the file, or with one that is not such a manifest, none."""
    import json

    path = os.path.join(directory, MANIFEST)
    from orgtrust_lint import replay

    replay.probed(path)  # .terraform/ is never walked: a manifest appearing there must be seen
    if not os.path.isfile(path):
        return {}
    try:
        data = json.loads(read(path).decode("utf-8"))
    except (OSError, KeyError, SkipFile, UnicodeDecodeError, ValueError, RecursionError):
        return {}
    entries = data.get("Modules") if isinstance(data, dict) else None
    manifest: dict[str, str] = {}
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        key, where = entry.get("Key"), entry.get("Dir")
        if isinstance(key, str) and key and isinstance(where, str) and where and "\0" not in where:
            manifest[key] = os.path.normpath(os.path.join(directory, where))
    return manifest


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
        siblings = set(directory_paths)
        for path in sorted(directory_paths):
            replacement = _opentofu_replacement(path, siblings)
            if replacement is not None:
                contents[path] = Skipped(f"OpenTofu reads {os.path.basename(replacement)} instead")
                continue
            try:
                contents[path] = read(path)
            except SkipFile as exc:
                contents[path] = Skipped(str(exc), exc.incomplete)
            except OSError as exc:
                contents[path] = ParseFailure(f"cannot read file: {exc.strerror}")
        blocks = None
        if prefilter is not None:
            # Decoded once: the prefilter chooses the files, then the blocks of those it keeps.
            texts = {p: d.decode("utf-8", "replace") if isinstance(d, bytes) else "" for p, d in contents.items()}
            chosen = set(_select(texts, prefilter))
            # A file that cannot be read or decoded is reported, whatever the prefilter says:
            # Terraform would refuse it too.
            chosen.update(p for p, data in contents.items() if not isinstance(data, bytes) or not _is_utf8(data))
            contents = {p: data for p, data in contents.items() if p in chosen}
            blocks = prefilter.blocks.for_module((p, texts[p]) for p, d in contents.items() if isinstance(d, bytes))
        modules.append(
            TerraformModule(directory, sorted(directory_paths), contents, blocks, read_manifest(directory, read))
        )
    return modules


def local_source_directory(caller: str, source: str) -> str:
    """The directory a local module source names, as discovery names directories."""
    path = source.replace("//", "/")  # "../modules//org": a subdirectory of the package
    return os.path.normpath(os.path.join(caller, path))


def called_directories_in(directory: str, data: bytes) -> set[str]:
    """The directories a file calls through local module sources."""
    # A local source is a quoted relative path: most files hold none, and a substring test costs
    # far less than decoding the file and searching it (every "resource" holds "source").
    if b'"./' not in data and b'"../' not in data:
        return set()
    text = data.decode("utf-8", errors="replace")
    return {local_source_directory(directory, m.group(1)) for m in _LOCAL_SOURCE.finditer(text)}


def called_directories(module: TerraformModule) -> set[str]:
    """The directories a module calls through local sources, read from its text (the parse decides
    later what each call passes; this only groups what is applied together)."""
    called: set[str] = set(module.manifest.values())  # registry and git modules `terraform init` fetched
    for data in module.to_parse.values():
        if isinstance(data, bytes):
            called.update(called_directories_in(module.directory, data))
    return called


@dataclass
class Configuration:
    """A root module and the local modules it calls (transitively): what one apply applies together.
    For a Terragrunt unit, the unit (named by its terragrunt.hcl) and the module it applies."""

    root: str
    modules: list[TerraformModule]  # the root first (a unit's module, when its code is read)
    unit: TerragruntUnit | None = None

    def paths(self) -> list[str]:
        """Every file the configuration is made of."""
        paths = [p for m in self.modules for p in m.paths]
        if self.unit is not None:
            paths.extend(p for p in self.unit.files if p not in paths)
        return paths


def plan_configurations(modules: list[TerraformModule], units: Sequence[TerragruntUnit] = ()) -> list[Configuration]:
    """Group planned modules into configurations. A directory another module in the run calls is a
    child: it belongs to each configuration that calls it, not to one of its own. So is a directory a
    Terragrunt unit applies: each unit is a configuration of its own."""
    by_directory = {m.directory: m for m in modules}
    calls = {
        m.directory: sorted(d for d in called_directories(m) if d in by_directory and d != m.directory) for m in modules
    }
    called = {d for targets in calls.values() for d in targets}
    called.update(u.module for u in units if u.module in by_directory)
    roots = [m.directory for m in modules if m.directory not in called]
    reached: set[str] = set()
    configurations: list[Configuration] = []

    def members(root: str) -> list[str]:
        order, stack = [], [root]
        while stack:
            directory = stack.pop()
            if directory in order:
                continue
            order.append(directory)
            stack.extend(reversed(calls[directory]))
        return order

    for root in roots:
        directories = members(root)
        reached.update(directories)
        configurations.append(Configuration(root, [by_directory[d] for d in directories]))
    for unit in units:
        directories = members(unit.module) if unit.module in by_directory and unit.module is not None else []
        reached.update(directories)
        configurations.append(Configuration(unit.path, [by_directory[d] for d in directories], unit))
    # Modules that only call each other in a cycle: each is taken as a root of its own.
    for module in modules:
        if module.directory not in reached:
            directories = members(module.directory)
            reached.update(directories)
            configurations.append(Configuration(module.directory, [by_directory[d] for d in directories]))
    return configurations


def module_documents(
    module: TerraformModule, parsed: dict[str, HclDocument | ParseFailure], facts: Facts
) -> list[HclDocument]:
    """A module's parsed documents; its files, parse errors, skipped files and inline ignores go to ``facts``."""
    documents: list[HclDocument] = []
    skipped = {path: data for path, data in module.to_parse.items() if isinstance(data, Skipped)}
    facts.skipped.extend(SkippedFile(path, data.reason, data.incomplete) for path, data in skipped.items())
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
    return documents


def extract_configuration(configuration: Configuration, parsed: dict[str, HclDocument | ParseFailure]) -> Facts:
    """Facts of one configuration, given the parse result of every file its modules chose."""
    from orgtrust_lint.extract.terraform import build_scope, extract_root

    facts = Facts()
    scopes = {}
    for module in configuration.modules:
        scopes[module.directory] = build_scope(module.directory, module_documents(module, parsed, facts))
    unit = configuration.unit
    if unit is not None:
        from orgtrust_lint.extract.terragrunt import extract_unit

        files = TerraformModule(unit.directory, list(unit.files), dict(unit.files))
        module_documents(files, parsed, facts)  # its files, parse errors, skipped files and inline ignores
        extract_unit(unit, scopes, parsed, facts)
    else:
        extract_root(configuration.root, scopes, facts, configuration.modules[0].manifest)
    return facts


def extract_modules(modules: list[TerraformModule], parsed: dict[str, HclDocument | ParseFailure]) -> Facts:
    """Facts of planned modules, configuration by configuration; a child called from several
    configurations is read once for its files, errors and ignores."""
    facts = Facts()
    for configuration in plan_configurations(modules):
        facts.extend(extract_configuration(configuration, parsed))
    return facts.deduplicated()


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
