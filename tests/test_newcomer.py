"""A newcomer's first commands: the wrong Python, the refusal and test texts, a calm log."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("entry", [["bot.py"], ["-m", "policybot"]])
def test_a_python_without_the_dependencies_says_which_to_use(entry: list[str]) -> None:
    # -S: no site-packages (the venv's included); -E -s: no PYTHONPATH, no user site. The
    # repository itself stays importable (the script's folder, or the cwd for -m).
    result = subprocess.run([sys.executable, "-E", "-s", "-S", *entry, "check"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"policybot: this Python ({sys.executable}) lacks the module '")
    assert line.endswith("': use `make run`, or `.venv/bin/python bot.py ...` "
                         "once `make run` has made .venv")


def test_a_missing_module_of_our_own_keeps_its_traceback() -> None:
    from policybot.entry import missing_dependency

    assert missing_dependency(ModuleNotFoundError(name="aiohttp")) == "aiohttp"
    assert missing_dependency(ModuleNotFoundError(name="telegram.ext")) == "telegram"
    assert missing_dependency(ModuleNotFoundError(name="policybot.nothing")) is None
    assert missing_dependency(ModuleNotFoundError(name="tomllib")) is None


def test_the_refusal_names_the_config_file_the_bot_runs_on() -> None:
    from policybot.chat.telegram import refusal

    assert refusal(-100123, "prod.yaml") == (
        "⛔ This chat may not subscribe. Its chat id is <code>-100123</code>: ask the bot's "
        "operator to add it to <code>telegram.allow</code> in <code>prod.yaml</code>.")


def test_send_test_posts_a_test_alert_that_links_nowhere(tmp_path: Path, slack_api: Any,
                                                         telegram_api: Any) -> None:
    from tests.test_api_url import CHANNEL, CHAT, send_test

    assert send_test(tmp_path, "bot", slack_api.url).returncode == 0
    assert send_test(tmp_path, "me", telegram_api.url).returncode == 0
    [slack] = slack_api.messages(CHANNEL)
    [telegram] = telegram_api.messages(CHAT)
    assert "test alert" in slack["text"] and "test alert" in telegram["text"]
    for posted in (json.dumps(slack), json.dumps(telegram)):
        assert "http" not in posted and "example." not in posted
