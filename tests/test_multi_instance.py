"""Several instances on one PostgreSQL state, through `bot.py run`: three instances, 50 alerts
to a slow Slack (50 ms a post), the instance holding the destination SIGKILLed twice (after
some accepted posts: an event, never a length of time). Every alert arrives, within the
promised minute after the last kill (leases.SURVIVORS_DELIVER_WITHIN), duplicates are at most the kills, and each feed is fetched once across the instances (one cycle: every 10m),
again only when its poller was killed before its poll was recorded."""

from __future__ import annotations

import os
import random
import re
import signal
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from policybot.leases import SURVIVORS_DELIVER_WITHIN
from tests.botproc import BotProcess, wait_until
from tests.pgserver_fixture import fresh_database
from tests.test_e2e import RULES, feed, rss_item

FEEDS = 5
PER_FEED = 10          # 50 alerts
KILLS = 2
TAKEOVER_WAIT = 150.0  # a lease expires after 30 s; generous for a busy machine


def _config(tmp_path: Path, feed_server: Any, slack_api: Any) -> Path:
    feeds = []
    for f in range(FEEDS):
        items = [rss_item(f"m{f}-{n}", f"Rare earth export control notice #{f * PER_FEED + n}",
                          timedelta(minutes=n + 1)) for n in range(PER_FEED)]
        url = feed_server.add(f"multi{f}", feed(*items), etag=True)
        feeds.append(f'{{id: multi{f}, url: "{url}", every: 10m}}')
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "r.yaml").write_text(RULES.replace("[hook, bot, me]", "[bot]"))
    config = tmp_path / "config.yaml"
    config.write_text(f"""\
storage: {{url: "${{DATABASE_URL}}"}}
rules: rules/
feeds: [{", ".join(feeds)}]
delivery: {{digest_after: 1000, interval: 1s}}
destinations:
  bot: {{type: slack, token: xoxb-test, channel: C0123ABCD, api_url: "{slack_api.api_url}", rate: 100}}
""")
    return config


def _sender_pid(url: str) -> int | None:
    """The pid of the instance holding the Slack destination's lease, if any."""
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT holder FROM leases WHERE name = 'destination:bot' AND "
                           "expires > extract(epoch from now())").fetchone()
    return int(row[0].rsplit(":", 2)[1]) if row else None


@pytest.mark.timeout(400)   # two takeovers wait out a 30 s lease each
def test_three_instances_deliver_every_alert_once_through_two_kills(
        tmp_path: Path, feed_server: Any, slack_api: Any, pg_server: str) -> None:
    url = fresh_database(pg_server)
    config = _config(tmp_path, feed_server, slack_api)
    slack_api.fail_next(10_000, delay=0.05)
    rng = random.Random(int(os.environ.get("CRASH_SEED", "20261129")))
    env = {**os.environ, "DATABASE_URL": url}
    bots = {b.pid: b for b in (BotProcess(config, env=env) for _ in range(3))}
    everyone = list(bots.values())
    try:
        for _ in range(KILLS):
            target = len(slack_api.messages("C0123ABCD")) + rng.randint(2, 6)
            wait_until(lambda: len(slack_api.messages("C0123ABCD")) >= target,  # noqa: B023
                       timeout=TAKEOVER_WAIT, what="posts before the kill")
            pid = _sender_pid(url)
            assert pid in bots, (pid, list(bots))
            bots.pop(pid).signal(signal.SIGKILL)
        wait_until(lambda: len(_titles(slack_api)) == FEEDS * PER_FEED, timeout=SURVIVORS_DELIVER_WITHIN,
                   what="every alert delivered by the survivor within a minute of the last kill")
    finally:
        for b in bots.values():
            b.signal(signal.SIGTERM)
        for b in everyone:
            b.wait()
    counts = Counter(re.search(r"notice #(\d+)", m["text"]).group(1)  # type: ignore[union-attr]
                     for m in slack_api.messages("C0123ABCD"))
    assert set(counts) == {str(n) for n in range(FEEDS * PER_FEED)}
    assert sum(c - 1 for c in counts.values()) <= KILLS, counts
    fetches = [len(feed_server.requests_to(f"multi{f}")) for f in range(FEEDS)]
    assert min(fetches) >= 1   # one cycle: each fetched once by one of the three, again only
    assert sum(fetches) - FEEDS <= KILLS, fetches   # when its poller was killed mid-poll


def _titles(slack_api: Any) -> set[str]:
    return {match.group(1) for m in slack_api.messages("C0123ABCD")
            if (match := re.search(r"notice #(\d+)", m["text"]))}
