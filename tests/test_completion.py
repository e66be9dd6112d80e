"""Shell completion (issue 20): `orgtrust-lint completion bash|zsh|fish` prints a script written from the
argument parser. bash's is run for real: the script is sourced and its function completes words."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from orgtrust_lint.cli import run


def _script(capsys: pytest.CaptureFixture[str], shell: str) -> str:
    assert run(["completion", shell]) == 0
    return capsys.readouterr().out


def _bash_complete(script: str, words: list[str], cwd: Path) -> list[str]:
    """What bash offers for the last of ``words`` (the command line up to the cursor)."""
    line = " ".join(f"'{w}'" for w in words)
    program = (
        f"{script}\nCOMP_WORDS=({line}); COMP_CWORD={len(words) - 1}\n"
        '_orgtrust_lint; printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    done = subprocess.run(["bash", "--norc", "-c", program], cwd=cwd, capture_output=True, text=True, check=True)
    return sorted(filter(None, done.stdout.splitlines()))


def test_bash_completes_commands_options_values_and_paths(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    script = _script(capsys, "bash")
    (tmp_path / "main.tf").write_text("")
    (tmp_path / "modules").mkdir()
    assert _bash_complete(script, ["orgtrust-lint", ""], tmp_path) == sorted(
        ["-h", "--help", "--version", "check", "drift", "rules", "explain", "services", "test-rules", "completion"]
    )
    assert _bash_complete(script, ["orgtrust-lint", "check", "--format", ""], tmp_path) == sorted(
        ["text", "json", "sarif", "github", "junit", "gitlab"]
    )
    assert _bash_complete(script, ["orgtrust-lint", "check", "--ex"], tmp_path) == ["--exit-zero"]
    assert _bash_complete(script, ["orgtrust-lint", "check", "--select", "OT10"], tmp_path) == [
        f"OT10{n}" for n in range(1, 7)
    ]
    assert _bash_complete(script, ["orgtrust-lint", "drift", "--color", "a"], tmp_path) == ["always", "auto"]
    assert _bash_complete(script, ["orgtrust-lint", "check", "--repo-root", ""], tmp_path) == ["modules"]
    assert _bash_complete(script, ["orgtrust-lint", "check", "ma"], tmp_path) == ["main.tf"]
    assert _bash_complete(script, ["orgtrust-lint", "explain", "OT40"], tmp_path) == [f"OT40{n}" for n in range(1, 10)]
    assert _bash_complete(script, ["orgtrust-lint", "completion", ""], tmp_path) == ["bash", "fish", "zsh"]


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts_offer_every_command_and_option(shell: str, capsys: pytest.CaptureFixture[str]) -> None:
    script = _script(capsys, shell)
    for word in ("check", "drift", "rules", "explain", "services", "test-rules", "completion"):
        assert word in script
    for option in ("exit-zero", "repo-root", "fail-on", "write-baseline", "endpoint-url", "stdin-filename"):
        assert option in script
    assert "text json sarif github junit gitlab" in script and "OT101 OT102" in script
    # Where the shell is installed, it must parse its script (zsh -n, fish -n check without running).
    if shutil.which(shell):
        checked = subprocess.run([shell, "-n"], input=script, capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr


def test_an_unknown_shell_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["completion", "powershell"]) == 2
    assert "invalid choice: 'powershell'" in capsys.readouterr().err
