"""render.py: pure tests on data, then hostile alerts posted through the real clients into the
fakes, which parse what they get the way Slack and Telegram do."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from policybot import render, render_digest, render_slack
from policybot.model import Alert, Hit, Item, Match
from policybot.notify.slack import SlackBotNotifier, SlackWebhookNotifier
from policybot.notify.telegram import TelegramNotifier
from tests.fakes import slack_api as sf
from tests.fakes import telegram_api as tf

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
PUBLISHED = datetime(2026, 11, 29, 8, 14, tzinfo=UTC)
LINK = "https://www.mofcom.gov.cn/article/2026/11/29.html"


def hits(text: str, field: str, *terms: str) -> tuple[Hit, ...]:
    """A Hit for every occurrence of each term in `text` (spans in the original text)."""
    out = []
    for term in terms:
        start = text.find(term)
        while start != -1:
            out.append(Hit(term, None, field, start, start + len(term)))
            start = text.find(term, start + 1)
    return tuple(sorted(out, key=lambda h: h.start))


def make_alert(title: str = "MOFCOM tightens rare earth export licence rules",
               summary: str = "China's commerce ministry said rare earth export licence "
                              "applications will be reviewed case by case from December.",
               *, link: str | None = LINK, terms: Sequence[str] = ("rare earth", "export licence"),
               rules: int = 1, severity: str = "high", published: datetime | None = PUBLISHED,
               feed_title: str = "MOFCOM", n: int = 0) -> Alert:
    found = hits(summary, "summary", *terms) + hits(title, "title", *terms)
    matches = tuple(Match(f"rule-{n}-{i}", f"Rule {i} for item {n}", severity, found)
                    for i in range(rules))
    item = Item("mofcom", f"item-{n}", title, link, summary, "", published)
    return Alert(f"alert-{n}", "trade-desk", item, matches, feed_title)


def mrkdwn_texts(blocks: list[dict[str, object]]) -> list[str]:
    """The mrkdwn of each block; a rich_text block as its literal text (bold in *stars*)."""
    texts = []
    for block in blocks:
        if block["type"] == "rich_text":
            texts.append("".join(f"*{e['text']}*" if e.get("style") else e["text"]
                                 for e in sf.rich_elements([block])))
            continue
        text = block.get("text")
        if isinstance(text, dict):
            texts.append(str(text["text"]))
        for element in block.get("elements", []) or []:  # type: ignore[attr-defined]
            texts.append(str(element["text"]))
    return texts


def assert_slack_safe(text: str, blocks: list[dict[str, object]], link: str | None) -> None:
    assert sf.block_error(blocks) is None
    assert len(text) <= render_slack.SLACK_TEXT_MAX
    # rich_text: literal text elements only (no link, mention or broadcast from feed text)
    assert {e["type"] for e in sf.rich_elements(blocks)} <= {"text"}
    sections = [t for b in blocks if b["type"] != "rich_text" for t in mrkdwn_texts([b])]
    for mrkdwn in [text, *sections]:
        for special in sf.specials(mrkdwn):   # only our own links, never <!channel>, <@U1>
            url = special.split("|", 1)[0]
            assert url.startswith(("https://", "http://")), special
            assert link is not None and url.replace("&amp;", "&") == render.safe_url(link)


def assert_telegram_safe(message: str, link: str | None) -> None:
    text, entities = tf.parse_html(message)
    assert tf.u16(text) <= render.TELEGRAM_MAX
    links = [e["url"] for e in entities if e["type"] in ("text_link", "unsupported_url")]
    assert all(url == render.safe_url(link) for url in links)


# ---------------------------------------------------------------- the parts of a message

def test_console_message_shows_everything() -> None:
    out = render.console_message(make_alert(), NOW)
    assert "🟠 HIGH  MOFCOM tightens rare earth export licence rules" in out
    assert LINK in out
    assert "MOFCOM · 2026-11-29 08:14 UTC (46 min ago)" in out
    assert "Rules: Rule 0 for item 0 (rule-0-0): export licence, rare earth" in out
    assert "said **rare earth** **export licence** applications" in out


def test_slack_message_parts() -> None:
    text, blocks = render_slack.slack_message(make_alert(), NOW)
    assert text == "🟠 High: MOFCOM tightens rare earth export licence rules (MOFCOM)"
    first, context, rules, snippet = mrkdwn_texts(blocks)
    assert first == f"🟠 *High* · *<{LINK}|MOFCOM tightens rare earth export licence rules>*"
    assert context == "MOFCOM · 2026-11-29 08:14 UTC (46 min ago)"
    assert rules == "Rules: *Rule 0 for item 0* (`rule-0-0`): export licence, rare earth"
    assert "*rare earth* *export licence*" in snippet


def test_telegram_message_parts() -> None:
    out = render.telegram_message(make_alert(), NOW)
    assert out.startswith(f'🟠 <b>High</b> · <a href="{LINK}"><b>MOFCOM tightens')
    assert "<i>MOFCOM</i> · 2026-11-29 08:14 UTC" in out
    assert "<b>rare earth</b> <b>export licence</b>" in out
    assert tf.parse_html(out)


@pytest.mark.parametrize(("published", "expected"), [
    (None, "time unknown"),
    (NOW - timedelta(seconds=5), "2026-11-29 08:59 UTC (just now)"),
    (NOW - timedelta(hours=5), "2026-11-29 04:00 UTC (5 h ago)"),
    (NOW - timedelta(days=3), "2026-11-26 09:00 UTC (3 d ago)"),
    (NOW + timedelta(hours=1), "2026-11-29 10:00 UTC"),
    (datetime(2026, 11, 29, 17, 14, tzinfo=__import__("zoneinfo").ZoneInfo("Asia/Shanghai")),
     "2026-11-29 09:14 UTC"),
])
def test_when(published: datetime | None, expected: str) -> None:
    assert render.when(published, NOW) == expected


def test_snippet_centres_on_first_hit_and_bolds_every_hit_inside() -> None:
    summary = "filler words " * 100 + "export licence here and export licence there" + " x" * 400
    segments = render.snippet(make_alert(summary=summary).item, make_alert(summary=summary).matches)
    joined = "".join(s for s, _ in segments)
    assert joined.startswith("…") and joined.endswith("…")
    assert len(joined) <= render.SNIPPET_MAX + 2
    assert [s for s, bold in segments if bold] == ["export licence", "export licence"]


def test_snippet_when_only_the_title_matched_and_with_bad_spans() -> None:
    alert = make_alert(summary="Nothing relevant here.", terms=("rare earth",))
    assert render.snippet(alert.item, alert.matches) == (("Nothing relevant here.", False),)
    bad = Match("r", "R", "low", (Hit("x", None, "summary", 50, 999), Hit("y", None, "summary",
                                                                          5, 2)))
    assert render.snippet(alert.item, (bad,)) == (("Nothing relevant here.", False),)


def test_links_only_http_and_encoded() -> None:
    assert render.safe_url("javascript:alert(1)") is None
    assert render.safe_url("data:text/html,<script>") is None
    assert render.safe_url("//evil.example/x") is None
    encoded = "https://x.org/a%7Cb%3Ec%20%3Cd%3E%22%27"
    assert render.safe_url("https://x.org/a|b>c <d>\"'") == encoded
    assert render.safe_url("https://x.org/" + "&" * 300) is None   # too long once escaped
    alert = make_alert(link="javascript:alert(document.cookie)")
    assert "<javascript" not in str(render_slack.slack_message(alert, NOW))
    assert "<a " not in render.telegram_message(alert, NOW)
    assert "javascript" not in render.console_message(alert, NOW)


def test_console_strips_terminal_escapes_and_bidi_overrides() -> None:
    out = render.console_message(make_alert(title="Evil \x1b[2J\x1b]0;pwned\x07 \u202etitle"), NOW)
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out


def test_many_rules_are_counted_not_listed() -> None:
    alert = make_alert(rules=30)
    assert "and 20 more" in render.console_message(alert, NOW)
    text, blocks = render_slack.slack_message(alert, NOW)
    assert "more" in mrkdwn_texts(blocks)[2]
    assert "more" in render.telegram_message(alert, NOW)


def test_test_alert_renders() -> None:
    alert = render.test_alert("trade-desk", NOW)
    assert alert.destination == "trade-desk"
    assert "**test alert**" in render.console_message(alert, NOW)


# ---------------------------------------------------------------- hostile feed text

HOSTILE = {
    "huge": "Export licence " + "x" * 10_000,
    "huge-ampersands": "&" * 10_000,
    "huge-brackets": "<>" * 5_000,
    "rtl": "\u202eقيود تصدير المعادن النادرة export licence \u05e2\u05d1\u05e8\u05d9\u05ea",
    "emoji": "🚨🇨🇳👨‍👩‍👧‍👦 rare earth export licence 🔥" * 40,
    "cjk": "商务部公告：稀土出口许可管理 export licence 出口管制" * 30,
    "mentions": "<!channel> <!here> @here @channel @everyone <@U123> <#C123|general> <!subteam^S1>",
    "script": "<script>alert(1)</script><img src=x onerror=alert(1)>",
    "markdown": "*bold* _it_ ~strike~ `code` ```pre``` [x](http://evil) > quote",
    "slack-link": "<http://evil.example|click me> <javascript:alert(1)|x>",
    "html": '<a href="http://evil">x</a> <b>bold</b> &amp; &lt; &#60; </i>',
    "controls": "title\x00\x1b[31mred\x1b[0m\r\nnext line\u2028sep",
}


def hostile_alert(title: str, link: str | None = LINK) -> Alert:
    summary = f"Before. {title} After: rare earth export licence."
    return make_alert(title=title, summary=summary, link=link)


@pytest.mark.parametrize("case", sorted(HOSTILE))
@pytest.mark.parametrize("link", [LINK, "javascript:alert(1)", "https://x.org/?a=1&b=|>", None])
def test_hostile_text_is_inert_and_fits(case: str, link: str | None) -> None:
    alert = hostile_alert(HOSTILE[case], link)
    text, blocks = render_slack.slack_message(alert, NOW)
    assert_slack_safe(text, blocks, link)
    assert_telegram_safe(render.telegram_message(alert, NOW), link)
    assert "\x1b" not in render.console_message(alert, NOW)


@pytest.mark.parametrize("case", sorted(HOSTILE))
async def test_hostile_alerts_are_accepted_by_the_platforms(
        case: str, slack_api: sf.SlackFake, telegram_api: tf.TelegramFake) -> None:
    alert = hostile_alert(HOSTILE[case], "https://x.org/?a=1&b=|>")
    notifiers = [
        SlackBotNotifier("bot", sf.TOKEN, "C0123ABCD", api_url=slack_api.api_url),
        SlackWebhookNotifier("hook", slack_api.webhook_url()),
        TelegramNotifier("tg", tf.TOKEN, tf.CHAT_ID, api_url=telegram_api.url),
    ]
    for notifier in notifiers:
        await notifier.send(alert)
        await notifier.close()
    assert len(slack_api.all_messages()) == 2
    [message] = telegram_api.messages(tf.CHAT_ID)
    assert message["text"].count("https://") == 0   # the link is an entity, not text
    assert [e["url"] for e in message["entities"] if e["type"] == "text_link"] == [
        "https://x.org/?a=1&b=%7C%3E"]


# ---------------------------------------------------------------- digests

def many_alerts(n: int, *, rules: int = 1, title: str = "Item") -> list[Alert]:
    return [make_alert(title=f"{title} {i} rare earth", n=i, rules=rules) for i in range(n)]


def test_small_digest_is_one_message_grouped_by_rule() -> None:
    alerts = [make_alert(n=0, severity="low"), make_alert(n=1, severity="urgent")]
    [(text, blocks)] = render_slack.slack_digest(alerts, NOW)
    assert text == "2 policy alerts"
    sections = mrkdwn_texts(blocks)
    assert sections[0] == "*2 policy alerts*"
    assert sections[1].index("Rule 0 for item 1") < sections[1].index("Rule 0 for item 0")
    [message] = render_digest.telegram_digest(alerts, NOW)
    assert message.startswith("<b>2 policy alerts</b>")
    assert render_digest.console_digest(alerts, NOW).startswith("2 policy alerts\n")


DIGESTS = {
    "one-rule": lambda: many_alerts(200),
    "one-rule-huge-escaped-titles": lambda: many_alerts(200, title="&<>" * 3000),
    "two-rules-each": lambda: many_alerts(200, rules=2),
    "200-rules": lambda: [make_alert(title=f"Item {i}", n=i) for i in range(200)],
}


@pytest.mark.parametrize("case", sorted(DIGESTS))
def test_digest_of_200_alerts_splits_only_as_limits_require(case: str) -> None:
    alerts = DIGESTS[case]()
    slack = render_slack.slack_digest(alerts, NOW)
    for part, (text, blocks) in enumerate(slack, 1):
        assert sf.block_error(blocks) is None
        assert text == f"200 policy alerts ({part}/{len(slack)})" or len(slack) == 1
        assert_slack_safe(text, blocks, LINK)
    assert len(slack) == 1 or len(slack[-2][1]) == render_slack.SLACK_BLOCKS_MAX
    telegram = render_digest.telegram_digest(alerts, NOW)
    assert all(tf.u16(tf.parse_html(m)[0]) <= render.TELEGRAM_MAX for m in telegram)
    assert all(tf.u16(m) <= render.TELEGRAM_MAX for m in telegram)
    assert all(tf.u16(m) > render.TELEGRAM_MAX - 1200 for m in telegram[:-1])   # parts are full
    sections = [t for _, b in slack for t in mrkdwn_texts(b)[1:]]
    assert all(len(t) > render_slack.SLACK_SECTION_MAX - 1200 for t in sections[:-1])
    visible = "\n".join(tf.parse_html(m)[0] for m in telegram)
    slack_text = "\n".join(t for _, b in slack for t in mrkdwn_texts(b))
    lines = sum(len(a.matches) for a in alerts)   # one line per alert per rule, none lost
    assert visible.count("• ") == slack_text.count("• ") == lines
    for alert in alerts:   # every alert is in the digest, on both platforms
        short = render.clip(render.clean(alert.item.title), render_digest.DIGEST_TITLE_MAX)
        assert short in visible
        assert render.slack_escape(short) in slack_text
