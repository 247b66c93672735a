"""The dialect: one SQL text per statement, the few constructs that differ adapted; the
PostgreSQL connection's bounds and the lease timings."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from policybot import leases
from policybot.config import load_config
from policybot.dialect import POSTGRES, SQLITE, is_url
from policybot.pgconn import STATEMENT_TIMEOUT_MS, PgConnection
from policybot.schema import MIGRATIONS
from tests.pgserver_fixture import fresh_database


def test_sqlite_sql_is_left_as_written() -> None:
    text = "INSERT OR IGNORE INTO seen(feed_id) VALUES (?)"
    assert SQLITE.sql(text) == text
    assert SQLITE.ddl(MIGRATIONS[0]) == MIGRATIONS[0]


def test_postgres_spelling_of_the_few_differences() -> None:
    assert POSTGRES.sql("INSERT OR IGNORE INTO t(a, b) VALUES (?, ?)") == \
        "INSERT INTO t(a, b) VALUES ($1, $2) ON CONFLICT DO NOTHING"
    assert POSTGRES.sql("UPDATE seen SET x = ?1 WHERE feed_id = ?2 AND y = ?2") == \
        "UPDATE seen SET x = $1 WHERE feed_id = $2 AND y = $2"
    assert POSTGRES.sql("SELECT json_extract(o.payload, '$.item.feed_id')") == \
        "SELECT ((o.payload)::jsonb->'item'->>'feed_id')"
    ddl = POSTGRES.ddl("CREATE TABLE s (a TEXT, t REAL, PRIMARY KEY (a)) WITHOUT ROWID")
    assert ddl == "CREATE TABLE s (a TEXT, t DOUBLE PRECISION, PRIMARY KEY (a))"
    assert is_url("postgresql://h/db") and not is_url("state/policybot.sqlite3")


def test_statements_are_bounded_by_the_statement_timeout(pg_server: str) -> None:
    db = PgConnection(fresh_database(pg_server))
    try:
        assert db.execute("SHOW statement_timeout").fetchone()[0] == f"{STATEMENT_TIMEOUT_MS // 1000}s"
        with pytest.raises(sqlite3.OperationalError):   # the domain code's one error type
            db.execute("SELECT no_such_column FROM pg_class")
    finally:
        db.close()


def test_lease_timings_leave_room_for_renewal() -> None:
    assert leases.LEADER_RENEW_SECONDS * 2 < leases.LEADER_LEASE_SECONDS <= 30.0   # takeover within 30 s
    assert leases.HEARTBEAT_SECONDS < leases.DESTINATION_LEASE_SECONDS <= 30.0
    assert leases.POLL_LEASE_SECONDS > 30.0    # past the fetch's total timeout
    assert 0.5 < leases.FEED_LEASE_FACTOR < 1.0
    # a killed instance's destination is drained by another after its lease, a feed it was
    # polling is polled again one second after the poll's lease: both well within the promise
    worst = max(leases.DESTINATION_LEASE_SECONDS, leases.POLL_LEASE_SECONDS + 1.0)
    assert worst + 15.0 <= leases.SURVIVORS_DELIVER_WITHIN == 60.0


def test_the_console_is_accepted_on_postgresql(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    config = tmp_path / "config.yaml"
    config.write_text('storage: {url: "postgresql://u@127.0.0.1/db"}\nrules: rules/\nfeeds: []\n'
                      "console: {port: 0}\n")
    loaded = load_config(config, env={})
    assert loaded.console is not None and loaded.storage_url == "postgresql://u@127.0.0.1/db"


def test_the_console_views_few_differences() -> None:
    text = ("SELECT f.id FROM (SELECT value FROM json_each(?1)) f, seen INDEXED BY seen_by_feed_time "
            "WHERE instr(lower(title), ?2) > 0")
    assert SQLITE.sql(text) == text
    assert POSTGRES.sql(text) == ("SELECT f.id FROM (SELECT value FROM json_array_elements_text($1::json)) "
                                  "f, seen WHERE strpos(lower(title), $2) > 0")
    assert (SQLITE.whole("t / 86400"), POSTGRES.whole("t / 86400")) == \
        ("CAST(t / 86400 AS INTEGER)", "CAST(FLOOR(t / 86400) AS INTEGER)")


def test_a_lost_database_is_tried_again_only_every_few_seconds(pg_server: str) -> None:
    import psycopg

    from policybot.pgconn import RECONNECT_SECONDS

    url = fresh_database(pg_server)
    now = [100.0]
    db = PgConnection(url, clock=lambda: now[0])
    name = url.partition("?")[0].rsplit("/", 1)[1]
    with psycopg.connect(pg_server, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    with pytest.raises(sqlite3.OperationalError):
        db.execute("SELECT 1")            # the connection was cut
    with pytest.raises(sqlite3.OperationalError, match="does not exist"):
        db.execute("SELECT 1")            # one attempt to reconnect
    with pytest.raises(sqlite3.OperationalError, match="trying again shortly"):
        db.execute("SELECT 1")            # no attempt: the event loop does not wait again
    now[0] += RECONNECT_SECONDS
    with pytest.raises(sqlite3.OperationalError, match="does not exist"):
        db.execute("SELECT 1")
    db.close()


def test_instances_starting_at_the_same_moment_migrate_once(pg_server: str) -> None:
    """Several instances open a fresh database at once: each starts, the schema is migrated
    once. (Creating the version table outside the migration lock once failed one of them on
    pg_type's unique index.)"""
    import threading

    for _ in range(4):
        url = fresh_database(pg_server)
        start = threading.Barrier(4)
        errors: list[Exception] = []
        versions: list[int] = []
        threads = [threading.Thread(target=_open_one, args=(url, start, versions, errors))
                   for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert errors == [] and versions == [len(MIGRATIONS)] * 4


def _open_one(url: str, start: Any, versions: list[int], errors: list[Exception]) -> None:
    from policybot.store import Store

    start.wait()
    try:
        store = Store(url)
        versions.append(store.schema_version())
        store.close()
    except Exception as exc:  # noqa: BLE001 - the test reports what any thread met
        errors.append(exc)
