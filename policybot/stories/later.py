"""How a story's later report reaches a destination that already has the story (delivery.py
sends it; this decides and edits). The first report went as an alert; the later one is:
- "reply": a notifier that threads (Slack bot, Telegram) replies to the first message, and
  the first message is edited to say "also reported by: ..." (best effort: a failed edit is
  logged, the next report's edit says it all again);
- "line": a notifier that cannot thread but can say one line (console) says it;
- "fold": a notifier that can do neither (Slack webhook), or a first message whose platform id
  is unknown, folds the report: nothing is posted, `status` counts it;
- "alone": the first message failed or expired: the later report is sent as an alert;
- "wait": the first message has not gone yet (retrying, held by a mute): after it.
A later report due with its first when a flood becomes a digest joins the first's digest line
instead ("+N reports", render_digest.py) and is folded with it (`joining`). A story whose first
report went inside a digest has the digest part that showed it as its first message
(`part_shown`): its later reports reply under that part, which is never edited (it shows
other stories too; "also reported by" is said by the replies themselves).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from policybot.codec import alert_from_json
from policybot.errors import DeliveryError
from policybot.model import Alert
from policybot.notify.base import Accepted, Notifier
from policybot.store import OutboxRow, Store

log = logging.getLogger(__name__)
LATER_WAIT = 60.0   # seconds a later report waits for its first message to go


def joining(alerts: Sequence[OutboxRow], laters: Sequence[OutboxRow]) -> list[OutboxRow]:
    """The later reports whose story's first report is among `alerts` (a digest's rows)."""
    stories = {r.alert.story for r in alerts if r.alert.story}
    return [r for r in laters if r.alert.story in stories]


def later_plan(store: Store, notifier: Notifier, alert: Alert) -> str:
    first = store.story_first(alert.destination, alert.story)
    if first is None or first.state in (None, "failed", "expired"):
        return "alone"
    if first.state in ("pending", "held"):
        return "wait"
    kind = getattr(notifier, "stories", None)
    if kind == "thread":
        return "reply" if first.ref else "fold"
    return "line" if kind == "line" else "fold"


def part_shown(store: Store, destination: str, shown: Sequence[Alert], folded: Sequence[str],
               ref: str | None, now: float) -> None:
    """A digest part accepted (on the store's thread: Store.run): the later reports it showed
    folded, and the part (platform id `ref`) the first message of every story whose first
    report here it shows (store.set_digest_ref checks which)."""
    firsts = [(a.story, a.alert_id) for a in shown if a.story] if ref else []
    with store.transaction():
        if folded:
            store.mark(folded, "folded", now)
        if ref and firsts:
            store.set_digest_ref(destination, firsts, ref)


def reply(notifier: Notifier, row: OutboxRow, store: Store) -> Callable[[Accepted], Awaitable[None]]:
    """delivery.py's send of a later report: a reply to the story's first message here (an
    alert's message, or the digest part that showed it)."""
    async def send(accepted: Accepted) -> None:
        first = await store.run(store.story_first, row.alert.destination, row.alert.story)
        await notifier.send_later(row.alert, first.ref if first else None)  # type: ignore[attr-defined]
    return send


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
    (on the store's thread: Store.run); no row for a digest part, which is never edited."""
    first = store.story_first(alert.destination, alert.story)
    row = store.db.execute("SELECT payload FROM outbox WHERE alert_id = ?", (first.alert_id,)
                           ).fetchone() if first and first.ref and not first.digest else None
    sources = store.story_sources(alert.destination, alert.story) if row is not None else []
    return first, row, sources
