"""A check whose inputs are unchanged since it last ran is answered from its record (replay.py):
the same output and exit code, without importing the linter; any change to what the run read
makes it run again."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from orgtrust_lint import replay

COMMAND = str(Path(sys.executable).parent / "orgtrust-lint")
REPO = Path(__file__).resolve().parent.parent

ORGANIZATION = """resource "aws_organizations_organization" "org" {
  aws_service_access_principals = [
    "config.amazonaws.com",
    "sso.amazonaws.com",
  ]
}
"""
TYPO = ORGANIZATION.replace('"sso.amazonaws.com"', '"sso.amazonaws.con"')  # same size


def _project(tmp_path: Path) -> Path:
    """A repository (its top marked by .git, as every real one is) with one module."""
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    (project / "org").mkdir()
    (project / "org" / "main.tf").write_text(ORGANIZATION)
    time.sleep(0.1)  # a run records nothing read within a clock tick of its start
    return project


def _check(project: Path, *args: str, imports: bool = False) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"} if imports else None
    return subprocess.run([COMMAND, "check", *args], cwd=project, capture_output=True, text=True, env=env)


def _answered_from_record(project: Path, *args: str) -> tuple[bool, subprocess.CompletedProcess[str]]:
    """Run once more, and say whether the linter itself was imported (it is not when replayed)."""
    result = _check(project, *args, imports=True)
    ran = "orgtrust_lint.cli" in result.stderr
    output = [line for line in result.stderr.splitlines() if not line.startswith("import time:")]
    return not ran, subprocess.CompletedProcess(result.args, result.returncode, result.stdout, "\n".join(output))


@pytest.mark.parametrize("output_format", ["text", "json", "sarif"])
def test_an_unchanged_run_is_answered_from_its_record_with_the_same_output(tmp_path: Path, output_format: str) -> None:
    project = _project(tmp_path)
    (project / "org" / "main.tf").write_text(TYPO)
    time.sleep(0.1)
    first = _check(project, "--format", output_format, ".")
    assert first.returncode == 1 and "sso.amazonaws.con" in first.stdout

    replayed, again = _answered_from_record(project, "--format", output_format, ".")
    assert replayed
    assert (again.returncode, again.stdout, again.stderr.strip()) == (
        first.returncode,
        first.stdout,
        first.stderr.strip(),
    )


def _edit(project: Path) -> None:
    (project / "org" / "main.tf").write_text(TYPO)


def _add_a_file(project: Path) -> None:
    (project / "org" / "more.tf").write_text(
        'resource "aws_organizations_delegated_administrator" "d" {\n'
        '  account_id        = "111111111111"\n'
        '  service_principal = "guarduty.amazonaws.com"\n'
        "}\n"
    )


def _configure_above(project: Path) -> None:
    (project / ".orgtrust-lint.yaml").write_text("ignore: [OT101]\n")


def _remove_the_file(project: Path) -> None:
    (project / "org" / "main.tf").unlink()
    (project / "org" / "main.tf.json").write_text(
        '{"resource": {"aws_organizations_organization": {"org": '
        '{"aws_service_access_principals": ["sso.amazonaws.con"]}}}}'
    )


@pytest.mark.parametrize(
    "change",
    [_edit, _add_a_file, _configure_above, _remove_the_file],
    ids=["content edited, same size", "file added", "configuration added above", "file replaced"],
)
def test_any_change_to_what_the_run_read_runs_it_again(tmp_path: Path, change) -> None:
    project = _project(tmp_path)
    if change is _configure_above:
        _edit(project)  # something for the configuration to silence
        time.sleep(0.1)
    before = _check(project, "org")
    assert _answered_from_record(project, "org")[0]  # recorded

    change(project)
    replayed, after = _answered_from_record(project, "org")
    assert not replayed
    truth = _check(project, "org", "--no-cache")  # never recorded nor answered: the ground truth
    assert (after.returncode, after.stdout) == (truth.returncode, truth.stdout)
    assert after.stdout != before.stdout


def test_files_read_while_evaluating_in_worker_processes_are_inputs(tmp_path: Path) -> None:
    """Enough modules for the work to go to worker processes; each module's policy comes from a
    template file only evaluation reads. Changing one template must be seen."""
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    for number in range(24):
        module = project / f"m{number:02d}"
        module.mkdir()
        (module / "policy.json.tpl").write_text(
            '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}'
        )
        (module / "main.tf").write_text(
            'resource "aws_iam_role_policy" "p" {\n'
            '  role   = "admin"\n'
            '  policy = templatefile("${path.module}/policy.json.tpl", {})\n'
            "}\n"
        )
    time.sleep(0.1)
    first = _check(project, "--jobs", "2", ".")
    assert first.returncode == 0, first.stdout + first.stderr
    assert _answered_from_record(project, "--jobs", "2", ".")[0]

    (project / "m17" / "policy.json.tpl").write_text(
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
        '"Action": "organizations:EnableAWSServiceAccess", "Resource": "*"}]}'
    )
    replayed, after = _answered_from_record(project, "--jobs", "2", ".")
    assert not replayed and after.returncode == 1
    assert "m17/" in after.stdout and "OT201" in after.stdout


def test_an_incomplete_run_is_never_recorded(tmp_path: Path) -> None:
    project = _project(tmp_path)
    (project / "org" / "huge.tf").write_bytes(b"#" * (21 * 1024 * 1024))  # skipped for its size: exit 3
    time.sleep(0.1)
    first = _check(project, ".")
    assert first.returncode == 3
    replayed, again = _answered_from_record(project, ".")
    assert not replayed and again.returncode == 3 and "skipped" in again.stderr


def test_a_report_file_is_written_by_every_run(tmp_path: Path) -> None:
    project = _project(tmp_path)
    report = project / "report.sarif"
    assert _check(project, "org", "--output", f"sarif={report}").returncode == 0
    report.unlink()
    replayed, again = _answered_from_record(project, "org", "--output", f"sarif={report}")
    assert not replayed and again.returncode == 0 and report.exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "--fix", "."],
        ["check", "--fix", "--diff", "."],
        ["check", "--output", "sarif=x.sarif", "."],
        ["check", "-o", "sarif=x.sarif", "."],
        ["check", "-"],
        ["check", "--stdin-filename", "a.tf", "-"],
        ["check", "--", "-"],
        ["check", "--no-cache", "."],
        ["check", "--base", "main", "."],
        ["check", "--plan", "plan.json"],
        ["check", "--write-baseline", "b.json"],
        ["check", "--baseline", "b.json", "--baseline-prune"],
        ["check", "--show-config", "."],
        ["check", "--form", "json", "."],  # an abbreviation: argparse would take it, a record does not
        ["check", "--format"],  # a value missing: argparse's error, not a record's
        ["drift", "."],
        ["rules"],
        [],
    ],
)
def test_only_plain_checks_are_recorded(argv: list[str]) -> None:
    assert not replay.eligible(argv)


@pytest.mark.parametrize(
    "argv",
    [
        ["check"],
        ["check", ".", "--format", "json", "--select", "OT1", "--ignore=OT105", "-j", "2"],
        ["check", "--exit-zero", "--require-reason", "--no-prefilter", "--fail-on", "warning", "a.tf", "b.tf"],
        ["check", "--config", "c.yaml", "--baseline", "b.json", "--repo-root", ".", "--color", "never", "."],
        ["check", "--", "-odd-name.tf"],
    ],
)
def test_plain_checks_are_recorded(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    assert replay.eligible(argv)


def test_a_recent_input_is_also_compared_by_content(tmp_path: Path) -> None:
    """Two writes within one clock tick can leave a file's status as it was: an input changed less
    than two seconds before its run is recorded with its digest, and a record whose digest no longer
    matches is not replayed even when every status does."""
    source = tmp_path / "main.tf"
    source.write_text(ORGANIZATION)
    info = source.stat()
    status = (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev)
    good = replay._content_digest(str(source), "f")
    stale = replay._content_digest(str(shutil.copy(source, tmp_path / "other.tf")), "f").replace("a", "b", 1)

    def record(digest: str) -> bytes:
        return replay._encode(replay._Record(1, "out\n", "", [("f", str(source), status, digest)]))

    assert replay._replayable(record(good)) == (1, "out\n", "")
    assert replay._replayable(record("-")) == (1, "out\n", "")  # an old input: status alone
    assert good != stale and replay._replayable(record(stale)) is None


def test_a_damaged_record_is_not_replayed(tmp_path: Path) -> None:
    source = tmp_path / "main.tf"
    source.write_text(ORGANIZATION)
    info = source.stat()
    status = (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev)
    whole = replay._encode(replay._Record(0, "All checks passed!\n", "", [("f", str(source), status, "-")]))
    assert replay._replayable(whole) == (0, "All checks passed!\n", "")
    for damaged in (whole[:-1], whole[:-20], whole.replace(b"0 19", b"0 99", 1), b"x" + whole, whole + b"f -\0"):
        assert replay._replayable(damaged) is None


def test_a_replayed_report_piped_into_a_reader_that_stops_early_ends_quietly(tmp_path: Path) -> None:
    project = _project(tmp_path)
    many = "".join(f'    "svc{i:04d}.amazonaws.con",\n' for i in range(3000))  # well past a pipe's buffer
    (project / "org" / "main.tf").write_text(ORGANIZATION.replace('    "sso.amazonaws.com",\n', many))
    time.sleep(0.1)
    assert _check(project, "org").returncode == 1
    assert _answered_from_record(project, "org")[0]

    # As a shell runs `orgtrust-lint check org | head -c 100`: the reader exits after 100 bytes. The
    # replayed run ends as a run that lints does (--no-cache: never replayed), and says nothing.
    ends = []
    errors = tmp_path / "errors"  # outside the project: not one of the run's inputs
    for extra in ("", " --no-cache"):
        script = f'"{COMMAND}" check org{extra} 2> "{errors}" | head -c 100 > /dev/null; echo "${{PIPESTATUS[0]}}"'
        env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
        piped = subprocess.run(["bash", "-c", script], cwd=project, capture_output=True, text=True, env=env)
        lines = errors.read_text().splitlines()
        said = [line for line in lines if not line.startswith("import time:")]
        ends.append((piped.stdout.strip(), said, any("orgtrust_lint.cli" in line for line in lines)))
    assert ends[0][2] is False and ends[1][2] is True  # the first was replayed, the second linted
    assert ends[0][:2] == ends[1][:2] and ends[0][1] == []


def test_an_event_the_recording_cannot_read_costs_the_record_never_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """An audit hook that raises makes the operation that raised the event fail: a malformed event
    must leave the file's open alone and only keep the run from being recorded."""
    recording = replay.Recording(["check", "."])
    monkeypatch.setattr(replay, "_active", recording)
    replay._audit("open", ("only a path",))  # not (path, mode, flags)
    assert recording.complete is False


@pytest.mark.parametrize(
    "where",
    ["org/node_modules/b/c.txt", "org/policies/extra/c.txt"],
    ids=["in a directory discovery skips", "in a directory that does not exist yet"],
)
def test_a_file_looked_for_and_absent_is_an_input_too(tmp_path: Path, where: str) -> None:
    """file() of a path that is not there: the run reports it as unknown (OT002). Nothing is opened,
    so no audit event says so; the file appearing later must still be seen."""
    project = _project(tmp_path)
    (project / "org" / "node_modules").mkdir()
    (project / "org" / "main.tf").write_text(
        'resource "aws_organizations_organization" "o" {\n'
        f'  aws_service_access_principals = [trimspace(file("${{path.module}}/{where.removeprefix("org/")}"))]\n'
        "}\n"
    )
    time.sleep(0.1)
    assert _check(project, ".").returncode == 0
    assert _answered_from_record(project, ".")[0]

    target = project / where
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("notaservice.amazonaws.con\n")
    replayed, after = _answered_from_record(project, ".")
    truth = _check(project, ".", "--no-cache")
    assert not replayed and (after.returncode, after.stdout) == (truth.returncode, truth.stdout)
    assert after.returncode == 1 and "notaservice.amazonaws.con" in after.stdout


def test_a_terraform_init_manifest_appearing_is_seen(tmp_path: Path) -> None:
    """.terraform/ is never walked, but where `terraform init` put a module decides what is read."""
    project = _project(tmp_path)
    (project / "org" / "main.tf").write_text('module "org" {\n  source = "example/org/aws"\n}\n')
    (project / "org" / ".terraform").mkdir()
    time.sleep(0.1)
    _check(project, ".")
    assert _answered_from_record(project, ".")[0]

    fetched = project / "org" / ".terraform" / "modules" / "org"
    fetched.mkdir(parents=True)
    (fetched / "main.tf").write_text(TYPO)
    (fetched.parent / "modules.json").write_text(
        '{"Modules": [{"Key": "", "Source": "", "Dir": "."}, '
        '{"Key": "org", "Source": "registry.terraform.io/example/org/aws", "Dir": ".terraform/modules/org"}]}'
    )
    replayed, after = _answered_from_record(project, ".")
    truth = _check(project, ".", "--no-cache")
    assert not replayed and (after.returncode, after.stdout) == (truth.returncode, truth.stdout)


def test_an_unusable_cache_location_is_a_note_not_a_crash(tmp_path: Path) -> None:
    project = _project(tmp_path)
    env = {**os.environ, "ORGTRUST_LINT_CACHE_DIR": "/proc/no-such-place/cache"}
    run = subprocess.run([COMMAND, "check", "org"], cwd=project, capture_output=True, text=True, env=env)
    truth = _check(project, "org", "--no-cache")
    assert (run.returncode, run.stdout) == (truth.returncode, truth.stdout)
    assert "Traceback" not in run.stderr and "not using the cache directory" in run.stderr


def test_directories_are_resolved_as_realpath_resolves_them(tmp_path: Path) -> None:
    """The directories above what a run read are looked up through links as the OS would: absolute
    links, relative ones, a link to a link, a link back up the tree and a path that does not exist."""
    from orgtrust_lint.replay import _real_directories

    (tmp_path / "a" / "b" / "c").mkdir(parents=True)
    (tmp_path / "x" / "y").mkdir(parents=True)
    (tmp_path / "x" / "lb").symlink_to(tmp_path / "a" / "b")
    (tmp_path / "x" / "y" / "rel").symlink_to("../../a")
    (tmp_path / "ll").symlink_to(tmp_path / "x" / "lb")
    (tmp_path / "a" / "b" / "c" / "up").symlink_to(tmp_path)
    directories = {str(p) for p in tmp_path.rglob("*")} | {
        str(tmp_path / "x" / "lb" / "c"),
        str(tmp_path / "x" / "y" / "rel" / "b" / "c"),
        str(tmp_path / "ll" / "c" / "up" / "x"),
        str(tmp_path / "missing" / "deeper"),
        "/",
    }
    assert _real_directories(directories) == {os.path.realpath(d) for d in directories}
    assert str(tmp_path / "a" / "b" / "c") in _real_directories({str(tmp_path / "ll" / "c")})


def test_a_run_on_a_tree_just_written_is_not_recorded(tmp_path: Path) -> None:
    """A tree written in the two seconds before a run (a fresh checkout in CI) would have each of its
    files read again for a digest: beyond a few such inputs the run is not recorded (the next runs
    still answer right), while a few files just edited still are (the test above)."""
    project = _project(tmp_path)
    for index in range(replay._MAX_RECENT_INPUTS + 1):
        module = project / f"module{index}"
        module.mkdir()
        (module / "main.tf").write_text(TYPO)
    time.sleep(0.1)
    first = _check(project, "--format", "json", ".")
    replayed, again = _answered_from_record(project, "--format", "json", ".")
    assert first.returncode == again.returncode == 1 and first.stdout == again.stdout
    assert not replayed
