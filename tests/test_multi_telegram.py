"""Telegram getUpdates runs in exactly one instance on a shared PostgreSQL state (the platform
refuses two pollers); when it is SIGKILLed, another takes over (its lease expires in 30 s)."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest

from tests.botproc import BotProcess, wait_until
from tests.pgserver_fixture import fresh_database
from tests.test_chat_commands import write_config

LEADING = "this instance polls getUpdates"
PERSON = 123456789


@pytest.mark.timeout(300)   # a takeover waits out the 30 s lease
def test_one_instance_polls_telegram_and_another_takes_over(
        tmp_path: Path, telegram_api: Any, pg_server: str) -> None:
    config = write_config(tmp_path, telegram_url=telegram_api.url)
    config.write_text(config.read_text().replace("storage: {path: state.db}",
                                                 'storage: {url: "${DATABASE_URL}"}'))
    env = {**os.environ, "DATABASE_URL": fresh_database(pg_server)}
    bots = [BotProcess(config, env=env) for _ in range(2)]
    try:
        wait_until(lambda: any(LEADING in b.log for b in bots), what="a Telegram poller")
        telegram_api.push_message(PERSON, "/start", from_id=PERSON)
        assert len(telegram_api.wait_for(PERSON, 1, timeout=30)) >= 1
        leader, other = sorted(bots, key=lambda b: LEADING not in b.log)
        assert LEADING not in other.log   # one poller only
        leader.signal(signal.SIGKILL)
        other.wait_log(LEADING, timeout=120)
        telegram_api.push_message(PERSON, "/start", from_id=PERSON)
        assert len(telegram_api.wait_for(PERSON, 2, timeout=30)) == 2   # answered once each
    finally:
        for b in bots:
            if b.proc.poll() is None:
                b.signal(signal.SIGTERM)
        for b in bots:
            b.wait()
