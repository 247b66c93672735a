"""Console notifier: writes the rendered plain-text alert to a stream (default: stdout)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

from policybot.errors import DeliveryError
from policybot.model import Alert
from policybot.notify.base import Accepted, Clock, no_record, report_accepted, utcnow
from policybot.render import console_message
from policybot.render_digest import console_digest
from policybot.render_story import console_also


class ConsoleNotifier:
    def __init__(self, name: str, stream: TextIO | None = None, *, clock: Clock = utcnow) -> None:
        self.name = name
        self.stream = stream
        self.clock = clock

    def _write(self, text: str) -> None:
        stream = self.stream if self.stream is not None else sys.stdout
        try:
            stream.write(text + "\n\n")
            stream.flush()
        except (OSError, ValueError) as exc:   # closed stream, broken pipe, full disk
            raise DeliveryError(f"console: cannot write: {exc}", retryable=True) from None

    async def send(self, alert: Alert) -> None:
        self._write(alert.notice or console_message(alert, self.clock()))

    stories = "line"   # a later report is one line; nothing to edit

    async def send_later(self, alert: Alert, ref: str | None) -> None:
        stream = self.stream if self.stream is not None else sys.stdout
        try:
            stream.write(console_also(alert) + "\n")
            stream.flush()
        except (OSError, ValueError) as exc:
            raise DeliveryError(f"console: cannot write: {exc}", retryable=True) from None

    async def send_digest(self, alerts: Sequence[Alert], accepted: Accepted = no_record) -> None:
        if alerts:
            self._write(console_digest(alerts, self.clock()))
            await report_accepted(accepted, [a.alert_id for a in alerts])

    async def close(self) -> None:
        return None
