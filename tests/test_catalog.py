"""The principal catalog: schema-valid, sourced, and a good judge of near misses."""

from __future__ import annotations

import copy
import json
from importlib import resources

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orgtrust_lint.catalog import Catalog, edit_distance, load_yaml
from orgtrust_lint.schema_check import DataFileError, validate


def _raw() -> tuple[dict, dict]:
    package = resources.files("orgtrust_lint.data")
    data = load_yaml(package.joinpath("catalog.yaml").read_bytes())
    schema = json.loads(package.joinpath("catalog.schema.json").read_text())
    return data, schema


def test_catalog_validates_against_its_schema() -> None:
    data, schema = _raw()
    validate(data, schema, "catalog")  # raises on the first problem


def test_schema_rejects_an_entry_without_sources() -> None:
    data, schema = _raw()
    broken = copy.deepcopy(data)
    broken["services"][0]["sources"] = []
    with pytest.raises(DataFileError, match="sources"):
        validate(broken, schema, "catalog")


def test_schema_rejects_a_disputed_entry_without_the_dispute() -> None:
    data, schema = _raw()
    broken = copy.deepcopy(data)
    broken["services"][0]["status"] = "disputed"
    broken["services"][0]["dispute"] = None
    with pytest.raises(DataFileError):
        validate(broken, schema, "catalog")


def test_every_entry_cites_public_aws_documentation() -> None:
    data, _ = _raw()
    for entry in data["services"]:
        assert entry["sources"], entry["principal"]
        assert any(url.startswith("https://docs.aws.amazon.com/") for url in entry["sources"]), entry["principal"]
        for integration in entry["integrations"]:
            assert integration["source"].startswith("https://"), (entry["principal"], integration["resource"])


def test_catalog_covers_the_organizations_list_and_is_consistent() -> None:
    catalog = Catalog.load()
    principals = [e["principal"] for e in catalog.data["services"]]
    assert len(principals) == len(set(principals)), "duplicate principal"
    assert len(principals) >= 50
    confirmed = {p for p, e in catalog.entries.items() if e["status"] == "confirmed"}
    for known in ("sso.amazonaws.com", "config.amazonaws.com", "controltower.amazonaws.com", "fms.amazonaws.com"):
        assert known in confirmed
    for wrong, item in catalog.misspellings.items():
        assert item["correct"] in catalog.entries, wrong
        assert wrong not in catalog.entries
    for string, item in catalog.unconfirmed.items():
        assert string not in catalog.entries, "an unconfirmed string must not be a catalog principal"
        assert item["related"] is None or item["related"] in catalog.entries
    for entry in catalog.entries.values():
        assert entry["prefer"] is None or entry["prefer"] in catalog.entries


def test_disputed_facts_are_recorded_not_resolved() -> None:
    catalog = Catalog.load()
    disputed = [e for e in catalog.entries.values() if e["status"] == "disputed"]
    assert disputed, "the research sheet records disputed principals"
    assert all(e["dispute"] for e in disputed)


@pytest.mark.parametrize(
    ("typo", "meant"),
    [
        ("config.amazonaw.com", "config.amazonaws.com"),
        ("macie2.amazonaws.com", "macie.amazonaws.com"),
        ("guarduty.amazonaws.com", "guardduty.amazonaws.com"),
        ("inspector.amazonaws.com", "inspector2.amazonaws.com"),
        ("securtyhub.amazonaws.com", "securityhub.amazonaws.com"),
        ("trustedadvisor.amazonaws.com", "reporting.trustedadvisor.amazonaws.com"),
        ("aws-artifact-acount-sync.amazonaws.com", "aws-artifact-account-sync.amazonaws.com"),
    ],
)
def test_did_you_mean(typo: str, meant: str) -> None:
    assert Catalog.load().suggestions(typo) == [meant]


def test_no_suggestion_for_an_unrelated_name() -> None:
    assert Catalog.load().suggestions("lambda.amazonaws.com") == []


@pytest.mark.parametrize(
    ("name", "near_miss"),
    [
        ("guarduty.amazonaws.com", True),
        ("config.amazonaw.com", True),
        ("autoscaling.amazonaws.com", False),
        ("ecs.amazonaws.com", False),
        ("inspector.amazonaws.com", False),
        ("elasticloadbalancing.amazonaws.com", False),
    ],
)
def test_near_miss_for_service_linked_role_names(name: str, near_miss: bool) -> None:
    assert Catalog.load().is_near_miss(name) is near_miss


def test_edit_distance_counts_transpositions_once() -> None:
    assert edit_distance("conifg", "config") == 1
    assert edit_distance("abc", "abc") == 0
    assert edit_distance("", "abc") == 3


def _textbook_distance(a: str, b: str) -> int:
    """The full-matrix optimal string alignment distance, as the textbook writes it."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


@settings(max_examples=400, derandomize=True, deadline=None)
@given(st.text("abc.", max_size=10), st.text("abc.", max_size=10), st.integers(0, 5))
def test_banded_edit_distance_is_exact_within_its_limit(a: str, b: str, limit: int) -> None:
    """D21's speed-up (band, early exit, common prefix and suffix) changes no suggestion."""
    full = _textbook_distance(a, b)
    assert edit_distance(a, b, limit) == (full if full <= limit else limit + 1)
