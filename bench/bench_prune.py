"""Retention at 1M seen items: the hourly prune and a 304's last_present update, with the
(feed_id, last_present) index of migration 4 against the same database without it.

1,000 feeds x 1,000 items; each feed's latest body holds its newest 50 items, and 1% of the
items left their feed longer ago than the retention. Both figures come from the same run, on
copies of one database, so the ratio is what the index buys.

    python -m bench bench_prune
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

from policybot.prune import prune_state
from policybot.store import Store

FEEDS = 1000
PER_FEED = 1000
LATEST = 50            # items in each feed's latest body
GONE_EVERY = 100       # one item in this many left its feed long ago
NOW = 100 * 86400.0
RETENTION = 30 * 86400.0
ROUNDS = 3


def build(path: Path) -> None:
    Store(path).close()   # the schema, all migrations
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("BEGIN")
    db.executemany("INSERT INTO feeds(id) VALUES (?)", [(f"f{f}",) for f in range(FEEDS)])
    rows = []
    for f in range(FEEDS):
        for i in range(PER_FEED):
            if i >= PER_FEED - LATEST:
                present = NOW - 600.0          # in the latest body
            elif i % GONE_EVERY == 0:
                present = NOW - RETENTION - 86400.0 - i   # gone longer than the retention
            else:
                present = NOW - 86400.0 - i    # gone recently
            rows.append((f"f{f}", f"item-{i}", present, present, None))
    db.executemany("INSERT INTO seen(feed_id, item_id, seen_at, last_present, title) "
                   "VALUES (?,?,?,?,?)", rows)
    db.execute("COMMIT")
    db.close()


def without_index(path: Path) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("DROP INDEX seen_presence")
    db.close()


def touch_all(path: Path) -> float:
    """Seconds for one 304 per feed (the UPDATE flush_feeds runs)."""
    db = sqlite3.connect(path, isolation_level=None)
    started = time.perf_counter()
    db.execute("BEGIN")
    for f in range(FEEDS):
        db.execute("UPDATE seen SET last_present = ?1 WHERE feed_id = ?2 AND last_present = "
                   "(SELECT MAX(last_present) FROM seen WHERE feed_id = ?2)", (NOW, f"f{f}"))
    db.execute("COMMIT")
    elapsed = time.perf_counter() - started
    db.close()
    return elapsed


def measure(path: Path) -> tuple[float, float, float, int]:
    """(one 304 per feed, the prune that forgets, the hourly prune after it) in seconds."""
    touch = touch_all(path)
    started = time.perf_counter()
    gone = prune_state(path, NOW, RETENTION)
    first = time.perf_counter() - started
    started = time.perf_counter()
    prune_state(path, NOW, RETENTION)   # the next hourly run: nothing left to forget
    steady = time.perf_counter() - started
    return touch, first, steady, gone


def main() -> None:
    best: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base.db"
        build(base)
        for round_ in range(ROUNDS):   # interleaved, best of each, against the machine's drift
            for name, prepare in (("with", None), ("without", without_index)):
                path = Path(tmp) / f"{name}-{round_}.db"
                shutil.copy(base, path)
                if prepare is not None:
                    prepare(path)
                *times, gone = measure(path)
                assert gone == FEEDS * sum(1 for i in range(PER_FEED - LATEST) if i % GONE_EVERY == 0)
                best[name] = [min(a, b) for a, b in zip(best.get(name, times), times, strict=True)]
                path.unlink()
    print(f"   {FEEDS * PER_FEED:,} seen items, {FEEDS:,} feeds; best of {ROUNDS}")  # noqa: T201
    labels = ("one 304 per feed (UPDATE last_present)", f"prune forgetting {gone:,} items",
              "hourly prune, nothing to forget")
    for label, ours, base_ in zip(labels, best["with"], best["without"], strict=True):
        print(f"   {label:40s} {ours * 1e3:8.1f} ms with the index, "  # noqa: T201
              f"{base_ * 1e3:8.1f} ms without: {base_ / ours:5.1f}x")


if __name__ == "__main__":
    main()
