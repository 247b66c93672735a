"""Forget what the bot no longer needs: items gone from their feed for longer than the
retention, the text of old items, finished outbox rows and their rule counts, and the story
index of those days (identities, grouped items, first messages, folded reports).

Runs in a worker thread (the scheduler's hourly job, via asyncio.to_thread) on its own
connection (SQLite or PostgreSQL): the store's connection is the store's own. Every
statement removes at most PRUNE_CHUNK rows and commits, so the bot's own writes never wait
for more than one chunk.
An item that was in its feed's latest body is never forgotten, however long ago that body
came (a feed failing for longer than the retention must not alert its old items again).
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

from policybot.dialect import is_url

PRUNE_CHUNK = 2000      # rows one prune transaction changes at most
BUSY_TIMEOUT_MS = 5000

# The feed's items, except those of its latest body (their last_present is the feed's newest).
_FEED_GONE = ("DELETE FROM seen WHERE feed_id = ?1 AND item_id IN (SELECT item_id FROM seen "
              "WHERE feed_id = ?1 AND last_present < ?2 LIMIT ?3)")
_FORGET_TEXT = ("UPDATE seen SET title = NULL, summary = NULL WHERE (feed_id, item_id) IN "
                "(SELECT feed_id, item_id FROM seen WHERE title IS NOT NULL AND seen_at < ?1 LIMIT ?2)")
_OUTBOX = ("DELETE FROM outbox WHERE alert_id IN (SELECT alert_id FROM outbox WHERE created < ?1 "
           "AND state NOT IN ('pending', 'held') LIMIT ?2)")
# the story index: identities, grouped items, first messages and folded reports past retention
_STORIES = tuple(
    f"DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM {table} WHERE {time} < ?1 LIMIT ?2)"
    for table, key, time in (("identities", "ident", "seen_at"), ("stories", "item_key", "seen_at"),
                             ("story_reports", "alert_id", "created")))
_STORY_MESSAGES = ("DELETE FROM story_messages WHERE (destination, story) IN (SELECT destination, "
                   "story FROM story_messages WHERE created < ?1 LIMIT ?2)")
_ALERT_RULES = ("DELETE FROM alert_rules WHERE (alert_id, rule_id) IN (SELECT alert_id, rule_id "
                "FROM alert_rules WHERE created < ?1 LIMIT ?2)")


def prune_state(path: str | Path, now: float, retention: float, *, chunk: int = PRUNE_CHUNK,
                halt: threading.Event | None = None) -> int:
    """Prune the database at `path` (a file or a postgresql:// URL); returns how many items were
    forgotten. `halt` (set when the bot stops) ends the work after the chunk under way; the
    next run goes on from there."""
    cutoff = now - retention
    db = _connect(path)
    try:
        gone = 0
        feeds = [r[0] for r in db.execute("SELECT id FROM feeds")]
        for feed_id in feeds:
            newest = db.execute("SELECT MAX(last_present) FROM seen WHERE feed_id = ?",
                                (feed_id,)).fetchone()[0]
            if newest is not None:
                gone += _chunked(db, _FEED_GONE, (feed_id, min(cutoff, newest)), chunk, halt)
        _chunked(db, _FORGET_TEXT, (cutoff,), chunk, halt)
        _chunked(db, _OUTBOX, (cutoff,), chunk, halt)
        _chunked(db, _ALERT_RULES, (cutoff,), chunk, halt)
        for sql in (*_STORIES, _STORY_MESSAGES):
            _chunked(db, sql, (cutoff,), chunk, halt)
        return gone
    finally:
        db.close()


def _connect(path: str | Path) -> Any:
    if is_url(path):
        from policybot.pgconn import PgConnection

        return PgConnection(str(path))
    db = sqlite3.connect(str(path), isolation_level=None)
    db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    return db


def _chunked(db: Any, sql: str, args: tuple[object, ...], chunk: int,
             halt: threading.Event | None) -> int:
    total = 0
    while not (halt is not None and halt.is_set()):
        count = db.execute(sql, (*args, chunk)).rowcount   # one statement: its own transaction
        total += count
        if count < chunk:
            break
    return total
