"""What a line is, per file format: the one notion shared by the parsers' locations, inline ignores and --fix.

A finding's line and column come from the parser of its file, so everything that turns a line
number back into text (an ignore comment "on the next line", a --fix edit) must count lines the
way that parser does. ``str.splitlines()`` does not: it also breaks at form feed, vertical tab,
``\\x1c``-``\\x1e``, NEL, U+2028/U+2029 and a lone CR, which would make an ignore silence the
wrong line and a fix delete the wrong list element.

- Terraform (HCL through python-hcl2's Lark lexer, and Terraform JSON): only LF ends a line. In a
  CR LF file the CR is the last character of its line, which leaves columns unchanged.
- YAML (CloudFormation templates, read by cfn-lint with PyYAML/libyaml): YAML 1.1 line breaks, that
  is LF, CR LF, a lone CR, NEL (U+0085), LINE SEPARATOR (U+2028) and PARAGRAPH SEPARATOR (U+2029).
  Form feed, vertical tab and the other C0 controls are not breaks (YAML rejects them outright).

Columns count characters (code points) from the start of the line, starting at 1, as both parsers do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TERRAFORM_BREAKS = re.compile(r"\n")
YAML_BREAKS = re.compile(r"\r\n|[\n\r\x85\u2028\u2029]")
# What YAML treats as a break and Terraform does not (a CR that is not part of a CR LF, and the
# Unicode breaks): text without any of these has the same lines under both notions.
_YAML_ONLY_BREAK = re.compile(r"\r(?!\n)|[\x85\u2028\u2029]")


def notions_agree(text: str) -> bool:
    """Whether Terraform's and YAML's notions of a line give the same lines for ``text``."""
    return _YAML_ONLY_BREAK.search(text) is None


@dataclass(frozen=True)
class LineIndex:
    """Where each line of a text starts, computed once, so that turning any number of
    (line, column) positions into offsets is linear in the text, not in text times positions."""

    text: str
    starts: tuple[int, ...]  # offset of the first character of each line; starts[0] == 0

    @classmethod
    def of(cls, text: str, breaks: re.Pattern[str] = TERRAFORM_BREAKS) -> LineIndex:
        return cls(text, (0, *(match.end() for match in breaks.finditer(text))))

    @property
    def count(self) -> int:
        return len(self.starts)

    def end_of(self, line: int) -> int:
        """The offset just past line ``line`` (1-based), its line break included."""
        return self.starts[line] if line < len(self.starts) else len(self.text)

    def line(self, line: int) -> str:
        """Line ``line`` (1-based) with its line break."""
        return self.text[self.starts[line - 1] : self.end_of(line)]

    def offset(self, line: int, column: int) -> int | None:
        """The offset of (line, column), both 1-based; None when the position is not in the text.
        A column may point just past the last character of its line (an end position)."""
        if not 1 <= line <= len(self.starts) or column < 1:
            return None
        offset = self.starts[line - 1] + column - 1
        return offset if offset <= self.end_of(line) else None


def split_lines(text: str, breaks: re.Pattern[str] = TERRAFORM_BREAKS) -> list[str]:
    """The lines of ``text`` without their line breaks; line n is element n - 1."""
    return breaks.split(text)
