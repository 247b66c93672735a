"""The state: feed state, seen items, the outbox, subscriptions; in SQLite (a file, one bot)
or PostgreSQL (`storage.url`: several instances share it, see policybot/dialect.py for what
differs and policybot/leases.py for who does what).

SQLite: WAL mode; schema migrations by `PRAGMA user_version` (PostgreSQL: a schema_version
table, migrated under an advisory lock by the first instance to start). The pipeline's one write per poll
(`commit_poll`) marks items seen AND enqueues their alerts in one transaction, so a crash at
any moment loses no alert. Times are UNIX seconds (float, UTC).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from policybot.codec import alert_from_json, alert_to_json
from policybot.consoleviews import ConsoleViewsMixin
from policybot.dialect import POSTGRES, SQLITE, is_url
from policybot.leases import LeasesMixin
from policybot.model import Alert, Item
from policybot.prune import prune_state
from policybot.schema import MIGRATIONS
from policybot.storeconn import BUSY_TIMEOUT_MS, DatabaseThread, Transaction, UsedFromLoop, open_sqlite
from policybot.stories.storage import StoriesMixin, StoryRecord
from policybot.subscriptions import SubscriptionsMixin


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


class Store(UsedFromLoop, SubscriptionsMixin, StoriesMixin, ConsoleViewsMixin, LeasesMixin):
    """One connection. While the event loop runs, the store's work goes through `run`: inline
    on SQLite (a local file), on the store's one database thread on PostgreSQL, so the loop
    never waits on the server (pgconn.py refuses a statement from the loop's thread). Without
    a running loop (`status`, `check`) its methods are called directly.

    `location`: a SQLite file path, or a postgresql:// URL."""

    def __init__(self, location: str | Path) -> None:
        self.url = str(location) if is_url(location) else None
        self.path = Path(":memory:" if self.url else location)
        self.dialect = POSTGRES if self.url else SQLITE
        self._thread = DatabaseThread() if self.url else None
        self._subscribers: dict[str, frozenset[str]] | None = None   # subscribers_by_rule, until a write
        self._feeds: dict[str, FeedState] = {}   # feed rows as last written: this is their only writer
        self._later: dict[str, dict[str, Any]] = {}  # feed row updates waiting for flush_feeds()
        self._present: dict[str, float] = {}         # feed -> time its latest items were seen again
        if self._thread is not None:   # start-up: connected and migrated on the database thread
            try:
                self._thread.call(self._open_pg)
            except BaseException:
                self._thread.shutdown()
                raise
        else:
            self.db: Any = open_sqlite(self.path)
            self.migrate()
        self._identity = self._file_identity()   # the file we opened: (device, inode)

    def _open_pg(self) -> None:
        from policybot.pgconn import PgConnection  # psycopg only for those who use it

        self.db = PgConnection(str(self.url))
        self.migrate()

    @property
    def location(self) -> str:
        """What prune and `status` open: the file or the URL."""
        return self.url or str(self.path)

    def migrate(self) -> None:
        """Each missing migration in a transaction of its own; whoever starts first applies it
        (the others wait for the lock, then find the version moved on)."""
        while self.dialect.schema_version(self.db) < len(MIGRATIONS):
            with self.transaction():
                self.dialect.lock_schema(self.db)
                version = self.dialect.schema_version(self.db)
                if version >= len(MIGRATIONS):
                    return
                for statement in filter(str.strip, MIGRATIONS[version].split(";")):
                    self.db.execute(self.dialect.ddl(statement))
                self.dialect.set_schema_version(self.db, version + 1)

    def schema_version(self) -> int:
        return self.dialect.schema_version(self.db)

    def transaction(self) -> Transaction:
        return Transaction(self.db)

    # feeds --------------------------------------------------------------------------------
    def feed_state(self, feed_id: str) -> FeedState:
        """The feed's row; served from memory after the first read (every poll reads it)."""
        state = self._feeds.get(feed_id)
        if state is None:
            row = self.db.execute("SELECT * FROM feeds WHERE id = ?", (feed_id,)).fetchone()
            state = FeedState(id=feed_id) if row is None else _feed_state(row)
            self._feeds[feed_id] = state
        return state

    def forget_feed(self, feed_id: str) -> None:
        """Read the feed's row again next time (another instance may have written it)."""
        self.flush_feeds()
        self._feeds.pop(feed_id, None)

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
                    alerts: Iterable[Alert], feed_values: dict[str, Any], now: float,
                    stories: StoryRecord | None = None) -> int:
        """Mark `items` seen, enqueue `alerts`, record their stories, update the feed row: one transaction.
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
            if stories is not None:
                self.record_stories(stories, now)
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
        return prune_state(self.location, now, retention)

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

    def _file_identity(self) -> tuple[int, int] | None:
        if self.url or str(self.path) == ":memory:":
            return None
        st = os.stat(self.path)
        return st.st_dev, st.st_ino

    def problem(self) -> str | None:
        """Why the state cannot be trusted to be kept, or None: the file was deleted or replaced
        while running (writes would go to a file no one will open again), or it does not answer."""
        if self._identity is not None:
            try:
                now = self._file_identity()
            except OSError:
                return f"state file {self.path} was deleted while running"
            if now != self._identity:
                return f"state file {self.path} was replaced while running"
        try:
            self.ping()
        except sqlite3.Error as exc:
            return f"state database: {exc}"
        return None

    @property
    def fault_path(self) -> Path:
        return fault_path(self.path)

    def note_fault(self, message: str | None, instance: str = "", now: float = 0.0) -> None:
        """Leave (or, with None, clear) a one-line note beside the database saying why delivery
        stopped, for `status` in another process. Best effort: the disk that refused the
        database may refuse this too. PostgreSQL: `instance`'s row notes it (leases.py)."""
        if self.url:
            self.note_shared_fault(message, instance, now)
            return
        if str(self.path) == ":memory:":
            return
        try:
            if message is None:
                self.fault_path.unlink(missing_ok=True)
            else:
                self.fault_path.write_text(f"{utcnow_stamp()} {message}\n", encoding="utf-8")
        except OSError:
            return

    def noted_fault(self) -> str | None:
        """Why delivery is stopped, as the running bot noted it (PostgreSQL: every instance's)."""
        if self.url:
            return "; ".join(self.instance_faults()) or None
        return noted_fault(self.path)

    def writable(self) -> None:
        """Take the write lock and let it go at once, without waiting: raises sqlite3.Error when
        another connection holds it or the file refuses writes. Cheap (no page is written).
        PostgreSQL: a write transaction that writes nothing (the server takes the writes)."""
        if self.url:
            self.db.execute("BEGIN READ WRITE")
            self.db.execute("ROLLBACK")
            return
        self.db.execute("PRAGMA busy_timeout=0")
        try:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute("ROLLBACK")
        finally:
            self.db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")

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
        """Pending rows due by `now`, except for destinations paused (Retry-After) past `now`:
        a pause holds every row of its destination, those enqueued later too."""
        sql = ("SELECT o.* FROM outbox o LEFT JOIN destinations d ON d.id = o.destination "
               "WHERE o.state = 'pending' AND o.due <= ? AND COALESCE(d.blocked_until, 0) <= ?")
        args: tuple[Any, ...] = (now, now)
        if destination is not None:
            sql += " AND o.destination = ?"
            args += (destination,)
        return [_row(r) for r in self.db.execute(sql + " ORDER BY o.created, o.alert_id", args)]

    def next_due(self) -> float | None:
        """When the next pending row can go: its due time, or its destination's pause end."""
        row = self.db.execute(
            f"SELECT MIN({self.dialect.greatest}(o.due, COALESCE(d.blocked_until, 0))) FROM outbox o "
            "LEFT JOIN destinations d ON d.id = o.destination WHERE o.state = 'pending'").fetchone()
        return row[0]

    def claim(self, alert_ids: Sequence[str]) -> None:
        """Count an attempt BEFORE sending: a send happens only when the database took a write
        just now (raises sqlite3.Error otherwise), so a state that cannot be recorded sends nothing."""
        with self.transaction():
            self.db.executemany("UPDATE outbox SET attempts = attempts + 1 WHERE alert_id = ?",
                                [(a,) for a in alert_ids])

    def mark(self, alert_ids: Sequence[str], state: str, now: float, *,
             error: str | None = None, due: float | None = None, attempt: bool = False) -> None:
        """A retry (state 'pending') leaves a row a mute held meanwhile held."""
        with self.transaction():
            for alert_id in alert_ids:
                self.db.execute(
                    "UPDATE outbox SET state = CASE WHEN ? = 'pending' AND state = 'held' THEN "
                    "'held' ELSE ? END, last_error = COALESCE(?, last_error), "
                    "due = COALESCE(?, due), attempts = attempts + ?, "
                    "sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END WHERE alert_id = ?",
                    (state, state, error, due, int(attempt), state, now, alert_id))

    def delay_destination(self, destination: str, until: float) -> None:
        """Nothing for `destination` is due before `until` (a platform's Retry-After)."""
        self.db.execute(f"UPDATE outbox SET due = {self.dialect.greatest}(due, ?) WHERE destination = ? "
                        "AND state = 'pending'",
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
        return {r[0]: r[1] for r in rows}

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


def _chunks(values: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _feed_state(row: sqlite3.Row) -> FeedState:
    values = dict(row)
    values["first_poll_done"] = bool(values["first_poll_done"])
    return FeedState(**values)


def fault_path(db_path: Path) -> Path:
    """Where a running bot notes why it stopped delivering (beside the database)."""
    return db_path.with_name(db_path.name + ".fault")


def noted_fault(db_path: Path) -> str | None:
    try:
        return fault_path(db_path).read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def utcnow_stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _dt(timestamp: float | None) -> datetime | None:
    return datetime.fromtimestamp(timestamp, UTC) if timestamp is not None else None


def _row(r: sqlite3.Row) -> OutboxRow:
    return OutboxRow(alert=alert_from_json(r["payload"]), created=r["created"], due=r["due"],
                     attempts=r["attempts"], state=r["state"], last_error=r["last_error"])
