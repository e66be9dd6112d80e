"""Configuration: ``[tool.orgtrust-lint]`` in pyproject.toml or ``.orgtrust-lint.yaml``.

Two parts. ``Settings`` is a frozen value: what one configuration file (with what it extends) says,
with the command line's flags applied. ``ConfigResolver`` answers "which settings apply to this
file?": the nearest configuration file above it, searched no higher than the top of its git
repository, or one file for everything (``--config``). Every setting applies per file: a finding
fails the run if it reaches the ``fail-on`` of its own file's configuration, an ignore needs a
reason where its file's configuration says ``require-reason``, and a principal is known if its
file's configuration lists it in ``extra-principals``.

Rule codes are checked against the rule ids the resolver is given, so loading a configuration
never loads the rules.
"""

from __future__ import annotations

import datetime
import functools
import os
import re
import stat
import sys
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from orgtrust_lint.errors import UserError
from orgtrust_lint.facts import Severity

CONFIG_FILENAMES = (".orgtrust-lint.yaml", ".orgtrust-lint.yml", "pyproject.toml")
# A directory holding one of these is the top of a repository (a .git file marks a worktree or a
# submodule): the search for a configuration stops there, so what applies to a repository depends
# only on what it contains, the same in a fresh CI clone as in a checkout inside a home directory.
REPOSITORY_MARKERS = (".git", ".hg")


class ConfigError(UserError):
    """The configuration cannot be used; the message is one line for the user."""


@dataclass(frozen=True)
class Settings:
    """What one configuration says, for the files it covers."""

    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    fail_on: Severity = Severity.ERROR
    extra_principals: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    # (pattern, codes, until): until is an ISO date after which the entry no longer applies.
    per_path_ignores: tuple[tuple[str, tuple[str, ...], str | None], ...] = ()
    unignorable: tuple[str, ...] = ()
    require_reason: bool = False
    # Directories of one's own rule files (rules-dir), absolute and resolved: their rules apply to
    # the files this configuration covers.
    rules_dirs: tuple[str, ...] = ()
    # The organization policy (None: not configured): which principals may, must and must never be
    # enabled (service principals or globs), and which account administers which service.
    allowed_principals: tuple[str, ...] | None = None
    required_principals: tuple[str, ...] | None = None
    forbidden_principals: tuple[str, ...] | None = None
    delegated_administrators: tuple[tuple[str, str], ...] | None = None
    source: str | None = None  # the file(s) it came from, nearest first
    root: str = "."  # the directory its globs are relative to

    def override(self, **changes: Any) -> Settings:
        """These settings with ``changes`` (a change of None leaves its setting alone)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def with_command_line(
        self, select: tuple[str, ...] | None = None, ignore: tuple[str, ...] = (), fail_on: Severity | None = None
    ) -> Settings:
        """The command line's --select replaces, its --ignore adds to, its --fail-on replaces."""
        return self.override(select=select, ignore=(*self.ignore, *ignore) if ignore else None, fail_on=fail_on)

    def relative(self, path: str) -> str:
        relative = os.path.relpath(os.path.abspath(path), os.path.abspath(self.root))
        return relative.replace(os.sep, "/")

    def ignores_for(self, path: str) -> tuple[str, ...]:
        """``ignore`` plus the per-path ignores whose pattern matches ``path``."""
        if not self.per_path_ignores:
            return self.ignore
        relative = self.relative(path)
        today = datetime.date.today().isoformat()
        extra = [
            code
            for pattern, codes, until in self.per_path_ignores
            if (until is None or today <= until) and glob_matches(pattern, relative)
            for code in codes
        ]
        return (*self.ignore, *extra)

    def excludes(self, path: str) -> bool:
        if not self.exclude:
            return False
        relative = self.relative(path)
        return not relative.startswith("..") and any(glob_matches(p, relative) for p in self.exclude)

    def describe(self) -> dict[str, Any]:
        """The effective settings, as ``check --show-config`` prints them."""
        return {
            "source": self.source or "(defaults: no configuration file)",
            "select": list(self.select) or "(all rules)",
            "ignore": list(self.ignore),
            "fail-on": self.fail_on.value,
            "extra-principals": list(self.extra_principals),
            "exclude": list(self.exclude),
            "per-path-ignores": {
                pattern: list(codes) if until is None else {"rules": list(codes), "until": until}
                for pattern, codes, until in self.per_path_ignores
            },
            "unignorable": list(self.unignorable),
            "require-reason": self.require_reason,
            "rules-dir": list(self.rules_dirs),
            **{key: value for key, value in self.policy().items() if key != "source"},
            "scope": (
                "every setting applies to this file, whichever paths a run covers; a run fails if any"
                " finding reaches the fail-on of its own file"
            ),
        }

    def policy(self) -> dict[str, Any]:
        """The organization policy as rule conditions read it (``settings.allowed-principals``, ...):
        only what is configured, and the file it comes from (``settings.source``)."""
        found: dict[str, Any] = {}
        lists = (
            ("allowed-principals", self.allowed_principals),
            ("required-principals", self.required_principals),
            ("forbidden-principals", self.forbidden_principals),
        )
        found.update((key, list(value)) for key, value in lists if value is not None)
        if self.delegated_administrators is not None:
            found["delegated-administrators"] = [
                {"principal": principal, "account": account} for principal, account in self.delegated_administrators
            ]
        found["source"] = self.source or "(no configuration file)"
        return found


# The name callers of lint.check(paths, Config(...)) have always used.
Config = Settings


# Glob tokens. A glob is matched by simulating its automaton (a set of token positions) over the
# path, one character at a time: O(path x pattern) however many wildcards it has. A regex
# translation backtracked exponentially on patterns like *a*a*a*a*a*b: one configuration line and
# a long directory name hung a run for minutes.
_LITERAL, _ONE, _CLASS, _STAR, _DOUBLE_STAR, _ANY_DIRECTORIES = range(6)


class _Glob:
    """One compiled pattern. States are bits of an int: bit i means "token i is next", bit
    len(tokens) means "the whole pattern matched", the bit after it "matched, and the path goes on
    below it" (a pattern covers everything below what it names). A "**/" token has a second state,
    "inside it" (bits from ``inside``): it has consumed characters and must now reach a slash, where
    the fresh state may still skip it. The automaton is turned into a deterministic one lazily, so
    matching is one dictionary lookup per character of the path."""

    _MAX_TRANSITIONS = 4096  # memory bound for the lazily built table; past it, start afresh

    def __init__(self, pattern: str) -> None:
        self.tokens = _glob_tokens(pattern)
        self.matched = 1 << len(self.tokens)
        self.below = self.matched << 1
        self.inside = len(self.tokens) + 2
        # Tokens that may match nothing: the automaton can be in the next state too.
        self.optional = sum(
            1 << i for i, (kind, _) in enumerate(self.tokens) if kind in (_STAR, _DOUBLE_STAR, _ANY_DIRECTORIES)
        )
        self.start = self._closure(1)
        self.transitions: dict[tuple[int, str], int] = {}

    def _closure(self, states: int) -> int:
        # Optional tokens only lead forward, one position: a single ascending pass suffices.
        optional = states & self.optional
        for position in range(len(self.tokens)):
            if (optional >> position) & 1:
                states |= 1 << (position + 1)
                optional |= self.optional & (1 << (position + 1))
        return states

    def _step(self, states: int, char: str) -> int:
        following = 0
        for position, (kind, value) in enumerate(self.tokens):
            if kind == _ANY_DIRECTORIES and (states >> (self.inside + position)) & 1:
                states |= 1 << position  # inside it, it steps as from its start (but cannot be skipped)
            if not (states >> position) & 1:
                continue
            if kind == _LITERAL:
                following |= (char == value) << (position + 1)
            elif kind == _ONE:
                following |= (char != "/") << (position + 1)
            elif kind == _CLASS:
                negated, characters = value
                following |= ((char in characters) != negated) << (position + 1)
            elif kind == _STAR:
                following |= (char != "/") << position
            elif kind == _DOUBLE_STAR:
                following |= 1 << position
            else:  # _ANY_DIRECTORIES: "**/", nothing or anything that ends with a slash
                following |= 1 << (self.inside + position) | (char == "/") << (position + 1)
        if states & self.matched and char == "/":
            following |= self.below
        following |= states & self.below
        return self._closure(following)

    def matches(self, path: str) -> bool:
        states, transitions = self.start, self.transitions
        for char in path:
            following = transitions.get((states, char))
            if following is None:
                if len(transitions) >= self._MAX_TRANSITIONS:
                    transitions.clear()
                following = transitions[(states, char)] = self._step(states, char)
            states = following
            if not states or states & self.below:
                return bool(states)
        return bool(states & (self.matched | self.below))


def _glob_tokens(pattern: str) -> list[tuple[int, Any]]:
    tokens: list[tuple[int, Any]] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if pattern.startswith("**/", index):
            tokens.append((_ANY_DIRECTORIES, None))
            index += 3
            continue
        if pattern.startswith("**", index):
            tokens.append((_DOUBLE_STAR, None))
            index += 2
            continue
        if char == "*":
            tokens.append((_STAR, None))
        elif char == "?":
            tokens.append((_ONE, None))
        elif char == "[" and "]" in pattern[index + 1 :]:
            # A set of literal characters (no ranges), "!" first for its complement; it may
            # match a slash, as it always has.
            end = pattern.index("]", index + 1)
            body = pattern[index + 1 : end]
            negated = body.startswith("!")
            tokens.append((_CLASS, (negated, frozenset(body[1:] if negated else body))))
            index = end + 1
            continue
        else:
            tokens.append((_LITERAL, char))
        index += 1
    return tokens


@functools.lru_cache(maxsize=512)
def _compiled_glob(pattern: str) -> _Glob:
    return _Glob(pattern)


def glob_matches(pattern: str, relative: str) -> bool:
    """Like ruff's globs: ``**`` spans directories, ``*`` stays within one; a pattern without a
    slash matches at any depth; a directory pattern covers everything below it."""
    pattern = pattern.rstrip("/")
    if "/" not in pattern:
        pattern = "**/" + pattern
    return _compiled_glob(pattern).matches(relative)


# A rule code or prefix: OT and at most three digits (the shipped rules), or the prefix of one's own
# rules (rules-dir: capital letters then digits, never OT).
RULE_CODE = re.compile(r"OT[0-9]{0,3}|(?!OT)[A-Z]{2,}[0-9]*")
# The rule files of a rules-dir: each named after its rule's id (ACME101.yaml). Other files there
# (the fixtures test-rules reads, templates) are not rules.
RULE_FILE = re.compile(r"([A-Z]{2,}[0-9]+)\.ya?ml")


def rule_files_in(directory: str) -> list[tuple[str, str]]:
    """(rule id, file name) of each rule file in ``directory``, sorted; none if it cannot be read."""
    try:
        names = sorted(entry.name for entry in os.scandir(directory) if entry.is_file())
    except OSError:
        return []
    return [(match.group(1), name) for name in names if (match := RULE_FILE.fullmatch(name))]


def parse_codes(values: tuple[str, ...], source: str) -> tuple[str, ...]:
    codes = tuple(c.strip().upper() for v in values for c in v.split(",") if c.strip())
    for code in codes:
        if not RULE_CODE.fullmatch(code):
            raise ConfigError(
                f"{source}: '{code}' is not a rule code (expected e.g. OT105, a prefix such as OT1, or ACME101)"
            )
    return codes


# Configuration errors name the file, the path of keys to the problem and what is expected; they
# never quote a value read from the file. `extend` may name any file (an absolute path, outside the
# repository), and an error that quoted it would print its content: a line of /etc/shadow, a token.
# Keys are quoted only when they are names: setting names, list positions, a short unknown key of
# letters and hyphens (a typo such as selct), and per-path-ignores patterns that look like paths.
_NAME = re.compile(r"[A-Za-z][A-Za-z-]{0,23}")
_PATH_PATTERN = re.compile(r"(?=.*[/.*?])[A-Za-z0-9_.*?/\[\]!-]{1,100}")
_PRINCIPAL = re.compile(r"[a-z0-9][a-z0-9.-]{0,100}\.amazonaws\.com")
_KINDS = {bool: "true or false", int: "a number", float: "a number", str: "text", list: "a list", dict: "a table"}


def _key_path(path: list[Any]) -> str:
    """The path of keys to a problem. Below the top level (setting names) and the schema's own keys,
    only list positions and per-path-ignores patterns that look like path patterns are shown."""
    shown = []
    for depth, key in enumerate(path):
        named = depth == 0 or isinstance(key, int) or key in ("rules", "until")
        pattern = depth == 1 and path[0] == "per-path-ignores" and _PATH_PATTERN.fullmatch(str(key)) is not None
        principal = depth == 1 and path[0] == "delegated-administrators" and _PRINCIPAL.fullmatch(str(key)) is not None
        shown.append(str(key) if named or pattern or principal else "<pattern>")
    return "/".join(shown)


def _describe_error(error: Any) -> tuple[str, str]:
    """(the key, what is expected) for a JSON Schema error in a configuration mapping; what was
    found is described by its kind (text, a number, ...), never quoted."""
    path = list(error.absolute_path)
    key = _key_path(path)
    value = error.instance
    if error.validator == "additionalProperties" and not path:
        known = f"(known: {', '.join(sorted(error.schema['properties']))})"
        unknown = sorted(str(k) for k in set(value) - set(error.schema["properties"]))[0]
        return (
            (unknown, f"unknown setting {known}") if _NAME.fullmatch(unknown) else ("", f"an unknown setting {known}")
        )
    if error.validator in ("format", "pattern") and path[-1:] == ["until"]:
        return key, "not a date (expected YYYY-MM-DD)"
    if error.validator == "oneOf" and path[:1] == ["per-path-ignores"]:
        dated = [e for e in error.context or () if list(e.absolute_path)[-1:] == ["until"]]
        if dated:  # the table form was meant and only its date is wrong: say that
            return _describe_error(dated[0])
        return key, "must be a list of rule codes, or {rules: [codes], until: YYYY-MM-DD}"
    if error.validator == "enum":
        return key, "must be error, warning or info"
    description = str(error.schema.get("description", ""))
    if error.validator == "pattern" and description.startswith("a rule code"):
        return key, "not a rule code (expected OT followed by digits, e.g. OT105, or the code of a rule of your own)"
    if error.validator == "pattern" and description.startswith("a service principal or a glob"):
        return key, "not a service principal or glob (expected e.g. sso.amazonaws.com or *.amazonaws.com)"
    if error.validator == "pattern" and description.startswith("a service principal"):
        return key, "not a service principal (expected a lowercase name such as preview-service.amazonaws.com)"
    if path == ["delegated-administrators"] and error.validator in ("propertyNames", "pattern"):
        return key, "its keys are service principals such as guardduty.amazonaws.com"
    if path[:1] == ["delegated-administrators"] and len(path) == 2:
        return key, "must be an account id of 12 digits (in quotes if it starts with 0)"
    if error.validator in ("pattern", "minLength") and path == ["per-path-ignores"]:
        return key, "one of its patterns is not a relative path pattern (e.g. legacy/** or *.tf.json)"
    if error.validator in ("pattern", "minLength") and path[:1] in (["exclude"], ["per-path-ignores"]):
        return key, "not a relative path pattern (e.g. legacy/** or *.tf.json)"
    expected = {"array": "a list", "object": "a table of settings", "string": "text", "boolean": "true or false"}
    if error.validator == "type":
        found = "empty" if value is None else _KINDS.get(type(value), "something else")
        return key, f"must be {expected.get(str(error.validator_value), error.validator_value)}, not {found}"
    # jsonschema's own message quotes the value: describe the expectation from the schema instead.
    return key, f"must be {description}" if description else "not valid here (see config.schema.json)"


def _validate(data: dict[str, Any], source: str) -> None:
    import json

    from orgtrust_lint.catalog import DATA_DIRECTORY
    from orgtrust_lint.schema_check import DataFileError, validate_cached

    schema = json.loads((DATA_DIRECTORY / "config.schema.json").read_text(encoding="utf-8"))
    raw = json.dumps(data, sort_keys=True, default=str).encode()
    try:
        validate_cached(raw, data, schema, source, describe=_describe_error)
    except DataFileError as exc:
        raise ConfigError(str(exc)) from None


def _check_rule_codes(settings: Settings, source: str, rule_ids: Collection[str]) -> None:
    lists = {"select": settings.select, "ignore": settings.ignore, "unignorable": settings.unignorable}
    lists.update({_key_path(["per-path-ignores", p]): codes for p, codes, _ in settings.per_path_ignores})
    # The rules of one's own are known by their files' names: the engine reads them later.
    known = [*rule_ids, *(rule_id for d in settings.rules_dirs for rule_id, _ in rule_files_in(d))]
    for key, codes in lists.items():
        for code in codes:
            if any(rule_id.startswith(code) for rule_id in known):
                continue
            if re.fullmatch(r"OT[0-9]{0,3}", code):  # OT and digits: naming it reveals nothing
                raise ConfigError(f"{source}: '{key}': no rule is {code} or starts with it (see orgtrust-lint rules)")
            # Any other word may be something a file holds (the file extend names could be any file).
            raise ConfigError(f"{source}: '{key}': one of its codes names no rule (see orgtrust-lint rules)")


def _rules_dirs(value: list[str], root: str, source: str) -> tuple[str, ...]:
    """rules-dir: directories relative to the configuration file, each resolved and checked."""
    found = []
    for index, directory in enumerate(value):
        path = os.path.realpath(os.path.join(os.path.abspath(root), directory))
        if not os.path.isdir(path):
            raise ConfigError(f"{source}: 'rules-dir/{index}': no such directory (paths are relative to this file)")
        found.append(path)
    return tuple(dict.fromkeys(found))


def _dates_as_text(value: Any) -> Any:
    """YAML reads an unquoted 2027-03-31 as a date; the schema expects the text."""
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _dates_as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dates_as_text(v) for v in value]
    return value


def _codes(value: list[str]) -> tuple[str, ...]:
    return tuple(code.upper() for code in value)


def _delegated_administrators(value: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """{principal: account} -> (principal, account) pairs. An account YAML read as a number is the
    12 digits it was written as (the schema takes no number that was written with a leading 0,
    which YAML may have read as an octal number)."""
    return tuple(sorted((principal, str(account)) for principal, account in value.items()))


def _per_path_ignores(value: dict[str, Any]) -> tuple[tuple[str, tuple[str, ...], str | None], ...]:
    """{pattern: [codes]} or {pattern: {rules: [codes], until: date}} -> (pattern, codes, until) entries."""
    entries = []
    for pattern, rules in sorted(value.items()):
        codes, until = (rules["rules"], rules.get("until")) if isinstance(rules, dict) else (rules, None)
        entries.append((pattern, _codes(codes), until))  # until is text, see _dates_as_text
    return tuple(entries)


# Each setting a file may hold (besides extend): its key, the Settings field it sets, and how the
# file's value (already checked against config.schema.json) becomes that field's value.
SETTINGS_FROM_FILE: tuple[tuple[str, str, Callable[[Any], Any]], ...] = (
    ("select", "select", _codes),
    ("ignore", "ignore", _codes),
    ("fail-on", "fail_on", Severity),
    ("extra-principals", "extra_principals", tuple),
    ("exclude", "exclude", tuple),
    ("per-path-ignores", "per_path_ignores", _per_path_ignores),
    ("unignorable", "unignorable", _codes),
    ("require-reason", "require_reason", bool),
    ("rules-dir", "rules_dirs", tuple),  # then resolved against the file's own directory (from_mapping)
    ("allowed-principals", "allowed_principals", tuple),
    ("required-principals", "required_principals", tuple),
    ("forbidden-principals", "forbidden_principals", tuple),
    ("delegated-administrators", "delegated_administrators", _delegated_administrators),
)
_LIST_SETTINGS = (
    "select",
    "ignore",
    "unignorable",
    "extra-principals",
    "exclude",
    "rules-dir",
    "allowed-principals",
    "required-principals",
    "forbidden-principals",
)


def from_mapping(data: Any, source: str, root: str = ".", base: Settings | None = None) -> Settings:
    """The settings of one file's table, over ``base`` (what it extends): the file's keys win."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the configuration must be a table of settings")
    normalised = {str(k).replace("_", "-"): _dates_as_text(v) for k, v in data.items()}
    for key in _LIST_SETTINGS:
        if isinstance(normalised.get(key), str):
            normalised[key] = [normalised[key]]  # a single value where a list is expected
    if isinstance(normalised.get("fail-on"), str):
        normalised["fail-on"] = normalised["fail-on"].lower()
    _validate(normalised, source)
    changes = {name: convert(normalised[key]) for key, name, convert in SETTINGS_FROM_FILE if key in normalised}
    if "rules-dir" in normalised:  # relative to the file that says it, like extend
        changes["rules_dirs"] = _rules_dirs(normalised["rules-dir"], root, source)
    return replace(base or Settings(), source=source, root=root, **changes)


# A chain of files that extend each other ends here: deeper is almost surely a mistake, and it
# bounds the work a repository's configuration can cause.
MAX_EXTEND_CHAIN = 32
MAX_CONFIG_BYTES = 1 << 20  # configuration files are a few hundred bytes; nothing needs a megabyte


def _read_regular_file(path: Path, source: str) -> bytes:
    """The bytes of a regular file: a FIFO would block, a device or /dev/zero would never end.
    Checked on the opened descriptor (O_NONBLOCK: opening a FIFO does not wait for a writer), so a
    file swapped after a check cannot slip through."""
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read ({exc.strerror})") from None
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise ConfigError(f"{source}: not a regular file")
        chunks, size = [], 0
        while size <= MAX_CONFIG_BYTES:
            chunk = os.read(descriptor, MAX_CONFIG_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read ({exc.strerror})") from None
    finally:
        os.close(descriptor)
    if size > MAX_CONFIG_BYTES:
        raise ConfigError(f"{source}: larger than 1 MiB, too large for a configuration file")
    return b"".join(chunks)


def _read_pyproject(path: Path, source: str | None = None) -> dict[str, Any] | None:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    raw = _read_regular_file(path, source or str(path))
    if b"orgtrust-lint" not in raw:
        return None  # most pyproject.toml files are not ours: no need to parse them
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{source or path}: not valid TOML (not UTF-8 text)") from None
    except tomllib.TOMLDecodeError as exc:  # its message says where, without quoting the text
        raise ConfigError(f"{source or path}: not valid TOML ({exc})") from None
    tool = data.get("tool", {})
    return tool.get("orgtrust-lint") if isinstance(tool, dict) and "orgtrust-lint" in tool else None


def _read_mapping(path: Path, source: str) -> Any:
    if path.name == "pyproject.toml":
        return _read_pyproject(path, source)
    from orgtrust_lint.catalog import InvalidYaml, load_yaml

    try:
        return load_yaml(_read_regular_file(path, source))
    except InvalidYaml as exc:
        raise ConfigError(f"{source}: {exc}") from None


def _display(path: Path) -> str:
    relative = os.path.relpath(path)
    return str(path) if relative.startswith("..") else relative


def _extended(path: Path, target: Any, source: str) -> Path:
    """The file ``extend`` names, relative to the file that says it: any regular file, also one
    outside the repository (monorepos share configurations). Its name is not repeated back: the
    text of ``extend`` is a value like any other."""
    if not isinstance(target, str) or not target:
        raise ConfigError(f"{source}: 'extend': must be the path of another configuration file")
    try:
        extended = (path.parent / target).resolve()
        mode = os.stat(extended).st_mode
    except (OSError, ValueError):  # ValueError: a NUL byte in the path
        raise ConfigError(f"{source}: 'extend': no such file (paths are relative to this file)") from None
    if not stat.S_ISREG(mode):
        raise ConfigError(f"{source}: 'extend': not a regular file")
    return extended


def load_file(path: Path, rule_ids: Collection[str]) -> Settings:
    """One configuration file, with what it extends (``extend``, relative to the file); each file's
    rule codes must name (or be a prefix of) one of ``rule_ids``."""
    # Read the chain first, nearest file first, then build the configuration from its far end:
    # a loop rather than recursion, so a long chain is an error message, not a RecursionError.
    chain: list[tuple[Path, str, Any]] = []
    seen: set[Path] = set()
    current = path
    while True:
        source = _display(current)
        data = _read_mapping(current, source)
        chain.append((current, source, data))
        seen.add(current.resolve())
        if not isinstance(data, dict) or data.get("extend") is None:
            break
        extended = _extended(current, data["extend"], source)
        if extended in seen:
            raise ConfigError(f"{source}: 'extend': {_display(extended)} extends this file again (a cycle)")
        if len(chain) == MAX_EXTEND_CHAIN:
            raise ConfigError(
                f"{source}: 'extend': more than {MAX_EXTEND_CHAIN} files extend each other (at most"
                f" {MAX_EXTEND_CHAIN} in a chain)"
            )
        current = extended
    settings: Settings | None = None
    for current, source, data in reversed(chain):
        base = settings
        settings = from_mapping(data, source, str(current.parent), base)
        _check_rule_codes(settings, source, rule_ids)
        if base is not None:
            settings = replace(settings, source=f"{source} (extends {base.source})")
    assert settings is not None  # the chain holds at least the file itself
    return settings


def _own_config_file(directory: Path) -> Path | None:
    # os.path on strings: this runs for every directory of a monorepo, and pathlib objects
    # would cost more than the stat calls.
    base = str(directory)
    for name in CONFIG_FILENAMES:
        if not os.path.isfile(os.path.join(base, name)):
            continue
        path = directory / name
        if name == "pyproject.toml" and _read_pyproject(path) is None:
            continue
        return path
    return None


def _is_repository_top(directory: str) -> bool:
    return any(os.path.lexists(os.path.join(directory, marker)) for marker in REPOSITORY_MARKERS)


class ConfigResolver:
    """Which settings apply to each file: the nearest configuration file above the file, searched
    no higher than the top of its repository, or one ``fixed`` configuration for every file. The
    command line's flags (``with_command_line``, ``override``) apply on top of every one.

    Lookups are memoised per directory, and a directory without a configuration file of its own
    takes its parent's: a monorepo's thousand directories cost a few thousand stat calls, and each
    configuration file is read once.
    """

    def __init__(
        self,
        rule_ids: Collection[str],
        fixed: Settings | None = None,
        adjustments: tuple[Callable[[Settings], Settings], ...] = (),
        run_directory: str = ".",
    ) -> None:
        self.rule_ids = frozenset(rule_ids)
        self.fixed = fixed
        self.adjustments = adjustments
        self.run_directory = run_directory  # what the linted paths have in common
        # What each directory's configuration files say, before the command line: shared with the
        # resolvers derived from this one, so each file is read once whatever the flags.
        self._configured_by_directory: dict[str, Settings] = {}
        # What applies, under two keys: a file's directory as written (the common case, thousands
        # of files: os.path.abspath for each would cost more than the lookup), and absolute.
        self._by_given_directory: dict[str, Settings] = {}
        self._by_directory: dict[str, Settings] = {}

    @classmethod
    def of(cls, settings: Settings) -> ConfigResolver:
        """These settings for every file (as written in code; their rule codes are not checked)."""
        return cls((), fixed=settings)

    def with_command_line(
        self, select: tuple[str, ...] | None = None, ignore: tuple[str, ...] = (), fail_on: Severity | None = None
    ) -> ConfigResolver:
        """--select replaces each file's selection, --ignore adds to it, --fail-on replaces each file's."""
        return self._adjusted(lambda settings: settings.with_command_line(select, ignore, fail_on))

    def override(self, **changes: Any) -> ConfigResolver:
        """``changes`` replace every file's settings (a change of None leaves its setting alone)."""
        return self._adjusted(lambda settings: settings.override(**changes))

    def _adjusted(self, adjustment: Callable[[Settings], Settings]) -> ConfigResolver:
        derived = ConfigResolver(self.rule_ids, self.fixed, (*self.adjustments, adjustment), self.run_directory)
        derived._configured_by_directory = self._configured_by_directory
        return derived

    def for_file(self, path: str) -> Settings:
        """The settings that apply to ``path``."""
        directory = os.path.dirname(path)
        found = self._by_given_directory.get(directory)
        if found is None:
            found = self._by_given_directory[directory] = self.for_directory(directory or ".")
        return found

    def excludes(self, path: str) -> bool:
        """Whether the configuration of ``path`` excludes it (``path`` may be a directory)."""
        return self.for_file(path).excludes(path)

    def for_directory(self, directory: str) -> Settings:
        """The settings for the files of ``directory``."""
        absolute = os.path.abspath(directory)
        found = self._by_directory.get(absolute)
        if found is None:
            found = self._by_directory[absolute] = self._adjust(self._configured(absolute))
        return found

    def rules_dirs(self, paths: Collection[str]) -> tuple[str, ...]:
        """Every rules-dir of the configurations of ``paths`` and of the run's own: the rules of
        one's own a run loads (each applies to the files its configuration covers)."""
        found = [*self.flat().rules_dirs, *(d for path in paths for d in self.for_file(path).rules_dirs)]
        return tuple(dict.fromkeys(found))

    def flat(self) -> Settings:
        """The settings nearest the linted paths, for a run that uses one configuration for every file
        (drift: it is about the organization, not about files)."""
        return self.for_directory(self.run_directory)

    def _configured(self, directory: str) -> Settings:
        """What the configuration files say for the absolute ``directory``, before the command line:
        its own file's, else its parent's, up to the top of the repository."""
        if self.fixed is not None:
            return self.fixed
        found = self._configured_by_directory.get(directory)
        if found is None:
            own = _own_config_file(Path(directory))
            parent = os.path.dirname(directory)
            if own is not None:
                found = load_file(own, self.rule_ids)
            elif parent != directory and not _is_repository_top(directory):
                found = self._configured(parent)
            else:
                found = Settings()
            self._configured_by_directory[directory] = found
        return found

    def _adjust(self, settings: Settings) -> Settings:
        for adjustment in self.adjustments:
            settings = adjustment(settings)
        return settings


def resolver_for(config: Settings | ConfigResolver | None) -> ConfigResolver:
    """A resolver for what a caller of lint.check passed: settings for every file, or a resolver."""
    if isinstance(config, ConfigResolver):
        return config
    return ConfigResolver.of(config or Settings())


def load_config(paths: list[str], explicit: str | None = None, *, rule_ids: Collection[str]) -> ConfigResolver:
    """With ``explicit``, that file for every file; otherwise the nearest file above each. The
    configuration nearest the linted paths is read now, so that its mistakes are reported before
    anything is linted."""
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"configuration file {explicit} does not exist")
        return ConfigResolver(rule_ids, fixed=load_file(path, rule_ids))
    start = os.path.commonpath([os.path.abspath(p) for p in paths]) if paths else os.getcwd()
    resolver = ConfigResolver(rule_ids, run_directory=start if os.path.isdir(start) else os.path.dirname(start))
    resolver.flat()
    return resolver
