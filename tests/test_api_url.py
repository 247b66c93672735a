"""`api_url` as a user writes it: Slack's with or without `/api/`, Telegram's with or without
`/bot`; a wrong base says what was called (token redacted) and points at api_url."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from policybot.apiurl import slack_api_url, telegram_api_url
from policybot.chat import start_chats, stop_chats
from tests.fakes.slack_api import TOKEN as SLACK_TOKEN
from tests.fakes.telegram_api import TOKEN as TG_TOKEN
from tests.test_chat_commands import make_world

ROOT = Path(__file__).resolve().parents[1]
CHAT = 123456789
CHANNEL = "C0123ABCD"


def send_test(tmp_path: Path, dest: str, api_url: str) -> subprocess.CompletedProcess[str]:
    """`bot.py send-test DEST` on a config whose destination has this api_url."""
    (tmp_path / "rules").mkdir(exist_ok=True)
    (tmp_path / "config.yaml").write_text(f"""\
storage: {{path: state.db}}
rules: rules/
destinations:
  bot: {{type: slack, token: "${{SLACK_BOT_TOKEN}}", channel: {CHANNEL}, api_url: "{api_url}"}}
  me: {{type: telegram, token: "${{TELEGRAM_BOT_TOKEN}}", chat_id: {CHAT}, api_url: "{api_url}"}}
""", encoding="utf-8")
    env = {**os.environ, "SLACK_BOT_TOKEN": SLACK_TOKEN, "TELEGRAM_BOT_TOKEN": TG_TOKEN}
    return subprocess.run([sys.executable, str(ROOT / "bot.py"), "send-test", dest, "--config",
                           str(tmp_path / "config.yaml")], capture_output=True, text=True,
                          env=env, timeout=60, cwd=tmp_path, check=False)


def test_the_written_forms_normalise() -> None:
    for url in ("http://h:1", "http://h:1/", "http://h:1/api", "http://h:1/api/"):
        assert slack_api_url(url) == "http://h:1/api/"
    assert slack_api_url("https://slack-gov.com/api/") == "https://slack-gov.com/api/"
    assert slack_api_url(None) == "https://slack.com/api/"
    for url in ("http://h:1", "http://h:1/", "http://h:1/bot", "http://h:1/bot/"):
        assert telegram_api_url(url) == "http://h:1"
    assert telegram_api_url(None) == "https://api.telegram.org"


@pytest.mark.parametrize("suffix", ["", "/", "/api", "/api/"])
def test_slack_base_with_or_without_api(tmp_path: Path, slack_api: Any, suffix: str) -> None:
    result = send_test(tmp_path, "bot", slack_api.url + suffix)
    assert result.returncode == 0, result.stderr
    assert len(slack_api.messages(CHANNEL)) == 1


@pytest.mark.parametrize("suffix", ["", "/", "/bot", "/bot/"])
def test_telegram_base_with_or_without_bot(tmp_path: Path, telegram_api: Any, suffix: str) -> None:
    result = send_test(tmp_path, "me", telegram_api.url + suffix)
    assert result.returncode == 0, result.stderr
    assert len(telegram_api.texts(CHAT)) == 1


def test_a_wrong_slack_base_names_the_call_and_api_url(tmp_path: Path, slack_api: Any) -> None:
    result = send_test(tmp_path, "bot", slack_api.url + "/proxy")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"send-test bot: failed: slack bot: HTTP 404; called {slack_api.url}/proxy/api/chat.postMessage: "
        "is api_url the slack API's base? (e.g. https://slack.com/api/; see README, api_url)")


def test_a_wrong_telegram_base_names_the_call_redacted(tmp_path: Path, telegram_api: Any) -> None:
    result = send_test(tmp_path, "me", telegram_api.url + "/proxy")
    assert result.returncode == 1
    assert f"called {telegram_api.url}/proxy/bot***/getMe: is api_url the telegram API's base? " \
        "(e.g. https://api.telegram.org; see README, api_url)" in result.stderr
    assert TG_TOKEN not in result.stderr + result.stdout


def test_a_refused_connection_names_the_call(tmp_path: Path) -> None:
    with __import__("socket").socket() as sock:     # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    slack = send_test(tmp_path, "bot", url)
    assert f"called {url}/api/chat.postMessage: is api_url the slack API's base?" in slack.stderr
    telegram = send_test(tmp_path, "me", url)
    assert f"called {url}/bot***/getMe: is api_url the telegram API's base?" in telegram.stderr
    assert TG_TOKEN not in telegram.stderr and SLACK_TOKEN not in slack.stderr


@pytest.mark.parametrize(("platform", "suffix"),
                         [("slack", ""), ("slack", "/api/"), ("telegram", ""), ("telegram", "/bot")])
async def test_chat_commands_connect_with_or_without_the_path(
        tmp_path: Path, slack_api: Any, telegram_api: Any, platform: str, suffix: str) -> None:
    """Slack's api_url with or without /api/, Telegram's with or without /bot: commands connect."""
    url = {"slack": slack_api.url, "telegram": telegram_api.url}[platform] + suffix
    world = make_world(tmp_path, **{f"{platform}_url": url})
    chats = await start_chats(world.app)
    try:
        assert len(chats) == 1
    finally:
        await stop_chats(chats)
        await world.app.close()


async def test_chat_commands_on_a_wrong_base_name_the_call(
        tmp_path: Path, slack_api: Any, telegram_api: Any,
        caplog: pytest.LogCaptureFixture) -> None:
    world = make_world(tmp_path, slack_url=slack_api.url + "/proxy",
                       telegram_url=telegram_api.url + "/proxy")
    try:
        assert await start_chats(world.app) == []
    finally:
        await world.app.close()
    errors = [r.getMessage() for r in caplog.records if r.name == "policybot.chat"]
    assert any(e.startswith("slack commands not started") and e.endswith(
        f"; called {slack_api.url}/proxy/api/apps.connections.open: is api_url the slack API's "
        "base? (e.g. https://slack.com/api/; see README, api_url)") for e in errors), errors
    assert any(e.startswith("telegram commands not started") and e.endswith(
        f"; called {telegram_api.url}/proxy/bot***/getMe: is api_url the telegram API's base? "
        "(e.g. https://api.telegram.org; see README, api_url)") for e in errors), errors
