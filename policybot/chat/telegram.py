"""Telegram commands: python-telegram-bot's Application on the bot's own event loop.

Started with initialize/start/updater.start_polling (never run_polling, which would own the
loop) and stopped in reverse. Every command goes to `Commands`; only chats listed in
`telegram.allow` (or any, with `allow: any`) may change anything. In a group, only its
administrators (asked of the Bot API with getChatMember, remembered for ADMIN_TTL seconds), an
anonymous admin posting as the group, or a user id in `telegram.admins` may change the group's
subscriptions, watches or mute; everyone may read. In a private chat its user is its admin.
Each command gets one reply, in HTML parse mode. The token is in every request URL: the client
libraries' loggers are redacted while running.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from telegram import BotCommand, Chat, Message, Update
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.error import TelegramError
from telegram.ext import Application, CommandHandler, ContextTypes, MessageHandler, filters

from policybot.apiurl import telegram_api_url
from policybot.chat.commands import (
    CHANGE_COMMANDS,
    COMMANDS,
    TELEGRAM,
    Commands,
    fit_reply,
    parse_command,
    split_message,
)
from policybot.config import TelegramChat
from policybot.notify.base import LogRedaction
from policybot.notify.telegram import LIBRARY_LOGGERS, NO_PREVIEW

if TYPE_CHECKING:
    from policybot.app import App

log = logging.getLogger(__name__)
POLL_TIMEOUT = 10.0            # seconds a getUpdates long poll may wait (stop cancels it)
REPLY_LIMIT = 4000             # characters a reply part may have (Telegram: 4096 UTF-16 units)
EXT_LOGGERS = (*LIBRARY_LOGGERS, "telegram.ext.Application", "telegram.ext.Updater",
               "telegram.ext.ExtBot", __name__)
Hook = Callable[[], Awaitable[object]]
ADMIN_TTL = 60.0               # seconds a getChatMember answer is trusted
ADMIN_CACHE_MAX = 1024         # (chat, user) answers remembered at most
ADMIN_STATUSES = frozenset({ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR})


def build_application(config: TelegramChat, poll_timeout: float) -> Application:  # type: ignore[type-arg]
    api = telegram_api_url(config.api_url)     # with or without /bot
    return (Application.builder().token(config.token)
            .base_url(api + "/bot").base_file_url(api + "/file/bot")
            .get_updates_read_timeout(poll_timeout + 5.0).get_updates_connect_timeout(5.0)
            .get_updates_write_timeout(5.0).get_updates_pool_timeout(5.0).job_queue(None)
            .build())


def refusal(chat_id: int, config_file: str) -> str:
    """`config_file`: the name of the file the bot runs on (its folder is the host's business)."""
    return (f"⛔ This chat may not subscribe. Its chat id is <code>{chat_id}</code>: ask the "
            f"bot's operator to add it to <code>telegram.allow</code> in {TELEGRAM.code(config_file)}.")


def group_refusal(named_admins: bool) -> str:
    who = "this group's administrators" + (
        " and the people the bot's operator named in <code>telegram.admins</code>" if named_admins else "")
    return (f"⛔ Only {who} may change the group's subscriptions, watches and mute. Everyone "
            "can use /list, /rules and /help.")


class AdminCache:
    """(chat id, user id) -> is an administrator, for `ttl` seconds; at most `size` answers."""

    def __init__(self, ttl: float = ADMIN_TTL, size: int = ADMIN_CACHE_MAX,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self.size, self.clock = ttl, size, clock
        self._answers: dict[tuple[int, int], tuple[bool, float]] = {}

    def get(self, key: tuple[int, int]) -> bool | None:
        answer = self._answers.get(key)
        if answer is None or answer[1] <= self.clock():
            self._answers.pop(key, None)
            return None
        return answer[0]

    def put(self, key: tuple[int, int], is_admin: bool) -> None:
        self._answers.pop(key, None)
        while len(self._answers) >= self.size:
            self._answers.pop(next(iter(self._answers)))  # the oldest
        self._answers[key] = (is_admin, self.clock() + self.ttl)


class TelegramCommandBot:
    """The command side of the Telegram bot (alerts go out through the outbox's notifier)."""

    def __init__(self, app: App, *, after_command: Hook | None = None,
                 poll_timeout: float = POLL_TIMEOUT, admins: AdminCache | None = None) -> None:
        assert app.config.telegram is not None
        self.app = app
        self.config = app.config.telegram
        self.commands = Commands(app, TELEGRAM)
        self.admins = admins or AdminCache()
        self.after_command = after_command
        self.poll_timeout = poll_timeout
        self.application = build_application(self.config, poll_timeout)
        self._redaction = LogRedaction([self.config.token], EXT_LOGGERS)
        self._add_handlers()

    def _add_handlers(self) -> None:
        application = self.application
        application.add_handler(CommandHandler(list(COMMANDS), self._on_command))
        application.add_handler(MessageHandler(filters.COMMAND, self._on_command))
        application.add_handler(MessageHandler(
            filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE, self._on_text))
        application.add_error_handler(self._on_error)

    def allowed(self, chat_id: int) -> bool:
        return self.config.allow is None or str(chat_id) in self.config.allow

    async def start(self) -> None:
        """Connect (getMe), set the command menu and start polling; raises TelegramError."""
        self._redaction.attach()
        await self.application.initialize()
        await self.application.bot.set_my_commands(
            [BotCommand(name, what) for name, (_, what) in COMMANDS.items()])
        await self.application.start()
        assert self.application.updater is not None
        await self.application.updater.start_polling(
            timeout=int(self.poll_timeout), allowed_updates=[Update.MESSAGE],
            error_callback=self._on_poll_error)
        log.info("telegram commands: polling as @%s", self.application.bot.username)

    async def stop(self) -> None:
        updater = self.application.updater
        if updater is not None and updater.running:
            await updater.stop()
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()
        await self.application.bot.shutdown()  # a no-op, unless a failed start left it open
        self._redaction.detach()

    # handlers -------------------------------------------------------------------------------
    async def _on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, chat = update.effective_message, update.effective_chat
        if message is None or chat is None or not message.text:
            return
        head = message.text.split(maxsplit=1)[0]
        if "@" in head and head.split("@", 1)[1].lower() != (context.bot.username or "").lower():
            return  # a command for another bot in a group
        name, _ = parse_command(message.text)
        refused = await self.refusal_for(name, chat, message)
        if refused:
            reply = refused
        else:
            reply = await self.app.store.run(self.commands.handle, f"telegram:{chat.id}", message.text)
            if name == "start" and not self.allowed(chat.id):
                reply += "\n\n" + refusal(chat.id, self.app.config.path.name)
        await self.send(chat.id, fit_reply(reply, REPLY_LIMIT))
        if self.after_command is not None:
            await self.after_command()

    async def refusal_for(self, name: str, chat: Chat, message: Message) -> str | None:
        """Why the sender may not run `name` here, or None when they may."""
        if name not in CHANGE_COMMANDS:
            return None
        if not self.allowed(chat.id):
            log.info("telegram chat=%s refused /%s: not in telegram.allow", chat.id, name)
            return refusal(chat.id, self.app.config.path.name)
        if chat.type == ChatType.PRIVATE or await self.is_admin(chat, message):
            return None
        log.info("telegram chat=%s refused /%s: the sender is not an admin", chat.id, name)
        return group_refusal(bool(self.config.admins))

    async def is_admin(self, chat: Chat, message: Message) -> bool:
        """An anonymous admin (posting as the group), a `telegram.admins` user, or one whom
        getChatMember calls creator or administrator. A failed check refuses (not cached)."""
        if message.sender_chat is not None:
            return message.sender_chat.id == chat.id
        user = message.from_user
        if user is None:
            return False
        if str(user.id) in self.config.admins:
            return True
        key = (chat.id, user.id)
        known = self.admins.get(key)
        if known is not None:
            return known
        try:
            member = await self.application.bot.get_chat_member(chat.id, user.id)
        except TelegramError as exc:
            log.warning("telegram chat=%s: getChatMember failed, /command refused: %s", chat.id, exc)
            return False
        self.admins.put(key, member.status in ADMIN_STATUSES)
        return member.status in ADMIN_STATUSES

    async def _on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_chat is not None:
            await self.send(update.effective_chat.id, "Send /help to see what I can do.")

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("telegram: handling an update failed: %s", context.error, exc_info=context.error)

    def _on_poll_error(self, exc: Exception) -> None:
        log.warning("telegram: getUpdates failed (polling goes on): %s", exc)

    async def send(self, chat_id: int | str, text: str) -> None:
        for part in split_message(text, REPLY_LIMIT):
            await self.application.bot.send_message(
                chat_id=chat_id, text=part, parse_mode=ParseMode.HTML,
                link_preview_options=NO_PREVIEW)

