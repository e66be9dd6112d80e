"""Facts to JSON and back, for the cache: plain values only, every field's type checked on read.

The cache used to hold pickles, and unpickling runs code named by the data. JSON cannot. The
decoder is built from facts.py's own type hints, so a field added there is covered without a
second description to keep in step, and an entry of any other shape (another version, a
damaged or crafted row) raises CacheFormatError, which the cache treats as a miss.

A dataclass is written as the list of its field values in declaration order; the format
version and a digest of the field layout make an entry of another layout a miss.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import math
import operator
import types
import typing
from collections.abc import Callable
from typing import Any

from orgtrust_lint import facts as facts_module
from orgtrust_lint.facts import Facts

FORMAT_VERSION = 3  # 3: Facts.files_read


class CacheFormatError(ValueError):
    """The entry is not a well-formed encoding of the expected type."""


Decoder = Callable[[Any], Any]
Encoder = Callable[[Any], Any]


def _fail(expected: str, value: Any) -> typing.NoReturn:
    raise CacheFormatError(f"expected {expected}, got {type(value).__name__}")


def _scalar_decoder(kind: type) -> Decoder:
    def decode(value: Any) -> Any:
        # bool is an int to Python but not to the fact model; JSON keeps them apart, so must we.
        if type(value) is not kind:
            if kind is float and type(value) is int:
                return float(value)
            _fail(kind.__name__, value)
        if type(value) is float and not math.isfinite(value):  # type(value) is kind by now
            _fail("a finite number", value)
        return value

    return decode


def _type_key(annotation: Any) -> str:
    return repr(annotation)


class _Codec:
    """Encoders and decoders for the annotations reachable from Facts, built once."""

    def __init__(self) -> None:
        self._decoders: dict[str, Decoder] = {}
        self._encoders: dict[str, Encoder] = {}
        self.layout: list[str] = []

    def decoder(self, annotation: Any) -> Decoder:
        key = _type_key(annotation)
        if key not in self._decoders:
            self._decoders[key] = lambda value: self._decoders[key](value)  # recursion guard
            self._decoders[key] = self._build_decoder(annotation)
        return self._decoders[key]

    def encoder(self, annotation: Any) -> Encoder:
        key = _type_key(annotation)
        if key not in self._encoders:
            self._encoders[key] = lambda value: self._encoders[key](value)
            self._encoders[key] = self._build_encoder(annotation)
        return self._encoders[key]

    def _build_decoder(self, annotation: Any) -> Decoder:
        origin = typing.get_origin(annotation)
        arguments = typing.get_args(annotation)
        if annotation in (str, int, bool, float):
            return _scalar_decoder(annotation)
        if annotation is type(None):
            return lambda value: value if value is None else _fail("null", value)
        if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
            members = {member.value: member for member in annotation}

            def decode_enum(value: Any) -> Any:
                if isinstance(value, str) and value in members:
                    return members[value]
                _fail(f"a {annotation.__name__}", value)

            return decode_enum
        if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
            return self._dataclass_decoder(annotation)
        if origin in (typing.Union, types.UnionType):
            options = [self.decoder(option) for option in arguments]

            def decode_union(value: Any) -> Any:
                for option in options:
                    try:
                        return option(value)
                    except CacheFormatError:
                        continue
                _fail(str(annotation), value)

            return decode_union
        if origin in (list, tuple, frozenset):
            if origin is tuple and not (len(arguments) == 2 and arguments[1] is Ellipsis):
                items = [self.decoder(argument) for argument in arguments]

                def decode_fixed(value: Any) -> Any:
                    if type(value) is not list or len(value) != len(items):
                        _fail(f"a list of {len(items)}", value)
                    return tuple(item(element) for item, element in zip(items, value, strict=True))

                return decode_fixed
            element = self.decoder(arguments[0])
            build = origin

            def decode_sequence(value: Any) -> Any:
                if type(value) is not list:
                    _fail("a list", value)
                return build(element(item) for item in value) if build is not list else [element(i) for i in value]

            return decode_sequence
        if origin is dict:
            keys, values = (self.decoder(argument) for argument in arguments)

            def decode_mapping(value: Any) -> Any:
                if type(value) is not dict:
                    _fail("an object", value)
                return {keys(k): values(v) for k, v in value.items()}

            return decode_mapping
        raise TypeError(f"the cache cannot hold {annotation!r}")  # a new kind of field in facts.py

    def _dataclass_decoder(self, cls: type) -> Decoder:
        hints = typing.get_type_hints(cls, vars(facts_module))
        fields = [f.name for f in dataclasses.fields(cls)]
        self.layout.append(f"{cls.__name__}({','.join(f'{n}:{hints[n]!r}' for n in fields)})")
        decoders = [self.decoder(hints[name]) for name in fields]
        count = len(fields)

        def decode_dataclass(value: Any) -> Any:
            if type(value) is not list or len(value) != count:
                _fail(f"a {cls.__name__}", value)
            instance: object = object.__new__(cls)
            # Frozen dataclasses refuse attribute assignment; filling __dict__ is what their
            # own __init__ amounts to, at a fraction of the cost on a warm run.
            instance.__dict__.update(zip(fields, (d(v) for d, v in zip(decoders, value, strict=True)), strict=True))
            return instance

        return decode_dataclass

    def _build_encoder(self, annotation: Any) -> Encoder:
        origin = typing.get_origin(annotation)
        arguments = typing.get_args(annotation)
        if annotation in (str, int, bool, float) or annotation is type(None):
            return _as_is
        if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
            return lambda value: value.value
        if dataclasses.is_dataclass(annotation):
            hints = typing.get_type_hints(annotation, vars(facts_module))
            names = [f.name for f in dataclasses.fields(annotation)]
            encoders = [self.encoder(hints[name]) for name in names]
            # Every field at once (one C call), and plain values as they are: a cold run encodes
            # every fact it writes to the cache.
            fetch = operator.attrgetter(*names) if len(names) > 1 else lambda value: (getattr(value, names[0]),)
            if all(e is _as_is for e in encoders):
                return lambda value: list(fetch(value))
            return lambda value: [v if e is _as_is else e(v) for e, v in zip(encoders, fetch(value), strict=True)]
        if origin in (typing.Union, types.UnionType):
            options = [(typing.get_origin(option) or option, self.encoder(option)) for option in arguments]
            by_type: dict[type, Encoder] = {}

            def encode_union(value: Any) -> Any:
                kind = type(value)
                encode = by_type.get(kind)
                if encode is None:
                    encode = next(
                        (e for target, e in options if isinstance(target, type) and isinstance(value, target)), None
                    )
                    if encode is None:
                        raise TypeError(f"{value!r} is not a {annotation!r}")
                    by_type[kind] = encode  # the first option a value of this type matches, as before
                return encode(value)

            return encode_union
        if origin is tuple and not (len(arguments) == 2 and arguments[1] is Ellipsis):
            items = [self.encoder(argument) for argument in arguments]
            return lambda value: [e(v) for e, v in zip(items, value, strict=True)]
        if origin in (list, tuple):
            element = self.encoder(arguments[0])
            if element is _as_is:
                return list
            return lambda value: [element(item) for item in value]
        if origin is frozenset:
            element = self.encoder(arguments[0])
            return lambda value: sorted(element(item) for item in value)
        if origin is dict:
            values = self.encoder(arguments[1])
            return lambda value: {k: values(v) for k, v in value.items()}
        raise TypeError(f"the cache cannot hold {annotation!r}")


def _as_is(value: Any) -> Any:
    return value


_codec: _Codec | None = None


def _shared() -> tuple[_Codec, Decoder, Encoder, str]:
    global _codec
    if _codec is None:
        _codec = _Codec()
        _codec.decoder(Facts)
        _codec.encoder(Facts)
    layout = hashlib.sha256("\n".join(_codec.layout).encode()).hexdigest()[:16]
    return _codec, _codec.decoder(Facts), _codec.encoder(Facts), f"{FORMAT_VERSION}:{layout}"


def encode_facts(facts: Facts) -> bytes:
    _, _, encode, version = _shared()
    return json.dumps([version, encode(facts)], separators=(",", ":"), allow_nan=False).encode()


def decode_facts(data: bytes) -> Facts:
    """The Facts an entry holds; CacheFormatError for anything else."""
    _, decode, _, version = _shared()
    try:
        envelope = json.loads(data)
    except (ValueError, RecursionError):
        raise CacheFormatError("not JSON") from None
    if type(envelope) is not list or len(envelope) != 2 or envelope[0] != version:
        raise CacheFormatError("another format version")
    try:
        # The decoder built for the Facts annotation builds a Facts (or raises).
        return typing.cast(Facts, decode(envelope[1]))
    except RecursionError:
        raise CacheFormatError("nested too deeply") from None
