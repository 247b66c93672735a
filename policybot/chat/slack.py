"""The Slack slash command `/policybot ...` over Socket Mode (no public URL needed).

slack-sdk's aiohttp SocketModeClient asks `apps.connections.open` (app-level xapp- token) for
a WebSocket URL and receives `slash_commands` envelopes on it. Each command is a few SQLite
operations, so the reply is computed at once and sent as the ack's ephemeral payload, well
inside Slack's 3 seconds. The subscription belongs to the channel: `slack:<channel_id>`.

Anyone may read (`help`, `rules`, `list`) anywhere. Changing a channel's subscriptions, watches
or mute needs the channel in `slack.allow` (none by default, as `telegram.allow`: the app
being invited to a channel is no decision of the bot's operator; `allow: any` opens every
channel) and, when `slack.admins` is set, a user listed there; without it, any member of an
allowed channel may change things (the operator chose the channel, and with it its members).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from policybot.apiurl import slack_api_url
from policybot.chat.commands import CHANGE_COMMANDS, SLACK, Commands, fit_reply, parse_command
from policybot.config import SlackChat

if TYPE_CHECKING:
    from policybot.app import App

log = logging.getLogger(__name__)
REPLY_LIMIT = 3000      # characters of an ephemeral reply
Hook = Callable[[], Awaitable[object]]


def web_client(config: SlackChat) -> AsyncWebClient:
    return AsyncWebClient(token=config.bot_token, base_url=slack_api_url(config.api_url))


class SlackCommandBot:
    """Answers `/policybot <command>` in any channel the app is in."""

    def __init__(self, app: App, *, after_command: Hook | None = None) -> None:
        assert app.config.slack is not None
        self.app = app
        self.config = app.config.slack
        self.commands = Commands(app, SLACK)
        self.after_command = after_command
        self.client: SocketModeClient | None = None

    async def start(self) -> None:
        """Check the app token (apps.connections.open), then connect; raises SlackApiError.
        The check comes first because the client itself retries a refused token forever."""
        web = web_client(self.config)
        await web.apps_connections_open(app_token=self.config.app_token)
        self.client = SocketModeClient(app_token=self.config.app_token, web_client=web,
                                       logger=logging.getLogger("slack_sdk.socket_mode"))
        self.client.socket_mode_request_listeners.append(self._on_request)
        await self.client.connect()
        log.info("slack commands: connected over Socket Mode")

    async def stop(self) -> None:
        if self.client is not None:
            client, self.client = self.client, None
            await client.close()

    async def _on_request(self, client: AsyncBaseSocketModeClient, request: SocketModeRequest) -> None:
        if request.type != "slash_commands":
            await client.send_socket_mode_response(SocketModeResponse(request.envelope_id))
            return
        reply = await self.app.store.run(self.reply, request.payload)   # the command's store work
        await client.send_socket_mode_response(SocketModeResponse(
            envelope_id=request.envelope_id, payload={"response_type": "ephemeral", "text": reply}))
        if self.after_command is not None:
            await self.after_command()

    def reply(self, payload: dict[str, Any]) -> str:
        channel = str(payload.get("channel_id") or "")
        text = str(payload.get("text") or "").strip() or "help"
        if not channel:
            return "This command works in a channel."
        user = str(payload.get("user_id") or "")
        name, _ = parse_command(text)
        log.info("slack channel=%s user=%s: /policybot %s", channel, user, name[:32])
        refused = self.refusal_for(name, channel, user) if name in CHANGE_COMMANDS else None
        if refused:
            return refused
        return fit_reply(self.commands.handle(f"slack:{channel}", text), REPLY_LIMIT)

    def refusal_for(self, name: str, channel: str, user: str) -> str | None:
        """Why `user` may not change things in `channel`, or None when they may."""
        allow, admins = self.config.allow, self.config.admins
        if allow is not None and channel not in allow:
            log.info("slack channel=%s refused %s: not in slack.allow", channel, name)
            return (f"⛔ This channel may not change subscriptions. Its channel id is "
                    f"{SLACK.code(channel)}: ask the bot's operator to add it to "
                    f"{SLACK.code('slack.allow')} in {SLACK.code(self.app.config.path.name)}.")
        if admins and user not in admins:
            log.info("slack channel=%s user=%s refused %s: not in slack.admins", channel, user, name)
            who = ", ".join(f"<@{admin}>" for admin in admins)   # config ids: [A-Z0-9] only
            return (f"⛔ Only {who} may change subscriptions, watches and mutes. Everyone can "
                    f"use {SLACK.cmd('list')}, {SLACK.cmd('rules')} and {SLACK.cmd('help')}.")
        return None

