"""Build the located syntax tree of hcl_ast from python-hcl2's Lark parse tree.

python-hcl2's dict output loses positions and turns expressions back into strings; its raw
Lark tree keeps both.
"""

from __future__ import annotations

import re
from typing import Any

from lark import Token, Tree

from orgtrust_lint.facts import Location
from orgtrust_lint.parse.hcl_ast import (
    Attribute,
    BinaryOp,
    Block,
    Call,
    Conditional,
    Expr,
    ForExpr,
    GetAttr,
    HclDocument,
    HclSyntaxError,
    Index,
    Literal,
    ObjectExpr,
    Other,
    Reference,
    Splat,
    Template,
    TupleExpr,
    UnaryOp,
    heredoc_body,
    unescape,
)

_SKIPPED = ("new_line_or_comment",)


class _Builder:
    def __init__(self, path: str, text: str, lines: list[int] | None = None) -> None:
        self.path = path
        self.text = text
        # When the text holds only pieces of the file: the file's line of each line of the text.
        self.lines = lines

    def line(self, number: int) -> int:
        if self.lines is None:
            return number
        return self.lines[min(number, len(self.lines)) - 1]

    def loc(self, node: Tree[Token] | Token) -> Location:
        line = self.line
        if isinstance(node, Token):
            return Location(
                self.path,
                line(node.line or 1),
                node.column or 1,
                line(node.end_line or node.line or 1),
                node.end_column or node.column or 1,
            )
        meta = node.meta
        if getattr(meta, "empty", True):
            return Location.point(self.path, line(1))
        return Location(self.path, line(meta.line), meta.column, line(meta.end_line), meta.end_column)

    def source(self, node: Tree[Token] | Token) -> str:
        if isinstance(node, Token):
            return str(node)
        meta = node.meta
        if getattr(meta, "empty", True):
            return ""
        return self.text[meta.start_pos : meta.end_pos].strip()

    def body(self, tree: Tree[Token]) -> tuple[dict[str, Attribute], list[Block]]:
        attributes: dict[str, Attribute] = {}
        blocks: list[Block] = []
        for child in tree.children:
            if not isinstance(child, Tree):
                continue
            if child.data == "attribute":
                attribute = self.attribute(child)
                attributes[attribute.name] = attribute
            elif child.data == "block":
                blocks.append(self.block(child))
        return attributes, blocks

    def name_of(self, node: Tree[Token] | Token) -> str:
        if isinstance(node, Token):
            return str(node)
        if node.data == "string":
            return "".join(
                unescape(str(part.children[0]))
                for part in node.children
                if isinstance(part, Tree) and isinstance(part.children[0], Token)
            )
        return "".join(str(token) for token in node.scan_values(lambda _: True))

    def attribute(self, tree: Tree[Token]) -> Attribute:
        name_node = tree.children[0]
        value_node = tree.children[-1]
        return Attribute(self.name_of(name_node), self.expr(value_node), self.loc(tree))

    def block(self, tree: Tree[Token]) -> Block:
        names: list[str] = []
        body_tree: Tree[Token] | None = None
        for child in tree.children:
            if isinstance(child, Tree) and child.data == "body":
                body_tree = child
            elif isinstance(child, Tree) and child.data in ("identifier", "keyword", "string", "literal_value"):
                names.append(self.name_of(child))
        attributes, blocks = self.body(body_tree) if body_tree is not None else ({}, [])
        return Block(names[0], tuple(names[1:]), self.loc(tree), attributes, blocks)

    def expr(self, node: Tree[Token] | Token) -> Expr:
        if isinstance(node, Token):
            return Other(self.loc(node), str(node))
        kind = node.data
        if kind == "expr_term":
            inner = [c for c in node.children if isinstance(c, Tree)]
            if len(node.children) == 1 and inner:
                return self.expr(inner[0])
            if inner:  # parenthesised
                return self.expr(inner[-1] if inner[-1].data != "new_line_or_comment" else inner[0])
            return Other(self.loc(node), self.source(node))
        location, text = self.loc(node), self.source(node)
        if kind == "string":
            return self.string(node, location, text)
        if kind in ("heredoc_template", "heredoc_template_trim"):
            return Literal(location, text, heredoc_body(str(node.children[0])))
        if kind == "int_lit":
            return Literal(location, text, int(str(node.children[0])))
        if kind == "float_lit":
            return Literal(location, text, float(str(node.children[0])))
        if kind == "literal_value":
            word = str(node.children[0])
            return Literal(location, text, {"true": True, "false": False, "null": None}[word])
        if kind == "tuple":
            items = tuple(
                self.expr(child)
                for child in node.children
                if isinstance(child, Tree) and child.data != "new_line_or_comment"
            )
            return TupleExpr(location, text, items)
        if kind == "object":
            return ObjectExpr(location, text, tuple(self.object_items(node)))
        if kind == "identifier":
            return Reference(location, text, (str(node.children[0]),))
        if kind == "get_attr_expr_term":
            base = self.expr(node.children[0])
            attr = node.children[1]  # the grammar's get_attr: a tree
            names = [c for c in attr.children if isinstance(c, Tree)] if isinstance(attr, Tree) else []
            if not names:
                return Other(location, text)
            name = self.name_of(names[0])
            if isinstance(base, Reference):
                return Reference(location, text, (*base.parts, name))
            return GetAttr(location, text, base, name)
        if kind == "function_call":
            return self.call(node, location, text)
        if kind == "conditional":
            condition, then, otherwise = (self.expr(operand) for operand in self.operands(node))
            return Conditional(location, text, condition, then, otherwise)
        if kind == "binary_op":
            left, term = self.operands(node)
            operator = next(c for c in term.children if isinstance(c, Tree) and c.data == "binary_operator")
            right = [c for c in term.children if isinstance(c, Tree) and c is not operator and c.data not in _SKIPPED]
            return BinaryOp(location, text, str(operator.children[0]), self.expr(left), self.expr(right[0]))
        if kind == "unary_op":
            sign = next(str(c) for c in node.children if isinstance(c, Token))
            (operand,) = self.operands(node)
            return UnaryOp(location, text, sign, self.expr(operand))
        if kind == "index_expr_term":
            indexed, index = self.operands(node)
            (key,) = self.operands(index)
            return Index(location, text, self.expr(indexed), self.expr(key))
        if kind in ("full_splat_expr_term", "attr_splat_expr_term"):
            splatted, splat = self.operands(node)
            return Splat(location, text, self.expr(splatted), tuple(self.traversal(splat)))
        if kind in ("for_tuple_expr", "for_object_expr"):
            return self.for_expr(node, location, text)
        return Other(location, text)

    @staticmethod
    def operands(node: Tree[Token]) -> list[Tree[Token]]:
        """The child trees that are expressions or clauses, without comments and newlines."""
        return [c for c in node.children if isinstance(c, Tree) and c.data not in _SKIPPED]

    def traversal(self, splat: Tree[Token]) -> list[str | Expr]:
        steps: list[str | Expr] = []
        for step in self.operands(splat):
            if step.data == "get_attr":
                names = [c for c in step.children if isinstance(c, Tree)]
                steps.append(self.name_of(names[0]))
            elif step.data in ("braces_index", "short_index"):
                keys = self.operands(step)
                if keys:
                    steps.append(self.expr(keys[0]))
                else:  # .0 style index
                    steps.append(Literal(self.loc(step), self.source(step), int(self.source(step).lstrip("."))))
        return steps

    def for_expr(self, node: Tree[Token], location: Location, text: str) -> Expr:
        parts = self.operands(node)
        intro = parts[0]
        names = [self.name_of(c) for c in intro.children if isinstance(c, Tree) and c.data == "identifier"]
        collection = [c for c in self.operands(intro) if c.data != "identifier"]
        if not names or not collection:
            return Other(location, text)
        key_name, value_name = (names[0], names[1]) if len(names) == 2 else (None, names[0])
        rest = parts[1:]
        condition = None
        if rest and rest[-1].data == "for_cond":
            condition = self.expr(self.operands(rest[-1])[0])
            rest = rest[:-1]
        grouping = any(isinstance(c, Token) and str(c) == "..." for c in node.children)
        if node.data == "for_object_expr":
            if len(rest) != 2:
                return Other(location, text)
            key, value = (self.expr(r) for r in rest)
            return ForExpr(
                location, text, key_name, value_name, self.expr(collection[0]), key, value, condition, grouping
            )
        if len(rest) != 1:
            return Other(location, text)
        return ForExpr(
            location, text, key_name, value_name, self.expr(collection[0]), None, self.expr(rest[0]), condition, False
        )

    def string(self, node: Tree[Token], location: Location, text: str) -> Expr:
        parts: list[str | Expr] = []
        for part in node.children:
            if not isinstance(part, Tree):
                continue
            inner = part.children[0]
            if isinstance(inner, Token):
                chunk = unescape(str(inner))
                if parts and isinstance(parts[-1], str):
                    parts[-1] += chunk
                else:
                    parts.append(chunk)
            elif inner.data == "interpolation":
                expressions = [c for c in inner.children if isinstance(c, Tree)]
                parts.append(self.expr(expressions[0]))
            else:  # template directives (%{ if }) are not evaluated
                return Other(location, text)
        strings = [p for p in parts if isinstance(p, str)]
        if len(strings) == len(parts):
            return Literal(location, text, "".join(strings))
        return Template(location, text, tuple(parts))

    def object_items(self, node: Tree[Token]) -> list[tuple[str | None, Expr]]:
        items: list[tuple[str | None, Expr]] = []
        for elem in node.children:
            if not isinstance(elem, Tree) or elem.data != "object_elem":
                continue
            key_node = elem.children[0]  # the grammar's object_elem_key: a tree
            value = self.expr(elem.children[-1])
            key_expr = key_node.children[0] if isinstance(key_node, Tree) else key_node
            key: str | None
            if isinstance(key_expr, Tree) and key_expr.data == "keyword":
                key = self.name_of(key_expr)
            else:
                parsed = self.expr(key_expr)
                if isinstance(parsed, Literal) and isinstance(parsed.value, str):
                    key = parsed.value
                elif isinstance(parsed, Reference) and len(parsed.parts) == 1:
                    key = parsed.parts[0]
                else:
                    key = None
            items.append((key, value))
        return items

    def call(self, node: Tree[Token], location: Location, text: str) -> Expr:
        children = [c for c in node.children if isinstance(c, Tree)]
        identifiers = [c for c in children if c.data == "identifier"]
        if len(identifiers) != 1:  # provider::ns::fn
            return Other(location, text)
        name = self.name_of(identifiers[0])
        args: tuple[Expr, ...] = ()
        expand = False
        for child in children:
            if child.data == "arguments":
                args = tuple(
                    self.expr(a) for a in child.children if isinstance(a, Tree) and a.data != "new_line_or_comment"
                )
                expand = any(isinstance(a, Token) and a.type == "ELLIPSIS" for a in child.children)
        return Call(location, text, name, args, expand)


def _parser_error(exc: Exception) -> HclSyntaxError:
    line = getattr(exc, "line", None) or 1
    column = getattr(exc, "column", None) or 1
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    first = re.sub(r"\s+at line \d+, column \d+\.?$", "", first)
    token = getattr(exc, "token", None)
    if token is not None and getattr(token, "type", "") == "$END":
        first = "unexpected end of file (unclosed block, list or string?)"
    elif first.startswith("Unexpected token"):
        first = f"unexpected {str(token)!r}" if token is not None else first
    elif first.startswith("No terminal matches"):
        char = getattr(exc, "char", "")
        first = f"unexpected character {char!r}"
    return HclSyntaxError(first, max(int(line), 1), max(int(column), 1))


def load_parser() -> None:
    """Import python-hcl2 and build its parser now (about 0.12 s): done before worker processes are
    forked, each of them inherits it instead of paying for it again."""
    from hcl2.parser import parser

    parser()


def parse_hcl(path: str, text: str) -> HclDocument:
    """Parse HCL text; raise HclSyntaxError with a line and column for malformed input."""
    import hcl2
    from lark.exceptions import LarkError

    try:
        tree = hcl2.parses_to_tree(text)
    except LarkError as exc:
        raise _parser_error(exc) from None
    except RecursionError:
        raise HclSyntaxError("nesting too deep to parse", 1, 1) from None
    builder = _Builder(path, text + "\n")
    body = next(c for c in tree.children if isinstance(c, Tree) and c.data == "body")
    attributes, blocks = builder.body(body)
    return HclDocument(path, blocks, attributes)


def parse_hcl_pieces(path: str, text: str, pieces: list[tuple[int, int]]) -> HclDocument:
    """Parse only the pieces ``text[start:end]`` (whole top-level blocks) into one document located
    in the file: they are parsed together, one after the other, and every line of the parsed text
    maps back to its line in the file (the parser never sees the rest, not even as blank lines)."""
    import hcl2
    from lark.exceptions import LarkError

    parts: list[str] = []
    lines: list[int] = []
    for start, end in pieces:
        line_start = text.rfind("\n", 0, start) + 1
        first_line = text.count("\n", 0, start) + 1
        piece = " " * (start - line_start) + text[start:end]  # the first line keeps its columns
        parts.append(piece)
        lines.extend(range(first_line, first_line + piece.count("\n") + 1))
    compact = "\n".join(parts) + "\n"
    lines.append(lines[-1] + 1 if lines else 1)
    try:
        tree = hcl2.parses_to_tree(compact)
    except LarkError as exc:
        error = _parser_error(exc)
        raise HclSyntaxError(str(error), lines[min(error.line, len(lines)) - 1], error.column) from None
    except RecursionError:
        raise HclSyntaxError("nesting too deep to parse", 1, 1) from None
    builder = _Builder(path, compact + "\n", lines)
    body = next(c for c in tree.children if isinstance(c, Tree) and c.data == "body")
    attributes, blocks = builder.body(body)
    return HclDocument(path, blocks, attributes)


def parse_hcl_expression(path: str, text: str, at: Location) -> Expr:
    """Parse a lone expression (from a ``${...}`` in Terraform JSON), located at ``at``."""
    document = parse_hcl(path, f"x = {text}\n")
    value = document.attributes["x"].value
    return _relocate(value, at)


def _relocate(expr: Expr, at: Location) -> Expr:
    """The same expression with every node located at ``at``: expressions inside a JSON string
    have no line of their own, so they point at the string."""

    def move(value: object) -> object:
        if isinstance(value, Expr):
            return _relocate(value, at)
        if isinstance(value, tuple):
            return tuple(move(item) for item in value)
        return value

    # The fields of whichever Expr class this is: their types vary with the class.
    fields: dict[str, Any] = {name: move(getattr(expr, name)) for name in expr.__dataclass_fields__}
    fields["location"] = at
    return type(expr)(**fields)
