"""Retention cannot re-alert: with an injected clock, a feed quiet (304, same body) or failing
for longer than `retention` keeps its items seen, and they never alert again; items that left
their feed are still forgotten. Prune works in short transactions through the indexes."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from policybot import prune
from policybot.app import App
from policybot.dialect import is_url
from policybot.pgconn import PgConnection
from policybot.prune import PRUNE_CHUNK, prune_state
from policybot.scheduler import Service
from policybot.store import Store
from tests.fakes.feed_server import FeedServer, rss
from tests.pgserver_fixture import Blocking
from tests.test_scale import make_app

T0 = datetime(2026, 1, 1, tzinfo=UTC)
RETENTION = 30 * 86400.0   # the default


async def poll(app: App, when: datetime) -> tuple[str, int]:
    result = await app.poller.poll(app.config.feeds[0], when)
    await app.store.run(app.store.flush_feeds)   # the deferred 304 bookkeeping, as the loop's next turn does
    return result.status, result.alerts


def connect(state: str | Path) -> Any:
    """A connection of the test's own to the state (SQLite's or PostgreSQL's, autocommit)."""
    if is_url(state):
        return PgConnection(str(state))
    return sqlite3.connect(state, isolation_level=None)


def _last_present(location: str) -> dict[str, float]:
    db = connect(location)
    try:
        rows = db.execute("SELECT item_id, last_present FROM seen ORDER BY item_id").fetchall()
    finally:
        db.close()
    return {r[0].rsplit("/", 1)[1]: r[1] for r in rows}


async def last_present(app: App) -> dict[str, float]:
    """Read on a connection of its own, off the event loop (as a second process would)."""
    return await asyncio.to_thread(_last_present, app.store.location)


async def test_a_feed_quiet_for_longer_than_the_retention_does_not_alert_again(
        tmp_path: Path, feed_server: FeedServer, state: str | Path) -> None:
    feed_server.add("quiet", rss("Gallium a", "Gallium b"), etag=True)
    app = make_app(tmp_path, {"quiet": feed_server.url("quiet")}, state=state)
    try:
        assert await poll(app, T0) == ("new", 2)
        for day in range(1, 41):   # 304 every day, for longer than the retention
            assert (await poll(app, T0 + timedelta(days=day)))[0] == "not-modified"
        later = T0 + timedelta(days=40)
        assert set((await last_present(app)).values()) == {later.timestamp()}   # moved with each 304
        assert Blocking(app.store).prune(later.timestamp() + 60, RETENTION) == 0
        feed_server.add("quiet", rss("Gallium a", "Gallium b", "Gallium c"), etag=True)
        status, alerts = await poll(app, later + timedelta(hours=1))
    finally:
        await app.close()
    assert (status, alerts) == ("new", 1)   # only the new item; the old two stay seen


async def test_an_unchanged_body_moves_last_present_too(
        tmp_path: Path, feed_server: FeedServer, state: str | Path) -> None:
    feed_server.add("same", rss("Gallium a"))   # no validators: the same body every time
    app = make_app(tmp_path, {"same": feed_server.url("same")}, state=state)
    try:
        await poll(app, T0)
        assert await poll(app, T0 + timedelta(days=31)) == ("unchanged", 0)
        moved = await last_present(app)
    finally:
        await app.close()
    assert moved == {"0": (T0 + timedelta(days=31)).timestamp()}


async def test_items_that_left_the_feed_are_still_forgotten(
        tmp_path: Path, feed_server: FeedServer, state: str | Path) -> None:
    feed_server.add("f", rss("Gallium a", "Gallium b"), etag=True)
    app = make_app(tmp_path, {"f": feed_server.url("f")}, state=state)
    try:
        await poll(app, T0)
        feed_server.add("f", _body_without_first(), etag=True)
        await poll(app, T0 + timedelta(hours=1))          # item 0 left the feed
        for day in range(1, 41):
            await poll(app, T0 + timedelta(days=day))     # 304s: only item 1 is still there
        gone = Blocking(app.store).prune((T0 + timedelta(days=40)).timestamp(), RETENTION)
        left = sorted(await last_present(app))
    finally:
        await app.close()
    assert (gone, left) == (1, ["1"])


def _body_without_first() -> bytes:
    """rss("Gallium a", "Gallium b") without its first item (ids .../0 and .../1 as before)."""
    body = rss("Gallium a", "Gallium b").decode()
    start, end = body.index("<item>"), body.index("</item>") + len("</item>")
    return (body[:start] + body[end:]).encode()


async def test_a_feed_failing_for_longer_than_the_retention_does_not_alert_again(
        tmp_path: Path, feed_server: FeedServer, state: str | Path) -> None:
    feed_server.add("down", rss("Gallium a", "Gallium b"))
    app = make_app(tmp_path, {"down": feed_server.url("down")}, state=state)
    try:
        assert await poll(app, T0) == ("new", 2)
        feed_server.add("down", status=500)
        assert (await app.poller.poll(app.config.feeds[0], T0 + timedelta(days=1), force=True)).status == "error"
        back = T0 + timedelta(days=45)
        assert Blocking(app.store).prune(back.timestamp(), RETENTION) == 0   # its latest body is kept
        feed_server.add("down", rss("Gallium a", "Gallium b", "Gallium c"))
        result = await app.poller.poll(app.config.feeds[0], back, force=True)
    finally:
        await app.close()
    assert (result.status, result.alerts) == ("new", 1)   # only the new item


async def test_the_prune_job_runs_off_the_event_loop(
        tmp_path: Path, feed_server: FeedServer, state: str | Path) -> None:
    feed_server.add("f", rss("Gallium a"))
    app = make_app(tmp_path, {"f": feed_server.url("f")}, state=state)
    try:
        await app.poll_all()
        db = Blocking(app.store)
        db.run_sync(app.store.db.execute, "BEGIN IMMEDIATE")   # the bot's connection holds the write lock...
        if app.store.shared:                      # (PostgreSQL: the table prune reads first)
            db.run_sync(app.store.db.execute, "LOCK TABLE feeds IN ACCESS EXCLUSIVE MODE")
        job = asyncio.create_task(Service(app).prune())
        await asyncio.sleep(0)
        assert not job.done()                     # ...and the loop still turns while prune waits
        db.run_sync(app.store.db.execute, "COMMIT")
        await asyncio.wait_for(job, 60)
    finally:
        await app.close()


def test_prune_deletes_in_chunks_and_a_halt_stops_it(state: str | Path) -> None:
    path = state
    Store(path).close()
    db = connect(path)
    db.execute("INSERT INTO feeds(id) VALUES ('f')")
    db.executemany("INSERT INTO seen(feed_id, item_id, seen_at, last_present) VALUES ('f', ?, 1, ?)",
                   [(f"i{n}", 1.0) for n in range(2 * PRUNE_CHUNK + 5)] + [("latest", 50.0)])
    halt = threading.Event()
    assert prune_state(path, 100.0, 10.0, chunk=PRUNE_CHUNK) == 2 * PRUNE_CHUNK + 5
    assert [r[0] for r in db.execute("SELECT item_id FROM seen")] == ["latest"]
    db.executemany("INSERT INTO seen(feed_id, item_id, seen_at, last_present) VALUES ('f', ?, 1, 1)",
                   [(f"j{n}",) for n in range(10)])
    halt.set()
    assert prune_state(path, 100.0, 10.0, chunk=3, halt=halt) == 0   # stopping: not one chunk more
    db.close()


def test_the_retention_queries_use_the_indexes(tmp_path: Path) -> None:
    """SQLite's by design: its query plans (PostgreSQL's planner picks by table statistics)."""
    Store(tmp_path / "s.db").close()
    db = sqlite3.connect(tmp_path / "s.db")
    touch = ("UPDATE seen SET last_present = ?1 WHERE feed_id = ?2 AND last_present = "
             "(SELECT MAX(last_present) FROM seen WHERE feed_id = ?2)")
    plans = {sql: " | ".join(r[3] for r in db.execute("EXPLAIN QUERY PLAN " + sql, args))
             for sql, args in ((touch, (1, "f")), (prune._FEED_GONE, ("f", 1, 1)),
                               (prune._FORGET_TEXT, (1, 1)), (prune._OUTBOX, (1, 1)),
                               (prune._ALERT_RULES, (1, 1)))}
    db.close()
    for sql, plan in plans.items():
        assert "SCAN" not in plan, (sql, plan)   # never a full table scan at 1M rows
    assert "seen_presence" in plans[touch] and "seen_presence" in plans[prune._FEED_GONE]
