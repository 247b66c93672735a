"""The outbox drain: one retry policy, digests, pauses on Retry-After, visible give-ups.

A FakeNotifier implements the Notifier protocol in-process (the platform fakes are exercised
in test_notify.py and test_e2e.py); here the subject is the outbox's policy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from policybot.config import DeliverySettings
from policybot.delivery import Delivery, RateLimiter
from policybot.errors import DeliveryError
from policybot.model import Alert, Hit, Item, Match, alert_key
from policybot.notify.base import Accepted, no_record
from policybot.store import Store
from tests.pgserver_fixture import Blocking


@dataclass
class FakeNotifier:
    name: str
    fail: list[Exception] = field(default_factory=list)   # raised by the next sends, in order
    sent: list[str] = field(default_factory=list)
    digests: list[list[str]] = field(default_factory=list)

    async def send(self, alert: Alert) -> None:
        if self.fail:
            raise self.fail.pop(0)
        self.sent.append(alert.item.title)

    async def send_digest(self, alerts: Sequence[Alert], accepted: Accepted = no_record) -> None:
        if self.fail:
            raise self.fail.pop(0)
        self.digests.append([a.item.title for a in alerts])

    async def close(self) -> None:
        pass


class Clock:
    """A fake clock; `sleep` advances it instead of waiting."""

    def __init__(self) -> None:
        self.now = 1_000_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def alert(n: int, dest: str) -> Alert:
    item = Item("f", f"i{n}", f"Item {n}", None, "", "", datetime(2026, 1, 1, tzinfo=UTC))
    match = Match("r", "Rule", "normal", (Hit("x", None, "title", 0, 1),))
    return Alert(alert_key(item, dest), dest, item, (match,))


def setup(state: str | Path, notifiers: dict[str, FakeNotifier], **settings: float) -> tuple[Delivery, Store, Clock]:
    """The store returned is the test's view (Blocking): the delivery gets the store itself."""
    real = Store(state)
    clock = Clock()
    delivery = Delivery(real, notifiers.get, lambda d: [], DeliverySettings(**settings),  # type: ignore[arg-type]
                        clock=clock, sleep=clock.sleep)
    return delivery, Blocking(real), clock  # type: ignore[return-value]


async def test_sends_each_alert_once(state: str | Path) -> None:
    desk = FakeNotifier("desk")
    delivery, store, clock = setup(state, {"desk": desk})
    store.enqueue([alert(1, "desk"), alert(2, "desk")], clock.now)
    report = await delivery.drain()
    assert (report.sent, desk.sent) == (2, ["Item 1", "Item 2"])
    assert (await delivery.drain()).sent == 0
    assert desk.sent == ["Item 1", "Item 2"]


async def test_retry_after_pauses_only_that_destination(state: str | Path) -> None:
    desk, me = FakeNotifier("desk"), FakeNotifier("me")
    desk.fail = [DeliveryError("ratelimited", retryable=True, retry_after=30)]
    delivery, store, clock = setup(state, {"desk": desk, "me": me})
    store.enqueue([alert(1, "desk"), alert(2, "desk"), alert(3, "me")], clock.now)
    report = await delivery.drain()
    assert me.sent == ["Item 3"] and desk.sent == []
    assert report.retried == 1
    clock.now += 29
    await delivery.drain()
    assert desk.sent == []          # still paused: Item 2 was not tried either
    clock.now += 2
    await delivery.drain()
    assert desk.sent == ["Item 1", "Item 2"]
    assert store.destination_states()["desk"]["last_error"] == "ratelimited"


async def test_transient_errors_back_off_exponentially(state: str | Path) -> None:
    desk = FakeNotifier("desk", fail=[DeliveryError("HTTP 502", retryable=True)] * 3)
    delivery, store, clock = setup(state, {"desk": desk})
    store.enqueue([alert(1, "desk")], clock.now)
    delays = []
    for _ in range(3):
        await delivery.drain()
        due = store.next_due()
        assert due is not None
        delays.append(due - clock.now)
        clock.now = due
    await delivery.drain()
    assert desk.sent == ["Item 1"]
    assert 0.5 <= delays[0] <= 1 and 1 <= delays[1] <= 2 and 2 <= delays[2] <= 4


async def test_permanent_error_is_recorded_not_retried(state: str | Path, caplog: pytest.LogCaptureFixture) -> None:
    desk = FakeNotifier("desk", fail=[DeliveryError("channel_not_found", retryable=False)] * 2)
    delivery, store, clock = setup(state, {"desk": desk})
    store.enqueue([alert(1, "desk"), alert(2, "desk")], clock.now)
    report = await delivery.drain()
    assert report.failed == 2
    assert store.outbox_counts() == {("desk", "failed"): 2}
    assert store.last_errors() == {"desk": "channel_not_found"}
    assert store.next_due() is None
    logged = [r for r in caplog.records if "channel_not_found" in r.getMessage()]
    assert len(logged) == 1          # logged once, not once per alert


async def test_a_flood_becomes_one_digest(state: str | Path) -> None:
    desk = FakeNotifier("desk")
    delivery, store, clock = setup(state, {"desk": desk}, digest_after=10)
    store.enqueue([alert(n, "desk") for n in range(25)], clock.now)
    report = await delivery.drain()
    assert desk.sent == [] and len(desk.digests) == 1 and len(desk.digests[0]) == 25
    assert (report.sent, report.digests) == (25, 1)


async def test_ten_or_fewer_go_one_by_one(state: str | Path) -> None:
    desk = FakeNotifier("desk")
    delivery, store, clock = setup(state, {"desk": desk}, digest_after=10)
    store.enqueue([alert(n, "desk") for n in range(10)], clock.now)
    await delivery.drain()
    assert len(desk.sent) == 10 and desk.digests == []


async def test_old_alerts_are_given_up_visibly(state: str | Path, caplog: pytest.LogCaptureFixture) -> None:
    desk = FakeNotifier("desk", fail=[DeliveryError("HTTP 503", retryable=True)])
    delivery, store, clock = setup(state, {"desk": desk}, max_age=3600)
    store.enqueue([alert(1, "desk")], clock.now)
    await delivery.drain()
    clock.now += 3601
    report = await delivery.drain()
    assert report.expired == 1 and desk.sent == []
    assert store.outbox_counts() == {("desk", "expired"): 1}
    assert any("gave up" in r.getMessage() for r in caplog.records)


async def test_unconfigured_destination_fails_visibly(state: str | Path) -> None:
    delivery, store, clock = setup(state, {})
    store.enqueue([alert(1, "gone")], clock.now)
    assert (await delivery.drain()).failed == 1
    assert "not configured" in store.last_errors()["gone"]


async def test_a_notifier_bug_keeps_the_alert(state: str | Path) -> None:
    desk = FakeNotifier("desk", fail=[RuntimeError("boom")])
    delivery, store, clock = setup(state, {"desk": desk})
    store.enqueue([alert(1, "desk")], clock.now)
    await delivery.drain()
    assert store.outbox_counts() == {("desk", "pending"): 1}


async def test_once_waits_for_a_short_retry_after(state: str | Path) -> None:
    desk = FakeNotifier("desk", fail=[DeliveryError("429", retryable=True, retry_after=0.2)])
    delivery, store, clock = setup(state, {"desk": desk})
    store.enqueue([alert(1, "desk")], clock.now)
    report = await delivery.drain_until_idle(wait_bound=5)
    assert desk.sent == ["Item 1"] and report.sent == 1
    assert clock.slept == [pytest.approx(0.2)]


async def test_once_leaves_a_long_retry_after_for_later(state: str | Path) -> None:
    desk = FakeNotifier("desk", fail=[DeliveryError("429", retryable=True, retry_after=600)])
    delivery, store, clock = setup(state, {"desk": desk})
    store.enqueue([alert(1, "desk")], clock.now)
    await delivery.drain_until_idle(wait_bound=5)
    assert clock.slept == []                      # did not wait for it
    assert store.outbox_counts() == {("desk", "pending"): 1}


def test_rate_limiter_spaces_messages() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=2.0, clock=clock)
    waits = [limiter.delay() for _ in range(4)]
    assert waits == [0.0, 0.5, 1.0, 1.5]
    clock.now += 10                               # a quiet spell refills the bucket (to `burst`)
    assert limiter.delay() == 0.0 and limiter.delay() == 0.5


async def test_rate_limiter_sleeps_through_the_injected_sleep() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=1.0, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        await limiter.acquire()
    assert clock.slept == [1.0, 1.0]
