"""A small, located HCL syntax tree: the few node kinds value resolution needs, each with the
exact source range a finding should point at. Built by hcl_parser from python-hcl2's Lark tree.

This module does not import lark, so a run whose documents all come from the parse cache
never loads the parser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from orgtrust_lint.facts import Location


class HclSyntaxError(Exception):
    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


@dataclass(frozen=True)
class Expr:
    location: Location
    text: str  # the source text, for OT002 messages


@dataclass(frozen=True)
class Literal(Expr):
    value: str | int | float | bool | None


@dataclass(frozen=True)
class Template(Expr):
    """A quoted string with interpolations: literal text and expressions in order."""

    parts: tuple[str | Expr, ...]


@dataclass(frozen=True)
class TupleExpr(Expr):
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class ObjectExpr(Expr):
    items: tuple[tuple[str | None, Expr], ...]  # key is None when it is not a plain name/string


@dataclass(frozen=True)
class Reference(Expr):
    """A traversal of plain names: var.x, local.y, aws_x.y.attr."""

    parts: tuple[str, ...]


@dataclass(frozen=True)
class Call(Expr):
    name: str
    args: tuple[Expr, ...]
    expand_final: bool  # f(list...)


@dataclass(frozen=True)
class Conditional(Expr):
    condition: Expr
    then: Expr
    otherwise: Expr


@dataclass(frozen=True)
class BinaryOp(Expr):
    operator: str  # as written: == != < > <= >= && || + - * / %
    left: Expr
    right: Expr


@dataclass(frozen=True)
class UnaryOp(Expr):
    operator: str  # ! or -
    operand: Expr


@dataclass(frozen=True)
class Index(Expr):
    """base[key], and base.name where base is not a plain name chain (aws_x.y[0].arn)."""

    base: Expr
    key: Expr


@dataclass(frozen=True)
class GetAttr(Expr):
    base: Expr
    name: str


@dataclass(frozen=True)
class Splat(Expr):
    """base[*].a.b or base.*.a: the traversal applied to every element of base."""

    base: Expr
    traversal: tuple[str | Expr, ...]  # attribute names, or index expressions


@dataclass(frozen=True)
class ForExpr(Expr):
    """[for k, v in coll : value if cond] or {for k, v in coll : key => value... if cond}."""

    key_name: str | None  # the first name of "for k, v"; None for "for v"
    value_name: str
    collection: Expr
    key: Expr | None  # the object form's key expression; None for the tuple form
    value: Expr
    condition: Expr | None
    grouping: bool  # value... in the object form


@dataclass(frozen=True)
class Other(Expr):
    """Anything static analysis does not evaluate (template directives, provider functions)."""


@dataclass(frozen=True)
class Attribute:
    name: str
    value: Expr
    location: Location


@dataclass
class Block:
    type: str
    labels: tuple[str, ...]
    location: Location
    attributes: dict[str, Attribute] = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)

    def child_blocks(self, block_type: str) -> list[Block]:
        return [b for b in self.blocks if b.type == block_type]


@dataclass
class HclDocument:
    path: str
    blocks: list[Block]
    attributes: dict[str, Attribute]  # top level (tfvars files)


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
# One pass over backslash escapes and the template escapes $${ and %%{: in HCL they are all
# lexical, so "%%\u007b" is the text %%{, not an escaped %{.
_ESCAPE_RE = re.compile(r"\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)|(\$\$\{|%%\{)", re.DOTALL)


def unescape(raw: str) -> str:
    def replace(match: re.Match[str]) -> str:
        template_escape = match.group(2)
        if template_escape:
            return template_escape[1:]
        code = match.group(1)
        if code[0] in "uU" and len(code) > 1:
            return chr(int(code[1:], 16))
        return _ESCAPES.get(code, code)

    return _ESCAPE_RE.sub(replace, raw)


def heredoc_indent(token: str) -> int:
    """How many leading columns ``<<-`` strips from every body line (0 for ``<<``)."""
    if not token.startswith("<<-"):
        return 0
    body = token.split("\n")[1:-2]
    return min((len(line) - len(line.lstrip()) for line in body if line.strip()), default=0)


def heredoc_body(token: str) -> str:
    cut = heredoc_indent(token)
    body = [line[cut:] for line in token.split("\n")[1:-2]]  # without the marker lines
    return "\n".join(line.rstrip("\r") for line in body) + ("\n" if body else "")
