"""Reading files a linter did not choose: never block, never read without bound.

A repository can hold anything under an IaC name: a FIFO (opening it blocks until a writer
comes), a device, a 50 MB generated file. Files are opened without blocking and checked
before they are read; what cannot be linted is skipped with a one-line reason.
"""

from __future__ import annotations

import os
import stat
import sys
from typing import BinaryIO

# CloudFormation accepts templates of at most 1 MB; hand-written Terraform files are far
# smaller. Anything bigger is generated, and parsing it would take minutes.
MEGABYTE = 1024 * 1024
MAX_FILE_BYTES = 10 * MEGABYTE


class SkipFile(Exception):
    """This file is not linted; the message is the one-line reason shown to the user.
    ``incomplete``: the file could hold what orgtrust-lint checks, so the run is incomplete."""

    def __init__(self, reason: str, incomplete: bool = False) -> None:
        super().__init__(reason)
        self.incomplete = incomplete


def read_file(path: str) -> bytes:
    """The file's bytes; SkipFile for what is not a regular file or is too large; OSError when
    the file cannot be opened or read."""
    # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_BINARY", 0)
    descriptor = os.open(path, flags)
    try:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            raise SkipFile("not a regular file (a FIFO, socket or device)")
        if status.st_size > MAX_FILE_BYTES:
            raise SkipFile(
                f"{status.st_size / MEGABYTE:.1f} MB, larger than the {MAX_FILE_BYTES // MEGABYTE} MB limit",
                incomplete=True,
            )
        # os.read without a buffered file object, and one read of one byte more than the size (a
        # regular file reads short only at its end): one system call proves the end, and the
        # thousands of files a monorepo run reads are most of a warm run's time.
        data = os.read(descriptor, status.st_size + 1)
        if len(data) <= status.st_size:
            return data
        chunks, total = [data], len(data)  # it grew since fstat: read on, within the limit
        while chunk := os.read(descriptor, 1 << 20):
            total += len(chunk)
            if total > MAX_FILE_BYTES:
                raise SkipFile(f"larger than the {MAX_FILE_BYTES // MEGABYTE} MB limit", incomplete=True)
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(descriptor)


def read_stream(stream: BinaryIO) -> bytes:
    """All of a pipe or stdin, up to the size limit (SkipFile beyond it: a pipe has no size to check first)."""
    data = stream.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise SkipFile(f"larger than the {MAX_FILE_BYTES // MEGABYTE} MB limit", incomplete=True)
    return data


def read_named_file(path: str) -> bytes:
    """A file the user named on the command line: "-" is stdin, and a pipe (/dev/stdin, `<(cmd)`)
    is read to its end, where a file found in a directory walk is only ever read if regular."""
    if path == "-":
        return read_stream(sys.stdin.buffer)
    if stat.S_ISREG(os.stat(path).st_mode):
        return read_file(path)
    if os.path.isdir(path):
        raise SkipFile("is a directory")
    with open(path, "rb") as stream:
        return read_stream(stream)


def describe_encoding_error(data: bytes, error: UnicodeDecodeError) -> tuple[str, int, int]:
    """(message, line, column) for text that is not UTF-8."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "UTF-16 text; save the file as UTF-8", 1, 1
    before = data[: error.start]
    line = before.count(b"\n") + 1
    column = error.start - (before.rfind(b"\n") + 1) + 1
    return f"not UTF-8 text (byte 0x{data[error.start]:02x})", line, column


UTF8_BOM = b"\xef\xbb\xbf"


def content_digest(data: bytes) -> str:
    """What --fix compares to tell whether a file still holds the content its findings came from.
    A leading byte order mark is left out: the parsers drop it, and templates are read without it."""
    import hashlib

    return hashlib.sha256(data.removeprefix(UTF8_BOM)).hexdigest()
