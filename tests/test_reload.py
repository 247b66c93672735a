"""Live reload in `run`: an edit under rules/ takes effect within 5 s; a broken edit logs
FILE:LINE errors and the last good rules stay active, so alerts never stop."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.test_e2e import feed, rss_item
from tests.test_hostile_rules import BOMB, limited

ROOT = Path(__file__).resolve().parents[1]
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


def wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


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
    log = tmp_path / "stderr.log"
    with log.open("w") as err:
        proc = subprocess.Popen([sys.executable, str(ROOT / "bot.py"), "run", "--config", "config.yaml"],
                                cwd=tmp_path, env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=err)
    try:
        assert wait_for(lambda: len(telegram_api.texts(CHAT)) == 1, 20)

        (rules / "r.yaml").write_text(BROKEN)
        assert wait_for(lambda: "r.yaml:4: unknown entity '$galium'" in log.read_text(), 5), log.read_text()
        assert "last good rules stay active" in log.read_text()
        items.insert(0, rss_item("g2", "Gallium licences resumed", timedelta(seconds=5)))
        feed_server.add("f", feed(*items))
        assert wait_for(lambda: len(telegram_api.texts(CHAT)) == 2, 10)   # the old rules still alert

        started = time.monotonic()
        (rules / "r.yaml").write_text(NEW)
        assert wait_for(lambda: "rules reloaded" in log.read_text(), 5)
        assert time.monotonic() - started < 5
        items.insert(0, rss_item("a1", "Antimony export ban", timedelta(seconds=1)))
        items.insert(0, rss_item("g3", "Gallium again", timedelta(seconds=1)))
        feed_server.add("f", feed(*items))
        assert wait_for(lambda: len(telegram_api.texts(CHAT)) == 3, 10)
        time.sleep(1.5)  # one more poll: gallium no longer alerts
        texts = telegram_api.texts(CHAT)
        assert len(texts) == 3 and "Antimony export ban" in texts[2]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert proc.returncode == 0


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
    log = tmp_path / "stderr.log"
    with log.open("w") as err:
        proc = subprocess.Popen([sys.executable, str(ROOT / "bot.py"), "run", "--config", "config.yaml"],
                                cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=err,
                                preexec_fn=limited)
    try:
        assert wait_for(lambda: "metrics on http://" in log.read_text(), 30), log.read_text()
        port = int(re.search(r"metrics on http://[^ ]+:(\d+)/", log.read_text()).group(1))  # type: ignore[union-attr]
        deep = "rules:\n  - id: d\n    match: " + "{all: [" * 200 + "x" + "]}" * 200 + "\n"
        hostile = [
            ("bomb.yaml", lambda path: write_whole(path, BOMB), "bomb.yaml:5: YAML aliases (*l1)"),
            ("deep.yaml", lambda path: write_whole(path, deep), "deep.yaml:3: nested more than"),
            ("zero.yaml", lambda path: path.symlink_to("/dev/zero"),
             "zero.yaml: is a device, not a regular file: refused"),
        ]
        for name, make, expected in hostile:
            make(rules / name)
            assert wait_for(lambda expected=expected: expected in log.read_text(), 20), log.read_text()
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as answer:
                assert answer.status == 200
            (rules / name).unlink()
        assert log.read_text().count("last good rules stay active") == 3
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    assert proc.returncode == 0, log.read_text()
    assert "Traceback" not in log.read_text()
