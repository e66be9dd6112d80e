"""Configuration from ``[tool.orgtrust-lint]`` in pyproject.toml or ``.orgtrust-lint.yaml``.

The nearest file above the linted paths wins; command-line flags override it.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from orgtrust_lint.errors import UserError
from orgtrust_lint.facts import Severity

CONFIG_FILENAMES = (".orgtrust-lint.yaml", ".orgtrust-lint.yml", "pyproject.toml")
_KEYS = {"select", "ignore", "fail-on", "extra-principals", "exclude"}


class ConfigError(UserError):
    """The configuration cannot be used; the message is one line for the user."""


@dataclass(frozen=True)
class Config:
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    fail_on: Severity = Severity.ERROR
    extra_principals: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    source: str | None = None

    def override(self, **changes: Any) -> Config:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def _string_list(value: Any, key: str, source: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{source}: '{key}' must be a list of strings")
    return tuple(value)


def parse_codes(values: tuple[str, ...], source: str) -> tuple[str, ...]:
    codes = tuple(c.strip().upper() for v in values for c in v.split(",") if c.strip())
    for code in codes:
        if not re.fullmatch(r"OT\d{0,3}", code):
            raise ConfigError(f"{source}: '{code}' is not a rule code (expected OT followed by digits, e.g. OT105)")
    return codes


def from_mapping(data: Any, source: str) -> Config:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the configuration must be a table of settings")
    normalised = {str(k).replace("_", "-"): v for k, v in data.items()}
    unknown = sorted(set(normalised) - _KEYS)
    if unknown:
        raise ConfigError(f"{source}: unknown setting '{unknown[0]}' (known: {', '.join(sorted(_KEYS))})")
    config = Config(source=source)
    if "select" in normalised:
        config = replace(config, select=parse_codes(_string_list(normalised["select"], "select", source), source))
    if "ignore" in normalised:
        config = replace(config, ignore=parse_codes(_string_list(normalised["ignore"], "ignore", source), source))
    if "fail-on" in normalised:
        value = normalised["fail-on"]
        try:
            config = replace(config, fail_on=Severity(str(value).lower()))
        except ValueError:
            raise ConfigError(f"{source}: 'fail-on' must be error, warning or info, not {value!r}") from None
    if "extra-principals" in normalised:
        extra = _string_list(normalised["extra-principals"], "extra-principals", source)
        config = replace(config, extra_principals=extra)
    if "exclude" in normalised:
        config = replace(config, exclude=_string_list(normalised["exclude"], "exclude", source))
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


def load_file(path: Path) -> Config:
    source = os.path.relpath(path) if path.is_absolute() else str(path)
    try:
        if path.name == "pyproject.toml":
            return from_mapping(_read_pyproject(path), source)
        from orgtrust_lint.catalog import InvalidYaml, load_yaml

        try:
            return from_mapping(load_yaml(path.read_bytes()), source)
        except InvalidYaml as exc:
            where = f" at line {exc.line}" if exc.line else ""
            raise ConfigError(f"{source}: not valid YAML{where}") from None
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read ({exc.strerror})") from None


def find_config(start: Path) -> Path | None:
    directory = start if start.is_dir() else start.parent
    for candidate in (directory.resolve(), *directory.resolve().parents):
        for name in CONFIG_FILENAMES:
            path = candidate / name
            if not path.is_file():
                continue
            if name == "pyproject.toml" and _read_pyproject(path) is None:
                continue
            return path
    return None


def load_config(paths: list[str], explicit: str | None = None) -> Config:
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"configuration file {explicit} does not exist")
        return load_file(path)
    start = Path(os.path.commonpath([os.path.abspath(p) for p in paths])) if paths else Path.cwd()
    found = find_config(start)
    return load_file(found) if found else Config()
