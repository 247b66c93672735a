"""Drain the outbox: digests for floods, per-destination rate limits, one retry policy.

Alertmanager's Dedup -> Retry -> SetNotifies, made durable: an alert leaves the outbox only
when its platform accepted it (sent), refused it for good (failed, with the platform's words),
or it grew older than `max_age` (expired, logged). Retryable errors (429 Retry-After, 5xx,
network) come back with exponential backoff and jitter; a Retry-After pauses the whole
destination (`destinations.blocked_until`, which `store.due` honours for rows enqueued later).

Destinations are independent: whatever goes wrong while delivering to one (a bug, a notifier
that cannot be built) is recorded for that one, and the others finish their pass.

Nothing is sent that cannot be recorded: each send is preceded by a write (`store.claim`), and
when the state database refuses writes, or its file was deleted or replaced while running,
delivery stops (`fault`, shown by /healthz) until it can record again. A send whose "sent" mark
failed is remembered in memory and recorded first when the database is back, so at most the
message in flight per destination can repeat, and only after a restart.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from policybot.config import DeliverySettings
from policybot.errors import DeliveryError, PolicybotError
from policybot.leases import DESTINATION_LEASE_SECONDS
from policybot.model import Alert
from policybot.notify.base import Accepted, Notifier, report_accepted
from policybot.retry_after import clamp_wait
from policybot.store import OutboxRow, Store
from policybot.stories.later import LATER_WAIT, edit_first, joining, later_plan, part_shown, reply

log = logging.getLogger(__name__)

MAX_RETRY_DELAY = 3600.0   # the longest backoff between two tries of an alert
Sleep = Callable[[float], Awaitable[None]]


@dataclass(slots=True)
class RateLimiter:
    """Token bucket: `rate` messages per second, bursts up to `burst`. The clock and the
    sleep are injected (tests pass a fake clock and a sleep that advances it)."""

    rate: float
    burst: float = 1.0
    clock: Callable[[], float] = time.monotonic
    sleep: Sleep = asyncio.sleep
    tokens: float = 1.0
    stamp: float | None = None

    def delay(self) -> float:
        """Take a token; return how long to wait before using it."""
        now = self.clock()
        elapsed = 0.0 if self.stamp is None else now - self.stamp
        self.tokens = min(self.burst, self.tokens + elapsed * self.rate)
        self.stamp = now
        self.tokens -= 1.0
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate

    async def acquire(self) -> None:
        wait = self.delay()
        if wait > 0:
            await self.sleep(wait)


@dataclass(frozen=True, slots=True)
class DrainReport:
    sent: int = 0
    digests: int = 0
    retried: int = 0
    failed: int = 0
    expired: int = 0

    def __add__(self, other: DrainReport) -> DrainReport:
        return DrainReport(*(getattr(self, f) + getattr(other, f) for f in DrainReport.__slots__))


class Unrecorded(Exception):  # noqa: N818 - a signal, not an error to report
    """A platform accepted alerts the database would not record: the pass stops here."""


NotifierLookup = Callable[[str], Notifier | None]
LimitsLookup = Callable[[str], Sequence[RateLimiter]]
Send = Callable[[Accepted], Awaitable[None]]


class Delivery:
    def __init__(self, store: Store, notifier_for: NotifierLookup, limits_for: LimitsLookup,
                 settings: DeliverySettings, *, clock: Callable[[], float] = time.time,
                 sleep: Sleep = asyncio.sleep, rng: random.Random | None = None,
                 holder: str = "") -> None:
        self.store = store
        self.holder = holder    # this instance, on a shared state: destinations go by lease
        self.notifier_for = notifier_for
        self.limits_for = limits_for
        self.settings = settings
        self.clock = clock
        self.sleep = sleep
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self.lock = asyncio.Lock()
        self.fault: str | None = None     # why nothing is sent now (the state cannot be written)
        self._unrecorded: set[str] = set()   # accepted by a platform, not yet marked sent
        self._stopped = False                # this pass met a fault: no further send

    async def drain(self) -> DrainReport:
        """Send everything due now; one pass. Destinations proceed independently."""
        async with self.lock:
            if not await self._state_ok():
                return DrainReport()
            try:
                rows = await self.store.run(self.store.due, self.clock())
            except sqlite3.Error as exc:
                await self._halt(f"state database: {exc}")
                return DrainReport()
            if not rows:
                await self._resumed()     # the database answered and took the write lock
            by_dest: dict[str, list[OutboxRow]] = {}
            for row in rows:
                by_dest.setdefault(row.alert.destination, []).append(row)
            if self.store.shared:
                by_dest = await self.store.run(self._leased, by_dest)
            reports = await asyncio.gather(*(self._guarded(d, rs) for d, rs in by_dest.items()))
        return sum(reports, DrainReport())

    async def drain_until_idle(self, wait_bound: float) -> DrainReport:
        """`once`: drain, wait for Retry-After/backoff up to `wait_bound` seconds, drain again."""
        total = DrainReport()
        while True:
            total += await self.drain()
            next_due = await self.store.run(self.store.next_due)
            if next_due is None or self.fault:
                return total
            wait = next_due - self.clock()
            if wait > wait_bound:
                log.info("outbox: %d left for later (next due in %.0fs)",
                         await self.store.run(self.store.pending_count), wait)
                return total
            await self.sleep(max(wait, 0.0))

    # the state database -------------------------------------------------------------------
    async def _state_ok(self) -> bool:
        """False (delivery stopped) while the state cannot be recorded. After a fault the
        database must take the write lock again, and the sends it missed are recorded first;
        the fault clears with the first write that succeeds."""
        self._stopped = False
        problem = await self.store.run(self.store.problem)
        if problem is None and (self.fault or self._unrecorded):
            try:
                await self.store.run(self.store.writable)
                if self._unrecorded:
                    await self.store.run(self.store.mark, sorted(self._unrecorded), "sent", self.clock())
                    self._unrecorded.clear()
                    await self._resumed()
            except sqlite3.Error as exc:
                problem = f"state database not writable: {exc}"
        if problem is not None:
            await self._halt(problem)
            return False
        return True

    async def _halt(self, message: str) -> None:
        """Stop delivery for a state it cannot record. The fault is set before the note is
        written (the note may wait on the database: /healthz must already say so)."""
        self._stopped = True
        if message != self.fault:
            self.fault = message
            log.error("delivery stopped, nothing is sent until it can be recorded: %s", message)
            await self.store.run(self.store.note_fault, f"delivery stopped: {message}", self.holder,
                                 self.clock())

    async def _resumed(self) -> None:
        if self.fault is not None:
            self.fault = None
            log.warning("delivery resumed: the state database records again")
            await self.store.run(self.store.note_fault, None, self.holder, self.clock())

    def _leased(self, by_dest: dict[str, list[OutboxRow]]) -> dict[str, list[OutboxRow]]:
        """Shared state: the destinations this instance holds (or takes over), each with its
        rows read again under the lease (another instance may have sent some meanwhile).
        On the store's thread (Store.run)."""
        mine = {}
        for dest in by_dest:
            if self._renew(dest):
                mine[dest] = self.store.due(self.clock(), destination=dest)
        return {d: rows for d, rows in mine.items() if rows}

    def _renew(self, dest: str) -> bool:
        return self.store.take_lease(f"destination:{dest}", self.holder, self.clock(),
                                     DESTINATION_LEASE_SECONDS)

    async def _claim(self, rows: Sequence[OutboxRow]) -> bool:
        """Count the attempt before sending; False (and delivery stopped) if it cannot be written.
        Shared state: the destination's lease is renewed first; lost, nothing is sent."""
        if self._stopped:
            return False
        try:
            if not await self.store.run(self._take, rows):
                log.info("destination=%s taken over by another instance", rows[0].alert.destination)
                return False
        except sqlite3.Error as exc:
            await self._halt(f"state database not writable: {exc}")
            return False
        await self._resumed()
        return True

    def _take(self, rows: Sequence[OutboxRow]) -> bool:
        """The lease renewed (shared state) and the attempt counted; on the store's thread."""
        if self.store.shared and not self._renew(rows[0].alert.destination):
            return False
        self.store.claim([r.alert.alert_id for r in rows])
        return True

    async def _record_sent(self, alert_ids: Sequence[str]) -> None:
        if not alert_ids:
            return
        try:
            await self.store.run(self.store.mark, alert_ids, "sent", self.clock())
        except sqlite3.Error as exc:
            self._unrecorded.update(alert_ids)
            await self._halt(f"state database not writable: {exc}")
            raise Unrecorded from None

    # one destination ----------------------------------------------------------------------
    async def _guarded(self, dest: str, rows: list[OutboxRow]) -> DrainReport:
        """One destination's pass; what goes wrong here stays here."""
        try:
            return await self._destination(dest, rows)
        except Unrecorded:
            return DrainReport()
        except sqlite3.Error as exc:
            await self._halt(f"state database: {exc}")
            return DrainReport()
        except Exception as exc:  # noqa: BLE001 - one destination's bug never touches another
            log.exception("destination=%s delivery pass crashed (a bug): the others go on", dest)
            await self._park(dest, rows, f"internal error: {type(exc).__name__}: {exc}")
            return DrainReport(retried=len(rows))

    async def _park(self, dest: str, rows: list[OutboxRow], message: str) -> None:
        """Leave `rows` pending, backed off, with `message` recorded for the destination."""
        try:
            await self.store.run(self._parked, dest, rows, message)
        except sqlite3.Error as exc:
            await self._halt(f"state database: {exc}")

    def _parked(self, dest: str, rows: list[OutboxRow], message: str) -> None:
        now = self.clock()
        self._log_once(dest, message, now, retryable=True)
        for row in rows:
            delay = min(self.backoff(row.attempts + 1), MAX_RETRY_DELAY)
            self.store.mark([row.alert.alert_id], "pending", now, error=message,
                            due=now + delay, attempt=True)

    async def _destination(self, dest: str, rows: list[OutboxRow]) -> DrainReport:
        now = self.clock()
        fresh = [r for r in rows if now - r.created <= self.settings.max_age]
        expired = [r for r in rows if now - r.created > self.settings.max_age]
        if expired:
            await self.store.run(self._expire, dest, expired, now)
        try:
            notifier = self.notifier_for(dest)
        except PolicybotError as exc:     # e.g. a chat's platform token is not set
            notifier, reason = None, str(exc)
        else:
            reason = f"destination '{dest}' is not configured"
        if notifier is None:
            await self.store.run(self._fail, dest, fresh, reason, now)
            return DrainReport(failed=len(fresh), expired=len(expired))
        notices = [r for r in fresh if r.alert.notice is not None]
        alerts = [r for r in fresh if r.alert.notice is None and not r.alert.later]
        laters = [r for r in fresh if r.alert.notice is None and r.alert.later]
        report = await self._send_each(dest, notifier, notices) if notices else DrainReport()
        if alerts and not report.retried and not self._stopped:
            recent = await self.store.run(self.store.sent_since, dest, now - self.settings.digest_window)
            if len(alerts) + recent > self.settings.digest_after:
                joined = joining(alerts, laters)    # their story's line says "+N reports"
                gone = {r.alert.alert_id for r in joined}
                laters = [r for r in laters if r.alert.alert_id not in gone]
                report += await self._send_digest(dest, notifier, alerts, joined)
            else:
                report += await self._send_each(dest, notifier, alerts)
        if laters and not self._stopped:
            report += await self._send_laters(dest, notifier, laters)
        return report + DrainReport(expired=len(expired))

    async def _send_each(self, dest: str, notifier: Notifier, rows: list[OutboxRow]) -> DrainReport:
        sent = retried = failed = 0
        for row in rows:
            await self._limit(dest)
            outcome, done = await self._attempt(dest, [row], _single(notifier, row, self.store))
            sent += done
            failed += outcome == "failed"
            retried += outcome in ("retry", "paused")
            if outcome in ("paused", "halted"):
                break
        return DrainReport(sent=sent, retried=retried, failed=failed)

    async def _send_laters(self, dest: str, notifier: Notifier, rows: list[OutboxRow]) -> DrainReport:
        """A story's later reports, after the alerts of the pass (their first may be among them):
        a thread reply and an edit of the first message, a line, or folded (see stories/later.py)."""
        report = DrainReport()
        replied: dict[str, Alert] = {}    # story -> a later report sent in its thread
        for row in rows:
            how = await self.store.run(later_plan, self.store, notifier, row.alert)
            if how == "wait":   # the first message has not gone yet: after it
                await self.store.run(self.store.mark, [row.alert.alert_id], "pending", self.clock(),
                                     due=self.clock() + LATER_WAIT)
                report += DrainReport(retried=1)
            elif how == "fold":
                await self.store.run(self.store.mark, [row.alert.alert_id], "folded", self.clock())
            else:
                await self._limit(dest)
                send = _single(notifier, row) if how == "alone" else reply(notifier, row, self.store)
                outcome, done = await self._attempt(dest, [row], send)
                report += DrainReport(sent=done, failed=int(outcome == "failed"),
                                      retried=int(outcome in ("retry", "paused")))
                if done and how == "reply":
                    replied[row.alert.story] = row.alert
                if outcome in ("paused", "halted"):
                    break
        for alert in replied.values():   # one edit per story and pass
            await edit_first(self.store, notifier, alert)
        return report

    async def _send_digest(self, dest: str, notifier: Notifier, rows: list[OutboxRow],
                           joined: Sequence[OutboxRow] = ()) -> DrainReport:
        """One digest of `rows`, a line per story (render_digest.py): the later reports
        `joined` show on their first report's line and are recorded folded with the part
        that shows it (they count as folded reports, not as sent alerts)."""
        await self._limit(dest)
        log.info("destination=%s %d alerts due at once: sending a digest", dest, len(rows))
        alerts = {r.alert.alert_id: r.alert for r in (*rows, *joined)}
        folds = {r.alert.alert_id for r in joined}
        folded: set[str] = set()

        def send(ok: Accepted) -> Awaitable[None]:
            async def accepted(alert_ids: Sequence[str], ref: str | None) -> None:
                await report_accepted(ok, [a for a in alert_ids if a not in folds], ref)
                await self._record_part(dest, [alerts[a] for a in alert_ids if a in alerts],
                                        [a for a in alert_ids if a in folds - folded], ref)
                folded.update(folds.intersection(alert_ids))
            return notifier.send_digest(list(alerts.values()), accepted)

        outcome, done = await self._attempt(dest, rows, send)
        if outcome == "sent":    # the whole digest went: every line in it
            await self._record_part(dest, [], sorted(folds - folded), None)
        left = len(rows) - done
        return DrainReport(sent=done, digests=int(done > 0), failed=left * (outcome == "failed"),
                           retried=left * (outcome in ("retry", "paused")))

    async def _record_part(self, dest: str, shown: Sequence[Alert], folded: Sequence[str],
                           ref: str | None) -> None:
        """A digest part accepted: its later reports folded, the part the first message of
        the stories it shows first (stories/later.py: part_shown)."""
        if not folded and not (shown and ref):
            return
        try:
            await self.store.run(part_shown, self.store, dest, shown, folded, ref, self.clock())
        except sqlite3.Error as exc:   # left pending: folded (or its line said) once back
            await self._halt(f"state database not writable: {exc}")
            raise Unrecorded from None

    async def _limit(self, dest: str) -> None:
        for limiter in self.limits_for(dest):
            await limiter.acquire()

    async def _attempt(self, dest: str, rows: list[OutboxRow], send: Send) -> tuple[str, int]:
        """Claim, send, record. Returns (outcome, how many alerts the platform accepted)."""
        if not await self._claim(rows):
            return "halted", 0
        done: set[str] = set()

        async def accepted(alert_ids: Sequence[str], ref: str | None = None) -> None:
            fresh = [a for a in alert_ids if a not in done]
            await self._record_sent(fresh)
            done.update(fresh)

        try:
            await send(accepted)
            await accepted([r.alert.alert_id for r in rows])
        except Unrecorded:
            return "halted", len(done)
        except DeliveryError as exc:
            failed = [r for r in rows if r.alert.alert_id not in done]
            return await self.store.run(self._on_error, dest, failed, exc), len(done)
        except Exception as exc:  # noqa: BLE001 - a notifier bug must not lose the alert
            log.exception("destination=%s unexpected error while sending", dest)
            error = DeliveryError(f"unexpected: {exc!r}", retryable=True)
            failed = [r for r in rows if r.alert.alert_id not in done]
            return await self.store.run(self._on_error, dest, failed, error), len(done)
        return "sent", len(done)

    def _on_error(self, dest: str, rows: list[OutboxRow], exc: DeliveryError) -> str:
        """Record a failed send (on the store's thread); returns the outcome."""
        now = self.clock()
        ids = [r.alert.alert_id for r in rows]
        message = str(exc)
        self._log_once(dest, message, now, retryable=exc.retryable, wait=exc.retry_after)
        if not exc.retryable:
            self.store.mark(ids, "failed", now, error=message)
            return "failed"
        pause = clamp_wait(exc.retry_after)     # inf, 1e400, -3 and nan never stall a destination
        attempts = max((r.attempts for r in rows), default=0) + 1
        delay = pause if pause is not None else min(self.backoff(attempts), MAX_RETRY_DELAY)
        self.store.mark(ids, "pending", now, error=message, due=now + delay)
        if pause is None:
            return "retry"
        self.store.set_destination(dest, blocked_until=now + pause)
        self.store.delay_destination(dest, now + pause)
        return "paused"

    def backoff(self, attempts: int) -> float:
        """1 s, 2 s, 4 s ... with full jitter between half and the whole step."""
        step = 2.0 ** min(attempts - 1, 30)
        return step * self.rng.uniform(0.5, 1.0)

    def _log_once(self, dest: str, message: str, now: float, *, retryable: bool,
                  wait: float | None = None) -> None:
        """A new failure at ERROR; a platform's "wait N s" (429 + Retry-After, honoured, nothing
        for an operator to do) at INFO."""
        if self.store.destination_error(dest) != message:
            if retryable and wait is not None:
                log.info("destination=%s rate limited: waiting %.0fs as the platform asks (%s)",
                         dest, wait, message)
            else:
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


def _single(notifier: Notifier, row: OutboxRow, store: Store | None = None) -> Send:
    async def send(accepted: Accepted) -> None:
        ref = await notifier.send(row.alert)
        alert = row.alert
        if ref and alert.story and store is not None:
            await store.run(store.set_story_ref, alert.destination, alert.story, str(ref))
    return send
