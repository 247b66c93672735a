"""Alerts and `test-rules` show their evidence: per rule the few distinct terms that decided
the match, the most specific first, and bold only those (matching/evidence.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from policybot import render, render_slack
from policybot.dryrun import dry_run
from policybot.matching.engine import Engine
from policybot.matching.evidence import (
    EVIDENCE_MAX,
    evidence,
    evidence_hits,
    is_specific,
    uncontained,
)
from policybot.matching.rules import load_rules
from policybot.model import Alert, Hit, Item, Match
from tests.fakes import slack_api as sf

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)

RULES = """\
entities:
  lists: [Entity List, unreliable entity list]
  actions: [add, added, announced, list, listed, added to]
  controls: [出口管制, 两用物项]
  instruments: [法, 条例]
  in-force: [施行, 实施, 生效]
rules:
  - id: listings
    title: Entity List changes
    severity: high
    match: {all: [$lists, $actions]}
  - id: announced-controls
    title: Controls announced
    match: {any: [export control, announced, list]}
  - id: cn-controls
    title: 出口管制变化
    match:
      all: [$controls]
      any: [商务部, {all: [$instruments, $in-force]}]
  - id: talks
    title: 经贸磋商
    match: {any: [经贸磋商共识, 磋商]}
"""


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    (tmp_path / "r.yaml").write_text(RULES, encoding="utf-8")
    return Engine(load_rules([tmp_path / "r.yaml"]).rules)


def alert_for(engine: Engine, title: str, summary: str) -> Alert:
    item = Item("f", "1", title, "https://x.gov/1", summary, "", NOW)
    return Alert("a1", "desk", item, engine.match(item), "Feed")


def bold(segments: tuple[tuple[str, bool], ...]) -> list[str]:
    return [text for text, strong in segments if strong]


# ---------------------------------------------------------------- pure choices

@pytest.mark.parametrize(("term", "specific"), [
    ("Entity List", True), ("rare-earth", True), ("出口管制", True), ("经贸磋商", True),
    ("OFAC", True), ("EAR99", True), ("/exp\\w+/", True),
    ("announced", False), ("list", False), ("add", False), ("法", False), ("关税", False),
    ("US", False), ("Treasury", False),
])
def test_specific_terms(term: str, specific: bool) -> None:
    assert is_specific(term) is specific


def test_evidence_is_distinct_ranked_bounded_and_skips_contained_hits() -> None:
    text = "Entity List: 出口管制 and 出口管制, list, add, announced, dual-use, tariff"
    def hit(term: str, start: int | None = None) -> Hit:
        at = text.index(term) if start is None else start
        return Hit(term, None, "summary", at, at + len(term))
    second = text.index("出口管制", text.index("出口管制") + 1)
    hits = (hit("Entity List"), hit("list", 7), hit("出口管制"), hit("出口管制", second),
            hit("list", text.index("list,")), hit("add"), hit("announced"), hit("dual-use"),
            hit("tariff"))
    match = Match("r", "R", "high", tuple(sorted(hits, key=lambda h: h.start)))
    assert [h.term for h in evidence(match)] == ["Entity List", "出口管制", "dual-use", "announced"]
    assert len(evidence(match)) == EVIDENCE_MAX
    assert [h.term for h in evidence(match, 10)][-1] == "add"     # shortest last
    assert hit("list", 7) not in uncontained(hits)                # inside "Entity List"
    assert [h.term for h in evidence_hits([match])].count("出口管制") == 2   # both bold


# ---------------------------------------------------------------- the engine's deciding hits

def test_common_words_are_not_evidence_when_a_phrase_decided(engine: Engine) -> None:
    alert = alert_for(engine, "Commerce announced it added to the Entity List 12 firms",
                      "The list, announced today, adds firms to the Entity List.")
    by_rule = {m.rule_id: m for m in alert.matches}
    assert [h.term for h in evidence(by_rule["listings"])] == ["Entity List", "added to"]
    # `any: [export control, announced, list]`: only "announced" and "list" held; one decided
    assert [h.term for h in evidence(by_rule["announced-controls"])] == ["announced"]
    console = render.console_message(alert, NOW)
    assert "Entity List changes (listings): Entity List, added to;" in console
    text, blocks = render_slack.slack_message(alert, NOW)
    strong = [e["text"] for e in sf.rich_elements(blocks) if e.get("style")]
    assert "list" not in [s.lower() for s in strong] and "adds" not in strong
    assert strong.count("Entity List") == 1 and "announced" in strong   # the other rule's
    only_listings = Alert("a", "d", alert.item, (by_rule["listings"],), "Feed")
    segments = render.snippet(only_listings.item, only_listings.matches)
    assert bold(segments) == ["Entity List"]      # not "list", "announced" or "adds"
    telegram = render.telegram_message(only_listings, NOW)
    assert "<b>announced</b>" not in telegram and "<b>list</b>" not in telegram


def test_a_cjk_term_found_twice_is_listed_once(engine: Engine) -> None:
    alert = alert_for(engine, "《出口管制法》今起施行",
                      "法律对两用物项实施出口管制。出口管制是国家的权力。")
    (match,) = alert.matches
    assert [h.term for h in evidence(match)] == ["出口管制", "两用物项", "施行", "法"]
    assert "出口管制变化 (cn-controls): 出口管制, 两用物项, 施行, 法" in render.console_message(alert, NOW)
    segments = render.snippet(alert.item, alert.matches)
    assert bold(segments) == ["法", "两用物项", "出口管制", "出口管制"]
    out = dry_run(alert.item, alert.matches)
    assert out.count("'出口管制' in") == 1
    assert "    $controls -> '出口管制' in title, summary" in out


def test_the_snippet_is_taken_around_the_first_evidence_hit(engine: Engine) -> None:
    summary = "The list " + "filler words " * 40 + "and then the Entity List grew; added to it."
    alert = alert_for(engine, "News", summary)
    match = next(m for m in alert.matches if m.rule_id == "listings")
    segments = render.snippet(alert.item, (match,))
    assert segments[0] == ("…", False)                  # "The list" is not evidence
    assert bold(segments) == ["Entity List", "added to"]


# ---------------------------------------------------------------- Slack rich_text

def test_slack_bold_next_to_cjk_is_a_style_not_stars(engine: Engine) -> None:
    alert = alert_for(engine, "中美经贸磋商", "中美经贸磋商共识，双方同意暂停。")
    text, blocks = render_slack.slack_message(alert, NOW)
    assert sf.block_error(blocks) is None
    quote = blocks[-1]
    assert quote["type"] == "rich_text"
    assert quote["elements"][0]["type"] == "rich_text_quote"   # type: ignore[index]
    elements = sf.rich_elements(blocks)
    assert elements == [{"type": "text", "text": "中美"},
                        {"type": "text", "text": "经贸磋商共识", "style": {"bold": True}},
                        {"type": "text", "text": "，双方同意暂停。"}]
    assert text == "🔵 Normal: 中美经贸磋商 (Feed)"    # the fallback stays


def test_feed_text_in_rich_text_stays_literal_text(engine: Engine) -> None:
    summary = "<!channel> @here <@U123> <http://evil|x> *not bold* Entity List added to"
    alert = alert_for(engine, "x", summary)
    text, blocks = render_slack.slack_message(alert, NOW)
    assert sf.block_error(blocks) is None
    elements = sf.rich_elements(blocks)
    assert {e["type"] for e in elements} == {"text"}   # no broadcast, user or link element
    assert "".join(e["text"] for e in elements).startswith("<!channel> @here <@U123>")
    assert "*not bold*" in "".join(e["text"] for e in elements)   # literal: no look-alikes


def test_a_long_snippet_is_cut_to_the_rich_text_bound() -> None:
    summary = "Entity List " + "字" * 20_000
    item = Item("f", "1", "t", None, summary, "", NOW)
    hit = Hit("Entity List", None, "summary", 0, 11)
    alert = Alert("a", "d", item, (Match("r", "R", "high", (hit,)),), "F")
    _, blocks = render_slack.slack_message(alert, NOW)
    assert sf.block_error(blocks) is None
    assert render_slack.block_text_len(blocks[-1]) <= render_slack.RICH_TEXT_MAX


@pytest.mark.parametrize(("block", "problem"), [
    ({"type": "rich_text"}, "rich_text needs elements"),
    ({"type": "rich_text", "elements": [{"type": "section", "elements": [
        {"type": "text", "text": "x"}]}]}, "unknown sub-element"),
    ({"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": []}]},
     "needs elements"),
    ({"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": [
        {"type": "mrkdwn", "text": "x"}]}]}, "unknown element"),
    ({"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": [
        {"type": "text", "text": "x", "style": {"bold": "yes"}}]}]}, "bad style"),
    ({"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": [
        {"type": "text", "text": "x", "style": {"heavy": True}}]}]}, "bad style"),
    ({"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": [
        {"type": "link", "text": "x"}]}]}, "link element needs url"),
    ({"type": "rich_text", "elements": [{"type": "rich_text_quote", "elements": [
        {"type": "text", "text": "x" * 3001}]}]}, "rich_text longer than 3000"),
    ({"type": "rich_text", "elements": [{"type": "rich_text_list", "elements": [
        {"type": "text", "text": "x"}]}]}, "needs style"),
])
def test_the_slack_fake_refuses_malformed_rich_text(block: dict[str, object], problem: str) -> None:
    error = sf.block_error([block])
    assert error is not None and problem in error


NEAR_RULES = """\
entities:
  restrict: [ban, banned, export ban]
  exports: [export, exports, exporting]
rules:
  - id: bans
    match: {all: [graphite, {near: [$restrict, $exports], within: 4}]}
"""


def test_both_sides_of_a_near_are_evidence_one_term_each(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(NEAR_RULES, encoding="utf-8")
    engine = Engine(load_rules([tmp_path / "r.yaml"]).rules)
    item = Item("f", "1", "", None, "Beijing banned exporting graphite; a ban on exports.", "", NOW)
    (match,) = engine.match(item)
    assert [h.term for h in evidence(match)] == ["exporting", "graphite", "banned"]
    assert {h.term for h in match.hits} == {"banned", "exporting", "graphite"}  # not ban, exports


def test_digest_bold_markers_sit_between_spaces_even_for_cjk_rule_titles() -> None:
    item = Item("f", "1", "中美经贸磋商", "https://x.gov/1", "", "", NOW)
    match = Match("talks", "经贸磋商成果", "high", ())
    alerts = [Alert(f"a{i}", "d", item, (match,), "F") for i in range(3)]
    [(text, blocks)] = render_slack.slack_digest(alerts, NOW)
    assert sf.block_error(blocks) is None
    heading = blocks[1]["text"]["text"].splitlines()[0]   # type: ignore[index]
    assert heading == "🟠 *经贸磋商成果* (`talks`) · 3"     # mrkdwn renders: spaces around *


async def test_slack_answers_invalid_blocks_to_a_malformed_rich_text(slack_api: sf.SlackFake) -> None:
    client = AsyncWebClient(token=sf.TOKEN, base_url=slack_api.api_url)
    bad = [{"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": [
        {"type": "text", "text": "稀土", "style": {"bold": "true"}}]}]}]
    with pytest.raises(SlackApiError) as info:
        await client.chat_postMessage(channel="C0123ABCD", text="x", blocks=bad)
    assert info.value.response["error"] == "invalid_blocks"
    good = [{"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": [
        {"type": "text", "text": "稀土", "style": {"bold": True}}]}]}]
    await client.chat_postMessage(channel="C0123ABCD", text="x", blocks=good)
    assert slack_api.messages("C0123ABCD")[0]["blocks"] == good
