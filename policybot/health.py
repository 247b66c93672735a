"""Blind spots: feeds that stopped telling us anything, reported once to the `ops:` destinations.

A feed is a blind spot when it
- is disabled (410 Gone): reported at once;
- has been failing for longer than `health.failing_after` (default 24 h);
- has been silent far longer than its usual rhythm: no new item for more than
  max(`silent_factor` x its median gap between new items, `silent_min`), when it has a
  rhythm (at least MIN_GAPS gaps between polls that found new items).

Each episode is reported once: `feeds.reported` (failing, gone; cleared by the next successful
poll) and `feeds.silent_reported` (cleared by the next poll that finds a new item). A report is an Alert
for each ops destination, whose one Match has rule_id "ops:feed-health" and no hits. It goes
through the outbox like any alert, so it is durable, rate-limited and retried; with no `ops:`
destinations the blind spot is only logged (once) and shown by `status`.
"""

from __future__ import annotations

import logging
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from policybot.config import HealthSettings
from policybot.model import Alert, Feed, Item, Match, alert_key
from policybot.store import FeedState, Store

log = logging.getLogger(__name__)

RULE_ID = "ops:feed-health"
MIN_GAPS = 3


@dataclass(frozen=True, slots=True)
class BlindSpot:
    feed_id: str
    kind: str          # "gone" | "failing" | "silent"
    since: float       # failing since / last new item
    message: str       # one line for people
    reported: bool     # already reported for this episode


def blind_spots(store: Store, feeds: Sequence[Feed], settings: HealthSettings, now: float) -> list[BlindSpot]:
    """Every current blind spot, reported or not, in config order."""
    states = {s.id: s for s in store.feed_states()}
    spots = []
    for feed in feeds:
        state = states.get(feed.id)
        if state is None:
            continue
        spot = _failing(feed, state, settings, now) or _silent(store, feed, state, settings, now)
        if spot is not None:
            spots.append(spot)
    return spots


def usual_gap(times: Sequence[float]) -> float | None:
    """The median gap between polls that found new items, once there are enough of them."""
    gaps = [b - a for a, b in zip(times, times[1:], strict=False) if b > a]
    return statistics.median(gaps) if len(gaps) >= MIN_GAPS else None


def report_blind_spots(store: Store, feeds: Sequence[Feed], settings: HealthSettings,
                       ops: Sequence[str], now: float) -> list[BlindSpot]:
    """Enqueue an ops alert for each blind spot not yet reported; returns those reported now."""
    fresh = [s for s in blind_spots(store, feeds, settings, now) if not s.reported]
    for spot in fresh:
        log.warning("feed=%s blind spot: %s", spot.feed_id, spot.message)
        column = "silent_reported" if spot.kind == "silent" else "reported"
        with store.transaction():
            store.enqueue([ops_alert(spot, dest, now) for dest in ops], now)
            store.update_feed(spot.feed_id, **{column: now})
    return fresh


def ops_alert(spot: BlindSpot, destination: str, now: float) -> Alert:
    """The report as an Alert: one per episode and destination (the id names both)."""
    when = datetime.fromtimestamp(now, UTC)
    item = Item(feed_id=spot.feed_id, item_id=f"{RULE_ID}:{spot.kind}:{spot.since:.0f}",
                title=spot.message, link=None, summary=spot.message, content="", published=when)
    match = Match(rule_id=RULE_ID, title="Feed health", severity="high", hits=())
    return Alert(alert_id=alert_key(item, destination), destination=destination, item=item,
                 matches=(match,), feed_title=spot.feed_id)


def _failing(feed: Feed, state: FeedState, settings: HealthSettings, now: float) -> BlindSpot | None:
    since = state.failing_since or state.last_poll or now
    if state.disabled:
        return BlindSpot(feed.id, "gone", since, f"Feed '{feed.id}' disabled: {state.disabled}",
                         state.reported is not None)
    if not state.error_count or now - since < settings.failing_after:
        return None
    message = f"Feed '{feed.id}' failing for {_age(now - since)}: {state.last_error}"
    return BlindSpot(feed.id, "failing", since, message, state.reported is not None)


def _silent(store: Store, feed: Feed, state: FeedState, settings: HealthSettings,
            now: float) -> BlindSpot | None:
    last = state.last_new_item
    if last is None or now - last <= settings.silent_min:
        return None
    gap = usual_gap(store.new_item_times(feed.id))
    if gap is None or now - last <= max(settings.silent_factor * gap, settings.silent_min):
        return None
    message = (f"Feed '{feed.id}' silent for {_age(now - last)}: no new item, when it usually "
               f"has one every {_age(gap)}")
    return BlindSpot(feed.id, "silent", last, message, state.silent_reported is not None)


def _age(seconds: float) -> str:
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.0f} d"
    if seconds >= 3600:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 60:.0f} min"
