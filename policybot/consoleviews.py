"""The store's read-only views for the web console (policybot/console): alerts newest first
with their filters, counts per day, subscriptions. A mixin over Store's connection; it never
writes. Each query is served by an index of migration 5 (schema.py). The SQL is written once
for both backends (SQLite's spelling; policybot/dialect.py adapts the rest)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from policybot.codec import alert_from_json
from policybot.dialect import Dialect, is_url
from policybot.model import Alert, Item

DAY = 86400.0
SCAN_BATCH = 500        # outbox rows read at a time while filtering in Python
_FEED = "json_extract(o.payload, '$.item.feed_id')"   # the expression of index outbox_by_feed


@dataclass(frozen=True, slots=True)
class AlertQuery:
    """The indexed filters (SQL); the others (severity, language) are applied by the caller."""

    rule: str = ""
    feed: str = ""
    destination: str = ""
    text: str = ""


@dataclass(frozen=True, slots=True)
class Delivery:
    alert: Alert
    created: float
    state: str                 # pending | held | sent | failed | expired | missed
    last_error: str | None
    sent_at: float | None
    attempts: int


class ConsoleViewsMixin:
    db: Any
    dialect: Dialect

    def alert_scan(self, query: AlertQuery, limit: int) -> Iterator[Delivery]:
        """Outbox rows matching `query`, newest first, at most `limit` read (keyset pages)."""
        sql, args = _alert_sql(query)
        t = "r" if query.rule else "o"   # by rule: alert_rules_by_rule gives the order
        before: tuple[float, str] | None = None
        read = 0
        while read < limit:
            page_sql, page_args = sql, list(args)
            if before is not None:
                page_sql += f" AND ({t}.created < ? OR ({t}.created = ? AND {t}.alert_id < ?))"
                page_args += [before[0], before[0], before[1]]
            page_sql += f" ORDER BY {t}.created DESC, {t}.alert_id DESC LIMIT ?"
            rows = self.db.execute(page_sql, (*page_args, min(SCAN_BATCH, limit - read))).fetchall()
            for row in rows:
                yield _delivery(row)
            read += len(rows)
            if len(rows) < SCAN_BATCH:
                return
            before = (rows[-1]["created"], rows[-1]["alert_id"])

    def deliveries_at(self, created: float) -> list[Delivery]:
        """Every outbox row enqueued at `created` (the alerts of one poll: one item's
        deliveries to each destination are among them)."""
        rows = self.db.execute("SELECT * FROM outbox o WHERE created = ? ORDER BY destination",
                               (created,))
        return [_delivery(r) for r in rows]

    def new_items_per_day(self, feed_ids: Sequence[str], days: Sequence[int]) -> dict[tuple[str, int], int]:
        """(feed id, day number) -> items first seen that day: one range count per feed and
        day on index seen_by_feed_time (a GROUP BY over a month of items sorts them all)."""
        rows = self.db.execute(
            "WITH f(id) AS (SELECT value FROM json_each(?1)), d(day) AS (SELECT CAST(value AS "
            "BIGINT) FROM json_each(?2)) SELECT f.id, d.day, (SELECT COUNT(*) FROM seen INDEXED BY "
            "seen_by_feed_time WHERE feed_id = f.id AND seen_at >= d.day * 86400 AND "
            "seen_at < (d.day + 1) * 86400) FROM f, d", (json.dumps(list(feed_ids)), json.dumps(list(days))))
        return {(r[0], r[1]): r[2] for r in rows if r[2]}

    def alerts_per_day(self, since: float) -> dict[tuple[str, int], int]:
        """(rule id, day number) -> alerts (one per destination) enqueued that day."""
        day = self.dialect.whole("created / 86400")
        rows = self.db.execute(f"SELECT rule_id, {day}, COUNT(*) FROM alert_rules "
                               "WHERE created >= ? GROUP BY 1, 2", (since,))
        return {(r[0], r[1]): r[2] for r in rows}

    def last_alerts(self, rule_id: str, limit: int) -> list[Delivery]:
        rows = self.db.execute(
            "SELECT o.* FROM alert_rules r JOIN outbox o ON o.alert_id = r.alert_id "
            "WHERE r.rule_id = ? ORDER BY r.created DESC LIMIT ?", (rule_id, limit))
        return [_delivery(r) for r in rows]

    def all_subscriptions(self) -> list[tuple[str, str]]:
        """(destination, rule id) of every chat subscription."""
        rows = self.db.execute("SELECT destination, rule_id FROM subscriptions "
                               "ORDER BY destination, rule_id")
        return [(r[0], r[1]) for r in rows]


def _alert_sql(query: AlertQuery) -> tuple[str, list[object]]:
    if query.rule:
        sql = ("SELECT o.* FROM alert_rules r JOIN outbox o ON o.alert_id = r.alert_id "
               "WHERE r.rule_id = ?")
        args: list[object] = [query.rule]
    else:
        sql, args = "SELECT o.* FROM outbox o WHERE 1 = 1", []
    if query.feed:
        sql += f" AND {_FEED} = ?"
        args.append(query.feed)
    if query.destination:
        sql += " AND o.destination = ?"
        args.append(query.destination)
    if query.text:
        sql += (" AND instr(lower(json_extract(o.payload, '$.item.title') || ' ' || "
                "json_extract(o.payload, '$.item.summary')), ?) > 0")
        args.append(query.text.lower())
    sql += " AND o.payload NOT LIKE '%\"rule_id\": \"notice:%'"
    return sql, args


def _delivery(r: sqlite3.Row) -> Delivery:
    return Delivery(alert=alert_from_json(r["payload"]), created=r["created"], state=r["state"],
                    last_error=r["last_error"], sent_at=r["sent_at"], attempts=r["attempts"])


def stream_items(location: str, since: float, batch: int = SCAN_BATCH) -> Iterator[Item]:
    """Items stored since `since`, oldest first, read on a connection of their own (the
    playground reads them in a worker thread) a batch at a time, never all in memory: keyset
    pages from the last row read. `location`: the SQLite file or the PostgreSQL URL."""
    db = _reader(location)
    try:
        after: tuple[str, str] = ("", "")
        while True:
            rows = db.execute(
                "SELECT feed_id, item_id, title, link, summary, published, seen_at FROM seen "
                "WHERE seen_at >= ? AND title IS NOT NULL AND (seen_at > ? OR (feed_id, item_id) > (?, ?)) "
                "ORDER BY seen_at, feed_id, item_id LIMIT ?", (since, since, *after, batch)).fetchall()
            for r in rows:
                published = datetime.fromtimestamp(r[5], UTC) if r[5] is not None else None
                yield Item(feed_id=r[0], item_id=r[1], title=r[2] or "", link=r[3],
                           summary=r[4] or "", content="", published=published)
            if len(rows) < batch:
                return
            since, after = rows[-1][6], (rows[-1][0], rows[-1][1])
    finally:
        db.close()


def _reader(location: str) -> Any:
    if is_url(location):
        from policybot.pgconn import PgConnection  # psycopg only for those who use it

        return PgConnection(location)
    return sqlite3.connect(f"file:{location}?mode=ro", uri=True)
