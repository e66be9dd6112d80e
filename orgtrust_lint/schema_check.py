"""JSON Schema validation of shipped data files, remembered per content hash.

Validating the rule and catalog files on every run would import jsonschema (about 90 ms) on
the pre-commit path. The files only change when the package changes, so a successful
validation is recorded in the trusted cache directory, keyed by the hash of the data and
the schema, and repeated only when either changes.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from orgtrust_lint.errors import UserError


class DataFileError(UserError):
    """A shipped or user-supplied data file does not match its schema."""


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
    """Validate unless this exact content was validated against this exact schema before (a
    marker in the trusted cache directory, which no other user and no repository can plant)."""
    from orgtrust_lint import trusted_cache

    store = trusted_cache.store()
    digest = hashlib.sha256(raw + json.dumps(schema, sort_keys=True).encode()).hexdigest()
    marker = f"validated/{digest}"
    if store is not None and store.exists(marker):
        return
    validate(instance, schema, what, describe)
    if store is not None:
        store.write(marker, b"")  # a read-only home only costs the validation next time
