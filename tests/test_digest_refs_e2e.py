"""A story first sent inside a digest, then reported again, as a user runs it: a first
`python bot.py once` floods (four feeds, three stories: one digest per destination); a second
`once` finds one more outlet's report of one of those stories. It goes as one thread reply under
the digest on the Slack bot, one silent reply to the digest on Telegram, one line on the
console, and is folded on the Slack webhook (counted by `status`); the digest is never edited."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.fakes import telegram_api as tf
from tests.story_flood import CHANNEL, FEEDS, flood_bot, rss


def status_rows(stdout: str) -> dict[str, list[str]]:
    return {line.split()[0]: line.split()[1:7] for line in stdout.splitlines()
            if line.strip() and line.split()[0] in ("hook", "bot", "me", "console")}


def test_once_a_later_report_of_a_digest_story_replies_under_the_digest(
        tmp_path: Path, feed_server: Any, slack_api: Any, telegram_api: Any) -> None:
    urls = {feed: feed_server.add(feed, rss(feed, only=() if feed == "press" else
                                            ("rusal", "gallium", "antimony")).encode())
            for feed in FEEDS}                       # the trade press has nothing yet
    bot = flood_bot(tmp_path, urls, slack_api, telegram_api)

    flood = bot("once")
    assert flood.returncode == 0, flood.stderr
    assert flood.stderr.count("alerts due at once: sending a digest") == 4
    (digest,) = slack_api.messages(CHANNEL)
    (tg_digest,) = telegram_api.messages(tf.CHAT_ID)
    assert digest["text"] == "3 policy alerts" and tg_digest["text"].startswith("3 policy alerts")

    feed_server.add("press", rss("press", only=("gallium",)).encode())   # one more report
    later = bot("once")
    assert later.returncode == 0, later.stderr
    assert "sending a digest" not in later.stderr

    top, reply = slack_api.messages(CHANNEL)
    assert top == digest and reply["thread_ts"] == digest["ts"]     # in the digest's thread
    assert "Trade Press" in reply["text"] and "Chipmaking" in reply["text"]
    assert slack_api.updated(CHANNEL) == []                         # the digest is not edited
    tg_top, tg_reply = telegram_api.messages(tf.CHAT_ID)
    assert tg_top["text"] == tg_digest["text"]
    assert (tg_reply["reply_to"], tg_reply["silent"]) == (1, True)  # a reply to the digest, quiet
    assert "Trade Press" in tg_reply["text"] and telegram_api.edits(tf.CHAT_ID) == []
    assert len(slack_api.messages("webhook:alerts")) == 1           # folded there
    assert later.stdout.count("↳ also: Trade Press — ") == 1

    status = bot("status")
    assert status.returncode == 0, status.stderr
    rows = status_rows(status.stdout)
    assert rows["hook"] == ["3", "0", "0", "0", "0", "5"]           # 4 folded in the digest, +1
    assert all(rows[d] == ["4", "0", "0", "0", "0", "4"] for d in ("bot", "me", "console"))

    again = bot("once")                                             # nothing new: nothing posted
    assert again.returncode == 0 and len(slack_api.messages(CHANNEL)) == 2
    assert len(telegram_api.messages(tf.CHAT_ID)) == 2 and slack_api.updated(CHANNEL) == []
