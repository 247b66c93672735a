"""Pure: the digest a flood of alerts for one destination becomes (delivery.py decides when).

One line per story: a story's first report here and its later reports of the same pass
(delivery.py hands them over together) show as the first report's line, ending in
"+3 reports, also: Reuters, 财新 (+1)"; the line delivers all of them. Lines are grouped by
rule, the most severe rule first, and packed into parts within each platform's limits (a part
that starts inside a group repeats its heading, marked (cont.)). Each part comes with the ids
of the alerts it shows first, so an accepted part is never posted again. Slack's digest is
in render_slack.py, on the same lines and packing.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from policybot.model import SEVERITIES, Alert, Match
from policybot.render import LOOK, TELEGRAM_MAX, clean, clip, safe_url, tg_escape, utf16_len, when

DIGEST_TITLE_MAX = 150   # characters of a title in a digest line
SOURCE_MAX = 60          # characters of a source's name in a digest line
ALSO_NAMES = 2           # outlets named in an "also" list; the rest are counted
ALSO_NAME_MAX = 40       # characters of each outlet named there

Group = tuple[str, list[tuple[str, tuple[str, ...]]]]   # (heading, [(line, alert ids)]), marked up
Part = tuple[str, tuple[str, ...]]                      # (text, ids of the alerts it shows first)
Line = Callable[[str, str | None, str], str]            # (title, url, meta) -> a marked-up line


@dataclass(frozen=True, slots=True)
class Entry:
    """One digest line: a story's lead report and the other reports shown with it."""

    lead: Alert
    others: tuple[Alert, ...] = ()

    @property
    def ids(self) -> tuple[str, ...]:
        return (self.lead.alert_id, *(a.alert_id for a in self.others))


def source_name(alert: Alert) -> str:
    return clean(alert.feed_title or alert.item.feed_id).strip()


def also_names(sources: Iterable[str], exclude: Iterable[str] = ()) -> str:
    """'Reuters, 财新 (+2)': distinct outlets, each cut to ALSO_NAME_MAX, the first
    ALSO_NAMES named and the rest counted; those in `exclude` left out."""
    skip = {clip(clean(s).strip(), ALSO_NAME_MAX) for s in exclude}
    names = [n for n in dict.fromkeys(clip(clean(s).strip(), ALSO_NAME_MAX) for s in sources)
             if n and n not in skip]
    more = f" (+{len(names) - ALSO_NAMES})" if len(names) > ALSO_NAMES else ""
    return ", ".join(names[:ALSO_NAMES]) + more


def by_story(alerts: Sequence[Alert]) -> list[Entry]:
    """One entry per story (an alert of no story is its own), in order of first appearance;
    its lead is the story's first report (the alert not marked later), else its first alert."""
    stories: dict[str, list[Alert]] = {}
    for alert in alerts:
        stories.setdefault(alert.story or f"\x00{alert.alert_id}", []).append(alert)
    entries = []
    for members in stories.values():
        lead = next((a for a in members if not a.later), members[0])
        entries.append(Entry(lead, tuple(a for a in members if a is not lead)))
    return entries


def reports_note(entry: Entry) -> str:
    """'+3 reports, also: Reuters, 财新 (+1)' (outlets other than the lead's), or ''."""
    n = len(entry.others)
    if not n:
        return ""
    also = also_names((source_name(a) for a in entry.others), [source_name(entry.lead)])
    return f"+{n} report{'s' if n != 1 else ''}" + (f", also: {also}" if also else "")


def _by_rule(entries: Sequence[Entry]) -> list[tuple[Match, list[Entry]]]:
    """Entries grouped by their lead's rules, the most severe rule first, then by first
    appearance."""
    by_rule: dict[str, tuple[Match, list[Entry]]] = {}
    for entry in entries:
        for m in entry.lead.matches:
            by_rule.setdefault(m.rule_id, (m, []))[1].append(entry)
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    return sorted(by_rule.values(), key=lambda g: -rank.get(g[0].severity, 1))


def digest_groups(alerts: Sequence[Alert], head: Callable[[Match, int], str],
                  line: Line) -> tuple[int, list[Group]]:
    """(how many lines, the lines grouped by rule under their headings)."""
    entries = by_story(alerts)
    out = []
    for match, members in _by_rule(entries):
        lines = []
        for e in members:
            item = e.lead.item
            title = clip(clean(item.title).strip() or "(untitled)", DIGEST_TITLE_MAX)
            meta = f"{clip(source_name(e.lead), SOURCE_MAX)} · {when(item.published, None)}"
            note = reports_note(e)
            lines.append((line(title, safe_url(item.link), f"{meta} · {note}" if note else meta), e.ids))
        out.append((head(match, len(members)), lines))
    return len(entries), out


def pack(groups: list[Group], limit: int, size: Callable[[str], int] = len) -> list[Part]:
    """Join headings and lines into texts of at most `limit`; a text that starts inside a
    group repeats its heading, marked (cont.). Each text comes with the alerts it shows
    first (a story of several rules shows in several groups): once that text is posted,
    those alerts have reached the reader."""
    parts: list[Part] = []
    cur: list[str] = []
    ids: list[str] = []
    shown: set[str] = set()
    for heading_, lines in groups:
        pending = [heading_]
        for line, alert_ids in lines:
            if cur and size("\n".join([*cur, *pending, line])) > limit:
                parts.append(("\n".join(cur), tuple(ids)))
                cur, ids, pending = [], [], [f"{heading_} (cont.)"]
            cur += [*pending, line]
            pending = []
            fresh = [a for a in alert_ids if a not in shown]
            shown.update(fresh)
            ids += fresh
    if cur:
        parts.append(("\n".join(cur), tuple(ids)))
    return parts


def heading(n: int, part: int, parts: int) -> str:
    label = f"{n} policy alert{'s' if n != 1 else ''}"
    return f"{label} ({part}/{parts})" if parts > 1 else label


def telegram_digest(alerts: Sequence[Alert], now: datetime) -> list[str]:
    return [text for text, _ in telegram_digest_parts(alerts, now)]


def telegram_digest_parts(alerts: Sequence[Alert], now: datetime) -> list[Part]:
    """The digest's messages, each with the ids of the alerts it delivers."""
    def head(m: Match, n: int) -> str:
        emoji = LOOK.get(m.severity, LOOK["normal"])[0]
        return f"\n{emoji} <b>{tg_escape(clip(clean(m.title), 120))}</b> · {n}"

    def line(title: str, url: str | None, meta: str) -> str:
        link = f'<a href="{html.escape(url)}">{tg_escape(title)}</a>' if url else tg_escape(title)
        return f"• {link} — {tg_escape(meta)}"

    room = TELEGRAM_MAX - 40   # the heading "<b>N policy alerts (i/k)</b>\n"
    count, groups = digest_groups(alerts, head, line)
    bodies = pack(groups, room, utf16_len)
    return [(f"<b>{heading(count, i, len(bodies))}</b>\n{body}", ids)
            for i, (body, ids) in enumerate(bodies, 1)]


def console_digest(alerts: Sequence[Alert], now: datetime) -> str:
    def head(m: Match, n: int) -> str:
        return f"\n{LOOK.get(m.severity, LOOK['normal'])[0]} {clean(m.title)} ({m.rule_id}) · {n}"

    def line(title: str, url: str | None, meta: str) -> str:
        return f"  • {title} — {meta}" + (f"\n    {url}" if url else "")

    count, groups = digest_groups(alerts, head, line)
    lines = (x for h, ls in groups for x in [h, *(t for t, _ in ls)])
    return "\n".join([heading(count, 1, 1), *lines])
