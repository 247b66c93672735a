"""Interactive subscriptions: Telegram commands and the Slack slash command (Socket Mode).

`ChatSupervisor` connects whichever of them config.yaml enables in the background (for `run`:
start-up and polling never wait for a platform) and retries those that could not connect;
`start_chats`/`stop_chats` do the same once, in the foreground. A platform that cannot start
(refused token, unreachable API) is logged and left out: alerts still flow.

`release_mutes(app)` ends the mutes that ran out and sends each subscriber one summary of
what it missed, through the outbox (a `notice:mute-ended` row enqueued in the transaction that
releases the held alerts). It runs after every chat command, and is also scheduled (every
minute, scheduler.py).
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from telegram.error import TelegramError

from policybot.apiurl import (
    SLACK_API_URL,
    TELEGRAM_API_URL,
    api_url_hint,
    slack_api_url,
    telegram_api_url,
)
from policybot.chat import slack, telegram
from policybot.chat.commands import SLACK, TELEGRAM, Commands
from policybot.leases import LEADER_LEASE_SECONDS
from policybot.model import Alert
from policybot.notify.base import redact

if TYPE_CHECKING:
    from policybot.app import App

log = logging.getLogger(__name__)
CHAT_ERRORS = (TelegramError, SlackApiError, SlackClientError, aiohttp.ClientError, OSError,
               TimeoutError)
CHAT_RETRY_SECONDS = 60.0   # run: a platform that could not connect is tried again this often


class Chat(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


def _factories(app: App) -> list[tuple[str, Callable[[], Chat]]]:
    """A fresh client per start attempt: a failed start leaves nothing half-open behind."""
    factories: list[tuple[str, Callable[[], Chat]]] = []
    if app.config.telegram is not None:
        factories.append(("telegram", lambda: telegram.TelegramCommandBot(
            app, after_command=lambda: release_mutes(app))))
    if app.config.slack is not None:
        factories.append(("slack", lambda: slack.SlackCommandBot(
            app, after_command=lambda: release_mutes(app))))
    return factories


async def _start_one(app: App, platform: str, chat: Chat, *, quiet: bool = False) -> bool:
    try:
        await chat.start()
    except CHAT_ERRORS as exc:
        level = logging.DEBUG if quiet else logging.ERROR
        log.log(level, "%s commands not started (alerts still go out): %s%s", platform,
                redact(str(exc), app.config.secrets()), _api_hint(app, platform, str(exc)))
        await _stop_quietly(chat)
        return False
    except BaseException:  # cancelled (the bot is stopping): leave nothing half-open
        await _stop_quietly(chat)
        raise
    return True


_UNREACHED = re.compile(r"connect", re.I)               # nothing answers at that address
_NOT_AN_API = re.compile(r"\b404\b|not found|rejected", re.I)   # something else answers


def _api_hint(app: App, platform: str, error: str) -> str:
    """'; called URL: is api_url ...?' when the platform's API was not where api_url says."""
    if platform == "slack" and app.config.slack is not None:
        base, default = slack_api_url(app.config.slack.api_url), SLACK_API_URL
        called = base + "apps.connections.open"
    elif platform == "telegram" and app.config.telegram is not None:
        base, default = telegram_api_url(app.config.telegram.api_url), TELEGRAM_API_URL
        called = base + "/bot***/getMe"
    else:
        return ""
    if _UNREACHED.search(error) or (base != default and _NOT_AN_API.search(error)):
        return "; " + api_url_hint(platform, called)
    return ""


async def _stop_quietly(chat: Chat) -> None:
    try:
        await chat.stop()
    except CHAT_ERRORS as exc:
        log.debug("chat stop after a failed start: %s", exc)


async def start_chats(app: App) -> list[Chat]:
    """Start each enabled platform once, in the foreground; those that fail are left out."""
    chats: list[Chat] = []
    for platform, make in _factories(app):
        chat = make()
        if await _start_one(app, platform, chat):
            chats.append(chat)
    return chats


async def stop_chats(chats: list[Chat]) -> None:
    for chat in chats:
        await chat.stop()


class ChatSupervisor:
    """`run`'s chats: connected in the background, so polling never waits for Slack or
    Telegram. `kick()` (a scheduler job, every CHAT_RETRY_SECONDS) starts an attempt for every
    platform not connected yet; once connected, the client libraries reconnect by themselves.
    A platform's first failure is logged as an error, the retries after it quietly."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.pending = dict(_factories(app))
        self.running: list[Chat] = []
        self._attempts: dict[str, asyncio.Task[None]] = {}
        self._failed: set[str] = set()
        self._by_platform: dict[str, Chat] = {}
        # Shared state: Telegram allows one getUpdates poller (409 Conflict), so only the
        # instance holding the 'telegram' lease runs it. Slack Socket Mode runs everywhere.
        self.leading = not app.store.shared

    async def kick(self) -> None:   # async: AsyncIOScheduler runs it on the loop, not a thread
        for platform, make in self.pending.items():
            if platform == "telegram" and not self.leading:
                continue
            task = self._attempts.get(platform)
            if task is None or task.done():
                self._attempts[platform] = asyncio.create_task(
                    self._attempt(platform, make()), name=f"chat-start:{platform}")

    async def _attempt(self, platform: str, chat: Chat) -> None:
        if await _start_one(self.app, platform, chat, quiet=platform in self._failed):
            self.pending.pop(platform, None)
            self.running.append(chat)
            self._by_platform[platform] = chat
        elif platform not in self._failed:
            self._failed.add(platform)
            log.info("%s commands: trying again every %.0fs in the background",
                     platform, CHAT_RETRY_SECONDS)

    async def lead(self) -> None:
        """Shared state (a scheduler job, every LEADER_RENEW_SECONDS): take or renew the
        Telegram lease; taken, start polling; lost (this instance could not renew it in time,
        another took over), stop polling at once."""
        if "telegram" not in self.pending and "telegram" not in self._by_platform:
            return
        try:
            store = self.app.store
            held = await store.run(store.take_lease, "telegram", self.app.instance, time.time(),
                                   LEADER_LEASE_SECONDS)
        except sqlite3.Error as exc:
            log.warning("telegram lease not renewed: state database: %s", exc)
            held = False
        if held and not self.leading:
            log.info("telegram commands: this instance polls getUpdates (it holds the lease)")
            self.leading = True
            await self.kick()
        elif not held and self.leading:
            log.warning("telegram commands: lease lost, another instance polls getUpdates")
            self.leading = False
            await self._stop_platform("telegram")

    async def _stop_platform(self, platform: str) -> None:
        task = self._attempts.pop(platform, None)
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        chat = self._by_platform.pop(platform, None)
        if chat is not None:
            self.running.remove(chat)
            await stop_chats([chat])
        self.pending[platform] = dict(_factories(self.app))[platform]   # to start again if led again

    async def stop(self) -> None:
        """Cancel the attempts under way, then stop the connected chats."""
        attempts = [t for t in self._attempts.values() if not t.done()]
        for task in attempts:
            task.cancel()
        await asyncio.gather(*attempts, return_exceptions=True)
        chats, self.running = self.running, []
        await stop_chats(chats)


async def release_mutes(app: App, now: float | None = None) -> int:
    """End the mutes that ran out by `now`; each subscriber gets one summary, enqueued in the
    transaction that releases its held alerts, then delivered. Returns how many."""
    real = time.time()
    cutoff = real if now is None else now
    released = await app.store.run(   # the summaries are built on the store's thread
        app.store.release_expired_mutes, cutoff, lambda dest, held: _summary(app, dest, held, real),
        enqueue_at=min(real, cutoff))
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
