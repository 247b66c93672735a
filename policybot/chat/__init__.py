"""Interactive subscriptions: Telegram commands and the Slack slash command (Socket Mode).

`start_chats(app)` starts whichever of them config.yaml enables, on the running event loop;
`stop_chats` stops them. Both are called by scheduler.Service.run. A platform that cannot
start (refused token, unreachable API) is logged and left out: alerts still flow.

`release_mutes(app)` ends the mutes that ran out and sends each subscriber one summary of
what it missed. It runs after every chat command, and is also scheduled (every minute, scheduler.py).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Protocol

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from telegram.error import TelegramError

from policybot.chat import slack, telegram
from policybot.chat.commands import SLACK, TELEGRAM, Commands
from policybot.model import Alert
from policybot.notify.base import redact

if TYPE_CHECKING:
    from policybot.app import App

log = logging.getLogger(__name__)
CHAT_ERRORS = (TelegramError, SlackApiError, SlackClientError, aiohttp.ClientError, OSError,
               TimeoutError)


class Chat(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


async def start_chats(app: App) -> list[Chat]:
    candidates: list[tuple[str, Chat]] = []
    if app.config.telegram is not None:
        candidates.append(("telegram", telegram.TelegramCommandBot(
            app, after_command=lambda: release_mutes(app))))
    if app.config.slack is not None:
        candidates.append(("slack", slack.SlackCommandBot(
            app, after_command=lambda: release_mutes(app))))
    chats: list[Chat] = []
    for platform, chat in candidates:
        try:
            await chat.start()
        except CHAT_ERRORS as exc:
            log.error("%s commands not started (alerts still go out): %s", platform,
                      redact(str(exc), app.config.secrets()))
            await chat.stop()
            continue
        chats.append(chat)
    return chats


async def stop_chats(chats: list[Chat]) -> None:
    for chat in chats:
        await chat.stop()


async def release_mutes(app: App, now: float | None = None) -> int:
    """End the mutes that ran out by `now`; each subscriber gets one summary. Returns how many."""
    released = app.store.release_expired_mutes(time.time() if now is None else now)
    for dest, alerts in released:
        try:
            await _send_summary(app, dest, alerts)
        except CHAT_ERRORS as exc:  # the held alerts stay marked 'missed'; the mute is over
            log.warning("destination=%s mute-ended summary not sent: %s", dest,
                        redact(str(exc), app.config.secrets()))
    return len(released)


async def _send_summary(app: App, dest: str, alerts: list[Alert]) -> None:
    platform, _, chat_id = dest.partition(":")
    heading = "🔔 Your mute has ended."
    if platform == "telegram" and app.config.telegram is not None:
        text = Commands(app, TELEGRAM).missed_summary(alerts, heading)
        await telegram.send_notice(app.config.telegram, chat_id, text)
    elif platform == "slack" and app.config.slack is not None:
        text = Commands(app, SLACK).missed_summary(alerts, heading)
        await slack.send_notice(app.config.slack, chat_id, text)
    else:
        log.warning("destination=%s mute ended, but its platform is not configured", dest)
