"""Drain the outbox: digests for floods, per-destination rate limits, one retry policy.

Alertmanager's Dedup -> Retry -> SetNotifies, made durable: an alert leaves the outbox only
when its platform accepted it (sent), refused it for good (failed, with the platform's words),
or it grew older than `max_age` (expired, logged). Retryable errors (429 Retry-After, 5xx,
network) come back with exponential backoff and jitter; a Retry-After pauses the whole
destination.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from policybot.config import DeliverySettings
from policybot.errors import DeliveryError
from policybot.notify.base import Notifier
from policybot.store import OutboxRow, Store

log = logging.getLogger(__name__)

MAX_RETRY_DELAY = 3600.0


@dataclass(slots=True)
class RateLimiter:
    """Token bucket: `rate` messages per second, bursts up to `burst`."""

    rate: float
    burst: float = 1.0
    tokens: float = 1.0
    stamp: float = field(default_factory=time.monotonic)

    def delay(self) -> float:
        """Take a token; return how long to wait before using it."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        self.tokens -= 1.0
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate

    async def acquire(self) -> None:
        wait = self.delay()
        if wait > 0:
            await asyncio.sleep(wait)


@dataclass(frozen=True, slots=True)
class DrainReport:
    sent: int = 0
    digests: int = 0
    retried: int = 0
    failed: int = 0
    expired: int = 0

    def __add__(self, other: DrainReport) -> DrainReport:
        return DrainReport(*(getattr(self, f) + getattr(other, f) for f in DrainReport.__slots__))


NotifierLookup = Callable[[str], Notifier | None]
LimitsLookup = Callable[[str], Sequence[RateLimiter]]


class Delivery:
    def __init__(self, store: Store, notifier_for: NotifierLookup, limits_for: LimitsLookup,
                 settings: DeliverySettings, *, clock: Callable[[], float] = time.time,
                 rng: random.Random | None = None) -> None:
        self.store = store
        self.notifier_for = notifier_for
        self.limits_for = limits_for
        self.settings = settings
        self.clock = clock
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self.lock = asyncio.Lock()

    async def drain(self) -> DrainReport:
        """Send everything due now; one pass. Destinations proceed independently."""
        async with self.lock:
            rows = self.store.due(self.clock())
            by_dest: dict[str, list[OutboxRow]] = {}
            for row in rows:
                by_dest.setdefault(row.alert.destination, []).append(row)
            reports = await asyncio.gather(*(self._destination(d, rs) for d, rs in by_dest.items()))
        return sum(reports, DrainReport())

    async def drain_until_idle(self, wait_bound: float) -> DrainReport:
        """`once`: drain, wait for Retry-After/backoff up to `wait_bound` seconds, drain again."""
        total = DrainReport()
        while True:
            total += await self.drain()
            next_due = self.store.next_due()
            if next_due is None:
                return total
            wait = next_due - self.clock()
            if wait > wait_bound:
                log.info("outbox: %d left for later (next due in %.0fs)",
                         self.store.pending_count(), wait)
                return total
            await asyncio.sleep(max(wait, 0.0))

    async def _destination(self, dest: str, rows: list[OutboxRow]) -> DrainReport:
        now = self.clock()
        fresh = [r for r in rows if now - r.created <= self.settings.max_age]
        expired = [r for r in rows if now - r.created > self.settings.max_age]
        if expired:
            self._expire(dest, expired, now)
        notifier = self.notifier_for(dest)
        if notifier is None:
            self._fail(dest, fresh, f"destination '{dest}' is not configured", now)
            return DrainReport(failed=len(fresh), expired=len(expired))
        recent = self.store.sent_since(dest, now - self.settings.digest_window)
        if fresh and len(fresh) + recent > self.settings.digest_after:
            report = await self._send_digest(dest, notifier, fresh)
        else:
            report = await self._send_each(dest, notifier, fresh)
        return DrainReport(report.sent, report.digests, report.retried, report.failed, len(expired))

    async def _send_each(self, dest: str, notifier: Notifier, rows: list[OutboxRow]) -> DrainReport:
        sent = retried = failed = 0
        for row in rows:
            for limiter in self.limits_for(dest):
                await limiter.acquire()
            outcome = await self._attempt(dest, [row], notifier.send(row.alert))
            sent += outcome == "sent"
            failed += outcome == "failed"
            if outcome in ("retry", "paused"):
                retried += 1
            if outcome == "paused":
                break
        return DrainReport(sent=sent, retried=retried, failed=failed)

    async def _send_digest(self, dest: str, notifier: Notifier, rows: list[OutboxRow]) -> DrainReport:
        for limiter in self.limits_for(dest):
            await limiter.acquire()
        log.info("destination=%s %d alerts due at once: sending a digest", dest, len(rows))
        outcome = await self._attempt(dest, rows, notifier.send_digest([r.alert for r in rows]))
        if outcome == "sent":
            return DrainReport(sent=len(rows), digests=1)
        if outcome == "failed":
            return DrainReport(failed=len(rows))
        return DrainReport(retried=len(rows))

    async def _attempt(self, dest: str, rows: list[OutboxRow], send: Awaitable[None]) -> str:
        ids = [r.alert.alert_id for r in rows]
        now = self.clock()
        try:
            await send
        except DeliveryError as exc:
            return self._on_error(dest, rows, exc)
        except Exception as exc:  # noqa: BLE001 - a notifier bug must not lose the alert
            log.exception("destination=%s unexpected error while sending", dest)
            return self._on_error(dest, rows, DeliveryError(f"unexpected: {exc!r}", retryable=True))
        self.store.mark(ids, "sent", now, attempt=True)
        return "sent"

    def _on_error(self, dest: str, rows: list[OutboxRow], exc: DeliveryError) -> str:
        now = self.clock()
        ids = [r.alert.alert_id for r in rows]
        message = str(exc)
        self._log_once(dest, message, now, retryable=exc.retryable)
        if not exc.retryable:
            self.store.mark(ids, "failed", now, error=message, attempt=True)
            return "failed"
        attempts = max(r.attempts for r in rows) + 1
        delay = min(self.settings_backoff(attempts), MAX_RETRY_DELAY)
        if exc.retry_after is not None:
            delay = max(exc.retry_after, 0.0)
        self.store.mark(ids, "pending", now, error=message, due=now + delay, attempt=True)
        if exc.retry_after is not None:
            self.store.set_destination(dest, blocked_until=now + delay)
            self.store.delay_destination(dest, now + delay)
            return "paused"
        return "retry"

    def settings_backoff(self, attempts: int) -> float:
        """1 s, 2 s, 4 s ... with full jitter between half and the whole step."""
        step = 2.0 ** (attempts - 1)
        return step * self.rng.uniform(0.5, 1.0)

    def _log_once(self, dest: str, message: str, now: float, *, retryable: bool) -> None:
        if self.store.destination_error(dest) != message:
            kind = "will retry" if retryable else "giving up on this alert"
            log.error("destination=%s delivery failed (%s): %s", dest, kind, message)
        self.store.set_destination(dest, last_error=message, last_error_at=now)

    def _fail(self, dest: str, rows: list[OutboxRow], message: str, now: float) -> None:
        if rows:
            self._log_once(dest, message, now, retryable=False)
            self.store.mark([r.alert.alert_id for r in rows], "failed", now, error=message)

    def _expire(self, dest: str, rows: list[OutboxRow], now: float) -> None:
        hours = self.settings.max_age / 3600
        for row in rows:
            log.error("destination=%s gave up on alert '%s' after %.0fh undelivered (last error: %s)",
                      dest, row.alert.item.title[:80], hours, row.last_error or "none")
        self.store.mark([r.alert.alert_id for r in rows], "expired", now,
                        error=f"expired after {hours:.0f}h undelivered")
