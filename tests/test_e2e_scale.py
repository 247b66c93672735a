"""The real entry points at scale: `python bot.py once` and `run` with 64 feeds over four
local hosts take the parser-pool path (forkserver workers import the entry module: it must
not start a second bot), with zero feed errors and every alert at Slack and Telegram."""

from __future__ import annotations

import os
import re
import signal
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from policybot.app import POOL_MIN_FEEDS
from tests.botproc import ROOT, BotProcess, bot, wait_until
from tests.test_e2e import CHANNEL, CHAT, SLACK_TOKEN, TG_TOKEN, feed, rss_item

FEEDS = 64
HOSTS = ("127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4")
RULES = """\
rules:
  - id: gallium
    title: Gallium export controls
    match: {all: [gallium, export control]}
    notify: [bot, me]
"""


@pytest.fixture
def scale(tmp_path: Path, feed_server: Any, slack_api: Any, telegram_api: Any) -> dict[str, Any]:
    bases = [feed_server.base_url] + [feed_server.listen(h) for h in HOSTS[1:]]
    feeds = []
    for n in range(FEEDS):
        items = [rss_item(f"g{n}", f"Gallium export control notice {n}", timedelta(hours=1)),
                 rss_item(f"q{n}", f"Quiet item {n}", timedelta(hours=2))]
        feed_server.add(f"f{n}", feed(*items), etag=True)
        feeds.append(f'  - {{id: f{n}, url: "{bases[n % len(bases)]}/f{n}", every: 1h}}\n')
    (tmp_path / "rules.yaml").write_text(RULES)
    config = tmp_path / "config.yaml"
    config.write_text(f"""\
storage: {{path: state/bot.db}}
rules: [rules.yaml]
defaults: {{backfill: 1d}}
delivery: {{digest_after: 1000, interval: 1s}}
feeds:
{"".join(feeds)}destinations:
  bot: {{type: slack, token: "${{SLACK_BOT_TOKEN}}", channel: {CHANNEL}, api_url: "{slack_api.api_url}", rate: 1000}}
  me: {{type: telegram, token: "${{TELEGRAM_BOT_TOKEN}}", chat_id: {CHAT}, api_url: "{telegram_api.url}", rate: 1000}}
""")
    env = {**os.environ, "SLACK_BOT_TOKEN": SLACK_TOKEN, "TELEGRAM_BOT_TOKEN": TG_TOKEN}
    return {"config": config, "env": env}


def assert_every_alert_once(slack_api: Any, telegram_api: Any) -> None:
    for texts in ([m["text"] for m in slack_api.messages(CHANNEL)], telegram_api.texts(CHAT)):
        numbers = sorted(int(n) for text in texts
                         for n in re.findall(r"Gallium export control notice (\d+)\b", text))
        assert numbers == list(range(FEEDS)), numbers   # each feed's alert, exactly once
        assert not any("Quiet item" in text for text in texts)


def assert_no_feed_errors(log: str, config: Path, env: dict[str, str]) -> None:
    assert "poll crashed" not in log and "poll failed" not in log, log[-3000:]
    assert "bootstrapping phase" not in log, log[-3000:]
    status = bot(config, "status", env=env)
    assert status.returncode == 0, status.stderr
    assert "failing" not in status.stdout and "never polled" not in status.stdout
    assert status.stdout.startswith("State: ok\n"), status.stdout
    healthy = re.findall(r"^  f\d+ .* ok$", status.stdout, re.M)
    assert len(healthy) == FEEDS, status.stdout


def test_once_with_64_feeds_on_four_hosts(scale: dict[str, Any], feed_server: Any,
                                          slack_api: Any, telegram_api: Any) -> None:
    assert FEEDS >= 2 * POOL_MIN_FEEDS   # the parser pool's path, as users with many feeds run it
    first = bot(scale["config"], "once", env=scale["env"])
    assert first.returncode == 0, first.stderr
    assert "64 feeds polled (0 failed" in first.stderr, first.stderr
    assert len(feed_server.peak_by_host) == len(HOSTS)
    assert_every_alert_once(slack_api, telegram_api)
    assert_no_feed_errors(first.stderr, scale["config"], scale["env"])
    again = bot(scale["config"], "once", env=scale["env"])   # nothing new: nothing posted
    assert again.returncode == 0, again.stderr
    assert_every_alert_once(slack_api, telegram_api)


def test_run_with_64_feeds_on_four_hosts(scale: dict[str, Any], slack_api: Any,
                                         telegram_api: Any) -> None:
    proc = BotProcess(scale["config"], "run", env=scale["env"])
    try:
        wait_until(lambda: len(slack_api.messages(CHANNEL)) >= FEEDS
                   and len(telegram_api.texts(CHAT)) >= FEEDS, what="64 alerts on both platforms")
        proc.signal(signal.SIGTERM)
        assert proc.wait() == 0, proc.log
    finally:
        proc.stop()
    proc.wait_log(r"\bstopped$")
    assert_every_alert_once(slack_api, telegram_api)
    assert_no_feed_errors(proc.log, scale["config"], scale["env"])


def test_python_m_policybot_runs_the_same_cli(scale: dict[str, Any], slack_api: Any,
                                              telegram_api: Any) -> None:
    env = {**scale["env"], "PYTHONPATH": str(ROOT)}   # as from a checkout: the package on the path
    proc = BotProcess(scale["config"], "once", env=env, entry=("-m", "policybot"))
    try:
        assert proc.wait() == 0, proc.log
    finally:
        proc.stop()
    assert "64 feeds polled (0 failed" in proc.log
    assert_every_alert_once(slack_api, telegram_api)
