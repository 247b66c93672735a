"""A story whose first report went inside a digest (issue 12, point 3): the digest part that
showed it is its first message. Its later reports reply under that part (Slack thread_ts = the
part's ts; Telegram a silent reply to the part's message_id); the digest is never edited
(no chat.update, no editMessageText: it shows other stories too); a Slack webhook folds them.
The outbox against the Slack and Telegram fakes, on both backends (the `state` fixture).
`bot.py once` runs it in test_digest_refs_e2e.py."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from policybot.model import Alert, Item, Match
from policybot.notify.base import Notifier
from policybot.notify.slack import SlackBotNotifier, SlackWebhookNotifier
from policybot.notify.telegram import TelegramNotifier
from policybot.store import Store
from policybot.stories.storage import StoryRecord
from tests.fakes import slack_api as sf
from tests.fakes import telegram_api as tf
from tests.pgserver_fixture import Blocking, unwrapped
from tests.test_delivery import Clock
from tests.test_delivery_faults import make

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
CHANNEL = "C0123ABCD"
DESTS = ("bot", "hook", "me")


def report(n: int, story: int, dest: str, source: str, *, later: bool = False,
           long: bool = False) -> Alert:
    """Report `n` of story `story` for `dest`; `long` titles fill a digest part quickly."""
    title = f"Story {story}: " + ("gallium export licence rules tightened " * 5 if long else source)
    item = Item(source, f"i{n}", title, f"https://x.example/{n}", "", "", NOW)
    return Alert(f"{dest}-{n}", dest, item, (Match("minerals", "Critical minerals", "high", ()),),
                 feed_title=source, story=f"s{story}", later=later)


def record(store: Blocking, alerts: Sequence[Alert], now: float) -> None:
    """As a poll would: the stories' first and later reports, and their alerts enqueued."""
    firsts = [(a.destination, a.story, a.alert_id) for a in alerts if not a.later]
    laters = [(a.alert_id, a.destination, a.story, a.feed_title) for a in alerts if a.later]

    def write(s: Store) -> None:
        with s.transaction():
            s.record_stories(StoryRecord(firsts=firsts, laters=laters), now)
        s.enqueue(alerts, now)
    store.run_sync(write, unwrapped(store))


def notifiers(slack_api: Any, telegram_api: Any) -> dict[str, Notifier]:
    return {"bot": SlackBotNotifier("bot", sf.TOKEN, CHANNEL, api_url=slack_api.api_url,
                                    clock=lambda: NOW),
            "hook": SlackWebhookNotifier("hook", slack_api.webhook_url("alerts"), clock=lambda: NOW),
            "me": TelegramNotifier("me", tf.TOKEN, tf.CHAT_ID, api_url=telegram_api.url,
                                   clock=lambda: NOW)}


def flood(stories: range, dest: str, *, long: bool = False) -> list[Alert]:
    return [report(s, s, dest, "Reuters", long=long) for s in stories]


def later(n: int, story: int) -> list[Alert]:
    return [report(n, story, d, "财新", later=True) for d in DESTS]


async def test_a_later_report_replies_under_the_digest_that_showed_its_story(
        state: str | Path, slack_api: Any, telegram_api: Any) -> None:
    store, clock, found = Blocking(Store(state)), Clock(), notifiers(slack_api, telegram_api)
    record(store, [a for d in DESTS for a in flood(range(3), d)], clock.now)
    delivery = make(store, found, clock, digest_after=2)
    try:
        await _later_reports_reply_under_the_digest(store, clock, delivery, slack_api, telegram_api)
    finally:
        for notifier in found.values():
            await notifier.close()
        store.close()


async def _later_reports_reply_under_the_digest(store: Blocking, clock: Clock, delivery: Any,
                                                slack_api: Any, telegram_api: Any) -> None:
    assert (await delivery.drain()).digests == 3
    (digest,) = slack_api.messages(CHANNEL)
    (tg_digest,) = telegram_api.messages(tf.CHAT_ID)
    assert digest["text"] == "3 policy alerts" and tg_digest["text"].startswith("3 policy alerts")
    assert store.story_first("bot", "s1") == ("bot-1", digest["ts"], "sent", True)
    assert store.story_first("me", "s1") == ("me-1", "1", "sent", True)
    assert store.story_first("hook", "s1") == ("hook-1", None, "sent", False)   # no id to keep

    for n in (100, 101):                               # two later reports of story 1, two passes
        clock.now += 60
        record(store, later(n, 1), clock.now)
        assert (await delivery.drain()).sent == 2      # the bot and Telegram; the hook folds
    replies = slack_api.replies(CHANNEL, digest["ts"])
    assert len(replies) == 2 and all("Story 1: 财新" in r["text"] for r in replies)
    assert len(slack_api.messages(CHANNEL)) == 3 and slack_api.updated(CHANNEL) == []
    tg = telegram_api.messages(tf.CHAT_ID)
    assert [(m["reply_to"], m["silent"]) for m in tg] == [(None, False), (1, True), (1, True)]
    assert telegram_api.edits(tf.CHAT_ID) == []        # the digest is never rewritten
    assert tg[0]["text"] == tg_digest["text"] and slack_api.messages(CHANNEL)[0] == digest
    assert len(slack_api.messages("webhook:alerts")) == 1
    counts = store.outbox_counts()
    assert (counts[("hook", "sent")], counts[("hook", "folded")]) == (3, 2)
    assert (counts[("bot", "sent")], counts[("me", "sent")]) == (5, 5)


def part_showing(messages: list[dict[str, Any]], story: int) -> dict[str, Any]:
    """The one message (a digest part) whose text shows story `story`'s line."""
    (part,) = [m for m in messages if f"Story {story}: " in str(m.get("blocks") or m["text"])]
    return part


async def test_each_story_threads_under_the_part_that_showed_it_even_after_a_failed_part(
        state: str | Path, slack_api: Any, telegram_api: Any) -> None:
    store, clock, found = Blocking(Store(state)), Clock(), notifiers(slack_api, telegram_api)
    slack_flood = [replace(a, item=replace(a.item, title=f"Story {s}: " + "&" * 140))
                   for s, a in enumerate(flood(range(400), "bot"))]   # 5x longer once escaped
    record(store, flood(range(60), "me", long=True) + slack_flood, clock.now)
    telegram_api.fail_next(delay=0)                    # part 1 goes through,
    telegram_api.fail_next(status=500)                 # part 2 fails: retried as a new digest
    delivery = make(store, found, clock, digest_after=2)
    try:
        await delivery.drain()
        (part1,) = telegram_api.messages(tf.CHAT_ID)
        shown = [s for s in range(60) if f"Story {s}: " in part1["text"]]
        assert 0 < len(shown) < 60
        assert store.story_first("me", f"s{shown[-1]}") == (f"me-{shown[-1]}", "1", "sent", True)
        unshown = next(s for s in range(60) if s not in shown)
        assert store.story_first("me", f"s{unshown}")[1:] == (None, "pending", False)
        clock.now += 3600
        await delivery.drain_until_idle(0)
        parts, slack_parts = telegram_api.messages(tf.CHAT_ID), slack_api.messages(CHANNEL)
        assert len(parts) >= 3 and len(slack_parts) >= 2   # the digests came in several parts

        tg_stories, slack_stories = (shown[0], unshown, 59), (0, 399)   # in different parts
        for n, story in enumerate(tg_stories):
            record(store, [report(1000 + n, story, "me", "财新", later=True)], clock.now)
        for n, story in enumerate(slack_stories):
            record(store, [report(1000 + n, story, "bot", "财新", later=True)], clock.now)
        await delivery.drain()
        for story, reply in zip(tg_stories, telegram_api.messages(tf.CHAT_ID)[len(parts):],
                                strict=True):
            number = parts.index(part_showing(parts, story)) + 1   # a chat's messages count from 1
            assert f"Story {story}: 财新" in reply["text"]
            assert reply["reply_to"] == number and reply["silent"]
        threads = [slack_api.replies(CHANNEL, part_showing(slack_parts, s)["ts"]) for s in slack_stories]
        assert threads[0] != threads[1]
        for story, thread in zip(slack_stories, threads, strict=True):
            assert [f"Story {story}: 财新" in m["text"] for m in thread] == [True]
        assert slack_api.updated(CHANNEL) == [] and telegram_api.edits(tf.CHAT_ID) == []
    finally:
        for notifier in found.values():
            await notifier.close()
        store.close()
