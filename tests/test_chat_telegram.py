"""Telegram commands end to end: python-telegram-bot polls the fake Bot API (getUpdates), the
App polls a local feed file, and alerts reach the chat through the outbox."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from policybot.app import App
from policybot.chat import release_mutes, start_chats, stop_chats
from policybot.chat.telegram import TelegramCommandBot
from tests.botproc import wait_until
from tests.fakes.telegram_api import TOKEN
from tests.test_chat_commands import World, make_world

ME = 123456789
STRANGER = 555
OTHER = 777   # allowed too, in tests that need two people


class Bot:
    """A running command bot over `world`, and the chat's side of the conversation."""

    def __init__(self, world: World, fake: Any) -> None:
        self.world = world
        self.fake = fake
        self.chats: list[Any] = []

    async def say(self, chat: int, text: str) -> str:
        """Send `text` from `chat`; return the bot's reply."""
        before = len(self.fake.messages(chat))
        self.fake.push_message(chat, text)
        return "\n".join(await self.next_messages(chat, before + 1))

    async def next_messages(self, chat: int, count: int) -> list[str]:
        messages = await asyncio.to_thread(self.fake.wait_for, chat, count, 60.0)
        assert len(messages) >= count, [m["text"] for m in messages]
        return [m["text"] for m in messages[count - 1:]]


@pytest.fixture
async def bot(tmp_path: Path, telegram_api: Any) -> AsyncIterator[Bot]:
    world = make_world(tmp_path, telegram_url=telegram_api.url, allow=f"[{ME}, {OTHER}]")
    harness = Bot(world, telegram_api)
    harness.chats = await start_chats(world.app)
    assert len(harness.chats) == 1
    yield harness
    await stop_chats(harness.chats)
    await world.app.close()


LONG_POLL = 300.0   # a getUpdates long poll far longer than any stop may take


def alerts_in(bot: Bot, chat: int) -> list[str]:
    """Messages to `chat` that are alerts (not command replies)."""
    return [m["text"] for m in bot.fake.messages(chat) if "Trade notices" in m["text"]]


async def test_start_sets_the_menu_and_answers(bot: Bot) -> None:
    assert [c["command"] for c in bot.fake.commands][:3] == ["start", "help", "rules"]
    reply = await bot.say(ME, "/start")
    assert "/subscribe" in reply and "/watch" in reply
    assert bot.fake.messages(ME)[-1]["params"]["parse_mode"] == "HTML"


async def test_subscribe_then_a_matching_item_reaches_the_chat(bot: Bot) -> None:
    assert "Subscribed to tariffs" in await bot.say(ME, "/subscribe tariffs")
    bot.world.add_item("t1", "US raises tariff on steel")
    bot.world.add_item("n1", "Weather report")
    await bot.world.poll_and_deliver()
    [alert] = alerts_in(bot, ME)
    assert "US raises tariff on steel" in alert and "New tariffs" in alert
    assert alerts_in(bot, OTHER) == []


async def test_two_matching_subscriptions_send_one_message(bot: Bot) -> None:
    await bot.say(ME, "/subscribe rare-earth-export rare-earth-news")
    bot.world.add_item("r1", "China widens export control on dysprosium")
    await bot.world.poll_and_deliver()
    [alert] = alerts_in(bot, ME)
    assert "Rare-earth export controls" in alert and "Anything on rare earths" in alert


async def test_subscribing_does_not_replay_items_seen_before(bot: Bot) -> None:
    bot.world.add_item("t1", "Tariff on steel")
    await bot.world.poll_and_deliver()
    await bot.say(ME, "/subscribe tariffs")
    await bot.world.poll_and_deliver()
    assert alerts_in(bot, ME) == []
    bot.world.add_item("t2", "Tariff on copper")
    await bot.world.poll_and_deliver()
    assert [("copper" in a) for a in alerts_in(bot, ME)] == [True]


async def test_watch_alerts_only_its_chat(bot: Bot) -> None:
    reply = await bot.say(ME, '/watch gallium "export ban"')
    assert "Watching gallium" in reply
    await bot.say(OTHER, "/watch antimony")
    bot.world.add_item("g1", "Gallium export ban takes effect")
    bot.world.add_item("g2", "Gallium prices rise")       # no "export ban": no alert
    await bot.world.poll_and_deliver()
    [alert] = alerts_in(bot, ME)
    assert "Gallium export ban takes effect" in alert
    assert alerts_in(bot, OTHER) == []


async def test_mute_holds_alerts_and_unmute_sums_them_up(bot: Bot) -> None:
    await bot.say(ME, "/subscribe tariffs")
    assert "Muted until" in await bot.say(ME, "/mute 8h")
    bot.world.add_item("t1", "EU tariff: cars & 5 < 6")
    await bot.world.poll_and_deliver()
    assert alerts_in(bot, ME) == []
    assert "summary of what you missed follows" in await bot.say(ME, "/unmute")
    before = len(bot.fake.messages(ME))
    await bot.world.poll_and_deliver()          # the summary travels through the outbox
    [summary] = await bot.next_messages(ME, before + 1)
    assert "While muted, 1 alert matched" in summary and "• tariffs: 1" in summary
    assert "EU tariff: cars & 5 < 6" in summary   # visible text: the title was escaped
    assert alerts_in(bot, ME) == []             # summed up, not replayed
    await bot.world.poll_and_deliver()
    assert len(bot.fake.messages(ME)) == before + 1   # and summed up once


async def test_alerts_pending_when_a_chat_mutes_are_held(bot: Bot) -> None:
    await bot.say(ME, "/subscribe tariffs")
    bot.world.add_item("t1", "Tariff on steel")
    await bot.world.app.poll_all(force=True)    # enqueued, not yet delivered
    assert bot.world.app.store.outbox_counts()[(f"telegram:{ME}", "pending")] == 1
    await bot.say(ME, "/mute 1h")
    await bot.world.poll_and_deliver()
    assert alerts_in(bot, ME) == []
    assert bot.world.app.store.outbox_counts()[(f"telegram:{ME}", "held")] == 1


async def test_an_expired_mute_sends_one_summary(bot: Bot) -> None:
    await bot.say(ME, "/subscribe tariffs")
    await bot.say(ME, "/mute 1h")
    bot.world.add_item("t1", "Tariff on steel")
    bot.world.add_item("t2", "Tariff on copper")
    await bot.world.poll_and_deliver()
    before = len(bot.fake.messages(ME))
    assert await release_mutes(bot.world.app, now=bot.world.app.store.db.execute(
        "SELECT muted_until FROM subscribers").fetchone()[0] + 1) == 1
    [summary] = await bot.next_messages(ME, before + 1)
    assert "Your mute has ended" in summary and "2 alerts matched" in summary
    assert await release_mutes(bot.world.app) == 0


async def test_unsubscribe_stops_alerts(bot: Bot) -> None:
    await bot.say(ME, "/subscribe tariffs")
    assert "Unsubscribed from tariffs" in await bot.say(ME, "/unsubscribe tariffs")
    bot.world.add_item("t1", "Tariff on steel")
    await bot.world.poll_and_deliver()
    assert alerts_in(bot, ME) == []


async def test_a_stranger_is_refused_and_nothing_is_stored(bot: Bot) -> None:
    for command in ("/subscribe tariffs", "/watch gallium", "/mute 8h"):
        reply = await bot.say(STRANGER, command)
        assert f"chat id is {STRANGER}" in reply and "telegram.allow" in reply
    assert "/subscribe" in await bot.say(STRANGER, "/help")
    assert "telegram.allow" in await bot.say(STRANGER, "/start")
    store = bot.world.app.store
    assert store.db.execute("SELECT COUNT(*) FROM subscribers").fetchone()[0] == 0


async def test_unknown_commands_and_bad_arguments_get_help(bot: Bot) -> None:
    assert "These are the commands" in await bot.say(ME, "/frobnicate")
    assert "Did you mean rare-earth-export?" in await bot.say(ME, "/subscribe rare-earth-exprot")
    assert "Usage: /mute <duration>" in await bot.say(ME, "/mute forever")
    assert "/help" in await bot.say(ME, "hello")
    assert "Subscribed" in await bot.say(ME, "/subscribe@policybot_test_bot tariffs")


async def test_subscriptions_survive_a_restart(bot: Bot) -> None:
    await bot.say(ME, "/subscribe tariffs")
    await bot.say(ME, "/watch gallium")
    await stop_chats(bot.chats)
    bot.chats = []
    await bot.world.app.close()
    again = App(bot.world.app.config, stream=bot.world.app.stream)
    again.load_rules()
    bot.world.app = again
    bot.chats = await start_chats(again)
    assert again.store.subscriptions_of(f"telegram:{ME}") == ["tariffs"]
    assert "gallium" in await bot.say(ME, "/list")
    bot.world.add_item("t1", "Tariff on gallium")
    await bot.world.poll_and_deliver()
    [alert] = alerts_in(bot, ME)
    assert "New tariffs" in alert and "gallium" in alert


async def test_the_token_never_reaches_the_logs(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    await bot.say(ME, "/list")
    bot.fake.fail_next(status=500, methods=("getUpdates",))
    await bot.say(ME, "/rules")
    assert TOKEN not in caplog.text


async def test_a_refused_token_leaves_telegram_out(tmp_path: Path, telegram_api: Any,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    telegram_api.token = "999:OTHER"
    world = make_world(tmp_path, telegram_url=telegram_api.url)
    try:
        assert await start_chats(world.app) == []
    finally:
        await world.app.close()
    assert "telegram commands not started" in caplog.text and TOKEN not in caplog.text


async def test_the_bot_stops_quickly_while_a_long_poll_waits(tmp_path: Path, telegram_api: Any) -> None:
    world = make_world(tmp_path, telegram_url=telegram_api.url)
    chat = TelegramCommandBot(world.app, poll_timeout=LONG_POLL)
    await chat.start()
    await asyncio.to_thread(wait_until, lambda: any(
        m == "getUpdates" and float(p.get("timeout") or 0) > 0 for m, p in telegram_api.requests))
    await asyncio.wait_for(chat.stop(), LONG_POLL / 5)   # stop cancels the long poll, never waits it out
    await world.app.close()


async def test_allow_any_lets_every_chat_subscribe(tmp_path: Path, telegram_api: Any) -> None:
    world = make_world(tmp_path, telegram_url=telegram_api.url, allow="any")
    harness = Bot(world, telegram_api)
    harness.chats = await start_chats(world.app)
    try:
        assert "Subscribed" in await harness.say(STRANGER, "/subscribe tariffs")
    finally:
        await stop_chats(harness.chats)
        await world.app.close()


async def test_a_flood_of_ids_gets_one_reply(bot: Bot) -> None:
    before = len(bot.fake.messages(ME))
    flood = await bot.say(ME, "/subscribe " + " ".join(f"made-up-{n}" for n in range(1300)))
    assert flood.startswith("At most 20 rule ids at a time")
    many = await bot.say(ME, "/subscribe tariffs " + " ".join(f"made-up-{n}-" + "x" * 150 for n in range(19)))
    assert "Subscribed to tariffs" in many and "(+14 more)" in many
    await bot.say(ME, "/help")               # every command so far: exactly one reply
    assert len(bot.fake.messages(ME)) == before + 3
