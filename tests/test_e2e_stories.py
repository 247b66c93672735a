"""One story, one alert, as a user runs it: `python bot.py once` on three feeds carrying the
same story (one in Chinese) plus a copy of one article, and a preliminary and a final
determination that are two events."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from functools import partial
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from tests import botproc
from tests.fakes.slack_api import TOKEN
from tests.fakes.telegram_api import CHAT_ID
from tests.fakes.telegram_api import TOKEN as TG_TOKEN

ROOT = Path(__file__).resolve().parents[1]
CHANNEL = "C0123ABCD"
RULES = """\
entities:
  gallium: [gallium, germanium, 镓, 锗]
rules:
  - id: gallium
    title: Gallium trade measures
    severity: high
    match: {all: [$gallium], any: [export control, export curb, 出口管制, anti-dumping]}
    notify: [bot, hook, console, me]
"""


def rss(title: str, *items: tuple[str, str, str, str, float]) -> bytes:
    body = "".join(
        f"<item><title>{escape(t)}</title><link>{escape(link)}</link><guid>{g}</guid>"
        f"<pubDate>{format_datetime(datetime.now(UTC) - timedelta(hours=h))}</pubDate>"
        f"<description>{escape(s)}</description></item>" for g, t, s, link, h in items)
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}'
            f"</title>{body}</channel></rss>").encode()


WIRE = rss("Reuters", (
    "w1", "China imposes export controls on gallium and germanium from August 1 - Reuters",
    "China's commerce ministry will impose export controls on gallium and germanium items from "
    "August 1 under announcement No. 23 of 2025. Exporters will need licences.",
    "https://wire.example/gallium?utm_source=rss", 3), (
    "w2", "EU sets preliminary anti-dumping duties of 24.6% on Chinese gallium wafers",
    "The European Commission set preliminary anti-dumping duties of 24.6% on gallium arsenide "
    "wafers from China pending a final decision.", "https://wire.example/eu-pre", 30))
PAPER = rss("Caixin Global", (
    "c1", "China to curb gallium, germanium exports from August 1",
    "Beijing will require export licences for gallium and germanium products from August 1, the "
    "commerce ministry said in announcement No. 23, tightening its export control regime.",
    "https://caixin.example/gallium", 2), (
    "c2", "EU sets final anti-dumping duties of 24.6% on Chinese gallium wafers",
    "The European Commission confirmed definitive anti-dumping duties of 24.6% on gallium "
    "arsenide wafers from China after its investigation.", "https://caixin.example/eu-final", 1), (
    "c3", "China imposes export controls on gallium and germanium from August 1",   # a copy
    "Syndicated.", "https://Wire.example/gallium?fbclid=x#top", 2))
MOFCOM = rss("商务部", (
    "m1", "商务部 海关总署公告2025年第23号 关于对镓、锗相关物项实施出口管制的公告",
    "决定自2025年8月1日起对镓、锗相关物项实施出口管制，出口经营者应向商务部申请出口许可。",
    "https://mofcom.example/2025/23", 1))


def test_once_one_alert_per_story_threads_the_rest(tmp_path: Path, feed_server: Any,
                                                   slack_api: Any, telegram_api: Any) -> None:
    (tmp_path / "rules.yaml").write_text(RULES, encoding="utf-8")
    urls = [feed_server.add(name, body) for name, body in
            (("wire", WIRE), ("paper", PAPER), ("mofcom", MOFCOM))]
    (tmp_path / "config.yaml").write_text(f"""\
storage: {{path: state.db}}
rules: [rules.yaml]
defaults: {{backfill: 2d}}
stories: {{window: 72h}}
feeds:
  - {{id: wire, url: "{urls[0]}"}}
  - {{id: paper, url: "{urls[1]}"}}
  - {{id: mofcom, url: "{urls[2]}"}}
destinations:
  console: {{type: console}}
  hook: {{type: slack, webhook_url: "${{HOOK_URL}}", rate: 100}}
  bot: {{type: slack, token: "${{SLACK_BOT_TOKEN}}", channel: {CHANNEL}, api_url: "{slack_api.api_url}", rate: 100}}
  me: {{type: telegram, token: "${{TG}}", chat_id: {CHAT_ID}, api_url: "{telegram_api.url}", rate: 100}}
""", encoding="utf-8")
    env = {**os.environ, "HOOK_URL": slack_api.webhook_url("alerts"), "SLACK_BOT_TOKEN": TOKEN,
           "TG": TG_TOKEN}

    bot = partial(botproc.bot, tmp_path / "config.yaml", env=env)

    done = bot("once")
    assert done.returncode == 0, done.stderr

    msgs = slack_api.messages(CHANNEL)
    tops = [m for m in msgs if not m.get("thread_ts")]
    assert len(tops) == 3, [m["text"] for m in msgs]      # the story, preliminary, final
    story = next(m for m in tops if "germanium" in m["text"] or "镓" in m["text"])
    assert len(slack_api.replies(CHANNEL, story["ts"])) == 2
    assert any("final" in m["text"] for m in tops) and any("preliminary" in m["text"] for m in tops)
    (update,) = slack_api.updated(CHANNEL)
    assert update["ts"] == story["ts"] and "also reported by: " in update["text"]

    tg = telegram_api.messages(CHAT_ID)
    replies = [m for m in tg if m["reply_to"]]
    assert len(tg) == 5 and len(replies) == 2
    assert all(m["silent"] and m["reply_to"] == replies[0]["reply_to"] for m in replies)
    (edit,) = telegram_api.edits(CHAT_ID)
    assert edit["message_id"] == replies[0]["reply_to"] and "also reported by: " in edit["text"]

    assert len(slack_api.messages("webhook:alerts")) == 3
    assert done.stdout.count("↳ also: ") == 2

    status = bot("status")
    assert status.returncode == 0
    (hook_row,) = [line for line in status.stdout.splitlines() if line.strip().startswith("hook")]
    assert hook_row.split()[1:7] == ["3", "0", "0", "0", "0", "2"]   # sent ... folded


def test_test_rules_shows_stories(tmp_path: Path) -> None:
    rows = [
        {"id": "en1", "published": "2025-07-03T08:00:00Z",
         "title": "China imposes export controls on gallium and germanium from August 1 - Reuters",
         "summary": "The commerce ministry will control gallium and germanium exports from "
                    "August 1 under announcement No. 23 of 2025."},
        {"id": "zh1", "published": "2025-07-03T09:00:00Z",
         "title": "商务部 海关总署公告2025年第23号 关于对镓、锗相关物项实施出口管制的公告",
         "summary": "决定自2025年8月1日起对镓、锗相关物项实施出口管制。"},
        {"id": "other", "published": "2025-07-03T10:00:00Z", "title": "Weather is fine", "summary": ""},
    ]
    run = run_test_rules(tmp_path, rows, RULES.replace("notify: [bot, hook, console, me]", ""))

    lines = [json.loads(line) for line in run("--json").splitlines()]
    assert [r["story"] for r in lines] == ["en1", "en1", "other"]
    plain = run()
    assert "story en1: 2 reports" in plain and "  + 商务部 海关总署公告2025年第23号" in plain
    explained = run("--explain")
    assert "  story: joins en1 (shared: numbers 08-01, No. 23; rules gallium" in explained


def test_test_rules_a_step_the_story_carries_joins_a_new_one_does_not(tmp_path: Path) -> None:
    """`test-rules` on a realistic sequence: the controls' first report says they take effect on
    August 1, so a report titled "take effect" the same evening is that story; a suspension the
    next day is a story of its own, and the explanation names the cue."""
    rows = [
        {"id": "first", "published": "2025-07-03T08:00:00Z",
         "title": "China imposes export controls on gallium and germanium - Reuters",
         "summary": "The commerce ministry's export controls on gallium and germanium under "
                    "announcement No. 23 take effect on August 1."},
        {"id": "later", "published": "2025-07-03T20:00:00Z",
         "title": "Gallium and germanium export controls take effect August 1",
         "summary": "Announcement No. 23: export controls on gallium and germanium items."},
        {"id": "pause", "published": "2025-07-04T20:00:00Z",
         "title": "China suspends gallium and germanium export controls",
         "summary": "The export controls on gallium and germanium under announcement No. 23 are suspended."},
    ]
    run = run_test_rules(tmp_path, rows, RULES.replace("notify: [bot, hook, console, me]", ""))

    assert [json.loads(line)["story"] for line in run("--json").splitlines()] == ["first", "first", "pause"]
    assert "blocked by 'suspension' in this title, not in the story" in run("--explain")


def run_test_rules(tmp_path: Path, rows: list[dict[str, str]], rules: str) -> Callable[..., str]:
    """`bot.py test-rules` on `rows` (JSON Lines items) with `rules` (a rules file's text) and a
    config of them in tmp_path: a function of the extra arguments (`--json`, `--explain`) that
    returns the output."""
    (tmp_path / "rules.yaml").write_text(rules, encoding="utf-8")
    (tmp_path / "config.yaml").write_text("rules: [rules.yaml]\nstorage: {path: s.db}\n", encoding="utf-8")
    data = tmp_path / "items.jsonl"
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")

    def run(*args: str) -> str:
        done = subprocess.run([sys.executable, str(ROOT / "bot.py"), "test-rules", str(data), *args,
                               "--config", str(tmp_path / "config.yaml")], capture_output=True,
                              text=True, timeout=60, cwd=tmp_path, check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout
    return run
