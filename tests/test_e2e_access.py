"""`bot.py run` as users run it (issue 10): /metrics names no chat, terminal escapes from a
feed title or a /watch text reach neither the log nor `status`, and in a Telegram group only
an administrator may unsubscribe everyone."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.test_e2e import RULES, TG_TOKEN, feed, rss_item

ROOT = Path(__file__).resolve().parents[1]
PERSON = 555123456
GROUP = -1001234567890
ADMIN = 42
MEMBER = 777
HOSTILE = "\x1b[2J\x1b]0;pwned\x07\u202e"


class Running:
    """`bot.py run` in tmp_path, its stderr collected line by line as it comes."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.env = {**os.environ, "TELEGRAM_BOT_TOKEN": TG_TOKEN}
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "bot.py"), "run", "--config", "config.yaml"], cwd=tmp_path,
            env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    def wait_for_line(self, pattern: str, timeout: float = 30.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                found = re.search(pattern, line)
                if found:
                    return found
            time.sleep(0.02)
        raise AssertionError(f"no log line like {pattern!r}:\n{''.join(self.lines)}")

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGTERM)
        self.close()
        assert self.proc.returncode == 0, "".join(self.lines)
        return "".join(self.lines)

    def close(self) -> None:
        self.proc.wait(timeout=40)
        self._reader.join(timeout=5)
        assert self.proc.stderr is not None
        self.proc.stderr.close()

    def status(self) -> str:
        done = subprocess.run([sys.executable, str(ROOT / "bot.py"), "status", "--config", "config.yaml"],
                              cwd=self.tmp_path, env=self.env, capture_output=True, text=True, timeout=60,
                              check=True)
        return done.stdout


def scrape_until(port: int, line: str, timeout: float = 20.0) -> str:
    """GET /metrics until `line` is in it (or the time is up); returns the last text."""
    deadline = time.monotonic() + timeout
    while True:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:  # noqa: S310
            text: str = resp.read().decode()
        if line in text.splitlines() or time.monotonic() > deadline:
            return text
        time.sleep(0.05)


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
def stopped() -> Iterator[list[Running]]:
    """Processes a test started: stopped (SIGTERM) even when the test fails half-way."""
    started: list[Running] = []
    yield started
    for run in started:
        if run.proc.poll() is None:
            run.proc.kill()
        run.close()


def test_metrics_name_no_chat_and_escapes_reach_neither_log_nor_status(
        tmp_path: Path, feed_server: Any, telegram_api: Any, stopped: list[Running]) -> None:
    url = feed_server.add("f", feed(rss_item("a1", "Old news", timedelta(hours=1))))
    write_config(tmp_path, url, telegram_api.url, PERSON, "metrics: {port: 0}\n")
    run = Running(tmp_path)
    stopped.append(run)
    port = int(run.wait_for_line(r"metrics on http://127\.0\.0\.1:(\d+)/metrics").group(1))
    telegram_api.push_message(PERSON, f"/watch gallium -{HOSTILE}noise", from_id=PERSON)
    assert "Watching" in telegram_api.wait_for(PERSON, 1, timeout=20)[0]["text"]
    title = f"Gallium export ban {HOSTILE} takes effect"   # escapes in the feed, too
    feed_server.add("f", feed(rss_item("g1", title, timedelta(seconds=5)),
                              rss_item("a1", "Old news", timedelta(hours=1))))
    texts = [m["text"] for m in telegram_api.wait_for(PERSON, 2, timeout=20)]
    assert len(texts) == 2 and "Gallium export ban" in texts[1]
    sent = 'policybot_alerts_sent_total{destination="telegram-subscriber"} 1'
    metrics = scrape_until(port, sent)   # counted once the send's response is back
    status = run.status()
    log = run.stop()
    assert str(PERSON) not in metrics and "watch:" not in metrics
    lines = metrics.splitlines()
    assert 'policybot_matches_total{rule="watch"} 1' in lines
    assert sent in lines
    assert "queued: Gallium export ban  takes effect" in log   # the title's escapes, dropped
    assert "gallium -noise" in status                         # the /watch text's, too
    for shown in (log, status):
        assert not any(c in shown for c in ("\x1b", "\x07", "\u202e")), shown


def test_in_a_group_only_an_admin_may_unsubscribe_everyone(
        tmp_path: Path, feed_server: Any, telegram_api: Any, stopped: list[Running]) -> None:
    url = feed_server.add("f", feed(rss_item("a1", "Old news", timedelta(hours=1))))
    write_config(tmp_path, url, telegram_api.url, GROUP)
    telegram_api.add_chat(GROUP)
    telegram_api.set_member(GROUP, ADMIN, "administrator")
    run = Running(tmp_path)
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
    run.stop()
    asked = {int(p["user_id"]) for p in telegram_api.calls("getChatMember")}
    assert asked == {ADMIN, MEMBER}


def subscriptions(tmp_path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(f"file:{tmp_path / 'state.db'}?mode=ro", uri=True) as db:
        return [(r[0], r[1]) for r in db.execute("SELECT destination, rule_id FROM subscriptions")]
