"""A flood of reports of three stories, as a user runs it: `python bot.py once` on five feeds
(served by the feed fake) delivers one digest per destination with one line per story, on a
Slack bot, a Slack webhook, Telegram and the console; `status` counts the folded reports; a
second `once` posts nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.fakes import telegram_api as tf
from tests.story_flood import CHANNEL, FEEDS, flood_bot, rss


def test_once_a_flood_of_three_stories_is_one_digest_line_per_story(
        tmp_path: Path, feed_server: Any, slack_api: Any, telegram_api: Any) -> None:
    urls = {feed: feed_server.add(feed, rss(feed).encode()) for feed in FEEDS}
    bot = flood_bot(tmp_path, urls, slack_api, telegram_api)

    done = bot("once")
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("alerts due at once: sending a digest") == 4

    (digest,) = slack_api.messages(CHANNEL)          # one message: no thread, no edit
    text = str(digest["blocks"])
    assert digest["text"] == "3 policy alerts" and slack_api.updated(CHANNEL) == []
    assert text.count("• ") == 3 and text.count("+2 reports, also: ") == 3
    (hook,) = slack_api.messages("webhook:alerts")
    assert str(hook["blocks"]).count("• ") == 3
    (tg,) = telegram_api.messages(tf.CHAT_ID)
    assert tg["text"].startswith("3 policy alerts") and tg["text"].count("• ") == 3
    assert tg["text"].count("+2 reports, also: ") == 3 and telegram_api.edits(tf.CHAT_ID) == []
    assert done.stdout.count("  • ") == 3 and "↳ also" not in done.stdout

    status = bot("status")
    assert status.returncode == 0, status.stderr
    rows = {line.split()[0]: line.split()[1:7] for line in status.stdout.splitlines()
            if line.strip() and line.split()[0] in ("hook", "bot", "me", "console")}
    assert all(rows[d] == ["3", "0", "0", "0", "0", "6"] for d in ("hook", "bot", "me", "console"))

    again = bot("once")                                # nothing new: nothing posted
    assert again.returncode == 0 and len(slack_api.all_messages()) == 2
    assert len(telegram_api.messages(tf.CHAT_ID)) == 1
