"""Configuration from ``[tool.orgtrust-lint]`` in pyproject.toml or ``.orgtrust-lint.yaml``.

The nearest file above the linted paths wins; command-line flags override it.
"""

from __future__ import annotations

import datetime
import functools
import os
import re
import sys
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from orgtrust_lint.errors import UserError
from orgtrust_lint.facts import Severity

CONFIG_FILENAMES = (".orgtrust-lint.yaml", ".orgtrust-lint.yml", "pyproject.toml")
# Settings that apply to the whole run, taken from the configuration nearest the linted paths;
# the others apply per file, from the configuration nearest that file.
RUN_SETTINGS = ("fail-on", "extra-principals", "require-reason")


class ConfigError(UserError):
    """The configuration cannot be used; the message is one line for the user."""


@dataclass(frozen=True)
class Config:
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    fail_on: Severity = Severity.ERROR
    extra_principals: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    # (pattern, codes, until): until is an ISO date after which the entry no longer applies.
    per_path_ignores: tuple[tuple[str, tuple[str, ...], str | None], ...] = ()
    unignorable: tuple[str, ...] = ()
    require_reason: bool = False
    source: str | None = None  # the file(s) it came from, nearest first
    root: str = "."  # the directory its globs are relative to

    def override(self, **changes: Any) -> Config:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def with_command_line(
        self, select: tuple[str, ...] | None = None, ignore: tuple[str, ...] = (), fail_on: Severity | None = None
    ) -> Config:
        """The command line's --select replaces, its --ignore adds to, its --fail-on replaces."""
        return self.override(select=select, ignore=(*self.ignore, *ignore) if ignore else None, fail_on=fail_on)

    def for_file(self, path: str) -> Config:
        """The configuration that applies to ``path`` (this one, unless found per directory)."""
        return self

    def flat(self) -> Config:
        return self

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
        }


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


def parse_codes(values: tuple[str, ...], source: str) -> tuple[str, ...]:
    codes = tuple(c.strip().upper() for v in values for c in v.split(",") if c.strip())
    for code in codes:
        if not re.fullmatch(r"OT\d{0,3}", code):
            raise ConfigError(f"{source}: '{code}' is not a rule code (expected OT followed by digits, e.g. OT105)")
    return codes


def _describe_error(error: Any) -> tuple[str, str]:
    """(the key, what is expected) for a JSON Schema error in a configuration mapping."""
    path = [str(p) for p in error.absolute_path]
    key = "/".join(path) if path else ""
    value = error.instance
    if error.validator == "additionalProperties" and not path:
        unknown = sorted(set(value) - set(error.schema["properties"]))[0]
        return unknown, f"unknown setting (known: {', '.join(sorted(error.schema['properties']))})"
    if error.validator in ("format", "pattern") and path[-1:] == ["until"]:
        return key, f"{value!r} is not a date (expected YYYY-MM-DD)"
    if error.validator == "oneOf" and path[:1] == ["per-path-ignores"]:
        dated = [e for e in error.context or () if [str(p) for p in e.absolute_path][-1:] == ["until"]]
        if dated:  # the table form was meant and only its date is wrong: say that
            return _describe_error(dated[0])
        return key, "must be a list of rule codes, or {rules: [codes], until: YYYY-MM-DD}"
    if error.validator == "enum":
        return key, f"must be error, warning or info, not {value!r}"
    if error.validator == "pattern" and str(error.schema.get("description", "")).startswith("a rule code"):
        return key, f"{value!r} is not a rule code (expected OT followed by digits, e.g. OT105)"
    if error.validator in ("pattern", "minLength") and path[:1] in (["exclude"], ["per-path-ignores"]):
        return key, f"{value!r} is not a relative path pattern (e.g. legacy/** or *.tf.json)"
    expected = {"array": "a list", "object": "a table of settings", "string": "a string", "boolean": "true or false"}
    if error.validator == "type":
        return key, f"must be {expected.get(str(error.validator_value), error.validator_value)}, not {value!r}"
    return key, error.message


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


def _check_rule_codes(config: Config, source: str) -> None:
    from orgtrust_lint.engine import load_rules

    ids = [rule.id for rule in load_rules()]
    lists = {"select": config.select, "ignore": config.ignore, "unignorable": config.unignorable}
    lists.update({f"per-path-ignores/{pattern}": codes for pattern, codes, _ in config.per_path_ignores})
    for key, codes in lists.items():
        for code in codes:
            if not any(rule_id.startswith(code) for rule_id in ids):
                raise ConfigError(f"{source}: '{key}': no rule is {code} or starts with it (see orgtrust-lint rules)")


def _dates_as_text(value: Any) -> Any:
    """YAML reads an unquoted 2027-03-31 as a date; the schema expects the text."""
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _dates_as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dates_as_text(v) for v in value]
    return value


def from_mapping(data: Any, source: str, root: str = ".", base: Config | None = None) -> Config:
    """A configuration from its file's settings, over ``base`` (what it extends)."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the configuration must be a table of settings")
    normalised = {str(k).replace("_", "-"): _dates_as_text(v) for k, v in data.items()}
    for key in ("select", "ignore", "unignorable", "extra-principals", "exclude"):
        if isinstance(normalised.get(key), str):
            normalised[key] = [normalised[key]]  # a single value where a list is expected
    if isinstance(normalised.get("fail-on"), str):
        normalised["fail-on"] = normalised["fail-on"].lower()
    _validate(normalised, source)
    config = replace(base or Config(), source=source, root=root)

    def codes(key: str) -> tuple[str, ...]:
        return tuple(code.upper() for code in normalised[key])

    if "select" in normalised:
        config = replace(config, select=codes("select"))
    if "ignore" in normalised:
        config = replace(config, ignore=codes("ignore"))
    if "fail-on" in normalised:
        config = replace(config, fail_on=Severity(normalised["fail-on"]))
    if "extra-principals" in normalised:
        config = replace(config, extra_principals=tuple(normalised["extra-principals"]))
    if "exclude" in normalised:
        config = replace(config, exclude=tuple(normalised["exclude"]))
    if "per-path-ignores" in normalised:
        entries = []
        for pattern, value in sorted(normalised["per-path-ignores"].items()):
            codes, until = (value["rules"], value.get("until")) if isinstance(value, dict) else (value, None)
            entries.append((pattern, tuple(c.upper() for c in codes), until))  # until: text, see _dates_as_text
        config = replace(config, per_path_ignores=tuple(entries))
    if "unignorable" in normalised:
        config = replace(config, unignorable=codes("unignorable"))
    if "require-reason" in normalised:
        config = replace(config, require_reason=bool(normalised["require-reason"]))
    _check_rule_codes(config, source)
    return config


def _read_pyproject(path: Path) -> dict[str, Any] | None:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    try:
        text = path.read_text(encoding="utf-8")
        if "orgtrust-lint" not in text:
            return None  # most pyproject.toml files are not ours: no need to parse them
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    tool = data.get("tool", {})
    return tool.get("orgtrust-lint") if isinstance(tool, dict) and "orgtrust-lint" in tool else None


def _read_mapping(path: Path, source: str) -> Any:
    try:
        if path.name == "pyproject.toml":
            return _read_pyproject(path)
        from orgtrust_lint.catalog import InvalidYaml, load_yaml

        try:
            return load_yaml(path.read_bytes())
        except InvalidYaml as exc:
            raise ConfigError(f"{source}: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read ({exc.strerror})") from None


def load_file(path: Path, seen: tuple[Path, ...] = ()) -> Config:
    """One configuration file, with what it extends (``extend``, relative to the file)."""
    relative = os.path.relpath(path)
    source = str(path) if relative.startswith("..") else relative
    data = _read_mapping(path, source)
    base = None
    if isinstance(data, dict) and data.get("extend") is not None:
        target = data["extend"]
        if not isinstance(target, str) or not target:
            raise ConfigError(f"{source}: 'extend': must be the path of another configuration file")
        parent = (path.parent / target).resolve()
        if parent in seen or parent == path.resolve():
            raise ConfigError(f"{source}: 'extend': {target} extends this file again (a cycle)")
        if not parent.is_file():
            raise ConfigError(f"{source}: 'extend': {target} does not exist")
        base = load_file(parent, (*seen, path.resolve()))
    config = from_mapping(data, source, str(path.parent), base)
    if base is not None:
        config = replace(config, source=f"{source} (extends {base.source})")
    return config


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


def find_config(start: Path) -> Path | None:
    directory = start if start.is_dir() else start.parent
    for candidate in (directory.resolve(), *directory.resolve().parents):
        found = _own_config_file(candidate)
        if found is not None:
            return found
    return None


@dataclass(frozen=True)
class HierarchicalConfig(Config):
    """The configuration of a run whose files each take the nearest configuration above them.

    Its own settings are those of the configuration nearest the linted paths; ``for_file`` finds
    the one for a file, with the command line's flags applied on top of every one.
    """

    command_line: tuple[tuple[str, ...] | None, tuple[str, ...], Severity | None] = (None, (), None)
    _by_directory: dict[str, Config] = field(default_factory=dict, compare=False, repr=False)

    def with_command_line(
        self, select: tuple[str, ...] | None = None, ignore: tuple[str, ...] = (), fail_on: Severity | None = None
    ) -> Config:
        applied = Config.with_command_line(self, select, ignore, fail_on)
        return replace(applied, command_line=(select, ignore, fail_on), _by_directory={})

    def for_file(self, path: str) -> Config:
        # Keyed by the path's own directory string first: abspath for each of thousands of files
        # would cost more than the lookup.
        directory = os.path.dirname(path)
        found = self._by_directory.get("\0" + directory)
        if found is None:
            found = self._by_directory["\0" + directory] = self._for_directory(os.path.abspath(directory or "."))
        return found

    def _for_directory(self, directory: str) -> Config:
        # Memoised per directory, and a directory without a configuration file of its own takes
        # its parent's: a monorepo's thousand directories cost a few thousand stat calls.
        if directory not in self._by_directory:
            own = _own_config_file(Path(directory))
            parent = os.path.dirname(directory)
            if own is not None:
                config = load_file(own).with_command_line(*self.command_line)
            elif parent != directory:
                config = self._for_directory(parent)
            else:
                config = Config().with_command_line(*self.command_line)
            self._by_directory[directory] = config
        return self._by_directory[directory]

    def flat(self) -> Config:
        """These settings for every file, without looking for nearer configurations."""
        return Config(**{f.name: getattr(self, f.name) for f in fields(Config)})


def load_config(paths: list[str], explicit: str | None = None) -> Config:
    """With ``explicit``, that file for every file; otherwise the nearest file above each."""
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"configuration file {explicit} does not exist")
        return load_file(path)
    start = Path(os.path.commonpath([os.path.abspath(p) for p in paths])) if paths else Path.cwd()
    found = find_config(start)
    nearest = load_file(found) if found else Config()
    return HierarchicalConfig(**{f.name: getattr(nearest, f.name) for f in fields(Config)})
