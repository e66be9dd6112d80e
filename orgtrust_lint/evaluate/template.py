"""HCL template files (templatefile): literal text, ``${...}`` interpolations and ``%{ if }`` /
``%{ for }`` directives, with ``~`` strip markers, parsed into a small tree whose expressions are
hcl_ast nodes located in the template file.

python-hcl2 parses templates only inside quoted strings, where backslash escapes apply and
directives are not kept; a template file has neither escapes nor quotes, so it is scanned here
and only each expression is handed to the HCL parser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Any

from orgtrust_lint.evaluate.gotext import GO_SPACE as _STRIPPED  # what a strip marker removes, newlines too
from orgtrust_lint.facts import Location
from orgtrust_lint.parse.hcl_ast import Expr, ForExpr, HclSyntaxError, Reference


class TemplateError(Exception):
    """The template is not valid HCL template syntax (Terraform reports an error)."""


class TemplateUnsupported(Exception):
    """Valid, but written with something this scanner does not follow (a heredoc in an interpolation)."""


@dataclass(frozen=True)
class Interpolation:
    expr: Expr


@dataclass(frozen=True)
class IfDirective:
    condition: Expr
    then: tuple[Node, ...]
    otherwise: tuple[Node, ...]


@dataclass(frozen=True)
class ForDirective:
    key_name: str | None
    value_name: str
    collection: Expr
    body: tuple[Node, ...]


Node = str | Interpolation | IfDirective | ForDirective


@dataclass
class _Token:
    kind: str  # "text", "interpolation" or "directive"
    text: str
    offset: int = 0  # where the expression text starts in the template
    strip_before: bool = False
    strip_after: bool = False


_LINES = re.compile(r"[^\n]*\n|[^\n]+")


def parse_template(path: str, text: str) -> tuple[Node, ...]:
    tokens = _scan(text)
    for index, token in enumerate(tokens):
        # A strip marker eats the whitespace beside it, but only within one line: HCL's scanner
        # ends a literal token after each newline, and a marker trims just the token next to it
        # ("a\n\n  ${~x}" keeps both newlines, "a\n${~x}" loses its one; "${x~}  \n\n b" keeps "\n b").
        if token.kind == "text":
            continue
        if token.strip_before and index > 0 and tokens[index - 1].kind == "text":
            lines = _LINES.findall(tokens[index - 1].text)
            tokens[index - 1].text = "".join(lines[:-1]) + (lines[-1].rstrip(_STRIPPED) if lines else "")
        if token.strip_after and index + 1 < len(tokens) and tokens[index + 1].kind == "text":
            lines = _LINES.findall(tokens[index + 1].text)
            tokens[index + 1].text = (lines[0].lstrip(_STRIPPED) if lines else "") + "".join(lines[1:])
    return _Tree(path, text, tokens).build()


def _scan(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    literal: list[str] = []
    position = 0
    while position < len(text):
        if text.startswith(("$${", "%%{"), position):
            literal.append(text[position + 1 : position + 3])
            position += 3
            continue
        if text.startswith(("${", "%{"), position):
            kind = "interpolation" if text[position] == "$" else "directive"
            start = position + 2
            strip_before = text.startswith("~", start)
            if strip_before:
                start += 1
            end = _expression_end(text, start)
            inner = text[start:end]
            strip_after = inner.endswith("~")
            if strip_after:
                inner = inner[:-1]
            tokens.append(_Token("text", "".join(literal)))
            literal = []
            tokens.append(_Token(kind, inner, start, strip_before, strip_after))
            position = end + 1
            continue
        literal.append(text[position])
        position += 1
    tokens.append(_Token("text", "".join(literal)))
    return tokens


def _expression_end(text: str, position: int) -> int:
    """The index of the ``}`` that closes the interpolation or directive starting at ``position``."""
    depth = 0
    while position < len(text):
        char = text[position]
        if char == '"':
            position = _string_end(text, position + 1)
            continue
        if char == "#" or text.startswith("//", position):
            newline = text.find("\n", position)
            if newline < 0:
                break
            position = newline
            continue
        if text.startswith("/*", position):
            close = text.find("*/", position + 2)
            if close < 0:
                break
            position = close + 2
            continue
        if text.startswith("<<", position) and re.match(r"<<-?[A-Za-z_]", text[position:]):
            raise TemplateUnsupported("a heredoc inside a template interpolation")
        if char in "([{":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == "}":
            if depth == 0:
                return position
            depth -= 1
        position += 1
    raise TemplateError("an interpolation or directive is not closed with }")


def _string_end(text: str, position: int) -> int:
    """The index after the quote closing a string that starts at ``position``."""
    while position < len(text):
        char = text[position]
        if char == "\\":
            position += 2
            continue
        if text.startswith(("$${", "%%{"), position):
            position += 3
            continue
        if text.startswith(("${", "%{"), position):
            position = _expression_end(text, position + 2) + 1
            continue
        if char == '"':
            return position + 1
        if char == "\n":
            break
        position += 1
    raise TemplateError("a quoted string in the template is not closed")


_FOR = re.compile(r"for\s+([A-Za-z_][\w-]*)\s*(?:,\s*([A-Za-z_][\w-]*)\s*)?\s+in\s+(.+)", re.DOTALL)
_PREFIX = "x = ("  # the attribute an expression is parsed in


class _Tree:
    def __init__(self, path: str, text: str, tokens: list[_Token]) -> None:
        self.path = path
        self.text = text
        self.tokens = tokens
        self.position = 0

    def build(self) -> tuple[Node, ...]:
        nodes, closing = self.sequence(())
        if closing is not None:
            raise TemplateError(f"%{{ {closing} }} without its opening directive")
        return nodes

    def sequence(self, closers: tuple[str, ...]) -> tuple[tuple[Node, ...], str | None]:
        nodes: list[Node] = []
        while self.position < len(self.tokens):
            token = self.tokens[self.position]
            self.position += 1
            if token.kind == "text":
                if token.text:
                    nodes.append(token.text)
            elif token.kind == "interpolation":
                nodes.append(Interpolation(self.expression(token.text, token.offset)))
            else:
                word = token.text.strip()
                keyword = word.split(None, 1)[0] if word else ""
                if keyword in ("else", "endif", "endfor"):
                    if keyword not in closers:
                        raise TemplateError(f"unexpected %{{ {keyword} }}")
                    return tuple(nodes), keyword
                nodes.append(self.directive(token, word, keyword))
        if closers:
            raise TemplateError(f"a directive is not closed with %{{ {closers[-1]} }}")
        return tuple(nodes), None

    def directive(self, token: _Token, word: str, keyword: str) -> Node:
        lead = len(token.text) - len(token.text.lstrip())
        if keyword == "if":
            condition = self.expression(word[2:], token.offset + lead + 2)
            then, closing = self.sequence(("else", "endif"))
            otherwise: tuple[Node, ...] = ()
            if closing == "else":
                otherwise, _ = self.sequence(("endif",))
            return IfDirective(condition, then, otherwise)
        if keyword == "for":
            match = _FOR.fullmatch(word)
            if match is None:
                raise TemplateError("a for directive is written %{ for name in collection }")
            key_name, value_name = (match[1], match[2]) if match[2] else (None, match[1])
            collection = self.expression(match[3], token.offset + lead + match.start(3))
            body, _ = self.sequence(("endfor",))
            return ForDirective(key_name, value_name, collection, body)
        raise TemplateError(f"unknown template directive {keyword!r}")

    def expression(self, source: str, offset: int) -> Expr:
        from orgtrust_lint.parse.hcl_parser import parse_hcl

        try:
            document = parse_hcl(self.path, f"{_PREFIX}{source})\n")
        except HclSyntaxError as exc:
            raise TemplateError(f"invalid expression in the template: {exc}") from None
        attribute = document.attributes.get("x")
        if attribute is None:
            raise TemplateError("invalid expression in the template")
        line = self.text.count("\n", 0, offset) + 1
        column = offset - (self.text.rfind("\n", 0, offset) + 1) + 1
        return _moved(attribute.value, self.path, line, column)


def _moved(expr: Expr, path: str, line: int, column: int) -> Expr:
    """The expression parsed after ``x = (`` on line 1, located where it is in the template."""
    shift = column - (len(_PREFIX) + 1)

    def place(location: Location) -> Location:
        start_column = location.column + shift if location.line == 1 else location.column
        end_column = location.end_column + shift if location.end_line == 1 else location.end_column
        return Location(path, location.line + line - 1, start_column, location.end_line + line - 1, end_column)

    def move(value: object) -> object:
        if isinstance(value, Expr):
            # Every field of every node type, rebuilt generically: the values are of each field's own type.
            changed: dict[str, Any] = {f.name: move(getattr(value, f.name)) for f in fields(value)}
            changed["location"] = place(value.location)
            return type(value)(**changed)
        if isinstance(value, tuple):
            return tuple(move(item) for item in value)
        return value

    moved = move(expr)
    assert isinstance(moved, Expr)
    return moved


def free_names(nodes: tuple[Node, ...], bound: frozenset[str] = frozenset()) -> set[str]:
    """The names a template refers to that it does not bind itself (Terraform requires every one
    to be a key of templatefile's vars)."""
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, Interpolation):
            names |= _expression_names(node.expr, bound)
        elif isinstance(node, IfDirective):
            names |= _expression_names(node.condition, bound)
            names |= free_names(node.then, bound) | free_names(node.otherwise, bound)
        elif isinstance(node, ForDirective):
            names |= _expression_names(node.collection, bound)
            inner = bound | {node.value_name} | ({node.key_name} if node.key_name else set())
            names |= free_names(node.body, frozenset(inner))
    return names


def _expression_names(expr: object, bound: frozenset[str]) -> set[str]:
    if isinstance(expr, Reference):
        return set() if expr.parts[0] in bound else {expr.parts[0]}
    names: set[str] = set()
    if isinstance(expr, ForExpr):
        inner = bound | {expr.value_name} | ({expr.key_name} if expr.key_name else set())
        names |= _expression_names(expr.collection, bound)
        for part in (expr.key, expr.value, expr.condition):
            names |= _expression_names(part, frozenset(inner))
    elif isinstance(expr, Expr):
        for f in fields(expr):
            if f.name != "location":
                names |= _expression_names(getattr(expr, f.name), bound)
    elif isinstance(expr, tuple):
        for item in expr:
            names |= _expression_names(item, bound)
    return names
