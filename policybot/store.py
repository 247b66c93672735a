"""SQLite state: feed state, seen items, the outbox, subscriptions.

WAL mode; schema migrations by `PRAGMA user_version`. The pipeline's one write per poll
(`commit_poll`) marks items seen AND enqueues their alerts in one transaction, so a crash at
any moment loses no alert. Times are UNIX seconds (float, UTC).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

from policybot.model import Alert, Hit, Item, Match
from policybot.prune import prune_state
from policybot.schema import MIGRATIONS


@dataclass(frozen=True, slots=True)
class FeedState:
    id: str
    url: str | None = None
    config_url: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    first_poll_done: bool = False
    last_poll: float | None = None
    last_success: float | None = None
    last_new_item: float | None = None
    error_count: int = 0
    failing_since: float | None = None
    last_error: str | None = None
    next_poll: float | None = None
    disabled: str | None = None
    reported: float | None = None
    silent_reported: float | None = None


@dataclass(frozen=True, slots=True)
class OutboxRow:
    alert: Alert
    created: float
    due: float
    attempts: int
    state: str
    last_error: str | None


class Store:
    """One connection, used from the event loop thread only (calls are short)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA busy_timeout=5000")
        self._subscribers: dict[str, frozenset[str]] | None = None   # subscribers_by_rule, until a write
        self._feeds: dict[str, FeedState] = {}   # feed rows as last written: this is their only writer
        self._later: dict[str, dict[str, Any]] = {}  # feed row updates waiting for flush_feeds()
        self._present: dict[str, float] = {}         # feed -> time its latest items were seen again
        self.migrate()

    def close(self) -> None:
        self.flush_feeds()
        self.db.close()

    def migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            with self.transaction():
                for statement in filter(str.strip, script.split(";")):
                    self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version = {number}")

    def transaction(self) -> _Transaction:
        return _Transaction(self.db)

    # feeds --------------------------------------------------------------------------------
    def feed_state(self, feed_id: str) -> FeedState:
        """The feed's row; served from memory after the first read (every poll reads it)."""
        state = self._feeds.get(feed_id)
        if state is None:
            row = self.db.execute("SELECT * FROM feeds WHERE id = ?", (feed_id,)).fetchone()
            state = FeedState(id=feed_id) if row is None else _feed_state(row)
            self._feeds[feed_id] = state
        return state

    def feed_states(self) -> list[FeedState]:
        self.flush_feeds()
        return [_feed_state(r) for r in self.db.execute("SELECT * FROM feeds ORDER BY id")]

    def update_feed_later(self, feed_id: str, *, present: float | None = None, **values: Any) -> None:
        """Bookkeeping of a poll that found nothing new (304, same body), written with the others
        of the same moment by `flush_feeds` in one transaction (a crash loses only bookkeeping).
        `present`: the items of the feed's latest body are still there at this time."""
        self._remember(self.feed_state(feed_id), values)
        self._later.setdefault(feed_id, {}).update(values)
        if present is not None:
            self._present[feed_id] = present

    def flush_feeds(self) -> None:
        if not self._later:
            return
        later, self._later = self._later, {}
        present, self._present = self._present, {}
        try:
            with self.transaction():
                for feed_id, values in later.items():
                    self._upsert_feed(feed_id, values)
                for feed_id, ts in present.items():   # one indexed UPDATE per feed
                    self.db.execute(
                        "UPDATE seen SET last_present = ?1 WHERE feed_id = ?2 AND last_present = "
                        "(SELECT MAX(last_present) FROM seen WHERE feed_id = ?2)", (ts, feed_id))
        except sqlite3.Error:
            self._feeds.clear()  # memory must not claim what the database refused
            raise

    def update_feed(self, feed_id: str, **values: Any) -> None:
        self.flush_feeds()   # an older deferred update must not land after this one
        before = self._feeds.pop(feed_id, None)   # a failed write leaves no stale copy behind
        self._upsert_feed(feed_id, values)
        self._remember(before, values)

    def _remember(self, before: FeedState | None, values: dict[str, Any]) -> None:
        if before is None:
            return
        if "first_poll_done" in values:
            values = {**values, "first_poll_done": bool(values["first_poll_done"])}
        self._feeds[before.id] = replace(before, **values)

    def _upsert_feed(self, feed_id: str, values: dict[str, Any]) -> None:
        """One statement (one write transaction when outside one): a 304 costs a single write."""
        if not values:
            self.db.execute("INSERT OR IGNORE INTO feeds(id) VALUES (?)", (feed_id,))
            return
        names = ", ".join(values)
        sets = ", ".join(f"{k} = excluded.{k}" for k in values)
        self.db.execute(f"INSERT INTO feeds(id, {names}) VALUES (?{', ?' * len(values)}) "
                        f"ON CONFLICT(id) DO UPDATE SET {sets}", (feed_id, *values.values()))

    # seen items ---------------------------------------------------------------------------
    def unseen(self, feed_id: str, item_ids: Sequence[str]) -> set[str]:
        """The ids among `item_ids` this feed has never recorded."""
        known: set[str] = set()
        for chunk in _chunks(list(item_ids), 500):
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(
                f"SELECT item_id FROM seen WHERE feed_id = ? AND item_id IN ({marks})",
                (feed_id, *chunk))
            known.update(r[0] for r in rows)
        return set(item_ids) - known

    def commit_poll(self, feed_id: str, items: Iterable[Item], present: Sequence[str],
                    alerts: Iterable[Alert], feed_values: dict[str, Any], now: float) -> int:
        """Mark `items` seen, enqueue `alerts`, update the feed row: one transaction.
        Returns how many alerts were newly enqueued."""
        added = 0
        self.flush_feeds()
        before = self._feeds.pop(feed_id, None)
        with self.transaction():
            self.db.executemany(
                "INSERT OR IGNORE INTO seen(feed_id, item_id, seen_at, last_present, title, "
                "summary, link, published) VALUES (?,?,?,?,?,?,?,?)",
                [(feed_id, i.item_id, now, now, i.title, i.summary[:2000], i.link,
                  i.published.timestamp() if i.published else None) for i in items])
            for chunk in _chunks(list(present), 500):
                marks = ",".join("?" * len(chunk))
                self.db.execute(f"UPDATE seen SET last_present = ? WHERE feed_id = ? AND "
                                f"item_id IN ({marks})", (now, feed_id, *chunk))
            for alert in alerts:
                added += self._enqueue(alert, now)
            self._upsert_feed(feed_id, feed_values)
        self._remember(before, feed_values)
        return added

    def recent_items(self, since: float) -> list[Item]:
        rows = self.db.execute(
            "SELECT * FROM seen WHERE seen_at >= ? AND title IS NOT NULL ORDER BY seen_at", (since,))
        return [Item(feed_id=r["feed_id"], item_id=r["item_id"], title=r["title"] or "",
                     link=r["link"], summary=r["summary"] or "", content="",
                     published=_dt(r["published"])) for r in rows]

    def prune(self, now: float, retention: float) -> int:
        """Forget items gone from their feed longer than `retention`, old outbox rows (prune.py)."""
        self.flush_feeds()
        return prune_state(self.path, now, retention)

    def new_item_times(self, feed_id: str) -> list[float]:
        """When polls of this feed found new items (one time per poll), oldest first."""
        rows = self.db.execute("SELECT DISTINCT seen_at FROM seen WHERE feed_id = ? ORDER BY seen_at",
                               (feed_id,))
        return [r[0] for r in rows]

    def feed_health_counts(self) -> dict[str, float]:
        rows = self.db.execute(
            "SELECT CASE WHEN disabled IS NOT NULL THEN 'disabled' WHEN error_count > 0 THEN 'failing' "
            "ELSE 'ok' END, COUNT(*) FROM feeds GROUP BY 1")
        return {r[0]: float(r[1]) for r in rows}

    def ping(self) -> bool:
        return self.db.execute("SELECT 1").fetchone()[0] == 1

    def pending_count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM outbox WHERE state = 'pending'").fetchone()[0])

    # outbox -------------------------------------------------------------------------------
    def enqueue(self, alerts: Iterable[Alert], now: float) -> int:
        with self.transaction():
            return sum(self._enqueue(a, now) for a in alerts)

    def _enqueue(self, alert: Alert, now: float) -> int:
        """One statement: an alert for a muted subscriber is held, any other is pending."""
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO outbox(alert_id, destination, payload, created, due, state) "
            "VALUES (?,?,?,?,?, CASE WHEN EXISTS (SELECT 1 FROM subscribers WHERE destination = ? "
            "AND muted_until > ?) THEN 'held' ELSE 'pending' END)",
            (alert.alert_id, alert.destination, alert_to_json(alert), now, now,
             alert.destination, now))
        if cursor.rowcount:
            self.db.executemany(
                "INSERT OR IGNORE INTO alert_rules(alert_id, rule_id, created) VALUES (?,?,?)",
                [(alert.alert_id, m.rule_id, now) for m in alert.matches])
        return cursor.rowcount

    def due(self, now: float, destination: str | None = None) -> list[OutboxRow]:
        sql = "SELECT * FROM outbox WHERE state = 'pending' AND due <= ?"
        args: tuple[Any, ...] = (now,)
        if destination is not None:
            sql += " AND destination = ?"
            args += (destination,)
        return [_row(r) for r in self.db.execute(sql + " ORDER BY created, alert_id", args)]

    def next_due(self) -> float | None:
        row = self.db.execute("SELECT MIN(due) FROM outbox WHERE state = 'pending'").fetchone()
        return row[0]

    def mark(self, alert_ids: Sequence[str], state: str, now: float, *,
             error: str | None = None, due: float | None = None, attempt: bool = False) -> None:
        with self.transaction():
            for alert_id in alert_ids:
                self.db.execute(
                    "UPDATE outbox SET state = ?, last_error = COALESCE(?, last_error), "
                    "due = COALESCE(?, due), attempts = attempts + ?, "
                    "sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END WHERE alert_id = ?",
                    (state, error, due, int(attempt), state, now, alert_id))

    def delay_destination(self, destination: str, until: float) -> None:
        """Nothing for `destination` is due before `until` (a platform's Retry-After)."""
        self.db.execute("UPDATE outbox SET due = MAX(due, ?) WHERE destination = ? AND state = 'pending'",
                        (until, destination))

    def sent_since(self, destination: str, since: float) -> int:
        row = self.db.execute("SELECT COUNT(*) FROM outbox WHERE destination = ? AND state = 'sent' "
                              "AND sent_at >= ?", (destination, since)).fetchone()
        return int(row[0])

    def outbox_counts(self) -> dict[tuple[str, str], int]:
        rows = self.db.execute(
            "SELECT destination, state, COUNT(*) FROM outbox GROUP BY destination, state")
        return {(r[0], r[1]): r[2] for r in rows}

    def last_errors(self) -> dict[str, str]:
        rows = self.db.execute(
            "SELECT destination, last_error FROM outbox WHERE state IN ('failed', 'expired') "
            "OR (state = 'pending' AND last_error IS NOT NULL) ORDER BY created")
        return {r[0]: r[1] for r in rows if r[1]}

    def alerts_per_rule(self) -> dict[str, int]:
        rows = self.db.execute("SELECT rule_id, COUNT(*) FROM alert_rules GROUP BY rule_id")
        return dict(rows.fetchall())

    def set_destination(self, destination: str, **values: Any) -> None:
        self.db.execute("INSERT OR IGNORE INTO destinations(id) VALUES (?)", (destination,))
        sets = ", ".join(f"{k} = ?" for k in values)
        self.db.execute(f"UPDATE destinations SET {sets} WHERE id = ?", (*values.values(), destination))

    def destination_states(self) -> dict[str, dict[str, Any]]:
        return {r["id"]: dict(r) for r in self.db.execute("SELECT * FROM destinations")}

    def destination_error(self, destination: str) -> str | None:
        row = self.db.execute("SELECT last_error FROM destinations WHERE id = ?",
                              (destination,)).fetchone()
        return row[0] if row else None

    # subscriptions ------------------------------------------------------------------------
    def muted_until(self, destination: str) -> float | None:
        row = self.db.execute("SELECT muted_until FROM subscribers WHERE destination = ?",
                              (destination,)).fetchone()
        return row[0] if row else None

    def is_muted(self, destination: str, now: float) -> bool:
        until = self.muted_until(destination)
        return bool(until and until > now)

    def subscribers(self) -> list[tuple[str, float | None]]:
        """(destination, muted_until) of every chat that ever subscribed, watched or muted."""
        rows = self.db.execute("SELECT destination, muted_until FROM subscribers ORDER BY destination")
        return [(r[0], r[1]) for r in rows]

    def ensure_subscriber(self, destination: str, now: float) -> None:
        self.db.execute("INSERT OR IGNORE INTO subscribers(destination, created) VALUES (?, ?)",
                        (destination, now))

    def subscribe(self, destination: str, rule_id: str, now: float) -> bool:
        """False when it was subscribed already."""
        self._subscribers = None
        with self.transaction():
            self.ensure_subscriber(destination, now)
            return bool(self.db.execute(
                "INSERT OR IGNORE INTO subscriptions(destination, rule_id, created) VALUES (?,?,?)",
                (destination, rule_id, now)).rowcount)

    def unsubscribe(self, destination: str, rule_id: str | None = None) -> int:
        """Drop one subscription, or (rule_id None) every subscription and watch."""
        self._subscribers = None
        with self.transaction():
            if rule_id is not None:
                return self.db.execute("DELETE FROM subscriptions WHERE destination = ? AND rule_id = ?",
                                       (destination, rule_id)).rowcount
            count = self.db.execute("DELETE FROM subscriptions WHERE destination = ?",
                                    (destination,)).rowcount
            count += self.db.execute("DELETE FROM watches WHERE destination = ?", (destination,)).rowcount
            return count

    def subscribers_by_rule(self) -> Mapping[str, frozenset[str]]:
        """rule id -> subscribed destinations. Routing asks for every matched item, so it is
        read once and kept until `subscribe` or `unsubscribe` (the only writers) change it."""
        if self._subscribers is None:
            result: dict[str, set[str]] = {}
            for dest, rule_id in self.db.execute("SELECT destination, rule_id FROM subscriptions"):
                result.setdefault(rule_id, set()).add(dest)
            self._subscribers = {rule: frozenset(dests) for rule, dests in result.items()}
        return MappingProxyType(self._subscribers)

    def subscriptions_of(self, destination: str) -> list[str]:
        rows = self.db.execute("SELECT rule_id FROM subscriptions WHERE destination = ? ORDER BY rule_id",
                               (destination,))
        return [r[0] for r in rows]

    def add_watch(self, destination: str, watch_id: str, text: str, now: float) -> bool:
        with self.transaction():
            self.ensure_subscriber(destination, now)
            return bool(self.db.execute(
                "INSERT OR IGNORE INTO watches(destination, watch_id, text, created) VALUES (?,?,?,?)",
                (destination, watch_id, text, now)).rowcount)

    def remove_watch(self, destination: str, watch_id: str) -> bool:
        return bool(self.db.execute("DELETE FROM watches WHERE destination = ? AND watch_id = ?",
                                    (destination, watch_id)).rowcount)

    def watches(self, destination: str | None = None) -> list[tuple[str, str, str]]:
        """(destination, watch_id, text) in the order they were made."""
        sql = "SELECT destination, watch_id, text FROM watches"
        args: tuple[str, ...] = ()
        if destination is not None:
            sql, args = sql + " WHERE destination = ?", (destination,)
        return [(r[0], r[1], r[2]) for r in self.db.execute(sql + " ORDER BY created", args)]

    def mute(self, destination: str, until: float, now: float) -> None:
        with self.transaction():
            self.ensure_subscriber(destination, now)
            self.db.execute("UPDATE subscribers SET muted_until = ? WHERE destination = ?",
                            (until, destination))

    def unmute(self, destination: str, now: float) -> list[Alert]:
        """End a mute; returns the alerts held meanwhile (now marked 'missed'), oldest first."""
        with self.transaction():
            self.db.execute("UPDATE subscribers SET muted_until = NULL WHERE destination = ?",
                            (destination,))
            rows = self.db.execute("SELECT payload FROM outbox WHERE destination = ? AND state = 'held' "
                                   "ORDER BY created", (destination,)).fetchall()
            self.db.execute("UPDATE outbox SET state = 'missed' WHERE destination = ? AND state = 'held'",
                            (destination,))
        return [alert_from_json(r[0]) for r in rows]

    def release_expired_mutes(self, now: float) -> list[tuple[str, list[Alert]]]:
        """Mutes that ran out on their own: (destination, held alerts) for each."""
        rows = self.db.execute("SELECT destination FROM subscribers WHERE muted_until IS NOT NULL "
                               "AND muted_until <= ?", (now,)).fetchall()
        return [(r[0], self.unmute(r[0], now)) for r in rows]


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
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


def _chunks(values: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _feed_state(row: sqlite3.Row) -> FeedState:
    values = dict(row)
    values["first_poll_done"] = bool(values["first_poll_done"])
    return FeedState(**values)


def _dt(timestamp: float | None) -> datetime | None:
    return datetime.fromtimestamp(timestamp, UTC) if timestamp is not None else None


def _row(r: sqlite3.Row) -> OutboxRow:
    return OutboxRow(alert=alert_from_json(r["payload"]), created=r["created"], due=r["due"],
                     attempts=r["attempts"], state=r["state"], last_error=r["last_error"])


def alert_to_json(alert: Alert) -> str:
    item = alert.item
    return json.dumps({
        "destination": alert.destination, "alert_id": alert.alert_id,
        "feed_title": alert.feed_title,
        "item": {"feed_id": item.feed_id, "item_id": item.item_id, "title": item.title,
                 "link": item.link, "summary": item.summary, "content": item.content,
                 "published": item.published.isoformat() if item.published else None},
        "matches": [{"rule_id": m.rule_id, "title": m.title, "severity": m.severity,
                     "hits": [[h.term, h.entity, h.field, h.start, h.end] for h in m.hits]}
                    for m in alert.matches],
    }, ensure_ascii=False)


def alert_from_json(text: str) -> Alert:
    data = json.loads(text)
    raw = data["item"]
    published = datetime.fromisoformat(raw["published"]) if raw["published"] else None
    item = Item(feed_id=raw["feed_id"], item_id=raw["item_id"], title=raw["title"],
                link=raw["link"], summary=raw["summary"], content=raw["content"],
                published=published)
    matches = tuple(Match(rule_id=m["rule_id"], title=m["title"], severity=m["severity"],
                          hits=tuple(Hit(*h) for h in m["hits"])) for m in data["matches"])
    return Alert(alert_id=data["alert_id"], destination=data["destination"], item=item,
                 matches=matches, feed_title=data.get("feed_title", ""))
