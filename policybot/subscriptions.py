"""The store's subscriptions domain: chat subscribers, their rule subscriptions, personal
watches and mutes (with the held alerts a mute's end releases). A mixin over Store's
connection, as reader's storage splits its domains."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from policybot.codec import alert_from_json
from policybot.model import Alert

if TYPE_CHECKING:
    from policybot.storeconn import Transaction

NoticeFor = Callable[[str, list[Alert]], "Alert | None"]   # (destination, held alerts) -> notice


class SubscriptionsMixin:
    """Needs the connection, the transaction and `_enqueue` of the Store it is mixed into."""

    db: sqlite3.Connection
    _subscribers: dict[str, frozenset[str]] | None

    if TYPE_CHECKING:
        def transaction(self) -> Transaction: ...
        def _enqueue(self, alert: Alert, now: float) -> int: ...

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
        """Mute a chat: what is enqueued for it from now on is held, and so is what was
        already pending (a notice excepted)."""
        with self.transaction():
            self.ensure_subscriber(destination, now)
            self.db.execute("UPDATE subscribers SET muted_until = ? WHERE destination = ?",
                            (until, destination))
            self.db.execute("UPDATE outbox SET state = 'held' WHERE destination = ? AND "
                            "state = 'pending' AND alert_id NOT IN (SELECT alert_id FROM alert_rules "
                            "WHERE rule_id LIKE 'notice:%')", (destination,))

    def unmute(self, destination: str, now: float, notice: NoticeFor | None = None, *,
               enqueue_at: float | None = None) -> list[Alert]:
        """End a mute; returns the alerts held meanwhile (now marked 'missed'), oldest first.
        `notice` makes the summary, enqueued in the same transaction (None: no summary)."""
        with self.transaction():
            self.db.execute("UPDATE subscribers SET muted_until = NULL WHERE destination = ?",
                            (destination,))
            rows = self.db.execute("SELECT payload FROM outbox WHERE destination = ? AND state = 'held' "
                                   "ORDER BY created", (destination,)).fetchall()
            self.db.execute("UPDATE outbox SET state = 'missed' WHERE destination = ? AND state = 'held'",
                            (destination,))
            held = [alert_from_json(r[0]) for r in rows]
            summary = notice(destination, held) if notice is not None else None
            if summary is not None:
                self._enqueue(summary, now if enqueue_at is None else enqueue_at)
        return held

    def release_expired_mutes(self, now: float, notice: NoticeFor | None = None, *,
                              enqueue_at: float | None = None) -> list[tuple[str, list[Alert]]]:
        """Mutes that ran out on their own: (destination, held alerts) for each."""
        rows = self.db.execute("SELECT destination FROM subscribers WHERE muted_until IS NOT NULL "
                               "AND muted_until <= ?", (now,)).fetchall()
        return [(r[0], self.unmute(r[0], now, notice, enqueue_at=enqueue_at)) for r in rows]
