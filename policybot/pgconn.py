"""A PostgreSQL connection that the store uses as it uses sqlite3's: `execute` (SQLite's SQL,
translated by the dialect), `executemany`, rows by index and by name, `in_transaction`.

Errors are raised as `PgError`, a `sqlite3.OperationalError`, so the domain code's one
`except sqlite3.Error` covers both backends. A connection lost (server restart, network) is
opened again on the next statement outside a transaction.

No statement runs on a thread whose asyncio event loop is running: the loop would wait on the
server. The bot's store work goes through `Store.run` (its database thread); a call site that
forgot to raises `OnEventLoop` (a bug, not a database error: the tests catch it).
"""

from __future__ import annotations

import sqlite3
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import psycopg
from psycopg import pq

from policybot.dialect import POSTGRES

CONNECT_TIMEOUT = 5          # seconds to reach the server
STATEMENT_TIMEOUT_MS = 10000  # no statement holds the bot longer than this
RECONNECT_SECONDS = 5.0       # a lost server is tried again at most this often (the loop waits)


class PgError(sqlite3.OperationalError):
    """A PostgreSQL error, as the store's callers catch them (sqlite3.Error)."""


class OnEventLoop(RuntimeError):
    """A statement asked from the event loop's thread (a call site missing `Store.run`)."""


def _off_loop() -> None:
    asyncio = sys.modules.get("asyncio")   # not imported (`status`, `check`): no loop runs
    if asyncio is None:
        return
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise OnEventLoop("a PostgreSQL statement on the event loop's thread (the loop would wait "
                      "on the server): run the store's work through Store.run")


class Row:
    """sqlite3.Row's interface: by index, by name, `keys()`, iterates its values."""

    __slots__ = ("_names", "_values")

    def __init__(self, names: dict[str, int], values: tuple[Any, ...]) -> None:
        self._names = names
        self._values = values

    def __getitem__(self, key: int | str) -> Any:
        return self._values[key if isinstance(key, int) else self._names[key]]

    def keys(self) -> list[str]:
        return list(self._names)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


def _row_factory(cursor: Any) -> Any:
    names = {d.name: i for i, d in enumerate(cursor.description or ())}
    return lambda values: Row(names, values)


def _arg(value: Any) -> Any:
    return int(value) if isinstance(value, bool) else value


class PgConnection:
    def __init__(self, url: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.url = url
        self.clock = clock
        self._failed_at: float | None = None   # when the last reconnect failed
        self.conn = self._connect()

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            conn = psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT,
                                   cursor_factory=psycopg.RawCursor, row_factory=_row_factory,
                                   options=f"-c statement_timeout={STATEMENT_TIMEOUT_MS}")
        except psycopg.Error as exc:
            raise PgError(_short(exc)) from None
        return conn

    @property
    def in_transaction(self) -> bool:
        status = self.conn.info.transaction_status
        return status in (pq.TransactionStatus.INTRANS, pq.TransactionStatus.INERROR,
                          pq.TransactionStatus.ACTIVE)

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Any:
        _off_loop()
        self._alive()
        try:
            return self.conn.execute(POSTGRES.sql(sql), [_arg(a) for a in args])
        except psycopg.Error as exc:
            raise PgError(_short(exc)) from None

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Any:
        _off_loop()
        self._alive()
        cursor = self.conn.cursor()
        try:
            cursor.executemany(POSTGRES.sql(sql), [[_arg(a) for a in r] for r in rows])
        except psycopg.Error as exc:
            raise PgError(_short(exc)) from None
        return cursor

    def _alive(self) -> None:
        """A statement that failed on a lost connection raised; the next one reconnects (a
        transaction under way then fails at its next statement: the new connection has none)."""
        if self.conn.closed or self.conn.broken:
            if self._failed_at is not None and self.clock() - self._failed_at < RECONNECT_SECONDS:
                raise PgError("database unreachable (trying again shortly)")
            try:
                self.conn = self._connect()
            except PgError:
                self._failed_at = self.clock()
                raise
            self._failed_at = None

    def close(self) -> None:
        self.conn.close()

    def __del__(self) -> None:   # like sqlite3's: a connection dropped unclosed closes quietly
        conn = getattr(self, "conn", None)
        if conn is not None:
            conn.close()


def server_of(url: str) -> str:
    """The server and database a URL names, for messages: never its user or password."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or urllib.parse.parse_qs(parts.query).get("host", ["localhost"])[0]
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{host}{port}/{parts.path.lstrip('/')}"


def _short(exc: psycopg.Error) -> str:
    """One line (psycopg's messages carry a DETAIL/HINT/position tail)."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
