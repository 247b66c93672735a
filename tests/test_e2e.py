"""End to end: `bot.py` as a user runs it, against the local feed, Slack and Telegram fakes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest

from tests.botproc import wait_until

ROOT = Path(__file__).resolve().parents[1]
SLACK_TOKEN = "xoxb-test"
TG_TOKEN = "123456:TEST-token"
CHAT = 123456789
CHANNEL = "C0123ABCD"

RULES = """\
entities:
  rare-earths: [rare earth, 稀土, dysprosium]
rules:
  - id: rare-earth-export
    title: Rare-earth export controls
    severity: high
    match:
      all: [$rare-earths]
      any: [export control, export licence, 出口管制]
    notify: [hook, bot, me]
"""


def rss_item(guid: str, title: str, age: timedelta, link: str | None = None, summary: str = "") -> str:
    when = format_datetime(datetime.now(UTC) - age)
    link = link or f"https://example.gov/{guid}"
    return (f"<item><title>{escape(title)}</title><link>{escape(link)}</link><guid>{guid}</guid>"
            f"<pubDate>{when}</pubDate><description>{escape(summary)}</description></item>")


def feed(*items: str) -> bytes:
    return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Trade notices</title><link>https://example.gov/</link>{''.join(items)}"
            "</channel></rss>").encode()


# The title is HTML in the feed; entity-escaped markup survives parsing as literal text.
HOSTILE = rss_item("h1", "&lt;!channel&gt; @here &lt;@U123&gt; Rare earth export control "
                   "&lt;script&gt;alert(1)&lt;/script&gt; [x](http://evil.example) *stars*",
                   timedelta(hours=1), link="javascript:alert(1)",
                   summary="<img src=x onerror=alert(1)> rare earth &lt;a href='javascript:x'&gt;")
ITEMS = [
    rss_item("a1", "China tightens export control on dysprosium", timedelta(hours=2)),
    rss_item("a2", "商务部：对稀土相关物项实施出口管制", timedelta(hours=3)),
    rss_item("n1", "Rare earth prices steady", timedelta(hours=1)),            # no match
    rss_item("o1", "Old: rare earth export licence rules", timedelta(days=3)),  # before backfill
    HOSTILE,
]


@pytest.fixture
def world(tmp_path: Path, feed_server: Any, slack_api: Any, telegram_api: Any) -> dict[str, Any]:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "r.yaml").write_text(RULES, encoding="utf-8")
    url = feed_server.add("trade", feed(*ITEMS), etag=True)
    (tmp_path / "config.yaml").write_text(f"""\
storage: {{path: state.db}}
rules: rules/
defaults: {{backfill: 1d, notify: [console]}}
feeds:
  - {{id: trade, url: "{url}", tags: [us]}}
destinations:
  console: {{type: console}}
  hook: {{type: slack, webhook_url: "${{HOOK_URL}}", rate: 100}}
  bot: {{type: slack, token: "${{SLACK_BOT_TOKEN}}", channel: {CHANNEL}, api_url: "{slack_api.api_url}", rate: 100}}
  me: {{type: telegram, token: "${{TELEGRAM_BOT_TOKEN}}", chat_id: {CHAT}, api_url: "{telegram_api.url}", rate: 100}}
""", encoding="utf-8")
    env = {**os.environ, "HOOK_URL": slack_api.webhook_url("alerts"),
           "SLACK_BOT_TOKEN": SLACK_TOKEN, "TELEGRAM_BOT_TOKEN": TG_TOKEN}
    return {"dir": tmp_path, "env": env, "feed_url": url}


def bot(world: dict[str, Any], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "bot.py"), *args, "--config",
                           str(world["dir"] / "config.yaml")], capture_output=True, text=True,
                          env=world["env"], timeout=timeout, cwd=world["dir"], check=False)


def slack_texts(slack_api: Any, target: str) -> list[str]:
    return [m["text"] for m in slack_api.messages(target)]


def test_once_posts_exactly_the_expected_messages(world: dict[str, Any], slack_api: Any,
                                                  telegram_api: Any) -> None:
    first = bot(world, "once")
    assert first.returncode == 0, first.stderr
    for texts in (slack_texts(slack_api, "webhook:alerts"), slack_texts(slack_api, CHANNEL),
                  telegram_api.texts(CHAT)):
        assert len(texts) == 3, texts
        assert sum("dysprosium" in t for t in texts) == 1
        assert sum("稀土" in t for t in texts) == 1
        assert not any("prices steady" in t or "Old:" in t for t in texts)
    assert TG_TOKEN not in first.stderr + first.stdout and SLACK_TOKEN not in first.stderr

    second = bot(world, "once")  # nothing new: nothing posted
    assert second.returncode == 0, second.stderr
    assert len(slack_api.messages("webhook:alerts")) == 3
    assert len(slack_api.messages(CHANNEL)) == 3 and len(telegram_api.texts(CHAT)) == 3


def test_a_new_item_after_a_restart_alerts_once(world: dict[str, Any], feed_server: Any,
                                                slack_api: Any, telegram_api: Any) -> None:
    assert bot(world, "once").returncode == 0
    new = rss_item("a3", "EU adds rare earth magnets to export control list", timedelta(minutes=5))
    feed_server.add("trade", feed(new, *ITEMS), etag=True)
    assert bot(world, "once").returncode == 0
    assert bot(world, "once").returncode == 0
    for texts in (slack_texts(slack_api, CHANNEL), telegram_api.texts(CHAT)):
        assert len(texts) == 4
        assert sum("EU adds rare earth magnets" in t for t in texts) == 1


def test_hostile_item_arrives_escaped_everywhere(world: dict[str, Any], slack_api: Any,
                                                 telegram_api: Any) -> None:
    assert bot(world, "once").returncode == 0
    for target in ("webhook:alerts", CHANNEL):
        (msg,) = [m for m in slack_api.messages(target) if "alert(1)" in json.dumps(m)]
        raw = json.dumps(msg)
        assert "<!channel>" not in raw and "<@U123>" not in raw and "<!here" not in raw
        assert "<script" not in raw and "&lt;script&gt;" in raw
        assert "<javascript" not in raw and "|javascript" not in raw  # never a Slack link
    (tg,) = [m for m in telegram_api.messages(CHAT) if "alert(1)" in m["text"]]
    assert "<script" not in tg["html"] and 'href="javascript' not in tg["html"]
    assert "&lt;script&gt;" in tg["html"]
    assert not any(e.get("type") == "text_link" and "javascript" in e.get("url", "")
                   for e in tg["entities"])


def test_check_reports_errors_and_exits_1(world: dict[str, Any]) -> None:
    ok = bot(world, "check")
    assert ok.returncode == 0 and "1 rule in 1 file" in ok.stdout, ok.stderr
    (world["dir"] / "rules" / "bad.yaml").write_text(
        "rules:\n  - id: x\n    title: X\n    match: {all: [$rare-earth]}\n", encoding="utf-8")
    bad = bot(world, "check")
    assert bad.returncode == 1
    assert "bad.yaml:4: " in bad.stderr and "did you mean '$rare-earths'" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_missing_env_var_for_a_used_destination(world: dict[str, Any]) -> None:
    del world["env"]["TELEGRAM_BOT_TOKEN"]
    result = bot(world, "once")
    assert result.returncode == 1
    assert "destination 'me': environment variable TELEGRAM_BOT_TOKEN is not set" in result.stderr
    assert "config.yaml:" in result.stderr


def test_send_test_ok_and_failure(world: dict[str, Any], slack_api: Any, telegram_api: Any) -> None:
    ok = bot(world, "send-test", "me")
    assert ok.returncode == 0, ok.stderr
    assert len(telegram_api.texts(CHAT)) == 1
    world["env"]["SLACK_BOT_TOKEN"] = "xoxb-wrong-token"
    bad = bot(world, "send-test", "bot")
    assert bad.returncode == 1
    assert "invalid_auth" in bad.stderr and "xoxb-wrong-token" not in bad.stderr + bad.stdout


def test_test_rules_json_lines(world: dict[str, Any], tmp_path: Path) -> None:
    jsonl = tmp_path / "items.jsonl"
    jsonl.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in [
        {"id": "x1", "title": "稀土出口管制新规", "summary": ""},
        {"id": "x2", "title": "Weather", "summary": "sunny"},
    ]) + "\n", encoding="utf-8")
    result = bot(world, "test-rules", str(jsonl), "--json")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines == [
        {"id": "x1", "title": "稀土出口管制新规", "rules": ["rare-earth-export"], "terms": ["稀土", "出口管制"],
         "story": "x1"},
        {"id": "x2", "title": "Weather", "rules": [], "terms": [], "story": "x2"},
    ]


def test_run_polls_delivers_and_stops_cleanly(world: dict[str, Any], telegram_api: Any) -> None:
    proc = subprocess.Popen([sys.executable, str(ROOT / "bot.py"), "run", "--config",
                             str(world["dir"] / "config.yaml")], env=world["env"],
                            cwd=world["dir"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: len(telegram_api.texts(CHAT)) >= 3, what="three alerts")
        assert len(telegram_api.texts(CHAT)) == 3
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "stopping" in err


def test_status_shows_feeds_and_outbox_without_secrets(world: dict[str, Any]) -> None:
    assert bot(world, "once").returncode == 0
    result = bot(world, "status")
    assert result.returncode == 0, result.stderr
    assert "trade" in result.stdout and "rare-earth-export" in result.stdout
    for secret in (SLACK_TOKEN, TG_TOKEN, world["env"]["HOOK_URL"]):
        assert secret not in result.stdout


def test_test_rules_since_backtests_polled_items(world: dict[str, Any]) -> None:
    assert bot(world, "once").returncode == 0
    result = bot(world, "test-rules", "--since", "30d", "--json")
    assert result.returncode == 0, result.stderr
    lines = {json.loads(line)["id"]: json.loads(line) for line in result.stdout.splitlines()}
    assert set(lines) == {"a1", "a2", "n1", "o1", "h1"}   # every polled item, alerted or not
    assert lines["a1"]["rules"] == ["rare-earth-export"] and lines["n1"]["rules"] == []
    assert lines["o1"]["rules"] == ["rare-earth-export"]  # backfill skipped it; the rule holds


def test_a_broken_feed_does_not_stop_the_others(world: dict[str, Any], feed_server: Any,
                                                telegram_api: Any) -> None:
    broken = feed_server.add("broken", status=500)
    config = world["dir"] / "config.yaml"
    config.write_text(config.read_text().replace(
        "  - {id: trade,", f'  - {{id: broken, url: "{broken}"}}\n  - {{id: trade,'))
    result = bot(world, "once")
    assert result.returncode == 0, result.stderr
    assert "feed=broken poll failed" in result.stderr and "500" in result.stderr
    assert len(telegram_api.texts(CHAT)) == 3
    status = bot(world, "status").stdout
    assert "failing x1" in status


@pytest.mark.parametrize("failure", [
    {"status": 500}, {"status": 429, "retry_after": 300}, {"status": 403, "description": "Forbidden: bot was blocked by the user"},
])
def test_no_token_in_logs_or_status_on_failures(world: dict[str, Any], telegram_api: Any,
                                                failure: dict[str, Any]) -> None:
    telegram_api.fail_next(3, **failure)
    result = bot(world, "once", "-v")
    status = bot(world, "status")
    assert result.returncode == 0, result.stderr
    said = "rate limited: waiting" if failure["status"] == 429 else "delivery failed"
    assert f"destination=me {said}" in result.stderr     # the failure is logged, without the token
    for text in (result.stdout, result.stderr, status.stdout, status.stderr):
        assert TG_TOKEN not in text and TG_TOKEN.split(":")[1] not in text


def test_no_token_when_telegram_is_unreachable(world: dict[str, Any], telegram_api: Any) -> None:
    config = world["dir"] / "config.yaml"
    config.write_text(config.read_text().replace(telegram_api.url, "http://127.0.0.1:9"))  # refused
    result = bot(world, "send-test", "me")
    assert result.returncode == 1
    assert TG_TOKEN not in result.stderr and TG_TOKEN.split(":")[1] not in result.stderr
