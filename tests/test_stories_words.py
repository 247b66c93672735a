"""Stories: the word forms, names and cues drawn from the fresh5-7 sets' errors: one
token for a word's forms, overlapping Chinese words, a quoted name, the glossary in the
cross-language score (but not a notice's heading or a currency), a list's rest, a company's
results and deals, a ministry's act after a colon."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from policybot.model import Item
from policybot.stories import group, titles
from policybot.stories.cues import cues
from policybot.stories.features import GLOSS_STOP, en_tokens, fold, signature, tokens
from policybot.stories.group import Candidate, decide, similarity, specific

NOW = datetime(2024, 5, 8, 12, tzinfo=UTC)


def _sig(key: str, title: str, summary: str = "", hours: float = 0.0) -> group.Signature:
    it = Item("f", key, title, f"https://news.example/{key}", summary, "", NOW - timedelta(hours=hours))
    return signature(it, [], it.published.timestamp() if it.published else 0.0)


def test_a_word_s_forms_are_one_token_but_the_lexicon_s_names() -> None:
    """"revoke", "revokes", "revoked" and "revoking" are one token (the glossary's "revoke" meets
    the English "revokes"); "companies" is "company"; a concept's own name stays as it is."""
    assert len(en_tokens("revoke revokes revoked revoking")) == 1
    assert en_tokens("companies") == en_tokens("company") == {"company"}
    assert en_tokens("measure measures") == {"measur"}
    assert en_tokens("licence crude manganese") == {"licence", "crude", "manganese"}
    assert en_tokens("because they still") == set()     # function words say nothing
    assert en_tokens("rare earth rare-earth earths") == {"rareearth"}    # one concept, one token


def test_overlapping_chinese_words_are_all_found() -> None:
    """"撤销对华为出口许可": 对华 (to China) does not hide 华为 (Huawei); "美国防部" is the US and
    the Pentagon."""
    assert {"huawei", "china"} <= tokens(fold("美撤销对华为出口许可"))
    assert {"us", "pentagon"} <= tokens(fold("美国防部将腾讯列入清单"))
    assert {"gallium", "germanium"} <= tokens(fold("镓锗相关物项8月1日起实施出口管制"))
    assert "lng" in tokens(fold("对美液化天然气加征关税")) and "gas" not in tokens(fold("对美液化天然气加征关税"))


def test_a_name_two_chinese_titles_quote_is_a_key() -> None:
    """Two Chinese reports quoting one list's name ("中国军事企业") share a key beyond their bigrams."""
    a = _sig("a", "【美国防部将腾讯、宁德时代列入“中国军事企业”清单 腾讯称系错误之举】", "", 2)
    b = _sig("b", "外交部：坚决反对美方将中国企业列入所谓“中国军事企业”清单")
    assert "q:中国军事企业" in a.keys & b.keys
    assert specific(b, a) >= group.MIN_SPECIFIC
    assert not any(k.startswith("q:") for k in _sig("c", 'US adds "military companies"').keys)


def test_glossary_words_count_in_the_cross_language_score() -> None:
    """An English and a Chinese report sharing little of the lexicon but much the glossary
    translates score on it (revok, processor, notebook ...); without those words they would not."""
    en = _sig("a", "US revokes Intel and Qualcomm licences to sell chips to Huawei",
              "The move revokes licences used to supply processors for Huawei laptops.", 2)
    zh = _sig("b", "美商务部撤销部分对华为出口许可 涉及高通、英特尔",
              "美国撤销了英特尔、高通向华为供应笔记本电脑处理器的部分出口许可。")
    glossed = en.keys & zh.gloss
    assert glossed, "the glossary translates some of the English keys"
    bare = group.Signature(**{f.name: getattr(zh, f.name) for f in group.Signature.__dataclass_fields__.values()
                              if f.init and f.name != "gloss"})
    assert similarity(zh, en) > similarity(bare, en)
    assert decide(zh, [Candidate("a", en)]).story == "a"


def test_a_notice_s_heading_and_a_currency_are_no_glossary_evidence() -> None:
    """公告 (announcement) and 美元 (dollar) are in every notice and every amount: not evidence."""
    zh = _sig("a", "国务院关税税则委员会关于对原产于美国约600亿美元进口商品实施加征关税的公告")
    assert not zh.gloss & GLOSS_STOP
    assert {"announcement", "dollar"} <= GLOSS_STOP


def test_the_rest_of_a_list_and_a_statute_s_section_are_no_title_numbers() -> None:
    """"YMTC, 35 others" lists 36: "35" is not the act's number to compare with "36 entities";
    "Section 301" and "301调查" name a law, not a count of the act."""
    assert "35" not in titles.title_numbers("U.S. adds China's YMTC, 35 others to trade blacklist")
    assert titles.title_numbers("商务部对韩华海洋在美子公司实施反制 称其协助美301调查") == frozenset()
    assert titles.title_numbers("USTR opens Section 301 probe of 5 firms") == {"5"}
    assert titles.title_numbers("China to Levy 80% Tariff on Barley") == frozenset()   # a percentage: rounded
    a = _sig("a", "Commerce Adds 36 Chinese Entities to Entity List, Including YMTC", "36 entities.", 1)
    b = _sig("b", "U.S. adds China's YMTC, 35 others to trade blacklist", "YMTC and 35 other entities.")
    assert group._apart(b, a) is None


def test_a_company_s_results_deals_and_investments_are_its_own_news() -> None:
    """A company's results or outlook is market news; completing a deal or pledging to invest is a
    company's milestone: neither is the act it follows (a licence revoked, a deal approved, a law
    signed)."""
    approval = _sig("a", "China approves Broadcom's $69 billion VMware deal with conditions",
                    "China's regulator approved Broadcom's acquisition of VMware.", 3)
    done = _sig("b", "Broadcom Completes Acquisition of VMware", "Broadcom completed its acquisition of VMware.")
    assert decide(done, [Candidate("a", approval)]).story is None


def test_a_ministry_s_act_after_a_colon_is_its_own_and_accused_firms_are_no_reaction() -> None:
    """"商务部：对美国…发起调查" is the ministry's act (a colon before a reaction's words is its
    statement); "US Blacklists Chinese Firms Accused of ..." leads with the US acting."""
    assert titles.actors("商务部：对美国相关芯片措施发起反歧视调查") == {"china"}
    assert titles.actors("商务部：美方做法严重违反世贸规则") == frozenset()
    assert titles.actors("US Blacklists Chinese Firms Accused of Buying Chip Tools for Huawei") == {"us"}
    assert titles.actors("US accuses China of dumping steel") == frozenset()


def test_exports_of_several_goods_to_a_state_aim_at_it() -> None:
    """"bans exports of gallium, germanium, antimony to US": the US is the target, as in
    "exports to US"; an answer to "美对华…管制" the same day is another story."""
    assert titles.targets("China bans exports of gallium, germanium, antimony to US") == {"us"}
    assert titles.targets("中国驻加拿大使馆：中方恢复加拿大牛肉、猪肉输华") == frozenset()   # 输华: where goods go
    statement = _sig("a", "商务部新闻发言人就美对华半导体出口管制措施发表谈话", "美方对华半导体出口管制。", 3)
    ban = _sig("b", "China bans exports of gallium, germanium, antimony to US",
               "China banned exports of gallium and germanium to the US, a day after US chip curbs.")
    assert decide(ban, [Candidate("a", statement)]).story is None


def test_items_out_of_the_window_do_not_crowd_out_those_within() -> None:
    """The window keeps items older than the grouping window (reports come late); MAX_NEAR items
    of a sibling event days before, sharing more keys, must not hide the one report of this
    event that shares fewer."""
    from policybot.stories.window import MAX_NEAR, Window
    old = [_sig(f"o{n}", "US raises tariffs on $200 billion of Chinese goods to 25%",
                "Tariffs on $200 billion of Chinese goods rise to 25% from 10%, USTR says; exclusions later.",
                hours=24 * 5) for n in range(MAX_NEAR + 2)]
    notice = _sig("n", "Notice of Modification of Section 301 Action on $200 billion", "25% from 10%.", 1)
    window = Window([Candidate(s.key, s) for s in (*old, notice)])
    item = _sig("b", "U.S. hikes tariffs on $200 billion of Chinese goods to 25%", "From 10% to 25%.")
    assert [c.story for c in window.near(item)] == [notice.key]
    assert len(window.near(item, window=24 * 3600 * 7)) == MAX_NEAR


def test_a_higher_court_s_decision_is_a_step_a_story_carries_only_by_a_title() -> None:
    """The appeals court staying a trade court's ruling the next day is a story of its own, though
    the ruling's reports say the government will go to the appeals court; the Supreme Court's
    justices upholding a law are one story."""
    ruling = _sig("a", "US trade court blocks Trump's 'Liberation Day' tariffs, says he overstepped",
                  "The Court of International Trade ruled the emergency tariffs illegal; the administration "
                  "filed an appeal with the Federal Circuit appeals court.", 20)
    stay = _sig("b", "Appeals court temporarily reinstates Trump's tariffs after trade court ruling",
                "The Federal Circuit granted an administrative stay of the trade court's ruling.")
    assert "appeal" in cues(fold(stay.title)) and "appeal" in ruling.text_cues
    assert decide(stay, [Candidate("a", ruling)]).story is None
    scotus = _sig("c", "Supreme Court upholds TikTok divest-or-ban law", "The justices upheld the law.", 2)
    justices = _sig("d", "Justices uphold TikTok divest-or-ban law as Biden team punts",
                    "The Supreme Court upheld the TikTok law unanimously.")
    assert group._step(justices, [Candidate("c", scotus)]) is None


def test_two_reports_of_a_move_the_same_day_differ_in_figures() -> None:
    """A share move's figures change by the hour ("跌超6%" at the open, "跌逾7%" at the close):
    two market reports within a day are not parted by their numbers; days apart they are."""
    opening = _sig("a", "【腾讯控股港股开盘跌超6% 宁德时代A股低开】", "腾讯控股开盘跌超6%。", 6)
    closing = _sig("b", "腾讯控股收跌逾7% 市值一日蒸发超2700亿港元", "腾讯控股收跌逾7%。")
    assert group._apart(closing, opening) is None
    later = _sig("c", "腾讯控股收跌逾7% 市值一日蒸发超2700亿港元", "腾讯控股收跌逾7%。", -30)
    assert group._apart(later, opening) is not None


def test_more_goods_part_two_acts_of_one_kind() -> None:
    """Oil, gas, drugs, furniture, aircraft and ships are goods a title is about: a 25% tariff on
    buyers of Venezuelan oil and a 25% tariff on cars two days later are two acts (trucks are cars)."""
    oil = _sig("a", "Trump orders 25% tariff on countries that buy Venezuelan oil",
               "Countries importing Venezuelan oil face a 25% tariff on goods sold to the US.", 48)
    cars = _sig("b", "Trump announces 25% tariffs on imported cars and light trucks",
                "A 25% tariff on imported cars and trucks from April 3.")
    assert group._apart(cars, oil) == "subjects car vs oil"
    assert "car" in tokens(fold("Section 232 tariffs on heavy trucks")) and "oil" in tokens(fold("原油出口"))


def test_the_common_words_are_those_a_twentieth_of_trade_reports_say() -> None:
    """COMMON (no specific evidence) is measured, not chosen: each of its words is in at least 5%
    of the English reports of the relevance sets and the dev set."""
    import json

    from bench import eval_stories
    from policybot.stories.lexicon import COMMON
    rows = [json.loads(line) for name in (*eval_stories.CROWD, "stories-dev.jsonl")
            for line in (eval_stories.DATA.parent / name).read_text(encoding="utf-8").splitlines() if line]
    english = [t for r in rows if (t := tokens(fold(f"{r['title']}\n{r.get('summary', '')}"))) and r["lang"] == "en"]
    for word in COMMON:
        assert sum(word in t for t in english) >= 0.05 * len(english), word
    a = _sig("a", "Government announces review of foreign investment in the industry", "Officials said.", 3)
    b = _sig("b", "Department to review foreign investment rules for industry", "Officials said.")
    assert specific(b, a) < group.MIN_SPECIFIC     # only common words shared


def test_in_a_crowd_of_other_events_few_reports_join_them() -> None:
    """A feed is denser than a labelled set: among 5 reports of other events (two years or more
    away) around each item, the items of a studied set seldom join another event's report."""
    from bench import eval_stories
    from policybot.matching.engine import Engine
    from policybot.matching.rules import load_rules
    path, _ = eval_stories.DRAWN_SETS["fresh6"]
    crowd = eval_stories.crowded(eval_stories.load(path), Engine(load_rules([eval_stories.RULES]).rules), 5)
    assert crowd.items == 118 and crowd.joined_other <= 8, crowd
    assert crowd.scores.precision >= 0.95, crowd
    assert eval_stories._far("china-tariffs-2019-05", 2025) and not eval_stories._far("x-2024-01", 2025)


def test_a_step_is_carried_for_the_measure_of_the_title_s_main_clause() -> None:
    """"... with provisional tariffs after probe" needs no report of the story naming the probe."""
    disclosure = _sig("a", "Commission provisionally concludes that EV value chain in China benefits from subsidies",
                      "Provisional countervailing duties of 17.4% for BYD, 20% for Geely and 38.1% for SAIC.", 50)
    report = _sig("b", "Brussels hits Chinese carmakers with provisional tariffs after probe",
                  "Provisional duties of 17.4% for BYD and 38.1% for SAIC on electric cars from China.")
    assert group._step(report, [Candidate("a", disclosure)]) is None


def test_company_names_across_languages() -> None:
    """海康威视 is Hikvision, 宁德时代 CATL, 力拓 Rio Tinto: a trade desk's companies are in the
    lexicon."""
    assert {"hikvision", "catl", "rio"} <= tokens(fold("海康威视 宁德时代 力拓"))
    assert {"hikvision", "rio"} <= tokens(fold("Hikvision and Rio Tinto"))


def test_two_market_reports_moving_opposite_ways_are_two_stories() -> None:
    """"Chinese EDA stocks soar" and "Synopsys, Cadence shares fall" the same day, after the same
    act, are two market stories."""
    assert titles.moves("Chinese chip design software stocks soar as US cuts off EDA") == {"up"}
    assert titles.moves("【EDA概念股盘初拉升 概伦电子涨超15%】") == {"up"}
    assert titles.moves("Synopsys, Cadence shares fall on US curbs") == {"down"}
    up = _sig("a", "Chinese chip design software stocks soar as US cuts off EDA", "EDA stocks.", 2)
    down = _sig("b", "Synopsys, Cadence shares fall after US orders EDA sales halt", "EDA stocks.")
    assert group._apart(down, up) == "moves up vs down in the titles"


# the cue words drawn from the fresh sets' errors: (title, cue, whether the title carries it). A
# company's results, trade data, a trading halt, a move premarket or after hours and futures at
# limit-up are market news; a deal completed, an investment announced, a plant idled company
# news; "provisional" is preliminary, "confirms tariffs" final, "rules against" a result, a
# reversal a suspension. None: a price a report only expects, policy "guidance", figures that
# "defy" a measure, a word others put in quotes, a retaliation suffered, firms ordered to halt
# sales (a restriction, not a measure suspended).
CUE_WORDS = [
    ("Lithium carbonate futures hit limit-up on supply disruption", "market", True),
    ("Intel says Huawei licence revocation will drag second-quarter revenue", "market", True),
    ("阿斯麦三季度财报：订单不及预期", "market", True),
    ("Apple sheds nearly $200 billion in two days on China iPhone curbs", "market", True),
    ("Broadcom completes acquisition of VMware", "company", True),
    ("Micron to invest $40 billion in U.S. chip manufacturing", "company", True),
    ("Micron Announces Historic Investment of $40 Billion in Memory Manufacturing", "company", True),
    ("Ford Idled Chicago Explorer Plant for a Week on Rare-Earth Magnet Shortage", "company", True),
    ("China Warns Firms That Follow US Huawei Chip Guidance", "market", False),
    ("Asia-Pacific markets mostly rise as traders cheer US court ruling", "market", True),
    ("25%汽车关税来袭：日韩德车企首当其冲，美国车价或上涨数千美元", "market", False),
    ("Car prices could jump by thousands under Trump's auto tariffs", "market", False),
    ("汽车股普跌 车价上涨", "market", True),
    ("【海关总署：5月出口同比增长6.3%（人民币计）】", "market", True),
    ("China's exports rose 8.1% in April, beating forecasts", "market", True),
    ("Treasury Wine halts shares after China blow", "market", True),
    ("NYSE flips again, will delist Chinese telecom companies", "suspension", True),
    ("关税禁令一日反转：上诉法院行政暂停意味着什么", "suspension", True),
    ("China's exports defy tariffs as ASEAN trade surges", "retaliation", False),
    ("Lithuania defies China with Taiwan office", "retaliation", True),
    ("EU imposes provisional anti-dumping duties on Chinese TiO2", "preliminary", True),
    ("欧盟对华生物柴油临时反倾销税落地", "preliminary", True),
    ("China confirms tariffs of up to 218% on Australian wine for five years", "final", True),
    ("WTO panel rules against Indonesia's nickel ore export ban", "result", True),
    ("四家澳企牛肉被暂停输华 澳媒炒作“报复”", "retaliation", False),
    ("USDA Assists Farmers Impacted by Unjustified Retaliation", "retaliation", False),
    ("Qualcomm stock drops premarket after China opens antitrust probe", "market", True),
    ("英伟达盘后涨约2% 特朗普放行H200对华销售", "market", True),
    ("US orders chip design software makers to halt sales to China", "suspension", False),
    ("路透：美商务部要求台积电停止向中国大陆供应先进AI芯片", "suspension", False),
    ("US suspends tariff increase on Chinese goods", "suspension", True),
]


@pytest.mark.parametrize(("title", "cue", "carried"), CUE_WORDS)
def test_the_cue_words_drawn_from_the_fresh_sets(title: str, cue: str, carried: bool) -> None:
    assert (cue in cues(fold(title))) is carried
