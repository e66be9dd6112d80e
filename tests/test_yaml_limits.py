"""YAML read by orgtrust-lint itself (configuration, rules, catalog) is bounded (review D9).

Aliases let a few hundred bytes stand for billions of values; a configuration file is written by
whoever controls the repository, so its expansion is bounded before anything walks it.
"""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest

from orgtrust_lint.catalog import InvalidYaml, load_yaml

COMMAND = str(Path(sys.executable).parent / "orgtrust-lint")
MEMORY_LIMIT = 1024 * 1024 * 1024


def _alias_bomb(levels: int = 9, width: int = 10) -> str:
    """The review's 415-byte configuration: 10**9 strings once expanded, under an unknown key."""
    lines = ['  l0: &l0 ["lol"]']
    lines += [f"  l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]" for i in range(1, levels)]
    return "x-notes:\n" + "\n".join(lines) + "\nignore: [OT105]\n"


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def test_an_alias_bomb_in_the_configuration_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / ".orgtrust-lint.yaml").write_text(_alias_bomb())
    (tmp_path / "main.tf").write_text('resource "aws_iam_service_linked_role" "r" {\n  aws_service_name = "x"\n}\n')
    result = subprocess.run(
        [COMMAND, "check", "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,  # a watchdog: before the bound, the run was still growing past 5.7 GB after 100 s
        preexec_fn=_limit_memory,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        "orgtrust-lint: error: .orgtrust-lint.yaml: not valid YAML "
        "(more than 200,000 values once aliases are expanded)\n"
    )


def test_a_value_that_contains_itself_is_invalid_yaml() -> None:
    with pytest.raises(InvalidYaml, match="a value that contains itself"):
        load_yaml(b"a: &a [1, *a]\n")


def test_aliases_within_the_bound_are_read_as_written() -> None:
    data = load_yaml(b"base: &b [OT101, OT102]\nselect: *b\n")
    assert data == {"base": ["OT101", "OT102"], "select": ["OT101", "OT102"]}
