"""Terragrunt units (issue 17, item 4): a unit's inputs bound to the module it applies, with the files
it includes, the way Terragrunt merges them, and the functions units use for it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from orgtrust_lint.cli import run

REPO = Path(__file__).resolve().parent.parent
FIXTURE = REPO / "fixtures" / "terragrunt"

PROD = "live/prod/organization/terragrunt.hcl"
STAGING = "live/staging/organization/terragrunt.hcl"
MODULE = "modules/organization/main.tf"
AGGREGATOR_LINE = 20  # the aggregator in the module: it relies on config.amazonaws.com

ORGANIZATION_MODULE = """variable "principals" {
  type    = list(string)
  default = []
}

resource "aws_organizations_organization" "this" {
  feature_set                   = "ALL"
  aws_service_access_principals = var.principals
}
"""
AGGREGATOR = """
resource "aws_config_configuration_aggregator" "organization" {
  name = "organization"
  organization_aggregation_source {
    all_regions = true
    role_arn    = "arn:aws:iam::111111111111:role/config-aggregator"
  }
}
"""


@pytest.fixture
def repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The Terragrunt fixture as a repository of its own, run from its top."""
    root = tmp_path / "repo"
    shutil.copytree(FIXTURE, root)
    (root / ".git").mkdir()
    monkeypatch.chdir(root)
    return root


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.fixture
def layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty repository with the organization module, run from its top."""
    (tmp_path / ".git").mkdir()
    _write(tmp_path, {"modules/org/main.tf": ORGANIZATION_MODULE})
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _report(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    run(["check", "--format", "json", *argv])
    return json.loads(capsys.readouterr().out)


def _findings(capsys: pytest.CaptureFixture[str], *paths: str, cache: bool = False) -> set[tuple[str, int, str]]:
    report = _report(capsys, *([] if cache else ["--no-cache"]), *paths)
    return {(f["path"], f["line"], f["rule"]) for f in report["findings"]}


def _unit(source: str = "../../modules//org", inputs: str = "", extra: str = "") -> str:
    return f'{extra}terraform {{\n  source = "{source}"\n}}\n\ninputs = {{\n{inputs}}}\n'


# ---- the fixture -----------------------------------------------------------------------------


def test_a_typo_in_a_units_inputs_is_reported_at_its_line_in_terragrunt_hcl(
    repository: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _findings(capsys) == {
        (PROD, 16, "OT101"),
        ("live/prod/guardduty/terragrunt.hcl", 13, "OT101"),  # a registry module: a near miss only
    }


def test_the_inputs_not_the_modules_defaults_decide_what_is_enabled(
    repository: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With its own default (no principals) the module's aggregator relies on Config, which nothing
    enables; both units pass a list with config.amazonaws.com, so nothing fires there."""
    assert (MODULE, AGGREGATOR_LINE, "OT301") not in _findings(capsys)
    shutil.rmtree(repository / "live")
    assert _findings(capsys) == {(MODULE, AGGREGATOR_LINE, "OT301")}


def test_merge_strategy_decides_how_an_includes_inputs_combine(
    repository: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Deep: env.hcl's list and the unit's are concatenated (Config enabled). Shallow: the unit's list
    replaces it (only ram.amazonaws.com). no_merge: env.hcl's inputs are not used at all."""
    unit = repository / STAGING
    deep = unit.read_text()
    for strategy in ("shallow", "no_merge"):
        unit.write_text(deep.replace('merge_strategy = "deep"', f'merge_strategy = "{strategy}"'))
        assert (MODULE, AGGREGATOR_LINE, "OT301") in _findings(capsys), strategy
    unit.write_text(deep.replace('  principals = ["ram.amazonaws.com"]\n', ""))
    unit.write_text(unit.read_text().replace('merge_strategy = "deep"', 'merge_strategy = "shallow"'))
    # Shallow, and the unit sets no principals: env.hcl's are used.
    assert (MODULE, AGGREGATOR_LINE, "OT301") not in _findings(capsys)


def test_check_of_a_unit_alone_reads_its_module_and_includes(
    repository: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The pre-commit form: a terragrunt.hcl passed alone is evaluated with root.hcl and its module."""
    assert _findings(capsys, PROD) == {(PROD, 16, "OT101")}
    assert _findings(capsys, STAGING) == set()


def test_check_of_a_module_finds_the_units_that_apply_it(repository: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`check modules/organization/main.tf` reports for it what a run from the top does: the units'
    inputs are its values, so no OT301 from the defaults."""
    everything = _findings(capsys)
    alone = _findings(capsys, MODULE)
    assert {f for f in alone if f[0] == MODULE} == {f for f in everything if f[0] == MODULE}
    assert (MODULE, AGGREGATOR_LINE, "OT301") not in alone


def test_check_of_an_included_file_alone_reports_what_units_make_of_it(
    repository: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """root.hcl passed alone (pre-commit, after editing it): the units including it are evaluated, and
    a typo in it is reported where it is written."""
    root = repository / "root.hcl"
    root.write_text(root.read_text().replace('"config.amazonaws.com"]', '"config.amazonaws.com", "ram.amazonaws.co"]'))
    assert _findings(capsys, "root.hcl") == {("root.hcl", 4, "OT101")}
    assert ("root.hcl", 4, "OT101") in _findings(capsys)


def test_a_terragrunt_file_no_unit_reads_is_still_checked_for_syntax(
    layout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(layout, {"common.hcl": "locals {\n  x = [\n}\n"})
    report = _report(capsys, "--no-cache", "common.hcl")
    assert [(f["path"], f["rule"]) for f in report["findings"]] == [("common.hcl", "OT001")]
    assert report["summary"]["files"] == 1


# ---- what a unit reads -----------------------------------------------------------------------


def test_read_terragrunt_config_and_find_in_parent_folders(layout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write(
        layout,
        {
            "live/account.hcl": 'locals {\n  principals = ["sso.amazonaws.com", "guarduty.amazonaws.com"]\n}\n',
            "live/org/terragrunt.hcl": _unit(
                inputs="  principals = local.account.locals.principals\n",
                extra='locals {\n  account = read_terragrunt_config(find_in_parent_folders("account.hcl"))\n}\n\n',
            ),
        },
    )
    assert _findings(capsys) == {("live/account.hcl", 2, "OT101")}


def test_a_bare_include_with_expose_and_path_relative_to_include(
    layout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """find_in_parent_folders() finds the legacy root terragrunt.hcl; include.locals is its locals,
    evaluated in the unit's context: path_relative_to_include() is the unit's path from the root."""
    _write(
        layout,
        {
            "terragrunt.hcl": (
                'locals {\n  environment = split("/", path_relative_to_include())[1]\n'
                '  principals = {\n    prod = ["sso.amazonaws.com"]\n    dev  = ["config.amazonaws.co"]\n  }\n}\n'
            ),
            "live/dev/org/terragrunt.hcl": _unit(
                "../../../modules//org",
                "  principals = include.locals.principals[include.locals.environment]\n",
                "include {\n  path   = find_in_parent_folders()\n  expose = true\n}\n\n",
            ),
        },
    )
    found = _findings(capsys, "live")
    assert found == {("terragrunt.hcl", 5, "OT101")}


def test_get_env_takes_its_default_and_is_unknown_without_one(layout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write(
        layout,
        {
            "live/a/terragrunt.hcl": _unit(inputs='  principals = [get_env("EXTRA", "guarduty.amazonaws.com")]\n'),
            "live/b/terragrunt.hcl": _unit(inputs='  principals = [get_env("EXTRA")]\n'),
        },
    )
    assert _findings(capsys) == {("live/a/terragrunt.hcl", 6, "OT101"), ("live/b/terragrunt.hcl", 6, "OT002")}


def test_dependency_outputs_may_be_their_mocks(layout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without mock_outputs an output is unknown (OT002); with them it may be the mock, which is checked
    too; either way nothing relies on a default the inputs replace."""
    dependency = (
        'dependency "shared" {\n  config_path = "../shared"\n'
        '  mock_outputs = {\n    principal = "guarduty.amazonaws.com"\n  }\n}\n\n'
    )
    _write(
        layout,
        {
            "live/a/terragrunt.hcl": _unit(
                inputs="  principals = [dependency.shared.outputs.principal]\n", extra=dependency
            ),
            "live/b/terragrunt.hcl": _unit(
                inputs="  principals = [dependency.shared.outputs.principal]\n",
                extra='dependency "shared" {\n  config_path = "../shared"\n}\n\n',
            ),
        },
    )
    assert _findings(capsys) == {
        ("live/a/terragrunt.hcl", 4, "OT101"),  # the mock
        ("live/a/terragrunt.hcl", 13, "OT002"),  # the output itself, where the unit uses it
        ("live/b/terragrunt.hcl", 10, "OT002"),
    }


def test_the_modules_own_tfvars_win_over_inputs(layout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Terragrunt passes inputs as TF_VAR_ variables, and terraform.tfvars wins over those."""
    _write(
        layout,
        {
            "live/org/terragrunt.hcl": _unit(inputs='  principals = ["guarduty.amazonaws.com"]\n'),
            "modules/org/terraform.tfvars": 'principals = ["sso.amazonaws.com", "config.amazonaws.com"]\n',
        },
    )
    assert _findings(capsys) == set()


def test_a_unit_without_a_source_applies_its_own_directory(layout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write(
        layout,
        {
            "live/org/main.tf": ORGANIZATION_MODULE + AGGREGATOR,
            "live/org/terragrunt.hcl": (
                'inputs = {\n  principals = ["config.amazonaws.com", "guarduty.amazonaws.com"]\n}\n'
            ),
        },
    )
    # The inputs enable Config: no OT301 from the default, and the typo is where the unit writes it.
    assert _findings(capsys) == {("live/org/terragrunt.hcl", 2, "OT101")}


def test_inputs_that_cannot_be_known_leave_the_modules_variables_unknown(
    layout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """inputs = an output of another unit: any variable may be set, none is its default for sure."""
    _write(
        layout,
        {
            "live/org/terragrunt.hcl": 'dependency "x" {\n  config_path = "../x"\n}\n\n'
            'terraform {\n  source = "../../modules//org"\n}\n\ninputs = dependency.x.outputs\n'
        },
    )
    assert _findings(capsys) == {("live/org/terragrunt.hcl", 9, "OT002")}


def test_the_terragrunt_cache_and_lock_files_are_not_read(layout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write(
        layout,
        {
            "live/org/terragrunt.hcl": _unit(inputs='  principals = ["config.amazonaws.com"]\n'),
            "live/org/.terraform.lock.hcl": 'provider "registry.terraform.io/hashicorp/aws" {}\n',
            "live/org/.terragrunt-cache/abc/def/terragrunt.hcl": _unit(
                inputs='  principals = ["guarduty.amazonaws.com"]\n'
            ),
        },
    )
    report = _report(capsys, "--no-cache")
    assert report["findings"] == []
    assert report["summary"]["files"] == 2  # the unit and the module


# ---- cache, fix, stdin -----------------------------------------------------------------------


def test_the_cache_sees_a_changed_included_file_and_a_new_one_found_first(
    layout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(
        layout,
        {
            "root.hcl": 'locals {\n  principals = ["config.amazonaws.com"]\n}\n',
            "live/org/terragrunt.hcl": _unit(
                inputs="  principals = include.root.locals.principals\n",
                extra='include "root" {\n  path   = find_in_parent_folders("root.hcl")\n  expose = true\n}\n\n',
            ),
        },
    )
    assert _findings(capsys, cache=True) == set()
    (layout / "root.hcl").write_text('locals {\n  principals = ["guarduty.amazonaws.com"]\n}\n')
    assert ("root.hcl", 2, "OT101") in _findings(capsys, cache=True)
    # A root.hcl nearer the unit is the one find_in_parent_folders finds now.
    _write(layout, {"live/root.hcl": 'locals {\n  principals = ["config.amazonaws.co"]\n}\n'})
    assert _findings(capsys, cache=True) == {("live/root.hcl", 2, "OT101")}


def test_fix_rewrites_a_typo_in_terragrunt_hcl(layout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write(
        layout,
        {
            "live/org/terragrunt.hcl": _unit(
                inputs='  principals = ["config.amazonaws.com", "guarduty.amazonaws.com"]\n'
            )
        },
    )
    run(["check", "--no-cache", "--fix"])
    capsys.readouterr()
    assert '"guardduty.amazonaws.com"' in (layout / "live/org/terragrunt.hcl").read_text()


def test_a_unit_read_from_stdin(
    layout: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    _write(layout, {"live/org/terragrunt.hcl": _unit(inputs='  principals = ["config.amazonaws.com"]\n')})
    text = _unit(inputs='  principals = ["config.amazonaws.com", "guarduty.amazonaws.com"]\n')
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    report = _report(capsys, "--no-cache", "-", "--stdin-filename", "live/org/terragrunt.hcl")
    assert [(f["path"], f["line"], f["rule"]) for f in report["findings"]] == [("live/org/terragrunt.hcl", 6, "OT101")]


def test_many_units_are_planned_in_workers_with_the_same_result(
    layout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Past parallel.MIN_PARALLEL_ITEMS units, planning runs in worker processes: nothing changes."""
    files = {"root.hcl": 'locals {\n  principals = ["sso.amazonaws.com", "guarduty.amazonaws.com"]\n}\n'}
    include = 'include "root" {\n  path   = find_in_parent_folders("root.hcl")\n  expose = true\n}\n\n'
    for index in range(18):
        files[f"live/u{index}/terragrunt.hcl"] = _unit(
            "../../modules//org",
            f'  principals = concat(include.root.locals.principals, ["x{index}.amazonaws.co"])\n',
            include,
        )
    _write(layout, files)
    serial = _findings(capsys, "--jobs", "1")
    assert _findings(capsys, "--jobs", "2") == serial
    assert ("root.hcl", 2, "OT101") in serial and len(serial) == 19


# ---- --base ----------------------------------------------------------------------------------


def _git(repo: Path, *args: str) -> None:
    import subprocess

    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def test_base_reads_units_as_the_work_tree_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The module's default is one principal, the unit passes another: with no change, --base finds
    nothing removed (the base side also binds the inputs); removing an input principal is OT302."""
    _git(tmp_path, "init", "-q", "-b", "main")
    module = ORGANIZATION_MODULE.replace("default = []", 'default = ["sso.amazonaws.com"]')
    unit = _unit(inputs='  principals = ["config.amazonaws.com", "guardduty.amazonaws.com"]\n')
    _write(tmp_path, {"modules/org/main.tf": module + AGGREGATOR, "live/org/terragrunt.hcl": unit})
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-q", "-m", "base")
    monkeypatch.chdir(tmp_path)
    assert _findings(capsys, "--base", "HEAD") == set()
    _write(tmp_path, {"live/org/terragrunt.hcl": unit.replace('"config.amazonaws.com", ', "")})
    found = _findings(capsys, "--base", "HEAD")
    assert ("modules/org/main.tf", 8, "OT302") in found  # at the list the apply enforces


def test_files_reading_each_other_end_in_an_unknown_value_not_an_error(
    layout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file that reads itself, and a chain deeper than MAX_READ_DEPTH: OT002 where it is used."""
    files = {f"c{i}.hcl": f'locals {{\n  p = read_terragrunt_config("c{i + 1}.hcl").locals.p\n}}\n' for i in range(40)}
    files["self.hcl"] = 'locals {\n  p = read_terragrunt_config("self.hcl").locals.p\n}\n'
    for name in ("c0", "self"):
        files[f"live/{name}/terragrunt.hcl"] = _unit(
            inputs=f'  principals = read_terragrunt_config("../../{name}.hcl").locals.p\n'
        )
    _write(layout, files)
    report = _report(capsys, "--no-cache")
    assert {f["rule"] for f in report["findings"]} == {"OT002"}
    assert any("nested more than 16 files deep" in f["message"] for f in report["findings"])
    assert any("reads itself" in f["message"] for f in report["findings"])
