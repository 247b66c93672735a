"""A story's first message edited to say "also reported by: ..." (issue 12, point 3) when it
is already at its platform's limit: the edit still fits (the body is cut shorter, "…"), never
past Telegram's 4096 or Slack's block limits, through the real clients into the fakes, which
refuse what the platforms refuse (checked here too)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from telegram.error import BadRequest

from policybot.model import Alert, Hit, Item, Match
from policybot.notify.slack import SlackBotNotifier
from policybot.notify.telegram import TelegramNotifier
from policybot.render import TELEGRAM_MAX, telegram_message, utf16_len
from policybot.render_slack import SLACK_TEXT_MAX, slack_message
from policybot.render_story import also_line, slack_first_updated, telegram_first_updated
from tests.fakes import slack_api as sf
from tests.fakes import telegram_api as tf

NOW = datetime(2026, 11, 29, 9, tzinfo=UTC)
SOURCES = ["商务部", "财新", "&<b>" * 300, "AP"]      # one outlet name long and full of markup
LINE = "also reported by: 商务部, 财新 (+2)"


def at_the_limit(title: str = "&" * 40) -> Alert:
    """An alert whose Telegram message is within 10 units of 4096 as it is first sent: ten
    rules with titles that escaping multiplies, a 978-character link, a long snippet."""
    summary = "Gallium export control " + "&" * 400
    hit = Hit("export control", None, "summary", 8, 22)
    item = Item("f", "i", title, "https://x.example/" + "a" * 960, summary, "", NOW)
    matches = tuple(Match(f"rule-{i}", "&" * 50, "urgent", (hit,)) for i in range(10))
    return Alert("first", "me", item, matches, feed_title="Reuters", story="f\x1fi")


def test_the_line_fits_a_telegram_message_at_the_limit() -> None:
    first = at_the_limit()
    sent = telegram_message(first, NOW)
    assert TELEGRAM_MAX - 10 <= utf16_len(sent) <= TELEGRAM_MAX      # the premise
    edited = telegram_first_updated(first, SOURCES, NOW)
    assert utf16_len(edited) <= TELEGRAM_MAX
    assert edited.endswith("\n<i>also reported by: 商务部, 财新 (+2)</i>")
    visible, _ = tf.parse_html(edited)
    assert "…" in visible and tf.u16(visible) <= TELEGRAM_MAX
    short = at_the_limit("Gallium curbs")
    assert telegram_first_updated(short, SOURCES, NOW).startswith(telegram_message(short, NOW))


@pytest.mark.parametrize("title", ["&" * 40, "&<>" * 300, "稀土" * 3000, "x" * 100])
def test_the_line_always_fits(title: str) -> None:
    """Whatever the first message, the edit carries the line within 4096."""
    hostile = ["&" * 5000, "<i>" * 2000, "稀土" * 3000, "y"]
    edited = telegram_first_updated(at_the_limit(title), hostile, NOW)
    assert utf16_len(edited) <= TELEGRAM_MAX and "also reported by: " in edited


async def test_telegram_edit_of_a_first_message_at_the_limit(telegram_api: tf.TelegramFake) -> None:
    notifier = TelegramNotifier("me", tf.TOKEN, tf.CHAT_ID, api_url=telegram_api.url,
                                clock=lambda: NOW)
    try:
        first = at_the_limit()
        ref = await notifier.send(first)
        assert ref is not None
        await notifier.edit_first(ref, first, SOURCES)
        (edit,) = telegram_api.edits(tf.CHAT_ID)
        assert edit["text"].endswith(LINE) and tf.u16(edit["html"]) <= TELEGRAM_MAX
        await notifier.edit_first(ref, first, SOURCES)   # says it already: done, no error
        assert len(telegram_api.edits(tf.CHAT_ID)) == 1
        bot = await notifier._ready()                    # the fake refuses what Telegram does
        with pytest.raises(BadRequest, match="(?i)message_too_long"):
            await bot.edit_message_text("x" * (TELEGRAM_MAX + 1), chat_id=tf.CHAT_ID,
                                        message_id=int(ref))
    finally:
        await notifier.close()


def test_slack_update_at_the_limits_keeps_every_block_valid() -> None:
    first = at_the_limit("&<>" * 300)
    text, blocks = slack_first_updated(first, SOURCES, NOW)
    assert sf.block_error(blocks) is None and len(text) <= SLACK_TEXT_MAX
    assert blocks[:-1] == slack_message(first, NOW)[1]
    assert blocks[-1]["elements"][0]["text"] == also_line(SOURCES).replace("&", "&amp;")  # type: ignore[index]
    text, blocks = slack_first_updated(first, ["&" * 5000, "<i>" * 2000, "AP"], NOW)   # named
    assert sf.block_error(blocks) is None and len(text) <= SLACK_TEXT_MAX
    assert blocks[-1]["elements"][0]["text"].endswith("… (+1)")  # type: ignore[index]


async def test_slack_update_of_a_first_message_at_the_limits(slack_api: sf.SlackFake) -> None:
    notifier = SlackBotNotifier("bot", sf.TOKEN, "C0123ABCD", api_url=slack_api.api_url,
                                clock=lambda: NOW)
    try:
        first = at_the_limit("&<>" * 300)
        ref = await notifier.send(first)
        assert ref is not None
        await notifier.edit_first(ref, first, SOURCES)
        (update,) = slack_api.updated("C0123ABCD")
        assert update["ts"] == ref and update["text"].endswith(LINE)
    finally:
        await notifier.close()
