"""`bot.py run` with Telegram commands on: a person subscribes from chat and gets the alert."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.test_e2e import TG_TOKEN, feed, rss_item
from tests.test_e2e_access import write_config

ROOT = Path(__file__).resolve().parents[1]
PERSON = 424242


def test_subscribe_from_telegram_while_running(tmp_path: Path, feed_server: Any, telegram_api: Any) -> None:
    url = feed_server.add("f", feed(rss_item("a1", "Rare earth export control tightened", timedelta(hours=1))))
    write_config(tmp_path, url, telegram_api.url, PERSON)
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": TG_TOKEN}
    proc = subprocess.Popen([sys.executable, str(ROOT / "bot.py"), "run", "--config", "config.yaml"],
                            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        telegram_api.push_message(PERSON, "/start", from_id=PERSON)
        assert "subscribe" in telegram_api.wait_for(PERSON, 1, timeout=20)[0]["text"]
        telegram_api.push_message(PERSON, "/subscribe rare-earth-export", from_id=PERSON)
        replies = telegram_api.wait_for(PERSON, 2, timeout=10)
        assert "rare-earth-export" in replies[1]["text"]
        # the item seen before subscribing is not replayed; a new one arrives
        feed_server.add("f", feed(rss_item("a2", "稀土出口管制新规发布", timedelta(seconds=5)),
                                  rss_item("a1", "Rare earth export control tightened", timedelta(hours=1))))
        texts = [m["text"] for m in telegram_api.wait_for(PERSON, 3, timeout=15)]
        assert len(texts) == 3 and "稀土出口管制新规发布" in texts[2]
        assert not any("tightened" in t for t in texts)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=40)
    assert proc.returncode == 0, err
    assert TG_TOKEN not in err
