"""How later reports of a story look: the "also reported by" line, replies, limits, escaping."""

from __future__ import annotations

from datetime import UTC, datetime

from policybot.model import Alert, Item, Match
from policybot.render import TELEGRAM_MAX, utf16_len
from policybot.render_story import (
    also_line,
    console_also,
    slack_first_updated,
    slack_reply,
    telegram_first_updated,
    telegram_reply,
)

NOW = datetime(2025, 7, 3, 12, tzinfo=UTC)


def alert(title: str, summary: str = "", source: str = "Reuters") -> Alert:
    item = Item("f", "i", title, "https://a.example/x?a=1&b=2", summary, "", NOW)
    return Alert("id", "bot", item, (Match("r", "Rule", "high", ()),), feed_title=source)


def test_also_line_names_two_and_counts_the_rest() -> None:
    assert also_line(["Reuters", "财新", "Reuters", "AP", "FT"]) == "also reported by: Reuters, 财新 (+2)"
    assert also_line(["Reuters"]) == "also reported by: Reuters"


def test_replies_escape_feed_text() -> None:
    hostile = alert("<!channel> *bold* <b>x</b>", source="@here <i>")
    text, blocks = slack_reply(hostile)
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text and "*bold*" not in text
    assert text.startswith("↳ also: @here &lt;i&gt; — <https://a.example/x?a=1&amp;b=2|")
    assert blocks[0]["text"]["text"] == text
    assert "<b>x</b>" not in telegram_reply(hostile) and "&lt;b&gt;x&lt;/b&gt;" in telegram_reply(hostile)
    assert console_also(hostile) == "↳ also: @here <i> — <!channel> *bold* <b>x</b>"


def test_updated_first_messages_carry_the_line_within_limits() -> None:
    text, blocks = slack_first_updated(alert("Gallium curbs"), ["财新", "AP"], NOW)
    assert blocks[-1] == {"type": "context", "elements": [
        {"type": "mrkdwn", "text": "also reported by: 财新, AP"}]}
    assert text.endswith("· also reported by: 财新, AP")
    short = telegram_first_updated(alert("Gallium curbs"), ["财新"], NOW)
    assert short.endswith("\n<i>also reported by: 财新</i>")
    full = telegram_first_updated(alert("稀土" * 3000, "稀土" * 3000), ["财新"], NOW)
    assert utf16_len(full) <= TELEGRAM_MAX
