"""Defects from the code review (issue 15): each test is named after the review's id (cr_dN)."""

from __future__ import annotations

import ast
import dataclasses
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from orgtrust_lint.cli import run
from orgtrust_lint.facts import Facts
from orgtrust_lint.files import MAX_FILE_BYTES

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "orgtrust_lint"

ORG_WITH_CONFIG_AGGREGATOR = """resource "aws_organizations_organization" "org" {
  aws_service_access_principals = ["config.amazonaws.com"]
}

resource "aws_config_configuration_aggregator" "organization" {
  name = "organization"
  organization_aggregation_source {
    all_regions = true
    role_arn    = "arn:aws:iam::111111111111:role/config-aggregator"
  }
}
"""


# What a run checked (tests/test_cli.py covers the coverage figures) is not what these tests are about.
_COVERAGE = re.compile(
    r"; checked \d+ principals? and \d+ statements?(?:; \d+ values? could not be resolved \(OT002\))?"
)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = run(list(argv))
    out, err = capsys.readouterr()
    return code, _COVERAGE.sub("", out), err


def _rules(out: str) -> list[str]:
    return [line.split(": ")[1].split(" ")[0] for line in out.splitlines() if ": OT" in line]


@pytest.mark.parametrize("directory", ["envs/prod", "envs/prod@eu"])
def test_cr_d2_at_sign_in_a_directory_is_not_a_tfvars_variant(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, directory: str
) -> None:
    module = tmp_path / directory
    module.mkdir(parents=True)
    (module / "main.tf").write_text(ORG_WITH_CONFIG_AGGREGATOR)
    monkeypatch.chdir(tmp_path)
    code, out, _ = _run(capsys, "check", "--no-cache", "--ignore", "OT105", directory)
    assert (code, out) == (0, "All checks passed (1 file).\n")


def test_cr_d2_at_sign_in_a_plan_path_is_not_a_tfvars_variant(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "plans@eu").mkdir()
    shutil.copy(REPO / "fixtures/plans/add-config.json", tmp_path / "plans@eu/plan.json")
    monkeypatch.chdir(tmp_path)
    code, out, _ = _run(capsys, "check", "--no-cache", "--ignore", "OT105", "--plan", "plans@eu/plan.json")
    assert (code, out) == (0, "All checks passed (1 file).\n")


def test_cr_d2_alternative_tfvars_still_do_not_enable_a_principal(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """production.tfvars is only applied with -var-file: what it adds is not what a plain apply enables."""
    module = tmp_path / "org@main"
    module.mkdir()
    (module / "main.tf").write_text(
        'variable "principals" {\n  default = ["sso.amazonaws.com"]\n}\n'
        + ORG_WITH_CONFIG_AGGREGATOR.replace('["config.amazonaws.com"]', "var.principals")
    )
    (module / "production.tfvars").write_text('principals = ["sso.amazonaws.com", "config.amazonaws.com"]\n')
    monkeypatch.chdir(tmp_path)
    code, out, _ = _run(capsys, "check", "--no-cache", "--ignore", "OT105", "org@main")
    assert code == 1
    assert _rules(out) == ["OT301"]


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args], cwd=repo, check=True)


@pytest.fixture
def base_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository whose first commit enables config.amazonaws.com; the work tree enables nothing."""
    _git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "org.tf").write_text(ORG_WITH_CONFIG_AGGREGATOR)
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-q", "-m", "base")
    (tmp_path / "org.tf").write_text(ORG_WITH_CONFIG_AGGREGATOR.replace('"config.amazonaws.com"', ""))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_cr_d14_base_revision_files_over_the_size_limit_are_skipped_not_read(
    capsys: pytest.CaptureFixture[str], base_repo: Path
) -> None:
    (base_repo / "big.tf").write_text("# generated\n" + "#" * MAX_FILE_BYTES)
    _git(base_repo, "add", "big.tf")
    _git(base_repo, "commit", "-q", "-m", "a generated file")
    (base_repo / "big.tf").write_text("# now small\n")
    code, _, err = _run(capsys, "check", "--no-cache", "--ignore", "OT105,OT301", "--base", "HEAD")
    assert err == "orgtrust-lint: skipped big.tf: 10 MB at HEAD, larger than the 10 MB limit, so it was not compared\n"
    # org.tf at HEAD was still compared (the removal is reported), but big.tf was not: incomplete.
    assert code == 3


def test_cr_d14_a_crash_on_a_base_revision_file_is_ot003_not_a_crashed_run(
    capsys: pytest.CaptureFixture[str], base_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug of ours while reading the base revision is OT003 and exit 3 (incomplete), as for the work tree."""
    import orgtrust_lint.lint as lint
    import orgtrust_lint.parse.terraform as terraform

    original = terraform.parse_terraform

    def buggy(path: str, data: bytes, *rest: object) -> object:
        if b'"config.amazonaws.com"' in data:  # the base revision's org.tf only
            raise RecursionError("maximum recursion depth exceeded")
        return original(path, data, *rest)

    monkeypatch.setattr(terraform, "parse_terraform", buggy)
    monkeypatch.setattr(lint, "parse_terraform", buggy)
    code, out, err = _run(capsys, "check", "--no-cache", "--jobs", "1", "--ignore", "OT105,OT301", "--base", "HEAD")
    assert (code, err) == (3, "")
    assert out.splitlines()[0] == (
        "org.tf:1:1: OT003 [error] orgtrust-lint failed while parsing the --base revision's copy of this file "
        "(RecursionError: maximum recursion depth exceeded); some checks did not run on it - please report this"
    )


def _module_names() -> dict[str, str]:
    # A package's __init__ is imported by the package's own name.
    return {
        ".".join(p.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__"): p.read_text()
        for p in PACKAGE.rglob("*.py")
    }


def _imported_names(text: str) -> set[tuple[str, str]]:
    """(module, name) pairs a file uses from other modules: `from m import name` and `m.name`."""
    tree = ast.parse(text)
    used: set[tuple[str, str]] = set()
    modules: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                used.add((node.module, alias.name))
                modules[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            modules.update((alias.asname or alias.name, alias.name) for alias in node.names)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules:
            used.add((modules[node.value.id], node.attr))
    return used


def _project_python_outside_the_package() -> list[Path]:
    """tests, scripts and bench, without what make bench generates and installs there (its corpora, and
    the peers' virtual environments: thousands of other projects' files)."""
    found = []
    for top in ("tests", "scripts", "bench"):
        for directory, subdirectories, files in os.walk(REPO / top):
            subdirectories[:] = [d for d in subdirectories if d not in ("venvs", "corpus", "real-corpus")]
            found.extend(Path(directory) / name for name in files if name.endswith(".py"))
    return found


def test_cr_d10_d11_no_module_level_name_is_dead() -> None:
    """A class, function or constant that nothing uses (the package, its rules, tests, scripts, bench)."""
    modules = _module_names()
    elsewhere = [p.read_text() for p in _project_python_outside_the_package()]
    users = [*modules.values(), *elsewhere]
    used = set().union(*(_imported_names(text) for text in users))
    declarative = "\n".join(p.read_text() for p in [*(REPO / "rules").glob("*.yaml"), REPO / "pyproject.toml"])
    dead = []
    for module, text in modules.items():
        for node in ast.parse(text).body:
            if isinstance(node, ast.FunctionDef | ast.ClassDef):
                names = [node.name]
            elif isinstance(node, ast.Assign):
                names = [target.id for target in node.targets if isinstance(target, ast.Name)]
            else:
                continue
            for name in names:
                if name.startswith("__"):  # __all__ and the like are read by Python itself
                    continue
                word = re.compile(rf"\b{re.escape(name)}\b")
                if len(word.findall(text)) > 1 or (module, name) in used or word.search(declarative):
                    continue
                dead.append((module, name))
    assert set(dead) == set()


def test_cr_d10_no_constant_is_defined_twice() -> None:
    """One definition per string constant (SERVICE_PRINCIPAL_KEY was in parse/policy.py and predicates.py)."""
    defined: dict[str, list[str]] = {}
    for module, text in _module_names().items():
        for node in ast.parse(text).body:
            if isinstance(node, ast.Assign) and isinstance(getattr(node.value, "value", None), str):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        defined.setdefault(node.value.value, []).append(f"{module}.{target.id}")  # type: ignore[attr-defined]
    assert {value: where for value, where in defined.items() if len(where) > 1} == {}


def test_cr_d12_facts_extend_copies_every_list() -> None:
    """Merging one file's facts into a run's keeps every kind, suppression problems included."""
    merged, part = Facts(), Facts()
    for item in dataclasses.fields(Facts):
        kind = getattr(part, item.name)
        if isinstance(kind, dict):  # files_read: path -> state
            kind[f"one {item.name}"] = "its state"
        else:
            kind.append(f"one {item.name}")
    merged.extend(part)
    assert merged == part


def test_cr_d7_the_cli_docstring_lists_every_exit_code() -> None:
    from orgtrust_lint import cli

    codes = {cli.EXIT_OK, cli.EXIT_FINDINGS, cli.EXIT_ERROR, cli.EXIT_INCOMPLETE}
    documented = {int(code) for code in re.findall(r"\b(\d) (?:nothing|findings|usage|the run)", cli.__doc__ or "")}
    assert documented == codes


def test_cr_d8_module_docstrings_refer_only_to_files_in_the_repository() -> None:
    for module, text in _module_names().items():
        docstring = ast.get_docstring(ast.parse(text)) or ""
        for name in re.findall(r"\b[\w/.-]+\.md\b", docstring):
            if "xxx" in name:  # a family of files, such as docs/rules/OTxxx.md: its directory
                name = str(Path(name).parent)
            assert (REPO / name).exists(), f"{module} refers to {name}"


def _make_recipe(target: str) -> str:
    """A Makefile target's recipe, with $(SOURCES)-style variables of the Makefile expanded."""
    makefile = (REPO / "Makefile").read_text()
    variables = dict(re.findall(r"(?m)^(\w+)\s*:?=\s*(.*)$", makefile))
    recipe = re.search(rf"(?ms)^{target}:[^\n]*\n((?:\t[^\n]*\n)+)", makefile)
    assert recipe, target
    return re.sub(r"\$\((\w+)\)", lambda m: variables.get(m.group(1), m.group(0)), recipe.group(1))


def test_cr_d17_make_format_covers_what_make_lint_checks() -> None:
    def directories(target: str) -> set[str]:
        return {word for word in _make_recipe(target).split() if (REPO / word).is_dir()}

    assert directories("format") == directories("lint") >= {"orgtrust_lint", "tests", "bench", "scripts"}


def test_cr_d18_the_cfn_lint_import_cost_is_quoted_once_and_measured() -> None:
    """Comments and the README quote the bench's measured figure (bench/RESULTS.md), not one of their own."""
    measured = re.search(r"\| import cfn-lint's decoder \| (\d+\.\d+) \|", (REPO / "bench/RESULTS.md").read_text())
    assert measured
    texts = [p.read_text() for p in PACKAGE.rglob("*.py")] + [(REPO / "README.md").read_text()]
    quoted = {
        figure
        for text in texts
        for line in text.splitlines()
        if "cfn-lint" in line
        for figure in re.findall(r"about (\d+\.\d+) s", line)
    }
    assert quoted == {f"{float(measured.group(1)):.1f}"}


def test_fu_minor24_python_version_is_the_same_everywhere() -> None:
    required = re.search(r'requires-python = ">=(\d+\.\d+)"', (REPO / "pyproject.toml").read_text())
    assert required
    version = required.group(1)
    assert f"Python {version}+" in (REPO / "README.md").read_text()
    header = (REPO / "Makefile").read_text().split("\n\n")[0]
    assert re.findall(r"Python (\d+\.\d+\+?)", header) == [f"{version}+"]


def test_fu_minor24_the_readme_has_one_exit_code_list_with_every_code() -> None:
    readme = (REPO / "README.md").read_text()
    assert readme.count("Exit codes") == 1
    paragraph = readme[readme.index("Exit codes") :].split("\n\n")[0]
    assert all(f"`{code}`" in paragraph for code in range(4))


def test_fu_minor24_options_of_check_lists_every_option() -> None:
    from orgtrust_lint.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command")
    check = commands.choices["check"]  # type: ignore[index]
    options = {flag for action in check._actions for flag in action.option_strings if flag.startswith("--")}
    readme = (REPO / "README.md").read_text()
    listed = readme[readme.index("Options of `check`") :].split("\n\n")[0]
    assert {option for option in options - {"--help"} if f"`{option}" not in listed} == set()


def test_cr_d9_every_method_of_a_class_is_called() -> None:
    """D9: ParseCache kept get, missing and put that nothing called. A public method that overrides
    nothing and that no code of the package, its tests, scripts or bench calls is dead."""
    import importlib

    modules = _module_names()
    elsewhere = [p.read_text() for p in _project_python_outside_the_package()]
    everything = "\n".join([*modules.values(), *elsewhere])
    dead = []
    for module, text in modules.items():
        if module.endswith("__main__"):
            continue  # importing it runs the program
        loaded = importlib.import_module(module)
        for node in ast.parse(text).body:
            cls = getattr(loaded, node.name, None) if isinstance(node, ast.ClassDef) else None
            if not isinstance(cls, type):
                continue
            for item in node.body:
                if not isinstance(item, ast.FunctionDef) or item.name.startswith("_") or item.decorator_list:
                    continue
                if any(item.name in vars(base) for base in cls.__mro__[1:]):
                    continue  # an override: its callers are the base class's
                if not re.search(rf"\.{re.escape(item.name)}\b", everything):
                    dead.append((module, node.name, item.name))
    assert dead == []
