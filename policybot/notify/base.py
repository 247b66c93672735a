"""The Notifier protocol, and the redaction every notifier applies to what it says.

A notifier sends one alert (or a digest) to one destination and classifies failures as
alertmanager's notifiers do: `DeliveryError(retryable=True, retry_after=...)` for 429, 5xx and
network trouble; `retryable=False` with the platform's own words for everything else. It never
retries by itself: the single retry policy lives in the outbox (delivery.py).

Secrets (bot tokens, webhook URLs) never appear in an error message or a log line: every
message passes through `redact`, errors are raised `from None` so no traceback carries the
client library's original exception (PTB puts the token in the URL and in InvalidToken), and
`RedactingFilter` scrubs the records of the loggers the client libraries write to.

Text from outside (feed errors, chat commands, /watch texts) may carry terminal escapes or
bidi overrides: `strip_controls` drops them, and `RedactingFilter` applies it to every log
line, so nothing external can repaint a terminal or reorder what an operator reads.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import quote

from policybot.feeds.text import strip_controls
from policybot.model import Alert

MASK = "***"
Clock = Callable[[], datetime]
# told the ids of alerts a platform accepted in one message and that message's platform id
# (Slack ts, Telegram message_id; None where there is none: a webhook, the console); what it
# returns is awaited (the outbox records them, and the digest part as their stories' first message)
Accepted = Callable[[Sequence[str], str | None], Awaitable[None] | None]


def utcnow() -> datetime:
    return datetime.now(UTC)


class Notifier(Protocol):
    name: str   # the destination id

    async def send(self, alert: Alert) -> None:
        """Deliver one alert; raises DeliveryError."""

    async def send_digest(self, alerts: Sequence[Alert], accepted: Accepted = ...) -> None:
        """Deliver many alerts as one digest (several messages if limits need); after each
        message the platform accepted, call `accepted` with the ids it delivered and the
        message's platform id. DeliveryError."""

    async def close(self) -> None:
        """Release connections. The notifier may be used again afterwards (reopens lazily)."""


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """`text` with every secret (as written, and percent-encoded as in a URL) replaced by ***."""
    for secret in secrets:
        if not secret or len(secret) < 4:
            continue
        for form in {secret, quote(secret, safe=""), quote(secret, safe="/:")}:
            text = text.replace(form, MASK)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites log records so that no secret and no control character survives in the
    message or the traceback."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        super().__init__()
        self.secrets = tuple(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = strip_controls(redact(message, self.secrets))
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = strip_controls(redact(record.exc_text, self.secrets))
        return True


class LogRedaction:
    """Attaches a RedactingFilter to named loggers for the life of a notifier.

    The loggers are the client libraries' own (httpx logs each Telegram request URL, with
    the token in its path, at INFO). `detach` takes the filter off again in `close`.
    """

    def __init__(self, secrets: Iterable[str | None], loggers: Sequence[str]) -> None:
        self.filter = RedactingFilter(secrets)
        self.loggers = tuple(logging.getLogger(name) for name in loggers)

    def attach(self) -> None:
        for logger in self.loggers:
            if self.filter not in logger.filters:
                logger.addFilter(self.filter)

    def detach(self) -> None:
        for logger in self.loggers:
            logger.removeFilter(self.filter)


def no_record(alert_ids: Sequence[str], ref: str | None = None) -> None:
    """The default `accepted`: nothing to record."""


async def post_parts(parts: Sequence[tuple[Callable[[], Awaitable[str | None]], Sequence[str]]],
                     accepted: Accepted) -> None:
    """Post a digest's parts in order; after each, report the alerts it delivered and its
    platform id (a story first shown there threads its later reports under it).

    The outbox (delivery.py) records them as sent at once, so a retry, a restart or a new
    alert joining builds the next digest from the alerts no platform has accepted yet: an
    accepted part is never posted again.
    """
    for post, alert_ids in parts:
        ref = await post()
        await report_accepted(accepted, alert_ids, ref)


async def report_accepted(accepted: Accepted, alert_ids: Sequence[str], ref: str | None = None) -> None:
    """Tell `accepted` the ids a platform took in the message `ref`, and wait until they are
    recorded."""
    recorded = accepted(alert_ids, ref)
    if recorded is not None:
        await recorded
