"""The web console's routes: served by the running bot on its event loop (Service starts it
next to the metrics server). It reads through the store and runs the engine for the
playground; it never writes state."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from policybot.console import pages
from policybot.console.access import SESSION_COOKIE, Access
from policybot.console.html import esc, page
from policybot.console.playground import DEADLINE_SECONDS, parse, run
from policybot.consoleviews import DAY, AlertQuery, Delivery, stream_items
from policybot.health import blind_spots
from policybot.matching.rules import check_examples
from policybot.model import SEVERITIES
from policybot.notify.base import utcnow

if TYPE_CHECKING:
    from policybot.app import App
    from policybot.store import Store

log = logging.getLogger(__name__)

SHOWN_ALERTS = 50          # stories on the Alerts page (an item of no story is one)
ALSO_SHOWN = 10            # later reports listed under a story's first; the rest are counted
STORY_LOOKBACK = 20        # once the page is full, rows scanned up to SHOWN_ALERTS x this, for
                           # older reports (the first ones) of the stories shown
MAX_SCAN = 5000            # outbox rows looked at for one Alerts page (filters in Python beyond SQL)
CHART_DAYS = 30
LAST_ALERTS = 5            # per rule on the Rules page
DEFAULT_DAYS = 30          # the playground's default window
MAX_DAYS = 365
_SCRIPTS = (("zh", re.compile("[\u4e00-\u9fff]")), ("ja", re.compile("[\u3040-\u30ff]")),
            ("ko", re.compile("[\uac00-\ud7af]")), ("ru", re.compile("[\u0400-\u04ff]")),
            ("ar", re.compile("[\u0600-\u06ff]")))


def language(text: str) -> str:
    """The item's script as a language label (kana before Han: Japanese uses both)."""
    if _SCRIPTS[1][1].search(text):
        return "ja"
    return next((name for name, pattern in _SCRIPTS if pattern.search(text)), "latin")


class Console:
    def __init__(self, app: App, *, deadline: float = DEADLINE_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.app = app
        self.deadline = deadline          # a playground run stops after this many seconds
        self.clock = clock
        self.access = Access(app.config.console.token if app.config.console else None)
        self.running = asyncio.Lock()     # one playground run at a time
        self.port: int | None = None
        self._runner: web.AppRunner | None = None

    def web_app(self) -> web.Application:
        web_app = web.Application(middlewares=[self.access.middleware], client_max_size=2 << 20)
        web_app.router.add_get("/", self.alerts)
        web_app.router.add_get("/feeds", self.feeds)
        web_app.router.add_get("/rules", self.rules)
        web_app.router.add_get("/playground", self.playground)
        web_app.router.add_post("/playground", self.playground)
        web_app.router.add_get("/subscriptions", self.subscriptions)
        web_app.router.add_get("/login", self.login)
        web_app.router.add_post("/login", self.login)
        return web_app

    async def start(self, port: int, host: str) -> int:
        self._runner = web.AppRunner(self.web_app(), access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        self.port = int(self._runner.addresses[0][1])
        shown = f"[{host}]" if ":" in host else host
        log.info("console on http://%s:%d/", shown, self.port)
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def alerts(self, request: web.Request) -> web.Response:
        chosen = {k: request.query.get(k, "")[:200] for k in pages.FILTERS}
        query = AlertQuery(chosen["rule"], chosen["feed"], chosen["destination"], chosen["q"])
        shown, scanned = await self.app.store.run(self._shown, query, chosen)
        note = f"; only the latest {MAX_SCAN:,} alerts were looked at" if scanned >= MAX_SCAN else None
        return _html(pages.alerts_page(shown, chosen, self._choices(), scanned, note, _now()))

    def _shown(self, query: AlertQuery, chosen: dict[str, str]) -> tuple[list[pages.Shown], int]:
        """The newest SHOWN_ALERTS stories, each its first report with the later ones of the
        scan under it (an item of no story is a story of its own), ordered by their latest."""
        stories: dict[str, list[Delivery]] = {}
        seen: set[str] = set()
        scanned = 0
        for row in self.app.store.alert_scan(query, MAX_SCAN):
            if len(stories) >= SHOWN_ALERTS and scanned >= SHOWN_ALERTS * STORY_LOOKBACK:
                break          # full, and far enough back for the shown stories' first reports
            scanned += 1
            alert = row.alert
            if alert.item.key in seen or not _wanted(alert, chosen):
                continue
            seen.add(alert.item.key)
            key = alert.story or alert.item.key
            if key in stories:
                stories[key].append(row)
            elif len(stories) < SHOWN_ALERTS:
                stories[key] = [row]
        return [self._story(key, rows) for key, rows in stories.items()], scanned

    def _story(self, key: str, rows: list[Delivery]) -> pages.Shown:
        """The story's first report (its own item, else the oldest found) with the others,
        newest first, at most ALSO_SHOWN of them listed."""
        lead = next((r for r in rows if r.alert.item.key == key), rows[-1])
        also = [r for r in rows if r is not lead]
        return pages.Shown(lead.alert, lead.created, self._deliveries(lead),
                           also=tuple(pages.Shown(r.alert, r.created, self._deliveries(r))
                                      for r in also[:ALSO_SHOWN]), reports=len(also))

    def _deliveries(self, row: Delivery) -> tuple[Delivery, ...]:
        """The item's delivery to each destination (its rows of the same poll)."""
        key = row.alert.item.key
        return tuple(d for d in self.app.store.deliveries_at(row.created)
                     if d.alert.item.key == key) or (row,)

    def _choices(self) -> dict[str, list[str]]:
        config = self.app.config
        ruleset = self.app.rules.ruleset   # the files' rules (personal watches name a chat)
        return {"rule": sorted(r.id for r in ruleset.rules) if ruleset else [],
                "feed": [f.id for f in config.feeds], "destination": sorted(config.destinations),
                "severity": list(SEVERITIES), "language": list(pages.LANGUAGES)}

    async def feeds(self, request: web.Request) -> web.Response:
        return _html(await self.app.store.run(self._feeds_page))

    def _feeds_page(self) -> str:
        now = _now()
        store, config = self.app.store, self.app.config
        states = {s.id: s for s in store.feed_states()}
        spots = {s.feed_id: s for s in blind_spots(store, config.feeds, config.health, now)}
        days = _days(now)
        per_day = store.new_items_per_day([f.id for f in config.feeds], days)
        return pages.feeds_page(config, states, spots, days, per_day, now)

    async def rules(self, request: web.Request) -> web.Response:
        return _html(await self.app.store.run(self._rules_page))

    def _rules_page(self) -> str:
        now = _now()
        ruleset = self.app.rules.ruleset
        rules = ruleset.rules if ruleset else ()
        days = _days(now)
        per_day = self.app.store.alerts_per_day(days[0] * DAY)
        last = {r.id: self.app.store.last_alerts(r.id, LAST_ALERTS) for r in rules}
        failures = check_examples(ruleset) if ruleset else []
        return pages.rules_page(rules, days, per_day, last, failures, now)

    async def playground(self, request: web.Request) -> web.Response:
        csrf = self.access.csrf(request)
        if request.method == "GET":
            text = self._rule_text(request.query.get("rule", ""))
            return _html(pages.playground_page(text, DEFAULT_DAYS, csrf, None, None))
        form = await request.post()
        text, days = str(form.get("yaml", "")), _int(form.get("days"), DEFAULT_DAYS)
        if self.running.locked():
            busy = "another playground run is under way; try again when it ends"
            return _html(pages.playground_page(text, days, csrf, None, busy))
        async with self.running:
            outcome = await asyncio.to_thread(self._run, text, days)
        return _html(pages.playground_page(text, days, csrf, outcome, None))

    def _run(self, text: str, days: int) -> pages.Outcome:
        config = self.app.config
        rules, errors = parse(text, config.rules_paths)
        if errors:
            return pages.Outcome(errors=errors)
        since = _now() - days * DAY
        items = stream_items(self.app.store.location, since)
        feeds = {f.id: f for f in config.feeds}
        return run(rules, self.app.rules.rules_by_id, items, feeds, seconds=self.deadline, clock=self.clock)

    def _rule_text(self, rule_id: str) -> str:
        """The YAML of a live rule, as its file has it, to start from (or a small example)."""
        rule = self.app.rules.rules_by_id.get(rule_id)
        if rule is None or not rule.source:
            return EXAMPLE
        try:
            lines = open(rule.source, encoding="utf-8").read().splitlines()  # noqa: SIM115
        except OSError:
            return EXAMPLE
        start = rule.line - 1
        indent = _indent(lines[start])
        end = start + 1
        while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) > indent):
            end += 1
        body = "\n".join(line[indent:] for line in lines[start:end]).rstrip()
        return "rules:\n" + "\n".join("  " + line if line else "" for line in body.splitlines()) + "\n"

    async def subscriptions(self, request: web.Request) -> web.Response:
        store = self.app.store
        return _html(pages.subscriptions_page(*await store.run(_subscriptions, store), _now()))

    async def login(self, request: web.Request) -> web.Response:
        csrf = self.access.csrf(request)
        failed = ""
        if request.method == "POST":
            form = await request.post()
            session = self.access.login(str(form.get("token", "")))
            if session is not None:
                response = web.Response(status=303, headers={"Location": "/"})
                response.set_cookie(SESSION_COOKIE, session, httponly=True, samesite="Strict")
                return response
            failed = '<p class="err">wrong token</p>'
        body = (f'<h1>Log in</h1>{failed}<form method="post" action="/login" class="card">'
                f'<input type="hidden" name="csrf" value="{esc(csrf)}"><label>token '
                f'<input type="password" name="token" autofocus></label> <button>Log in</button></form>')
        return _html(page("Log in", "/login", body))


EXAMPLE = """rules:
  - id: my-rule
    title: Gallium or germanium export controls
    severity: high
    match:
      all:
        - any: [gallium, germanium]
        - any: [export control, export licence, export license]
    examples:
      match:
        - China tightens export controls on gallium
      no_match:
        - Gallium prices rise
"""


def _subscriptions(store: Store) -> tuple[Any, Any, Any]:
    return store.subscribers(), store.all_subscriptions(), store.watches()


def _wanted(alert: pages.Alert, chosen: dict[str, str]) -> bool:
    if chosen["severity"] and alert.severity != chosen["severity"]:
        return False
    text = f"{alert.item.title} {alert.item.summary}"
    return not chosen["language"] or language(text) == chosen["language"]


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _html(text: str) -> web.Response:
    return web.Response(text=text, content_type="text/html", charset="utf-8")


def _int(value: object, default: int) -> int:
    try:
        return max(1, min(MAX_DAYS, int(str(value))))
    except ValueError:
        return default


def _now() -> float:
    return utcnow().timestamp()


def _days(now: float) -> list[int]:
    today = int(now // DAY)
    return list(range(today - CHART_DAYS + 1, today + 1))
