"""Stories, the pure parts: canonical links, features, the grouping decision, and its
precision on the labelled dev set (STORIES.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bench import eval_stories
from policybot.model import Item
from policybot.stories import group
from policybot.stories.canon import MAX_UNWRAP, canonical_link, identity_keys
from policybot.stories.features import clean_title, fold, numbers, signature
from policybot.stories.group import Candidate, blocked, decide
from policybot.stories.stage import group_items

NOW = datetime(2025, 7, 3, 12, tzinfo=UTC)


def item(key: str, title: str, summary: str = "", hours: float = 0.0, link: str | None = None) -> Item:
    return Item("f", key, title, link or f"https://news.example/{key}", summary, "",
                NOW - timedelta(hours=hours))


@pytest.mark.parametrize(("link", "canon"), [
    ("HTTPS://WWW.Reuters.COM:443/a/b?utm_source=rss&id=3&fbclid=x#top", "https://www.reuters.com/a/b?id=3"),
    ("https://ft.example/x?gclid=1&utm_medium=email&UTM_campaign=y", "https://ft.example/x"),
    ("http://a.example:8080/p?page=2&q=1", "http://a.example:8080/p?page=2&q=1"),
    ("https://news.google.com/rss/articles/CBM?url=https%3A%2F%2Fwww.ft.example%2Fc%2F1%3Futm_source%3Dgn&hl=en",
     "https://www.ft.example/c/1"),
    ("https://l.facebook.com/l.php?u=https%3A%2F%2Fa.example%2Fstory&h=AT0", "https://a.example/story"),
    ("https://a.example", "https://a.example/"),
    ("mailto:x@example.com", "mailto:x@example.com"),
])
def test_canonical_links(link: str, canon: str) -> None:
    assert canonical_link(link) == canon


def test_redirector_layers_are_bounded() -> None:
    link = "https://final.example/a"
    for _ in range(MAX_UNWRAP + 2):
        link = f"https://news.google.com/x?url={link.replace(':', '%3A').replace('/', '%2F')}"
    assert canonical_link(link).startswith("https://news.google.com/")


def test_identity_keys_guid_and_link() -> None:
    assert identity_keys("urn:x:1", "https://a.example/p?utm_source=x") == (
        "link:https://a.example/p", "guid:urn:x:1")
    assert identity_keys("https://a.example/p#c", "https://a.example/p") == ("link:https://a.example/p",)


def test_numbers_are_the_same_across_languages() -> None:
    en = numbers(fold("impose 10% tariff on $300 billion of goods from September 1 under No. 18"))
    zh = numbers(fold("9月1日起对3000亿美元商品加征10％关税 公告2025年第18号"))
    assert {"pct:10", "amt:3e+11", "date:9-1", "no:18"} <= en & zh


def test_outlet_suffix_is_dropped() -> None:
    assert clean_title("US lifts sanctions on Rusal - Reuters") == "US lifts sanctions on Rusal"
    assert clean_title("Trade-war - a primer") == "Trade-war"


def _sig(it: Item) -> group.Signature:
    return signature(it, [], it.published.timestamp() if it.published else 0.0)


def test_final_after_preliminary_is_a_different_story() -> None:
    pre = _sig(item("p", "EU sets preliminary anti-dumping duties of 24.6% on Chinese gallium wafers",
                    "Preliminary duties on gallium arsenide wafers from China.", hours=30))
    final = _sig(item("f", "EU sets final anti-dumping duties of 24.6% on Chinese gallium wafers",
                      "Definitive duties on gallium arsenide wafers from China."))
    assert blocked(pre, final) == "'final' in one report only"
    decision = decide(final, [Candidate("p", pre)])
    assert decision.story is None and "blocked by 'final'" in decision.why


def test_english_and_chinese_reports_join_and_explain_why() -> None:
    en = _sig(item("a", "China imposes export controls on gallium and germanium from August 1 - Reuters",
                   "The commerce ministry will control gallium and germanium exports from August 1 "
                   "under announcement No. 23 of 2025; exporters need licences.", hours=3))
    zh = _sig(item("c", "商务部 海关总署公告2025年第23号 关于对镓、锗相关物项实施出口管制的公告",
                   "决定自2025年8月1日起对镓、锗相关物项实施出口管制，出口经营者应申请出口许可。"))
    decision = decide(zh, [Candidate("a", en)])
    assert decision.story == "a"
    assert decision.why.startswith("joins a (shared: numbers 08-01, No. 23; tokens gallium, germanium")


def test_outside_the_window_nothing_joins() -> None:
    old = _sig(item("a", "China imposes export controls on gallium and germanium from August 1",
                    "Announcement No. 23: gallium and germanium export controls from August 1.", hours=80))
    new = _sig(item("b", "China imposes export controls on gallium and germanium from August 1",
                    "Announcement No. 23: gallium and germanium export controls from August 1."))
    assert decide(new, [Candidate("a", old)]).story is None
    assert decide(new, [Candidate("a", old)], window=100 * 3600).story == "a"


def test_group_items_copies_join_their_original_and_off_means_alone() -> None:
    items = [item("a", "Gallium curbs", link="https://a.example/x"),
             item("b", "Gallium curbs (copy)", link="https://A.example/x?utm_source=feed#top")]
    assert group_items(items, [[], []]) == [("a", "new (nothing similar in the window)"),
                                            ("a", "same item as a (same link or guid)")]
    assert [s for s, _ in group_items(items, [[], []], None)] == ["a", "a"]


# recall reached on the dev set less ~0.03, per part (0.923 overall, 0.926 tune, 0.914 holdout,
# since the words a twentieth of trade reports say are no specific evidence: 0.942 before; 0.901,
# 0.883, 0.943 before the glossary counted in the cross-language score)
RECALL_FLOORS = {None: 0.89, "tune": 0.89, "holdout": 0.88}


@pytest.mark.parametrize("part", list(RECALL_FLOORS))
def test_dev_set_precision_and_recall_floors(part: str | None) -> None:
    """False merges are the worse error: precision on the dev set (and inside sibling groups)
    stays at or above 0.97, on the tuned and on the held-out groups, and recall does not fall
    back (it was 0.63 before the story-scoped step cues, 0.12 before language-aware thresholds)."""
    scores = eval_stories.evaluate(part=part)
    assert scores.precision >= 0.97, (part, scores)
    assert scores.sibling_precision >= 0.97, (part, scores)
    assert scores.recall >= RECALL_FLOORS[part], (part, scores)


def test_scores_count_pairs_and_bcubed() -> None:
    rows = [{"id": "1", "story": "s", "group": "g"}, {"id": "2", "story": "s", "group": "g"},
            {"id": "3", "story": "t", "group": "g"}]
    merged = eval_stories.score(rows, {"1": "x", "2": "x", "3": "x"})
    assert (round(merged.precision, 3), merged.recall, merged.sibling_pairs) == (0.333, 1.0, 2)
    alone = eval_stories.score(rows, {"1": "1", "2": "2", "3": "3"})
    assert (alone.precision, alone.recall) == (1.0, 0.0)


def test_window_bounds_postings_and_candidates() -> None:
    from policybot.stories.window import MAX_NEAR, MAX_POSTING, Window
    window = Window()
    base = _sig(item("x", "Gallium germanium antimony curbs No. 23 from August 1", "gallium germanium"))
    for n in range(MAX_POSTING + 50):
        window.add(Candidate(f"s{n}", base))
    assert all(len(ids) <= MAX_POSTING for ids in window._postings.values())
    near = window.near(base)
    assert len(near) == MAX_NEAR and near[-1].story == f"s{MAX_POSTING + 49}"   # the newest
    window.prune(base.when + 1)
    assert len(window) == 0 and window.near(base) == []


def test_window_looks_up_the_rarest_keys() -> None:
    from dataclasses import replace

    from policybot.stories.window import MAX_KEYS, MAX_POSTING, Window
    common = frozenset(f"common{n}" for n in range(5))
    rare = frozenset(f"rare{n}" for n in range(MAX_KEYS))
    base = _sig(item("x", "Gallium curbs"))
    window = Window()
    for n in range(MAX_POSTING):            # the common keys' posting lists are full
        window.add(Candidate(f"c{n}", replace(base, keys=common)))
    window.add(Candidate("rare", replace(base, keys=rare)))
    near = window.near(replace(base, keys=common | rare))
    assert [c.story for c in near] == ["rare"]     # the common keys were not looked up


def test_titles_that_differ_in_their_numbers_are_two_acts() -> None:
    """"notice 1" and "notice 2" (and 25% vs 30%) share every word but are different acts;
    a year both carry is no such number."""
    first = _sig(item("a", "Rare earth export control notice 1", "Rare earth export control notice."))
    second = _sig(item("b", "Rare earth export control notice 2", "Rare earth export control notice.", 1))
    assert blocked(first, second) == "numbers 1 vs 2 in the titles"
    assert decide(second, [Candidate("a", first)]).story is None
    same_year = _sig(item("c", "Rare earth export control notice 2025", "Rare earth export control notice.", 2))
    assert blocked(_sig(item("d", "Rare earth export control notice", "Rare earth export control notice.")),
                   same_year) is None


def test_a_date_in_a_title_is_no_act_number() -> None:
    """"8月1日起" or "from August 1" dates a notice; it is not a second notice's number."""
    notice = _sig(item("a", "商务部公告2023年第23号 镓锗出口管制", "商务部公告2023年第23号，镓锗出口管制。"))
    dated = _sig(item("b", "镓锗出口管制8月1日起实施", "商务部公告2023年第23号，镓锗出口管制8月1日起实施。", 1))
    assert blocked(notice, dated) is None
    en = _sig(item("c", "Gallium controls notice 23", "Gallium controls notice 23."))
    en_dated = _sig(item("d", "Gallium controls from August 1", "Gallium controls notice 23.", 1))
    assert blocked(en, en_dated) is None
    other = _sig(item("e", "Gallium controls notice 24", "Gallium controls notice 24.", 1))
    assert blocked(en, other) is not None


def test_titles_naming_different_measures_are_two_stories() -> None:
    """A tariff truce and an entity-list suspension under it share the day, the deal and the
    90 days, but are two stories (STORIES.md: measures of different kinds)."""
    truce = _sig(item("a", "Reset hailed after Geneva tariff truce for 90 days",
                      "The US and China suspend most tariffs for 90 days under the Geneva deal."))
    listing = _sig(item("b", "China suspends unreliable entity measures for 90 days under Geneva deal",
                        "China suspends unreliable entity list measures for 90 days under the Geneva deal.", 1))
    assert blocked(truce, listing) == "measures tariff vs entity in the titles"
    assert decide(listing, [Candidate("a", truce)]).story is None
    again = _sig(item("c", "Geneva tariff truce: US and China cut tariffs for 90 days",
                      "The US and China suspend most tariffs for 90 days under the Geneva deal.", 2))
    assert blocked(truce, again) is None


def test_much_shared_evidence_joins_despite_a_low_score() -> None:
    """Two long reports that share STRONG_SHARED names (and say much else each) are one story;
    with one name fewer they stay apart at a low score; a veto still forbids the join."""
    names = ["Rusal", "Deripaska", "EuroSibEnergo", "Mnuchin", "Glencore", "Vekselberg", "Krasnoyarsk",
             "Sayanogorsk"][:group.STRONG_SHARED]
    filler_a = " ".join(f"alpha{chr(97 + i // 26)}{chr(97 + i % 26)}" for i in range(40))
    filler_b = " ".join(f"beta{chr(97 + i // 26)}{chr(97 + i % 26)}" for i in range(40))
    first = _sig(item("a", "Treasury lifts curbs", f"{' '.join(names)} {filler_a}", hours=5))
    second = _sig(item("b", "Relief for the smelter group", f"{' '.join(names)} {filler_b}"))
    assert group.similarity(second, first) < group.JOIN_SCORE
    assert decide(second, [Candidate("a", first)]).story == "a"
    fewer = _sig(item("c", "Relief for the smelter group", f"{' '.join(names[:-1])} {filler_b}"))
    assert decide(fewer, [Candidate("a", first)]).story is None
    paused = _sig(item("d", "Relief for the smelter group paused", f"{' '.join(names)} {filler_b}"))
    assert decide(paused, [Candidate("a", first)]).why.startswith("new (closest a: blocked by 'suspension'")


def test_a_date_after_another_number_is_still_found() -> None:
    """"levies from 25 March": the word before the day does not hide the date (only month
    names start a date)."""
    assert "date:3-25" in numbers(fold("levies 25 March"))
    assert "date:8-1" in numbers(fold("duty 25 from Aug. 1"))
    assert not any(n.startswith("date:") for n in numbers(fold("tariff 25 percent on 300 items")))


def test_reports_close_in_time_need_less_to_join() -> None:
    """An English and a short Chinese report sharing a good and a company: one story when hours
    apart, two when more than CLOSE apart (siblings are mostly days apart)."""
    zh = _sig(item("b", "日本首次批准向三星出口光刻胶", "日本首次批准向三星出口光刻胶。"))
    assert zh.lang == "zh"    # two runs of Chinese are Chinese
    for hours, joins in ((5, True), (group.CLOSE / 3600 + 18, False)):
        en = _sig(item("a", "Japan approves first photoresist shipment to Samsung",
                       "Japan approved the first export of photoresist, a chip material, to Samsung.",
                       hours=hours))
        assert group.JOIN_SCORE_CROSS * group.CLOSE_FACTOR <= group.similarity(zh, en) < group.JOIN_SCORE_CROSS
        assert (decide(zh, [Candidate("a", en)]).story == "a") is joins, hours


def test_a_shared_plain_number_is_evidence_across_languages() -> None:
    """"23 Chinese entities" and "23家中国实体": the number is, with SMIC, what the two share
    (the rest are states and measure words); with 24 in one of them, no join (one shared key
    across languages is too little: "rare earth export control" in two titles is not enough)."""
    en = _sig(item("a", "US adds 23 Chinese entities including SMIC to its Entity List",
                   "The Commerce Department added 23 Chinese companies, SMIC among them, to the Entity List.",
                   hours=3))
    zh = _sig(item("b", "美方将23家中国实体列入实体清单 含中芯国际", "美国商务部将23家中国实体列入实体清单，中芯国际在列。"))
    assert {k for k in zh.keys if not k.startswith("zh:")} == {"n:23", "smic"}
    assert decide(zh, [Candidate("a", en)]).story == "a"
    other = _sig(item("c", "美方将24家中国实体列入实体清单 含中芯国际", "美国商务部将24家中国实体列入实体清单，中芯国际在列。"))
    assert decide(other, [Candidate("a", en)]).story is None
    thin = _sig(item("d", "商务部：对稀土相关物项实施出口管制", ""))
    assert decide(_sig(item("e", "Rare earth export control", "rare earth", 1)), [Candidate("d", thin)]).story is None


def _items(*specs: tuple[str, str, str, float]) -> list[group.Signature]:
    return [_sig(item(key, title, summary, hours)) for key, title, summary, hours in specs]


NOTICE = ("China imposes gallium and germanium export controls under announcement No. 23 - Reuters",
          "The commerce ministry will control gallium and germanium exports under announcement No. 23; "
          "the export controls take effect on August 1 and exporters need licences.")


def test_a_step_the_story_already_carries_does_not_part_it() -> None:
    """The first report says the controls take effect August 1: a later report titled so is the
    same story; a suspension the story never mentions is a step of its own, also a day later."""
    first, in_force, paused = _items(("a", *NOTICE, 30),
                                     ("b", "Gallium and germanium export controls take effect August 1",
                                      "Announcement No. 23: gallium and germanium export controls.", 10),
                                     ("c", "China suspends gallium and germanium export controls",
                                      "Announcement No. 23 on gallium and germanium export controls "
                                      "is suspended.", 0))
    assert blocked(first, in_force) is None
    assert decide(in_force, [Candidate("a", first)]).story == "a"
    decision = decide(paused, [Candidate("a", first), Candidate("a", in_force)])
    assert decision.story is None
    assert "blocked by 'suspension' in this title, not in the story" in decision.why


def test_a_step_is_carried_only_for_the_measure_the_title_names() -> None:
    """Both speak of suspending, but the story suspends tariffs: a suspension of entity-list
    measures under the same deal is another story ("per measure")."""
    truce = _sig(item("a", "US and China agree Geneva deal for 90 days",
                      "The US and China will suspend most of their tariffs for 90 days under the deal "
                      "reached in Geneva on May 12.", hours=30))
    listing = _sig(item("b", "China suspends unreliable entity measures on US firms for 90 days",
                        "Under the Geneva deal of May 12, China suspends its unreliable entity measures "
                        "on US firms for 90 days."))
    tariffs = _sig(item("c", "China suspends tariffs on US goods for 90 days under Geneva deal",
                        "Under the Geneva deal of May 12, China suspends most of its tariffs on US goods "
                        "for 90 days.", hours=1))
    assert "not in the story" in decide(listing, [Candidate("a", truce)]).why
    assert decide(tariffs, [Candidate("a", truce)]).story == "a"


def test_a_vowed_response_is_a_reaction_not_a_retaliation() -> None:
    """"Lula says Brazil will respond in kind" is quoted in the tariff's own story; "China hits
    back with tariffs" names a retaliation taken; a subordinate clause is context."""
    from policybot.stories.cues import cues
    assert "retaliation" not in cues(fold("美国宣布对巴西商品征收50%关税 卢拉称将对等回应"))
    assert "retaliation" not in cues(fold("Beijing vowed to retaliate against the levies"))
    assert "retaliation" in cues(fold("China hits back at US tariffs with levies on coal"))
    halt = _sig(item("a", "Congo halts cobalt exports for four months as prices slump", "Cobalt."))
    assert halt.cues == {"suspension"} and "market" in halt.text_cues
    assert _sig(item("b", "Cobalt prices languish near decade lows", "Cobalt.")).cues == frozenset()
    assert _sig(item("c", "Cobalt shares jump on Congo export halt", "Cobalt.")).cues >= {"market"}


def test_in_the_first_hours_a_step_cue_parts_nothing_but_a_retaliation() -> None:
    """An act's exemptions are reported with it: the day of the first report "exempts" is the
    same story (STEP_GAP or more later too: the act's own exemptions); the next day it would be a
    step; a retaliation is one at any hour unless it shares the story's own goods and numbers."""
    first = _sig(item("a", "Trump adjusts copper imports under Section 232 proclamation",
                      "A 50% tariff on semi-finished copper products from August 1 under Section 232; "
                      "copper cathodes and concentrates are not covered.", hours=10))
    exempts = "Trump exempts refined copper from Section 232 tariff on semi-finished products"
    summary = "The 50% Section 232 tariff on semi-finished copper products starts August 1."
    soon = _sig(item("b", exempts, summary, hours=9))
    later = _sig(item("c", exempts, summary, hours=10 - group.STEP_GAP / 3600 - 1))
    next_day = _sig(item("c", exempts, summary, hours=10 - group.CLOSE / 3600 - 1))
    assert decide(soon, [Candidate("a", first)]).story == "a"
    assert decide(later, [Candidate("a", first)]).story == "a"
    assert decide(next_day, [Candidate("a", first)]).story is None
    back = _sig(item("d", "Chile hits back with 25% tariffs on US soybeans and cars",
                     f"Chile will levy 25% tariffs on US soybeans and cars. {summary}", hours=9))
    assert "'retaliation'" in decide(back, [Candidate("a", first)]).why
    levies = _sig(item("e", "中方对美煤炭、液化天然气加征15%关税 2月10日起实施",
                       "自2月10日起对原产于美国的煤炭、液化天然气加征15%关税，对原油、农业机械加征10%关税。",
                       hours=9))
    own = _sig(item("f", "China hits back with levies on US coal and LNG",
                    "Tariffs of 15% on US coal and LNG and 10% on crude oil from February 10.", hours=8))
    assert decide(own, [Candidate("e", levies)]).story == "e"   # the retaliation is the story itself


def test_numbers_of_different_kinds_in_titles_are_no_veto_and_a_preliminary_is_a_result() -> None:
    notice = _sig(item("a", "商务部公告2023年第23号 镓锗出口管制", "镓、锗相关物项实施出口管制。"))
    count = _sig(item("b", "镓锗出口管制8月1日起实施 涉及14种产品", "镓、锗相关物项出口管制。", 1))
    assert blocked(notice, count) is None
    again = _sig(item("c", "商务部公告2023年第24号 镓锗出口管制", "镓、锗相关物项实施出口管制。", 1))
    assert blocked(notice, again) == "numbers 23 vs 24 in the titles"
    small = _sig(item("f", "Rare earth export control notice 3"))
    large = _sig(item("g", "Rare earth export control notice 12"))
    assert blocked(small, large) == "numbers 3 vs 12 in the titles"   # a small number is a plain one too
    pre = _sig(item("d", "Regulator says Nvidia broke antitrust law in preliminary probe findings",
                    "Preliminary findings: Nvidia broke the antitrust law in the Mellanox deal.", 10))
    found = _sig(item("e", "Nvidia found to have broken antitrust law, determination says",
                      "Preliminary findings: Nvidia broke the antitrust law in the Mellanox deal.", 1))
    assert group._step(found, [Candidate("d", pre)]) is None


# the extra set (tests/data/stories-extra.jsonl) was written after the tuning, independently:
# precision 0.849 and recall 0.537 before the general rules it prompted, 0.973 and 0.755 after,
# 1.000 and 0.793 after the precision-first rules (targets, advice, specific evidence when
# close), 0.851 after the common words of statements (trading partners, suppliers, compliant,
# manufacturing, technology) and the lower strong-evidence bar; floors: recall reached less
# ~0.03, per part (0.851 overall, 0.830 tune, 0.927 holdout)
EXTRA_RECALL_FLOORS = {None: 0.85, "tune": 0.84, "holdout": 0.89}   # (0.888, 0.878, 0.927 now)
EXTRA_ITEMS = {None: 115, "tune": 90, "holdout": 25}


@pytest.mark.parametrize("part", list(EXTRA_RECALL_FLOORS))
def test_extra_set_precision_and_recall_floor(part: str | None) -> None:
    """The grouping generalises beyond the set it was tuned on: on the independent extra set
    (no event shared with the dev set) precision stays at or above 0.97, overall and inside
    sibling groups, on every part, and recall does not fall back below what the general rules
    reached."""
    scores = eval_stories.evaluate(data=eval_stories.EXTRA, part=part)
    assert scores.items == EXTRA_ITEMS[part]
    assert scores.precision >= 0.97, (part, scores)
    assert scores.sibling_precision >= 0.97, (part, scores)
    assert scores.recall >= EXTRA_RECALL_FLOORS[part], (part, scores)


def test_chinese_titles_meet_through_bigrams_outside_the_lexicon() -> None:
    """"笔记本电脑" is no word of the lexicon: two Chinese reports of one event share only "印度"
    as a key, but MIN_PAIRS or more bigrams of their titles count as one more (the window finds
    the earlier one by them too). Formulaic words and function characters ("关于将 ... 的公告")
    make no such key."""
    from policybot.stories.window import Window
    a = _sig(item("a", "印度突然限制笔记本电脑和平板进口", "印度政府宣布即日起笔记本电脑和平板电脑进口须持许可证。",
                  hours=2))
    b = _sig(item("b", "印度笔记本电脑和平板进口改为许可制", "笔记本电脑、平板电脑进口须申请许可证，即日起执行。"))
    assert {k for k in a.keys & b.keys if not k.startswith("zh:")} == {"india"}
    assert len({k for k in a.keys & b.keys if k.startswith("zh:")}) >= group.MIN_PAIRS
    assert group.specific(a, b) == group.MIN_SPECIFIC
    assert Window([Candidate("a", a)]).near(b) == [Candidate("a", a)]
    assert decide(b, [Candidate("a", a)]).story == "a"
    notice = _sig(item("c", "关于将10家美国企业列入不可靠实体清单的公告", ""))
    other = _sig(item("d", "关于将28家美国实体列入出口管制管控名单的公告", ""))
    assert len({k for k in notice.keys & other.keys if k.startswith("zh:")}) < group.MIN_PAIRS
