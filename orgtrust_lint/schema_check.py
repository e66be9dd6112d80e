"""JSON Schema validation of shipped data files, remembered per content hash.

Validating the rule and catalog files on every run would import jsonschema (about 90 ms) on
the pre-commit path. The files only change when the package changes, so a successful
validation is recorded under the user's cache directory, keyed by the hash of the data and
the schema, and repeated only when either changes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from orgtrust_lint.errors import UserError


class DataFileError(UserError):
    """A shipped or user-supplied data file does not match its schema."""


def cache_dir() -> Path:
    override = os.environ.get("ORGTRUST_LINT_CACHE_DIR")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "orgtrust-lint"


def write_atomically(target: Path, content: bytes) -> None:
    """Best effort: a cache entry appears whole or not at all; a read-only home only costs time."""
    import tempfile

    temporary = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
        os.replace(temporary, target)
    except OSError:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)


def _describe(error: Any) -> str:
    where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
    return f"at {where}: {error.message}"


def validate(instance: Any, schema: dict[str, Any], what: str, describe: Any = None) -> None:
    """Validate now, always; raise DataFileError naming the first problem. With ``describe``
    (error -> (key, what is expected)) the message is "WHAT: 'KEY': EXPECTED"."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(instance), key=lambda e: [str(p) for p in e.absolute_path])
    if errors and describe is not None:
        key, expected = describe(errors[0])
        raise DataFileError(f"{what}: '{key}': {expected}" if key else f"{what}: {expected}")
    if errors:
        raise DataFileError(f"{what} does not match its schema {_describe(errors[0])}")


def validate_cached(raw: bytes, instance: Any, schema: dict[str, Any], what: str, describe: Any = None) -> None:
    """Validate unless this exact content was validated against this exact schema before."""
    digest = hashlib.sha256(raw + json.dumps(schema, sort_keys=True).encode()).hexdigest()
    marker = cache_dir() / "validated" / digest
    if marker.exists():
        return
    validate(instance, schema, what, describe)
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
    except OSError:
        pass  # a read-only home only costs the validation next time
