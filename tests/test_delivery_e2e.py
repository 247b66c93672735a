"""Issue 9, points 2, 4 and 5, through `python bot.py` as people run it, against the fakes:
a hostile Retry-After pauses a destination (and a feed) for a bounded time, across processes;
a state database that cannot be written stops delivery (/healthz and `status` say why) instead
of re-sending; the mute summary arrives through the outbox. Waits are for events (a log line,
a fake's recorded request), each with a generous deadline; nothing sleeps a fixed time."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from policybot.feeds.fetch import MAX_FEED_RETRY_AFTER
from policybot.retry_after import MAX_RETRY_AFTER
from tests import botproc
from tests.botproc import BotProcess, healthz, wait_for
from tests.test_e2e import RULES, SLACK_TOKEN, TG_TOKEN, feed, rss_item

ROOT = Path(__file__).resolve().parents[1]
CHANNEL = "C0123ABCD"
PERSON = 424242


def write_config(tmp_path: Path, feeds: str, destinations: str, extra: str = "",
                 notify: str = "[bot]") -> Path:
    (tmp_path / "rules").mkdir(exist_ok=True)
    (tmp_path / "rules" / "r.yaml").write_text(RULES.replace("[hook, bot, me]", notify))
    config = tmp_path / "config.yaml"
    config.write_text(f"storage: {{path: state.db}}\nrules: rules/\nfeeds: {feeds}\n"
                      f"destinations:\n{destinations}{extra}", encoding="utf-8")
    return config


ENV = {**os.environ, "SLACK_BOT_TOKEN": SLACK_TOKEN, "TELEGRAM_BOT_TOKEN": TG_TOKEN}


def bot(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return botproc.bot(config, *args, env=ENV)


@pytest.fixture
def running() -> Iterator[list[BotProcess]]:
    started: list[BotProcess] = []
    yield started
    for run in started:
        stop(run)


def start(config: Path, running: list[BotProcess]) -> BotProcess:
    run = BotProcess(config, env=ENV)
    running.append(run)
    return run


def stop(run: BotProcess) -> int:
    run.signal(signal.SIGTERM)
    return run.wait()


def slack_dest(slack_api: Any) -> str:
    return (f'  bot: {{type: slack, token: "${{SLACK_BOT_TOKEN}}", channel: {CHANNEL}, '
            f'api_url: "{slack_api.api_url}", rate: 100}}\n')


def item(n: int, age: timedelta = timedelta(minutes=5)) -> str:
    return rss_item(f"x{n}", f"Rare earth export control notice #{n}", age)


# ------------------------------------------------------------------ point 2

def test_an_absurd_retry_after_pauses_destination_and_feed_within_bounds(
        tmp_path: Path, feed_server: Any, slack_api: Any) -> None:
    ok = feed_server.add("ok", feed(item(1), item(2)))
    busy = feed_server.add("busy", status=429, headers={"Retry-After": "1e400"})
    config = write_config(tmp_path, f'[{{id: ok, url: "{ok}"}}, {{id: busy, url: "{busy}"}}]',
                          slack_dest(slack_api))
    slack_api.fail_next(status=429, retry_after="inf")
    started = datetime.now(UTC)
    first = bot(config, "once")
    assert first.returncode == 0, first.stderr
    assert slack_api.messages(CHANNEL) == []            # the 429; the second alert waited too
    second = bot(config, "once")                        # another process: still paused
    assert second.returncode == 0, second.stderr
    assert slack_api.messages(CHANNEL) == []
    assert len(feed_server.requests_to("busy")) == 1    # the feed waits too
    status = bot(config, "status")
    assert status.returncode == 0, status.stderr
    line = next(x for x in status.stdout.splitlines() if x.strip().startswith("bot "))
    assert re.search(r"\bbot\s+0\s+2\s+0\s+0\s+0\s+0\s+until ", line), line
    def times(line: str) -> list[datetime]:
        stamps = re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", line)
        return [datetime.strptime(s, "%Y-%m-%d %H:%M UTC").replace(tzinfo=UTC) for s in stamps]

    [paused] = times(line)
    assert paused <= started + timedelta(seconds=MAX_RETRY_AFTER + 60)
    busy = next(x for x in status.stdout.splitlines() if x.strip().startswith("busy "))
    assert max(times(busy)) <= started + timedelta(seconds=MAX_FEED_RETRY_AFTER + 60)


# ------------------------------------------------------------------ point 4

def test_a_state_file_deleted_while_running_stops_delivery(
        tmp_path: Path, feed_server: Any, slack_api: Any, running: list[BotProcess]) -> None:
    url = feed_server.add("f", feed(item(1)))
    config = write_config(tmp_path, f'[{{id: f, url: "{url}", every: 1s}}]', slack_dest(slack_api),
                          "delivery: {interval: 1s}\nmetrics: {port: 0}\n")
    run = start(config, running)
    wait_for(lambda: slack_api.messages(CHANNEL), what="the first alert")
    assert healthz(run) == (200, "ok\n")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{tmp_path / 'state.db'}{suffix}").unlink(missing_ok=True)
    run.wait_log("delivery stopped.*state file .*state.db was deleted while running")
    feed_server.add("f", feed(item(2), item(1)))        # a new alert, into a file no one will open
    run.wait_log(r"feed=f polled: 2 items, 1 new, 1 alerts")
    polls = len(feed_server.requests_to("f"))
    wait_for(lambda: len(feed_server.requests_to("f")) > polls + 1, what="two more polls")
    assert len(slack_api.messages(CHANNEL)) == 1        # nothing more was sent
    status, text = healthz(run)
    assert status == 503 and "deleted while running" in text
    assert run.log.count("delivery stopped") == 1     # logged once
    assert "deleted while running" in bot(config, "status").stdout.splitlines()[0]
    assert stop(run) == 0


def test_a_locked_state_database_stops_delivery_until_it_can_record(
        tmp_path: Path, feed_server: Any, slack_api: Any, running: list[BotProcess]) -> None:
    url = feed_server.add("f", feed(item(1)))
    config = write_config(tmp_path, f'[{{id: f, url: "{url}"}}]', slack_dest(slack_api),
                          "delivery: {interval: 1s}\nmetrics: {port: 0}\n")
    slack_api.fail_next(status=429, retry_after=10)    # the pause leaves time to take the lock
    run = start(config, running)
    run.wait_log("rate limited: waiting 10s as the platform asks .slack bot: ratelimited.")
    other = sqlite3.connect(tmp_path / "state.db", isolation_level=None, timeout=30)
    other.execute("BEGIN EXCLUSIVE")                    # another process holds the write lock
    try:
        run.wait_log("delivery stopped.*database is locked")
        status, text = healthz(run)
        assert status == 503 and "locked" in text
        state = bot(config, "status").stdout.splitlines()[0]
        assert state.startswith("State: ") and "locked" in state
        assert slack_api.messages(CHANNEL) == []
    finally:
        other.execute("COMMIT")
        other.close()
    [message] = wait_for(lambda: slack_api.messages(CHANNEL), what="the alert after the lock")
    assert "notice #1" in message["text"]
    run.wait_log("delivery resumed")
    assert healthz(run) == (200, "ok\n")
    assert stop(run) == 0
    assert len(slack_api.messages(CHANNEL)) == 1


def test_once_exits_1_when_delivery_stops_for_the_state(
        tmp_path: Path, feed_server: Any, slack_api: Any) -> None:
    """An alert waits in the outbox while another process holds the state's write lock:
    `once` sends nothing, says why in one line and exits 1 (not 0: a cron job must notice)."""
    from policybot.model import Alert, Item, Match
    from policybot.store import Store

    url = feed_server.add("f", feed())
    config = write_config(tmp_path, f'[{{id: f, url: "{url}"}}]', slack_dest(slack_api))
    store = Store(tmp_path / "state.db")
    alert = Alert("a1", "bot", Item("f", "x1", "Rare earth export control notice #1", None, "", "", None),
                  (Match("rare-earth-export", "Rare-earth export controls", "high", ()),))
    store.enqueue([alert], time.time() - 60)
    store.close()
    other = sqlite3.connect(tmp_path / "state.db", isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")                    # another process holds the write lock
    try:
        done = bot(config, "once")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert done.returncode == 1, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("once: delivery stopped, the rest stays in the outbox: ") and "locked" in last
    assert "Traceback" not in done.stderr and slack_api.messages(CHANNEL) == []
    after = bot(config, "once")                         # the lock gone: delivered, exit 0
    assert after.returncode == 0, after.stderr
    assert len(slack_api.messages(CHANNEL)) == 1


# ------------------------------------------------------------------ point 5

def test_the_mute_summary_arrives_through_the_outbox(
        tmp_path: Path, feed_server: Any, telegram_api: Any, running: list[BotProcess]) -> None:
    url = feed_server.add("f", feed(item(1, timedelta(hours=1))))
    config = write_config(
        tmp_path, f'[{{id: f, url: "{url}", every: 1s}}]', "  console: {type: console}\n",
        f'delivery: {{interval: 1s}}\ntelegram: {{token: "${{TELEGRAM_BOT_TOKEN}}", '
        f'allow: [{PERSON}], api_url: "{telegram_api.url}"}}\n', notify="[console]")
    run = start(config, running)
    run.wait_log(r"feed=f polled: 1 items, 1 new")   # item 1 goes before the chat subscribes
    say = telegram_api.push_message
    say(PERSON, "/subscribe rare-earth-export", from_id=PERSON)
    wait_for(lambda: len(telegram_api.messages(PERSON)) >= 1, what="the subscribe reply")
    say(PERSON, "/mute 8h", from_id=PERSON)
    wait_for(lambda: len(telegram_api.messages(PERSON)) >= 2, what="the mute reply")
    feed_server.add("f", feed(item(2), item(1, timedelta(hours=1))))
    run.wait_log(r"feed=f polled: 2 items, 1 new")
    say(PERSON, "/unmute", from_id=PERSON)
    texts = wait_for(lambda: telegram_api.texts(PERSON)[2:4] if len(telegram_api.texts(PERSON)) >= 4
                     else None, what="the reply and the summary")        # in either order
    [summary] = [t for t in texts if "While muted" in t]
    assert "While muted, 1 alert matched" in summary and "notice #2" in summary
    assert any("summary of what you missed follows" in t for t in texts)
    assert stop(run) == 0
    assert len(telegram_api.texts(PERSON)) == 4         # the alert itself never came
