"""Who may change a shared room's subscriptions (issue 10, point 6): Telegram group admins
(getChatMember on the fake Bot API, cached), `telegram.admins`, anonymous admins; Slack's
`slack.allow` channels and `slack.admins` users. Everyone may still read."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from policybot.chat import start_chats, stop_chats
from policybot.chat.telegram import ADMIN_CACHE_MAX, ADMIN_TTL, AdminCache, TelegramCommandBot
from policybot.config import load_config
from policybot.errors import ConfigError
from tests.test_chat_commands import World, make_world
from tests.test_chat_telegram import Bot

GROUP = -1001234567890      # a supergroup
MEMBER = 555
ADMIN = 42
OPERATOR = 4242             # named in telegram.admins
CHANGES = ("/subscribe tariffs", "/unsubscribe all", "/watch gallium", "/unwatch 1", "/mute 1h",
           "/unmute")


class Group(Bot):
    async def say_as(self, user: int | None, text: str, *, anonymous: bool = False) -> str:
        before = len(self.fake.messages(GROUP))
        self.fake.push_message(GROUP, text, from_id=user, anonymous=anonymous)
        return "\n".join(await self.next_messages(GROUP, before + 1))


def stored(world: World) -> tuple[int, int, int]:
    db = world.app.store.db
    return tuple(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]   # type: ignore[return-value]
                 for table in ("subscriptions", "watches", "subscribers"))


@pytest.fixture
async def group(tmp_path: Path, telegram_api: Any) -> AsyncIterator[Group]:
    world = make_world(tmp_path, telegram_url=telegram_api.url, allow=f"[{GROUP}]",
                       telegram_extra=f"admins: [{OPERATOR}]")
    telegram_api.add_chat(GROUP)
    telegram_api.set_member(GROUP, ADMIN, "administrator")
    harness = Group(world, telegram_api)
    harness.chats = await start_chats(world.app)
    yield harness
    await stop_chats(harness.chats)
    await world.app.close()


async def test_a_group_member_may_read_but_not_change(group: Group) -> None:
    assert "Subscribed" in await group.say_as(ADMIN, "/subscribe rare-earth-news")
    before = stored(group.world)
    for command in CHANGES:
        reply = await group.say_as(MEMBER, command)
        assert "Only this group's administrators" in reply, command
        assert "telegram.admins" in reply and "/list" in reply
    assert stored(group.world) == before
    assert "rare-earth-news" in await group.say_as(MEMBER, "/list")
    assert "tariffs" in await group.say_as(MEMBER, "/rules")
    assert "/subscribe" in await group.say_as(MEMBER, "/help")
    assert "/watch" in await group.say_as(MEMBER, "/start")


async def test_admins_creators_operators_and_anonymous_admins_may_change(group: Group) -> None:
    group.fake.set_member(GROUP, 7, "creator")
    assert "Subscribed to tariffs" in await group.say_as(ADMIN, "/subscribe tariffs")
    assert "Subscribed to rare-earth-news" in await group.say_as(7, "/subscribe rare-earth-news")
    assert "Watching gallium" in await group.say_as(OPERATOR, "/watch gallium")
    assert "Muted until" in await group.say_as(None, "/mute 1h", anonymous=True)
    asked = {int(p["user_id"]) for p in group.fake.calls("getChatMember")}
    assert asked == {ADMIN, 7}                  # the operator and the anonymous admin: no call
    assert "Removed all 3" in await group.say_as(ADMIN, "/unsubscribe all")
    assert stored(group.world)[:2] == (0, 0)


async def test_the_answer_is_cached(group: Group) -> None:
    for _ in range(3):
        await group.say_as(MEMBER, "/mute 1h")
    assert len(group.fake.calls("getChatMember")) == 1


async def test_a_failed_check_refuses_and_is_asked_again(group: Group) -> None:
    group.fake.fail_next(status=500, methods=("getChatMember",))
    assert "Only this group's administrators" in await group.say_as(ADMIN, "/subscribe tariffs")
    assert "Subscribed" in await group.say_as(ADMIN, "/subscribe tariffs")
    assert len(group.fake.calls("getChatMember")) == 2


async def test_a_group_that_is_not_allowed_is_refused_for_admins_too(tmp_path: Path,
                                                                   telegram_api: Any) -> None:
    world = make_world(tmp_path, telegram_url=telegram_api.url, allow="[1]")
    telegram_api.set_member(GROUP, ADMIN, "administrator")
    harness = Group(world, telegram_api)
    harness.chats = await start_chats(world.app)
    try:
        assert f"chat id is {GROUP}" in await harness.say_as(ADMIN, "/subscribe tariffs")
        assert "No subscriptions" in await harness.say_as(ADMIN, "/list")
        assert stored(world) == (0, 0, 0)
    finally:
        await stop_chats(harness.chats)
        await world.app.close()


def test_admin_cache_expires_and_is_bounded() -> None:
    now = [0.0]
    cache = AdminCache(clock=lambda: now[0])
    cache.put((GROUP, ADMIN), True)
    assert cache.get((GROUP, ADMIN)) is True
    now[0] = ADMIN_TTL + 0.1
    assert cache.get((GROUP, ADMIN)) is None
    for user in range(ADMIN_CACHE_MAX + 10):
        cache.put((GROUP, user), False)
    assert len(cache._answers) == ADMIN_CACHE_MAX
    assert cache.get((GROUP, 0)) is None and cache.get((GROUP, ADMIN_CACHE_MAX + 9)) is False


async def test_the_bot_asks_again_after_the_ttl(tmp_path: Path, telegram_api: Any) -> None:
    now = [0.0]
    world = make_world(tmp_path, telegram_url=telegram_api.url, allow=f"[{GROUP}]")
    chat = TelegramCommandBot(world.app, admins=AdminCache(clock=lambda: now[0]))
    harness = Group(world, telegram_api)
    await chat.start()
    try:
        await harness.say_as(MEMBER, "/mute 1h")
        telegram_api.set_member(GROUP, MEMBER, "administrator")   # promoted
        assert "Only" in await harness.say_as(MEMBER, "/mute 1h")  # the cached answer holds
        now[0] = ADMIN_TTL + 1
        assert "Muted until" in await harness.say_as(MEMBER, "/mute 1h")
    finally:
        await chat.stop()
        await world.app.close()
    assert len(telegram_api.calls("getChatMember")) == 2


# ---------------------------------------------------------------- Slack

async def slash(fake: Any, text: str, channel: str = "C0123ABCD", user: str = "U0USER") -> str:
    envelope_id = fake.send_slash_command(text=text, channel_id=channel, user_id=user)
    ack = await fake.wait_ack(envelope_id, within=10.0)
    return str(ack.payload["text"])


async def slack_world(tmp_path: Path, slack_api: Any, extra: str) -> tuple[World, list[Any]]:
    world = make_world(tmp_path, slack_url=slack_api.api_url, slack_extra=extra)
    return world, await start_chats(world.app)


async def test_slack_channels_outside_allow_may_read_only(tmp_path: Path, slack_api: Any) -> None:
    world, chats = await slack_world(tmp_path, slack_api, "allow: [C0123ABCD]")
    try:
        reply = await slash(slack_api, "subscribe tariffs", channel="C0TESTCHAN")
        assert "`C0TESTCHAN`" in reply and "`slack.allow`" in reply
        assert "No subscriptions" in await slash(slack_api, "list", channel="C0TESTCHAN")
        assert "tariffs" in await slash(slack_api, "rules", channel="C0TESTCHAN")
        assert "Subscribed" in await slash(slack_api, "subscribe tariffs")   # an allowed channel
        assert [d for d, _ in world.app.store.subscribers()] == ["slack:C0123ABCD"]
    finally:
        await stop_chats(chats)
        await world.app.close()


async def test_slack_without_allow_changes_nothing(tmp_path: Path, slack_api: Any) -> None:
    world, chats = await slack_world(tmp_path, slack_api, "")
    try:
        assert world.app.config.slack is not None and world.app.config.slack.allow == ()
        assert "`slack.allow`" in await slash(slack_api, "mute 1h")
        assert world.app.store.subscribers() == []
    finally:
        await stop_chats(chats)
        await world.app.close()


async def test_slack_admins_alone_may_change(tmp_path: Path, slack_api: Any) -> None:
    world, chats = await slack_world(tmp_path, slack_api, "allow: any, admins: [U0ADMIN, W0BOSS]")
    try:
        for command in ("subscribe tariffs", "unsubscribe all", "watch gallium", "mute 1h", "unmute"):
            reply = await slash(slack_api, command, channel="C0TESTCHAN")
            assert "Only <@U0ADMIN>, <@W0BOSS> may change" in reply, command
        assert world.app.store.subscribers() == []
        assert "Subscribed" in await slash(slack_api, "subscribe tariffs", user="U0ADMIN")
        assert "tariffs" in await slash(slack_api, "list")
    finally:
        await stop_chats(chats)
        await world.app.close()


# ---------------------------------------------------------------- config

def test_chat_access_settings_are_read_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text('telegram: {token: t, allow: [-100123], admins: [42, "43"]}\n'
                    "slack: {app_token: a, bot_token: b, allow: any, admins: [U0ADMIN]}\n")
    config = load_config(path, env={})
    assert config.telegram is not None and config.telegram.admins == ("42", "43")
    assert config.slack is not None and (config.slack.allow, config.slack.admins) == (None, ("U0ADMIN",))
    path.write_text("telegram: {token: t}\nslack: {app_token: a, bot_token: b}\n")
    config = load_config(path, env={})
    assert config.telegram is not None and config.telegram.admins == ()
    assert config.slack is not None and (config.slack.allow, config.slack.admins) == ((), ())
    path.write_text("telegram:\n  token: t\n  admins: [alice]\n"
                    "slack:\n  app_token: a\n  bot_token: b\n  allow: [general]\n  admins: any\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert info.value.errors == [
        f"{path}:3: telegram: 'admins' must be a list of user ids such as 123456789",
        f"{path}:7: slack: 'allow' must be a list of channel ids such as C0123ABCD or \"any\"",
        f"{path}:8: slack: 'admins' must be a list of user ids such as U0123ABCD",
    ]
