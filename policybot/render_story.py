"""Pure: how a story's later reports look: the "also reported by" line of the first message,
a thread reply (Slack) or reply (Telegram), and the console's one line."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from policybot.model import Alert
from policybot.render import (
    TELEGRAM_MAX,
    clean,
    clip,
    safe_url,
    slack_escape,
    telegram_message,
    tg_escape,
    utf16_len,
)
from policybot.render_digest import SOURCE_MAX, also_names, source_name
from policybot.render_slack import SlackMessage, slack_message

REPLY_TITLE_MAX = 200   # characters of a later report's title


def also_line(sources: Sequence[str]) -> str:
    """'also reported by: Reuters, 财新 (+2)': bounded (render_digest.also_names)."""
    return f"also reported by: {also_names(sources)}"


def _title(alert: Alert) -> str:
    return clip(clean(alert.item.title) or "(no title)", REPLY_TITLE_MAX)


def _source(alert: Alert) -> str:
    return clip(source_name(alert), SOURCE_MAX)


def console_also(alert: Alert) -> str:
    return f"↳ also: {_source(alert)} — {_title(alert)}"


def slack_reply(alert: Alert) -> SlackMessage:
    url = safe_url(alert.item.link)
    title = slack_escape(_title(alert))
    link = f"<{url.replace('&', '&amp;')}|{title}>" if url else title
    text = f"↳ also: {slack_escape(_source(alert))} — {link}"
    return text, [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]


def slack_first_updated(first: Alert, sources: Sequence[str], now: datetime) -> SlackMessage:
    text, blocks = slack_message(first, now)
    line = slack_escape(also_line(sources))
    extra = {"type": "context", "elements": [{"type": "mrkdwn", "text": line}]}
    return f"{text} · {line}", [*blocks, extra]


def telegram_reply(alert: Alert) -> str:
    url = safe_url(alert.item.link)
    title = f"<b>{tg_escape(_title(alert))}</b>"
    link = f'<a href="{tg_escape(url).replace(chr(34), "&quot;")}">{title}</a>' if url else title
    return f"↳ also: {tg_escape(_source(alert))} — {link}"


def telegram_first_updated(first: Alert, sources: Sequence[str], now: datetime) -> str:
    """The first message with the line added, within Telegram's limit: a message at or near
    it is rendered again with room for the line (its title and snippet cut shorter, "…").
    The line is bounded and the message's smallest form leaves room for it; were it ever
    not so, the message would keep its text rather than be refused."""
    line = f"\n<i>{tg_escape(also_line(sources))}</i>"
    text = telegram_message(first, now, TELEGRAM_MAX - utf16_len(line))
    return text + line if utf16_len(text + line) <= TELEGRAM_MAX else telegram_message(first, now)
