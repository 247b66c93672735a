"""Shared test setup: the fakes as fixtures, and no connection leaves 127.0.0.1."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

pytest_plugins = ["tests.fakes.feed_server", "tests.fakes.slack_api", "tests.fakes.telegram_api",
                  "tests.pgserver_fixture"]

# Copies of ../shared (real-world feeds, the labelled eval sets, Slack's OpenAPI subset), kept in
# the repository so that a fresh clone runs every test and skips none.
SHARED = Path(__file__).resolve().parent / "data" / "shared"


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any connection that is not to the loopback interface (tests never reach the net)."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def _check(address: object) -> None:
        if isinstance(address, tuple) and address:
            host = str(address[0])
            if host not in ("127.0.0.1", "::1", "localhost") and not host.startswith("127."):
                raise OSError(f"test tried to reach {host}: tests never leave 127.0.0.1")

    def connect(self: socket.socket, address: object) -> None:
        _check(address)
        return real_connect(self, address)  # type: ignore[arg-type]

    def connect_ex(self: socket.socket, address: object) -> int:
        _check(address)
        return real_connect_ex(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    return SHARED
