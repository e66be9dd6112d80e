"""The lint path never opens a network connection."""

from __future__ import annotations

import socket

import pytest

from orgtrust_lint.cli import run


class NetworkUsed(AssertionError):
    pass


def test_check_of_all_fixtures_opens_no_socket(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], in_repo_root: None
) -> None:
    attempts: list[tuple] = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise NetworkUsed("the lint path tried to open a socket")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    code = run(["check", "fixtures", "--format", "json"])
    out, err = capsys.readouterr()
    assert attempts == []
    assert code == 1  # the fixtures hold errors on purpose
    assert '"findings"' in out and err == ""
