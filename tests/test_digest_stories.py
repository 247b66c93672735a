"""Digests group by story (issue 12, point 3): a story's reports of one pass are one digest line,
the first report's, with "+N reports, also: ..."; its later reports fold with that line. Pure
render tests on data (limits and splitting included), then the App on local feed files
against the Slack and Telegram fakes. `bot.py once` runs it in test_digest_stories_e2e.py."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from policybot import render_digest, render_slack
from policybot.app import App
from policybot.config import DeliverySettings, load_config
from policybot.delivery import Delivery
from policybot.errors import DeliveryError
from policybot.model import Alert, Item, Match
from policybot.notify.base import Accepted, no_record, report_accepted
from policybot.render import TELEGRAM_MAX, slack_escape
from policybot.render_digest import ALSO_NAME_MAX, SOURCE_MAX, also_names, by_story, reports_note
from policybot.render_story import console_also
from policybot.store import Store
from policybot.stories.storage import StoryRecord
from tests.fakes import slack_api as sf
from tests.fakes import telegram_api as tf
from tests.story_flood import FEEDS, RULES, rss
from tests.test_delivery import Clock

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
CHANNEL = "C0123ABCD"


def report(n: int, story: str, source: str, *, later: bool = True, title: str = "",
           rules: int = 1) -> Alert:
    item = Item(source, f"i{n}", title or f"Report {n} of {story}", f"https://x.example/{n}",
                "", "", NOW)
    matches = tuple(Match(f"rule-{i}", f"Rule {i}", "high", ()) for i in range(rules))
    return Alert(f"a{n}", "desk", item, matches, feed_title=source, story=story, later=later)


def flood() -> list[Alert]:
    """Story s1: its first report and three later ones; s2: one report; an alert of no story."""
    return [report(1, "s1", "Reuters", later=False), report(2, "s1", "商务部"),
            report(3, "s2", "Caixin", later=False), report(4, "s1", "Argus"),
            report(5, "s1", "Reuters"), replace(report(6, "", "AP", later=False), story="")]


# ---------------------------------------------------------------- pure: lines and notes

def test_one_entry_per_story_led_by_its_first_report() -> None:
    entries = by_story(flood())
    assert [e.lead.alert_id for e in entries] == ["a1", "a3", "a6"]
    assert [a.alert_id for a in entries[0].others] == ["a2", "a4", "a5"]
    assert entries[0].ids == ("a1", "a2", "a4", "a5") and entries[2].others == ()
    # a later report listed before its first (rows of another order) does not lead
    (entry,) = by_story([report(2, "s1", "商务部"), report(1, "s1", "Reuters", later=False)])
    assert entry.lead.alert_id == "a1"


def test_reports_note_counts_reports_and_names_the_other_outlets() -> None:
    s1, s2, _ = by_story(flood())
    assert reports_note(s1) == "+3 reports, also: 商务部, Argus"   # Reuters is the line's own
    assert reports_note(s2) == ""
    (same,) = by_story([report(1, "s", "Reuters", later=False), report(2, "s", "Reuters")])
    assert reports_note(same) == "+1 report"


def test_a_source_is_cut_to_its_bound_in_digest_lines_and_replies() -> None:
    long = "Outlet " * 100
    alerts = [report(1, "s", long, later=False), report(2, "s", "AP")]
    console = render_digest.console_digest(alerts, NOW)
    cut = long.strip()[:SOURCE_MAX - 1].rstrip() + "…"
    assert f"— {cut} · " in console and long.strip() not in console
    assert console_also(replace(alerts[0], later=True)).startswith(f"↳ also: {cut} — ")


def test_also_names_are_bounded() -> None:
    long = ["&" * 5000, "<b>" * 900, "Reuters", "财新", "AP"]
    names = also_names(long)
    assert names.endswith(" (+3)") and names.count(", ") == 1
    assert len(names) <= 2 * ALSO_NAME_MAX + len(", (+3) ")
    assert also_names(["Reuters", "财新", "Reuters", "AP"], exclude=["Reuters"]) == "财新, AP"


def test_every_platform_shows_one_line_per_story_and_delivers_every_report() -> None:
    alerts = flood()
    [(text, blocks)] = render_slack.slack_digest(alerts, NOW)
    assert text == "3 policy alerts" and sf.block_error(blocks) is None
    body = "\n".join(str(b["text"]["text"]) for b in blocks)   # type: ignore[index]
    assert body.count("• ") == 3 and "+3 reports, also: 商务部, Argus" in body
    assert "Report 2 of s1" not in body and "Report 1 of s1" in body
    [(html, ids)] = render_digest.telegram_digest_parts(alerts, NOW)
    visible, _ = tf.parse_html(html)
    assert visible.startswith("3 policy alerts") and visible.count("• ") == 3
    assert "— Reuters · 2026-11-29 09:00 UTC · +3 reports, also: 商务部, Argus" in visible
    assert sorted(ids) == sorted(a.alert_id for a in alerts)
    console = render_digest.console_digest(alerts, NOW)
    assert console.count("  • ") == 3 and "+3 reports, also: 商务部, Argus" in console
    [(_, slack_ids)] = render_slack.slack_digest_parts(alerts, NOW)
    assert sorted(slack_ids) == sorted(ids)


def big_flood(stories: int = 150, per: int = 6) -> list[Alert]:
    """Many stories with many reports each, titles and outlets long and full of characters
    that escaping multiplies."""
    out = []
    for s in range(stories):
        for r in range(per):
            out.append(report(s * per + r, f"s{s}", f"&<outlet {r}> " * 40, later=r > 0,
                              title=f"{s}: " + "&<>" * 400, rules=2))
    return out


def test_a_story_digest_splits_within_each_platforms_limits() -> None:
    alerts = big_flood()
    every = sorted(a.alert_id for a in alerts)
    slack = render_slack.slack_digest_parts(alerts, NOW)
    assert len(slack) > 1
    for (text, blocks), _ in slack:
        assert sf.block_error(blocks) is None and text.startswith("150 policy alerts (")
    assert sorted(i for _, ids in slack for i in ids) == every    # each once, none lost
    telegram = render_digest.telegram_digest_parts(alerts, NOW)
    assert len(telegram) > 1
    assert all(tf.u16(m) <= TELEGRAM_MAX for m, _ in telegram)
    assert sorted(i for _, ids in telegram for i in ids) == every
    visible = "\n".join(tf.parse_html(m)[0] for m, _ in telegram)
    assert visible.count("• ") == 150 * 2                       # a line per story and rule
    assert visible.count("+5 reports, also: ") == 300
    slack_text = "\n".join(str(b["text"]["text"]) for (_, bs), _ in slack for b in bs[1:])  # type: ignore[index]
    assert slack_text.count("• ") == 300 and slack_escape("+5 reports, also: ") in slack_text


# ---------------------------------------------------------------- the outbox: a digest cut short

@dataclass
class LinesNotifier:
    """Posts a digest `per` lines (stories) a message, reporting each accepted message's
    alerts; the posts numbered in `fail_at` (1-based, over its life) fail, retryably."""

    name: str
    per: int = 2
    fail_at: set[int] = field(default_factory=set)
    posts: list[list[str]] = field(default_factory=list)
    tries: int = 0

    async def send(self, alert: Alert) -> None:
        self.posts.append([alert.item.title])

    async def send_digest(self, alerts: Sequence[Alert], accepted: Accepted = no_record) -> None:
        entries = by_story(alerts)
        for start in range(0, len(entries), self.per):
            self.tries += 1
            if self.tries in self.fail_at:
                raise DeliveryError("HTTP 502", retryable=True)
            part = entries[start:start + self.per]
            self.posts.append([e.lead.item.title for e in part])
            await report_accepted(accepted, [i for e in part for i in e.ids])

    async def close(self) -> None:
        pass


async def test_a_story_digest_cut_short_folds_only_what_was_shown(tmp_path: Path) -> None:
    clock, desk = Clock(), LinesNotifier("desk", fail_at={2})
    store = Store(tmp_path / "s.db")
    firsts = [replace(report(n, f"s{n}", "Reuters", later=False), destination="desk",
                      alert_id=f"first-{n}") for n in range(6)]
    laters = [replace(report(100 + n, f"s{n}", "财新"), destination="desk") for n in range(6)]
    with store.transaction():
        store.record_stories(StoryRecord(firsts=[("desk", a.story, a.alert_id) for a in firsts],
                                         laters=[(a.alert_id, "desk", a.story, "财新") for a in laters]),
                             clock.now)
    store.enqueue([*firsts, *laters], clock.now)
    delivery = Delivery(store, {"desk": desk}.get, lambda d: [], DeliverySettings(digest_after=3),
                        clock=clock, sleep=clock.sleep)
    report_ = await delivery.drain()
    assert desk.posts == [["Report 0 of s0", "Report 1 of s1"]] and report_.sent == 2
    counts = store.outbox_counts()
    assert (counts[("desk", "sent")], counts[("desk", "folded")], counts[("desk", "pending")]) == (2, 2, 8)
    clock.now += 3600                                    # past the retry and the laters' wait
    await delivery.drain_until_idle(0)
    shown = [t for post in desk.posts for t in post]
    assert sorted(shown) == sorted(f"Report {n} of s{n}" for n in range(6))   # each story once
    assert store.outbox_counts() == {("desk", "sent"): 6, ("desk", "folded"): 6}


# ---------------------------------------------------------------- the App against the fakes

def make_app(tmp_path: Path, slack_api: Any, telegram_api: Any, *, digest_after: int,
             only: tuple[str, ...]) -> tuple[App, io.StringIO]:
    (tmp_path / "rules.yaml").write_text(RULES, encoding="utf-8")
    for feed in FEEDS:
        (tmp_path / f"{feed}.xml").write_text(rss(feed, only=only), encoding="utf-8")
    feeds = ", ".join(f"{{id: {f}, url: {f}.xml}}" for f in FEEDS)
    (tmp_path / "config.yaml").write_text(f"""\
storage: {{path: s.db}}
rules: [rules.yaml]
defaults: {{backfill: all, notify: [console, bot, hook, me]}}
delivery: {{digest_after: {digest_after}}}
feeds: [{feeds}]
destinations:
  console: {{type: console}}
  bot: {{type: slack, token: "{sf.TOKEN}", channel: {CHANNEL}, api_url: "{slack_api.api_url}", rate: 100}}
  hook: {{type: slack, webhook_url: "{slack_api.webhook_url('alerts')}", rate: 100}}
  me: {{type: telegram, token: "{tf.TOKEN}", chat_id: {tf.CHAT_ID}, api_url: "{telegram_api.url}", rate: 100}}
""", encoding="utf-8")
    out = io.StringIO()
    app = App(load_config(tmp_path / "config.yaml", env={}), stream=out)
    app.load_rules()
    return app, out


async def test_a_flood_of_three_stories_is_a_digest_of_three_lines(
        tmp_path: Path, slack_api: Any, telegram_api: Any) -> None:
    app, out = make_app(tmp_path, slack_api, telegram_api, digest_after=2,
                        only=("rusal", "gallium", "antimony"))
    results = await app.poll_all()
    assert sum(r.alerts for r in results) == 9 * 4
    report = await app.deliver()
    assert report.digests == 4 and report.sent == 3 * 4 and report.failed == 0

    (digest,) = slack_api.messages(CHANNEL)              # no thread replies, no edits
    assert digest["text"] == "3 policy alerts" and slack_api.updated(CHANNEL) == []
    assert str(digest["blocks"]).count("• ") == 3 and str(digest["blocks"]).count("+2 reports") == 3
    (hook,) = slack_api.messages("webhook:alerts")
    assert str(hook["blocks"]).count("• ") == 3
    (tg,) = telegram_api.messages(tf.CHAT_ID)
    assert tg["text"].count("• ") == 3 and tg["text"].count("+2 reports, also: ") == 3
    rusal = next(line for line in tg["text"].splitlines() if "新华社" in line)   # whichever led
    assert all(name in rusal for name in ("Reuters", "新华社", "第一财经"))
    assert out.getvalue().count("  • ") == 3 and "↳ also" not in out.getvalue()
    counts = app.store.outbox_counts()
    for dest in ("bot", "hook", "me", "console"):
        assert (counts[(dest, "sent")], counts[(dest, "folded")]) == (3, 6)

    # the same reports again from one of the feeds: nothing new, nothing posted (a later report
    # of a story first shown in a digest replies under it: test_digest_refs.py)
    (tmp_path / "yicai.xml").write_text(rss("yicai", only=("rusal", "gallium")), encoding="utf-8")
    await app.poll_all(force=True)
    await app.deliver()
    assert len(slack_api.messages(CHANNEL)) == 1 and len(telegram_api.messages(tf.CHAT_ID)) == 1
    await app.close()


async def test_later_reports_of_a_story_already_sent_stay_in_its_thread(
        tmp_path: Path, slack_api: Any, telegram_api: Any) -> None:
    app, out = make_app(tmp_path, slack_api, telegram_api, digest_after=1, only=("gallium",))
    (tmp_path / "reuters.xml").write_text(rss("reuters", only=()), encoding="utf-8")
    (tmp_path / "press.xml").write_text(rss("press", only=()), encoding="utf-8")
    await app.poll_all()                                  # the gallium story's first report
    await app.deliver()
    (first,) = slack_api.messages(CHANNEL)
    assert "thread_ts" not in first and "镓" in first["text"]

    for feed in FEEDS:                                    # then a flood: two new stories, and
        (tmp_path / f"{feed}.xml").write_text(rss(feed), encoding="utf-8")   # gallium's others
    await app.poll_all(force=True)
    report = await app.deliver()
    assert report.digests == 4 and report.failed == 0
    tops = [m for m in slack_api.messages(CHANNEL) if not m.get("thread_ts")]
    replies = slack_api.replies(CHANNEL, first["ts"])
    assert len(tops) == 2 and len(replies) == 2
    digest = str(tops[1]["blocks"])
    assert digest.count("• ") == 2 and not any(w in digest for w in ("镓", "gallium", "Chipmaking"))
    assert ("俄铝" in digest or "Rusal" in digest) and ("锑" in digest or "antimony" in digest)
    (update,) = slack_api.updated(CHANNEL)
    assert update["ts"] == first["ts"] and "also reported by: Reuters, Trade Press" in update["text"]
    tg = telegram_api.messages(tf.CHAT_ID)
    assert [bool(m["reply_to"]) for m in tg] == [False, False, True, True]
    assert "镓" not in tg[1]["text"] and tg[1]["text"].count("• ") == 2
    assert out.getvalue().count("↳ also: ") == 2
    await app.close()
