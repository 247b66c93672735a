"""Several instances on one PostgreSQL state, each job once: a lease is a row naming the job
('feed:ID', 'destination:ID', 'telegram'), its holder (an instance id) and when it expires.

Taking a lease is one statement: the row is written when nobody holds it, when this instance
holds it already (a renewal), or when the holder let it expire (it died, or stopped renewing).
A killed instance's jobs are taken over once its leases expire. Instances note a heartbeat
for `status`. On SQLite (one bot per file, statelock.py) the store is not shared and none of
this is consulted.
"""

from __future__ import annotations

import os
import secrets
import socket
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

DESTINATION_LEASE_SECONDS = 30.0   # a dead instance's destinations are drained by another after this
LEADER_LEASE_SECONDS = 30.0        # ... and its Telegram poller taken over after this
LEADER_RENEW_SECONDS = 10.0        # the Telegram poller renews its lease this often
FEED_LEASE_FACTOR = 0.9            # a poll done holds its feed for this share of its interval
POLL_LEASE_SECONDS = 40.0          # a poll under way holds its feed this long: past the fetch's
                                   # 30 s total timeout (its poller may die meanwhile)
SURVIVORS_DELIVER_WITHIN = 60.0    # the promise: after a kill -9, every alert is delivered by the
                                   # survivors within this (the leases above expire well before)
HEARTBEAT_SECONDS = 10.0           # how often an instance says it is alive

_TAKE = ("INSERT INTO leases(name, holder, expires) VALUES (?1, ?2, ?3) ON CONFLICT(name) DO "
         "UPDATE SET holder = excluded.holder, expires = excluded.expires "
         "WHERE leases.holder = excluded.holder OR leases.expires <= ?4")


def new_instance_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(2)}"


@dataclass(frozen=True, slots=True)
class Instance:
    id: str
    host: str
    pid: int
    started: float
    heartbeat: float
    fault: str | None = None          # why its delivery last stopped (stamped), if it did
    fault_over: float | None = None   # when delivery resumed; None while stopped


class LeasesMixin:
    db: Any
    url: str | None
    _fault_note: str | None = None   # this instance's delivery fault, until its end is written

    @property
    def shared(self) -> bool:
        """Several instances may use this state (PostgreSQL): jobs go by lease."""
        return self.url is not None

    def take_lease(self, name: str, holder: str, now: float, seconds: float) -> bool:
        """Hold `name` until now + seconds; False when another live instance holds it."""
        cursor = self.db.execute(_TAKE, (name, holder, now + seconds, now))
        return bool(cursor.rowcount)

    def lease_expires(self, name: str) -> float | None:
        row = self.db.execute("SELECT expires FROM leases WHERE name = ?", (name,)).fetchone()
        return None if row is None else float(row[0])

    def release_leases(self, holder: str) -> None:
        """On a clean stop: the others take over at once, not after the expiry."""
        self.db.execute("DELETE FROM leases WHERE holder = ?", (holder,))

    def leases(self, now: float) -> dict[str, str]:
        """Live leases: name -> holder."""
        rows = self.db.execute("SELECT name, holder FROM leases WHERE expires > ? ORDER BY name", (now,))
        return {r[0]: r[1] for r in rows}

    def heartbeat(self, instance: str, now: float) -> None:
        host, pid, _ = instance.rsplit(":", 2)
        self.db.execute("INSERT INTO instances(id, host, pid, started, heartbeat) VALUES (?,?,?,?,?) "
                        "ON CONFLICT(id) DO UPDATE SET heartbeat = excluded.heartbeat",
                        (instance, host, int(pid), now, now))

    def forget_instance(self, instance: str) -> None:
        self.db.execute("DELETE FROM instances WHERE id = ?", (instance,))

    def instances(self) -> list[Instance]:
        rows = self.db.execute("SELECT id, host, pid, started, heartbeat, fault, fault_over "
                               "FROM instances ORDER BY heartbeat DESC")
        return [Instance(*r) for r in rows]

    def note_shared_fault(self, message: str | None, instance: str, now: float) -> None:
        """Delivery stopped (`message`) or resumed (None): the instance's row says so, for
        `status` in another process. Best effort: the database that failed refuses it too, so
        the note is written with its end once the database takes writes again."""
        if message is not None:
            self._fault_note = f"{datetime.fromtimestamp(now, UTC):%Y-%m-%d %H:%M:%S UTC} {message}"
        elif self._fault_note is None:
            return
        try:
            self.note_instance_fault(instance, self._fault_note, None if message else now)
        except sqlite3.Error:
            return
        if message is None:
            self._fault_note = None

    def note_instance_fault(self, instance: str, fault: str, over: float | None) -> None:
        """The instance's last delivery fault, in the row its heartbeat keeps (`once` keeps
        none: its exit status says it)."""
        self.db.execute("UPDATE instances SET fault = ?, fault_over = ? WHERE id = ?",
                        (fault, over, instance))

    def instance_faults(self) -> list[str]:
        """`INSTANCE: note` for each instance whose delivery is stopped (as it last recorded)."""
        rows = self.db.execute("SELECT id, fault FROM instances WHERE fault IS NOT NULL AND "
                               "fault_over IS NULL ORDER BY id")
        return [f"instance {r[0]}: {r[1]}" for r in rows]
