"""How a story's later report reaches a destination that already has the story (delivery.py
sends it; this decides and edits). The first report went as an alert; the later one is:
- "reply": a notifier that threads (Slack bot, Telegram) replies to the first message, and
  the first message is edited to say "also reported by: ..." (best effort: a failed edit is
  logged, the next report's edit says it all again);
- "line": a notifier that cannot thread but can say one line (console) says it;
- "fold": a notifier that can do neither (Slack webhook), or a first message whose platform id
  is unknown (it went in a digest), folds the report: nothing is posted, `status` counts it;
- "alone": the first message failed or expired: the later report is sent as an alert;
- "wait": the first message has not gone yet (retrying, held by a mute): after it.
A later report due with its first when a flood becomes a digest joins the first's digest line
instead ("+N reports", render_digest.py) and is folded with it (`joining`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from policybot.codec import alert_from_json
from policybot.errors import DeliveryError
from policybot.model import Alert
from policybot.notify.base import Notifier
from policybot.store import OutboxRow, Store

log = logging.getLogger(__name__)
LATER_WAIT = 60.0   # seconds a later report waits for its first message to go


def joining(alerts: Sequence[OutboxRow], laters: Sequence[OutboxRow]) -> list[OutboxRow]:
    """The later reports whose story's first report is among `alerts` (a digest's rows)."""
    stories = {r.alert.story for r in alerts if r.alert.story}
    return [r for r in laters if r.alert.story in stories]


def later_plan(store: Store, notifier: Notifier, alert: Alert) -> str:
    first = store.story_first(alert.destination, alert.story)
    if first is None or first[2] in (None, "failed", "expired"):
        return "alone"
    if first[2] in ("pending", "held"):
        return "wait"
    kind = getattr(notifier, "stories", None)
    if kind == "thread":
        return "reply" if first[1] else "fold"
    return "line" if kind == "line" else "fold"


async def edit_first(store: Store, notifier: Notifier, alert: Alert) -> None:
    first, row, sources = await store.run(_first_message, store, alert)
    if first is None or row is None or getattr(notifier, "stories", None) != "thread":
        return
    try:
        await notifier.edit_first(first[1], alert_from_json(row[0]), sources)
    except DeliveryError as exc:
        log.warning("destination=%s could not edit a story's first message: %s",
                    alert.destination, exc)


def _first_message(store: Store, alert: Alert) -> tuple[Any, Any, list[str]]:
    """The story's first message here, its outbox row and the outlets of its later reports
    (on the store's thread: Store.run)."""
    first = store.story_first(alert.destination, alert.story)
    row = store.db.execute("SELECT payload FROM outbox WHERE alert_id = ?",
                           (first[0],)).fetchone() if first and first[1] else None
    sources = store.story_sources(alert.destination, alert.story) if row is not None else []
    return first, row, sources
