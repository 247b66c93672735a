"""Pure rendering: alerts -> one message per platform (escaping, limits, snippets).

Feed text is untrusted. Every piece of it is cleaned (control characters dropped, white space
collapsed), cut to its budget as PLAIN text, and only then escaped and wrapped in markup, so a
cut never lands inside a tag or an entity. Only http(s) links become links. The budgets keep
every message inside the platforms' limits even when escaping multiplies the text five-fold.
Console output marks the matched terms as `**term**` (plain text, the same on a tty or a file).
Each rule lists, and the snippet bolds, only its evidence: the few distinct terms that decided
it, the most specific first (matching/evidence.py). Slack's rendering is in render_slack.py.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

from policybot.matching.evidence import evidence, evidence_hits
from policybot.model import Alert, Hit, Item, Match

TELEGRAM_MAX = 4096
TITLE_MAX = 250          # characters of a title in a single alert
SNIPPET_MAX = 280        # characters of snippet text
SNIPPET_BEFORE = 80      # context kept before the first hit
URL_MAX = 1000           # a longer link is shown as plain text
RULES_MAX = 10           # rules named in full; the rest are counted

LOOK = {"low": ("⚪", "Low"), "normal": ("🔵", "Normal"), "high": ("🟠", "High"),
        "urgent": ("🔴", "Urgent")}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_SPACE = re.compile(r"\s+")
STAMP = "%Y-%m-%d %H:%M UTC"
_SLACK_FORMAT = str.maketrans({"*": "∗", "_": "ˍ", "~": "∼", "`": "ˋ"})

Segment = tuple[str, bool]   # (plain text, bold)


@dataclass(frozen=True, slots=True)
class RuleLine:
    title: str
    id: str
    terms: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class View:
    """Platform-neutral facts about one alert: cleaned and cut, not yet escaped."""

    emoji: str
    severity: str
    title: str
    url: str | None
    source: str
    when: str
    rules: tuple[RuleLine, ...]
    more_rules: int
    snippet: tuple[Segment, ...]


# ---------------------------------------------------------------- plain-text helpers

def clean(text: str) -> str:
    """Drop control and bidi-override characters; collapse white space to single spaces."""
    return _SPACE.sub(" ", _CONTROL.sub("", text))


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def safe_url(link: str | None) -> str | None:
    """An http(s) URL with `| < > " ' space` and non-ASCII percent-encoded, else None
    (also None when, escaped, it would be longer than URL_MAX)."""
    if not link:
        return None
    link = _CONTROL.sub("", link.strip())
    try:
        parts = urlsplit(link)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    url = quote(link, safe="/:?#[]@!$&()*+,;=%~-._")
    return url if len(url) + 4 * url.count("&") <= URL_MAX else None


def utc_stamp(ts: float) -> str:
    """UNIX seconds as people read them: "2026-11-29 08:14 UTC"."""
    return datetime.fromtimestamp(ts, UTC).strftime(STAMP)


def when(published: datetime | None, now: datetime | None) -> str:
    """"2026-11-29 08:14 UTC (46 min ago)"; no age when `now` is None (digests, whose text
    must not change between a send and its retry)."""
    if published is None:
        return "time unknown"
    if published.tzinfo is None:
        published = published.replace(tzinfo=UTC)
    stamp = published.astimezone(UTC).strftime(STAMP)
    age = (now - published).total_seconds() if now is not None else -1
    if age < 0:
        return stamp
    if age < 60:
        return f"{stamp} (just now)"
    if age < 3600:
        return f"{stamp} ({int(age // 60)} min ago)"
    if age < 48 * 3600:
        return f"{stamp} ({int(age // 3600)} h ago)"
    return f"{stamp} ({int(age // 86400)} d ago)"


def merge_spans(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, with overlapping and touching spans joined: one bold run, not `**a****b**`."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        elif start < end:
            merged.append((start, end))
    return merged


def _spans(text: str, hits: Sequence[Hit]) -> list[tuple[int, int]]:
    return merge_spans((max(0, h.start), min(len(text), h.end)) for h in hits)


def _window(text: str, first: tuple[int, int], room: int) -> tuple[int, int]:
    lo = max(0, first[0] - min(SNIPPET_BEFORE, room // 3))
    if lo > 0:
        space = text.find(" ", lo, first[0])
        lo = space + 1 if space != -1 else lo
    hi = min(len(text), lo + room)
    if hi < len(text):
        space = text.rfind(" ", max(first[1], hi - 30), hi)
        hi = space if space != -1 else hi
    return lo, max(hi, min(len(text), first[1], lo + room))


def snippet(item: Item, matches: Sequence[Match], room: int = SNIPPET_MAX) -> tuple[Segment, ...]:
    """Text around the first evidence hit in the summary (else the content), every occurrence
    of the rules' evidence terms in it bold (matching/evidence.py: the few terms that decided,
    not every word that appears). When no evidence is in them, the opening of the summary
    (or content), nothing bold."""
    hits = evidence_hits(matches)
    for name in ("summary", "content"):
        text = item.text(name)
        spans = _spans(text, [h for h in hits if h.field == name])
        if spans:
            return _segments(text, spans, room)
    for name in ("summary", "content"):
        text = clean(item.text(name)).strip()
        if text:
            return ((clip(text, room), False),)
    return ()


def _segments(text: str, spans: list[tuple[int, int]], room: int) -> tuple[Segment, ...]:
    lo, hi = _window(text, spans[0], room)
    out: list[Segment] = [("…", False)] if lo > 0 else []
    pos = lo
    for start, end in spans:
        start, end = max(start, pos), min(end, hi)
        if start >= end:
            continue
        out += [(clean(text[pos:start]), False), (clean(text[start:end]), True)]
        pos = end
    out.append((clean(text[pos:hi]), False))
    if hi < len(text):
        out.append(("…", False))
    return tuple((s, bold) for s, bold in out if s)


def _rule_lines(matches: Sequence[Match]) -> tuple[RuleLine, ...]:
    lines = []
    for m in matches[:RULES_MAX]:
        terms = tuple(clip(clean(h.term), 60) for h in evidence(m))
        lines.append(RuleLine(clip(clean(m.title or m.rule_id), 120), clip(m.rule_id, 80), terms))
    return tuple(lines)


def view(alert: Alert, now: datetime, scale: float = 1.0) -> View:
    """`scale` < 1 shrinks the title and snippet budgets (used when markup would not fit)."""
    emoji, word = LOOK.get(alert.severity, LOOK["normal"])
    item = alert.item
    return View(
        emoji=emoji,
        severity=word,
        title=clip(clean(item.title).strip() or "(untitled)", int(TITLE_MAX * scale)),
        url=safe_url(item.link),
        source=clip(clean(alert.feed_title or item.feed_id), int(100 * scale)),
        when=when(item.published, now),
        rules=_rule_lines(alert.matches),
        more_rules=max(0, len(alert.matches) - RULES_MAX),
        snippet=snippet(item, alert.matches, int(SNIPPET_MAX * scale)),
    )


SCALES = (1.0, 0.5, 0.25, 0.1)


# ---------------------------------------------------------------- console

def console_message(alert: Alert, now: datetime) -> str:
    v = view(alert, now)
    lines = [f"{v.emoji} {v.severity.upper()}  {v.title}"]
    if v.url:
        lines.append(f"  {v.url}")
    lines.append(f"  {v.source} · {v.when}")
    lines.append("  Rules: " + _rules_text(v, str, str, lambda s: f"({s})", 10_000))
    if v.snippet:
        lines.append("  " + "".join(f"**{s}**" if bold else s for s, bold in v.snippet))
    return "\n".join(lines)


def _rules_text(v: View, esc: Callable[[str], str], strong: Callable[[str], str],
                code: Callable[[str], str], budget: int = 1500) -> str:
    """Rules as `Title (id): terms; ...`, at most `budget` characters once marked up."""
    parts: list[str] = []
    for r in v.rules:
        terms = f": {esc(', '.join(r.terms))}" if r.terms else ""
        part = f"{strong(esc(r.title))} {code(esc(r.id))}{terms}"
        if sum(len(p) + 2 for p in parts) + len(part) > budget:
            break
        parts.append(part)
    more = len(v.rules) - len(parts) + v.more_rules
    if more:
        parts.append(f"and {more} more")
    return "; ".join(parts)


# ---------------------------------------------------------------- Slack escaping (render_slack.py renders)

def slack_escape(text: str) -> str:
    """Escape feed text for mrkdwn: `& < >` as entities (no <!channel>, <@U1>, <url|x>),
    and `* _ ~ `` ` as look-alike characters so feed text cannot add formatting."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.translate(_SLACK_FORMAT)


def slack_link(title: str, url: str | None) -> str:
    return f"<{url.replace('&', '&amp;')}|{slack_escape(title)}>" if url else slack_escape(title)


# ---------------------------------------------------------------- Telegram (HTML)

def tg_escape(text: str) -> str:
    return html.escape(text, quote=False)


def _tg_link(title: str, url: str | None) -> str:
    label = f"<b>{tg_escape(title)}</b>"
    return f'<a href="{html.escape(url, quote=True)}">{label}</a>' if url else label


def telegram_message(alert: Alert, now: datetime, limit: int = TELEGRAM_MAX) -> str:
    """At most `limit` UTF-16 units (Telegram's 4096, or less to leave room for a line the
    message gets later): the title and snippet are cut shorter, with "…", until it fits."""
    for scale in SCALES:
        text = _telegram_message(view(alert, now, scale))
        if utf16_len(text) <= limit:
            break
    return text


def _telegram_message(v: View) -> str:
    rules = _rules_text(v, tg_escape, lambda s: f"<b>{s}</b>", lambda s: f"(<code>{s}</code>)")
    lines = [
        f"{v.emoji} <b>{v.severity}</b> · {_tg_link(v.title, v.url)}",
        f"<i>{tg_escape(v.source)}</i> · {v.when}",
        f"Rules: {rules}",
    ]
    if v.snippet:
        lines.append("".join(f"<b>{tg_escape(s)}</b>" if b else tg_escape(s)
                             for s, b in v.snippet))
    return "\n".join(lines)


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


# ---------------------------------------------------------------- send-test

def test_alert(destination: str, now: datetime) -> Alert:
    """The sample alert `send-test` posts: it proves the credentials and shows the format."""
    summary = "If you can read this, policybot can post test alert messages here."
    start = summary.index("test alert")
    item = Item(
        feed_id="policybot", item_id=f"send-test-{now.timestamp():.0f}",
        title=f"policybot test alert for {destination}",
        link=None, summary=summary, content="",   # no link: a test points nowhere, fake or not
        published=now,
    )
    hit = Hit(term="test alert", entity=None, field="summary", start=start, end=start + 10)
    match = Match(rule_id="send-test", title="Test alert", severity="normal", hits=(hit,))
    return Alert(alert_id=f"send-test:{destination}:{now.timestamp():.0f}",
                 destination=destination, item=item, matches=(match,), feed_title="policybot")


test_alert.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
