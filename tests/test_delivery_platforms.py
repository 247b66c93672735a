"""The outbox against the Slack and Telegram fakes, through the real client libraries: a 429
pauses the whole destination for a bounded time, whatever Retry-After the platform sends, and
a digest cut short by a failure goes on from the part after the last accepted one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from policybot.config import DeliverySettings
from policybot.delivery import Delivery
from policybot.model import Alert
from policybot.retry_after import MAX_RETRY_AFTER
from policybot.store import Store
from tests.fakes import slack_api as sf
from tests.fakes import telegram_api as tf
from tests.test_delivery import Clock, alert
from tests.test_notify import slack_bot, telegram
from tests.test_render import many_alerts

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


def outbox(tmp_path: Path, dest: str, notifier: Any, **settings: float) -> tuple[Delivery, Store, Clock]:
    store, clock = Store(tmp_path / "s.db"), Clock()
    delivery = Delivery(store, {dest: notifier}.get, lambda d: [], DeliverySettings(**settings),
                        clock=clock, sleep=clock.sleep)
    return delivery, store, clock


async def paused_then_delivered(delivery: Delivery, store: Store, clock: Clock, dest: str) -> float:
    """One alert gets the 429; a second, queued during the pause, waits for it too. Returns
    the pause; asserts that both go once it is over."""
    store.enqueue([alert(1, dest)], clock.now)
    start = clock.now
    assert (await delivery.drain()).retried == 1
    due = store.next_due()
    assert due is not None and start <= due <= start + MAX_RETRY_AFTER
    clock.now += min(due - start, 1.0) / 2
    store.enqueue([alert(2, dest)], clock.now)
    blocked = store.destination_states()[dest]["blocked_until"]
    if blocked is not None and blocked > clock.now:     # a pause, not a row's own backoff:
        assert (await delivery.drain()).sent == 0      # the later alert waits for it too
    clock.now = max(due, clock.now)
    assert (await delivery.drain()).sent == 2
    return due - start


@pytest.mark.parametrize(("header", "pause"), [
    ("120", 120.0), ("inf", MAX_RETRY_AFTER), ("1e400", MAX_RETRY_AFTER), ("-3", 0.0),
    ("nan", None), ("Fri, 31 Dec 9999 23:59:59 GMT", MAX_RETRY_AFTER)])
async def test_slack_429_pauses_the_channel_within_bounds(tmp_path: Path, slack_api: sf.SlackFake,
                                                          header: str, pause: float | None) -> None:
    notifier = slack_bot(slack_api)
    delivery, store, clock = outbox(tmp_path, "trade-bot", notifier)
    slack_api.fail_next(status=429, retry_after=header)
    try:
        waited = await paused_then_delivered(delivery, store, clock, "trade-bot")
    finally:
        await notifier.close()
    if pause is not None:
        assert waited == pytest.approx(pause)
    else:                                       # ignored: the ordinary backoff (0.5-1 s)
        assert 0.5 <= waited <= 1.0
    assert [m["text"].count("Item") for m in slack_api.messages("C0123ABCD")] == [1, 1]


@pytest.mark.parametrize(("retry_after", "most"), [
    (30, 30.0), (float("inf"), MAX_RETRY_AFTER), (-3, 1.0), (float("nan"), 1.0), (1e12, MAX_RETRY_AFTER)])
async def test_telegram_retry_after_pauses_the_chat_within_bounds(
        tmp_path: Path, telegram_api: tf.TelegramFake, retry_after: float, most: float) -> None:
    notifier = telegram(telegram_api)
    delivery, store, clock = outbox(tmp_path, "me", notifier)
    telegram_api.fail_next(status=429, retry_after=retry_after)
    try:
        waited = await paused_then_delivered(delivery, store, clock, "me")
    finally:
        await notifier.close()
    assert 0.0 <= waited <= most
    assert len(telegram_api.texts(tf.CHAT_ID)) == 2


def rekey(alerts: list[Alert], dest: str) -> list[Alert]:
    return [Alert(a.alert_id, dest, a.item, a.matches, a.feed_title) for a in alerts]


async def test_a_slack_digest_cut_short_resumes_after_a_restart(tmp_path: Path,
                                                               slack_api: sf.SlackFake) -> None:
    alerts = rekey(many_alerts(400, title="&" * 140), "trade-bot")   # 3 parts
    notifier = slack_bot(slack_api)
    delivery, store, clock = outbox(tmp_path, "trade-bot", notifier, digest_after=10)
    store.enqueue(alerts[:399], clock.now)
    slack_api.fail_next(delay=0)                 # part 1 is accepted
    slack_api.fail_next(status=500)              # part 2 fails
    report = await delivery.drain()
    assert report.digests == 1 and 0 < report.sent < 399
    first = report.sent
    store.close()
    store = Store(tmp_path / "s.db")             # a restart; then a new alert joins
    delivery = Delivery(store, {"trade-bot": notifier}.get, lambda d: [],
                        DeliverySettings(digest_after=10), clock=clock, sleep=clock.sleep)
    store.enqueue(alerts[399:], clock.now)
    clock.now += 60
    await delivery.drain()
    await notifier.close()
    texts = [m["text"] for m in slack_api.messages("C0123ABCD")]
    assert texts[0] == "399 policy alerts (1/3)"
    assert texts[1:] and all(t.startswith(f"{400 - first} policy alerts") for t in texts[1:])
    assert store.outbox_counts() == {("trade-bot", "sent"): 400}
