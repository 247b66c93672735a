"""Pure: alerts and digests as Slack messages: Block Kit blocks plus a text fallback.

The snippet is a `rich_text` block: its text elements are literal (Slack parses no mrkdwn,
no `<!channel>`, `<@U1>` or `<url|x>` in them: mentions and links are element types of their
own, and we make only text elements from feed text), and bold is a style, not `*` markers,
so it renders next to CJK characters too (`中美*经贸磋商共识*，` would not in mrkdwn). The
other blocks are mrkdwn, with feed text escaped (render.slack_escape) and our own `*` always
between spaces. Slack documents no length limit for rich_text; we hold a rich_text block to
RICH_TEXT_MAX characters, the limit of a section's text.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from policybot.model import Alert, Match
from policybot.render import (
    LOOK,
    SCALES,
    Segment,
    View,
    _rules_text,
    clean,
    clip,
    slack_escape,
    slack_link,
    view,
)
from policybot.render_digest import digest_groups, heading, pack

SLACK_BLOCKS_MAX = 50
SLACK_SECTION_MAX = 3000
SLACK_TEXT_MAX = 4000
RICH_TEXT_MAX = 3000      # characters of text in one rich_text block (our bound, see above)

Block = dict[str, object]
SlackMessage = tuple[str, list[Block]]   # (text fallback, Block Kit blocks)


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def rich_quote(segments: Sequence[Segment]) -> Block:
    """A rich_text block quoting `segments`: literal text, bold where marked."""
    elements: list[dict[str, object]] = []
    for text, bold in segments:
        element: dict[str, object] = {"type": "text", "text": text}
        if bold:
            element["style"] = {"bold": True}
        elements.append(element)
    return {"type": "rich_text", "elements": [{"type": "rich_text_quote", "elements": elements}]}


def block_text_len(block: Block) -> int:
    """Characters of text in a block: a section's text, or a rich_text block's elements."""
    text = block.get("text")
    if isinstance(text, dict):
        return len(str(text["text"]))
    if block.get("type") == "rich_text":
        return sum(len(str(e.get("text", ""))) for part in block["elements"]  # type: ignore[attr-defined]
                   for e in part["elements"])
    return 0


def slack_message(alert: Alert, now: datetime) -> SlackMessage:
    for scale in SCALES:
        text, blocks = _slack_message(view(alert, now, scale))
        if len(text) <= SLACK_TEXT_MAX and all(_fits(b) for b in blocks):
            break
    return text, blocks


def _fits(block: Block) -> bool:
    limit = RICH_TEXT_MAX if block.get("type") == "rich_text" else SLACK_SECTION_MAX
    return block_text_len(block) <= limit


def _slack_message(v: View) -> SlackMessage:
    head = f"{v.emoji} *{v.severity}* · *{slack_link(v.title, v.url)}*"
    rules = _rules_text(v, slack_escape, lambda s: f"*{s}*", lambda s: f"(`{s}`)")
    blocks: list[Block] = [
        section(head),
        {"type": "context", "elements": [
            {"type": "mrkdwn", "text": f"{slack_escape(v.source)} · {v.when}"}]},
        section(f"Rules: {rules}"),
    ]
    if v.snippet:
        blocks.append(rich_quote(v.snippet))
    text = f"{v.emoji} {v.severity}: {slack_escape(v.title)} ({slack_escape(v.source)})"
    return text, blocks


# ---------------------------------------------------------------- digests

def slack_digest(alerts: Sequence[Alert], now: datetime) -> list[SlackMessage]:
    return [message for message, _ in slack_digest_parts(alerts, now)]


def slack_digest_parts(alerts: Sequence[Alert], now: datetime) -> list[tuple[SlackMessage, tuple[str, ...]]]:
    """The digest's messages, each with the ids of the alerts it delivers."""
    def head(m: Match, n: int) -> str:
        emoji = LOOK.get(m.severity, LOOK["normal"])[0]
        title, rule = slack_escape(clip(clean(m.title), 120)), slack_escape(m.rule_id[:80])
        return f"{emoji} *{title}* (`{rule}`) · {n}"

    def line(title: str, url: str | None, meta: str) -> str:
        return f"• {slack_link(title, url)} — {slack_escape(meta)}"

    count, groups = digest_groups(alerts, head, line)
    sections = pack(groups, SLACK_SECTION_MAX)
    per = SLACK_BLOCKS_MAX - 1
    chunks = [sections[i: i + per] for i in range(0, len(sections), per)]
    out = []
    for i, chunk in enumerate(chunks, 1):
        title = heading(count, i, len(chunks))
        message = (title, [section(f"*{title}*"), *(section(s) for s, _ in chunk)])
        out.append((message, tuple(a for _, ids in chunk for a in ids)))
    return out
