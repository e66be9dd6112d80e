from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"


@pytest.fixture
def in_repo_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run with the repository as working directory, so paths read as users see them."""
    monkeypatch.chdir(REPO)


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep validation markers out of the developer's real cache directory, and start every test
    with the cache on: a --no-cache run earlier in the same process must not leak into the next test."""
    from orgtrust_lint import trusted_cache

    trusted_cache.enable()
    cache = tmp_path_factory.getbasetemp() / "orgtrust-cache"
    monkeypatch.setenv("ORGTRUST_LINT_CACHE_DIR", str(cache))
    monkeypatch.delenv("NO_COLOR", raising=False)
    os.environ.pop("AWS_ENDPOINT_URL", None)


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """moto's server on 127.0.0.1: a real HTTP endpoint for drift (seeded through boto3)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()
