"""Configuration from ``[tool.orgtrust-lint]`` in pyproject.toml or ``.orgtrust-lint.yaml``.

The nearest file above the linted paths wins; command-line flags override it.
"""

from __future__ import annotations

import datetime
import functools
import os
import re
import stat
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


# Configuration errors name the file, the path of keys to the problem and what is expected; they
# never quote a value read from the file. `extend` may name any file (an absolute path, outside the
# repository), and an error that quoted it would print its content: a line of /etc/shadow, a token.
# Keys are quoted only when they are names: setting names, list positions, a short unknown key of
# letters and hyphens (a typo such as selct), and per-path-ignores patterns that look like paths.
_NAME = re.compile(r"[A-Za-z][A-Za-z-]{0,23}")
_PATH_PATTERN = re.compile(r"(?=.*[/.*?])[A-Za-z0-9_.*?/\[\]!-]{1,100}")
_KINDS = {bool: "true or false", int: "a number", float: "a number", str: "text", list: "a list", dict: "a table"}


def _key_path(path: list[Any]) -> str:
    """The path of keys to a problem. Below the top level (setting names) and the schema's own keys,
    only list positions and per-path-ignores patterns that look like path patterns are shown."""
    shown = []
    for depth, key in enumerate(path):
        named = depth == 0 or isinstance(key, int) or key in ("rules", "until")
        pattern = depth == 1 and path[0] == "per-path-ignores" and _PATH_PATTERN.fullmatch(str(key)) is not None
        shown.append(str(key) if named or pattern else "<pattern>")
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
        return key, "not a rule code (expected OT followed by digits, e.g. OT105)"
    if error.validator == "pattern" and description.startswith("a service principal"):
        return key, "not a service principal (expected a lowercase name such as preview-service.amazonaws.com)"
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


def _check_rule_codes(config: Config, source: str) -> None:
    from orgtrust_lint.engine import load_rules

    ids = [rule.id for rule in load_rules()]
    lists = {"select": config.select, "ignore": config.ignore, "unignorable": config.unignorable}
    lists.update({_key_path(["per-path-ignores", p]): codes for p, codes, _ in config.per_path_ignores})
    for key, codes in lists.items():
        for code in codes:
            # The code passed the schema (OT and at most three digits): naming it reveals nothing.
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


def load_file(path: Path) -> Config:
    """One configuration file, with what it extends (``extend``, relative to the file)."""
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
    *nearer, (farthest, source, data) = chain
    config = from_mapping(data, source, str(farthest.parent))
    for current, source, data in reversed(nearer):
        base = config
        config = from_mapping(data, source, str(current.parent), base)
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
