"""The web console's pages on a large state: 1M seen items (100 feeds, 30 days) and 100k
alerts (3 destinations, 10 rules). Each page is timed through a real aiohttp server on
127.0.0.1, as the median of ROUNDS requests, in ms and as a ratio to a trivial aiohttp
handler in the same app and run (what HTTP alone costs here).

    python -m bench bench_console
"""

from __future__ import annotations

import asyncio
import io
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web

from policybot.app import App
from policybot.codec import alert_to_json
from policybot.config import load_config
from policybot.console.access import CSRF_COOKIE
from policybot.console.app import Console
from policybot.model import Alert, Hit, Item, Match, alert_key
from policybot.store import Store

FEEDS = 100
ITEMS = 1_000_000
ALERTS = 100_000
RULES = 10
DESTINATIONS = ("desk", "team", "telegram:123456789")
DAYS = 30
ROUNDS = 7
PLAYGROUND = "rules:\n  - id: rule3\n    match:\n      all: [licence]\n      any: [steel, duty]\n"
WORDS = ("export", "control", "tariff", "gallium", "licence", "steel", "probe", "duty", "ban", "rule")


def build(folder: Path, now: float) -> App:
    rules = "rules:\n" + "".join(
        f"  - id: rule{r}\n    match:\n      all: [{WORDS[r]}, {WORDS[(r + 1) % 10]}]\n"
        f"    examples:\n      match: [{WORDS[r]} {WORDS[(r + 1) % 10]}]\n" for r in range(RULES))
    (folder / "rules.yaml").write_text(rules)
    feeds = "".join(f"  - {{id: f{f}, url: feed{f}.xml}}\n" for f in range(FEEDS))
    dests = "".join(f"  {d}: {{type: console}}\n" for d in DESTINATIONS[:2])
    (folder / "config.yaml").write_text(f"storage: {{path: state.db}}\nrules: [rules.yaml]\nfeeds:\n{feeds}"
                                        f"destinations:\n{dests}console: {{port: 0}}\n")
    Store(folder / "state.db").close()
    db = sqlite3.connect(folder / "state.db", isolation_level=None)
    db.execute("BEGIN")
    rnd = random.Random(1)
    span = DAYS * 86400.0
    db.executemany("INSERT INTO feeds(id, last_poll, last_new_item) VALUES (?,?,?)",
                   [(f"f{f}", now - 60, now - 600) for f in range(FEEDS)])
    db.executemany(
        "INSERT INTO seen(feed_id, item_id, seen_at, last_present, title, summary, link) "
        "VALUES (?,?,?,?,?,?,?)",
        ((f"f{i % FEEDS}", f"i{i}", now - span * i / ITEMS, now - span * i / ITEMS,
          " ".join(rnd.choices(WORDS, k=8)), "summary " * 20, f"https://example.gov/{i}")
         for i in range(ITEMS)))
    db.executemany("INSERT INTO outbox(alert_id, destination, payload, created, due, state, sent_at) "
                   "VALUES (?,?,?,?,?,?,?)", _alerts(now, span))
    db.execute("INSERT INTO alert_rules(alert_id, rule_id, created) SELECT alert_id, "
               "'rule' || (abs(substr(alert_id, 1, 6) + 0) % 10), created FROM outbox")
    db.execute("COMMIT")
    db.execute("ANALYZE")
    db.close()
    app = App(load_config(folder / "config.yaml", env={}), stream=io.StringIO())
    app.load_rules()
    return app


def _alerts(now: float, span: float):
    for n in range(ALERTS):
        i = n * (ITEMS // ALERTS)
        rule = n % RULES
        title = f"{WORDS[rule]} {WORDS[(rule + 1) % 10]} measure {n}"
        item = Item(f"f{i % FEEDS}", f"i{i}", title, f"https://example.gov/{i}", "summary", "", None)
        hits = (Hit(WORDS[rule], None, "title", 0, len(WORDS[rule])),)
        dest = DESTINATIONS[n % len(DESTINATIONS)]
        alert = Alert(alert_key(item, dest), dest, item, (Match(f"rule{rule}", "R", "normal", hits),))
        created = now - span * i / ITEMS
        yield (f"{n:06d}{alert.alert_id[6:]}", dest, alert_to_json(alert), created, created, "sent", created)


async def timed(session: aiohttp.ClientSession, url: str, method: str = "GET", data: object = None) -> float:
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        async with session.request(method, url, data=data) as resp:
            await resp.read()
            assert resp.status == 200, (url, resp.status)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


async def run(app: App) -> None:
    console = Console(app)
    web_app = console.web_app()
    web_app.router.add_get("/trivial", lambda request: web.Response(text="ok"))
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    pages = {"alerts": "/", "alerts ?rule=rule3": "/?rule=rule3",
             "alerts ?feed=f10": "/?feed=f10", "alerts ?destination=team": "/?destination=team",
             "alerts ?q=gallium": "/?q=gallium", "alerts ?severity=high (none)": "/?severity=high",
             "feeds": "/feeds", "rules": "/rules", "playground (form)": "/playground",
             "subscriptions": "/subscriptions"}
    try:
        async with aiohttp.ClientSession() as session:
            base_ms = await timed(session, base + "/trivial")
            print(f"   {'trivial aiohttp handler':32s} {base_ms:8.1f} ms")
            for name, path in pages.items():
                ms = await timed(session, base + path)
                print(f"   {name:32s} {ms:8.1f} ms   {ms / base_ms:7.1f}x trivial")
            session.cookie_jar.update_cookies({CSRF_COOKIE: "bench"})
            form = {"csrf": "bench", "yaml": PLAYGROUND, "days": "1"}
            ms = await timed(session, base + "/playground", "POST", form)
            print(f"   {'playground run, last day':32s} {ms:8.1f} ms   ({ITEMS // DAYS:,} items)")
    finally:
        await runner.cleanup()


def main() -> None:
    now = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        app = build(Path(tmp), now)
        print(f"   state: {ITEMS:,} seen items, {ALERTS:,} alerts, built in "
              f"{time.perf_counter() - started:.0f} s")
        try:
            asyncio.run(run(app))
        finally:
            asyncio.run(app.close())


if __name__ == "__main__":
    main()
