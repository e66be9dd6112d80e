"""The block scanner (issue 21): only the top-level blocks a check reads are parsed, every finding
keeps its line and column, and a file the scanner cannot follow is parsed whole."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orgtrust_lint.parse.hcl_blocks import relevant_pieces, top_level_blocks
from orgtrust_lint.parse.hcl_parser import parse_hcl, parse_hcl_pieces
from orgtrust_lint.parse.terraform import BlockFilter

TRICKY = r"""
# a comment with a brace {
resource "aws_s3_bucket" "logs" {
  bucket = "a } brace in a string"
  tags   = { Name = "x${lower(var.y)}}y", Other = "{ not a block" }
  policy = <<-EOT
    { "Statement": [ { "Action": "s3:*" } ] }
    EOT
  /* a block comment } with a brace */
}

// another comment }
resource "aws_organizations_organization" "org" {
  aws_service_access_principals = ["sso.amazonaws.com"] # }
}

locals { x = { y = "}" } }
terraform {
  required_version = ">= 1.5"
}
"""

KEEP = BlockFilter(frozenset()).keeps


def test_blocks_are_found_through_strings_heredocs_and_comments() -> None:
    found = [(kind, labels) for _, _, kind, labels in top_level_blocks(TRICKY)]
    assert found == [
        ("resource", ("aws_s3_bucket", "logs")),
        ("resource", ("aws_organizations_organization", "org")),
        ("locals", ()),
        ("terraform", ()),
    ]


def test_the_blocks_kept_are_parsed_at_their_lines_and_columns() -> None:
    pieces = relevant_pieces(TRICKY, KEEP)
    assert pieces is not None
    kept = parse_hcl_pieces("main.tf", TRICKY, pieces)
    whole = parse_hcl("main.tf", TRICKY)
    assert [(b.type, b.labels) for b in kept.blocks] == [
        ("resource", ("aws_organizations_organization", "org")),
        ("locals", ()),
    ]
    assert kept.blocks == [
        b for b in whole.blocks if b.type in ("locals",) or b.labels[:1] == ("aws_organizations_organization",)
    ]


@pytest.mark.parametrize(
    "text",
    [
        'resource "a" "b" {\n  x = "unterminated\n}\n',
        'resource "a" "b" {\n  x = [\n',
        'resource "a" "b" {\n  policy = <<EOT\n  {\n',
        'resource "a" "b" {\n}\n}\n',
        "= nonsense at the top\n",
    ],
    ids=["string", "bracket", "heredoc", "extra brace", "top level"],
)
def test_a_file_the_scanner_cannot_follow_is_parsed_whole(text: str) -> None:
    assert relevant_pieces(text, KEEP) is None


def test_a_file_whose_blocks_all_matter_is_parsed_whole() -> None:
    assert relevant_pieces('resource "aws_iam_policy" "p" {\n  policy = "{}"\n}\n', KEEP) is None


names = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True)
texts = st.text(alphabet='ab {}[]()"\\$%#/*<>=\n', max_size=12)


@settings(max_examples=200, derandomize=True, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["aws_s3_bucket", "aws_iam_policy"]), names, texts), min_size=1, max_size=5))
def test_the_blocks_kept_parse_as_they_do_in_the_whole_file(blocks: list[tuple[str, str, str]]) -> None:
    """Whatever a block holds (any text in a string or a comment), the kept blocks are read exactly
    as the parser reads them in the whole file: same values, same lines and columns."""
    import json

    text = "".join(
        f'resource "{kind}" "{name}" {{\n  value = {json.dumps(body)} # {body.replace(chr(10), " ")}\n}}\n'
        for kind, name, body in blocks
    )
    pieces = relevant_pieces(text, KEEP)
    if pieces is None:
        return  # nothing to leave out, or not followed: parsed whole, which is always right
    try:
        whole = parse_hcl("main.tf", text)
    except Exception:
        return  # text the parser itself refuses: OT001 from the whole file, as before
    kept = parse_hcl_pieces("main.tf", text, pieces)
    assert kept.blocks == [b for b in whole.blocks if b.labels[:1] == ("aws_iam_policy",)]
