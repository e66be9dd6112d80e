"""The principal catalog (data/catalog.yaml, checked against data/catalog.schema.json).

Knows which strings are trusted-access service principals, what AWS documents about each,
which IaC resources rely on them, and which known principal a near miss most likely meant.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from orgtrust_lint.schema_check import cache_dir, validate_cached, write_atomically

AWS_DOMAINS = ("amazonaws.com", "amazon.com", "amazonaws.com.cn")


@dataclass(frozen=True)
class IntegrationSpec:
    principal: str
    format: str
    resource: str
    when: dict[str, Any]
    self_enabling: bool
    source: str


DATA_DIRECTORY = Path(__file__).parent / "data"


class InvalidYaml(ValueError):
    """Raised by load_yaml, so callers need not import yaml just to catch its errors."""

    def __init__(self, line: int | None, detail: str = "") -> None:
        super().__init__(f"not valid YAML{f' at line {line}' if line else ''}{f' ({detail})' if detail else ''}")


def load_yaml(raw: bytes) -> Any:
    """Parse YAML, or take the result from the cache when this exact content was parsed before:
    the catalog and rule files take about 30 ms to parse, a tenth of a pre-commit run's budget."""
    import hashlib
    import pickle

    entry = cache_dir() / "yaml" / hashlib.sha256(raw).hexdigest()
    try:
        return pickle.loads(entry.read_bytes())
    except Exception:
        pass  # not cached yet, or an entry we cannot read: parse
    import yaml

    try:
        data = yaml.load(raw, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InvalidYaml(mark.line + 1 if mark else None) from None
    except ValueError as exc:  # a value YAML recognises but cannot build, such as 2027-02-30
        # Python quotes the text in some of these ("invalid literal for int(): 'x'"): the file
        # may be anything a configuration's `extend` names, so say only what is wrong, never what.
        quotes = re.search("['\"]", str(exc))
        raise InvalidYaml(None, "a value it cannot build" if quotes else str(exc)) from None
    except (TypeError, AttributeError, KeyError):  # a tag on a value it does not fit (!!bool x)
        raise InvalidYaml(None, "a value it cannot build") from None
    write_atomically(entry, pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL))
    return data


def edit_distance(a: str, b: str, limit: int = 99) -> int:
    """Optimal string alignment distance (Levenshtein plus adjacent transpositions)."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


def split_principal(value: str) -> tuple[str, str]:
    """('config', 'amazonaws.com') for 'config.amazonaws.com'; the domain is the last two labels."""
    for domain in sorted(AWS_DOMAINS, key=len, reverse=True):
        if value.endswith("." + domain):
            return value[: -len(domain) - 1], domain
    head, _, tail = value.rpartition(".")
    service, _, second = head.rpartition(".")
    return (service, f"{second}.{tail}") if service else (head, tail)


class Catalog:
    def __init__(self, data: dict[str, Any], extra_principals: tuple[str, ...] = ()) -> None:
        self.data = data
        self.version: str = data["catalog_version"]
        self.entries: dict[str, dict[str, Any]] = {e["principal"]: e for e in data["services"]}
        self.extra_principals = frozenset(extra_principals)
        self.misspellings: dict[str, dict[str, Any]] = {m["wrong"]: m for m in data.get("misspellings", [])}
        self.unconfirmed: dict[str, dict[str, Any]] = {u["string"]: u for u in data.get("unconfirmed", [])}

    @classmethod
    def load(cls, extra_principals: tuple[str, ...] = ()) -> Catalog:
        raw = (DATA_DIRECTORY / "catalog.yaml").read_bytes()
        schema = json.loads((DATA_DIRECTORY / "catalog.schema.json").read_text(encoding="utf-8"))
        data = load_yaml(raw)
        validate_cached(raw, data, schema, "the principal catalog")
        return cls(data, extra_principals)

    def is_known(self, principal: str) -> bool:
        return principal in self.entries or principal in self.extra_principals

    def entry(self, principal: str) -> dict[str, Any] | None:
        return self.entries.get(principal)

    @cached_property
    def known(self) -> tuple[str, ...]:
        return tuple(sorted({*self.entries, *self.extra_principals}))

    def suggestions(self, value: str) -> list[str]:
        """Known principals the value most likely meant, best first (several on a tie)."""
        if value in self.misspellings:
            return [self.misspellings[value]["correct"]]
        unconfirmed = self.unconfirmed.get(value)
        if unconfirmed and unconfirmed.get("related"):
            return [unconfirmed["related"]]
        limit = 3 if len(value) >= 24 else 2
        scored = [(edit_distance(value, known, limit), known) for known in self.known]
        best = min((score for score, _ in scored), default=limit + 1)
        if best > limit:
            return []
        return [known for score, known in scored if score == best]

    def is_near_miss(self, value: str) -> bool:
        """Close enough to a known principal to be a typo even where unknown names are legal.

        A service-linked role's service name may be any AWS service, and short names sit one
        edit apart (ecs/ec2, inspector/inspector2 are both real), so this asks for a misspelled
        AWS domain, a recorded misspelling, or one edit in a service name of six or more letters
        that is not just a digit added or removed.
        """
        if value in self.misspellings:
            return True
        service, domain = split_principal(value)
        if domain not in AWS_DOMAINS and any(edit_distance(domain, d, 2) <= 2 for d in AWS_DOMAINS):
            return True
        if domain not in AWS_DOMAINS:
            return False
        for known in self.known:
            known_service, known_domain = split_principal(known)
            if known_domain != domain or len(known_service) < 6 or known_service == service:
                continue
            if re.sub(r"\d", "", known_service) == re.sub(r"\d", "", service):
                continue
            if edit_distance(service, known_service, 1) <= 1:
                return True
        return False

    @cached_property
    def integration_specs(self) -> tuple[IntegrationSpec, ...]:
        specs = []
        for entry in self.data["services"]:
            for integration in entry.get("integrations", []):
                if integration.get("inferred"):
                    continue  # documented dependencies only: an inference would be a guess
                specs.append(
                    IntegrationSpec(
                        principal=entry["principal"],
                        format=integration["format"],
                        resource=integration["resource"],
                        when=integration.get("when") or {},
                        self_enabling=bool(integration.get("self_enabling")),
                        source=integration["source"],
                    )
                )
        return tuple(specs)
