"""Telegram notifier: python-telegram-bot's Bot, HTML parse mode, link previews off.

The Bot is created and initialised (getMe) on the first send, and shut down by `close`.
Failures: RetryAfter (with its seconds), TimedOut and NetworkError (which is also what PTB
raises for a 5xx) are retryable; Forbidden (bot blocked), BadRequest ("Chat not found", "Can't
parse entities"...), InvalidToken and the rest are permanent, in Telegram's own words.
The token sits in every request URL: all messages are redacted and errors raised `from None`.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from datetime import timedelta
from functools import partial

from telegram import Bot, LinkPreviewOptions, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from policybot.apiurl import TELEGRAM_API_URL, api_url_hint, telegram_api_url
from policybot.errors import DeliveryError
from policybot.model import Alert
from policybot.notify.base import Accepted, Clock, LogRedaction, no_record, post_parts, redact, utcnow
from policybot.render import telegram_message
from policybot.render_digest import telegram_digest_parts
from policybot.render_story import telegram_first_updated, telegram_reply
from policybot.retry_after import clamp_wait

log = logging.getLogger(__name__)
# loggers that may print request URLs (httpx logs every request at INFO) or PTB's errors.
# A filter on a logger does not cover its children, hence the exact names.
LIBRARY_LOGGERS = ("httpx", "telegram", "telegram.Bot", "telegram.request.BaseRequest",
                   "telegram.request.HTTPXRequest")
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def retry_seconds(exc: RetryAfter) -> float | None:
    """RetryAfter.retry_after is int or timedelta (PTB 22 migration); read it quietly, capped
    like any Retry-After (retry_after.clamp_wait): None when it is not a number."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    try:
        seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return clamp_wait(seconds)


def classify(exc: TelegramError) -> tuple[bool, float | None]:
    """(retryable, retry_after) for a PTB error."""
    if isinstance(exc, RetryAfter):
        return True, retry_seconds(exc)
    if isinstance(exc, (Forbidden, InvalidToken, BadRequest, ChatMigrated)):
        return False, None
    if isinstance(exc, (TimedOut, NetworkError)):
        return True, None
    return False, None


class TelegramNotifier:
    def __init__(self, name: str, token: str, chat_id: str | int, *,
                 api_url: str | None = None, clock: Clock = utcnow,
                 timeout: float | None = None) -> None:
        self.name = name
        self.chat_id = chat_id
        self.clock = clock
        self.api_url = telegram_api_url(api_url)    # with or without /bot
        self.base_url = self.api_url + "/bot"
        self.timeout = timeout     # None: PTB's defaults (5 s per phase)
        self._token = token
        self._bot: Bot | None = None
        self._redaction = LogRedaction([token], LIBRARY_LOGGERS)

    async def _ready(self) -> Bot:
        if self._bot is None:
            self._redaction.attach()
            request = None if self.timeout is None else HTTPXRequest(
                connect_timeout=self.timeout, read_timeout=self.timeout,
                write_timeout=self.timeout, pool_timeout=self.timeout)
            self._bot = Bot(self._token, base_url=self.base_url, request=request)
        await self._bot.initialize()     # getMe; a no-op once it has succeeded
        return self._bot

    def _fail(self, exc: Exception) -> DeliveryError:
        retryable, after = classify(exc) if isinstance(exc, TelegramError) else (True, None)
        hint = self._hint(exc)
        said = str(exc).rstrip(".") if hint else str(exc)
        text = redact(f"telegram {self.name}: {said}{hint}", [self._token])
        # DEBUG: delivery.py logs each distinct failure once, at ERROR
        log.debug("delivery failed: destination=%s retryable=%s: %s", self.name, retryable, text)
        return DeliveryError(text, retryable=retryable, retry_after=after)

    def _hint(self, exc: Exception) -> str:
        """Telegram answers 404 to a token it does not know and to a path that is no Bot API
        (PTB raises InvalidToken for both); a wrong server refuses to connect (NetworkError):
        name what was called, the token redacted, and api_url when it is not the default."""
        if isinstance(exc, InvalidToken) or (isinstance(exc, NetworkError)
                                             and "connect" in str(exc).lower()):
            called = f"{self.base_url}{self._token}/getMe"
            if self.api_url == TELEGRAM_API_URL and isinstance(exc, InvalidToken):
                return f"; called {called}: is the token right?"
            return f"; {api_url_hint('telegram', called)}"
        return ""

    async def _post(self, text: str, reply_to: str | None = None) -> str | None:
        """Send one message; returns its message id. A reply (to a story's first message)
        goes without notification and still goes if the first message was deleted."""
        extra: dict[str, object] = {}
        if reply_to:
            extra = {"reply_parameters": ReplyParameters(int(reply_to), allow_sending_without_reply=True),
                     "disable_notification": True}
        try:
            bot = await self._ready()
            sent = await bot.send_message(chat_id=self.chat_id, text=text, parse_mode=ParseMode.HTML,
                                          link_preview_options=NO_PREVIEW, **extra)
        except TelegramError as exc:
            raise self._fail(exc) from None
        except (OverflowError, ValueError) as exc:  # PTB reading an absurd retry_after (inf, nan)
            raise self._fail(RuntimeError(f"unreadable answer: {exc}")) from None
        return str(sent.message_id) if getattr(sent, "message_id", None) is not None else None

    async def send(self, alert: Alert) -> str | None:
        return await self._post(alert.notice or telegram_message(alert, self.clock()))

    stories = "thread"   # later reports of a story reply to its first message

    async def send_later(self, alert: Alert, ref: str | None) -> None:
        await self._post(telegram_reply(alert), ref)

    async def edit_first(self, ref: str, first: Alert, sources: Sequence[str]) -> None:
        """The first message of a story, edited to name the outlets that also reported it
        (within 4096, render_story.telegram_first_updated). Telegram refuses an edit that
        changes nothing ("message is not modified"): the message says it already, done."""
        text = telegram_first_updated(first, sources, self.clock())
        try:
            bot = await self._ready()
            await bot.edit_message_text(text, chat_id=self.chat_id, message_id=int(ref),
                                        parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW)
        except BadRequest as exc:
            if "not modified" not in str(exc).lower():
                raise self._fail(exc) from None
        except TelegramError as exc:
            raise self._fail(exc) from None
        except (OverflowError, ValueError) as exc:
            raise self._fail(RuntimeError(f"unreadable answer: {exc}")) from None

    async def send_digest(self, alerts: Sequence[Alert], accepted: Accepted = no_record) -> None:
        parts = telegram_digest_parts(alerts, self.clock())
        await post_parts([(partial(self._post, text), ids) for text, ids in parts], accepted)

    async def get_me(self) -> str:
        """The bot's @username (`send-test`'s first check); raises DeliveryError."""
        try:
            bot = await self._ready()
        except TelegramError as exc:
            raise self._fail(exc) from None
        return f"@{bot.username}"

    async def close(self) -> None:
        if self._bot is not None:
            bot, self._bot = self._bot, None
            try:
                await bot.shutdown()
            except TelegramError as exc:
                log.warning("destination=%s telegram shutdown: %s", self.name,
                            redact(str(exc), [self._token]))
        self._redaction.detach()
