"""Stopping promptly without losing anything.

`StopSignals`: the first SIGINT/SIGTERM asks the service to stop; a second one exits at once.
`SendGate`: wraps every notifier. Once closed, no new send starts (a send that would start
waits until its delivery pass is cancelled, so its alert stays pending in the outbox), while
the sends already under way may finish, for at most SEND_WAIT seconds. A send cut off by that
bound may repeat after the restart: the outbox's at-most-one-in-flight duplicate.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Awaitable, Sequence
from typing import TypeVar

from policybot.model import Alert
from policybot.notify.base import Accepted, Notifier, no_record

T = TypeVar("T")

log = logging.getLogger(__name__)

SEND_WAIT = 10.0          # seconds the sends in flight get to finish when the bot stops
SIGNALS = (signal.SIGINT, signal.SIGTERM)
EXIT_AT_ONCE = 130        # exit code of a second Ctrl-C


class StopSignals:
    """Installed on the loop before anything slow starts, so a Ctrl-C during start-up counts."""

    def __init__(self, stopping: asyncio.Event | None = None) -> None:
        self.stopping = stopping or asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def install(self) -> StopSignals:
        self._loop = asyncio.get_running_loop()
        for sig in SIGNALS:
            self._loop.add_signal_handler(sig, self._on_signal, sig)
        return self

    def remove(self) -> None:
        if self._loop is not None:
            for sig in SIGNALS:
                self._loop.remove_signal_handler(sig)
            self._loop = None

    def _on_signal(self, sig: signal.Signals) -> None:
        if self.stopping.is_set():
            log.warning("%s again: exiting at once", sig.name)
            logging.shutdown()
            os._exit(EXIT_AT_ONCE)
        log.info("%s: stopping (again to exit at once)", sig.name)
        self.stopping.set()


class SendGate:
    """Counts the sends in flight; `close()` lets them finish and starts no new one."""

    def __init__(self) -> None:
        self.closed = False
        self.in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._never = asyncio.Event()

    def wrap(self, notifier: Notifier) -> Notifier:
        return GatedNotifier(notifier, self)

    async def through(self, sending: Awaitable[T]) -> T:
        if self.closed:  # wait here until the delivery pass is cancelled: the row stays pending
            close = getattr(sending, "close", None)
            if close is not None:
                close()   # the coroutine never started: nothing was sent
            await self._never.wait()
        self.in_flight += 1
        self._idle.clear()
        try:
            return await sending
        finally:
            self.in_flight -= 1
            if not self.in_flight:
                self._idle.set()

    async def close(self, wait: float = SEND_WAIT) -> bool:
        """Start no new send; wait (at most `wait` s) for those in flight. True if they all ended."""
        self.closed = True
        try:
            await asyncio.wait_for(self._idle.wait(), wait)
        except TimeoutError:
            log.warning("%d sends still in flight after %.0fs: cut off (they may repeat after "
                        "the restart)", self.in_flight, wait)
            return False
        return True


class GatedNotifier:
    def __init__(self, inner: Notifier, gate: SendGate) -> None:
        self.inner = inner
        self.name = inner.name
        self.gate = gate
        self.stories = getattr(inner, "stories", None)   # how a story's later reports go

    async def send(self, alert: Alert) -> str | None:
        return await self.gate.through(self.inner.send(alert))

    async def send_later(self, alert: Alert, ref: str | None) -> None:
        await self.gate.through(self.inner.send_later(alert, ref))  # type: ignore[attr-defined]

    async def edit_first(self, ref: str, first: Alert, sources: Sequence[str]) -> None:
        await self.gate.through(self.inner.edit_first(ref, first, sources))  # type: ignore[attr-defined]

    async def send_digest(self, alerts: Sequence[Alert], accepted: Accepted = no_record) -> None:
        await self.gate.through(self.inner.send_digest(alerts, accepted))

    async def close(self) -> None:
        await self.inner.close()
