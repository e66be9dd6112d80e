"""Registry and git modules (issue 17, item 3): read through .terraform/modules/modules.json when
`terraform init` wrote it, and otherwise checked by the names of their arguments."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from orgtrust_lint.cli import run

REPO = Path(__file__).resolve().parent.parent
FIXTURE = REPO / "fixtures" / "terraform" / "remote-modules"

ORGANIZATION_MODULE = """variable "service_access_principals" {
  type    = list(string)
  default = []
}

resource "aws_organizations_organization" "this" {
  feature_set                   = "ALL"
  aws_service_access_principals = var.service_access_principals
}
"""


@pytest.fixture
def repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The remote-modules fixture as a repository of its own, run from its top."""
    root = tmp_path / "repo"
    shutil.copytree(FIXTURE, root)
    (root / ".git").mkdir()
    monkeypatch.chdir(root)
    return root


def _findings(capsys: pytest.CaptureFixture[str], *paths: str, cache: bool = False) -> set[tuple[str, int, str]]:
    run(["check", "--format", "json", *([] if cache else ["--no-cache"]), *paths])
    report = json.loads(capsys.readouterr().out)
    return {(f["path"], f["line"], f["rule"]) for f in report["findings"]}


def _manifest(directory: Path, entries: dict[str, str]) -> None:
    modules = [{"Key": "", "Source": "", "Dir": "."}]
    modules += [{"Key": key, "Source": f"registry.terraform.io/acme/{key}/aws", "Dir": d} for key, d in entries.items()]
    (directory / ".terraform" / "modules").mkdir(parents=True, exist_ok=True)
    (directory / ".terraform" / "modules" / "modules.json").write_text(json.dumps({"Modules": modules}))


def test_a_registry_module_is_read_where_terraform_init_put_it(
    repository: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The manifest binds the arguments into the downloaded module: a principal the catalog does not
    know is an error where the caller writes it, and the organization it declares decides OT301."""
    assert _findings(capsys, "with-manifest") == {
        ("with-manifest/main.tf", 11, "OT101"),
        ("with-manifest/main.tf", 17, "OT301"),
    }
    # Without the manifest the module's code is unknown: the real service's name is not a near miss.
    shutil.rmtree(repository / "with-manifest" / ".terraform")
    assert _findings(capsys, "with-manifest") == set()


def test_the_pre_commit_form_reads_the_registry_module_too(
    repository: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _findings(capsys, "with-manifest/main.tf") == _findings(capsys, "with-manifest")


def test_without_a_manifest_only_near_misses_in_arguments_named_like_principals_fire(
    repository: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """guarduty (a near miss, in *principals) and iam.amazonaws.co (delegated_administrators[*].service_principal)
    fire; mediaconvert.amazonaws.com (well formed, unknown) and a typo under `tags` do not."""
    assert _findings(capsys, "without-manifest") == {
        ("without-manifest/main.tf", 12, "OT101"),
        ("without-manifest/main.tf", 21, "OT101"),
    }


def test_a_module_argument_is_not_malformed_for_holding_an_arn_or_a_bare_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A registry IAM module's trusted_role_principals holds ARNs, and a module may append the domain
    itself: neither is OT103. A known principal in the wrong case still is."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "main.tf").write_text(
        'module "role" {\n  source = "acme/role/aws"\n'
        '  trusted_role_principals = ["arn:aws:iam::111111111111:root", "config", "*"]\n'
        '  service_principals      = ["SSO.amazonaws.com"]\n}\n'
    )
    monkeypatch.chdir(tmp_path)
    assert _findings(capsys, ".") == {("main.tf", 4, "OT103")}


def test_findings_inside_the_downloaded_module_are_not_reported(
    repository: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The module under .terraform is read for its caller's context: a typo in its own code is the
    module author's, as in any module read only for context."""
    module = repository / "with-manifest" / ".terraform" / "modules" / "organization" / "main.tf"
    module.write_text(module.read_text().replace("default = []", 'default = ["guarduty.amazonaws.com"]'))
    main = repository / "with-manifest" / "main.tf"
    main.write_text(main.read_text().replace("  service_access_principals = [", "  extra = [", 1))
    found = _findings(capsys, "with-manifest")
    assert not any(".terraform" in path for path, _, _ in found)


def test_a_registry_module_calling_another_is_followed_by_its_dotted_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """modules.json keys are the module names from the root: "platform.organization" is the module
    "organization" that the registry module "platform" calls."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "main.tf").write_text(
        'module "platform" {\n  source = "acme/platform/aws"\n'
        '  principals = ["securityhub.amazonaws.com", "kinesis.amazonaws.com"]\n}\n'
    )
    platform = tmp_path / ".terraform" / "modules" / "platform"
    platform.mkdir(parents=True)
    (platform / "main.tf").write_text(
        'variable "principals" {}\nmodule "organization" {\n  source = "acme/organization/aws"\n'
        "  service_access_principals = var.principals\n}\n"
    )
    organization = tmp_path / ".terraform" / "modules" / "platform.organization"
    organization.mkdir()
    (organization / "main.tf").write_text(ORGANIZATION_MODULE)
    _manifest(
        tmp_path,
        {
            "platform": ".terraform/modules/platform",
            "platform.organization": ".terraform/modules/platform.organization",
        },
    )
    monkeypatch.chdir(tmp_path)
    # kinesis.amazonaws.com is a real service without trusted access: an error only where the code is read.
    assert _findings(capsys, ".") == {("main.tf", 3, "OT101")}


def test_the_cache_sees_a_changed_manifest(repository: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """modules.json is part of what a configuration's facts depend on: pointing a key elsewhere is a miss."""
    assert ("with-manifest/main.tf", 11, "OT101") in _findings(capsys, "with-manifest", cache=True)
    _manifest(repository / "with-manifest", {"organization": ".terraform/modules/elsewhere"})
    assert _findings(capsys, "with-manifest", cache=True) == set()
