"""A calm log: `bot.py run` on a realistic day (a slow Slack that rate-limits once, many
alerts, a channel muting and unmuting) warns about nothing an operator must act on; the
channel gets its mute summary."""

from __future__ import annotations

import os
import re
import signal
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.botproc import BotProcess, wait_until
from tests.fakes.slack_api import APP_TOKEN, TOKEN
from tests.test_e2e import RULES, feed, rss_item

ALERTS = 40
DESK = "C0TESTCHAN"        # the configured destination
CHANNEL = "C0123ABCD"      # a channel that subscribes from Slack


def test_a_long_delivery_pass_and_a_channel_unmute_log_no_warning(
        tmp_path: Path, feed_server: Any, slack_api: Any) -> None:
    old = rss_item("old", "Rare earth export control, last year", timedelta(days=300))
    url = feed_server.add("f", feed(old))
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "r.yaml").write_text(RULES.replace("[hook, bot, me]", "[desk]"))
    (tmp_path / "config.yaml").write_text(f"""\
storage: {{path: state.db}}
rules: rules/
delivery: {{interval: 1s, digest_after: 1000}}
feeds: [{{id: f, url: "{url}", every: 1s}}]
destinations:
  desk: {{type: slack, token: "${{SLACK_BOT_TOKEN}}", channel: {DESK}, api_url: "{slack_api.url}", rate: 100}}
slack:
  app_token: "${{SLACK_APP_TOKEN}}"
  bot_token: "${{SLACK_BOT_TOKEN}}"
  api_url: "{slack_api.url}"
  allow: [{CHANNEL}]
""")
    env = {**os.environ, "SLACK_BOT_TOKEN": TOKEN, "SLACK_APP_TOKEN": APP_TOKEN}
    proc = BotProcess(tmp_path / "config.yaml", "run", env=env)
    try:
        proc.wait_log("slack commands: connected")
        for command in ("subscribe rare-earth-export", "mute 1h"):
            slack_api.socket_mode.ack(slack_api.send_slash_command(text=command, channel_id=CHANNEL), 60)
        # a slow Slack: every post takes 0.2 s, so one delivery pass of 40 alerts lasts many
        # of its 1 s intervals (APScheduler's "skipped: maximum number of running instances")
        # and a 429 with Retry-After first: honoured, and nothing for an operator to do
        slack_api.fail_next(1, status=429, retry_after=1)
        slack_api.fail_next(ALERTS, delay=0.2)
        items = [rss_item(f"n{i}", f"Rare earth export control notice {i}", timedelta(minutes=i + 1))
                 for i in range(ALERTS)]
        feed_server.add("f", feed(*items, old))
        wait_until(lambda: len(slack_api.messages(DESK)) == ALERTS, what="40 alerts at the desk")
        assert slack_api.messages(CHANNEL) == []                 # muted: held
        reply = slack_api.socket_mode.ack(slack_api.send_slash_command(text="unmute", channel_id=CHANNEL), 60)
        assert "summary of what you missed follows" in reply.payload["text"]
        wait_until(lambda: len(slack_api.messages(CHANNEL)) == 1, what="the summary in the channel")
        [summary] = slack_api.messages(CHANNEL)
        assert summary["text"].startswith(f"🔔 Unmuted. While muted, {ALERTS} alerts matched")
    finally:
        proc.signal(signal.SIGTERM)
        assert proc.wait() == 0
    log = proc.log_text()
    assert "skipped: maximum number of running instances" not in log
    assert re.findall(r"^\S+ (?:WARNING|ERROR).*$", log, re.M) == []
    assert "1 rules, 0 personal watches" in log
    assert "destination=desk rate limited: waiting 1s as the platform asks" in log
