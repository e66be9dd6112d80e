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

from orgtrust_lint.schema_check import validate_cached

AWS_DOMAINS = ("amazonaws.com", "amazon.com", "amazonaws.com.cn")


@dataclass(frozen=True)
class IntegrationSpec:
    principal: str
    format: str
    resource: str
    when: dict[str, Any]
    self_enabling: bool
    source: str
    inferred: bool = False  # read from resource semantics: never reported as missing, only counted as setup


DATA_DIRECTORY = Path(__file__).parent / "data"


class InvalidYaml(ValueError):
    """Raised by load_yaml, so callers need not import yaml just to catch its errors."""

    def __init__(self, line: int | None, detail: str = "") -> None:
        super().__init__(f"not valid YAML{f' at line {line}' if line else ''}{f' ({detail})' if detail else ''}")


# Expanding aliases can turn a few hundred bytes into billions of nodes (the "billion laughs");
# no configuration, rule or catalog file comes anywhere near this many.
MAX_YAML_NODES = 200_000
# A cached parse is JSON of the parsed data: it cannot be much larger than the YAML it came from
# once aliases are bounded, so anything bigger was not written by us.
_MAX_CACHED_YAML_BYTES = 64 * 1024 * 1024


def expanded_size(data: Any, limit: int = MAX_YAML_NODES) -> int:
    """How many nodes ``data`` has with every alias written out; ValueError past ``limit``
    or on a self-referencing value. Linear in the number of distinct nodes."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: Any) -> int:
        if not isinstance(node, (dict, list)):
            return 1
        known = sizes.get(id(node))
        if known is not None:
            return known
        if id(node) in active:
            raise ValueError("a value that contains itself")
        active.add(id(node))
        children = [*node.keys(), *node.values()] if isinstance(node, dict) else node
        total = 1
        for child in children:
            total += size(child)
            if total > limit:
                raise ValueError(f"more than {limit:,} values once aliases are expanded")
        active.discard(id(node))
        sizes[id(node)] = total
        return total

    return size(data)


def _json_safe(data: Any) -> bool:
    """Whether JSON keeps ``data`` as it is (YAML dates, for one, would come back as text)."""
    if isinstance(data, dict):
        return all(isinstance(k, str) and _json_safe(v) for k, v in data.items())
    if isinstance(data, list):
        return all(_json_safe(v) for v in data)
    if isinstance(data, float):
        return data == data and data not in (float("inf"), float("-inf"))
    return data is None or isinstance(data, (str, int, bool))


def load_yaml(raw: bytes) -> Any:
    """Parse YAML, or take the result from the cache when this exact content was parsed before:
    the catalog and rule files take about 30 ms to parse, a tenth of a pre-commit run's budget.
    The cached copy is JSON in the trusted cache directory, so reading it can run nothing."""
    import hashlib

    from orgtrust_lint import trusted_cache

    store = trusted_cache.store()
    entry = f"yaml/{hashlib.sha256(raw).hexdigest()}.json"
    cached = store.read(entry, _MAX_CACHED_YAML_BYTES) if store else None
    if cached is not None:
        try:
            return json.loads(cached)
        except ValueError:
            pass  # a damaged entry: parse again and rewrite it
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
    except RecursionError:
        raise InvalidYaml(None, "nested too deeply") from None
    try:
        expanded_size(data)
    except (ValueError, RecursionError) as exc:
        raise InvalidYaml(None, str(exc) if isinstance(exc, ValueError) else "nested too deeply") from None
    if store is not None and _json_safe(data):
        store.write(entry, json.dumps(data, separators=(",", ":")).encode())
    return data


def edit_distance(a: str, b: str, limit: int = 99) -> int:
    """Optimal string alignment distance (Levenshtein plus adjacent transpositions), exact up to
    ``limit``; any larger distance is reported as ``limit + 1``.

    A common prefix and suffix cost nothing (".amazonaws.com" is most of a principal), only the
    diagonal band of width 2 * limit + 1 can hold a distance within the limit, and once a whole
    row of the band exceeds it no later row can come back. With the small limits used for
    suggestions a pair of unrelated names costs a few short rows, not len(a) * len(b) cells (a
    list of 100,000 unknown principals used to take nine minutes).
    """
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    start = 0
    while start < len(a) and start < len(b) and a[start] == b[start]:
        start += 1
    end = 0
    while end < len(a) - start and end < len(b) - start and a[-1 - end] == b[-1 - end]:
        end += 1
    a, b = a[start : len(a) - end], b[start : len(b) - end]
    beyond = limit + 1
    width = len(b)
    previous2: list[int] = []
    previous = [j if j <= limit else beyond for j in range(width + 1)]
    for i in range(1, len(a) + 1):
        ca = a[i - 1]
        current = [beyond] * (width + 1)
        current[0] = best = i if i <= limit else beyond
        for j in range(max(1, i - limit), min(width, i + limit) + 1):
            cb = b[j - 1]
            value = previous[j - 1] if ca == cb else previous[j - 1] + 1
            if previous[j] + 1 < value:
                value = previous[j] + 1
            if current[j - 1] + 1 < value:
                value = current[j - 1] + 1
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb and previous2[j - 2] + 1 < value:
                value = previous2[j - 2] + 1
            if value > limit:
                value = beyond
            current[j] = value
            if value < best:
                best = value
        if best > limit:
            return beyond
        previous2, previous = previous, current
    return previous[width]


# Leading labels public code leaves out of a principal: StackSets' member.org. and Trusted Advisor's reporting.
_MISSING_PREFIXES = ("member.org.", "reporting.")


def _typo_limit(value: str) -> int:
    """How many edits a typo of ``value`` may be from what it meant: a longer name allows one more."""
    return 3 if len(value) >= 24 else 2


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
        self._suggested: dict[str, list[str]] = {}  # the same typo is often written many times
        self._with_extra: dict[frozenset[str], Catalog] = {}

    @classmethod
    def load(cls, extra_principals: tuple[str, ...] = ()) -> Catalog:
        raw = (DATA_DIRECTORY / "catalog.yaml").read_bytes()
        schema = json.loads((DATA_DIRECTORY / "catalog.schema.json").read_text(encoding="utf-8"))
        data = load_yaml(raw)
        validate_cached(raw, data, schema, "the principal catalog")
        return cls(data, extra_principals)

    def with_extra_principals(self, extra_principals: tuple[str, ...]) -> Catalog:
        """This catalog, also knowing ``extra_principals`` (one configuration's private previews).
        Memoised, and the catalog's data is shared: a monorepo's teams each get theirs cheaply."""
        if self.extra_principals.issuperset(extra_principals):
            return self
        known = self.extra_principals.union(extra_principals)
        found = self._with_extra.get(known)
        if found is None:
            found = self._with_extra[known] = Catalog(self.data, tuple(sorted(known)))
        return found

    def is_known(self, principal: str) -> bool:
        return principal in self.entries or principal in self.extra_principals

    def entry(self, principal: str) -> dict[str, Any] | None:
        return self.entries.get(principal)

    @cached_property
    def known(self) -> tuple[str, ...]:
        return tuple(sorted({*self.entries, *self.extra_principals}))

    def suggestions(self, value: str) -> list[str]:
        """Known principals the value most likely meant, best first (several on a tie)."""
        found = self._suggested.get(value)
        if found is None:
            found = self._suggested[value] = self._suggest(value)
        return list(found)

    def _suggest(self, value: str) -> list[str]:
        if value in self.misspellings:
            return [self.misspellings[value]["correct"]]
        unconfirmed = self.unconfirmed.get(value)
        if unconfirmed and unconfirmed.get("related"):
            return [unconfirmed["related"]]
        shaped = self._shape_suggestions(value)
        if shaped:
            return shaped
        limit = _typo_limit(value)
        near = (
            k for size in range(len(value) - limit, len(value) + limit + 1) for k in self._known_by_length.get(size, ())
        )
        scored = [(edit_distance(value, known, limit), known) for known in near]
        best = min((score for score, _ in scored), default=limit + 1)
        if best > limit:
            return []
        return sorted(known for score, known in scored if score == best)

    def _shape_suggestions(self, value: str) -> list[str]:
        """Known principals that differ from ``value`` by a mistake seen in public code rather than
        by a typo: ``amazon.com`` written for ``amazonaws.com``, a subdomain label left out or added
        (``cost-optimization-hub.amazonaws.com`` for ``cost-optimization-hub.bcm.amazonaws.com``), or
        a leading ``member.org.`` or ``reporting.`` left out. Edit distance misses these: a whole
        label is several edits, and short names have a small limit."""
        service, domain = split_principal(value)
        if domain == "amazon.com":
            domain = "amazonaws.com"
            if self.is_known(f"{service}.{domain}"):
                return [self._preferred(f"{service}.{domain}")]
        if domain != "amazonaws.com" or not service:
            return []
        labels = tuple(service.split("."))
        by_labels, by_shorter = self._label_index
        found = {self._preferred(known) for known in by_shorter.get(labels, ())}  # a label left out
        for index in range(len(labels)):  # a label added
            known = by_labels.get(labels[:index] + labels[index + 1 :])
            if known is not None:
                found.add(self._preferred(known))
        for prefix in _MISSING_PREFIXES:
            candidate = f"{prefix}{service}.{domain}"
            if self.is_known(candidate):
                found.add(self._preferred(candidate))
        return sorted(found)

    @cached_property
    def _label_index(self) -> tuple[dict[tuple[str, ...], str], dict[tuple[str, ...], set[str]]]:
        """Known amazonaws.com principals by their service labels, and by those labels with any one
        left out: a name one label apart is then a dictionary lookup, not a comparison with each."""
        by_labels: dict[tuple[str, ...], str] = {}
        by_shorter: dict[tuple[str, ...], set[str]] = {}
        for known in self.known:
            service, domain = split_principal(known)
            if domain != "amazonaws.com":
                continue
            labels = tuple(service.split("."))
            by_labels[labels] = known
            for index in range(len(labels)):
                if len(labels) > 1:
                    by_shorter.setdefault(labels[:index] + labels[index + 1 :], set()).add(known)
        return by_labels, by_shorter

    def _preferred(self, principal: str) -> str:
        """A disputed principal's preferred spelling, where the catalog records one."""
        entry = self.entries.get(principal)
        return entry["prefer"] if entry and entry.get("prefer") else principal

    def suggestion_is_a_guess(self, value: str) -> bool:
        """Whether the suggestion for ``value`` is the catalog's judgment rather than a typo's
        correction: a string recorded as unconfirmed (its related principal is another service's),
        or a recorded misspelling further from its correction than any typo that spelling would
        suggest (trustedadvisor.amazonaws.com, "used in third-party tooling", is another name, not a
        misspelling of reporting.trustedadvisor.amazonaws.com). A finding still names such a
        suggestion; --fix does not write it."""
        if value in self.unconfirmed:
            return True
        misspelling = self.misspellings.get(value)
        if misspelling is None:
            return False
        limit = _typo_limit(value)
        return edit_distance(value, misspelling["correct"], limit) > limit

    @cached_property
    def _known_by_length(self) -> dict[int, list[str]]:
        """A distance within the limit needs lengths within the limit: most names need no comparing."""
        groups: dict[int, list[str]] = {}
        for known in self.known:
            groups.setdefault(len(known), []).append(known)
        return groups

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
        """The documented dependencies: what OT301 and the change rules report as missing."""
        # An inference would be a guess: it never makes a finding of its own.
        return tuple(spec for spec in self.all_integration_specs if not spec.inferred)

    @cached_property
    def all_integration_specs(self) -> tuple[IntegrationSpec, ...]:
        """Every resource the catalog relates to a principal, inferred ones too: each is the service's
        own setup (an organization configuration, a sharing resource), which OT105 looks for."""
        return tuple(
            IntegrationSpec(
                principal=entry["principal"],
                format=integration["format"],
                resource=integration["resource"],
                when=integration.get("when") or {},
                self_enabling=bool(integration.get("self_enabling")),
                source=integration["source"],
                inferred=bool(integration.get("inferred")),
            )
            for entry in self.data["services"]
            for integration in entry.get("integrations", [])
        )
