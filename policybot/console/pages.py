"""Pure: the console's pages as HTML, from data the routes gathered (app.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from policybot.config import Config
from policybot.console.html import ago, attrs, esc, item_html, options, page, when
from policybot.console.playground import Outcome
from policybot.console.svg import bars
from policybot.consoleviews import Delivery
from policybot.health import BlindSpot
from policybot.matching.evidence import evidence
from policybot.matching.spec import Rule
from policybot.metrics import SUBSCRIBER_PLATFORMS
from policybot.model import Alert
from policybot.render import safe_url
from policybot.store import FeedState

LANGUAGES = ("zh", "ja", "ko", "ru", "ar", "latin")
FILTERS = ("rule", "feed", "destination", "severity", "language", "q")


@dataclass(frozen=True, slots=True)
class Shown:
    """One story on the Alerts page: its first report's alert (matches) and delivery to each
    destination, and its later reports (the newest listed, all counted)."""

    alert: Alert
    created: float
    deliveries: tuple[Delivery, ...]
    also: tuple[Shown, ...] = ()  # later reports of the story, newest first
    reports: int = 0              # later reports found (also lists the first ALSO_SHOWN)


def alerts_page(shown: Sequence[Shown], chosen: Mapping[str, str], choices: Mapping[str, Sequence[str]],
                scanned: int, limit_note: str | None, now: float) -> str:
    selects = "".join(f'<label>{name} <select name="{name}">{options(choices[name], chosen.get(name, ""))}'
                      f'</select></label>' for name in FILTERS if name != "q")
    form = (f'<form class="filters card" method="get" action="/">{selects}<label>text '
            f'<input name="q"{attrs(value=chosen.get("q", ""))}></label>'
            f'<button type="submit">Filter</button> <a href="/">clear</a></form>')
    note = f'<p class="muted">{len(shown)} items (looked at {scanned:,} alerts){esc(limit_note or "")}</p>'
    cards = "".join(_alert_card(s, now) for s in shown) or '<p class="card">No alerts.</p>'
    return page("Alerts", "/", f"<h1>Alerts</h1>{form}{note}{cards}")


def _alert_card(s: Shown, now: float) -> str:
    alert = s.alert
    rules = "".join(
        f'<li><b class="{esc(m.severity)}">{esc(_rule_name(m.rule_id))}</b> ({esc(m.severity)}): '
        f'{esc(", ".join(h.term for h in evidence(m))) or "—"}</li>' for m in alert.matches)
    story = _also(s, now)
    sends = "".join(_delivery(d) for d in s.deliveries)
    return (f'<div class="card alert" data-feed="{esc(alert.item.feed_id)}">'
            f'<div class="muted">{esc(alert.feed_title or alert.item.feed_id)} · {when(s.created, now)}'
            f'</div>{item_html(alert.item, alert.matches)}<ul class="rules">{rules}</ul>{story}'
            f'<div class="deliveries">{sends}</div></div>')


def _also(s: Shown, now: float) -> str:
    """'+N reports' and a line per later report listed: ↳ also: SOURCE — title."""
    if not s.reports:
        return ""
    lines = []
    for r in s.also:
        item, safe = r.alert.item, safe_url(r.alert.item.link)
        title = esc(item.title or "(no title)")
        if safe is not None:
            title = f'<a href="{esc(safe)}" rel="noopener noreferrer nofollow">{title}</a>'
        states = "".join(f'<span class="tag {esc(x)}">{esc(x)}</span>'
                         for x in dict.fromkeys(d.state for d in r.deliveries))
        lines.append(f'<li>↳ also: <b>{esc(r.alert.feed_title or item.feed_id)}</b> — {title} · '
                     f'{when(r.created, now)} {states}</li>')
    more = s.reports - len(s.also)
    tail = f'<li class="muted">and {more} more</li>' if more else ""
    plural = "s" if s.reports != 1 else ""
    return (f'<div class="story"><b>+{s.reports} report{plural}</b></div>'
            f'<ul class="also">{"".join(lines)}{tail}</ul>')


def _delivery(d: Delivery) -> str:
    error = f' <span class="err">{esc(d.last_error)}</span>' if d.last_error and d.state != "sent" else ""
    state, dest = esc(d.state), esc(chat_hidden(d.alert.destination))
    return f'<div><span class="tag {state}">{state}</span> <b>{dest}</b>{error}</div>'


def feeds_page(config: Config, states: Mapping[str, FeedState], spots: Mapping[str, BlindSpot],
               days: Sequence[int], per_day: Mapping[tuple[str, int], int], now: float) -> str:
    rows = []
    for feed in config.feeds:
        s = states.get(feed.id)
        spot = spots.get(feed.id)
        backoff = when(s.next_poll, now) if s and s.next_poll and s.next_poll > now else "—"
        errors = (f'<span class="err">{s.error_count}: {esc(s.last_error or "")}</span>'
                  if s and s.error_count else "0")
        status = (f'<span class="err">{esc(spot.message)}</span>' if spot else
                  (f'<span class="err">disabled: {esc(s.disabled)}</span>' if s and s.disabled else "ok"))
        chart = bars(days, [per_day.get((feed.id, d), 0) for d in days], "new items")
        rows.append(f'<tr class="feed"><td><b>{esc(feed.id)}</b><div class="muted">{esc(feed.title or "")}'
                    f'</div></td><td>{when(s.last_poll if s else None, now)}</td>'
                    f'<td>{when(s.last_new_item if s else None, now)}</td><td>{errors}</td>'
                    f'<td>{backoff}</td><td>{status}</td><td>{chart}</td></tr>')
    head = ("<tr><th>feed</th><th>last poll</th><th>last new item</th><th>errors</th>"
            "<th>backoff until</th><th>health</th><th>new items per day, 30 days</th></tr>")
    return page("Feeds", "/feeds", f'<h1>Feeds</h1><table class="card">{head}{"".join(rows)}</table>')


def rules_page(rules: Sequence[Rule], days: Sequence[int], per_day: Mapping[tuple[str, int], int],
               last: Mapping[str, Sequence[Delivery]], failures: Sequence[str], now: float) -> str:
    cards = []
    for rule in rules:
        chart = bars(days, [per_day.get((rule.id, d), 0) for d in days], "alerts")
        mine = [f for f in failures if f"rule '{rule.id}'" in f]
        examples = (f'<pre class="err">{esc(chr(10).join(mine))}</pre>' if mine else
                    f'<div>{len(rule.examples)} examples: all pass</div>' if rule.examples else
                    '<div class="muted">no examples</div>')
        recent = "".join(f'<li>{esc(d.alert.item.title)} <span class="muted">· '
                         f'{esc(chat_hidden(d.alert.destination))} · {esc(ago(now - d.created))}</span></li>'
                         for d in last.get(rule.id, ()))
        cards.append(f'<div class="card rule" id="{esc(rule.id)}"><h2>{esc(rule.id)} '
                     f'<span class="{esc(rule.severity)}">{esc(rule.severity)}</span></h2>'
                     f'<div class="muted">{esc(rule.title)} · {esc(rule.where)} · '
                     f'<a href="/playground?rule={esc(quote(rule.id))}">try in the playground</a></div>'
                     f'{chart}{examples}<ul>{recent or "<li class=muted>no alerts yet</li>"}</ul></div>')
    return page("Rules", "/rules", "<h1>Rules</h1>" + "".join(cards))


def playground_page(text: str, days: int, csrf: str, outcome: Outcome | None, busy: str | None) -> str:
    form = (f'<form method="post" action="/playground" class="card"><input type="hidden" name="csrf"'
            f'{attrs(value=csrf)}><textarea name="yaml" rows="16" spellcheck="false">{esc(text)}'
            f'</textarea><label>last <input name="days" type="number" min="1" max="365"'
            f'{attrs(value=days)}> days</label> <button type="submit">Run</button> '
            f'<span class="muted">saves nothing: rules stay files</span></form>')
    body = f'<p class="err">{esc(busy)}</p>' if busy else (_outcome(outcome) if outcome else "")
    return page("Playground", "/playground", f"<h1>Playground</h1>{form}{body}")


def _outcome(o: Outcome) -> str:
    if o.errors:
        return f'<pre class="err errors">{esc(chr(10).join(o.errors))}</pre>'
    c = o.counts
    stopped = f'<p class="err stopped">{esc(o.stopped)}</p>' if o.stopped else ""
    examples = (f'<pre class="err">{esc(chr(10).join(o.examples))}</pre>' if o.examples
                else '<p>examples: all pass</p>')
    summary = (f'<p class="counts card">looked at {o.looked_at:,} items: <b>{c["matches"]}</b> matches; '
               f'current rule: {c["current"]}; <b>{c["new"]}</b> new matches, <b>{c["lost"]}</b> '
               f'lost matches</p>')
    matched = "".join(f'<div class="card match">{"<span class=tag>new</span>" if new else ""}'
                      f'<span class="muted">{esc(item.feed_id)}</span>{item_html(item, matches)}</div>'
                      for item, matches, new in o.matched)
    lost = "".join(f'<div class="card lost"><span class="tag failed">lost</span>{item_html(i, ())}</div>'
                   for i in o.lost)
    return f"{stopped}{summary}{examples}{matched}{lost}"


def subscriptions_page(subscribers: Sequence[tuple[str, float | None]],
                       subscriptions: Sequence[tuple[str, str]],
                       watches: Sequence[tuple[str, str, str]], now: float) -> str:
    by_dest: dict[str, list[str]] = {}
    for dest, rule in subscriptions:
        by_dest.setdefault(dest, []).append(rule)
    watched: dict[str, list[str]] = {}
    for dest, _, text in watches:
        watched.setdefault(dest, []).append(text)
    rows = "".join(
        f'<tr><td>{esc(dest)}</td><td>{esc(", ".join(by_dest.get(dest, [])) or "—")}</td>'
        f'<td>{esc("; ".join(watched.get(dest, [])) or "—")}</td>'
        f'<td>{("muted, ends " + ago(now - muted)) if muted and muted > now else "—"}</td></tr>'
        for dest, muted in subscribers)
    head = "<tr><th>chat</th><th>rules</th><th>watches</th><th>mute</th></tr>"
    return page("Subscriptions", "/subscriptions",
                f'<h1>Subscriptions</h1><table class="card">{head}{rows}</table>'
                if rows else "<h1>Subscriptions</h1><p class=card>No chat has subscribed yet.</p>")


def _rule_name(rule_id: str) -> str:
    """A personal /watch (`watch:telegram:<chat>:<hash>`) without its chat id."""
    return "personal watch" if rule_id.startswith("watch:") else rule_id


def chat_hidden(destination: str) -> str:
    """A chat subscriber (`telegram:123`) as its platform only: chat ids show only on the
    Subscriptions page."""
    platform, sep, _ = destination.partition(":")
    return f"{platform} chat" if sep and platform in SUBSCRIBER_PLATFORMS else destination
