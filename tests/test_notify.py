"""Notifiers against the local fakes through the real client libraries: success, each failure
class (retryable with Retry-After, permanent with the platform's words), and no token leaks."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import socket
from collections.abc import Sequence

import pytest
from aiohttp import ClientSession
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from telegram import Bot
from telegram.error import BadRequest

from policybot.config import DestinationConfig
from policybot.errors import ConfigError, DeliveryError
from policybot.notify import build_notifier
from policybot.notify.base import RedactingFilter, redact
from policybot.notify.console import ConsoleNotifier
from policybot.notify.slack import SlackBotNotifier, SlackWebhookNotifier
from policybot.notify.telegram import TelegramNotifier
from tests.botproc import wait_until
from tests.fakes import slack_api as sf
from tests.fakes import telegram_api as tf
from tests.test_render import NOW, make_alert, many_alerts

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


async def fails(notifier: object, **kwargs: object) -> DeliveryError:
    try:
        with pytest.raises(DeliveryError) as info:
            await notifier.send(make_alert(**kwargs))  # type: ignore[attr-defined]
    finally:
        await notifier.close()  # type: ignore[attr-defined]
    return info.value


# ---------------------------------------------------------------- console and build_notifier

async def test_console_writes_to_its_stream() -> None:
    out = io.StringIO()
    notifier = ConsoleNotifier("console", out, clock=lambda: NOW)
    await notifier.send(make_alert())
    await notifier.send_digest(many_alerts(3))
    assert "**export licence**" in out.getvalue()
    assert "3 policy alerts" in out.getvalue()


async def test_console_closed_stream_is_retryable() -> None:
    out = io.StringIO()
    out.close()
    err = await fails(ConsoleNotifier("console", out))
    assert err.retryable


@pytest.mark.parametrize(("dest", "kind"), [
    (DestinationConfig("c", "console"), ConsoleNotifier),
    (DestinationConfig("h", "slack", webhook_url="https://hooks.slack.com/x"),
     SlackWebhookNotifier),
    (DestinationConfig("b", "slack", token="xoxb-1", channel="C1"), SlackBotNotifier),
    (DestinationConfig("t", "telegram", token="1:A", chat_id="5"), TelegramNotifier),
])
def test_build_notifier(dest: DestinationConfig, kind: type) -> None:
    notifier = build_notifier(dest)
    assert isinstance(notifier, kind) and notifier.name == dest.id


def test_build_notifier_names_what_is_missing() -> None:
    dest = DestinationConfig("me", "telegram", chat_id="5", missing_env=("TG_TOKEN",), line=12)
    with pytest.raises(ConfigError, match=r"config.yaml:12: destination 'me': needs token and "
                                          r"chat_id \(unset: TG_TOKEN\)"):
        build_notifier(dest)


# ---------------------------------------------------------------- Slack bot token

def slack_bot(fake: sf.SlackFake, *, token: str = sf.TOKEN, channel: str = "C0123ABCD",
              timeout: float = 30) -> SlackBotNotifier:
    return SlackBotNotifier("trade-bot", token, channel, api_url=fake.api_url,
                            clock=lambda: NOW, timeout=timeout)


async def test_slack_bot_posts_blocks_and_text(slack_api: sf.SlackFake) -> None:
    notifier = slack_bot(slack_api)
    await notifier.send(make_alert())
    await notifier.send_digest(many_alerts(3))
    assert await notifier.auth_test() == "policybot in Fake"
    await notifier.close()
    first, digest = slack_api.messages("C0123ABCD")
    assert first["text"].startswith("🟠 High: MOFCOM tightens")
    assert first["unfurl_links"] is False and len(first["blocks"]) == 4
    assert digest["text"] == "3 policy alerts"
    assert "Authorization" in slack_api.requests[0].headers


@pytest.mark.parametrize(("inject", "retryable", "after", "words"), [
    ({"status": 429, "retry_after": 7}, True, 7.0, "ratelimited"),
    ({"status": 500}, True, None, "HTTP 500"),
    ({"status": 503}, True, None, "HTTP 503"),
    ({"error": "channel_not_found"}, False, None, "channel_not_found"),
    ({"error": "is_archived"}, False, None, "is_archived"),
    ({"error": "not_in_channel"}, False, None, "not_in_channel"),
    ({"error": "account_inactive"}, False, None, "account_inactive"),
])
async def test_slack_bot_failures(slack_api: sf.SlackFake, inject: dict[str, object],
                                  retryable: bool, after: float | None, words: str) -> None:
    slack_api.fail_next(**inject)  # type: ignore[arg-type]
    err = await fails(slack_bot(slack_api))
    assert (err.retryable, err.retry_after) == (retryable, after)
    assert words in str(err) and "trade-bot" in str(err)


async def test_slack_bot_real_checks(slack_api: sf.SlackFake) -> None:
    assert "invalid_auth" in str(await fails(slack_bot(slack_api, token="xoxb-wrong")))
    err = await fails(slack_bot(slack_api, channel="C0NOPE"))
    assert not err.retryable and "channel_not_found" in str(err)


async def test_slack_bot_network_and_timeout_are_retryable(slack_api: sf.SlackFake) -> None:
    refused = SlackBotNotifier("b", sf.TOKEN, "C0123ABCD", api_url=closed_port_url() + "/api/")
    assert (await fails(refused)).retryable
    slack_api.fail_next(delay=2.0)
    err = await fails(slack_bot(slack_api, timeout=0.3))
    assert err.retryable and "TimeoutError" in str(err)
    assert slack_api.messages("C0123ABCD") == []


async def test_slack_fake_checks_like_slack(slack_api: sf.SlackFake) -> None:
    client = AsyncWebClient(token=sf.TOKEN, base_url=slack_api.api_url, retry_handlers=[])
    cases = [
        ({"blocks": [{"type": "divider"}] * 51, "text": "x"}, "invalid_blocks"),
        ({"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]},
         "invalid_blocks"),
        ({"blocks": [{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}]},
         "invalid_blocks"),
        ({"blocks": [{"type": "context", "elements": [{"type": "mrkdwn", "text": "x"}] * 11}]},
         "invalid_blocks"),
        ({"text": "x" * 40001}, "msg_too_long"),
        ({}, "no_text"),
        ({"text": "x", "unfurl_linkz": True}, "invalid_arg_name"),
        ({"text": "x", "unfurl_links": "maybe"}, "invalid_arguments"),
    ]
    for kwargs, error in cases:
        with pytest.raises(SlackApiError) as info:
            await client.api_call("chat.postMessage", json={"channel": "C0123ABCD", **kwargs})
        assert info.value.response.data == {"ok": False, "error": error}, kwargs
    form = await client.api_call("chat.postMessage", data={
        "channel": "general", "text": "hi", "blocks": json.dumps([{"type": "divider"}])})
    assert form["ok"] and slack_api.messages("general")[0]["blocks"] == [{"type": "divider"}]


# ---------------------------------------------------------------- Slack incoming webhook

async def test_slack_webhook_posts(slack_api: sf.SlackFake) -> None:
    notifier = SlackWebhookNotifier("trade-desk", slack_api.webhook_url(), clock=lambda: NOW)
    await notifier.send(make_alert())
    await notifier.send_digest(many_alerts(200, rules=3))
    await notifier.close()
    messages = slack_api.messages("webhook:alerts")
    assert messages[0]["text"].startswith("🟠 High") and len(messages) >= 2


@pytest.mark.parametrize(("inject", "retryable", "after", "words"), [
    ({"status": 429, "retry_after": 30}, True, 30.0, "rate_limited"),
    ({"status": 500}, True, None, "HTTP 500"),
    ({"error": "channel_is_archived"}, False, None, "channel_is_archived (HTTP 410)"),
    ({"error": "action_prohibited"}, False, None, "action_prohibited (HTTP 403)"),
    ({"error": "invalid_payload"}, False, None, "invalid_payload (HTTP 400)"),
])
async def test_slack_webhook_failures(slack_api: sf.SlackFake, inject: dict[str, object],
                                      retryable: bool, after: float | None, words: str) -> None:
    slack_api.fail_next(**inject)  # type: ignore[arg-type]
    err = await fails(SlackWebhookNotifier("trade-desk", slack_api.webhook_url()))
    assert (err.retryable, err.retry_after) == (retryable, after)
    assert words in str(err)


async def test_slack_webhook_unknown_and_bad_payloads(slack_api: sf.SlackFake) -> None:
    err = await fails(SlackWebhookNotifier("d", slack_api.webhook_url("gone")))
    assert not err.retryable and "no_service (HTTP 404)" in str(err)
    async with ClientSession() as session:
        for body in ("{not json", json.dumps({"blocks": [{"type": "bogus"}]})):
            async with session.post(slack_api.webhook_url(), data=body) as resp:
                assert resp.status == 400
                assert await resp.text() in ("invalid_payload", "invalid_blocks")


# ---------------------------------------------------------------- Telegram

def telegram(fake: tf.TelegramFake, *, token: str = tf.TOKEN, chat: int = tf.CHAT_ID,
             url: str | None = None, timeout: float | None = None) -> TelegramNotifier:
    return TelegramNotifier("me", token, chat, api_url=url or fake.url, clock=lambda: NOW,
                            timeout=timeout)


async def test_telegram_sends_html_without_previews(telegram_api: tf.TelegramFake) -> None:
    notifier = telegram(telegram_api)
    assert await notifier.get_me() == "@policybot_test_bot"
    await notifier.send(make_alert())
    await notifier.close()
    await notifier.send_digest(many_alerts(200, rules=2))   # reopens after close
    await notifier.close()
    first, *digest = telegram_api.messages(tf.CHAT_ID)
    assert first["params"]["parse_mode"] == "HTML"
    assert json.loads(first["params"]["link_preview_options"]) == {"is_disabled": True}
    kinds = {e["type"] for e in first["entities"]}
    assert {"bold", "text_link", "italic", "code"} <= kinds
    assert len(digest) > 1 and digest[0]["text"].startswith("200 policy alerts (1/")


@pytest.mark.parametrize(("inject", "retryable", "after", "words"), [
    ({"status": 429, "retry_after": 3}, True, 3.0, "Flood control exceeded"),
    ({"status": 500}, True, None, "Internal Server Error"),
    ({"status": 502, "description": "Bad Gateway"}, True, None, "Bad Gateway"),
    ({"status": 403}, False, None, "Forbidden: bot was blocked by the user"),
    ({"status": 400}, False, None, "Chat not found"),
])
async def test_telegram_failures(telegram_api: tf.TelegramFake, inject: dict[str, object],
                                 retryable: bool, after: float | None, words: str) -> None:
    telegram_api.fail_next(**inject)  # type: ignore[arg-type]
    err = await fails(telegram(telegram_api))
    assert (err.retryable, err.retry_after) == (retryable, after)
    assert words in str(err)


async def test_telegram_real_checks(telegram_api: tf.TelegramFake) -> None:
    err = await fails(telegram(telegram_api, chat=999))
    assert not err.retryable and "Chat not found" in str(err)
    err = await fails(telegram(telegram_api, token="123456:WRONG-token"))
    assert not err.retryable and "rejected by the server" in str(err)
    slow = telegram(telegram_api, timeout=0.3)
    telegram_api.fail_next(delay=2.0)
    assert (await fails(slow)).retryable
    refused = await fails(telegram(telegram_api, url=closed_port_url()))
    assert refused.retryable
    assert telegram_api.messages(tf.CHAT_ID) == []


async def test_telegram_fake_parses_like_telegram(telegram_api: tf.TelegramFake) -> None:
    bot = Bot(tf.TOKEN, base_url=telegram_api.url + "/bot")
    async with bot:
        for text, words in [("<script>x</script>", 'unsupported start tag "script"'),
                            ("<b>open", "can't find end tag"), ("<b>x</i>", "unmatched end tag"),
                            ("a < b", "unexpected character"), ("&nbsp;", "unsupported HTML"),
                            ("x" * 4097, "Message is too long")]:
            with pytest.raises(BadRequest, match="(?i)" + words):
                await bot.send_message(tf.CHAT_ID, text, parse_mode="HTML")
        message = await bot.send_message(tf.CHAT_ID, "👍 <b>a&amp;b</b>", parse_mode="HTML")
    assert message.text == "👍 a&b" and message.entities[0].offset == 3


async def test_telegram_fake_serves_updates_and_commands(telegram_api: tf.TelegramFake) -> None:
    async with Bot(tf.TOKEN, base_url=telegram_api.url + "/bot") as bot:
        assert await bot.delete_webhook()
        assert await bot.set_my_commands([("subscribe", "Subscribe to a rule")])
        first = telegram_api.push_message(42, "/subscribe rare-earths", from_id=7)
        [update] = await bot.get_updates(timeout=1)
        assert update.update_id == first and update.effective_user.id == 7
        assert update.message.entities[0].type == "bot_command"
        assert update.message.text.split()[0] == "/subscribe"
        polls = sum(m == "getUpdates" for m, _ in telegram_api.requests)
        poll = asyncio.create_task(bot.get_updates(offset=first + 1, timeout=5))
        await asyncio.to_thread(wait_until, lambda: sum(   # until the fake holds the request...
            m == "getUpdates" for m, _ in telegram_api.requests) > polls)
        assert not poll.done()                      # ...a long poll waits for news
        telegram_api.push_message(-100, "hello")
        [late] = await asyncio.wait_for(poll, 2)
        assert late.message.text == "hello" and late.effective_chat.type == "group"
        await bot.send_message(42, "reply")
    assert telegram_api.commands == [{"command": "subscribe",
                                      "description": "Subscribe to a rule"}]
    assert telegram_api.texts(42) == ["reply"]


# ---------------------------------------------------------------- no token leaks

SECRET_TG = "987654:LEAK-me-not"
SECRET_SLACK = "xoxb-LEAK-me-not"


@pytest.mark.parametrize("path", ["refused", "500", "401", "429", "403"])
async def test_no_token_in_errors_or_logs(path: str, telegram_api: tf.TelegramFake,
                                          slack_api: sf.SlackFake,
                                          caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    telegram_api.token = SECRET_TG if path != "401" else "1:other"
    slack_api.tokens = {SECRET_SLACK} if path != "401" else {"xoxb-other"}
    hook = slack_api.webhook_url("T1/B1/LEAK-hook-secret")
    slack_api.webhooks = {"T1/B1/LEAK-hook-secret"} if path != "401" else set()
    tg_url, slack_url = telegram_api.url, slack_api.api_url
    if path == "refused":
        tg_url, slack_url = closed_port_url(), closed_port_url() + "/api/"
        hook = closed_port_url() + "/services/T1/B1/LEAK-hook-secret"
    if path in ("500", "429", "403"):
        telegram_api.fail_next(3, status=int(path), retry_after=1)
        slack_api.fail_next(2, status=int(path), retry_after=1)
    errors = [await fails(TelegramNotifier("me", SECRET_TG, tf.CHAT_ID, api_url=tg_url)),
              await fails(SlackBotNotifier("bot", SECRET_SLACK, "C0123ABCD", api_url=slack_url)),
              await fails(SlackWebhookNotifier("hook", hook))]
    text = "\n".join(map(str, errors)) + caplog.text
    for secret in (SECRET_TG, SECRET_SLACK, "LEAK-hook-secret", "LEAK-me-not"):
        assert secret not in text
    assert caplog.text.count("delivery failed") == 3
    if path != "refused":   # httpx logged the request URL, and the filter masked the token
        assert "/bot***/getMe" in caplog.text


def test_redact_and_filter() -> None:
    assert redact("GET /bot1%3AAB%3Acd/x 1:AB:cd", ["1:AB:cd", None, ""]) == "GET /bot***/x ***"
    record = logging.LogRecord("httpx", logging.INFO, __file__, 1, "HTTP Request: %s",
                               ("/botT0KEN/x",), None)
    assert RedactingFilter(["T0KEN"]).filter(record)
    assert record.getMessage() == "HTTP Request: /bot***/x"


# ---------------------------------------------------------------- digests resume, not repeat

class Parts:
    """An `accepted` callback: the alert ids of each accepted message, and its platform id."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.refs: list[str | None] = []

    def __call__(self, alert_ids: Sequence[str], ref: str | None) -> None:
        self.ids.extend(alert_ids)
        self.refs.append(ref)


async def test_telegram_digest_reports_each_accepted_part(telegram_api: tf.TelegramFake) -> None:
    alerts = many_alerts(200, rules=2)
    notifier = telegram(telegram_api)
    telegram_api.fail_next(delay=0)                      # part 1 goes through
    telegram_api.fail_next(status=429, retry_after=2)    # part 2 is rate limited
    parts = Parts()
    accepted = parts.ids
    with pytest.raises(DeliveryError) as info:
        await notifier.send_digest(alerts, parts)
    assert info.value.retry_after == 2.0
    [first] = telegram_api.texts(tf.CHAT_ID)
    assert 0 < len(accepted) < len(alerts) and parts.refs == ["1"]   # its message_id
    assert all(a.item.title in first for a in alerts if a.alert_id in accepted)
    rest = [a for a in alerts if a.alert_id not in accepted]   # what the outbox retries
    await notifier.send_digest(rest, parts)
    await notifier.close()
    assert sorted(accepted) == sorted(a.alert_id for a in alerts)
    assert first not in telegram_api.texts(tf.CHAT_ID)[1:]
    assert parts.refs == [str(n) for n in range(1, len(telegram_api.texts(tf.CHAT_ID)) + 1)]


async def test_slack_digest_reports_each_accepted_part(slack_api: sf.SlackFake) -> None:
    alerts = many_alerts(400, title="&" * 140)   # 5x longer once escaped: 3 parts
    notifier = slack_bot(slack_api)
    slack_api.fail_next(delay=0)
    slack_api.fail_next(status=500)
    parts = Parts()
    accepted = parts.ids
    with pytest.raises(DeliveryError):
        await notifier.send_digest(alerts, parts)
    assert [m["text"] for m in slack_api.messages("C0123ABCD")] == ["400 policy alerts (1/3)"]
    first = len(accepted)
    assert 0 < first < 400
    await notifier.send_digest([a for a in alerts if a.alert_id not in accepted], parts)
    await notifier.close()
    assert len(accepted) == len(set(accepted)) == 400      # each alert accepted once
    texts = [m["text"] for m in slack_api.messages("C0123ABCD")]
    assert texts[1:] and all(t.startswith(f"{400 - first} policy alerts") for t in texts[1:])
    assert parts.refs == [m["ts"] for m in slack_api.messages("C0123ABCD")]   # each part's ts


async def test_slack_webhook_invalid_url_is_permanent_and_unleaked() -> None:
    err = await fails(SlackWebhookNotifier("d", "hooks.slack.com/services/T1/B1/LEAK-secret"))
    assert not err.retryable and "LEAK-secret" not in str(err)
