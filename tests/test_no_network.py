"""The lint path never opens a network connection."""

from __future__ import annotations

import socket

import pytest

from orgtrust_lint.cli import run


class NetworkUsed(AssertionError):
    pass


@pytest.mark.parametrize("workers", [False, True], ids=["one process", "worker processes"])
def test_check_of_all_fixtures_opens_no_socket(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], in_repo_root: None, workers: bool
) -> None:
    if workers:  # forked workers inherit the refusing socket functions below
        from orgtrust_lint import parallel

        monkeypatch.setattr(parallel, "MIN_PARALLEL_ITEMS", 1)
    attempts: list[tuple] = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise NetworkUsed("the lint path tried to open a socket")

    # Creating any socket fails (the class stays a class: modules imported lazily during the run,
    # such as ssl, subclass it).
    monkeypatch.setattr(socket.socket, "__init__", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    code = run(["check", "fixtures", "--format", "json", "--no-cache", "--jobs", "2" if workers else "1"])
    out, err = capsys.readouterr()
    assert attempts == []
    assert code == 1  # the fixtures hold errors on purpose
    assert '"findings"' in out and err == ""
