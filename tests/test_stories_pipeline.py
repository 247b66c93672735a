"""Stories through the pipeline, the store and delivery (App on local feed files, the Slack and
Telegram fakes): the same item from two feeds once, a later report threaded under the first
even across a restart, folded on a webhook, one line on the console, pruned with the items."""

from __future__ import annotations

import io
import sqlite3
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from policybot.app import App
from policybot.config import load_config
from policybot.prune import prune_state
from tests.fakes.slack_api import TOKEN
from tests.fakes.telegram_api import CHAT_ID
from tests.fakes.telegram_api import TOKEN as TG_TOKEN

CHANNEL = "C0123ABCD"
RULES = """\
entities:
  gallium: [gallium, germanium, 镓, 锗]
rules:
  - id: gallium-controls
    title: Gallium export controls
    match: {all: [$gallium], any: [export control, 出口管制, anti-dumping]}
    notify: [bot, hook, console, me]
"""
EN = ("China imposes export controls on gallium and germanium from August 1 - Reuters",
      "China's commerce ministry will impose export controls on gallium and germanium items from "
      "August 1 under announcement No. 23 of 2025. Exporters will need licences.",
      "https://wire.example/gallium?utm_source=rss")
ZH = ("商务部 海关总署公告2025年第23号 关于对镓、锗相关物项实施出口管制的公告",
      "决定自2025年8月1日起对镓、锗相关物项实施出口管制，出口经营者应向商务部申请出口许可。",
      "https://mofcom.example/2025/23")


def rss(title: str, *items: tuple[str, str, str, str]) -> str:
    when = format_datetime(datetime.now(UTC) - timedelta(hours=1))
    body = "".join(f"<item><title>{escape(t)}</title><link>{escape(link)}</link><guid>{g}</guid>"
                   f"<pubDate>{when}</pubDate><description>{escape(s)}</description></item>"
                   for g, t, s, link in items)
    return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title>{body}</channel></rss>'


def make_app(tmp_path: Path, slack_api: Any, telegram_api: Any, stories: str = "") -> tuple[App, io.StringIO]:
    (tmp_path / "rules.yaml").write_text(RULES, encoding="utf-8")
    (tmp_path / "config.yaml").write_text(f"""\
storage: {{path: s.db}}
rules: [rules.yaml]
defaults: {{backfill: all}}
feeds: [{{id: wire, url: wire.xml, title: Reuters}}, {{id: mofcom, url: mofcom.xml, title: 商务部}},
        {{id: agg, url: agg.xml, title: Aggregator}}]
destinations:
  console: {{type: console}}
  bot: {{type: slack, token: "{TOKEN}", channel: {CHANNEL}, api_url: "{slack_api.api_url}", rate: 100}}
  hook: {{type: slack, webhook_url: "{slack_api.webhook_url('alerts')}", rate: 100}}
  me: {{type: telegram, token: "{TG_TOKEN}", chat_id: {CHAT_ID}, api_url: "{telegram_api.url}", rate: 100}}
{stories}""", encoding="utf-8")
    out = io.StringIO()
    app = App(load_config(tmp_path / "config.yaml", env={}), stream=out)
    app.load_rules()
    return app, out


def write_feeds(tmp_path: Path, *, wire: bool = True, zh: bool = True) -> None:
    (tmp_path / "wire.xml").write_text(rss("Reuters", *([("w1", *EN)] if wire else [])), encoding="utf-8")
    (tmp_path / "mofcom.xml").write_text(rss("MOFCOM", *([("m1", *ZH)] if zh else [])), encoding="utf-8")
    # the aggregator carries the wire's article again: another guid, the link with other tracking
    copy = ("agg-77", EN[0], EN[1], "https://WIRE.example/gallium?fbclid=abc#comments")
    (tmp_path / "agg.xml").write_text(rss("Aggregator", *([copy] if wire else [])), encoding="utf-8")


async def test_later_report_threads_after_a_restart(tmp_path: Path, slack_api: Any,
                                                    telegram_api: Any) -> None:
    write_feeds(tmp_path, zh=False)
    app, out = make_app(tmp_path, slack_api, telegram_api)
    results = await app.poll_all()
    assert sum(r.alerts for r in results) == 4          # the wire item, once per destination
    await app.deliver()
    await app.close()
    (first,) = slack_api.messages(CHANNEL)
    assert "thread_ts" not in first

    write_feeds(tmp_path)                                 # the Chinese report arrives
    app, out = make_app(tmp_path, slack_api, telegram_api)   # after a restart
    results = await app.poll_all(force=True)
    assert sum(r.alerts for r in results) == 4
    report = await app.deliver()
    assert report.sent == 3 and report.failed == 0        # bot, telegram, console; the hook folds

    msgs = slack_api.messages(CHANNEL)
    assert len(msgs) == 2 and msgs[1]["thread_ts"] == first["ts"]
    assert "商务部" in msgs[1]["text"]
    (update,) = slack_api.updated(CHANNEL)
    assert update["ts"] == first["ts"] and "also reported by: 商务部" in update["text"]
    assert any("also reported by: 商务部" in str(b) for b in update["blocks"])
    assert len(slack_api.messages("webhook:alerts")) == 1
    assert "↳ also: 商务部 — 商务部 海关总署公告2025年第23号" in out.getvalue()

    tg = telegram_api.messages(CHAT_ID)
    assert len(tg) == 2 and tg[1]["reply_to"] == 1 and tg[1]["silent"]
    (edit,) = telegram_api.edits(CHAT_ID)
    assert edit["message_id"] == 1 and "also reported by: 商务部" in edit["text"]
    counts = app.store.outbox_counts()
    assert counts[("hook", "folded")] == 1 and app.store.folded_counts() == {"hook": 1}
    await app.close()


async def test_a_later_report_reaching_a_destination_first_is_its_first_message(
        tmp_path: Path, slack_api: Any, telegram_api: Any) -> None:
    write_feeds(tmp_path, wire=False)
    app, _ = make_app(tmp_path, slack_api, telegram_api)
    await app.poll_all()
    await app.deliver()
    (msg,) = slack_api.messages(CHANNEL)
    assert "thread_ts" not in msg and "商务部" in msg["text"]
    await app.close()


async def test_stories_off_alerts_each_report_but_still_drops_copies(
        tmp_path: Path, slack_api: Any, telegram_api: Any) -> None:
    write_feeds(tmp_path)
    app, _ = make_app(tmp_path, slack_api, telegram_api, stories="stories: off\n")
    results = await app.poll_all()
    assert sum(r.alerts for r in results) == 8            # two reports x four; the copy: none
    await app.deliver()
    assert [m.get("thread_ts") for m in slack_api.messages(CHANNEL)] == [None, None]
    await app.close()


async def test_story_index_is_pruned_with_the_items(tmp_path: Path, slack_api: Any,
                                                    telegram_api: Any) -> None:
    write_feeds(tmp_path)
    app, _ = make_app(tmp_path, slack_api, telegram_api)
    await app.poll_all()
    await app.deliver()
    await app.close()
    db = sqlite3.connect(tmp_path / "s.db")
    tables = ("identities", "stories", "story_messages", "story_reports")
    counts = [db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables]
    assert all(counts), counts
    prune_state(tmp_path / "s.db", datetime.now(UTC).timestamp() + 40 * 86400, 30 * 86400)
    assert [db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables] == [0, 0, 0, 0]
    db.close()
