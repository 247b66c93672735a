"""The outbox at its edges (issue 9): a Retry-After pauses the whole destination and is
bounded; one destination's failure never touches another; nothing is sent that cannot be
recorded; a digest's accepted parts are never posted again. Clocks are fake: no test waits."""

from __future__ import annotations

import io
import logging
import math
import os
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from policybot.app import App
from policybot.config import DeliverySettings, load_config
from policybot.delivery import Delivery
from policybot.dialect import is_url
from policybot.errors import ConfigError, DeliveryError
from policybot.model import Alert, notice_alert
from policybot.notify.base import Accepted, Notifier, no_record, report_accepted
from policybot.retry_after import MAX_RETRY_AFTER
from policybot.store import Store
from tests.pgserver_fixture import Blocking, unwrapped
from tests.test_delivery import Clock, FakeNotifier, alert

INSTANCE = "test-host:4242:ab12"   # the holder of leases on a shared (PostgreSQL) state

# Every test runs on both backends (the `state` fixture: a SQLite file, a PostgreSQL database)
# except two that are SQLite's by design: a lock another process holds on the file (PostgreSQL
# has no database-wide write lock; its lost server is in test_pg_faults.py) and the state file
# deleted or replaced under the running bot (an inode check; a server has no file here).


class FlakyStore(Store):
    """A real store whose writes can be made to fail, as a full disk or an I/O error would."""

    fail_claims = False
    fail_sent_marks = False

    def claim(self, alert_ids: Sequence[str]) -> None:
        if self.fail_claims:
            raise sqlite3.OperationalError("disk I/O error")
        super().claim(alert_ids)

    def mark(self, alert_ids: Sequence[str], state: str, now: float, **kwargs: Any) -> None:
        if self.fail_sent_marks and state == "sent":
            raise sqlite3.OperationalError("database or disk is full")
        super().mark(alert_ids, state, now, **kwargs)


@dataclass
class PartsNotifier:
    """Posts a digest in parts of `size` alerts, reporting each accepted part; `fail_at` lists
    the post numbers (1-based, over its whole life) that fail with a retryable error."""

    name: str
    size: int = 10
    fail_at: set[int] = field(default_factory=set)
    posts: list[list[str]] = field(default_factory=list)
    tries: int = 0

    async def send(self, alert: Alert) -> None:
        await self.send_digest([alert])

    async def send_digest(self, alerts: Sequence[Alert], accepted: Accepted = no_record) -> None:
        for start in range(0, len(alerts), self.size):
            part = alerts[start:start + self.size]
            self.tries += 1
            if self.tries in self.fail_at:
                raise DeliveryError("HTTP 502", retryable=True)
            self.posts.append([a.item.title for a in part])
            await report_accepted(accepted, [a.alert_id for a in part])

    async def close(self) -> None:
        pass


def make(store: Store, notifiers: dict[str, Any], clock: Clock, **settings: float) -> Delivery:
    """On PostgreSQL (a shared state) as an instance: destinations by lease, faults in its row."""
    return Delivery(unwrapped(store), notifiers.get, lambda d: [], DeliverySettings(**settings),
                    clock=clock, sleep=clock.sleep, holder=INSTANCE)


# ------------------------------------------------------------------ point 2: Retry-After

async def test_a_pause_holds_every_alert_of_the_destination_even_later_ones(state: str | Path) -> None:
    desk = FakeNotifier("desk", fail=[DeliveryError("ratelimited", retryable=True, retry_after=60)])
    store, clock = Blocking(Store(state)), Clock()
    delivery = make(store, {"desk": desk}, clock)
    store.enqueue([alert(1, "desk")], clock.now)
    await delivery.drain()
    clock.now += 30
    store.enqueue([alert(2, "desk")], clock.now)         # queued during the pause
    assert store.due(clock.now) == []
    await delivery.drain()
    assert desk.sent == []
    assert store.next_due() == pytest.approx(clock.now + 30)
    clock.now += 31
    await delivery.drain()
    assert desk.sent == ["Item 1", "Item 2"]


@pytest.mark.parametrize("value", [math.inf, float("1e400"), -3.0, math.nan, 1e12])
async def test_an_absurd_retry_after_is_bounded(state: str | Path, value: float) -> None:
    desk = FakeNotifier("desk", fail=[DeliveryError("429", retryable=True, retry_after=value)])
    store, clock = Blocking(Store(state)), Clock()
    delivery = make(store, {"desk": desk}, clock)
    store.enqueue([alert(1, "desk")], clock.now)
    start = clock.now
    await delivery.drain()
    due = store.next_due()
    assert due is not None and start <= due <= start + MAX_RETRY_AFTER
    blocked = store.destination_states()["desk"]["blocked_until"]
    assert blocked is None or blocked <= start + MAX_RETRY_AFTER
    clock.now = start + MAX_RETRY_AFTER
    await delivery.drain()
    assert desk.sent == ["Item 1"]                       # no row stuck forever


# ------------------------------------------------------------------ point 3: isolation

async def test_one_destinations_failure_never_touches_another(state: str | Path,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    desk = FakeNotifier("desk")

    def notifier_for(dest: str) -> Notifier | None:
        if dest == "buggy":
            raise RuntimeError("boom")
        if dest == "telegram:42":
            raise ConfigError("destination 'telegram:42': needs token (unset: TELEGRAM_BOT_TOKEN)")
        return desk if dest == "desk" else None

    store, clock = Blocking(Store(state)), Clock()
    delivery = Delivery(unwrapped(store), notifier_for, lambda d: [], DeliverySettings(), clock=clock,
                        sleep=clock.sleep)
    store.enqueue([alert(1, "buggy"), alert(2, "telegram:42"), alert(3, "desk"), alert(4, "desk")],
                  clock.now)
    report = await delivery.drain()
    assert desk.sent == ["Item 3", "Item 4"] and report.sent == 2
    counts = store.outbox_counts()
    assert counts[("buggy", "pending")] == 1 and counts[("telegram:42", "failed")] == 1
    states = store.destination_states()
    assert "RuntimeError: boom" in states["buggy"]["last_error"]
    assert "TELEGRAM_BOT_TOKEN" in states["telegram:42"]["last_error"]
    clock.now += MAX_RETRY_AFTER + 1
    await delivery.drain()
    assert desk.sent == ["Item 3", "Item 4"]             # nothing sent twice
    assert sum("crashed" in r.getMessage() for r in caplog.records) == 2   # once per pass, backed off


# ------------------------------------------------------------------ point 4: record or do not send

async def test_unwritable_state_sends_nothing_logs_once_and_resumes(state: str | Path,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    desk = FakeNotifier("desk")
    store, clock = Blocking(FlakyStore(state)), Clock()
    store.heartbeat(INSTANCE, clock.now)   # PostgreSQL: the note goes in the instance's row
    delivery = make(store, {"desk": desk}, clock)
    store.enqueue([alert(1, "desk")], clock.now)
    store.fail_claims = True
    for _ in range(3):
        await delivery.drain()
        clock.now += 10
    assert desk.sent == [] and delivery.fault is not None and "disk I/O" in delivery.fault
    assert sum("delivery stopped" in r.getMessage() for r in caplog.records) == 1
    assert "disk I/O" in (store.noted_fault() or "")
    store.fail_claims = False
    await delivery.drain()
    assert desk.sent == ["Item 1"] and delivery.fault is None and store.noted_fault() is None


async def test_a_send_that_cannot_be_recorded_is_not_repeated(state: str | Path) -> None:
    desk, me = FakeNotifier("desk"), FakeNotifier("me")
    store, clock = Blocking(FlakyStore(state)), Clock()
    delivery = make(store, {"desk": desk, "me": me}, clock)
    store.enqueue([alert(n, d) for n in range(3) for d in ("desk", "me")], clock.now)
    store.fail_sent_marks = True
    for _ in range(3):
        await delivery.drain()
        clock.now += 10
    # the one in flight, then nothing (per destination: they drain side by side, and on a
    # database thread both may be past their claim when the first mark fails)
    assert len(desk.sent) <= 1 and len(me.sent) <= 1 and 1 <= len(desk.sent) + len(me.sent)
    assert delivery.fault is not None and "disk is full" in delivery.fault
    store.fail_sent_marks = False
    await delivery.drain()
    for sent in (desk.sent, me.sent):               # the one sent is never sent again
        assert sorted(sent) == ["Item 0", "Item 1", "Item 2"]
    assert store.outbox_counts() == {("desk", "sent"): 3, ("me", "sent"): 3}


async def test_a_lock_held_by_another_process_stops_delivery(tmp_path: Path) -> None:
    desk = FakeNotifier("desk")
    store, clock = Store(tmp_path / "s.db"), Clock()
    store.db.execute("PRAGMA busy_timeout=50")           # the test need not wait 5 s
    delivery = make(store, {"desk": desk}, clock)
    store.enqueue([alert(1, "desk")], clock.now)
    other = sqlite3.connect(tmp_path / "s.db", isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    await delivery.drain()
    await delivery.drain()
    assert desk.sent == [] and "locked" in (delivery.fault or "")
    other.execute("COMMIT")
    other.close()
    await delivery.drain()
    assert desk.sent == ["Item 1"] and delivery.fault is None


@pytest.mark.parametrize("how", ["deleted", "replaced"])
async def test_a_state_file_deleted_or_replaced_while_running_is_detected(tmp_path: Path, how: str) -> None:
    desk = FakeNotifier("desk")
    path = tmp_path / "s.db"
    store, clock = Store(path), Clock()
    delivery = make(store, {"desk": desk}, clock)
    store.enqueue([alert(1, "desk")], clock.now)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    if how == "replaced":
        sqlite3.connect(path).close()
        os.utime(path)
    await delivery.drain()
    assert desk.sent == []
    assert f"was {how} while running" in (store.problem() or "")
    assert f"was {how} while running" in (delivery.fault or "")


# ------------------------------------------------------------------ point 5: durable digests

async def test_an_accepted_digest_part_is_never_posted_again(state: str | Path) -> None:
    path, clock = state, Clock()
    desk = PartsNotifier("desk", size=10, fail_at={2})
    store = Blocking(Store(path))
    store.enqueue([alert(n, "desk") for n in range(25)], clock.now)
    report = await make(store, {"desk": desk}, clock, digest_after=5).drain()
    assert len(desk.posts) == 1 and len(desk.posts[0]) == 10
    assert (report.sent, report.retried) == (10, 15)
    store.close()
    store = Blocking(Store(path))                         # a restart
    clock.now += 10
    store.enqueue([alert(25, "desk")], clock.now)         # and a new alert joins
    await make(store, {"desk": desk}, clock, digest_after=5).drain()
    posted = [title for post in desk.posts for title in post]
    assert sorted(posted) == sorted(f"Item {n}" for n in range(26))   # each exactly once
    assert store.outbox_counts() == {("desk", "sent"): 26}


# ------------------------------------------------------------------ point 5: mute notices

def notice(dest: str, held: list[Alert]) -> Alert:
    return notice_alert(dest, "mute-ended", f"{len(held)} alerts", datetime(2026, 1, 1, tzinfo=UTC))


def test_a_mute_holds_alerts_already_pending(state: str | Path) -> None:
    store = Blocking(Store(state))
    store.enqueue([alert(1, "telegram:7"), alert(2, "desk")], 100.0)
    store.mute("telegram:7", until=500.0, now=100.0)
    assert [r.alert.destination for r in store.due(200.0)] == ["desk"]
    assert store.outbox_counts()[("telegram:7", "held")] == 1


async def test_a_mute_during_a_failed_send_keeps_the_alert_held(state: str | Path) -> None:
    store, clock = Blocking(Store(state)), Clock()

    @dataclass
    class MutedMeanwhile(FakeNotifier):
        async def send(self, alert: Alert) -> None:
            store.mute("telegram:7", until=clock.now + 3600, now=clock.now)   # while in flight
            raise DeliveryError("HTTP 502", retryable=True)

    delivery = make(store, {"telegram:7": MutedMeanwhile("telegram:7")}, clock)
    store.enqueue([alert(1, "telegram:7")], clock.now)
    await delivery.drain()
    assert store.outbox_counts() == {("telegram:7", "held"): 1}


def test_the_mute_summary_joins_the_outbox_with_the_release(state: str | Path) -> None:
    store = Blocking(Store(state))
    store.mute("telegram:7", until=500.0, now=100.0)
    store.enqueue([alert(1, "telegram:7"), alert(2, "telegram:7")], 200.0)

    def broken(dest: str, held: list[Alert]) -> Alert:
        raise RuntimeError("summary failed")

    with pytest.raises(RuntimeError):
        store.release_expired_mutes(600.0, broken)
    assert store.outbox_counts() == {("telegram:7", "held"): 2}   # all or nothing
    assert store.is_muted("telegram:7", 400.0)
    [(dest, held)] = store.release_expired_mutes(600.0, notice)
    assert dest == "telegram:7" and len(held) == 2
    [row] = store.due(600.0)
    assert row.alert.notice == "2 alerts"
    assert store.outbox_counts()[("telegram:7", "missed")] == 2


async def test_a_notice_is_sent_alone_never_in_a_digest(state: str | Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    desk = FakeNotifier("telegram:7")
    store, clock = Blocking(Store(state)), Clock()
    store.enqueue([alert(n, "telegram:7") for n in range(12)], clock.now)
    store.enqueue([notice("telegram:7", [])], clock.now)
    await make(store, {"telegram:7": desk}, clock, digest_after=5).drain()
    assert desk.sent == ["mute-ended"] and len(desk.digests) == 1 and len(desk.digests[0]) == 12


async def test_a_chat_whose_platform_token_is_unset_fails_alone(tmp_path: Path, state: str | Path) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "r.yaml").write_text("rules: []\n")
    storage = f'{{url: "{state}"}}' if is_url(state) else "{path: state.db}"
    (tmp_path / "config.yaml").write_text(
        f"storage: {storage}\nrules: rules/\nfeeds: []\ndefaults: {{notify: [console]}}\n"
        'telegram: {token: "${TG_TOKEN_UNSET}", allow: any, api_url: "http://127.0.0.1:9"}\n')
    out = io.StringIO()
    app = App(load_config(tmp_path / "config.yaml", env={}), stream=out)
    try:
        store = Blocking(app.store)
        store.enqueue([alert(1, "telegram:42"), alert(2, "console")], Clock().now)
        store.run_sync(lambda: app.store.db.execute("UPDATE outbox SET created = ?, due = 0", (time.time(),)))
        report = await app.deliver()
        assert (report.sent, report.failed) == (1, 1) and "Item 2" in out.getvalue()
        assert "TG_TOKEN_UNSET" in store.last_errors()["telegram:42"]
    finally:
        await app.close()
