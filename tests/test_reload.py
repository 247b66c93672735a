"""Live reload in `run`: an edit under rules/ takes effect (checked every RULES_CHECK_SECONDS);
a broken edit logs FILE:LINE errors and the last good rules stay active, so alerts never stop."""

from __future__ import annotations

import os
import re
import signal
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.botproc import BotProcess, wait_until
from tests.test_e2e import feed, rss_item
from tests.test_hostile_rules import BOMB, limited

CHAT = 123456789

GOOD = """\
rules:
  - id: gallium
    title: Gallium
    match: {any: [gallium]}
"""
BROKEN = """\
rules:
  - id: gallium
    title: Gallium
    match: {any: [$galium]}
"""
NEW = """\
rules:
  - id: antimony
    title: Antimony
    match: {any: [antimony]}
"""


def test_rules_reload_live_and_survive_a_broken_edit(tmp_path: Path, feed_server: Any,
                                                     telegram_api: Any) -> None:
    items = [rss_item("g1", "Gallium export curbs", timedelta(minutes=1))]
    url = feed_server.add("f", feed(*items))
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "r.yaml").write_text(GOOD)
    (tmp_path / "config.yaml").write_text(f"""\
storage: {{path: state.db}}
rules: rules/
defaults: {{notify: [me]}}
delivery: {{interval: 1s}}
feeds: [{{id: f, url: "{url}", every: 1s}}]
destinations:
  me: {{type: telegram, token: "123456:TEST-token", chat_id: {CHAT}, api_url: "{telegram_api.url}", rate: 100}}
""")
    proc = BotProcess(tmp_path / "config.yaml", "run", env=dict(os.environ))
    try:
        wait_until(lambda: len(telegram_api.texts(CHAT)) == 1, what="the first alert")

        (rules / "r.yaml").write_text(BROKEN)
        proc.wait_log(r"r\.yaml:4: unknown entity '\$galium'")
        assert "last good rules stay active" in proc.log
        items.insert(0, rss_item("g2", "Gallium licences resumed", timedelta(seconds=5)))
        feed_server.add("f", feed(*items))
        wait_until(lambda: len(telegram_api.texts(CHAT)) == 2, what="the old rules still alert")

        (rules / "r.yaml").write_text(NEW)
        proc.wait_log("rules reloaded")
        items.insert(0, rss_item("a1", "Antimony export ban", timedelta(seconds=1)))
        items.insert(0, rss_item("g3", "Gallium again", timedelta(seconds=1)))
        feed_server.add("f", feed(*items))
        # the poll that saw both new items queued one alert: gallium no longer alerts
        proc.wait_log(r"feed=f polled: 4 items, 2 new, 1 alerts")
        wait_until(lambda: len(telegram_api.texts(CHAT)) == 3, what="the antimony alert")
        texts = telegram_api.texts(CHAT)
        assert len(texts) == 3 and "Antimony export ban" in texts[2]
        proc.signal(signal.SIGTERM)
        assert proc.wait() == 0, proc.log
    finally:
        proc.stop()


def write_whole(path: Path, text: str) -> None:
    """Appear at once, as an editor saves: the reload job never sees half a file."""
    path.with_suffix(".part").write_text(text)
    path.with_suffix(".part").replace(path)


def test_hostile_rules_dropped_into_a_running_bot(tmp_path: Path) -> None:
    """An alias bomb, 200-deep nesting and a /dev/zero symlink: each logged as FILE:LINE (or
    FILE), the last good rules stay, /healthz keeps answering, SIGTERM stops the bot."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "r.yaml").write_text(GOOD)
    (tmp_path / "config.yaml").write_text("storage: {path: state.db}\nrules: rules/\n"
                                          "metrics: {port: 0}\n")
    proc = BotProcess(tmp_path / "config.yaml", preexec_fn=limited)
    try:
        line = proc.wait_log(r"metrics on http://[^ ]+:\d+/")
        port = int(re.search(r"metrics on http://[^ ]+:(\d+)/", line).group(1))  # type: ignore[union-attr]
        deep = "rules:\n  - id: d\n    match: " + "{all: [" * 200 + "x" + "]}" * 200 + "\n"
        hostile = [
            ("bomb.yaml", lambda path: write_whole(path, BOMB), r"bomb\.yaml:5: YAML aliases \(\*l1\)"),
            ("deep.yaml", lambda path: write_whole(path, deep), r"deep\.yaml:3: nested more than"),
            ("zero.yaml", lambda path: path.symlink_to("/dev/zero"),
             r"zero\.yaml: is a device, not a regular file: refused"),
        ]
        for name, make, expected in hostile:
            make(rules / name)
            proc.wait_log(expected)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as answer:
                assert answer.status == 200
            (rules / name).unlink()
        assert proc.log.count("last good rules stay active") == 3
        proc.signal(signal.SIGTERM)
        assert proc.wait() == 0, proc.log
    finally:
        proc.stop()
    assert "Traceback" not in proc.log
