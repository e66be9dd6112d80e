"""Valid YAML is never OT001: what cfn-lint's decoder rejects but a YAML parser composes is read
another way (org-formation's `<<: !Include`), or skipped with one note on stderr."""

from __future__ import annotations

from pathlib import Path

import pytest

from orgtrust_lint.cli import run

INCLUDE_MERGE = """AWSTemplateFormatVersion: '2010-09-09-OC'
Parameters:
  <<: !Include './_parameters.yml'
  <<: !Include './_more-parameters.yml'
Resources:
  Enable:
    Type: Community::Organizations::EnableAWSServiceAccess
    Properties:
      ServicePrincipal: config.amazonaw.com
"""


def _check(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = run(["check", "--no-cache", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_merge_key_on_a_tagged_scalar_is_read_not_ot001(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Three org-formation templates with `<<: !Include ./x.yml` (one merge key, or two) got OT001
    because cfn-lint's decoder rejects a merge of a tagged scalar; the rest of each is now checked."""
    (tmp_path / "template.yml").write_text(INCLUDE_MERGE)
    code, out, err = _check(capsys, str(tmp_path))
    assert "OT001" not in out and err == ""
    assert "OT101 [error] 'config.amazonaw.com'" in out and "template.yml:9:25" in out
    assert code == 1


def test_an_irrelevant_org_formation_template_is_skipped_quietly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The prefilter's well-formedness check composes the YAML: a merge of an include is fine."""
    (tmp_path / "organization.yml").write_text(
        "AWSTemplateFormatVersion: '2010-09-09-OC'\nParameters:\n  <<: !Include './_parameters.yml'\n"
        "Organization:\n  Root:\n    Type: OC::ORG::MasterAccount\n    Properties:\n      AccountName: root\n"
    )
    for flags in ((), ("--no-prefilter",)):
        code, out, err = _check(capsys, *flags, str(tmp_path))
        assert (code, err) == (0, ""), flags
        assert "OT001" not in out


def test_valid_yaml_that_is_no_template_is_skipped_with_one_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "two.yaml").write_text(
        "AWSTemplateFormatVersion: '2010-09-09-OC'\nParameters:\n  <<: !Include './_parameters.yml'\n"
        "Resources:\n  R:\n    Type: AWS::IAM::Role\n---\nsecond: document\n"
    )
    code, out, err = _check(capsys, "--no-prefilter", str(tmp_path))
    assert code == 0 and "OT001" not in out
    assert err.splitlines() == [
        f"orgtrust-lint: skipped {tmp_path / 'two.yaml'}: valid YAML that cfn-lint's decoder cannot read as one"
        " CloudFormation template; not linted"
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  R: [a\n", "did not find expected"),
        (
            "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  R:\n    Type: AWS::IAM::Role\n"
            "    Properties:\n      RoleName: a\n      RoleName: b\n",
            "Duplicate found 'RoleName'",
        ),
    ],
)
def test_broken_yaml_and_repeated_keys_stay_ot001(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    (tmp_path / "t.yaml").write_text(text)
    code, out, _ = _check(capsys, "--no-prefilter", str(tmp_path))
    assert code == 1 and "OT001" in out and message in out
