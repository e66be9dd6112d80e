"""--base: what a change since a git revision disables (OT302, OT303), read with git itself."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from orgtrust_lint.cli import run

ORG = """resource "aws_organizations_organization" "org" {{
  aws_service_access_principals = [{principals}]
}}
"""
AGGREGATOR = """resource "aws_config_configuration_aggregator" "organization" {
  name = "organization"
  organization_aggregation_source {
    all_regions = true
    role_arn    = "arn:aws:iam::111111111111:role/config"
  }
}
"""


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def _org(*principals: str) -> str:
    return ORG.format(principals=", ".join(f'"{p}"' for p in principals))


def _commit(repo: Path, files: dict[str, str | None], message: str = "change") -> str:
    for name, text in files.items():
        path = repo / name
        if text is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", message, "--allow-empty")
    return _git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    _git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / ".orgtrust-lint.yaml").write_text("ignore: [OT105]\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _findings(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[tuple[str, str, int]], list[str]]:
    code = run(["check", *argv, "--format", "json"])
    out, err = capsys.readouterr()
    assert err == "", err
    findings = json.loads(out)["findings"]
    return code, sorted((f["rule"], f["path"], f["line"]) for f in findings), [f["message"] for f in findings]


def test_principal_removed_with_its_integration_in_the_same_change(repo: Path, capsys) -> None:
    base = _commit(repo, {"org.tf": _org("config.amazonaws.com", "guardduty.amazonaws.com"), "config.tf": AGGREGATOR})
    _commit(repo, {"org.tf": _org("guardduty.amazonaws.com"), "config.tf": None})
    code, findings, messages = _findings(capsys, "--base", base)
    assert code == 1
    assert findings == [("OT302", "org.tf", 2)]
    assert "the same change deletes aws_config_configuration_aggregator.organization" in messages[0]
    assert "apply first, then remove the principal in a later apply" in messages[0]


def test_principal_removed_while_the_integration_stays(repo: Path, capsys) -> None:
    base = _commit(repo, {"org.tf": _org("config.amazonaws.com", "guardduty.amazonaws.com"), "config.tf": AGGREGATOR})
    _commit(repo, {"org.tf": _org("guardduty.amazonaws.com")})
    _, findings, messages = _findings(capsys, "--base", base)
    assert findings == [("OT301", "config.tf", 1), ("OT302", "org.tf", 2)]
    assert any("aws_config_configuration_aggregator.organization still relies on it" in m for m in messages)


def test_principal_removed_after_the_integration_was_already_gone(repo: Path, capsys) -> None:
    _commit(repo, {"org.tf": _org("config.amazonaws.com", "guardduty.amazonaws.com"), "config.tf": AGGREGATOR})
    base = _commit(repo, {"config.tf": None}, "first apply: remove the aggregator")
    _commit(repo, {"org.tf": _org("guardduty.amazonaws.com")}, "second apply: remove the principal")
    code, findings, _ = _findings(capsys, "--base", base)
    assert (code, findings) == (0, [])


def test_principal_added_is_no_finding(repo: Path, capsys) -> None:
    base = _commit(repo, {"org.tf": _org("guardduty.amazonaws.com")})
    _commit(repo, {"org.tf": _org("guardduty.amazonaws.com", "config.amazonaws.com"), "config.tf": AGGREGATOR})
    assert _findings(capsys, "--base", base)[:2] == (0, [])


def test_lasting_consequence_is_quoted(repo: Path, capsys) -> None:
    base = _commit(repo, {"org.tf": _org("sso.amazonaws.com", "guardduty.amazonaws.com")})
    _commit(repo, {"org.tf": _org("guardduty.amazonaws.com")})
    _, findings, messages = _findings(capsys, "--base", base)
    assert findings == [("OT303", "org.tf", 2)]
    assert "IAM Identity Center" in messages[0]


def test_uncommitted_work_tree_is_compared_and_left_untouched(repo: Path, capsys) -> None:
    base = _commit(repo, {"org.tf": _org("config.amazonaws.com"), "config.tf": AGGREGATOR})
    (repo / "org.tf").write_text(_org("guardduty.amazonaws.com"))
    (repo / "config.tf").unlink()
    status_before = _git(repo, "status", "--porcelain")
    _, findings, _ = _findings(capsys, "--base", base)
    assert ("OT302", "org.tf", 2) in findings
    assert _git(repo, "status", "--porcelain") == status_before


def test_from_a_subdirectory_with_renamed_files(repo: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    base = _commit(
        repo,
        {"infra/org/main.tf": _org("config.amazonaws.com", "guardduty.amazonaws.com"), "infra/org/c.tf": AGGREGATOR},
    )
    _git(repo, "mv", "infra/org/main.tf", "infra/org/organization.tf")
    _git(repo, "mv", "infra/org/c.tf", "infra/org/config.tf")
    _commit(repo, {}, "rename only")
    monkeypatch.chdir(repo / "infra")
    assert _findings(capsys, "--base", base)[:2] == (0, [])  # renames are not removals
    _commit(repo, {"infra/org/organization.tf": _org("guardduty.amazonaws.com"), "infra/org/config.tf": None})
    _, findings, _ = _findings(capsys, "--base", base)
    assert findings == [("OT302", "org/organization.tf", 2)]


def test_revision_where_the_files_did_not_exist(repo: Path, capsys) -> None:
    base = _commit(repo, {"README.md": "nothing here yet\n"})
    _commit(repo, {"org.tf": _org("config.amazonaws.com"), "config.tf": AGGREGATOR})
    assert _findings(capsys, "--base", base)[:2] == (0, [])


def test_bad_revision_is_one_line_exit_2(repo: Path, capsys) -> None:
    _commit(repo, {"org.tf": _org("config.amazonaws.com")})
    code = run(["check", "--base", "no-such-branch"])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.strip() == "orgtrust-lint: error: --base: 'no-such-branch' is not a commit in this repository"


def test_outside_a_repository_is_one_line_exit_2(tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    outside = tmp_path / "plain"
    outside.mkdir()
    (outside / "org.tf").write_text(_org("sso.amazonaws.com"))  # something to lint: only git is missing
    monkeypatch.chdir(outside)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    code = run(["check", "--base", "HEAD"])
    _, err = capsys.readouterr()
    assert code == 2 and len(err.strip().splitlines()) == 1 and "git repository" in err


def _base_and_head_removing_config(repo: Path, extra_base_files: dict[str, str | None] | None = None) -> str:
    """The review's setup: the base enables config.amazonaws.com with its aggregator, HEAD removes the principal."""
    files: dict[str, str | None] = {"org/main.tf": _org("config.amazonaws.com") + AGGREGATOR}
    base = _commit(repo, {**files, **(extra_base_files or {})}, "base")
    _commit(repo, {"org/main.tf": _org("guardduty.amazonaws.com") + AGGREGATOR}, "head")
    return base


def test_d15_file_name_with_a_newline_at_the_base_does_not_hide_other_files(repo: Path, capsys) -> None:
    """D15: `org/a\\nb.tf` next to org/main.tf used to desync `git cat-file --batch` ("All checks passed")."""
    base = _base_and_head_removing_config(repo, {"org/a\nb.tf": "# nothing\n"})
    _commit(repo, {"org/a\nb.tf": None}, "drop the odd file")
    _, findings, _ = _findings(capsys, "org", "--base", base)
    assert ("OT302", "org/main.tf", 2) in findings


def test_d15_name_that_looks_like_a_cat_file_request_cannot_substitute_a_blob(repo: Path, capsys) -> None:
    """D15: a name `x\\n<sha>` used to make git answer with the blob the name chose, for the next file."""
    harmless = _org("guardduty.amazonaws.com")
    blob = subprocess.run(
        ["git", "hash-object", "-w", "--stdin"], cwd=repo, input=harmless, text=True, capture_output=True, check=True
    ).stdout.strip()
    base = _base_and_head_removing_config(repo, {f"org/a\n{blob}\n.tf": "# nothing\n"})
    _commit(repo, {f"org/a\n{blob}\n.tf": None}, "drop the odd file")
    _, findings, _ = _findings(capsys, "org", "--base", base)
    assert ("OT302", "org/main.tf", 2) in findings


def test_d15_file_name_that_is_not_utf8_at_the_base(repo: Path, capsys) -> None:
    """D15 ("any byte"): a base file named with a byte that is not UTF-8 used to end the run with an internal error."""
    odd = repo / "org" / os.fsdecode(b"\xff.tf")
    odd.parent.mkdir()
    odd.write_text("# nothing\n")
    base = _base_and_head_removing_config(repo)
    odd.unlink()
    _commit(repo, {}, "drop the odd file")
    _, findings, _ = _findings(capsys, "org", "--base", base)
    assert ("OT302", "org/main.tf", 2) in findings


def test_d16_message_search_revision_is_accepted(repo: Path, capsys) -> None:
    """D16: `:/base` (the youngest commit whose message matches "base") was rejected as "not a commit"."""
    _base_and_head_removing_config(repo)
    code, findings, _ = _findings(capsys, "org", "--base", ":/base")
    assert code == 1 and ("OT302", "org/main.tf", 2) in findings


@pytest.mark.parametrize(
    "revision", ["--output=x", "-c core.pager=touch x", "--all", "--git-dir=/tmp", "-h", "HEAD --", "HEAD~1\nHEAD"]
)
def test_option_looking_revisions_are_still_rejected(repo: Path, capsys, revision: str) -> None:
    _base_and_head_removing_config(repo)
    code = run(["check", "org", f"--base={revision}"])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.strip().startswith("orgtrust-lint: error: --base:") and "is not a commit" in err
    assert sorted(p.name for p in repo.iterdir()) == [".git", ".orgtrust-lint.yaml", "org"]


def _superproject_with_organization_in_a_submodule(tmp_path: Path) -> Path:
    """`super/org` is a submodule whose committed main.tf enables config.amazonaws.com with its aggregator."""
    sub, superproject = tmp_path / "sub", tmp_path / "super"
    for repository in (sub, superproject):
        repository.mkdir()
        _git(repository, "init", "-q", "-b", "main")
    _commit(sub, {"main.tf": _org("config.amazonaws.com") + AGGREGATOR}, "organization")
    _git(superproject, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(sub), "org")
    _commit(superproject, {".orgtrust-lint.yaml": "ignore: [OT105]\n"}, "base")
    return superproject


def test_d16_submodule_files_at_the_base_are_compared(tmp_path: Path, capsys, monkeypatch) -> None:
    """D16: the base's files inside a submodule were not read, so removing the principal there passed silently."""
    superproject = _superproject_with_organization_in_a_submodule(tmp_path)
    (superproject / "org" / "main.tf").write_text(_org("guardduty.amazonaws.com") + AGGREGATOR)
    monkeypatch.chdir(superproject)
    for paths in ([], ["org"], ["org/main.tf"]):
        code, findings, _ = _findings(capsys, *paths, "--base", "HEAD")
        assert code == 1 and ("OT302", "org/main.tf", 2) in findings, paths


def test_d16_submodule_that_is_not_checked_out_is_reported(tmp_path: Path, capsys, monkeypatch) -> None:
    """D16: a submodule the base holds but this clone has not checked out is named on stderr, not passed silently."""
    superproject = _superproject_with_organization_in_a_submodule(tmp_path)
    _git(superproject, "submodule", "deinit", "-q", "-f", "org")
    monkeypatch.chdir(superproject)
    code = run(["check", "--base", "HEAD"])
    _, err = capsys.readouterr()
    assert code == 3  # the submodule's files were not compared: an incomplete run, not a pass
    assert err.strip().splitlines() == [
        "orgtrust-lint: skipped org: submodule not checked out, so its files at HEAD were not compared"
    ]


def _blobless_clone(origin: Path, tmp_path: Path) -> Path:
    _git(origin, "config", "uploadpack.allowFilter", "true")
    clone = tmp_path / "clone"
    _git(tmp_path, "clone", "-q", "--filter=blob:none", f"file://{origin}", str(clone))
    (clone / ".orgtrust-lint.yaml").write_text("ignore: [OT105]\n")
    return clone


def test_d16_blobless_clone_downloads_nothing_and_runs_nothing(repo: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    """D16: in a blobless partial clone, reading the base lazily fetched each blob, which ran the clone's
    core.sshCommand; now the missing files are one error line that says how to fetch them."""
    _base_and_head_removing_config(repo)
    clone = _blobless_clone(repo, tmp_path)
    marker = tmp_path / "pwn_lazy_fetch"
    _git(clone, "config", "remote.origin.url", "ssh://example.invalid/repo.git")
    _git(clone, "config", "core.sshCommand", f"sh -c 'id > {marker}; exit 1' --")
    monkeypatch.chdir(clone)
    code = run(["check", "org", "--base", "HEAD~1"])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and not marker.exists()
    assert err.strip() == (
        "orgtrust-lint: error: --base: 'org/main.tf' at 'HEAD~1' is not in this partial clone, and orgtrust-lint "
        "downloads nothing; `git diff --stat 'HEAD~1'` downloads what is missing"
    )


def test_d16_blobless_clone_works_once_the_base_files_are_fetched(
    repo: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    _base_and_head_removing_config(repo)
    clone = _blobless_clone(repo, tmp_path)
    monkeypatch.chdir(clone)
    assert run(["check", "org", "--base", "HEAD~1"]) == 2
    capsys.readouterr()
    _git(clone, "diff", "--stat", "HEAD~1")  # the command the error suggests
    code, findings, _ = _findings(capsys, "org", "--base", "HEAD~1")
    assert code == 1 and ("OT302", "org/main.tf", 2) in findings


def test_hostile_git_configuration_runs_nothing_here_or_in_submodules(tmp_path: Path, capsys, monkeypatch) -> None:
    """Reading the base (now also inside submodules) runs no command a repository's .git/config names."""
    superproject = _superproject_with_organization_in_a_submodule(tmp_path)
    (superproject / "org" / "main.tf").write_text(_org("guardduty.amazonaws.com") + AGGREGATOR)
    marker = tmp_path / "ran"
    command = f"sh -c 'echo $0 >> {marker}'"
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    for hook in ("post-index-change", "reference-transaction", "post-checkout", "pre-auto-gc"):
        (hooks / hook).write_text(f"#!/bin/sh\necho {hook} >> {marker}\n")
        (hooks / hook).chmod(0o755)
    for repository in (superproject, superproject / "org"):
        for key, value in {
            "core.fsmonitor": command,
            "core.hooksPath": str(hooks),
            "core.pager": command,
            "diff.external": command,
            "core.sshCommand": command,
            "core.askPass": command,
            "credential.helper": f"!{command}",
        }.items():
            _git(repository, "config", key, value)
    monkeypatch.chdir(superproject)
    code, findings, _ = _findings(capsys, "--base", "HEAD")
    assert code == 1 and ("OT302", "org/main.tf", 2) in findings
    assert not marker.exists()
