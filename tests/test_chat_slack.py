"""`/policybot ...` over Socket Mode: slack-sdk's aiohttp SocketModeClient against the fake's
apps.connections.open and WebSocket; acks are ephemeral, computed before the ack (Slack wants it within 3 s)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from policybot.chat import release_mutes, start_chats, stop_chats
from tests.fakes.slack_api import APP_TOKEN, TOKEN
from tests.test_chat_commands import World, make_world, many_rules

CHANNEL = "C0123ABCD"


class Channel:
    def __init__(self, world: World, fake: Any) -> None:
        self.world = world
        self.fake = fake

    async def command(self, text: str, channel: str = CHANNEL) -> str:
        """Type `/policybot <text>` in `channel`; return the ephemeral reply (asserting the ack)."""
        envelope_id = self.fake.send_slash_command(text=text, channel_id=channel)
        ack = await self.fake.wait_ack(envelope_id, within=60.0)   # Slack wants 3 s: the reply
        # is computed at once, before the ack (the ack timing is not asserted: it would flake)
        assert ack.payload["response_type"] == "ephemeral"
        return str(ack.payload["text"])


@pytest.fixture
async def slack(tmp_path: Path, slack_api: Any) -> AsyncIterator[Channel]:
    world = make_world(tmp_path, slack_url=slack_api.api_url)
    chats = await start_chats(world.app)
    assert len(chats) == 1
    yield Channel(world, slack_api)
    await stop_chats(chats)
    await world.app.close()


async def test_subscribe_is_acked_ephemeral_and_the_alert_reaches_the_channel(slack: Channel) -> None:
    reply = await slack.command("subscribe tariffs")
    assert "✅ Subscribed to `tariffs`" in reply
    assert slack.world.app.store.subscriptions_of(f"slack:{CHANNEL}") == ["tariffs"]
    slack.world.add_item("t1", "US raises tariff on steel")
    await slack.world.poll_and_deliver()
    [message] = slack.fake.messages(CHANNEL)
    assert "US raises tariff on steel" in message["text"]


async def test_help_list_rules_and_unknown_commands(slack: Channel) -> None:
    assert "`/policybot subscribe &lt;rule-id&gt; ...`" in await slack.command("")
    assert "rare-earth-export" in await slack.command("rules")
    assert "No subscriptions" in await slack.command("list")
    assert "I don't know `/policybot frobnicate`" in await slack.command("frobnicate")
    assert "Did you mean `tariffs`?" in await slack.command("subscribe tarifs")


async def test_mute_and_unmute_in_a_channel(slack: Channel) -> None:
    await slack.command("subscribe tariffs")
    assert "Muted until" in await slack.command("mute 2h")
    slack.world.add_item("t1", "Tariff on *steel*")
    await slack.world.poll_and_deliver()
    assert slack.fake.messages(CHANNEL) == []
    assert "summary of what you missed follows" in await slack.command("unmute")
    await slack.world.poll_and_deliver()       # the summary travels through the outbox
    [summary] = slack.fake.messages(CHANNEL)
    assert "1 alert matched" in summary["text"] and "|Tariff on ∗steel∗>" in summary["text"]


async def test_an_expired_mute_posts_one_summary_to_the_channel(slack: Channel) -> None:
    await slack.command("subscribe tariffs")
    await slack.command("mute 1h")
    slack.world.add_item("t1", "Tariff on steel")
    await slack.world.poll_and_deliver()
    assert await release_mutes(slack.world.app, now=2e10) == 1
    [message] = slack.fake.messages(CHANNEL)
    assert "Your mute has ended" in message["text"] and "1 alert matched" in message["text"]


async def test_a_wrong_app_token_leaves_slack_out(tmp_path: Path, slack_api: Any,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    world = make_world(tmp_path, slack_url=slack_api.api_url, app_token="xapp-1-wrong")
    try:
        assert await start_chats(world.app) == []
    finally:
        await world.app.close()
    assert "slack commands not started" in caplog.text and "invalid_auth" in caplog.text
    assert TOKEN not in caplog.text and APP_TOKEN not in caplog.text


async def test_with_10000_rules_a_command_of_20_ids_is_acked_at_once(tmp_path: Path, slack_api: Any) -> None:
    world = make_world(tmp_path, slack_url=slack_api.api_url)
    (tmp_path / "rules" / "r.yaml").write_text(many_rules(10_000), encoding="utf-8")
    world.app.load_rules()
    chats = await start_chats(world.app)
    try:
        typed = " ".join([f"rule-{n:05d}" for n in range(0, 10_000, 1000)] + [f"nope-{n}" for n in range(10)])
        envelope_id = slack_api.send_slash_command(text=f"subscribe {typed}", channel_id=CHANNEL)
        ack = await slack_api.wait_ack(envelope_id, within=30.0)
        assert ack.payload["text"].count("✅ Subscribed") == 10 and "(+5 more)" in ack.payload["text"]
        assert len(world.app.store.subscriptions_of(f"slack:{CHANNEL}")) == 10
    finally:
        await stop_chats(chats)
        await world.app.close()
