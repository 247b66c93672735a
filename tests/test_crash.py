"""Crash safety, proven: SIGKILL `bot.py run` mid-delivery (after the platform accepted a
random 1 to 3 posts of this start: an event, never a length of time) while it sends to a slow
platform, restart it, and every alert still arrives, with duplicates bounded by the messages
in flight at the kills (one per kill: one destination, sent one at a time)."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.botproc import wait_until
from tests.test_e2e import RULES, feed, rss_item

ROOT = Path(__file__).resolve().parents[1]
ITEMS = 30
KILLS = 4


def start(config: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, str(ROOT / "bot.py"), "run", "--config", str(config)],
                            env=env, cwd=config.parent, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def test_sigkill_at_random_moments_loses_nothing(tmp_path: Path, feed_server: Any,
                                                 slack_api: Any) -> None:
    items = [rss_item(f"c{n}", f"Rare earth export control notice #{n}", timedelta(minutes=n + 1))
             for n in range(ITEMS)]
    url = feed_server.add("crash", feed(*items), etag=True)
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "r.yaml").write_text(RULES.replace("[hook, bot, me]", "[bot]"))
    config = tmp_path / "config.yaml"
    config.write_text(f"""\
storage: {{path: state.db}}
rules: rules/
feeds: [{{id: crash, url: "{url}"}}]
delivery: {{digest_after: 1000, interval: 1s}}
destinations:
  bot: {{type: slack, token: xoxb-test, channel: C0123ABCD, api_url: "{slack_api.api_url}", rate: 100}}
""")
    slack_api.fail_next(10_000, delay=0.05)   # a slow platform: every post takes 50 ms
    rng = random.Random(int(os.environ.get("CRASH_SEED", "20261129")))
    env = dict(os.environ)
    for _ in range(KILLS):
        accepted = len(slack_api.messages("C0123ABCD"))
        posts = rng.randint(1, 3)
        proc = start(config, env)
        try:
            wait_until(lambda: len(slack_api.messages("C0123ABCD")) >= accepted + posts,  # noqa: B023
                       what="the posts before the kill")
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=60)
    delivered_before_last_start = len(slack_api.messages("C0123ABCD"))
    final = subprocess.run([sys.executable, str(ROOT / "bot.py"), "once", "--config", str(config)],
                           env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert final.returncode == 0, final.stderr

    titles = [re.search(r"notice #(\d+)", m["text"]).group(1)  # type: ignore[union-attr]
              for m in slack_api.messages("C0123ABCD")]
    counts = Counter(titles)
    assert set(counts) == {str(n) for n in range(ITEMS)}, "an alert was lost"
    duplicates = sum(c - 1 for c in counts.values())
    assert duplicates <= KILLS, counts
    assert 0 < delivered_before_last_start  # the kills really landed mid-delivery...
    assert delivered_before_last_start < ITEMS + duplicates  # ...and before it was done
