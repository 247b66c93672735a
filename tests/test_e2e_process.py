"""The bot as a process: one bot per state, a prompt stop that loses nothing, and a start-up
that waits for no chat platform. Every test runs `python bot.py ...` and waits for events
(a log line, a request a fake recorded), never for a length of time."""

from __future__ import annotations

import os
import re
import signal
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from policybot.shutdown import EXIT_AT_ONCE, SEND_WAIT
from tests.botproc import BotProcess, bot, wait_until
from tests.fakes.slack_api import APP_TOKEN
from tests.test_e2e import CHANNEL, SLACK_TOKEN, feed, rss_item

ITEMS = 5


def items(count: int) -> list[str]:
    return [rss_item(f"s{n}", f"Rare earth export control notice #{n}", timedelta(minutes=n + 1))
            for n in range(count)]


@pytest.fixture
def world(tmp_path: Path, feed_server: Any, slack_api: Any) -> dict[str, Any]:
    url = feed_server.add("trade", feed(*items(ITEMS)), etag=True)
    (tmp_path / "rules.yaml").write_text(
        "rules:\n  - id: ree\n    title: Rare earths\n    match: {all: [rare earth]}\n    notify: [bot]\n")
    config = tmp_path / "config.yaml"
    config.write_text(f"""\
storage: {{path: state/bot.db}}
rules: [rules.yaml]
feeds: [{{id: trade, url: "{url}", every: 1s}}]
delivery: {{digest_after: 1000, interval: 1s}}
destinations:
  bot: {{type: slack, token: "${{SLACK_BOT_TOKEN}}", channel: {CHANNEL}, api_url: "{slack_api.api_url}", rate: 100}}
""")
    env = {**os.environ, "SLACK_BOT_TOKEN": SLACK_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN}
    return {"config": config, "env": env}


def with_slack_commands(world: dict[str, Any], api_url: str) -> None:
    with world["config"].open("a") as handle:
        handle.write(f'slack: {{app_token: "${{SLACK_APP_TOKEN}}", bot_token: "${{SLACK_BOT_TOKEN}}", '
                     f'api_url: "{api_url}"}}\n')


def numbers(slack_api: Any) -> Counter[str]:
    return Counter(m.group(1) for msg in slack_api.messages(CHANNEL)
                   if (m := re.search(r"notice #(\d+)", msg["text"])))


# one state, one bot ---------------------------------------------------------------------------
def test_a_second_bot_on_the_same_state_refuses_to_start(world: dict[str, Any], feed_server: Any,
                                                         slack_api: Any) -> None:
    first = BotProcess(world["config"], "run", env=world["env"])
    try:
        first.wait_log("policybot running")
        wait_until(lambda: len(numbers(slack_api)) == ITEMS, what="the first bot's alerts")
        for command in ("run", "once"):
            second = bot(world["config"], command, env=world["env"])
            assert second.returncode == 1
            assert f"already running (pid {first.pid})" in second.stderr, second.stderr
            assert "Traceback" not in second.stderr
        for command in ("status", "check"):   # read-only commands still work
            assert bot(world["config"], command, env=world["env"]).returncode == 0
        rules = bot(world["config"], "test-rules", "--since", "1d", env=world["env"])
        assert rules.returncode == 0, rules.stderr
        assert f"{ITEMS} of {ITEMS} items matched" in rules.stdout   # read from the running bot's state
        assert first.proc.poll() is None   # the first goes on untouched: it still alerts
        feed_server.add("trade", feed(*items(ITEMS + 1)), etag=True)
        wait_until(lambda: len(numbers(slack_api)) == ITEMS + 1, what="an alert after the refusals")
        first.signal(signal.SIGTERM)
        assert first.wait() == 0, first.log
    finally:
        first.stop()
    assert "already running" not in first.log
    assert numbers(slack_api) == Counter(str(n) for n in range(ITEMS + 1))


def test_kill_9_leaves_no_stale_lock(world: dict[str, Any], slack_api: Any) -> None:
    first = BotProcess(world["config"], "run", env=world["env"])
    try:
        first.wait_log("policybot running")
        first.signal(signal.SIGKILL)
        first.wait()
    finally:
        first.stop()
    after = bot(world["config"], "once", env=world["env"])
    assert after.returncode == 0, after.stderr
    assert sorted(numbers(slack_api)) == [str(n) for n in range(ITEMS)]


# stopping -------------------------------------------------------------------------------------
def test_sigterm_lets_the_send_in_flight_finish_and_keeps_the_rest(
        world: dict[str, Any], slack_api: Any) -> None:
    slack_api.fail_next(1, delay=2.0)   # the first post is slow: it is in flight at SIGTERM
    proc = BotProcess(world["config"], "run", env=world["env"])
    try:
        assert slack_api.post_arrived.wait(60), proc.log
        proc.signal(signal.SIGTERM)
        assert proc.wait() == 0, proc.log
    finally:
        proc.stop()
    assert re.search(r"\bstopped$", proc.log, re.MULTILINE), proc.log
    assert sum(numbers(slack_api).values()) == 1   # the send in flight finished, nothing after it
    status = bot(world["config"], "status", env=world["env"])
    assert re.search(rf"bot\s+1\s+{ITEMS - 1}\s", status.stdout), status.stdout   # sent 1, pending 4
    rest = bot(world["config"], "once", env=world["env"])
    assert rest.returncode == 0, rest.stderr
    assert numbers(slack_api) == Counter(str(n) for n in range(ITEMS))   # each exactly once


def test_a_second_ctrl_c_exits_at_once(world: dict[str, Any], slack_api: Any) -> None:
    slack_api.fail_next(1, delay=SEND_WAIT * 6)   # a send that would hold the stop for SEND_WAIT
    proc = BotProcess(world["config"], "run", env=world["env"])
    try:
        assert slack_api.post_arrived.wait(60), proc.log
        proc.signal(signal.SIGINT)
        proc.wait_log("letting the sends in flight finish")
        proc.signal(signal.SIGINT)
        assert proc.wait() == EXIT_AT_ONCE, proc.log   # not 0: it did not wait out SEND_WAIT
    finally:
        proc.stop()
    assert "exiting at once" in proc.log


# start-up waits for no chat platform -----------------------------------------------------------
def test_a_hanging_socket_mode_delays_neither_polling_nor_a_ctrl_c(
        world: dict[str, Any], feed_server: Any, slack_api: Any) -> None:
    slack_api.socket_mode.hold()   # apps.connections.open never answers
    with_slack_commands(world, slack_api.api_url)
    proc = BotProcess(world["config"], "run", env=world["env"])
    try:
        assert slack_api.socket_mode.open_requested.wait(60), proc.log
        wait_until(lambda: len(feed_server.requests_to("trade")) >= 1, what="the first poll")
        wait_until(lambda: len(numbers(slack_api)) == ITEMS, what="alerts while Slack hangs")
        assert not slack_api.socket_mode.connected.is_set()   # still starting up
        proc.signal(signal.SIGINT)
        assert proc.wait() == 0, proc.log
    finally:
        slack_api.socket_mode.release()
        proc.stop()
    assert re.search(r"\bstopped$", proc.log, re.MULTILINE), proc.log


def test_ctrl_c_while_slack_is_connecting_exits_cleanly(world: dict[str, Any], slack_api: Any) -> None:
    slack_api.socket_mode.hold()
    with_slack_commands(world, slack_api.api_url)
    proc = BotProcess(world["config"], "run", env=world["env"])
    try:
        assert slack_api.socket_mode.open_requested.wait(60), proc.log
        proc.signal(signal.SIGINT)
        assert proc.wait() == 0, proc.log
    finally:
        slack_api.socket_mode.release()
        proc.stop()
    assert re.search(r"\bstopped$", proc.log, re.MULTILINE), proc.log
    assert "Traceback" not in proc.log, proc.log


def test_an_unreachable_slack_is_retried_in_the_background(world: dict[str, Any], feed_server: Any,
                                                           slack_api: Any) -> None:
    with_slack_commands(world, "http://127.0.0.1:9/api/")   # nothing listens on port 9
    proc = BotProcess(world["config"], "run", env=world["env"])
    try:
        proc.wait_log("slack commands not started")
        proc.wait_log("trying again every")
        wait_until(lambda: len(numbers(slack_api)) == ITEMS, what="alerts without Slack commands")
        proc.signal(signal.SIGTERM)
        assert proc.wait() == 0, proc.log
    finally:
        proc.stop()
