"""Chat commands without a platform: replies, subscriptions, watches, mutes, the summary.

`World` (also used by the Telegram and Slack tests) is an App built from a config.yaml in
tmp_path, with rules in tmp_path/rules and one feed that is a local RSS file.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from policybot.app import App
from policybot.chat.commands import (
    COMMANDS,
    ID_SHOWN,
    MAX_IDS,
    MIN_MUTE,
    NAMES_SHOWN,
    RULES_SHOWN,
    SLACK,
    TELEGRAM,
    Commands,
    fit_reply,
    parse_command,
    split_message,
)
from policybot.config import load_config
from policybot.model import Alert, Hit, Item, Match, alert_key
from policybot.status import print_status

RULES = """\
entities:
  rare-earths: [rare earth, dysprosium]
rules:
  - id: rare-earth-export
    title: Rare-earth export controls
    match: {all: [$rare-earths], any: [export control, export ban]}
  - id: rare-earth-news
    title: Anything on rare earths
    match: {any: [$rare-earths]}
  - id: tariffs
    title: New tariffs
    match: {any: [tariff]}
"""
ME = "telegram:123456789"


@dataclass
class World:
    """An App on tmp_path, and the RSS file its one feed reads."""

    path: Path
    app: App
    items: list[tuple[str, str, str]]   # (guid, title, link) in the feed

    def add_item(self, guid: str, title: str, link: str | None = None) -> None:
        self.items.insert(0, (guid, title, link or f"https://example.gov/{guid}"))
        write_feed(self.path / "feed.xml", self.items)

    async def poll_and_deliver(self) -> None:
        await self.app.poll_all(force=True)
        await self.app.deliver()


def write_feed(path: Path, items: list[tuple[str, str, str]]) -> None:
    when = format_datetime(datetime.now(UTC))
    body = "".join(f"<item><title>{escape(t)}</title><link>{escape(link)}</link><guid>{g}</guid>"
                   f"<pubDate>{when}</pubDate></item>" for g, t, link in items)
    path.write_text('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
                    f"<title>Trade notices</title><link>https://example.gov/</link>{body}"
                    "</channel></rss>", encoding="utf-8")


def write_config(path: Path, *, telegram_url: str | None = None, slack_url: str | None = None,
                 allow: str = "[123456789]", app_token: str = "xapp-1-A0FAKE-1-test",
                 slack_extra: str = "allow: [C0123ABCD]", telegram_extra: str = "") -> Path:
    (path / "rules").mkdir(exist_ok=True)
    (path / "rules" / "r.yaml").write_text(RULES, encoding="utf-8")
    if not (path / "feed.xml").exists():
        write_feed(path / "feed.xml", [])
    text = ("storage: {path: state.db}\nrules: rules/\n"
            "defaults: {backfill: all, notify: [console]}\n"
            "feeds:\n  - {id: trade, url: feed.xml}\n")
    if telegram_url:
        text += (f'telegram: {{token: "123456:TEST-token", allow: {allow}, api_url: "{telegram_url}"'
                 f'{", " + telegram_extra if telegram_extra else ""}}}\n')
    if slack_url:
        text += (f'slack: {{app_token: "{app_token}", bot_token: xoxb-test, api_url: "{slack_url}"'
                 f'{", " + slack_extra if slack_extra else ""}}}\n')
    (path / "config.yaml").write_text(text, encoding="utf-8")
    return path / "config.yaml"


def make_world(path: Path, **config: str) -> World:
    app = App(load_config(write_config(path, **config), env={}), stream=io.StringIO())
    app.load_rules()
    return World(path, app, [])


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = make_world(tmp_path, telegram_url="http://127.0.0.1:9")
    yield w
    w.app.store.close()


def tg(world: World, text: str, dest: str = ME) -> str:
    return Commands(world.app, TELEGRAM).handle(dest, text)


def alert(n: int, rule: str = "tariffs", title: str = "", link: str | None = None) -> Alert:
    item = Item("trade", f"i{n}", title or f"Item {n}", link, "", "", datetime(2026, 1, 1, tzinfo=UTC))
    return Alert(alert_key(item, ME), ME, item, (Match(rule, rule.title(), "normal",
                                                      (Hit("x", None, "title", 0, 1),)),))


# ---------------------------------------------------------------- parsing and help

def test_parse_command_strips_slash_bot_name_and_spaces() -> None:
    assert parse_command("/Subscribe@policybot_bot  a   b ") == ("subscribe", "a b")
    assert parse_command("list") == ("list", "")


def test_help_names_every_command(world: World) -> None:
    reply = tg(world, "/help")
    assert all(f"/{name}" in reply for name in COMMANDS)
    assert "&lt;rule-id&gt;" in reply  # usage placeholders are escaped for HTML


def test_unknown_command_lists_the_commands(world: World) -> None:
    reply = tg(world, "/subscirbe x")
    assert reply.startswith("I don't know <code>/subscirbe</code>")
    assert "/subscribe" in reply and "/mute" in reply


def test_rules_lists_ids_titles_and_marks_subscriptions(world: World) -> None:
    tg(world, "/subscribe tariffs")
    reply = tg(world, "/rules")
    assert "✅ <code>tariffs</code> New tariffs" in reply
    assert "• <code>rare-earth-export</code> Rare-earth export controls" in reply


# ---------------------------------------------------------------- subscribe / unsubscribe

def test_subscribe_many_and_case_insensitive(world: World) -> None:
    reply = tg(world, "/subscribe Tariffs rare-earth-news")
    assert reply.count("✅ Subscribed") == 2
    assert world.app.store.subscriptions_of(ME) == ["rare-earth-news", "tariffs"]
    assert "Already subscribed to <code>tariffs</code>" in tg(world, "/subscribe tariffs")


def test_unknown_rule_suggests_the_closest_and_rules(world: World) -> None:
    reply = tg(world, "/subscribe rare-earth-exports")
    assert "No rule <code>rare-earth-exports</code>" in reply
    assert "Did you mean <code>rare-earth-export</code>?" in reply and "/rules" in reply
    assert world.app.store.subscriptions_of(ME) == []


def test_bad_arguments_get_a_usage_line(world: World) -> None:
    assert tg(world, "/subscribe").startswith("Usage: <code>/subscribe &lt;rule-id&gt; ...</code>")
    assert tg(world, "/unsubscribe").startswith("Usage: <code>/unsubscribe")
    assert tg(world, "/unwatch").startswith("Usage: <code>/unwatch")
    assert tg(world, "/watch").startswith("Usage: <code>/watch")
    assert tg(world, '/watch -only -excluded "').startswith("Give at least one word")
    for bad in ("/mute", "/mute soon", "/mute 8", "/mute 0m", "/mute 90d", "/mute 1s", "/mute 59s",
                "/mute 0.5m", "/mute 59999ms"):
        assert "30m, 8h" in tg(world, bad), bad
    assert world.app.store.watches(ME) == [] and not world.app.store.is_muted(ME, 0)


def test_unsubscribe_one_and_all(world: World) -> None:
    tg(world, "/subscribe tariffs rare-earth-news")
    tg(world, "/watch gallium")
    assert "not subscribed to <code>nope</code>" in tg(world, "/unsubscribe nope")
    assert tg(world, "/unsubscribe TARIFFS") == "Unsubscribed from <code>tariffs</code>."
    assert "Removed all 2" in tg(world, "/unsubscribe all")
    assert world.app.store.subscriptions_of(ME) == [] and world.app.store.watches(ME) == []
    assert not any(r.startswith("watch:") for r in world.app.rules.rules_by_id)


# ---------------------------------------------------------------- watches

def test_watch_adds_a_personal_rule_at_once_and_unwatch_removes_it(world: World) -> None:
    reply = tg(world, '/watch gallium "export ban" -scrap')
    [(_, wid, text)] = world.app.store.watches(ME)
    assert text == 'gallium "export ban" -scrap' and f"<code>{wid}</code>" in reply
    rule = world.app.rules.rules_by_id[f"watch:{ME}:{wid}"]
    assert rule.notify == (ME,)
    assert "already watch" in tg(world, "/watch  Gallium  \"export  ban\" -scrap")
    assert "No watch" in tg(world, "/unwatch zzz")
    assert tg(world, "/unwatch 1") == f"Removed watch <code>{wid}</code>."
    assert f"watch:{ME}:{wid}" not in world.app.rules.rules_by_id


def test_watch_text_is_escaped(world: World) -> None:
    reply = tg(world, "/watch <b>gallium</b> & co")
    assert "&lt;b&gt;gallium&lt;/b&gt; &amp; co" in reply and "<b>gallium" not in reply


def test_watch_rules_are_parsed_once(world: World) -> None:
    tg(world, "/watch gallium")
    first = world.app.watch_rules()
    tg(world, "/watch antimony")
    second = world.app.watch_rules()
    assert first[0] is second[0] and len(second) == 2


# ---------------------------------------------------------------- list, mute, summary

def test_list_shows_subscriptions_watches_and_mute(world: World) -> None:
    assert "No subscriptions or watches yet" in tg(world, "/list")
    tg(world, "/subscribe tariffs")
    tg(world, "/watch gallium")
    tg(world, "/mute 8h")
    reply = tg(world, "/list")
    assert "🔕 Muted until" in reply and "<code>tariffs</code> New tariffs" in reply
    assert "1. gallium (id <code>" in reply


def test_unmute_when_not_muted(world: World) -> None:
    assert tg(world, "/unmute") == "You are not muted."


def test_summary_counts_per_rule_and_shows_five_linked_titles(world: World) -> None:
    alerts = [alert(n, "tariffs" if n % 2 else "rare-earth-news", link=f"https://x.gov/{n}")
              for n in range(7)]
    alerts.append(alert(7, "tariffs", title="<script> & *bold*", link="javascript:alert(1)"))
    text = Commands(world.app, TELEGRAM).missed_summary(alerts, "🔔 Unmuted.")
    assert "8 alerts matched" in text
    assert "• tariffs: 4" in text and "• rare-earth-news: 4" in text
    assert text.count("<a href=") == 4 and "&lt;script&gt; &amp; *bold*" in text
    assert "javascript" not in text and "…and 3 more." in text
    slack = Commands(world.app, SLACK).missed_summary(alerts, "🔔 Unmuted.")
    assert "<https://x.gov/6|Item 6>" in slack and "&lt;script&gt; &amp; ∗bold∗" in slack


def test_slack_markup_uses_the_slash_command() -> None:
    assert SLACK.cmd("subscribe", "<rule-id>") == "`/policybot subscribe &lt;rule-id&gt;`"


def test_split_message_cuts_at_newlines() -> None:
    text = "\n".join(f"line {n:03d}" for n in range(100))
    parts = split_message(text, 100)
    assert all(len(p) <= 100 for p in parts) and "\n".join(parts) == text


def test_status_lists_subscribers(world: World) -> None:
    tg(world, "/subscribe tariffs")
    tg(world, "/watch gallium")
    out = io.StringIO()
    print_status(world.app, out)
    assert "Subscribers (1)" in out.getvalue()
    assert "telegram:123456789" in out.getvalue() and "tariffs" in out.getvalue()
    assert "gallium" in out.getvalue()


# ---------------------------------------------------------------- bounds (issue 10)

def test_mute_starts_at_one_minute(world: World) -> None:
    assert MIN_MUTE == 60.0
    assert "1 minute to 30 days" in tg(world, "/mute 59s")
    assert not world.app.store.is_muted(ME, 0)
    assert "Muted until" in tg(world, "/mute 1m")


def test_more_than_max_ids_is_refused_with_one_line(world: World) -> None:
    ids = " ".join(["tariffs"] + [f"made-up-{n}" for n in range(MAX_IDS)])
    for command in ("subscribe", "unsubscribe"):
        reply = tg(world, f"/{command} {ids}")
        assert reply.startswith(f"At most {MAX_IDS} rule ids at a time") and "\n" not in reply
    assert world.app.store.subscriptions_of(ME) == []


def test_unknown_ids_make_one_bounded_line(world: World) -> None:
    made_up = [f"made-up-{n}-" + "x" * 500 for n in range(MAX_IDS - 1)]
    reply = tg(world, "/subscribe tariffs " + " ".join(made_up))
    lines = reply.splitlines()
    assert lines[0].startswith("✅ Subscribed to <code>tariffs</code>")
    [unknown] = [line for line in lines if line.startswith("❓")]
    assert unknown.count("<code>made-up-") == NAMES_SHOWN
    assert f"(+{MAX_IDS - 1 - NAMES_SHOWN} more)" in unknown
    assert "x" * ID_SHOWN not in unknown           # a long typed id is cut when echoed
    assert len(reply) < 1500


def test_unsubscribe_takes_several_ids(world: World) -> None:
    tg(world, "/subscribe tariffs rare-earth-news rare-earth-export")
    reply = tg(world, "/unsubscribe tariffs RARE-EARTH-NEWS nope")
    assert "Unsubscribed from <code>tariffs</code>." in reply
    assert "Unsubscribed from <code>rare-earth-news</code>." in reply
    assert "not subscribed to <code>nope</code>. Your subscriptions: <code>rare-earth-export</code>" in reply
    assert world.app.store.subscriptions_of(ME) == ["rare-earth-export"]
    assert tg(world, "/unsubscribe all tariffs").startswith("Usage:")


def test_fit_reply_is_one_message() -> None:
    text = "\n".join(f"line {n}" for n in range(2000))
    reply = fit_reply(text, 4000)
    assert len(reply) <= 4000 and reply.endswith("(cut: the rest did not fit in one message)")
    assert fit_reply("short", 4000) == "short"


def many_rules(n: int) -> str:
    return "rules:\n" + "".join(f"  - {{id: rule-{i:05d}, title: Rule {i}, match: {{any: [term{i}]}}}}\n"
                                 for i in range(n))


@pytest.fixture(scope="module")
def big_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """10,000 rules: the size at which a scan per typed id stalled the loop."""
    path = tmp_path_factory.mktemp("big")
    write_config(path, telegram_url="http://127.0.0.1:9")
    (path / "rules" / "r.yaml").write_text(many_rules(10_000), encoding="utf-8")
    w = make_world_from(path)
    yield w
    w.app.store.close()


def make_world_from(path: Path) -> World:
    app = App(load_config(path / "config.yaml", env={}), stream=io.StringIO())
    app.load_rules()
    return World(path, app, [])


def test_with_10000_rules_subscribe_uses_one_index_and_rules_is_bounded(big_world: World) -> None:
    commands = Commands(big_world.app, TELEGRAM)
    index = commands.rule_index()
    assert len(index) == 10_000 and commands.rule_index() is index   # built once per rule set
    typed = [f"RULE-{i:05d}" for i in range(0, 10_000, 1000)] + [f"nope-{i}" for i in range(10)]
    reply = commands.handle(ME, "/subscribe " + " ".join(typed))
    assert reply.count("✅ Subscribed") == 10 and "(+5 more)" in reply
    rules = commands.handle(ME, "/rules")
    assert rules.count("<code>rule-") == RULES_SHOWN and f"(+{10_000 - RULES_SHOWN} more" in rules
    assert len(rules) < 4000
    narrowed = commands.handle(ME, "/rules rule-0999")
    assert narrowed.count("<code>rule-0999") == 10 and "more" not in narrowed
    big_world.app.store.unsubscribe(ME)
