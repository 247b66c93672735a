"""The console's Alerts page shows stories (issue 12, point 3): a story's later reports are
lines under its first report ("+N reports", "↳ also: SOURCE — title"), not alerts of their
own; through the console's HTTP (aiohttp's test client) on an App that polled local feeds."""

from __future__ import annotations

import html
import io
import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from policybot.app import App
from policybot.config import load_config
from policybot.console import app as console_app
from policybot.console.app import Console
from tests.story_flood import FEEDS, RULES, STORIES, rss


@pytest.fixture
async def polled(tmp_path: Path) -> Any:
    (tmp_path / "rules.yaml").write_text(RULES, encoding="utf-8")
    for feed in FEEDS:
        (tmp_path / f"{feed}.xml").write_text(rss(feed), encoding="utf-8")
    feeds = ", ".join(f"{{id: {f}, url: {f}.xml}}" for f in FEEDS)
    (tmp_path / "config.yaml").write_text(
        f"storage: {{path: s.db}}\nrules: [rules.yaml]\ndefaults: {{backfill: all}}\n"
        f"feeds: [{feeds}]\ndestinations: {{console: {{type: console}}}}\nconsole: {{port: 0}}\n",
        encoding="utf-8")
    app = App(load_config(tmp_path / "config.yaml", env={}), stream=io.StringIO())
    app.load_rules()
    await app.poll_all()
    await app.deliver()
    yield app
    await app.close()


async def alerts_page(app: App, **params: str) -> str:
    client = TestClient(TestServer(Console(app).web_app()))
    await client.start_server()
    try:
        resp = await client.get("/", params=params)
        assert resp.status == 200
        return await resp.text()
    finally:
        await client.close()


def cards(page: str) -> list[str]:
    return page.split('<div class="card alert"')[1:]


async def test_later_reports_show_under_their_first(polled: App) -> None:
    page = await alerts_page(polled)
    shown = cards(page)
    assert len(shown) == 3                                   # three stories, not nine alerts
    for card in shown:
        assert "<b>+2 reports</b>" in card and card.count("↳ also: <b>") == 2
    titles = [t for story in STORIES.values() for _, _, _, t, _, _ in story]
    texts = [html.unescape(re.sub(r"<[^>]+>", "", card)) for card in shown]
    for title in titles:                                     # every report, once
        assert sum(text.count(title) for text in texts) == 1, title
    rusal = next(c for c in shown if "Rusal" in c or "俄铝" in c)
    assert all(name in rusal for name in ("Reuters", "新华社", "第一财经"))
    also = re.findall(r"↳ also: <b>[^<]+</b> — <a href=\"https://[^\"]+\" rel=\"noopener "
                      r"noreferrer nofollow\">[^<]+</a> · <span title=[^>]+>[^<]+</span> "
                      r"<span class=\"tag sent\">sent</span>", page)      # said as a line on the console
    assert len(also) == 6


async def test_a_filter_applies_to_each_report(polled: App) -> None:
    page = await alerts_page(polled, feed="reuters")
    shown = cards(page)
    assert len(shown) == 3 and "↳ also" not in page and not re.search(r"<b>\+\d+ reports?</b>", page)


async def test_reports_listed_under_a_story_are_bounded(polled: App,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console_app, "ALSO_SHOWN", 1)
    page = await alerts_page(polled)
    assert page.count("↳ also: <b>") == 3 and page.count("and 1 more") == 3
    assert page.count("<b>+2 reports</b>") == 3


async def test_a_full_page_looks_back_a_bounded_way_for_first_reports(
        polled: App, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console_app, "SHOWN_ALERTS", 1)
    far = await alerts_page(polled)
    assert len(cards(far)) == 1 and "<b>+2 reports</b>" in far and "looked at 9 alerts" in far
    monkeypatch.setattr(console_app, "STORY_LOOKBACK", 1)    # stop once 1 x 1 rows are read
    near = await alerts_page(polled)
    assert len(cards(near)) == 1 and "+2 reports" not in near and "looked at 1 alerts" in near
