"""--fix never writes a wrong byte: the adversarial review's probes 2a-2i and 7 (D2-D7, D18, D19, D21)."""

from __future__ import annotations

import fcntl
import os
import stat
import time
from pathlib import Path

import pytest

from orgtrust_lint import lint
from orgtrust_lint.cli import run

ORG = 'resource "aws_organizations_organization" "org" {{\n  aws_service_access_principals = [\n{items}  ]\n}}\n'


def _org(*principals: str) -> str:
    return ORG.format(items="".join(f'    "{p}",\n' for p in principals))


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    target = tmp_path / "tree"
    target.mkdir()
    (target / ".orgtrust-lint.yaml").write_text("ignore: [OT105]\n")
    monkeypatch.chdir(tmp_path)
    return target


def _after_lint(monkeypatch: pytest.MonkeyPatch, action) -> None:
    """Run ``action`` once, right after the first lint of the next run and before its fixes:
    what another program (an editor, a second --fix) may do in that window."""
    real_check = lint.check
    done = []

    def check_then_act(*args, **kwargs):
        result = real_check(*args, **kwargs)
        if not done:
            done.append(True)
            action()
        return result

    monkeypatch.setattr(lint, "check", check_then_act)


# ---- D2: lines are the parser's lines -----------------------------------------------------

BREAKS = {"ff": "\x0c", "vt": "\x0b", "u2028": "\u2028", "nel": "\x85", "cr": "\r", "fs": "\x1c"}


@pytest.mark.parametrize("name", sorted(BREAKS))
def test_d2_a_character_python_takes_for_a_line_break_does_not_move_the_fix(tree: Path, name: str, capsys) -> None:
    """Probe 2a: with a form feed (or VT, U+2028, NEL, lone CR, \\x1c) in a comment above the list,
    the repeated principal is removed, not the legitimate one on the line after it."""
    comment = f"# generated {BREAKS[name]} by a tool\n"
    text = comment + _org("sso.amazonaws.com", "ram.amazonaws.com", "sso.amazonaws.com")
    (tree / "main.tf").write_text(text, newline="")
    run(["check", "tree", "--no-cache", "--fix"])
    out = capsys.readouterr().out
    expected = comment + _org("sso.amazonaws.com", "ram.amazonaws.com")
    assert (tree / "main.tf").read_bytes() == expected.encode()
    assert "Fixed 1 problem in tree/main.tf." in out and "OT102" not in out


@pytest.mark.parametrize("name", ["nel", "u2028", "cr"])
def test_yaml_templates_keep_counting_yaml_line_breaks(tree: Path, name: str, capsys) -> None:
    """The other side of D2: in YAML a lone CR, NEL and U+2028 are line breaks (YAML 1.1, and
    libyaml as cfn-lint uses it), so locations in a template count them and the fix must too."""
    text = (
        'AWSTemplateFormatVersion: "2010-09-09"\n'
        f"# generated{BREAKS[name]}# by a tool\n"
        "Resources:\n"
        "  Enable:\n"
        "    Type: Custom::EnableAwsServiceAccess\n"
        "    Properties:\n"
        "      ServiceToken: arn:aws:lambda:us-east-1:111111111111:function:enable\n"
        "      servicePrincipals: [\n"
        "        sso.amazonaws.com,\n"
        "        ram.amazonaws.com,\n"
        "        sso.amazonaws.com,\n"
        "      ]\n"
    )
    (tree / "template.yaml").write_text(text, newline="")
    run(["check", "tree", "--no-cache", "--fix"])
    assert "Fixed 1 problem in tree/template.yaml." in capsys.readouterr().out
    expected = text.replace("        sso.amazonaws.com,\n      ]", "      ]")
    assert (tree / "template.yaml").read_bytes() == expected.encode()


# ---- D3: inline ignores count lines as the parser does --------------------------------------


def test_d3_a_hidden_form_feed_does_not_make_an_ignore_silence_the_next_line(tree: Path, capsys) -> None:
    """Probe 2b: the reviewed ignore above the preview principal must not silence the typo after it."""
    (tree / "main.tf").write_text(
        'resource "aws_organizations_organization" "org" {\n'
        "  aws_service_access_principals = [\n"
        "    # owners: platform team \x0c\n"
        '    "sso.amazonaws.com",\n'
        "    # orgtrust-lint: ignore[OT101] private preview, reviewed\n"
        '    "preview-service.amazonaws.com",\n'
        '    "config.amazonaw.com",\n'
        "  ]\n"
        "}\n"
    )
    code = run(["check", "tree", "--no-cache"])
    out = capsys.readouterr().out
    assert "main.tf:7:5: OT101" in out and "config.amazonaw.com" in out
    assert "preview-service" not in out and code == 1


def test_an_ignore_on_the_first_line_after_a_byte_order_mark_covers_the_next_line(tree: Path, capsys) -> None:
    (tree / "main.tf").write_bytes(
        b"\xef\xbb\xbf# orgtrust-lint: ignore[OT101] private preview, reviewed\n"
        b'resource "aws_organizations_organization" "org" {\n'
        b'  aws_service_access_principals = ["preview-service.amazonaws.com"]\n'
        b"}\n"
    )
    code = run(["check", "tree", "--no-cache"])
    assert "preview-service" not in capsys.readouterr().out and code == 0


# ---- D4: the content the findings came from ------------------------------------------------


def test_d4_an_edit_between_the_lint_and_the_fix_is_kept_and_nothing_else_is_deleted(
    tree: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """Probe 2c: an editor inserts a principal at the top of the list after the lint; the fix
    computed from the old content must not delete ram.amazonaws.com."""
    main = tree / "main.tf"
    main.write_text(_org("sso.amazonaws.com", "ram.amazonaws.com", "sso.amazonaws.com"))
    edited = _org("fms.amazonaws.com", "sso.amazonaws.com", "ram.amazonaws.com", "sso.amazonaws.com")
    _after_lint(monkeypatch, lambda: main.write_text(edited))
    code = run(["check", "tree", "--no-cache", "--fix"])
    captured = capsys.readouterr()
    assert main.read_text() == edited
    assert "tree/main.tf changed since it was linted; left alone" in captured.err
    assert "Fixed 0 problems in 0 files." in captured.out and code == 0  # OT102 is a warning


def test_d4_two_fix_runs_at_once_do_not_apply_a_fix_twice(tree: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """Probe 2c: run B lints and fixes while run A, which linted the same content, is about to fix."""
    main = tree / "main.tf"
    main.write_text(_org("securityhub", "GuardDuty.amazonaws.com"))
    _after_lint(monkeypatch, lambda: run(["check", "tree", "--no-cache", "--fix"]))
    run(["check", "tree", "--no-cache", "--fix"])
    captured = capsys.readouterr()
    assert main.read_text() == _org("securityhub.amazonaws.com", "guardduty.amazonaws.com")
    assert "changed since it was linted; left alone" in captured.err


def test_d4_a_run_waiting_for_the_lock_finds_the_file_replaced(
    tree: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """Another --fix holds the file's lock; when it is done it has replaced the file. The run that
    waited for the lock must then leave the file alone, not write over the other run's result."""
    main = tree / "main.tf"
    main.write_text(_org("securityhub"))
    other_run = os.open(main, os.O_RDONLY)
    fcntl.flock(other_run, fcntl.LOCK_EX)
    real_flock, waited = fcntl.flock, []

    def flock_seen_waiting(descriptor: int, operation: int) -> None:
        try:
            real_flock(descriptor, operation)
        except BlockingIOError:
            if not waited:  # the other run finishes: its result replaces the file, its lock goes
                waited.append(True)
                replacement = tree / "replacement"
                replacement.write_text(_org("securityhub.amazonaws.com"))
                os.replace(replacement, main)
                os.close(other_run)
            raise

    monkeypatch.setattr(fcntl, "flock", flock_seen_waiting)
    run(["check", "tree", "--no-cache", "--fix"])
    captured = capsys.readouterr()
    assert waited and main.read_text() == _org("securityhub.amazonaws.com")
    assert "tree/main.tf changed while it was being fixed; left alone" in captured.err


def test_a_file_locked_for_long_is_left_alone(tree: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from orgtrust_lint import fix

    main = tree / "main.tf"
    main.write_text(_org("securityhub"))
    holder = os.open(main, os.O_RDONLY)
    fcntl.flock(holder, fcntl.LOCK_EX)
    monkeypatch.setattr(fix, "LOCK_WAIT_SECONDS", 0.2)
    try:
        code = run(["check", "tree", "--no-cache", "--fix"])
    finally:
        os.close(holder)
    captured = capsys.readouterr()
    assert main.read_text() == _org("securityhub")
    assert "tree/main.tf is locked by another program; left alone" in captured.err and code == 1


# ---- D5: never an unparseable file ---------------------------------------------------------

FLOW = """AWSTemplateFormatVersion: "2010-09-09"
Resources:
  EnableSso:
    Type: Custom::EnableAwsServiceAccess
    Properties: {servicePrincipal: sso.amazonaws.com, ServiceToken: arn:aws:lambda:us-east-1:111111111111:function:e}
  EnableSsoAgain:
    Type: Custom::EnableAwsServiceAccess
    Properties: {servicePrincipal: sso.amazonaws.com, ServiceToken: arn:aws:lambda:us-east-1:111111111111:function:e}
  EnableMany:
    Type: Custom::EnableAwsServiceAccess
    Properties: {servicePrincipals: [ram.amazonaws.com, fms.amazonaws.com, ram.amazonaws.com], ServiceToken: x}
"""


def test_d5_a_yaml_flow_mapping_value_is_not_cut_out_but_a_flow_list_element_is(tree: Path, capsys) -> None:
    """Probe 2d: the duplicate resource's principal is a mapping value, not a list element: it
    stays (and stays reported); the repeated element of the flow list inside a flow mapping goes."""
    (tree / "template.yaml").write_text(FLOW)
    code = run(["check", "tree", "--no-cache", "--fix"])
    captured = capsys.readouterr()
    repeated = "[ram.amazonaws.com, fms.amazonaws.com, ram.amazonaws.com]"
    expected = FLOW.replace(repeated, "[ram.amazonaws.com, fms.amazonaws.com]")
    assert (tree / "template.yaml").read_text() == expected
    assert "OT001" not in captured.out and "template.yaml:8:" in captured.out  # still reported
    assert "not an element of a list" in captured.err and code == 0


def test_d5_a_byte_order_mark_does_not_shift_line_one(tree: Path, capsys) -> None:
    """Probe 2d: a BOM file whose list is on line 1 was left as ["sso.amazonaws.com"", ...]."""
    source = (
        '\ufeffresource "aws_organizations_organization" "org" { aws_service_access_principals = '
        '["sso.amazonaws.com", "sso.amazonaws.com", "config.amazonaw.com"] }\n'
    )
    (tree / "main.tf").write_text(source, encoding="utf-8")
    code = run(["check", "tree", "--no-cache", "--fix"])
    out = capsys.readouterr().out
    assert (tree / "main.tf").read_text(encoding="utf-8") == source.replace(
        '"sso.amazonaws.com", "sso.amazonaws.com", "config.amazonaw.com"', '"sso.amazonaws.com", "config.amazonaws.com"'
    )
    assert "Fixed 2 problems in tree/main.tf." in out and "OT001" not in out and code == 0


def test_a_typo_inside_a_comma_delimited_default_is_not_rewritten_in_the_wrong_place(tree: Path, capsys) -> None:
    """The literal's place holds a whole list ("a, b"): a typo that is a prefix of the correct
    principal before it was 'fixed' at the first match, writing sso.amazonaws.comm."""
    text = """AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Principals:
    Type: CommaDelimitedList
    Default: "sso.amazonaws.com, sso.amazonaws.co"
Resources:
  Enable:
    Type: Custom::EnableAwsServiceAccess
    Properties:
      ServiceToken: arn:aws:lambda:us-east-1:111111111111:function:enable
      servicePrincipals: !Ref Principals
"""
    (tree / "template.yaml").write_text(text)
    run(["check", "tree", "--no-cache", "--fix"])
    captured = capsys.readouterr()
    assert (tree / "template.yaml").read_text() == text
    assert "sso.amazonaws.co'" in captured.out  # still reported


# ---- D6: a literal with several uses ---------------------------------------------------------


def test_d6_a_duplicate_in_a_shared_local_is_not_removed(tree: Path, capsys) -> None:
    """Probe 2e: removing guardduty from identity_services would also drop the delegated administrator."""
    text = """locals {
  security_services = ["guardduty.amazonaws.com", "securityhub.amazonaws.com"]
  identity_services = ["sso.amazonaws.com", "guardduty.amazonaws.com"]
}

resource "aws_organizations_organization" "org" {
  aws_service_access_principals = concat(local.security_services, local.identity_services)
}

resource "aws_organizations_delegated_administrator" "admins" {
  for_each          = toset(local.identity_services)
  account_id        = "111111111111"
  service_principal = each.value
}
"""
    (tree / "main.tf").write_text(text)
    code = run(["check", "tree", "--no-cache", "--fix"])
    captured = capsys.readouterr()
    assert (tree / "main.tf").read_text() == text
    assert "main.tf:3:45: OT102" in captured.out
    assert "is written in local.identity_services, which is used more than once in tree" in captured.err
    assert code == 0


def test_a_duplicate_in_a_local_or_tfvars_used_once_is_removed(tree: Path, capsys) -> None:
    """The other side of D6: a value with a single use is no more shared than an inline list."""
    (tree / "main.tf").write_text(
        'variable "extra" {}\n'
        "locals {\n"
        '  base = ["sso.amazonaws.com", "ram.amazonaws.com", "sso.amazonaws.com"]\n'
        "}\n"
        'resource "aws_organizations_organization" "org" {\n'
        "  aws_service_access_principals = concat(local.base, var.extra)\n"
        "}\n"
    )
    (tree / "terraform.tfvars").write_text('extra = [\n  "fms.amazonaws.com",\n  "fms.amazonaws.com", # twice\n]\n')
    run(["check", "tree", "--no-cache", "--fix"])
    assert "Fixed 2 problems in 2 files." in capsys.readouterr().out
    assert '  base = ["sso.amazonaws.com", "ram.amazonaws.com"]\n' in (tree / "main.tf").read_text()
    assert (tree / "terraform.tfvars").read_text() == 'extra = [\n  "fms.amazonaws.com",\n]\n'


def test_a_typo_behind_a_yaml_anchor_is_fixed_for_every_alias(tree: Path, capsys) -> None:
    text = """AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Enable:
    Type: Custom::EnableAwsServiceAccess
    Properties:
      ServiceToken: x
      servicePrincipal: &sp sso.amazonaws.cm
  Role:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument:
        Statement:
          - {Effect: Allow, Action: "organizations:*", Resource: "*",
             Condition: {StringEquals: {"organizations:ServicePrincipal": [*sp]}}}
"""
    (tree / "template.yaml").write_text(text)
    run(["check", "tree", "--no-cache", "--fix"])
    assert (tree / "template.yaml").read_text() == text.replace("&sp sso.amazonaws.cm", "&sp sso.amazonaws.com")
    assert "OT101" not in capsys.readouterr().out


# ---- D7: nothing outside the paths given -----------------------------------------------------


def test_d7_a_plan_is_never_rewritten(tree: Path, capsys) -> None:
    """Probe 2f: the plan (outside the tree) kept its bytes, and its typo is still reported."""
    plan = tree.parent / "plan.json"
    source = Path(__file__).resolve().parent.parent / "fixtures" / "plans" / "add-config.json"
    plan.write_text(source.read_text().replace('"guardduty.amazonaws.com"', '"guarduty.amazonaws.com"'))
    before = plan.read_bytes()
    (tree / "main.tf").write_text(_org("sso.amazonaws.com"))
    code = run(["check", "tree", "--plan", str(plan), "--no-cache", "--select", "OT101", "--fix"])
    captured = capsys.readouterr()
    assert plan.read_bytes() == before
    assert "guarduty.amazonaws.com" in captured.out and code == 1
    assert "plan.json is not one of the Terraform or CloudFormation files linted from the paths given" in captured.err


def test_d7_a_sibling_read_for_context_is_not_rewritten(tree: Path, capsys) -> None:
    """`check main.tf --fix` reads variables.tf for context but was not asked to change it."""
    (tree / "variables.tf").write_text('variable "extra" {\n  default = ["secruityhub.amazonaws.com"]\n}\n')
    (tree / "main.tf").write_text(
        'resource "aws_organizations_organization" "org" {\n  aws_service_access_principals = var.extra\n}\n'
    )
    before = (tree / "variables.tf").read_bytes()
    run(["check", "tree/main.tf", "--no-cache", "--fix"])
    assert (tree / "variables.tf").read_bytes() == before
    err = capsys.readouterr().err
    assert "variables.tf is not one of the Terraform or CloudFormation files linted from the paths given" in err


# ---- D18: the lint after the fix ---------------------------------------------------------------


def test_d18_the_lint_after_fixing_keeps_no_prefilter(tree: Path, capsys) -> None:
    """Probe 2i: a broken file that only --no-prefilter parses must still be reported after --fix."""
    (tree / "broken.tf").write_text('resource "null_resource" "x" {\n')
    (tree / "main.tf").write_text(_org("config.amazonaw.com"))
    code = run(["check", "tree", "--no-cache", "--no-prefilter", "--fix"])
    out = capsys.readouterr().out
    assert "Fixed 1 problem in tree/main.tf." in out
    assert "broken.tf:2:1: OT001" in out and code == 1


# ---- D19: links, permissions, ownership, encodings -------------------------------------------


def test_d19_a_symbolic_link_stays_a_link_and_its_target_outside_is_untouched(tree: Path, capsys) -> None:
    outside = tree.parent / "outside.tf"
    outside.write_text(_org("config.amazonaw.com"))
    (tree / "link.tf").symlink_to(outside)
    run(["check", "tree/link.tf", "--no-cache", "--fix"])
    captured = capsys.readouterr()
    assert (tree / "link.tf").is_symlink() and outside.read_text() == _org("config.amazonaw.com")
    assert "tree/link.tf is a symbolic link (fix the file it points to); left alone" in captured.err


def test_d19_a_symbolic_link_inside_the_tree_stays_a_link_and_its_target_is_fixed_once(tree: Path, capsys) -> None:
    (tree / "sub").mkdir()
    target = tree / "sub" / "target.tf"
    target.write_text(_org("config.amazonaw.com"))
    (tree / "link.tf").symlink_to("sub/target.tf")
    run(["check", "tree", "--no-cache", "--fix"])
    assert (tree / "link.tf").is_symlink()
    assert target.read_text() == _org("config.amazonaws.com")


def test_d19_hard_links_are_not_split(tree: Path, capsys) -> None:
    real = tree / "real.tf"
    real.write_text(_org("config.amazonaw.com"))
    outside = tree.parent / "outside.tf"
    os.link(real, outside)
    run(["check", "tree", "--no-cache", "--fix"])
    captured = capsys.readouterr()
    assert os.path.samefile(real, outside) and real.read_text() == _org("config.amazonaw.com")
    assert "tree/real.tf has 2 hard links, which a rewrite would split; left alone" in captured.err


def test_d19_a_read_only_file_is_left_alone(tree: Path, capsys) -> None:
    main = tree / "main.tf"
    main.write_text(_org("config.amazonaw.com"))
    main.chmod(0o444)
    code = run(["check", "tree", "--no-cache", "--fix"])
    captured = capsys.readouterr()
    assert main.read_text() == _org("config.amazonaw.com") and code == 1
    assert "tree/main.tf is read-only; left alone" in captured.err


def test_d19_owner_is_kept_and_setuid_setgid_are_dropped(tree: Path, capsys) -> None:
    """Probe 2g: root fixing a user's 4750 file made it root:root -rwsr-x---. (As another user
    the file is ours; the owner must stay as it was either way.)"""
    main = tree / "main.tf"
    main.write_text(_org("config.amazonaw.com"))
    if os.geteuid() == 0:
        os.chown(main, 4321, 4321)
    main.chmod(0o6750)
    owner = main.stat().st_uid, main.stat().st_gid
    run(["check", "tree", "--no-cache", "--fix"])
    assert main.read_text() == _org("config.amazonaws.com")
    status = main.stat()
    assert (status.st_uid, status.st_gid) == owner
    assert stat.S_IMODE(status.st_mode) == 0o750


def test_d19_a_file_that_stops_being_utf8_is_skipped_and_the_others_are_fixed(
    tree: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """Probe 2c: this used to end the whole fix step with an internal error, fixing nothing."""
    (tree / "a.tf").write_text(_org("config.amazonaw.com"))
    (tree / "b").mkdir()
    (tree / "b" / "main.tf").write_text(_org("securityhub"))
    _after_lint(monkeypatch, lambda: (tree / "a.tf").write_bytes(b"# \xff\xfe not UTF-8\n"))
    code = run(["check", "tree", "--no-cache", "--fix"])
    captured = capsys.readouterr()
    assert (tree / "a.tf").read_bytes() == b"# \xff\xfe not UTF-8\n"
    assert (tree / "b" / "main.tf").read_text() == _org("securityhub.amazonaws.com")
    assert "tree/a.tf changed since it was linted; left alone" in captured.err
    assert "internal error" not in captured.err and code == 1  # the lint after the fix reports a.tf


# ---- D21: linear ------------------------------------------------------------------------------


def test_d21_many_fixes_in_a_long_file_are_linear(tree: Path, capsys) -> None:
    """Probe 2h: every edit summed the lengths of all lines before it and rebuilt the whole text
    (1,000 duplicates below 150,000 lines took about 40 s); now line offsets are computed once
    and the new text is built in one pass."""
    header = "/* generated" + "\n" * 150_000 + "*/\n"
    (tree / "main.tf").write_text(header + _org("ram.amazonaws.com", *["sso.amazonaws.com"] * 1_000))
    started = time.monotonic()
    run(["check", "tree", "--no-cache", "--fix", "--jobs", "1"])
    elapsed = time.monotonic() - started
    assert (tree / "main.tf").read_text() == header + _org("ram.amazonaws.com", "sso.amazonaws.com")
    assert "Fixed 999 problems in tree/main.tf." in capsys.readouterr().out
    assert elapsed < 10, f"took {elapsed:.1f} s"
