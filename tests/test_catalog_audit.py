"""The catalog audit of 2026-12-02 (shared/research/catalog-audit.md), as a user meets it.

Principals AWS accepts are no longer OT101 errors, the disputes the audit settles are settled,
and the integrations it adds (some needing the new `when` forms) are recognised in Terraform and
CloudFormation.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from orgtrust_lint.catalog import Catalog
from orgtrust_lint.cli import run
from orgtrust_lint.config import Config
from orgtrust_lint.lint import check

ADDED = (
    "ssm-quicksetup.amazonaws.com",
    "account-access.amazonaws.com",
    "agent-registry.amazonaws.com",
    "agentless.inspector2.amazonaws.com",
    "network-security-director.amazonaws.com",
)


def _findings(tmp_path: Path, files: dict[str, str], *rules: str) -> list[tuple[str, int, str]]:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    result = check([str(tmp_path)], Config(ignore=("OT105",)))
    return [(f.rule, f.location.line, f.message) for f in result.findings if not rules or f.rule in rules]


def _org(*principals: str, extra: str = "") -> str:
    listed = ", ".join(f'"{p}"' for p in principals)
    head = 'resource "aws_organizations_organization" "org" {\n'
    return f"{head}  aws_service_access_principals = [{listed}]\n{extra}}}\n"


@pytest.mark.parametrize("principal", ADDED)
def test_added_principal_is_shown_with_its_sources(principal: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["services", principal]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{principal}: ")
    for url in Catalog.load().entry(principal)["sources"]:  # type: ignore[index]
        assert url in out


def test_added_principals_are_no_ot101_in_any_position(tmp_path: Path) -> None:
    """The unified-console setup (ssm-quicksetup), account access manager and Agent Registry were
    false OT101 errors, and so was AWS's own managed policy condition for agentless scanning."""
    files = {
        "main.tf": _org("ssm-quicksetup.amazonaws.com", "account-access.amazonaws.com", "agent-registry.amazonaws.com")
        + 'resource "aws_organizations_delegated_administrator" "qs" {\n'
        '  account_id        = "111111111111"\n  service_principal = "ssm-quicksetup.amazonaws.com"\n}\n'
        'data "aws_iam_policy_document" "inspector" {\n  statement {\n'
        '    actions   = ["organizations:EnableAWSServiceAccess"]\n    resources = ["*"]\n'
        '    condition {\n      test     = "StringEquals"\n      variable = "organizations:ServicePrincipal"\n'
        '      values   = ["inspector2.amazonaws.com", "agentless.inspector2.amazonaws.com",'
        ' "network-security-director.amazonaws.com"]\n    }\n  }\n}\n'
    }
    assert _findings(tmp_path, files) == []


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("main.tf", _org("notifications.amazon.com")),
        (
            "template.yaml",
            "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  Enable:\n"
            "    Type: Custom::EnableAwsServiceAccess\n    Properties:\n"
            "      ServiceToken: arn:aws:lambda:us-east-1:111111111111:function:enable\n"
            "      ServicePrincipal: notifications.amazon.com\n",
        ),
    ],
)
def test_notifications_dispute_is_settled(tmp_path: Path, name: str, text: str) -> None:
    catalog = Catalog.load()
    assert catalog.entry("notifications.amazonaws.com")["status"] == "confirmed"  # type: ignore[index]
    assert catalog.entry("notifications.amazon.com") is None
    found = _findings(tmp_path, {name: text}, "OT101")
    assert len(found) == 1
    assert "did you mean 'notifications.amazonaws.com'?" in found[0][2]
    assert "documentation typo" in found[0][2]


def test_backup_delegated_administrator_dispute_is_settled() -> None:
    entry = Catalog.load().entry("backup.amazonaws.com")
    assert entry is not None
    assert entry["delegated_admin"]["principal"] == "backup.amazonaws.com"
    assert all(fact["fact"] != "delegated_admin" for fact in entry["disputed_facts"])


def test_stacksets_dispute_is_kept() -> None:
    entry = Catalog.load().entry("stacksets.cloudformation.amazonaws.com")
    assert entry is not None and entry["status"] == "disputed"


@pytest.mark.parametrize(
    ("principal", "field", "expected"),
    [
        ("mgn.amazonaws.com", ("delegated_admin", "principal"), "mgn.amazonaws.com"),
        ("cost-optimization-hub.bcm.amazonaws.com", ("enable", "recommended_from"), "either"),
        ("resource-explorer-2.amazonaws.com", ("enable", "recommended_from"), "trusted-service"),
        ("security-ir.amazonaws.com", ("delegated_admin", "principal"), "security-ir.amazonaws.com"),
        ("ssm.amazonaws.com", ("delegated_admin", "principal"), "ssm.amazonaws.com"),
        ("eks.amazonaws.com", ("delegated_admin", "principal"), "eks.amazonaws.com"),
        ("securitylake.amazonaws.com", ("delegated_admin", "principal"), "securitylake.amazonaws.com"),
        ("observabilityadmin.amazonaws.com", ("delegated_admin", "principal"), "observabilityadmin.amazonaws.com"),
        ("malware-protection.guardduty.amazonaws.com", ("delegated_admin", "supported"), "yes"),
    ],
)
def test_metadata_corrections(principal: str, field: tuple[str, str], expected: str) -> None:
    entry = Catalog.load().entry(principal)
    assert entry is not None and entry[field[0]][field[1]] == expected


@pytest.mark.parametrize(
    ("resource", "self_enabling"),
    [
        ("aws_costoptimizationhub_enrollment_status", True),
        ("aws_servicequotas_template_association", True),
        ("aws_detective_organization_admin_account", True),
        ("AWS::SecurityHub::DelegatedAdmin", True),
    ],
)
def test_self_enabling_corrections_are_checked(resource: str, self_enabling: bool) -> None:
    specs = [s for s in Catalog.load().integration_specs if s.resource == resource]
    assert specs and all(s.self_enabling is self_enabling for s in specs)


def test_account_id_set_relies_on_account_management(tmp_path: Path) -> None:
    files = {
        "main.tf": _org("sso.amazonaws.com")
        + 'resource "aws_account_alternate_contact" "ops" {\n  account_id = "222222222222"\n'
        '  alternate_contact_type = "OPERATIONS"\n  name = "Ops"\n  title = "Ops"\n'
        '  email_address = "ops@example.com"\n  phone_number = "+100"\n}\n'
        'resource "aws_account_primary_contact" "own" {\n  full_name = "Me"\n}\n'  # its own account: no account_id
    }
    found = _findings(tmp_path, files, "OT301")
    assert [(line, "account.amazonaws.com" in message) for _, line, message in found] == [(4, True)]
    assert "account_id is set" in found[0][2]


def test_security_hub_policy_type_keeps_security_hub_enabled(tmp_path: Path) -> None:
    extra = '  enabled_policy_types = ["SERVICE_CONTROL_POLICY", "SECURITYHUB_POLICY"]\n'
    found = _findings(tmp_path, {"main.tf": _org("sso.amazonaws.com", extra=extra)}, "OT301")
    assert len(found) == 1 and "'securityhub.amazonaws.com'" in found[0][2]
    assert "enabled_policy_types includes SECURITYHUB_POLICY" in found[0][2]
    assert _findings(tmp_path, {"main.tf": _org("securityhub.amazonaws.com", extra=extra)}, "OT301") == []


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def test_security_hub_policy_type_binds_the_disable_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """DisableAWSServiceAccess fails while SECURITYHUB_POLICY is enabled: removing the principal
    while the policy type stays is OT302."""
    extra = '  enabled_policy_types = ["SECURITYHUB_POLICY"]\n'
    _git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "main.tf").write_text(_org("securityhub.amazonaws.com", "sso.amazonaws.com", extra=extra))
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-q", "-m", "base")
    (tmp_path / "main.tf").write_text(_org("sso.amazonaws.com", extra=extra))
    monkeypatch.chdir(tmp_path)
    assert run(["check", "--base", "HEAD", "--ignore", "OT105", "--select", "OT302", "main.tf"]) == 1
    out = capsys.readouterr().out
    assert "OT302" in out and "securityhub.amazonaws.com" in out and "aws_organizations_organization.org" in out


def test_ram_sharing_with_an_organization_arn(tmp_path: Path) -> None:
    files = {
        "main.tf": _org("sso.amazonaws.com") + 'resource "aws_ram_principal_association" "org" {\n'
        "  principal          = aws_organizations_organization.org.arn\n"
        "  resource_share_arn = aws_ram_resource_share.share.arn\n}\n"
        'resource "aws_ram_principal_association" "account" {\n'
        '  principal          = "333333333333"\n'
        "  resource_share_arn = aws_ram_resource_share.share.arn\n}\n"
    }
    found = _findings(tmp_path, files, "OT301")
    assert [(line, "'ram.amazonaws.com'" in message) for _, line, message in found] == [(4, True)]


def _cfn_enable(principal: str) -> str:
    return (
        "  Enable:\n    Type: Custom::EnableAwsServiceAccess\n    Properties:\n"
        "      ServiceToken: arn:aws:lambda:us-east-1:111111111111:function:enable\n"
        f"      ServicePrincipal: {principal}\n"
    )


def test_cloudformation_ram_share_and_agent_registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Templates have no whole list, so what relies on a principal shows when a change drops the
    principal's enable (OT302): an organization share and an organization-wide registry do, a
    local registry does not."""
    resources = (
        "  Share:\n    Type: AWS::RAM::ResourceShare\n    Properties:\n      Name: share\n"
        "      Principals:\n"
        "        - !Sub arn:${AWS::Partition}:organizations::${AWS::AccountId}:organization/${OrgId}\n"
        "  Registry:\n    Type: AWS::AgentRegistry::Registry\n    Properties:\n      Name: registry\n"
        "      AutoDetectionEnabled: true\n      AutoDetectionScope: ORGANIZATION\n"
        "  LocalRegistry:\n    Type: AWS::AgentRegistry::Registry\n    Properties:\n      Name: local\n"
    )
    head = "AWSTemplateFormatVersion: '2010-09-09'\nParameters:\n  OrgId:\n    Type: String\nResources:\n"
    relied = {}
    for principal in ("ram.amazonaws.com", "agent-registry.amazonaws.com"):
        repo = tmp_path / principal
        repo.mkdir()
        _git(repo, "init", "-q")
        (repo / "template.yaml").write_text(head + _cfn_enable(principal) + resources)
        _git(repo, "add", "-A")
        _git(repo, "commit", "-q", "-m", "base")
        (repo / "template.yaml").write_text(head + resources)
        monkeypatch.chdir(repo)
        assert run(["check", "--base", "HEAD", "--ignore", "OT105", "--select", "OT302", "--format", "json"]) == 1
        found = json.loads(capsys.readouterr().out)["findings"]
        relied[principal] = [f["message"] for f in found]
    assert len(relied["ram.amazonaws.com"]) == 1 and "Share" in relied["ram.amazonaws.com"][0]
    assert "LocalRegistry" not in relied["agent-registry.amazonaws.com"][0]
    assert "Registry" in relied["agent-registry.amazonaws.com"][0]


def test_terraform_observability_admin_organization_rules(tmp_path: Path) -> None:
    files = {
        "main.tf": _org("sso.amazonaws.com")
        + 'resource "aws_observabilityadmin_telemetry_rule_for_organization" "r" {\n  rule_name = "r"\n}\n'
    }
    found = _findings(tmp_path, files, "OT301")
    assert len(found) == 1 and "'observabilityadmin.amazonaws.com'" in found[0][2]


def test_inferred_integrations_stay_silent(tmp_path: Path) -> None:
    """What the audit marks inferred or unconfirmed never fires (a TAG_POLICY type, a Control Tower
    landing zone, an organization configuration)."""
    extra = '  enabled_policy_types = ["TAG_POLICY"]\n'
    files = {
        "main.tf": _org("sso.amazonaws.com", extra=extra)
        + 'resource "aws_controltower_landing_zone" "lz" {\n  version = "3.3"\n  manifest_json = "{}"\n}\n'
        + 'resource "aws_guardduty_organization_configuration" "gd" {\n  detector_id = "d"\n}\n'
    }
    assert _findings(tmp_path, files, "OT301") == []


# ---- unconfirmed is not an error ------------------------------------------------------------


def test_unconfirmed_string_is_a_warning_with_its_note(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A string the catalog records as unconfirmed says what is known about it, as a warning: the
    run passes (fail-on error) and --fix leaves it alone. A string nobody recorded stays an error."""
    (tmp_path / "main.tf").write_text(_org("accountdiscovery.ssm.amazonaws.com", "tag.amazonaws.com"))
    assert run(["check", "--no-cache", "--ignore", "OT105", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "OT101 [warning] 'accountdiscovery.ssm.amazonaws.com' is not a known trusted-access service principal" in out
    assert "did you mean 'ssm.amazonaws.com'? (recorded as unconfirmed: Trust principal of the service-linked" in out
    assert "'tag.amazonaws.com'" in out and "TagGovernancePolicy" in out
    assert "[error]" not in out
    before = (tmp_path / "main.tf").read_text()
    run(["check", "--no-cache", "--fix", "--ignore", "OT105", str(tmp_path)])
    assert (tmp_path / "main.tf").read_text() == before
    (tmp_path / "main.tf").write_text(_org("never-recorded.amazonaws.com"))
    assert run(["check", "--no-cache", "--ignore", "OT105", str(tmp_path)]) == 1
    assert "OT101 [error] 'never-recorded.amazonaws.com'" in capsys.readouterr().out


def test_unconfirmed_slr_names_are_fine_as_service_linked_roles(tmp_path: Path) -> None:
    files = {
        "main.tf": 'resource "aws_iam_service_linked_role" "dashboard" {\n'
        '  aws_service_name = "dashboard.eks.amazonaws.com"\n}\n'
        'resource "aws_iam_service_linked_role" "discovery" {\n'
        '  aws_service_name = "accountdiscovery.ssm.amazonaws.com"\n}\n'
    }
    assert _findings(tmp_path, files) == []


# ---- "did you mean" for the shapes of mistakes seen in public code --------------------------

SHAPES = [
    # a subdomain label left out: shipped in a public landing zone
    ("cost-optimization-hub.amazonaws.com", "cost-optimization-hub.bcm.amazonaws.com"),
    ("storage-lens.amazonaws.com", "storage-lens.s3.amazonaws.com"),
    ("capacitymanager.amazonaws.com", "ec2.capacitymanager.amazonaws.com"),
    # a subdomain label added
    ("sso.aws.amazonaws.com", "sso.amazonaws.com"),
    ("config.organizations.amazonaws.com", "config.amazonaws.com"),
    # the leading member.org. or reporting. left out (or half of it)
    ("org.stacksets.cloudformation.amazonaws.com", "member.org.stacksets.cloudformation.amazonaws.com"),
    ("member.stacksets.cloudformation.amazonaws.com", "member.org.stacksets.cloudformation.amazonaws.com"),
    ("trustedadvisor.amazonaws.com", "reporting.trustedadvisor.amazonaws.com"),
    # amazon.com for amazonaws.com
    ("sso.amazon.com", "sso.amazonaws.com"),
    ("cost-optimization-hub.bcm.amazon.com", "cost-optimization-hub.bcm.amazonaws.com"),
]


@pytest.mark.parametrize(("written", "meant"), SHAPES)
def test_shape_suggestion(written: str, meant: str) -> None:
    assert Catalog.load().suggestions(written) == [meant]


def test_shape_suggestions_stay_quiet_for_unrelated_names() -> None:
    catalog = Catalog.load()
    assert catalog.suggestions("lambda.amazonaws.com") == []
    assert catalog.suggestions("events.amazon.com") == []
    assert len(catalog.suggestions("marketplace.amazonaws.com")) == 3  # three marketplace principals: no fix


# trustedadvisor.amazonaws.com is a recorded misspelling the catalog hedges ("used in third-party
# tooling"): its suggestion is shown but never written (first-use review, minor 19).
HEDGED = "trustedadvisor.amazonaws.com"


def _fixed(written: str, meant: str) -> str:
    return written if written == HEDGED else meant


def test_fix_applies_each_shape_with_one_candidate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "main.tf").write_text(_org(*(written for written, _ in SHAPES), "marketplace.amazonaws.com"))
    run(["check", "--no-cache", "--fix", "--ignore", "OT105,OT102", str(tmp_path)])
    out = capsys.readouterr().out
    assert f"Fixed {len(SHAPES) - 1} problems in " in out
    fixed = _org(*(_fixed(w, m) for w, m in SHAPES), "marketplace.amazonaws.com")
    assert (tmp_path / "main.tf").read_text() == fixed
    assert "did you mean one of 'license-management.marketplace.amazonaws.com'" in out  # left as it is


def _enable_template(*principals: str) -> str:
    resources = "".join(
        f"  Enable{index}:\n    Type: Custom::EnableAwsServiceAccess\n    Properties:\n"
        f"      ServiceToken: arn:aws:lambda:us-east-1:111111111111:function:enable\n"
        f"      ServicePrincipal: {principal}\n"
        for index, principal in enumerate(principals)
    )
    return f"AWSTemplateFormatVersion: '2010-09-09'\nResources:\n{resources}"


def test_shapes_unconfirmed_and_added_principals_in_cloudformation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = tmp_path / "enable.yaml"
    written = [w for w, _ in SHAPES]
    template.write_text(_enable_template(*written, "split-cost-allocation-data.bcm.amazonaws.com", *ADDED))
    result = check([str(tmp_path)], Config(ignore=("OT105",)))
    severities = {(f.principal, f.severity.value) for f in result.findings if f.rule == "OT101"}
    assert severities == {
        *((w, "error") for w in written),
        ("split-cost-allocation-data.bcm.amazonaws.com", "warning"),
    }
    run(["check", "--no-cache", "--fix", "--ignore", "OT105", str(tmp_path)])
    assert f"Fixed {len(SHAPES) - 1} problems in " in capsys.readouterr().out
    expected = _enable_template(
        *(_fixed(w, m) for w, m in SHAPES), "split-cost-allocation-data.bcm.amazonaws.com", *ADDED
    )
    assert template.read_text() == expected


def test_delegated_administrator_for_any_principal_relies_on_trusted_access(tmp_path: Path) -> None:
    """Registering a delegated administrator needs trusted access first (SERVICE_ACCESS_NOT_ENABLED),
    for every principal, the ones the audit added too, in Terraform and CloudFormation."""
    (tmp_path / "main.tf").write_text(
        _org("sso.amazonaws.com") + 'resource "aws_organizations_delegated_administrator" "qs" {\n'
        '  account_id        = "111111111111"\n  service_principal = "ssm-quicksetup.amazonaws.com"\n}\n'
    )
    # The templates enable sso one principal at a time: not a whole list, so the registration
    # there is not reported (agent-registry may be enabled elsewhere).
    (tmp_path / "admin.yaml").write_text(
        "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n"
        "  EnableSso:\n    Type: Community::Organizations::EnableAWSServiceAccess\n    Properties:\n"
        "      ServicePrincipal: sso.amazonaws.com\n"
        "  Registry:\n    Type: Community::Organizations::DelegatedAdmin\n    Properties:\n"
        "      AccountId: '111111111111'\n      ServicePrincipal: agent-registry.amazonaws.com\n"
    )
    found = _findings(tmp_path, {}, "OT301")
    relied = sorted((Path(path).name, principal) for path, principal in _ot301_places(tmp_path))
    assert relied == [("main.tf", "ssm-quicksetup.amazonaws.com")]
    assert all(
        "a delegated administrator can only be registered while trusted access is enabled" in m for *_, m in found
    )


def test_a_template_registration_relies_on_the_enable_a_change_drops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """In a template the reliance of a delegated administrator (any principal, an added one too)
    shows when a change removes the principal's enable and keeps the registration (OT302)."""
    _git(tmp_path, "init", "-q")
    enable = (
        "  EnableRegistry:\n    Type: Community::Organizations::EnableAWSServiceAccess\n    Properties:\n"
        "      ServicePrincipal: agent-registry.amazonaws.com\n"
    )
    head = "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n"
    registry = (
        "  Registry:\n    Type: Community::Organizations::DelegatedAdmin\n    Properties:\n"
        "      AccountId: '111111111111'\n      ServicePrincipal: agent-registry.amazonaws.com\n"
    )
    (tmp_path / "admin.yaml").write_text(head + enable + registry)
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-q", "-m", "base")
    (tmp_path / "admin.yaml").write_text(head + registry)
    monkeypatch.chdir(tmp_path)
    assert run(["check", "--base", "HEAD", "--select", "OT302", "--format", "json", "--no-cache"]) == 1
    found = json.loads(capsys.readouterr().out)["findings"]
    assert [(f["principal"], "Registry" in f["message"]) for f in found] == [("agent-registry.amazonaws.com", True)]


def _ot301_places(tmp_path: Path) -> list[tuple[str, str]]:
    result = check([str(tmp_path)], Config(ignore=("OT105",)))
    return [(f.location.path, f.principal or "") for f in result.findings if f.rule == "OT301"]
