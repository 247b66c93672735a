"""`bot.py run` as users run it (issue 10): /metrics names no chat, terminal escapes from a
feed title or a /watch text reach neither the log nor `status`, and in a Telegram group only
an administrator may unsubscribe everyone."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.botproc import BotProcess, bot, wait_until
from tests.test_e2e import RULES, TG_TOKEN, feed, rss_item

ROOT = Path(__file__).resolve().parents[1]
PERSON = 555123456
GROUP = -1001234567890
ADMIN = 42
MEMBER = 777
HOSTILE = "\x1b[2J\x1b]0;pwned\x07\u202e"


def start(tmp_path: Path) -> BotProcess:
    return BotProcess(tmp_path / "config.yaml", env={**os.environ, "TELEGRAM_BOT_TOKEN": TG_TOKEN})


def status(tmp_path: Path) -> str:
    done = bot(tmp_path / "config.yaml", "status", env={**os.environ, "TELEGRAM_BOT_TOKEN": TG_TOKEN})
    assert done.returncode == 0, done.stderr
    return done.stdout


def stop(run: BotProcess) -> str:
    run.signal(signal.SIGTERM)
    assert run.wait() == 0, run.log
    return run.log


def scrape_until(port: int, line: str) -> str:
    """GET /metrics until `line` is in it; returns the text."""
    text = ""

    def counted() -> bool:
        nonlocal text
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:  # noqa: S310
            text = resp.read().decode()
        return line in text.splitlines()

    wait_until(counted, what=f"metrics line {line!r}")
    return text


def write_config(tmp_path: Path, feed_url: str, telegram_url: str, allow: int, extra: str = "") -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "r.yaml").write_text(RULES.replace("    notify: [hook, bot, me]\n", ""))
    (tmp_path / "config.yaml").write_text(f"""\
storage: {{path: state.db}}
rules: rules/
delivery: {{interval: 1s}}
feeds: [{{id: f, url: "{feed_url}", every: 1s}}]
telegram: {{token: "${{TELEGRAM_BOT_TOKEN}}", allow: [{allow}], api_url: "{telegram_url}"}}
{extra}""")


@pytest.fixture
def stopped() -> Iterator[list[BotProcess]]:
    """Processes a test started: killed even when the test fails half-way."""
    started: list[BotProcess] = []
    yield started
    for run in started:
        run.stop()


def test_metrics_name_no_chat_and_escapes_reach_neither_log_nor_status(
        tmp_path: Path, feed_server: Any, telegram_api: Any, stopped: list[BotProcess]) -> None:
    url = feed_server.add("f", feed(rss_item("a1", "Old news", timedelta(hours=1))))
    write_config(tmp_path, url, telegram_api.url, PERSON, "metrics: {port: 0}\n")
    run = start(tmp_path)
    stopped.append(run)
    line = run.wait_log(r"metrics on http://127\.0\.0\.1:(\d+)/metrics")
    port = int(re.search(r":(\d+)/metrics", line).group(1))  # type: ignore[union-attr]
    telegram_api.push_message(PERSON, f"/watch gallium -{HOSTILE}noise", from_id=PERSON)
    assert "Watching" in telegram_api.wait_for(PERSON, 1, timeout=20)[0]["text"]
    title = f"Gallium export ban {HOSTILE} takes effect"   # escapes in the feed, too
    feed_server.add("f", feed(rss_item("g1", title, timedelta(seconds=5)),
                              rss_item("a1", "Old news", timedelta(hours=1))))
    texts = [m["text"] for m in telegram_api.wait_for(PERSON, 2, timeout=20)]
    assert len(texts) == 2 and "Gallium export ban" in texts[1]
    sent = 'policybot_alerts_sent_total{destination="telegram-subscriber"} 1'
    metrics = scrape_until(port, sent)   # counted once the send's response is back
    shown = status(tmp_path)
    log = stop(run)
    assert str(PERSON) not in metrics and "watch:" not in metrics
    lines = metrics.splitlines()
    assert 'policybot_matches_total{rule="watch"} 1' in lines
    assert sent in lines
    assert "queued: Gallium export ban  takes effect" in log   # the title's escapes, dropped
    assert "gallium -noise" in shown                          # the /watch text's, too
    for text in (log, shown):
        assert not any(c in text for c in ("\x1b", "\x07", "\u202e")), text


def test_in_a_group_only_an_admin_may_unsubscribe_everyone(
        tmp_path: Path, feed_server: Any, telegram_api: Any, stopped: list[BotProcess]) -> None:
    url = feed_server.add("f", feed(rss_item("a1", "Old news", timedelta(hours=1))))
    write_config(tmp_path, url, telegram_api.url, GROUP)
    telegram_api.add_chat(GROUP)
    telegram_api.set_member(GROUP, ADMIN, "administrator")
    run = start(tmp_path)
    stopped.append(run)

    def say(user: int, text: str, count: int) -> str:
        telegram_api.push_message(GROUP, text, from_id=user)
        messages = telegram_api.wait_for(GROUP, count, timeout=20)
        assert len(messages) == count, [m["text"] for m in messages]
        return str(messages[-1]["text"])

    assert "Subscribed to rare-earth-export" in say(ADMIN, "/subscribe rare-earth-export", 1)
    assert "Only this group's administrators" in say(MEMBER, "/unsubscribe all", 2)
    assert subscriptions(tmp_path) == [(f"telegram:{GROUP}", "rare-earth-export")]
    assert "rare-earth-export" in say(MEMBER, "/list", 3)
    assert "Removed all 1" in say(ADMIN, "/unsubscribe all", 4)
    assert subscriptions(tmp_path) == []
    stop(run)
    asked = {int(p["user_id"]) for p in telegram_api.calls("getChatMember")}
    assert asked == {ADMIN, MEMBER}


def subscriptions(tmp_path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(f"file:{tmp_path / 'state.db'}?mode=ro", uri=True) as db:
        return [(r[0], r[1]) for r in db.execute("SELECT destination, rule_id FROM subscriptions")]
