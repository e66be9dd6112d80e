"""The hostile inputs: each writes one kind of file a linter meets in real repositories and says
what a user must see for it. Built at test time (a 50 MB file or a FIFO does not belong in git).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

TYPO_TF = """resource "aws_organizations_organization" "{name}" {{
  aws_service_access_principals = ["config.amazonaw.com"]
}}
"""
TYPO_TEMPLATE = """AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Role:
    Type: AWS::IAM::ServiceLinkedRole
    Properties:
      AWSServiceName: config.amazonaw.com
"""
POLICY_TEMPLATE_HEAD = """AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Policy:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument:
"""


@dataclass(frozen=True)
class Expect:
    """What the user sees for the hostile file: a finding (rule at a line) or a skip line."""

    rule: str | None = None  # e.g. "OT001"; None: no finding for the hostile file
    line: int | None = None
    skipped: str | None = None  # a fragment of the one-line skip reason on stderr
    message: str | None = None  # a fragment of the finding's message
    count: int = 1  # how many such findings the hostile file gets
    incomplete: bool = False  # the skipped file could hold a finding: the run exits 3, not 1


@dataclass(frozen=True)
class Case:
    name: str
    hostile: str  # the hostile file's path, relative to the project
    write: Callable[[Path], None]
    expect: Expect
    as_nobody: bool = False  # run unprivileged (root can read any file)


def _bytes(relative: str, content: bytes) -> Callable[[Path], None]:
    def write(root: Path) -> None:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)

    return write


def _big(root: Path) -> None:
    path = root / "hostile" / "generated.tf"
    path.parent.mkdir(parents=True, exist_ok=True)
    block = TYPO_TF.format(name="x").encode()
    with path.open("wb") as handle:
        for _ in range((50 * 1024 * 1024) // len(block) + 1):
            handle.write(block)


def _alias_bomb() -> bytes:
    lines = ['            X0: &a0 ["organizations:DescribeOrganization"]']
    lines += [f"            X{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
    statement = "        Statement:\n          - Effect: Allow\n            Action: *a9\n            Resource: '*'\n"
    return (POLICY_TEMPLATE_HEAD + "        Bomb:\n" + "\n".join(lines) + "\n" + statement).encode()


def _symlink_loop(root: Path) -> None:
    (root / "hostile").mkdir(parents=True, exist_ok=True)
    os.symlink("..", root / "hostile" / "loop")


def _symlink_outside(root: Path) -> None:
    outside = root.parent / f"{root.name}-outside"
    outside.mkdir(exist_ok=True)
    (outside / "secret.tf").write_text(TYPO_TF.format(name="outside"))
    (root / "hostile").mkdir(parents=True, exist_ok=True)
    os.symlink(outside / "secret.tf", root / "hostile" / "linked.tf")


def _fifo(root: Path) -> None:
    (root / "hostile").mkdir(parents=True, exist_ok=True)
    os.mkfifo(root / "hostile" / "pipe.tf")


def _unreadable(root: Path) -> None:
    path = root / "hostile" / "secret.tf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(TYPO_TF.format(name="secret"))
    path.chmod(0)


def _many_unknown_principals(count: int) -> bytes:
    """One list of ``count`` distinct names no catalog entry is close to (review D21: 100,000
    took 529 s, most of it comparing every name with every known principal in full)."""
    names = "".join(f'    "{chr(97 + i % 26)}{i:06d}qz.amazonaws.com",\n' for i in range(count))
    head = 'resource "aws_organizations_organization" "o" {\n  aws_service_access_principals = [\n'
    return f"{head}{names}  ]\n}}\n".encode()


def _custom_tags(marker: str) -> bytes:
    return (
        POLICY_TEMPLATE_HEAD
        + f'        Run: !!python/object/apply:os.system ["touch {marker}"]\n'
        + "        Other: !NotACloudFormationTag value\n"
    ).encode()


def cases(marker: str) -> list[Case]:
    """``marker``: a path that must never be created (a YAML tag that would run a command)."""
    deep_hcl = b'resource "aws_organizations_organization" "o" {\n  aws_service_access_principals = '
    deep_json = {"resource": {"aws_organizations_organization": {"o": {"aws_service_access_principals": 0}}}}
    deep_json_text = json.dumps(deep_json).replace("0", "[" * 20000 + "]" * 20000)
    crlf = TYPO_TF.format(name="crlf").replace("\n", "\r\n").encode()
    return [
        Case(
            "malformed HCL",
            "hostile/main.tf",
            _bytes("hostile/main.tf", b'resource "aws_organizations_organization" "o" {\n  x = [\n'),
            Expect("OT001", 3),
        ),
        Case(
            "malformed Terraform JSON",
            "hostile/main.tf.json",
            _bytes("hostile/main.tf.json", b'{"resource": {"aws_organizations_organization": {\n'),
            Expect("OT001"),
        ),
        Case(
            "malformed YAML template",
            "hostile/stack.yaml",
            _bytes("hostile/stack.yaml", b'AWSTemplateFormatVersion: "2010-09-09"\nResources:\n  A: [\n'),
            Expect("OT001"),
        ),
        Case(
            "malformed JSON template",
            "hostile/stack.json",
            _bytes("hostile/stack.json", b'{"AWSTemplateFormatVersion": "2010-09-09", "Resources": {\n'),
            Expect("OT001"),
        ),
        Case("binary .tf", "hostile/blob.tf", _bytes("hostile/blob.tf", bytes(range(256)) * 64), Expect("OT001")),
        Case(
            "binary .yaml",
            "hostile/blob.yaml",
            _bytes("hostile/blob.yaml", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 64),
            Expect(skipped="not UTF-8 text"),
        ),
        Case(
            "Latin-1 .tf",
            "hostile/latin1.tf",
            _bytes("hostile/latin1.tf", TYPO_TF.format(name="caf\xe9").encode("latin-1")),
            Expect("OT001", 1, message="not UTF-8 text (byte 0xe9)"),
        ),
        Case(
            "UTF-16 .tf",
            "hostile/utf16.tf",
            _bytes("hostile/utf16.tf", TYPO_TF.format(name="u").encode("utf-16")),
            Expect("OT001", 1, message="UTF-16"),
        ),
        Case(
            "UTF-8 BOM .tf",
            "hostile/bom.tf",
            _bytes("hostile/bom.tf", b"\xef\xbb\xbf" + TYPO_TF.format(name="bom").encode()),
            Expect("OT101", 2),
        ),
        Case(
            "UTF-8 BOM template",
            "hostile/bom.yaml",
            _bytes("hostile/bom.yaml", b"\xef\xbb\xbf" + TYPO_TEMPLATE.encode()),
            Expect("OT101", 6),
        ),
        Case("CRLF .tf", "hostile/crlf.tf", _bytes("hostile/crlf.tf", crlf), Expect("OT101", 2)),
        Case(
            "CRLF template",
            "hostile/crlf.yaml",
            _bytes("hostile/crlf.yaml", TYPO_TEMPLATE.replace("\n", "\r\n").encode()),
            Expect("OT101", 6),
        ),
        Case("empty .tf", "hostile/empty.tf", _bytes("hostile/empty.tf", b""), Expect()),
        Case("empty .tf.json", "hostile/empty.tf.json", _bytes("hostile/empty.tf.json", b""), Expect()),
        Case("empty .yaml", "hostile/empty.yaml", _bytes("hostile/empty.yaml", b""), Expect()),
        Case("50 MB .tf", "hostile/generated.tf", _big, Expect(skipped="larger than the 10 MB limit", incomplete=True)),
        Case(
            "deeply nested HCL",
            "hostile/deep.tf",
            _bytes("hostile/deep.tf", deep_hcl + b"[" * 20000 + b"]" * 20000 + b"\n}\n"),
            Expect("OT001", message="nesting too deep"),
        ),
        Case(
            "deeply nested Terraform JSON",
            "hostile/deep.tf.json",
            _bytes("hostile/deep.tf.json", deep_json_text.encode()),
            Expect("OT001", message="nesting too deep"),
        ),
        Case(
            "deeply nested YAML template",
            "hostile/deep.yaml",
            _bytes("hostile/deep.yaml", (POLICY_TEMPLATE_HEAD + "        X: " + "[" * 20000 + "]" * 20000).encode()),
            Expect("OT001"),
        ),
        Case("YAML alias bomb", "hostile/bomb.yaml", _bytes("hostile/bomb.yaml", _alias_bomb()), Expect("OT001")),
        Case(
            "YAML custom tags",
            "hostile/tags.yaml",
            _bytes("hostile/tags.yaml", _custom_tags(marker)),
            Expect("OT001", message="could not determine a constructor"),
        ),
        Case(
            # Large enough that the old quadratic suggestion search (about 40 s here) overruns the
            # time limit, where it now takes about 10 s.
            "30,000 unknown principals",
            "hostile/many.tf",
            _bytes("hostile/many.tf", _many_unknown_principals(30_000)),
            Expect("OT101", count=30_000),
        ),
        Case("symlink loop", "hostile/loop", _symlink_loop, Expect(skipped="symbolic link to a directory")),
        Case("symlink outside", "hostile/linked.tf", _symlink_outside, Expect(skipped="outside")),
        Case("FIFO named .tf", "hostile/pipe.tf", _fifo, Expect(skipped="not a regular file")),
        Case(
            "unreadable file",
            "hostile/secret.tf",
            _unreadable,
            Expect("OT001", message="cannot read file: Permission denied"),
            as_nobody=True,
        ),
    ]
