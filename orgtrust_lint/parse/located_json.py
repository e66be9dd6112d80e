"""JSON decoding that remembers where every value starts and ends.

The standard library's decoder gives no positions, and findings must point at the exact
element of a list. This decoder follows RFC 8259 and produces plain Python values wrapped in
``JsonNode`` with a ``Location``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from orgtrust_lint.facts import Location

_WS = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")
_MAX_DEPTH = 500


class JsonSyntaxError(Exception):
    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


@dataclass(frozen=True)
class JsonNode:
    value: Any  # dict[str, JsonNode] | list[JsonNode] | str | int | float | bool | None
    location: Location
    key_location: Location | None = None  # for object members: where the key is written

    def plain(self) -> Any:
        if isinstance(self.value, dict):
            return {k: v.plain() for k, v in self.value.items()}
        if isinstance(self.value, list):
            return [v.plain() for v in self.value]
        return self.value


class _Decoder:
    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.text = text
        self.line_starts = [0]
        for match in re.finditer("\n", text):
            self.line_starts.append(match.end())

    def position(self, offset: int) -> tuple[int, int]:
        lo, hi = 0, len(self.line_starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.line_starts[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return lo + 1, offset - self.line_starts[lo] + 1

    def location(self, start: int, end: int) -> Location:
        line, column = self.position(start)
        end_line, end_column = self.position(end)
        return Location(self.path, line, column, end_line, end_column)

    def fail(self, message: str, offset: int) -> JsonSyntaxError:
        line, column = self.position(min(offset, len(self.text)))
        return JsonSyntaxError(message, line, column)

    def skip(self, offset: int) -> int:
        match = _WS.match(self.text, offset)
        assert match is not None  # a pattern of [...]* matches everywhere, if only the empty string
        return match.end()

    def value(self, offset: int, depth: int) -> tuple[JsonNode, int]:
        if depth > _MAX_DEPTH:
            raise self.fail("nesting too deep", offset)
        offset = self.skip(offset)
        if offset >= len(self.text):
            raise self.fail("unexpected end of file", offset)
        char = self.text[offset]
        if char == "{":
            return self.object(offset, depth)
        if char == "[":
            return self.array(offset, depth)
        if char == '"':
            value, end = self.string(offset)
            return JsonNode(value, self.location(offset, end)), end
        for word, literal in (("true", True), ("false", False), ("null", None)):
            if self.text.startswith(word, offset):
                end = offset + len(word)
                return JsonNode(literal, self.location(offset, end)), end
        match = _NUMBER.match(self.text, offset)
        if match:
            token = match.group()
            number: int | float = float(token) if any(c in token for c in ".eE") else int(token)
            return JsonNode(number, self.location(offset, match.end())), match.end()
        raise self.fail(f"unexpected character {char!r}", offset)

    def string(self, offset: int) -> tuple[str, int]:
        try:
            # typeshed does not declare json.decoder.scanstring, the decoder's own (C-accelerated) string scanner.
            value, end = json.decoder.scanstring(self.text, offset + 1, True)  # type: ignore[attr-defined]
        except json.JSONDecodeError as exc:
            raise self.fail(exc.msg.lower(), exc.pos) from None
        return value, end

    def object(self, start: int, depth: int) -> tuple[JsonNode, int]:
        members: dict[str, JsonNode] = {}
        offset = self.skip(start + 1)
        if self.text.startswith("}", offset):
            return JsonNode(members, self.location(start, offset + 1)), offset + 1
        while True:
            offset = self.skip(offset)
            if not self.text.startswith('"', offset):
                raise self.fail("expected a property name in double quotes", offset)
            key, key_end = self.string(offset)
            key_location = self.location(offset, key_end)
            offset = self.skip(key_end)
            if not self.text.startswith(":", offset):
                raise self.fail("expected ':' after a property name", offset)
            node, offset = self.value(offset + 1, depth + 1)
            members[key] = JsonNode(node.value, node.location, key_location)
            offset = self.skip(offset)
            if self.text.startswith(",", offset):
                offset += 1
                continue
            if self.text.startswith("}", offset):
                return JsonNode(members, self.location(start, offset + 1)), offset + 1
            raise self.fail("expected ',' or '}'", offset)

    def array(self, start: int, depth: int) -> tuple[JsonNode, int]:
        items: list[JsonNode] = []
        offset = self.skip(start + 1)
        if self.text.startswith("]", offset):
            return JsonNode(items, self.location(start, offset + 1)), offset + 1
        while True:
            node, offset = self.value(offset, depth + 1)
            items.append(node)
            offset = self.skip(offset)
            if self.text.startswith(",", offset):
                offset += 1
                continue
            if self.text.startswith("]", offset):
                return JsonNode(items, self.location(start, offset + 1)), offset + 1
            raise self.fail("expected ',' or ']'", offset)


def loads_located(path: str, text: str) -> JsonNode:
    """Decode JSON text; raise JsonSyntaxError with a line and column when it is malformed."""
    if text.startswith("\ufeff"):
        text = text[1:]
    decoder = _Decoder(path, text)
    node, end = decoder.value(0, 0)
    end = decoder.skip(end)
    if end != len(text):
        raise decoder.fail("extra data after the JSON value", end)
    return node
