"""The store's connection: SQLite's, opened in WAL mode, the transaction context both
backends share (a PostgreSQL connection is policybot/pgconn.py), and where `Store.run` runs
the store's work: inline on SQLite, on the store's one database thread on PostgreSQL."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Generator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import asyncio

BUSY_TIMEOUT_MS = 5000   # how long a write waits for another connection's lock
T = TypeVar("T")


def open_sqlite(path: Path) -> sqlite3.Connection:
    if str(path) != ":memory:":
        path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    return db


class Transaction:
    def __init__(self, db: Any) -> None:
        self.db = db
        self.outer = False

    def __enter__(self) -> None:
        self.outer = not self.db.in_transaction
        if self.outer:
            self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if not self.outer:
            return
        self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")


class Inline:
    """What `Store.run` returns on SQLite: fn's result, computed at once on the caller's thread
    (a local file: no thread is worth its cost; an error is raised by the call itself), and
    awaited like a future that is done."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __await__(self) -> Generator[Any, None, Any]:
        return self.value
        yield  # pragma: no cover - makes this a generator, as __await__ must be


class DatabaseThread:
    """PostgreSQL: the one thread the store's connection is used from while the bot's event
    loop runs (`Store.run`), so the loop never waits on the server and the store's work runs
    one piece at a time, in the order it was asked for (transactions never interleave)."""

    def __init__(self) -> None:
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="policybot-db")

    def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> asyncio.Future[T]:
        import asyncio  # here: `status` and `check` start without it

        loop = asyncio.get_running_loop()
        return loop.run_in_executor(self.pool, partial(fn, *args, **kwargs))

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """From a thread that may not wait on a future otherwise (start-up, close): its result."""
        return self.pool.submit(fn, *args, **kwargs).result()

    def shutdown(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class UsedFromLoop:
    """The Store's part that the event loop talks to: `run` and the close."""

    _thread: DatabaseThread | None
    db: Any

    def flush_feeds(self) -> None: ...

    @property
    def inline(self) -> bool:
        """`run` calls at once on the caller's thread (SQLite): as cheap as a local file."""
        return self._thread is None

    def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> Awaitable[T]:
        """From the event loop: `await store.run(fn, ...)` runs fn (a whole stage of store work,
        not one statement) where the store's connection lives; returns fn's result."""
        if self._thread is None:
            return Inline(fn(*args, **kwargs))
        return self._thread.run(fn, *args, **kwargs)

    def close(self) -> None:
        if self._thread is None:
            self._close()
            return
        try:
            self._thread.call(self._close)
        finally:
            self._thread.shutdown()

    async def aclose(self) -> None:
        """`close` from the event loop: the last writes and the close on the database thread."""
        try:
            await self.run(self._close)
        finally:
            if self._thread is not None:
                self._thread.shutdown()

    def _close(self) -> None:
        try:
            self.flush_feeds()
        finally:
            self.db.close()
