"""Interactive subscriptions: Telegram commands and the Slack slash command (Socket Mode).

`start_chats(app)` starts whichever of them config.yaml enables, on the running event loop;
`stop_chats` stops them. Both are called by scheduler.Service.run. A platform that cannot
start (refused token, unreachable API) is logged and left out: alerts still flow.

`release_mutes(app)` ends the mutes that ran out and sends each subscriber one summary of
what it missed, through the outbox (a `notice:mute-ended` row enqueued in the transaction that
releases the held alerts). It runs after every chat command, and is also scheduled (every
minute, scheduler.py).
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
    """End the mutes that ran out by `now`; each subscriber gets one summary, enqueued in the
    transaction that releases its held alerts, then delivered. Returns how many."""
    real = time.time()
    cutoff = real if now is None else now
    released = app.store.release_expired_mutes(
        cutoff, lambda dest, held: _summary(app, dest, held, real), enqueue_at=min(real, cutoff))
    if released:
        await app.deliver()
    return len(released)


def _summary(app: App, dest: str, held: list[Alert], now: float) -> Alert | None:
    platform = dest.partition(":")[0]
    if platform == "telegram" and app.config.telegram is not None:
        commands = Commands(app, TELEGRAM)
    elif platform == "slack" and app.config.slack is not None:
        commands = Commands(app, SLACK)
    else:
        log.warning("destination=%s mute ended, but its platform is not configured", dest)
        return None
    return commands.mute_notice(dest, held, "🔔 Your mute has ended.", now)
