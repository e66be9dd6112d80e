"""The block scanner (issue 21): only the top-level blocks a check reads are parsed, every finding
keeps its line and column, and a file the scanner cannot follow is parsed whole."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orgtrust_lint.parse.hcl_blocks import _blocks, relevant_text
from orgtrust_lint.parse.hcl_parser import parse_hcl
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
    found = [(kind, labels) for _, _, kind, labels in _blocks(TRICKY)]
    assert found == [
        ("resource", ("aws_s3_bucket", "logs")),
        ("resource", ("aws_organizations_organization", "org")),
        ("locals", ()),
        ("terraform", ()),
    ]


def test_blanked_blocks_keep_every_line_and_column() -> None:
    sliced = relevant_text(TRICKY, KEEP)
    assert sliced is not None and len(sliced) == len(TRICKY)
    assert [i for i, c in enumerate(sliced) if c == "\n"] == [i for i, c in enumerate(TRICKY) if c == "\n"]
    assert "aws_s3_bucket" not in sliced and "required_version" not in sliced
    whole, kept = parse_hcl("main.tf", TRICKY), parse_hcl("main.tf", sliced)
    org = next(b for b in whole.blocks if b.labels[:1] == ("aws_organizations_organization",))
    (sliced_org,) = [b for b in kept.blocks if b.type == "resource"]
    assert sliced_org.attributes["aws_service_access_principals"] == org.attributes["aws_service_access_principals"]


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
    assert relevant_text(text, KEEP) is None


def test_nothing_to_blank_is_the_file_as_it_is() -> None:
    assert relevant_text('resource "aws_iam_policy" "p" {\n  policy = "{}"\n}\n', KEEP) is None


names = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True)
texts = st.text(alphabet='ab {}[]()"\\$%#/*<>=\n', max_size=12)


@settings(max_examples=200, derandomize=True, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["aws_s3_bucket", "aws_iam_policy"]), names, texts), min_size=1, max_size=5))
def test_blanking_never_moves_what_is_kept(blocks: list[tuple[str, str, str]]) -> None:
    """Whatever a block holds (any text in a string or a comment), blanking the others leaves the
    kept blocks' text at exactly the same offsets."""
    import json

    text = "".join(
        f'resource "{kind}" "{name}" {{\n  value = {json.dumps(body)} # {body.replace(chr(10), " ")}\n}}\n'
        for kind, name, body in blocks
    )
    sliced = relevant_text(text, KEEP)
    if sliced is None:
        return  # nothing to blank, or not followed: parsed whole, which is always right
    assert len(sliced) == len(text)
    for (start, end, _, _), kind in zip(_blocks(text), [k for k, _, _ in blocks], strict=True):
        assert (sliced[start:end] == text[start:end]) == (kind == "aws_iam_policy") or not text[start:end].strip()
