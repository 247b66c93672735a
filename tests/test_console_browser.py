"""The web console in a real browser: `python bot.py run` on a test state (three feeds from the
feed server fake, alerts delivered to the Slack fake, one destination failing), each page
loaded in headless Chromium (Debian's `chromium`, driven by Playwright), the filters and the
playground used, and a screenshot of each page saved in the test's tmp folder
(POLICYBOT_SCREENSHOTS=DIR saves them there too: docs/ holds two of them)."""

from __future__ import annotations

import os
import re
import shutil
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from policybot.store import Store
from tests.botproc import BotProcess, wait_until
from tests.fakes.slack_api import CHANNELS, TOKEN
from tests.test_e2e import feed, rss_item

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
INSTALL = ("chromium not found: the console's browser tests (tests/test_console_browser.py) did "
           "not run; install it with `sudo apt-get install -y chromium`")
RULES = """\
entities:
  rare-earths: [rare earth, 稀土, dysprosium, gallium]
rules:
  - id: rare-earth-export
    title: Rare-earth export controls
    severity: high
    match:
      all: [$rare-earths]
      any: [export control, export licence, 出口管制]
    notify: [desk, lost]
    examples:
      match: [China tightens export control on dysprosium]
      no_match: [Rare earth prices steady]
  - id: tariffs
    title: Tariffs
    severity: normal
    match:
      any: [tariff, anti-dumping]
    notify: [desk]
"""
PLAYGROUND = """\
rules:
  - id: rare-earth-export
    title: Rare-earth export controls
    match:
      all: [$rare-earths]
      any: [export control, export licence]
"""
HOSTILE = ("&lt;script&gt;alert(1)&lt;/script&gt; &lt;!channel&gt; Rare earth export control "
           "notice")


def _items(prefix: str, titles: list[str]) -> bytes:
    return feed(*[rss_item(f"{prefix}{i}", t, timedelta(hours=i + 1)) for i, t in enumerate(titles)])


@pytest.fixture
def chromium(request: pytest.FixtureRequest) -> str:
    if shutil.which("chromium") is None and not Path(CHROMIUM).exists():
        capture = request.config.pluginmanager.get_plugin("capturemanager")
        if capture is not None:   # one line in the run's output, not only under `-rs`
            with capture.global_and_fixture_disabled():
                sys.stderr.write(f"\n{INSTALL}\n")
        pytest.skip(INSTALL)
    return shutil.which("chromium") or CHROMIUM


@pytest.fixture
def console(tmp_path: Path, feed_server: Any, slack_api: Any) -> Iterator[str]:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "r.yaml").write_text(RULES, encoding="utf-8")
    urls = {
        "mofcom": feed_server.add("mofcom", _items("m", ["商务部：对稀土相关物项实施出口管制",
                                                         "商务部新闻发布会"])),
        "wire": feed_server.add("wire", _items("w", [
            "China tightens export control on dysprosium", HOSTILE, "Rare earth prices steady",
            "EU opens anti-dumping probe into steel", "Gallium export licence rules tightened"])),
        "quiet": feed_server.add("quiet", _items("q", ["Weather report", "Sports results"])),
        "broken": feed_server.add("broken", status=500),
    }
    feeds = "".join(f'  - {{id: {k}, url: "{u}", title: "{k.title()} news"}}\n' for k, u in urls.items())
    (tmp_path / "config.yaml").write_text(f"""\
storage: {{path: state.db}}
rules: rules/
defaults: {{backfill: 1d, notify: [console]}}
feeds:
{feeds}destinations:
  console: {{type: console}}
  desk: {{type: slack, token: "{TOKEN}", channel: {CHANNELS[0]}, api_url: "{slack_api.api_url}", rate: 100}}
  lost: {{type: slack, token: "{TOKEN}", channel: C0GONE, api_url: "{slack_api.api_url}", rate: 100}}
console: {{port: 0}}
""", encoding="utf-8")
    store = Store(tmp_path / "state.db")   # a chat that subscribed, watches and muted
    now = time.time()
    store.subscribe("telegram:123456789", "tariffs", now)
    store.add_watch("telegram:123456789", "w1", "gallium antimony", now)
    store.mute("telegram:123456789", now + 8 * 3600, now)
    store.close()
    bot = BotProcess(tmp_path / "config.yaml", env={**os.environ})
    try:
        line = bot.wait_log(r"console on http://127\.0\.0\.1:\d+/")
        wait_until(lambda: len(slack_api.messages(CHANNELS[0])) >= 5, what="alerts delivered to Slack")
        bot.wait_log(r"channel_not_found")
        yield line.split("console on ")[1].split()[0].rstrip("/")
    finally:
        bot.signal(15)
        bot.wait()
        bot.stop()


def shot(page: Any, tmp_path: Path, name: str) -> None:
    page.screenshot(path=str(tmp_path / f"console-{name}.png"), full_page=True)
    extra = os.environ.get("POLICYBOT_SCREENSHOTS")
    if extra:
        page.screenshot(path=str(Path(extra) / f"console-{name}.png"), full_page=True)


def test_every_page_in_a_browser(chromium: str, console: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        try:
            _alerts(page, console, tmp_path)
            _feeds(page, console, tmp_path)
            _rules(page, console, tmp_path)
            _playground(page, console, tmp_path)
            _subscriptions(page, console, tmp_path)
        finally:
            browser.close()


def _alerts(page: Any, base: str, tmp_path: Path) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(base + "/")
    cards = page.locator(".card.alert")
    assert cards.count() == 5
    hostile = cards.filter(has_text="alert(1)")
    assert "<script>alert(1)</script> <!channel> Rare earth export control" in hostile.locator("h2").inner_text()
    assert page.locator("script").count() == 0 and dialogs == []
    first = cards.filter(has_text="dysprosium")
    assert first.locator("mark").all_inner_texts() == ["export control", "dysprosium"]
    assert "sent" in first.locator(".deliveries").inner_text()
    assert "channel_not_found" in first.locator(".deliveries").inner_text()
    held = cards.filter(has_text="anti-dumping").locator(".deliveries").inner_text()
    assert "held telegram chat" in held    # muted; the chat id shows only on Subscriptions
    assert "123456789" not in page.content(), re.findall(".{80}123456789.{20}", page.content())
    shot(page, tmp_path, "alerts")
    page.select_option("select[name=language]", "zh")
    page.click("button[type=submit]")
    assert page.locator(".card.alert").all_inner_texts()[0].count("稀土") >= 1
    assert page.locator(".card.alert").count() == 1
    page.goto(base + "/")
    page.select_option("select[name=rule]", "tariffs")
    page.fill("input[name=q]", "steel")
    page.click("button[type=submit]")
    assert page.locator(".card.alert h2").all_inner_texts() == ["EU opens anti-dumping probe into steel"]


def _feeds(page: Any, base: str, tmp_path: Path) -> None:
    page.goto(base + "/feeds")
    rows = page.locator("tr.feed")
    assert rows.count() == 4
    assert rows.nth(1).locator("svg rect").count() == 30
    assert rows.nth(1).locator("svg title").first.text_content().endswith(" new items")
    assert "ok" in rows.nth(2).inner_text()
    assert "500" in rows.nth(3).locator("td").nth(3).inner_text()   # errors, with the status
    assert rows.nth(3).locator("td").nth(4).inner_text() != "—"     # backing off
    shot(page, tmp_path, "feeds")


def _rules(page: Any, base: str, tmp_path: Path) -> None:
    page.goto(base + "/rules")
    rule = page.locator(".card.rule#rare-earth-export")
    assert "2 examples: all pass" in rule.inner_text()
    assert "China tightens export control on dysprosium" in rule.inner_text()
    assert rule.locator("svg rect").count() == 30
    shot(page, tmp_path, "rules")


def _playground(page: Any, base: str, tmp_path: Path) -> None:
    page.goto(base + "/playground?rule=rare-earth-export")
    assert "id: rare-earth-export" in page.locator("textarea").input_value()
    page.fill("textarea", PLAYGROUND)
    page.click("button[type=submit]")
    counts = page.locator(".counts").inner_text()
    # the live rule matched 4 items; without 出口管制 the MOFCOM one is lost
    assert "3 matches; current rule: 4; 0 new matches, 1 lost matches" in counts, counts
    assert page.locator(".card.lost").count() == 1
    assert page.locator(".card.match mark").count() >= 3
    shot(page, tmp_path, "playground")
    page.fill("textarea", "rules:\n  - id: x\n    match:\n      all: [$nope]\n")
    page.click("button[type=submit]")
    assert page.locator(".errors").inner_text() == "playground.yaml:4: unknown entity '$nope'"


def _subscriptions(page: Any, base: str, tmp_path: Path) -> None:
    page.goto(base + "/subscriptions")
    row = page.locator("tr", has_text="telegram:123456789")
    assert "tariffs" in row.inner_text() and "gallium antimony" in row.inner_text()
    assert "muted" in row.inner_text()
    shot(page, tmp_path, "subscriptions")
