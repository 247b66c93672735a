"""`status`: feeds, outbox per destination (with the later reports of a story folded, not
posted, where the platform can neither thread nor edit), alerts per rule, subscriptions. Never a secret.

Every cell may hold outside text (a feed's error, a chat's /watch text): `cell` drops its
control characters and escape sequences and keeps it on one line, so `status` prints it as
text and the table stays a table.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Protocol, TextIO

from policybot.feeds.text import strip_controls
from policybot.health import blind_spots
from policybot.notify.base import utcnow
from policybot.render import utc_stamp

if TYPE_CHECKING:
    from policybot.config import Config
    from policybot.store import Store


class App(Protocol):
    """What status reads (the App has both; `status` passes just these, without building one)."""

    @property
    def config(self) -> Config: ...
    @property
    def store(self) -> Store: ...


def _when(ts: float | None) -> str:
    return "-" if ts is None else utc_stamp(ts)


def cell(value: object) -> str:
    """One table cell: no control characters, no escape sequences, one line."""
    return " ".join(strip_controls(str(value)).split())


def _table(out: TextIO, header: list[str], rows: list[list[str]]) -> None:
    rows = [[cell(c) for c in row] for row in rows]
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=False)]
    for row in [header, *rows]:
        cells = (str(c).ljust(w) for c, w in zip(row, widths, strict=False))
        out.write(("  " + "  ".join(cells)).rstrip() + "\n")


def feed_rows(app: App) -> list[list[str]]:
    states = {s.id: s for s in app.store.feed_states()}
    rows = []
    for feed in app.config.feeds:
        s = states.get(feed.id)
        if s is None:
            rows.append([feed.id, "never polled", "-", "-", "-"])
            continue
        if s.disabled:
            health = f"DISABLED: {s.disabled}"
        elif s.error_count:
            health = f"failing x{s.error_count} since {_when(s.failing_since)}: {s.last_error}"
        else:
            health = "ok"
        rows.append([feed.id, _when(s.last_poll), _when(s.last_new_item), _when(s.next_poll), health])
    return rows


def outbox_rows(app: App) -> list[list[str]]:
    counts = app.store.outbox_counts()
    errors = app.store.last_errors()
    dest_states = app.store.destination_states()
    now = utcnow().timestamp()
    names = sorted({d for d, _ in counts} | set(app.config.destinations))
    rows = []
    for dest in names:
        blocked = dest_states.get(dest, {}).get("blocked_until")
        limited = f"until {_when(blocked)}" if blocked and blocked > now else "-"
        rows.append([dest, *(str(counts.get((dest, s), 0)) for s in
                             ("sent", "pending", "held", "failed", "expired", "folded")),
                     limited, (errors.get(dest) or "-")[:120]])
    return rows


def state_line(app: App) -> str:
    """The state database: ok, or why a running bot stopped delivering (its note), or why this
    process finds it unusable."""
    problem = app.store.problem()
    if problem is None:
        try:
            app.store.writable()
        except sqlite3.Error as exc:
            problem = f"not writable now: {exc}"
    noted = app.store.noted_fault()
    return "; ".join(filter(None, [problem, noted])) or "ok"


def print_status(app: App, out: TextIO) -> None:
    out.write(f"State: {state_line(app)}\n\n")
    out.write(f"Feeds ({len(app.config.feeds)}):\n")
    _table(out, ["feed", "last poll", "last new item", "next poll", "health"], feed_rows(app))
    spots = blind_spots(app.store, app.config.feeds, app.config.health, utcnow().timestamp())
    ops = ", ".join(app.config.ops) or "no ops destination"
    out.write(f"\nBlind spots ({len(spots)}; reported to: {ops}):\n")
    _table(out, ["feed", "since", "reported", "what"],
           [[s.feed_id, _when(s.since), "yes" if s.reported else "not yet", s.message] for s in spots]
           or [["-", "-", "-", "none"]])
    out.write("\nOutbox by destination:\n")
    _table(out, ["destination", "sent", "pending", "held", "failed", "expired", "folded",
                 "rate-limited", "last error"], outbox_rows(app))
    per_rule = app.store.alerts_per_rule()
    out.write("\nAlerts per rule:\n")
    _table(out, ["rule", "alerts"], [[r, str(n)] for r, n in sorted(per_rule.items())] or [["-", "0"]])
    subs = subscription_rows(app)
    out.write(f"\nSubscribers ({len(subs)}):\n")
    _table(out, ["subscriber", "muted until", "rules", "watches"], subs or [["-", "-", "-", "-"]])
    if app.store.shared:
        rows = instance_rows(app)
        out.write(f"\nInstances ({len(rows)}):\n")
        _table(out, ["instance", "host", "pid", "last heartbeat", "holds", "last delivery fault"],
               rows or [["-"] * 6])


def instance_rows(app: App) -> list[list[str]]:
    """A shared (PostgreSQL) state: each instance, its heartbeat, the live leases it holds
    (feeds counted, destinations and the Telegram poller named) and why its delivery last
    stopped (and when it resumed)."""
    now = utcnow().timestamp()
    held: dict[str, list[str]] = {}
    for name, holder in app.store.leases(now).items():
        held.setdefault(holder, []).append(name)
    rows = []
    for one in app.store.instances():
        names = held.get(one.id, [])
        feeds = sum(n.startswith("feed:") for n in names)
        shown = [n for n in names if not n.startswith("feed:")]
        shown += [f"{feeds} feed polls"] if feeds else []
        fault = one.fault or "-"
        if one.fault and one.fault_over is not None:
            fault += f"; resumed {_when(one.fault_over)}"
        rows.append([one.id, one.host, str(one.pid), _when(one.heartbeat), ", ".join(shown) or "-",
                     fault[:160]])
    return rows


def subscription_rows(app: App) -> list[list[str]]:
    store = app.store
    return [[dest, _when(muted), ", ".join(store.subscriptions_of(dest)) or "-",
             "; ".join(text for _, _, text in store.watches(dest)) or "-"]
            for dest, muted in store.subscribers()]
