"""Stories: the rules drawn from the fresh13-14 sets' errors: a spokesperson's answer joins the
act it names, agencies act for their state, the other states' adjectives and Chinese names,
a count in 万, NdPr as one concept, share prices as market news, a final naming its preliminary."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from policybot.model import Item
from policybot.stories import group, titles
from policybot.stories.cues import signature_cues
from policybot.stories.features import en_tokens, fold, lead, numbers, signature, tokens
from policybot.stories.group import Candidate, decide
from policybot.stories.window import Window
from tests.test_e2e_stories import run_test_rules

NOW = datetime(2025, 9, 13, 3, tzinfo=UTC)
ACT = ("US adds 23 Chinese entities to trade blacklist, including firms supplying SMIC",
       "The Commerce Department added 23 Chinese firms to its Entity List on Friday.")
ANSWER = ("商务部新闻发言人就美方将23家中国实体列入实体清单答记者问",
          "商务部新闻发言人表示，中方对此坚决反对，将采取必要措施，坚决维护中国企业正当权益。")


def _sig(key: str, title: str, summary: str = "", hours: float = 0.0) -> group.Signature:
    it = Item("f", key, title, f"https://news.example/{key}", summary, "", NOW - timedelta(hours=hours))
    return signature(it, [], it.published.timestamp() if it.published else 0.0)


def test_a_spokesperson_s_answer_joins_the_act_it_names() -> None:
    """The answer shares no specific key with the act (a count, generic words), but its topic
    (us, entity; 实体清单 is the entity list, a "trade blacklist") is the act's title: the window
    finds the act by its title's concepts, and the answer joins it."""
    act, answer = _sig("act", *ACT, hours=5), _sig("answer", *ANSWER)
    assert titles.topic(answer.title) == {"us", "entity"}
    assert titles.topic("商务部新闻发言人就美方将37家中国实体列入出口管制管控名单答记者问") == {"us", "entity"}
    assert titles.topic("商务部贸易救济调查局负责人就欧盟对华玻璃纤维织物反补贴终裁发表谈话") == {"eu", "countervailing"}
    assert group.specific(answer, act) < group.MIN_SPECIFIC_CROSS     # no key would join them
    window = Window([Candidate(act.key, act)])
    decision = decide(answer, window.near(answer))
    assert decision.story == act.key, decision.why
    assert decision.why == f"joins {act.key} (an answer on the act its title names: entity, us; score 1.00)"


def test_test_rules_shows_an_answer_joining_the_act(tmp_path: Path) -> None:
    """`bot.py test-rules` on one evening: the act in English, another US act the same evening,
    then the ministry's answer naming the listing: the answer is the listing's story, and
    `--explain` says it joined as an answer."""
    rows = [{"id": "act", "published": "2025-09-12T21:30:00Z", "title": ACT[0], "summary": ACT[1]},
            {"id": "other", "published": "2025-09-12T22:10:00Z",
             "title": "US raises tariffs on Chinese solar wafers to 50%",
             "summary": "The USTR raised Section 301 tariffs on Chinese solar wafers and polysilicon."},
            {"id": "answer", "published": "2025-09-13T02:40:00Z", "title": ANSWER[0], "summary": ANSWER[1]}]
    run = run_test_rules(tmp_path, rows, "rules:\n  - id: china\n    title: China\n"
                                         "    match: {any: [chinese, 中国, china]}\n")
    assert [json.loads(line)["story"] for line in run("--json").splitlines()] == ["act", "other", "act"]
    assert "an answer on the act its title names: entity, us" in run("--explain")


@pytest.mark.parametrize(("title", "act_title"), [
    # China's own controls answered on: news of their own, not an earlier report's act
    ("商务部新闻发言人就稀土相关物项出口管制答记者问", "China issues temporary rare earth export licences"),
    # a specific word of the topic the act does not name: "reciprocal" is no safeguard tariff
    ("商务部新闻发言人就美国宣布所谓“对等关税”发表谈话", "US imposes safeguard tariffs on imported solar panels"),
    # an earlier reaction is no act
    ("商务部新闻发言人就美方将多家中国实体列入出口管制实体清单答记者问", "赵立坚回应美方新增实体清单：坚决反对"),
    # a market report is no act
    ("商务部新闻发言人就美对华半导体出口管制措施发表谈话", "US chip export controls on China send Nvidia shares tumbling"),
])
def test_an_answer_joins_no_report_that_is_not_the_act(title: str, act_title: str) -> None:
    answer, other = _sig("answer", title, "发言人表示，中方坚决反对。"), _sig("other", act_title, "", 5)
    assert decide(answer, [Candidate(other.key, other)]).story is None


def test_a_later_act_is_never_what_an_answer_answers() -> None:
    answer, act = _sig("answer", *ANSWER, hours=5), _sig("act", *ACT)
    assert decide(act, [Candidate(answer.key, answer)]).story is None


@pytest.mark.parametrize(("title", "state"), [
    ("USTR Formally Delays List 3 Tariff Increase", "us"), ("BIS adds 11 entities", "us"),
    ("OFAC sanctions refinery", "us"), ("Treasury sanctions over 300 targets alongside G7", "us"),
    ("七国集团广岛峰会发表对乌声明", "g7"), ("MOFCOM announces export controls on graphite", "china"),
    ("MIIT sets first batch of rare earth quotas", "china"),
])
def test_an_agency_acts_for_its_state(title: str, state: str) -> None:
    assert titles.actors(title) == {state}


@pytest.mark.parametrize(("title", "state"), [
    ("Trump ends trade talks with Canada over digital services tax", {"us"}),   # a leader: his state
    ("【拜登宣布禁止进口俄罗斯能源产品】", {"us"}),
    ("Vietnam, US agree on joint statement on reciprocal trade", {"vietnam", "us"}),   # each partner
    ("Poland, Hungary and Slovakia impose bans on Ukrainian grain", {"poland", "hungary", "slovakia"}),
    ("French lawmakers approve digital tax despite U.S. probe", {"france"}),
    ("中美经贸磋商在吉隆坡举行 双方形成初步共识", {"china", "us"}),     # a pair of states leading: both
    ("中方回应美方加征关税", set()),
    ("Dutch government takes control of Chinese-owned chipmaker Nexperia", {"netherlands"}),
    ("Japanese chipmakers slump on new curbs", set()),     # an industry is no state acting
    ("Chinese regulators slam US move", set()),            # a reaction
])
def test_a_state_s_adjective_and_an_institution_act_for_it(title: str, state: set[str]) -> None:
    assert titles.actors(title) == state


def test_two_pacts_of_one_state_with_two_others_are_two_stories() -> None:
    """The US's deal with Malaysia and its consensus with China, in Kuala Lumpur the same day."""
    a = _sig("a", "US, Malaysia sign reciprocal trade agreement during Trump visit", "", 4)
    b = _sig("b", "中美经贸磋商在吉隆坡举行 双方形成初步共识")
    assert group._apart(a, b) == "acted by malaysia vs china in the titles"


def test_the_other_states_adjectives_capitals_and_chinese_names_are_the_state() -> None:
    assert en_tokens("malaysian malaysia kuala") >= {"malaysia"}
    assert len(en_tokens("malaysian malaysia")) == 1
    assert en_tokens("turkish ankara") == {"turkey"}
    assert {"malaysia", "turkey", "asean"} <= tokens(fold("马来西亚、土耳其与东盟"))
    assert {"us", "eu"} <= tokens(fold("美欧航空补贴争端休战五年"))    # a pair of states: both
    assert {"china", "japan"} <= tokens(fold("中日韩自贸区"))


def test_a_title_s_subjects_are_its_main_clause_s() -> None:
    """"... as Europe's carmakers wait" names no car of the title's own; a title naming no
    subject in its main clause has those of the rest."""
    assert titles.parts("Beijing signals faster rare earth approvals as Europe's carmakers wait",
                        frozenset({"rareearth", "car"}), frozenset())[0] == {"rareearth"}
    assert titles.parts("Prices jump as steel tariffs bite", frozenset({"steel"}), frozenset())[0] == {"steel"}


def test_goods_of_one_kind_are_no_different_subjects() -> None:
    """"提高对华多晶硅、硅片及钨产品301关税" and "solar wafers, polysilicon": one kind of goods;
    rare earths and soybeans are not, nor rare earths and magnets (licences for one are not for
    the other: fresh28)."""
    a = _sig("a", "USTR raises Section 301 tariffs on Chinese solar wafers and tungsten", "", 2)
    b = _sig("b", "【美国贸易代表办公室宣布提高对华硅片及钨产品301关税】")
    assert group._apart(a, b) is None
    e = _sig("e", "Dutch wholesale gas prices fall on warmer weather", "", 2)
    f = _sig("f", "EU gas prices slide as storage fills")
    assert group._apart(e, f) is None      # an EU member's market is the EU's ...
    g = _sig("g", "Germany bans Chinese steel", "", 2)
    h = _sig("h", "Netherlands bans Chinese steel")
    assert group._apart(g, h) == "subjects germany vs netherlands"     # ... but two members are two
    c = _sig("c", "China halts soybean purchases", "", 2)
    d = _sig("d", "China halts rare earth exports")
    assert group._apart(c, d) == "subjects soybean vs rareearth"
    m = _sig("m", "China grants export licences for rare earth magnets to Ningbo Yunsheng", "", 2)
    r = _sig("r", "EU business lobby says rare earth licences still slow")
    assert group._apart(m, r) == "subjects magnet vs eu"


@pytest.mark.parametrize(("title", "found"), [
    ("Japan to give up to 732 bil. yen for TSMC's 2nd Kumamoto plant", {2}),
    ("TSMC opens first Japan chip plant in Kumamoto", {1}),
    ("日本政府将为台积电熊本二厂提供补贴", {2}), ("2021年第一批稀土开采指标", {1}), ("首批稀土指标", {1}),
    ("China exports rare earths to the US for the first time", set()),
])
def test_a_title_s_ordinals(title: str, found: set[int]) -> None:
    assert titles.ordinals(title) == found


def test_a_first_and_a_second_plant_are_two_events() -> None:
    a = _sig("a", "TSMC opens first Japan chip plant in Kumamoto", "", 30)
    b = _sig("b", "Japan pledges up to $4.9 billion more for TSMC's second Kumamoto plant")
    assert group._apart(a, b) == "ordinals 1 vs 2 in the titles"


def test_port_fees_are_a_measure_of_their_own() -> None:
    """China's suspension of its port fees and of its sanctions on Hanwha's units, the same
    morning: two acts (fresh15)."""
    a = _sig("a", "China suspends sanctions on Hanwha Ocean's US units for one year", "", 3)
    b = _sig("b", "China pauses port fees on US-linked ships")
    assert group._apart(a, b) == "measures sanction vs fee in the titles"
    assert "fee" in tokens(fold("交通运输部关于暂停对美船舶收取船舶特别港务费的公告"))


def test_notices_of_two_chinese_bodies_are_two_acts() -> None:
    assert titles.issuers("商务部 海关总署公告2023年第23号 关于对镓、锗相关物项实施出口管制的公告") == {"商务部", "海关总署"}
    assert titles.issuers("商务部新闻发言人就美方答记者问") == frozenset()
    a = _sig("a", "商务部公告2025年第72号 关于暂停实施商务部公告2024年第46号第二款的公告", "", 20)
    b = _sig("b", "交通运输部关于暂停对美船舶收取船舶特别港务费的公告")
    assert group._apart(a, b) == "issued by 商务部 vs 交通运输部"


def test_a_state_in_a_compound_word_is_a_target() -> None:
    assert titles.targets("Carriers relieved as USTR pauses fees on China-built vessels") == {"china"}
    assert titles.targets("China pauses port fees on US-linked ships") == {"us"}


def test_a_provisional_duty_is_carried_by_the_notice_of_the_anti_dumping_finding() -> None:
    """"Provisional duties" names a tariff; the notice of the preliminary anti-dumping finding
    names no tariff, but a duty of another kind: the step is the story's (fresh16)."""
    notice = _sig("n", "商务部关于对原产于欧盟的进口相关猪肉及猪副产品反倾销调查初步裁定的公告",
                  "商务部裁定原产于欧盟的进口相关猪肉存在倾销，自9月10日起采取保证金形式的临时反倾销措施。", 1.5)
    report = _sig("r", "China imposes provisional duties of up to 62.4% on EU pork",
                  "China will impose provisional anti-dumping deposits of up to 62.4% on EU pork.")
    assert group._step(report, [Candidate(notice.key, notice)]) is None
    assert group._names_act(frozenset({"tariff"}), frozenset({"antidumping"}))
    assert not group._names_act(frozenset({"sanction"}), frozenset({"antidumping"}))


def test_two_companies_share_moves_are_two_stories() -> None:
    """Hesai's shares and Quectel's, each falling after the Pentagon listed both (fresh17)."""
    a = _sig("a", "移远通信盘中跳水 公司回应被列入美国防部清单", "", 3)
    b = _sig("b", "Hesai shares sink after lidar maker lands on Pentagon list")
    assert group._apart(a, b) == "companies quectel vs hesai in the titles"


def test_white_rice_and_the_white_house_are_no_whitelist() -> None:
    assert "whitelist" in en_tokens(fold("Japan removes Korea from its white list"))
    assert "whitelist" not in en_tokens(fold("India curbs exports of non-basmati white rice"))
    assert "whitelist" not in en_tokens(fold("Juncker's visit to the White House"))


def test_a_name_of_two_words_is_one_state() -> None:
    assert en_tokens(fold("United States and United Kingdom; the European Union")) == {"us", "uk", "eu"}


def test_a_gerund_after_on_aims_at_no_state() -> None:
    """An executive order "on Addressing United States Investments" aims at no one."""
    assert titles.targets("Executive Order on Addressing United States Investments in China") == frozenset()
    assert titles.targets("Tariffs on United States goods") == {"us"}


def test_a_count_in_wan_is_the_plain_count_too() -> None:
    """8.4万吨 is 84,000 tonnes: one number for both, besides its amount; 12.5亿 is only an amount."""
    assert {"amt:8.4e+04", "n:84000"} <= numbers(fold("2021年第一批稀土开采指标8.4万吨"))
    assert "n:84000" in numbers(fold("quotas of 84,000 tonnes"))
    assert "n:1250000000" not in numbers(fold("提供12.5亿澳元贷款"))


def test_ndpr_is_one_concept_in_both_languages() -> None:
    assert en_tokens("ndpr neodymium-praseodymium") == {"ndpr"}
    assert tokens(fold("氧化镨钕价格")) >= {"ndpr"}


def test_a_dispute_settled_is_no_market_news() -> None:
    title = fold("US, India settle six trade disputes at WTO")
    assert "market" not in signature_cues(title, lead(title))[0]


def test_now_in_force_is_an_entry_into_force() -> None:
    title = fold("China's Dual-Use Export Control Regulations Now in Force: Key Points")
    assert "in force" in signature_cues(title, lead(title))[1]


@pytest.mark.parametrize("title", ["Greenland Minerals tanks as uranium ban passes",
                                   "印度封禁“吃鸡”，腾讯股价承压", "2024年汽车工业产销情况",
                                   "2020年12月全国进口重点商品量值表", "【海关数据：12月天然石墨出口量环比大降九成】",
                                   "Oil settles up 4% as U.S. bans Russian crude",
                                   "Coffee Prices Retreat as US Removes Tariffs on Brazilian Goods",
                                   "Aussie dollar dips, miners slip after China suspends dialogue",
                                   "GRAINS-Soybeans fall as China halts U.S. farm purchases",
                                   "China purchase halt weighs on soybeans", "中方暂停采购美农产品 美豆期价下挫"])
def test_a_share_price_is_market_news(title: str) -> None:
    main = lead(fold(title))
    assert "market" in signature_cues(fold(title), main)[1]


def test_a_final_naming_its_preliminary_is_no_preliminary_and_maintaining_is_no_ruling() -> None:
    title = fold("欧盟铝型材反倾销终裁落地 维持初裁税率")
    assert signature_cues(title, lead(title))[1] == {"final"}
    title = fold("930亿欧元反制清单搁置，欧美“休战”能维持多久")
    assert "result" not in signature_cues(title, lead(title))[0]
