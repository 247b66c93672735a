"""PostgreSQL beside SQLite, at the store: a poll cycle of 1,000 feeds (each: its lease when
shared, its row, which of its 20 items are new, one commit of 1 new item and its alert) and a
drain of 1,000 alerts (the due rows read, then per alert: the destination's lease renewed
when shared, the claim, the mark). PostgreSQL is a local server (pgserver, a Unix socket).

The ratios say what PostgreSQL costs per cycle; "leases" is what sharing the state with other
instances adds (the lease statements), which is the price of a second instance. "Via the loop"
runs the same work from an event loop as the bot does (Store.run: inline on SQLite, on the
store's database thread on PostgreSQL, one hop per stage), so it adds the thread hops.

    python -m bench bench_pg
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from policybot.model import Alert, Hit, Item, Match, alert_key
from policybot.store import Store

FEEDS = 1000
ITEMS = 20
ALERTS = 1000


def _item(feed: str, n: int) -> Item:
    return Item(feed_id=feed, item_id=f"{feed}-{n}", title=f"Rare earth export control {n}",
                link=f"https://x/{feed}/{n}", summary="s", content="",
                published=datetime(2026, 11, 1, tzinfo=UTC))


def _alert(it: Item) -> Alert:
    match = Match("r1", "Rule one", "high", (Hit("rare earth", "$re", "title", 0, 10),))
    return Alert(alert_key(it, "bot"), "bot", it, (match,), "Feed")


def poll_cycle(store: Store, leases: bool, now: float) -> float:
    started = time.perf_counter()
    for f in range(FEEDS):
        feed = f"f{f}"
        if leases:
            store.take_lease(f"feed:{feed}", "bench:1:aa", now, 540.0)
            store.forget_feed(feed)
        store.feed_state(feed)
        ids = [f"{feed}-{n}" for n in range(ITEMS)]
        new = store.unseen(feed, ids)
        fresh = [_item(feed, int(i.rsplit("-", 1)[1])) for i in sorted(new)][:1]
        store.commit_poll(feed, fresh, ids, [_alert(i) for i in fresh], {"etag": f"e{now}"}, now)
    return time.perf_counter() - started


def drain(store: Store, leases: bool, now: float) -> float:
    started = time.perf_counter()
    rows = store.due(now + 1)
    for row in rows:
        if leases:
            store.take_lease("destination:bot", "bench:1:aa", now, 30.0)
        store.claim([row.alert.alert_id])
        store.mark([row.alert.alert_id], "sent", now)
    return time.perf_counter() - started


def _stage(store: Store, feed: str, now: float) -> None:
    """A poll's stage after the fetch (pipeline.Poller._commit): unseen, then the commit."""
    ids = [f"{feed}-{n}" for n in range(ITEMS)]
    new = store.unseen(feed, ids)
    fresh = [_item(feed, int(i.rsplit("-", 1)[1])) for i in sorted(new)][:1]
    store.commit_poll(feed, fresh, ids, [_alert(i) for i in fresh], {"etag": f"e{now}"}, now)


def _take(store: Store, alert_id: str, leases: bool, now: float) -> None:
    """Delivery._take: the destination's lease renewed, the attempt counted."""
    if leases:
        store.take_lease("destination:bot", "bench:1:aa", now, 30.0)
    store.claim([alert_id])


async def loop_cycle(store: Store, leases: bool, now: float) -> float:
    started = time.perf_counter()
    for f in range(FEEDS):
        feed = f"f{f}"
        if leases:
            await store.run(store.take_lease, f"feed:{feed}", "bench:1:aa", now, 540.0)
            await store.run(store.forget_feed, feed)
        await store.run(store.feed_state, feed)
        await store.run(_stage, store, feed, now)
    return time.perf_counter() - started


async def loop_drain(store: Store, leases: bool, now: float) -> float:
    started = time.perf_counter()
    for row in await store.run(store.due, now + 1):
        await store.run(_take, store, row.alert.alert_id, leases, now)
        await store.run(store.mark, [row.alert.alert_id], "sent", now)
    return time.perf_counter() - started


def measure(location: str | Path, leases: bool, loop: bool = False) -> tuple[float, float]:
    store = Store(location)
    try:
        if loop:
            return asyncio.run(_both(store, leases))
        cycle = poll_cycle(store, leases, 1000.0)
        return cycle, drain(store, leases, 1000.0)
    finally:
        store.close()


async def _both(store: Store, leases: bool) -> tuple[float, float]:
    return await loop_cycle(store, leases, 1000.0), await loop_drain(store, leases, 1000.0)


def main() -> None:
    try:
        import pgserver
    except ImportError:
        print("   pgserver not installed (requirements-dev.txt): PostgreSQL figures skipped")
        return
    from tests.pgserver_fixture import fresh_database

    folder = Path(tempfile.mkdtemp(prefix="policybot-bench-pg-"))
    server = pgserver.get_server(folder, cleanup_mode="stop")
    try:
        lite = measure(folder / "bench.sqlite3", leases=False)
        pg = measure(fresh_database(server.get_uri()), leases=False)
        shared = measure(fresh_database(server.get_uri()), leases=True)
        lite_loop = measure(folder / "bench-loop.sqlite3", leases=False, loop=True)
        pg_loop = measure(fresh_database(server.get_uri()), leases=False, loop=True)
        shared_loop = measure(fresh_database(server.get_uri()), leases=True, loop=True)
    finally:
        server.cleanup()
    for label, index in (("poll cycle, 1,000 feeds", 0), ("drain, 1,000 alerts", 1)):
        print(f"   {label}: SQLite {lite[index]:.2f} s, PostgreSQL {pg[index]:.2f} s "
              f"(x{pg[index] / lite[index]:.1f}), with leases {shared[index]:.2f} s "
              f"(x{shared[index] / lite[index]:.1f}; leases add "
              f"{(shared[index] - pg[index]) / 1000 * 1e3:.2f} ms each)")
        print(f"     via the loop (Store.run): SQLite {lite_loop[index]:.2f} s, PostgreSQL "
              f"{pg_loop[index]:.2f} s (x{pg_loop[index] / lite_loop[index]:.1f}; x"
              f"{pg_loop[index] / pg[index]:.2f} of direct), with leases {shared_loop[index]:.2f} s "
              f"(x{shared_loop[index] / lite_loop[index]:.1f})")
