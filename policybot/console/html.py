"""Pure: tiny HTML helpers. Every text from a feed, a rule or a chat goes through `esc`; only
http(s) links become hrefs (render.safe_url)."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from policybot.feeds.text import strip_controls
from policybot.matching.evidence import evidence_hits
from policybot.model import Hit, Item, Match
from policybot.render import merge_spans, safe_url

EXCERPT = 300      # characters of a summary shown around its first highlighted term
NAV = (("/", "Alerts"), ("/feeds", "Feeds"), ("/rules", "Rules"), ("/playground", "Playground"),
       ("/subscriptions", "Subscriptions"))
STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;padding:.6em 1.2em}header a{color:#cfd6e4;margin-right:1.2em;
text-decoration:none}header a.on{color:#fff;font-weight:600}main{padding:1em 1.2em;max-width:72em}
.card{background:#fff;border:1px solid #dde1e8;border-radius:6px;padding:.7em 1em;margin:.6em 0}
mark{background:#ffe27a;padding:0 .1em}.muted{color:#667085}.tag{display:inline-block;
border-radius:3px;padding:0 .4em;margin-right:.3em;font-size:12px;background:#eef1f5}
.sent{background:#d8f3dc}.pending,.held{background:#fff1c2}.failed,.expired,.missed{background:#ffd6d6}
ul.also{list-style:none;padding-left:1em;margin:.2em 0}
.urgent,.high{color:#b42318;font-weight:600}table{border-collapse:collapse}td,th{padding:.25em
.6em;text-align:left;border-bottom:1px solid #eef1f5;vertical-align:top}form.filters
label{margin-right:.8em}textarea{width:100%;font:13px monospace}pre.err{color:#b42318;
white-space:pre-wrap}.err{color:#b42318}h2{font-size:1.1em;margin:.2em 0}
"""


def esc(value: object) -> str:
    return html.escape(strip_controls(str(value)), quote=True)


def attrs(**values: object) -> str:
    return "".join(f' {k.rstrip("_").replace("_", "-")}="{esc(v)}"' for k, v in values.items())


def link(url: str | None, text: str) -> str:
    """An anchor only for an http(s) URL; anything else (javascript:, data:) is plain text."""
    safe = safe_url(url)
    if safe is None:
        return esc(text)
    return f'<a href="{esc(safe)}" rel="noopener noreferrer nofollow">{esc(text)}</a>'


def marked(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """`text` escaped, each span in <mark> (overlapping spans merge)."""
    out, pos = [], 0
    for start, end in merge_spans(spans):
        out += [esc(text[pos:start]), "<mark>", esc(text[start:end]), "</mark>"]
        pos = end
    out.append(esc(text[pos:]))
    return "".join(out)


def field_hits(hits: Sequence[Hit], name: str) -> list[tuple[int, int]]:
    return [(h.start, h.end) for h in hits if h.field == name]


def excerpt(text: str, spans: list[tuple[int, int]]) -> str:
    """A long text clipped around its first span, marked."""
    if len(text) <= EXCERPT:
        return marked(text, spans)
    lo = max(0, min((s for s, _ in spans), default=0) - EXCERPT // 3)
    hi = min(len(text), lo + EXCERPT)
    inside = [(s - lo, e - lo) for s, e in spans if lo <= s and e <= hi]
    return ("…" if lo else "") + marked(text[lo:hi], inside) + ("…" if hi < len(text) else "")


def item_html(item: Item, matches: Sequence[Match]) -> str:
    """Title (a link when http(s)) and summary with the deciding terms marked."""
    hits = evidence_hits(matches)
    title = marked(item.title, field_hits(hits, "title")) or "(no title)"
    safe = safe_url(item.link)
    if safe is not None:
        title = f'<a href="{esc(safe)}" rel="noopener noreferrer nofollow">{title}</a>'
    summary = excerpt(item.summary, field_hits(hits, "summary")) if item.summary else ""
    return f'<h2>{title}</h2><div>{summary}</div>'


def when(ts: float | None, now: float) -> str:
    if ts is None:
        return '<span class="muted">never</span>'
    stamp = datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f'<span title="{stamp}">{esc(ago(now - ts))}</span>'


def ago(seconds: float) -> str:
    future = seconds < 0
    seconds = abs(seconds)
    if seconds < 90:
        text = f"{seconds:.0f} s"
    elif seconds < 5400:
        text = f"{seconds / 60:.0f} min"
    elif seconds < 2 * 86400:
        text = f"{seconds / 3600:.0f} h"
    else:
        text = f"{seconds / 86400:.0f} d"
    return f"in {text}" if future else f"{text} ago"


def options(values: Iterable[str], chosen: str, blank: str = "any") -> str:
    out = [f'<option value="">{esc(blank)}</option>']
    for value in values:
        selected = " selected" if value == chosen else ""
        out.append(f'<option value="{esc(value)}"{selected}>{esc(value)}</option>')
    return "".join(out)


def page(title: str, path: str, body: str) -> str:
    nav = "".join(f'<a href="{href}"{" class=on" if href == path else ""}>{name}</a>'
                  for href, name in NAV)
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{esc(title)} · '
            f'policybot</title><meta name="viewport" content="width=device-width">'
            f'<style>{STYLE}</style></head><body><header>{nav}</header><main>{body}</main>'
            f'</body></html>')
