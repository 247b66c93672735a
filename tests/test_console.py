"""The web console in process (aiohttp's test client): access rules, CSRF, escaping, pages,
the playground's bounds. The browser tests are in test_console_browser.py."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from policybot.app import App
from policybot.config import load_config
from policybot.console.access import CSRF_COOKIE
from policybot.console.app import Console, language
from policybot.console.playground import CHECK_EVERY, SOURCE, parse, run
from policybot.consoleviews import DAY, AlertQuery, stream_items
from policybot.dialect import is_url
from policybot.errors import ConfigError
from policybot.matching.rules import MAX_RULES_BYTES
from policybot.model import Alert, Item, Match
from policybot.store import Store
from tests.fakes.feed_server import FeedServer
from tests.pgserver_fixture import Blocking

RULES = """\
entities:
  minerals: [gallium, germanium, 稀土]
rules:
  - id: minerals
    title: Critical minerals
    severity: high
    match:
      all: [$minerals]
      any: [export control, export licence, 出口管制]
    examples:
      match: [Gallium export control]
"""
# HTML in the feed's title: entity-escaped markup survives parsing as literal text
HOSTILE = ("&lt;script&gt;alert(1)&lt;/script&gt; &lt;!channel&gt; gallium export control "
           "<img src=x onerror=alert(1)>")


def rss(items: list[tuple[str, str, str]]) -> bytes:
    body = "".join(f"<item><title>{_x(t)}</title><link>{_x(link)}</link><guid>{g}</guid></item>"
                   for g, t, link in items)
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{body}</channel></rss>'.encode()


def _x(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def make_app(tmp_path: Path, feed_server: FeedServer, console: str = "console: {port: 0}\n",
             env: dict[str, str] | None = None, state: str | Path = "s.db") -> App:
    """`state`: a SQLite file, or a PostgreSQL URL (the `state` fixture gives one of each)."""
    (tmp_path / "rules.yaml").write_text(RULES, encoding="utf-8")
    url = feed_server.add("trade", rss([
        ("h1", HOSTILE, "javascript:alert(1)"),
        ("a1", "China adds gallium export control", "https://example.gov/a1"),
        ("a2", "商务部：对稀土实施出口管制", "https://example.gov/a2"),
        ("n1", "Weather report", "https://example.gov/n1")]))
    storage = f'{{url: "{state}"}}' if is_url(state) else f"{{path: {Path(state).name}}}"
    (tmp_path / "config.yaml").write_text(f"""\
storage: {storage}
rules: [rules.yaml]
defaults: {{backfill: all}}
feeds:
  - {{id: trade, url: "{url}"}}
destinations:
  console: {{type: console}}
{console}""", encoding="utf-8")
    app = App(load_config(tmp_path / "config.yaml", env=env or {}), stream=io.StringIO())
    Blocking(app.store).run_sync(app.load_rules)   # (PostgreSQL: on the store's thread)
    return app


@pytest.fixture
async def polled(tmp_path: Path, feed_server: FeedServer, state: str | Path) -> Any:
    """The console's app after one poll, once per backend (SQLite, PostgreSQL)."""
    app = make_app(tmp_path, feed_server, state=state)
    await app.poll_all()
    await app.deliver()
    yield app
    await app.close()


async def client_for(app: App, **kwargs: Any) -> TestClient:
    client = TestClient(TestServer(Console(app, **kwargs).web_app()))
    await client.start_server()
    return client


async def test_every_page_answers_and_escapes_feed_text(polled: App) -> None:
    client = await client_for(polled)
    try:
        pages = {}
        for path in ("/", "/feeds", "/rules", "/playground", "/subscriptions"):
            resp = await client.get(path)
            assert resp.status == 200, path
            assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
            pages[path] = await resp.text()
    finally:
        await client.close()
    alerts = pages["/"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &lt;!channel&gt;" in alerts
    assert "<script" not in alerts and "<img" not in alerts and "javascript:" not in alerts
    assert '<a href="https://example.gov/a1"' in alerts
    assert "<mark>gallium</mark>" in alerts.lower() or "<mark>Gallium</mark>" in alerts
    assert "<svg" in pages["/feeds"] and "<svg" in pages["/rules"]
    assert "1 examples: all pass" in pages["/rules"]


async def test_alert_filters(polled: App) -> None:
    client = await client_for(polled)
    try:
        zh = await (await client.get("/", params={"language": "zh"})).text()
        text = await (await client.get("/", params={"q": "CHINA adds"})).text()
        none = await (await client.get("/", params={"rule": "nope"})).text()
    finally:
        await client.close()
    assert "稀土" in zh and "China adds" not in zh
    assert "China adds" in text and "稀土" not in text
    assert "No alerts." in none


async def playground_post(client: TestClient, data: dict[str, str], **headers: str) -> Any:
    page = await client.get("/playground")
    csrf = re.search(r'name="csrf" value="([^"]+)"', await page.text())
    assert csrf is not None
    return await client.post("/playground", data={"csrf": csrf.group(1), **data}, headers=headers)


async def test_playground_counts_new_and_lost_matches(polled: App) -> None:
    yaml = RULES.replace("any: [export control, export licence, 出口管制]", "any: [export control]")
    client = await client_for(polled)
    try:
        resp = await playground_post(client, {"yaml": yaml, "days": "30"})
        text = await resp.text()
    finally:
        await client.close()
    assert resp.status == 200
    # the live rule matched 3 items (hostile, a1, a2); without 出口管制 the Chinese one is lost
    assert re.search(r"<b>2</b> matches; current rule: 3; <b>0</b> new matches, <b>1</b> lost", text), text
    assert "&lt;script&gt;" in text and "<script" not in text


async def test_playground_errors_are_file_line(polled: App) -> None:
    bad = "rules:\n  - id: x\n    match:\n      all: [$nope]\n"
    client = await client_for(polled)
    try:
        text = await (await playground_post(client, {"yaml": bad})).text()
        alias = await (await playground_post(client, {"yaml": "a: &x [1]\nb: *x\n"})).text()
    finally:
        await client.close()
    assert f"{SOURCE}:4: unknown entity &#x27;$nope&#x27;" in text
    assert f"{SOURCE}:2: YAML aliases" in alias


def test_playground_size_bound(tmp_path: Path) -> None:
    rules, errors = parse("#" * (MAX_RULES_BYTES + 1), [])
    assert rules == () and errors == [f"{SOURCE}:1: larger than {MAX_RULES_BYTES // 1024} KB"]


def test_playground_term_length_bound(tmp_path: Path) -> None:
    rules, errors = parse("rules:\n  - id: x\n    match:\n      all: [" + "a" * 300 + "]\n", [])
    assert rules == () and errors and errors[0].startswith(f"{SOURCE}:4:")


def test_a_slow_rule_is_stopped_with_a_message() -> None:
    rules, errors = parse(RULES, [])
    assert not errors
    ticks = iter(range(10_000))
    items = (Item("f", str(i), "gallium export control", None, "", "", None) for i in range(5 * CHECK_EVERY))
    outcome = run(rules, {}, items, {}, seconds=1.5, clock=lambda: float(next(ticks)))
    assert outcome.stopped is not None and outcome.stopped.startswith("stopped after 1.5 s")
    assert outcome.looked_at == CHECK_EVERY    # the second look at the clock is past the deadline


async def test_post_without_csrf_or_from_another_origin_is_refused(polled: App) -> None:
    client = await client_for(polled)
    try:
        bare = await client.post("/playground", data={"yaml": RULES})
        forged = await client.post("/playground", data={"yaml": RULES, "csrf": "guess"},
                                   cookies={CSRF_COOKIE: "other"})
        origin = await playground_post(client, {"yaml": RULES}, Origin="https://evil.example")
        said = await origin.text()
    finally:
        await client.close()
    assert (bare.status, forged.status, origin.status) == (403, 403, 403)
    assert "Origin" in said


async def test_a_token_is_required_when_configured(tmp_path: Path, feed_server: FeedServer) -> None:
    app = make_app(tmp_path, feed_server, 'console: {port: 0, token: "${TOK}"}\n', env={"TOK": "s3cret"})
    client = await client_for(app)
    try:
        anonymous = await client.get("/feeds", allow_redirects=False)
        wrong = await client.get("/feeds", headers={"Authorization": "Bearer nope"}, allow_redirects=False)
        bearer = await client.get("/feeds", headers={"Authorization": "Bearer s3cret"})
        login = await client.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', await login.text())
        assert csrf is not None
        bad = await client.post("/login", data={"csrf": csrf.group(1), "token": "x"})
        good = await client.post("/login", data={"csrf": csrf.group(1), "token": "s3cret"})
        after = await client.get("/feeds")
        texts = [await bad.text(), await after.text()]
    finally:
        await client.close()
        await app.close()
    assert (anonymous.status, anonymous.headers["Location"]) == (303, "/login")
    assert wrong.status == 303 and bearer.status == 200
    assert "wrong token" in texts[0]
    assert good.status == 200 and after.status == 200 and "<h1>Feeds</h1>" in texts[1]


def test_config_requires_a_token_off_loopback(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("console: {port: 8180, host: 0.0.0.0}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "config.yaml", env={})
    assert f"{tmp_path / 'config.yaml'}:1: console: host 0.0.0.0 is not loopback" in str(caught.value)
    (tmp_path / "config.yaml").write_text('console: {host: 0.0.0.0, token: "${T}"}\n')
    console = load_config(tmp_path / "config.yaml", env={"T": "x"}).console
    assert console is not None and (console.port, console.token) == (8180, "x")
    (tmp_path / "config.yaml").write_text("feeds: []\n")
    assert load_config(tmp_path / "config.yaml", env={}).console is None


def test_language_by_script() -> None:
    assert [language(t) for t in ("稀土", "ガリウム輸出", "Галлий", "gallium")] == ["zh", "ja", "ru", "latin"]


class _Transport:
    """Stands for a connection from another machine (aiohttp reads the peer from it)."""

    def __init__(self, peer: str) -> None:
        self.peer = peer

    def get_extra_info(self, name: str, default: object = None) -> object:
        return (self.peer, 40000) if name == "peername" else default

    def is_closing(self) -> bool:
        return False


def test_without_a_token_only_loopback_clients_get_in() -> None:
    from aiohttp.test_utils import make_mocked_request

    from policybot.console.access import Access

    access = Access(None)
    assert access.allowed(make_mocked_request("GET", "/", transport=_Transport("127.0.0.1")))
    assert access.allowed(make_mocked_request("GET", "/", transport=_Transport("::1")))
    assert not access.allowed(make_mocked_request("GET", "/", transport=_Transport("192.0.2.7")))
    assert not Access("t").allowed(make_mocked_request("GET", "/", transport=_Transport("127.0.0.1")))


def test_run_serves_the_console_and_check_refuses_an_open_one(tmp_path: Path, feed_server: FeedServer) -> None:
    """`python bot.py run` logs where the console listens, and serves it; `check` refuses a
    console on a non-loopback host without a token, in one line."""
    import os
    import signal
    import subprocess
    import sys
    import urllib.request

    from tests.botproc import ROOT, BotProcess

    make_app(tmp_path, feed_server).store.close()
    bot = BotProcess(tmp_path / "config.yaml", env={**os.environ})
    try:
        line = bot.wait_log(r"console on http://127\.0\.0\.1:\d+/")
        url = line.split("console on ")[1].split()[0]
        with urllib.request.urlopen(url + "feeds", timeout=30) as resp:   # noqa: S310 - loopback
            assert resp.status == 200 and b"<h1>Feeds</h1>" in resp.read()
    finally:
        bot.signal(signal.SIGTERM)
        assert bot.wait() == 0
    config = tmp_path / "config.yaml"
    config.write_text(config.read_text().replace("console: {port: 0}", "console: {port: 0, host: 0.0.0.0}"))
    done = subprocess.run([sys.executable, str(ROOT / "bot.py"), "check", "--config", str(config)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1 and "Traceback" not in done.stderr + done.stdout
    assert f"{config}:8: console: host 0.0.0.0 is not loopback" in done.stdout + done.stderr


async def test_the_playground_page_says_when_a_run_was_stopped(polled: App) -> None:
    ticks = iter(range(1_000_000))
    client = await client_for(polled, deadline=0.5, clock=lambda: float(next(ticks)))
    try:
        text = await (await playground_post(client, {"yaml": RULES})).text()
    finally:
        await client.close()
    assert '<p class="err stopped">stopped after 0.5 s: the rule looked at 0 items' in text


async def test_alerts_page_bounds(polled: App, monkeypatch: pytest.MonkeyPatch) -> None:
    from policybot.console import app as console_app

    monkeypatch.setattr(console_app, "SHOWN_ALERTS", 1)
    client = await client_for(polled)
    try:
        one = await (await client.get("/")).text()
        monkeypatch.setattr(console_app, "MAX_SCAN", 2)
        scanned = await (await client.get("/", params={"language": "ru"})).text()
    finally:
        await client.close()
    assert one.count('class="card alert"') == 1
    assert "looked at 2 alerts); only the latest 2 alerts were looked at" in scanned


def test_playground_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    from policybot.console import playground
    from policybot.console.app import MAX_DAYS, _int

    assert (_int("9999", 30), _int("x", 30), _int("0", 30)) == (MAX_DAYS, 30, 1)
    monkeypatch.setattr(playground, "SHOWN", 2)
    rules, _ = parse(RULES, [])
    items = [Item("f", str(i), f"gallium export control {i}", None, "", "", None) for i in range(5)]
    outcome = run(rules, {}, items, {})
    assert [i.title for i, _, _ in outcome.matched] == ["gallium export control 4", "gallium export control 3"]
    assert outcome.counts == {"matches": 5, "current": 0, "new": 5, "lost": 0}


def test_logins_are_bounded() -> None:
    from policybot.console.access import MAX_SESSIONS, Access

    access = Access("tok")
    first = access.login("tok")
    assert access.login("wrong") is None
    for _ in range(MAX_SESSIONS):
        access.login("tok")
    assert len(access.sessions) == MAX_SESSIONS and first not in access.sessions


def test_counts_per_day_and_keyset_pages_agree_on_both_backends(state: str | Path) -> None:
    """Day numbers are whole days (PostgreSQL's CAST would round 1.6 days up), a page boundary
    among items seen at one time loses and repeats nothing, the text filter finds its words."""
    store = Store(state)
    try:
        day = 20_000
        for n, when in enumerate((day * DAY + 100, day * DAY + 0.6 * DAY, (day + 1) * DAY + 5)):
            items = [Item("f", f"i{n}-{k}", f"Gallium note {n}-{k}", None, "", "", None) for k in range(3)]
            alerts = [Alert(f"a{n}-{k}", "console", it, (Match("r", "Rule", "high", ()),))
                      for k, it in enumerate(items)]
            store.commit_poll("f", items, [], alerts, {}, when)
        assert store.alerts_per_day(0.0) == {("r", day): 6, ("r", day + 1): 3}
        assert store.new_items_per_day(["f", "g"], [day, day + 1, day + 2]) == {("f", day): 6, ("f", day + 1): 3}
        found = [d.alert.alert_id for d in store.alert_scan(AlertQuery(text="NOTE 1-"), 100)]
        assert found == ["a1-2", "a1-1", "a1-0"]
        assert len(list(store.alert_scan(AlertQuery(rule="r"), 100))) == 9
    finally:
        store.close()
    titles = [i.title for i in stream_items(str(state), day * DAY + 200, batch=2)]
    assert titles == [f"Gallium note {n}-{k}" for n in (1, 2) for k in range(3)]


def test_run_on_postgresql_serves_the_console_after_a_login(tmp_path: Path, feed_server: FeedServer,
                                                            pg_server: str) -> None:
    """`python bot.py run` on storage.url with the console on (a token): log in through the
    form, then the Alerts, Feeds and Rules pages read the shared state."""
    import http.cookiejar
    import os
    import signal
    import urllib.parse
    import urllib.request

    import psycopg

    from tests.botproc import BotProcess, wait_until
    from tests.pgserver_fixture import fresh_database

    url = fresh_database(pg_server)
    make_app(tmp_path, feed_server, 'console: {port: 0, token: "${TOK}"}\n', state=url).store.close()
    bot = BotProcess(tmp_path / "config.yaml", env={**os.environ, "TOK": "s3cret"})
    try:
        line = bot.wait_log(r"console on http://127\.0\.0\.1:\d+/")
        base = line.split("console on ")[1].split()[0]
        with psycopg.connect(url) as conn:
            wait_until(lambda: conn.execute("SELECT COUNT(*) FROM outbox WHERE state = 'sent'")
                       .fetchone()[0] == 3, what="the three alerts sent")
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        with browser.open(base + "feeds", timeout=30) as resp:   # not logged in: the login form
            form = resp.read().decode()
        csrf = re.search(r'name="csrf" value="([^"]+)"', form)
        assert csrf is not None and "<h1>Log in</h1>" in form
        login = urllib.parse.urlencode({"csrf": csrf.group(1), "token": "s3cret"}).encode()
        with browser.open(base + "login", data=login, timeout=30) as resp:   # 303 to the Alerts
            alerts = resp.read().decode()
        pages = {}
        for path in ("feeds", "rules"):
            with browser.open(base + path, timeout=30) as resp:
                pages[path] = resp.read().decode()
    finally:
        bot.signal(signal.SIGTERM)
        assert bot.wait() == 0
    assert "<h1>Alerts</h1>" in alerts and '<a href="https://example.gov/a1"' in alerts
    assert alerts.count('class="card alert"') == 3 and "<script" not in alerts
    assert "<h1>Feeds</h1>" in pages["feeds"] and "<svg" in pages["feeds"] and ">trade<" in pages["feeds"]
    assert "<h1>Rules</h1>" in pages["rules"] and "Critical minerals" in pages["rules"]
    assert "1 examples: all pass" in pages["rules"]
