"""`python bot.py once` and `python bot.py test-rules` show evidence, not filler: the Slack
snippet bolds the CJK term as a rich_text style (no `*` markers), and each term shows once."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.fakes import slack_api as sf
from tests.test_e2e import CHANNEL, SLACK_TOKEN, bot, feed, rss_item

RULES = """\
entities:
  talks: [经贸磋商共识, 经贸磋商, 磋商]
  measures: [暂停, 关税, 加征关税, tariff, tariffs]
  actions: [add, added, announced, list, added to]
  lists: [Entity List]
rules:
  - id: trade-talks
    title: 经贸磋商成果
    severity: high
    match: {all: [$talks, $measures]}
  - id: listings
    title: Entity List changes
    severity: high
    match: {all: [$lists, $actions]}
"""
ITEMS = [
    rss_item("t1", "中美经贸磋商取得进展", timedelta(minutes=30),
             summary="中美经贸磋商共识，双方同意暂停加征关税，经贸磋商共识将于下月生效。"),
    rss_item("l1", "Commerce announced it added to the Entity List 12 firms", timedelta(minutes=20),
             summary="The list was announced today: 12 firms added to the Entity List."),
]


@pytest.fixture
def world(tmp_path: Path, feed_server: Any, slack_api: sf.SlackFake) -> dict[str, Any]:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "r.yaml").write_text(RULES, encoding="utf-8")
    url = feed_server.add("trade", feed(*ITEMS))
    (tmp_path / "config.yaml").write_text(f"""\
storage: {{path: state.db}}
rules: rules/
defaults: {{backfill: 1d, notify: [bot]}}
feeds:
  - {{id: trade, url: "{url}"}}
destinations:
  bot: {{type: slack, token: "${{SLACK_BOT_TOKEN}}", channel: {CHANNEL}, api_url: "{slack_api.api_url}", rate: 100}}
""", encoding="utf-8")
    env = {**os.environ, "SLACK_BOT_TOKEN": SLACK_TOKEN}
    return {"dir": tmp_path, "env": env}


def test_once_posts_rich_text_bold_on_the_cjk_term(world: dict[str, Any],
                                                   slack_api: sf.SlackFake) -> None:
    result = bot(world, "once")
    assert result.returncode == 0, result.stderr
    posted = {m["text"]: m for m in slack_api.messages(CHANNEL)}
    assert len(posted) == 2
    talks = next(m for text, m in posted.items() if "中美经贸磋商取得进展" in text)
    blocks = talks["blocks"]
    assert sf.block_error(blocks) is None
    elements = sf.rich_elements(blocks)
    strong = [e["text"] for e in elements if e.get("style") == {"bold": True}]
    assert strong == ["经贸磋商共识", "加征关税", "经贸磋商共识"]   # not 暂停: 加征关税 decided
    assert not any("*" in e["text"] for e in elements)
    assert "".join(e["text"] for e in elements).startswith("中美经贸磋商共识，双方同意暂停")
    rules = next(b["text"]["text"] for b in blocks if b["type"] == "section"
                 and b["text"]["text"].startswith("Rules:"))
    assert rules == "Rules: *经贸磋商成果* (`trade-talks`): 经贸磋商共识, 经贸磋商, 加征关税"
    listing = next(m for text, m in posted.items() if "Entity List 12 firms" in text)
    strong = [e["text"] for e in sf.rich_elements(listing["blocks"]) if e.get("style")]
    assert strong == ["added to", "Entity List"]        # not "list", not "announced"


def test_test_rules_lists_each_deciding_term_once(world: dict[str, Any], tmp_path: Path) -> None:
    items = tmp_path / "items.jsonl"
    items.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in [
        {"id": "c1", "title": "出口管制", "summary": "中美经贸磋商共识：暂停加征关税，加征关税下月起取消。"},
        {"id": "e1", "title": "Commerce announced it added to the Entity List 12 firms",
         "summary": "The list grew."},
    ]) + "\n", encoding="utf-8")
    result = bot(world, "test-rules", str(items))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.count("$measures -> '加征关税' in summary") == 1
    assert "'暂停'" not in out and "'关税'" not in out
    assert "**加征关税**" in out and "**暂停**" not in out
    assert "    $actions -> 'added to' in title" in out
    assert "'announced'" not in out and "'list'" not in out
    assert "**announced**" not in out and "**list**" not in out.replace("**Entity List**", "")
    result = bot(world, "test-rules", str(items), "--json")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[1]["terms"] == ["added to", "Entity List"]   # the deciding terms, in text order
