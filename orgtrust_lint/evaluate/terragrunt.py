"""Terragrunt files evaluated statically, as Terragrunt evaluates them where it can know the answer.

A unit is a directory with a terragrunt.hcl: it applies a Terraform module (``terraform { source }``, or
the unit's own directory without one) with its ``inputs`` as the module's variables. What a unit reads:

- ``include`` blocks first: each included file (root.hcl, found with find_in_parent_folders) is evaluated
  in the unit's context (its find_in_parent_folders, get_terragrunt_dir and path_relative_to_include see
  the unit's directory) with its own locals. Terragrunt reads no include of an included file.
- ``locals``, then ``dependency`` blocks (merged by name with the included files'), then the rest.
- ``inputs`` merged with the included files' as Terragrunt merges them: shallow by default (key by key,
  the unit's over an include's, a later include's over an earlier one's), ``merge_strategy = "deep"``
  (maps merged recursively, lists concatenated, the included file's first), ``"no_merge"`` (nothing).
- ``terraform { source }``: the unit's when it sets one, else the last include's that does.
- ``include.NAME.locals`` / ``.inputs`` for an include with ``expose = true`` (a bare include with
  ``expose`` is ``include.locals``); locals themselves are never merged.
- ``read_terragrunt_config(path)``: that file evaluated in its own context, as an object of its locals,
  inputs, terraform source, dependencies and other top-level attributes.
- ``dependency.NAME.outputs`` is read from the dependency's state when Terragrunt runs: unknown, or
  with ``mock_outputs`` one of (unknown, the mocks): a mock may be what the unit passes on.
- ``get_env(NAME, DEFAULT)`` is its default (the environment a lint happens to run in is not the one
  that deploys); without a default it is unknown.

Files are read only through ``Files`` (inside the repository, or the linted directory when there is no
repository); find_in_parent_folders looks no further up than that either. Terragrunt's functions are
added to Terraform's only here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from orgtrust_lint.evaluate.evaluator import Evaluator, ModuleValues
from orgtrust_lint.evaluate.functions import FUNCTIONS, computed, failed, per_option, unknown
from orgtrust_lint.evaluate.values import (
    MAX_OPTIONS,
    Known,
    ListValue,
    ObjectValue,
    OneOf,
    Unknown,
    Value,
    one_of,
    options,
    truth,
    via,
    with_origin,
)
from orgtrust_lint.facts import Location
from orgtrust_lint.parse.hcl_ast import Attribute, Block, Call, HclDocument, Reference
from orgtrust_lint.parse.terragrunt import UNIT_FILE  # also what find_in_parent_folders() looks for by default

MAX_READ_DEPTH = 16  # files reading files reading files: no real layout nests this deep
MERGE_STRATEGIES = ("shallow", "deep", "no_merge")


class Files(Protocol):
    """The Terragrunt files a unit may read, by absolute path."""

    def exists(self, path: str) -> bool: ...

    def document(self, path: str) -> HclDocument | None:
        """The parsed file; None when it is missing or cannot be read or parsed."""
        ...


@dataclass
class Unit:
    """What evaluating one unit shares: its file, where files may be read from, the files read so far."""

    path: str  # the unit's terragrunt.hcl, absolute
    boundary: str  # get_repo_root(): the repository (or linted directory), absolute
    files: Files
    read: dict[tuple[str, bool], Config] = field(default_factory=dict)  # read_terragrunt_config, by file

    def inside(self, path: str) -> bool:
        return path == self.boundary or path.startswith(os.path.join(self.boundary, ""))


@dataclass(frozen=True)
class Include:
    name: str  # "" for a bare include block
    path: str | None  # the included file (absolute); None when it cannot be known statically
    expose: bool
    strategy: str  # shallow, deep or no_merge


class Config:
    """One Terragrunt file evaluated in one context, for every branch (``all_branches``) or as decided.

    ``context`` is the file Terragrunt's functions see (get_terragrunt_dir, find_in_parent_folders):
    the unit for the unit and the files it includes, the file itself for one read with read_terragrunt_config.
    """

    def __init__(
        self,
        unit: Unit,
        path: str,
        context: str,
        all_branches: bool,
        included_by: Include | None = None,
        stack: tuple[str, ...] = (),
    ) -> None:
        self.unit = unit
        self.path = path
        self.context = context
        self.all_branches = all_branches
        self.included_by = included_by
        self.stack = (*stack, path)
        self.document = unit.files.document(path)
        self.blocks: list[Block] = self.document.blocks if self.document is not None else []
        self.attributes: dict[str, Attribute] = self.document.attributes if self.document is not None else {}
        self.locals: dict[str, Attribute] = {}
        for block in self.blocks:
            if block.type == "locals":
                self.locals.update(block.attributes)
        self.evaluator = TerragruntEvaluator(self, all_branches)
        self.includes: list[tuple[Include, Config | None]] = []
        if included_by is None:  # Terragrunt reads no include of an included file
            # An include's path is evaluated before anything it exposes exists, and as decided.
            paths = TerragruntEvaluator(self, all_branches=False, includes=False)
            for block in self.blocks:
                if block.type == "include" and len(block.labels) <= 1:
                    include = self._include(block, paths)
                    known = include.path is not None and include.path not in self.stack
                    assert include.path is not None or not known
                    included = (
                        Config(unit, include.path, context, all_branches, include, self.stack)
                        if known and include.path is not None
                        else None
                    )
                    self.includes.append((include, included))
        self._value: Value | None = None
        self._local_values: dict[str, Value] = {}
        self._dependencies: Value | None = None

    def _include(self, block: Block, evaluator: TerragruntEvaluator) -> Include:
        name = block.labels[0] if block.labels else ""
        path: str | None = None
        written = block.attributes.get("path")
        if written is not None:
            value = evaluator.evaluate(written.value)
            if isinstance(value, Known) and isinstance(value.value, str) and value.value:
                path = os.path.normpath(os.path.join(os.path.dirname(self.context), value.value))
        expose = block.attributes.get("expose")
        exposed = expose is not None and truth(evaluator.evaluate(expose.value)) is True
        strategy = "shallow"
        written_strategy = block.attributes.get("merge_strategy")
        if written_strategy is not None:
            value = evaluator.evaluate(written_strategy.value)
            strategy = str(value.value) if isinstance(value, Known) and value.value in MERGE_STRATEGIES else "?"
        return Include(name, path, exposed, strategy)

    # ---- what the file declares ---------------------------------------------------------

    def local(self, name: str) -> Value:
        if name not in self._local_values:
            self._local_values[name] = self.evaluator.local_value(name)
        return self._local_values[name]

    def own(self, name: str) -> Value | None:
        attribute = self.attributes.get(name)
        return None if attribute is None else self.evaluator.evaluate(attribute.value)

    def inputs(self) -> Value | None:
        """The inputs merged with the included files' (None: no file sets any)."""
        merged = self.own("inputs")
        for include, included in reversed(self.includes):
            if included is None or include.strategy == "no_merge":
                continue
            if include.strategy == "?":
                return Unknown("inputs", self._location(), "an include's merge_strategy is not known statically")
            parent = included.inputs()
            if parent is not None:
                merged = parent if merged is None else merge_inputs(parent, merged, include.strategy == "deep")
        return merged

    def source(self) -> Value | None:
        """terraform { source }: this file's, else the last merged include's that sets one."""
        for block in reversed(self.blocks):
            if block.type == "terraform" and "source" in block.attributes:
                return self.evaluator.evaluate(block.attributes["source"].value)
        for include, included in reversed(self.includes):
            if included is not None and include.strategy != "no_merge":
                found = included.source()
                if found is not None:
                    return found
        return None

    def dependency_blocks(self) -> dict[str, tuple[Config, Block]]:
        """dependency blocks by name, the included files' first (merged by name: a later one wins)."""
        found: dict[str, tuple[Config, Block]] = {}
        for include, included in self.includes:
            if included is not None and include.strategy != "no_merge":
                found.update(included.dependency_blocks())
        for block in self.blocks:
            if block.type == "dependency" and len(block.labels) == 1:
                found[block.labels[0]] = (self, block)
        return found

    def dependencies(self) -> Value:
        if self._dependencies is None:
            items = tuple(
                (name, config.dependency(block)) for name, (config, block) in self.dependency_blocks().items()
            )
            self._dependencies = ObjectValue(items, self._location())
        return self._dependencies

    def dependency(self, block: Block) -> Value:
        name = block.labels[0]
        reason = f"dependency {name!r}'s outputs are read from its state when Terragrunt runs"
        outputs: Value = Unknown(f"dependency.{name}.outputs", block.location, reason, f"dependency.{name}")
        mocks = block.attributes.get("mock_outputs")
        if mocks is not None:
            outputs = one_of([outputs, self.evaluator.evaluate(mocks.value)])
        return ObjectValue((("outputs", outputs),), block.location)

    def exposed(self, location: Location) -> Value:
        """``include`` in this file: the exposed included files, by name (a bare include: itself)."""
        exposed = [(i, c) for i, c in self.includes if i.expose]
        if len(exposed) == 1 and exposed[0][0].name == "":
            included = exposed[0][1]
            return included.value() if included is not None else self._unknown_include(exposed[0][0], location)
        return ObjectValue(
            tuple(
                (i.name, c.value() if c is not None else self._unknown_include(i, location))
                for i, c in exposed
                if i.name
            ),
            location,
        )

    @staticmethod
    def _unknown_include(include: Include, location: Location) -> Unknown:
        return Unknown(f"include.{include.name}", location, "the included file cannot be read statically")

    def value(self) -> Value:
        """The file as read_terragrunt_config returns it, and as include.NAME exposes it."""
        if self._value is None:
            if self.document is None:
                self._value = Unknown(self.path, self._location(), "the file cannot be read")
                return self._value
            location = self._location()
            items: list[tuple[str, Value]] = [
                ("locals", ObjectValue(tuple((name, self.local(name)) for name in self.locals), location))
            ]
            inputs = self.inputs()
            if inputs is not None:
                items.append(("inputs", inputs))
            source = self.source()
            if source is not None:
                items.append(("terraform", ObjectValue((("source", source),), location)))
            items.append(("dependency", self.dependencies()))
            items.extend(
                (name, self.evaluator.evaluate(a.value)) for name, a in self.attributes.items() if name != "inputs"
            )
            self._value = ObjectValue(tuple(items), location)
        return self._value

    def _location(self) -> Location:
        return Location.point(self.document.path if self.document is not None else self.path, 1)

    def selected_include(self, call: Call, args: list[Value]) -> Include | Unknown | None:
        """The include path_relative_to_include and its kin speak of: the one this file is included
        through, or the unit's named one (the only one when there is one)."""
        if self.included_by is not None:
            return self.included_by
        includes = [include for include, _ in self.includes]
        if args:
            name = args[0]
            if not isinstance(name, Known) or not isinstance(name.value, str):
                return unknown(call, "the include's name is not known statically")
            return next((i for i in includes if i.name == name.value), None)
        if len(includes) > 1:
            return failed(call, f"{call.name}() needs the include's name when there are several")
        return includes[0] if includes else None


class TerragruntEvaluator(Evaluator):
    """Terraform's expressions and functions, Terragrunt's functions, and the names Terragrunt
    defines: ``local``, ``include``, ``dependency``."""

    def __init__(self, config: Config, all_branches: bool, includes: bool = True) -> None:
        module = ModuleValues(
            os.path.dirname(config.path), locals=config.locals, allowed_root=config.unit.boundary, root="."
        )
        super().__init__(module, all_branches, TERRAGRUNT_FUNCTIONS)
        self.config = config
        self.includes = includes

    def local_value(self, name: str) -> Value:
        """A local as the file defines it (not as seen from a use site)."""
        attribute = self.config.locals[name]
        key = f"local.{name}"
        if key in self._active:
            return Unknown(key, attribute.location, f"{key} refers to itself")
        if key not in self._memo:
            self._memo[key] = self._computed(key, lambda: with_origin(self._eval(attribute.value, {}), key))
        return self._memo[key]

    def _reference(self, expr: Reference, env: Mapping[str, Value]) -> Value:
        head = expr.parts[0]
        if head not in env:
            if head == "include":
                if not self.includes:
                    return Unknown(expr.text, expr.location, "an include's path cannot use what includes expose")
                value = via(self.config.exposed(expr.location), expr.location)
                return self.traverse(value, expr.parts[1:], expr)
            if head == "dependency":
                return _at_use(self.traverse(self.config.dependencies(), expr.parts[1:], expr), expr)
            if head in ("var", "path", "module", "data", "feature", "values"):
                return Unknown(expr.text, expr.location, f"{head}.* is not evaluated in a Terragrunt file")
        return super()._reference(expr, env)


def _at_use(value: Value, use: Reference) -> Value:
    """A dependency's output is unknown where it is used (the inputs line), not at its block."""
    if isinstance(value, Unknown):
        return Unknown(use.text, use.location, value.reason, value.refers_to, value.error)
    if isinstance(value, OneOf):
        return one_of([_at_use(option, use) for option in value.options])
    return value


# ---- merging inputs -------------------------------------------------------------------------


def merge_inputs(parent: Value, child: Value, deep: bool) -> Value:
    """Terragrunt's merge of an included file's inputs (``parent``) with the including file's."""
    if len(options(parent)) * len(options(child)) > MAX_OPTIONS:
        return Unknown("inputs", _location_of(child), "too many alternatives")
    return one_of([_merge_one(p, c, deep) for p in options(parent) for c in options(child)])


def _merge_one(parent: Value, child: Value, deep: bool) -> Value:
    if isinstance(child, Unknown):
        return child  # it may set or replace any input
    if isinstance(parent, Unknown):
        return Unknown(parent.expression, parent.location, parent.reason, parent.refers_to)
    if not isinstance(parent, ObjectValue) or not isinstance(child, ObjectValue):
        return child
    merged = dict(parent.items)
    for key, value in child.items:
        merged[key] = _deep_merge(merged[key], value) if deep and key in merged else value
    return ObjectValue(tuple(merged.items()), child.location)


def _deep_merge(parent: Value, child: Value) -> Value:
    """Maps merged key by key, lists concatenated (the parent's first), anything else the child's."""
    if isinstance(parent, OneOf) or isinstance(child, OneOf):
        if len(options(parent)) * len(options(child)) > MAX_OPTIONS:
            return Unknown("inputs", _location_of(child), "too many alternatives")
        return one_of([_deep_merge(p, c) for p in options(parent) for c in options(child)])
    if isinstance(parent, ObjectValue) and isinstance(child, ObjectValue):
        return _merge_one(parent, child, deep=True)
    if isinstance(parent, ListValue) and isinstance(child, ListValue):
        return ListValue((*parent.items, *child.items), child.location)
    return child


def _location_of(value: Value) -> Location:
    first = next((o for o in options(value) if isinstance(o, (Known, ListValue, ObjectValue, Unknown))), None)
    return first.location if first is not None else Location.point("", 1)


# ---- Terragrunt's functions -----------------------------------------------------------------


def _config(evaluator: Evaluator) -> Config | None:
    return evaluator.config if isinstance(evaluator, TerragruntEvaluator) else None


def _text(value: Value) -> str | None:
    if isinstance(value, Known) and isinstance(value.value, str):
        return value.value
    return None


TerragruntFunction = Callable[[Config, Call, list[Value]], Value]
Function = Callable[[Evaluator, Call, list[Value]], Value]


def _with_config(low: int, high: int) -> Callable[[TerragruntFunction], Function]:
    """A Terragrunt function: only in a Terragrunt file, with ``low`` to ``high`` arguments."""

    def wrap(function: TerragruntFunction) -> Function:
        @per_option
        def apply(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
            config = _config(evaluator)
            if config is None:
                return unknown(call, f"{call.name}() is evaluated only in a Terragrunt file")
            if not low <= len(args) <= high:
                return failed(call, f"{call.name}() takes {low} to {high} arguments, not {len(args)}")
            for arg in args:
                if isinstance(arg, Unknown):
                    return arg
            return function(config, call, args)

        return apply

    return wrap


def _string_arguments(call: Call, args: list[Value]) -> list[str] | Unknown:
    texts = [_text(arg) for arg in args]
    if any(text is None for text in texts):
        return failed(call, f"{call.name}() takes strings")
    return [text for text in texts if text is not None]


@_with_config(0, 2)
def _find_in_parent_folders(config: Config, call: Call, args: list[Value]) -> Value:
    name = _text(args[0]) if args else UNIT_FILE
    if not name:
        return failed(call, "find_in_parent_folders() takes a file name")
    directory = os.path.dirname(config.context)
    while True:
        parent = os.path.dirname(directory)
        if parent == directory or not config.unit.inside(parent):
            break
        candidate = os.path.normpath(os.path.join(parent, name))
        if config.unit.files.exists(candidate):
            return computed(call, candidate)
        directory = parent
    if len(args) == 2:
        return args[1]  # the fallback
    return failed(call, f"no {name} in the folders above {os.path.dirname(config.context)} (within the repository)")


@_with_config(1, 2)
def _read_terragrunt_config(config: Config, call: Call, args: list[Value]) -> Value:
    written = _text(args[0])
    if written is None:
        return failed(call, "read_terragrunt_config() takes a path")
    target = os.path.normpath(os.path.join(os.path.dirname(config.context), written))
    files = config.unit.files
    if not files.exists(target) and files.exists(os.path.join(target, UNIT_FILE)):
        target = os.path.join(target, UNIT_FILE)  # a directory: its terragrunt.hcl
    if not config.unit.inside(target) or not files.exists(target):
        if len(args) == 2:
            return args[1]  # the default
        return failed(call, f"no file {written} (within the repository)")
    if target in config.stack:
        return unknown(call, f"{written} reads itself through read_terragrunt_config")
    if len(config.stack) > MAX_READ_DEPTH:  # a fixed limit, the same however deep the caller's stack is
        return unknown(call, f"read_terragrunt_config nested more than {MAX_READ_DEPTH} files deep")
    key = (target, config.all_branches)
    if key not in config.unit.read:
        config.unit.read[key] = Config(config.unit, target, target, config.all_branches, stack=config.stack)
    return config.unit.read[key].value()


@_with_config(0, 0)
def _get_terragrunt_dir(config: Config, call: Call, args: list[Value]) -> Value:
    return computed(call, os.path.dirname(config.context))


@_with_config(0, 0)
def _get_original_terragrunt_dir(config: Config, call: Call, args: list[Value]) -> Value:
    return computed(call, os.path.dirname(config.unit.path))


def _include_relative(from_include: bool) -> Function:
    @_with_config(0, 1)
    def relative(config: Config, call: Call, args: list[Value]) -> Value:
        include = config.selected_include(call, args)
        if isinstance(include, Unknown):
            return include
        if include is None:
            return computed(call, ".")
        if include.path is None:
            return unknown(call, "the included file's path is not known statically")
        here, there = os.path.dirname(config.context), os.path.dirname(include.path)
        return computed(call, os.path.relpath(there, here) if from_include else os.path.relpath(here, there))

    return relative


@_with_config(0, 1)
def _get_parent_terragrunt_dir(config: Config, call: Call, args: list[Value]) -> Value:
    include = config.selected_include(call, args)
    if isinstance(include, Unknown):
        return include
    if include is None:
        return computed(call, os.path.dirname(config.context))
    if include.path is None:
        return unknown(call, "the included file's path is not known statically")
    return computed(call, os.path.dirname(include.path))


@_with_config(1, 2)
def _get_env(config: Config, call: Call, args: list[Value]) -> Value:
    names = _string_arguments(call, args[:1])
    if isinstance(names, Unknown):
        return names
    if len(args) == 2:
        return args[1]  # the default: the environment of a lint is not the one that deploys
    return unknown(call, f"the environment variable {names[0]} is read when Terragrunt runs")


@_with_config(0, 0)
def _get_repo_root(config: Config, call: Call, args: list[Value]) -> Value:
    return computed(call, config.unit.boundary)


@_with_config(0, 0)
def _get_path_from_repo_root(config: Config, call: Call, args: list[Value]) -> Value:
    return computed(call, os.path.relpath(os.path.dirname(config.unit.path), config.unit.boundary))


@_with_config(0, 0)
def _get_path_to_repo_root(config: Config, call: Call, args: list[Value]) -> Value:
    return computed(call, os.path.relpath(config.unit.boundary, os.path.dirname(config.unit.path)))


def _path_function(compute: Callable[[str], str]) -> Function:
    """Terraform's dirname() and basename(), which Terragrunt files use on the paths above."""

    @per_option
    def apply(evaluator: Evaluator, call: Call, args: list[Value]) -> Value:
        if len(args) != 1:
            return failed(call, f"{call.name}() takes 1 argument")
        if isinstance(args[0], Unknown):
            return args[0]
        text = _text(args[0])
        return computed(call, compute(text)) if text is not None else failed(call, f"{call.name}() takes a path")

    return apply


TERRAGRUNT_FUNCTIONS: dict[str, Function] = {
    **FUNCTIONS,
    "find_in_parent_folders": _find_in_parent_folders,
    "read_terragrunt_config": _read_terragrunt_config,
    "get_terragrunt_dir": _get_terragrunt_dir,
    "get_original_terragrunt_dir": _get_original_terragrunt_dir,
    "get_parent_terragrunt_dir": _get_parent_terragrunt_dir,
    "path_relative_to_include": _include_relative(from_include=False),
    "path_relative_from_include": _include_relative(from_include=True),
    "get_env": _get_env,
    "get_repo_root": _get_repo_root,
    "get_path_from_repo_root": _get_path_from_repo_root,
    "get_path_to_repo_root": _get_path_to_repo_root,
    "dirname": _path_function(lambda path: os.path.dirname(path) or "."),
    "basename": _path_function(os.path.basename),
}


# ---- a unit ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitValues:
    """What a unit passes to the module it applies."""

    source: Known | Unknown | None  # terraform { source } as decided; None: the unit's own directory
    inputs: Value | None  # every value it may pass (every branch); None: no inputs
    decided: Value | None  # the values decided by the conditions


def evaluate_unit(path: str, boundary: str, files: Files) -> UnitValues:
    """A unit's source and inputs; ``path`` is its terragrunt.hcl (absolute)."""
    unit = Unit(path, boundary, files)
    may = Config(unit, path, path, all_branches=True)
    must = Config(unit, path, path, all_branches=False)
    source = must.source()
    if source is not None and not (isinstance(source, Known) and isinstance(source.value, str)):
        where = _location_of(source)
        reason = source.reason if isinstance(source, Unknown) else "the source is not one string"
        source = Unknown("terraform.source", where, reason)
    assert source is None or isinstance(source, (Known, Unknown))
    return UnitValues(source, may.inputs(), must.inputs())
