"""A real PostgreSQL for the tests, started once per session by the `pgserver` package (its
wheel ships the server binaries: no Docker, no manual step), and a fresh database per test."""

from __future__ import annotations

import itertools
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """The server's URL (a Unix socket in its own folder; nothing listens on the network)."""
    pgserver = pytest.importorskip("pgserver")
    folder = Path(tempfile.mkdtemp(prefix="policybot-pg-"))
    server = pgserver.get_server(folder, cleanup_mode="stop")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


def fresh_database(server_url: str) -> str:
    """A new, empty database on the server; its URL."""
    import psycopg

    name = f"t{next(_numbers)}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    head, _, query = server_url.partition("?")
    base = head.rsplit("/", 1)[0]
    return f"{base}/{name}" + (f"?{query}" if query else "")


@pytest.fixture(params=["sqlite", "postgresql"])
def state(request: pytest.FixtureRequest, tmp_path: Path) -> str | Path:
    """Where a test's store lives, once per backend: a SQLite file, or a PostgreSQL database."""
    if request.param == "sqlite":
        return tmp_path / "s.db"
    return fresh_database(request.getfixturevalue("pg_server"))


OWN_THREADING = {"close", "aclose", "run"}   # Store methods that go to its thread themselves


class Blocking:
    """A test's view of a store while an event loop runs: each call runs where the store's
    connection lives (PostgreSQL: its database thread, as Store.run would), and the test waits
    for it. Tests only: the bot itself awaits Store.run and never blocks its loop."""

    def __init__(self, store: Any) -> None:
        object.__setattr__(self, "store", store)

    def __setattr__(self, name: str, value: Any) -> None:   # e.g. a test store's fault switches
        setattr(self.store, name, value)

    def run_sync(self, fn: Any, *args: Any) -> Any:
        """`fn(*args)` where the store's connection lives."""
        thread = self.store._thread   # noqa: SLF001 - a test's shortcut around the await
        return fn(*args) if thread is None else thread.call(fn, *args)

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.store, name)
        thread = self.store._thread   # noqa: SLF001 - a test's shortcut around the await
        if thread is None or not callable(method) or name in OWN_THREADING:
            return method
        return lambda *args, **kwargs: thread.call(method, *args, **kwargs)


def unwrapped(store: Any) -> Any:
    """The store itself, for the code under test (which awaits Store.run)."""
    return store.store if isinstance(store, Blocking) else store
