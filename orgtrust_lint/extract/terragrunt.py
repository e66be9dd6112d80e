"""A Terragrunt unit -> facts: its module evaluated with the unit's inputs as the module's variables.

The unit is the caller: Terragrunt passes each input as a TF_VAR_ variable of the module it applies,
so the inputs bind the module's variables as a module block's arguments do (every branch for the
checks of a literal, the decided values for what must exist), and a literal written in ``inputs``
(in terragrunt.hcl or a file it includes) is reported where it is written. The module's own
terraform.tfvars and *.auto.tfvars still win over an input, as they win over TF_VAR_ variables.
When the module's code is not read (a registry or git source, or one that cannot be known), the
inputs named like principals are checked as a remote module's arguments are.
"""

from __future__ import annotations

import os

from orgtrust_lint.evaluate.terragrunt import evaluate_unit
from orgtrust_lint.evaluate.values import ObjectValue, OneOf, Unknown, Value, one_of, options
from orgtrust_lint.extract.terraform import Binding, ModuleExtractor, ModuleScope, _Run, record_module_arguments
from orgtrust_lint.facts import Facts, Location
from orgtrust_lint.parse.hcl_ast import HclDocument
from orgtrust_lint.parse.terraform import ParseFailure
from orgtrust_lint.parse.terragrunt import ParsedFiles, TerragruntUnit


def inputs_by_name(inputs: Value | None, unit: TerragruntUnit) -> dict[str, Value] | Unknown:
    """The inputs as variable values; Unknown when not even their names are known."""
    if inputs is None:
        return {}
    objects = [o for o in options(inputs) if isinstance(o, ObjectValue)]
    unknown = [o for o in options(inputs) if not isinstance(o, ObjectValue)]
    if not objects:
        first = unknown[0]
        if isinstance(first, Unknown):
            return Unknown("inputs", first.location, first.reason, first.refers_to)
        return Unknown("inputs", Location.point(unit.path, 1), "the inputs are not an object")
    if not isinstance(inputs, OneOf):
        assert isinstance(inputs, ObjectValue)
        return dict(inputs.items)
    # One of several objects: each input is one of the values the options give it (an option that is
    # not known may give it any value).
    names = dict.fromkeys(name for o in objects for name, _ in o.items)
    by_name: dict[str, Value] = {}
    for name in names:
        values: list[Value] = [v for o in objects for n, v in o.items if n == name]
        by_name[name] = one_of([*values, *unknown])
    return by_name


def extract_unit(
    unit: TerragruntUnit,
    scopes: dict[str, ModuleScope],
    parsed: dict[str, HclDocument | ParseFailure],
    facts: Facts,
) -> None:
    """Facts of the configuration a unit is: its module with its inputs, or the inputs alone."""
    values = evaluate_unit(os.path.abspath(unit.path), unit.boundary, ParsedFiles(unit, parsed))
    may = inputs_by_name(values.inputs, unit)
    must = inputs_by_name(values.decided, unit)
    scope = scopes.get(unit.module) if unit.module is not None else None
    if scope is None:
        if not isinstance(may, Unknown):
            record_module_arguments(facts, set(), may, "inputs", unit.path)
        return
    # Terragrunt passes inputs as TF_VAR_ variables: the module's auto-loaded tfvars files win over them.
    bound_may = _bound(may, scope)
    bound_must = _bound(must, scope)
    binding = Binding("", bound_may, bound_must, tfvars=True)
    run = _Run(facts, scopes, unit.path, root=scope.directory)
    ModuleExtractor(scope, run, binding).extract()


def _bound(inputs: dict[str, Value] | Unknown, scope: ModuleScope) -> dict[str, Value]:
    if isinstance(inputs, Unknown):
        # Any variable may be set: none takes its default for sure.
        return {name: inputs for name in scope.variables if name not in scope.tfvars}
    return {name: value for name, value in inputs.items() if name not in scope.tfvars}
