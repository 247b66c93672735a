"""Stories: the rules drawn from sets written by people who never saw the rules (final, fresh1):
the CC-CEDICT glossary across languages, the state an English title leads with, an entry into
force announced days ahead, a defiance, denied exemptions and more market words."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from policybot.model import Item
from policybot.stories import group, titles
from policybot.stories.cues import cues
from policybot.stories.features import fold, glossary, signature
from policybot.stories.group import Candidate, blocked, decide, specific
from policybot.stories.window import Window
from tests.test_e2e_stories import run_test_rules
from tools import build_glossary

NOW = datetime(2025, 4, 4, 12, tzinfo=UTC)


def _sig(key: str, title: str, summary: str = "", hours: float = 0.0) -> group.Signature:
    it = Item("f", key, title, f"https://news.example/{key}", summary, "", NOW - timedelta(hours=hours))
    return signature(it, [], it.published.timestamp() if it.published else 0.0)


def test_the_glossary_gives_a_chinese_text_the_english_words_the_lexicon_lacks() -> None:
    """生物柴油 -> biodiesel, 冰岛 -> iceland; a lexicon word (关税, 挪威) is the lexicon's; an
    English report has no glossary words."""
    zh = _sig("a", "欧盟对冰岛、挪威生物柴油征收关税", "欧盟对冰岛、挪威生物柴油征收关税。")
    assert {"biodiesel", "iceland"} <= zh.gloss
    assert {"tariff", "norway"} <= zh.plain and not {"tariff", "norway"} & zh.gloss
    assert _sig("b", "EU puts tariffs on Norwegian biodiesel").gloss == frozenset()
    assert glossary()[0]["黑名单"] == ("entity",)    # an alias of the lexicon: its concept


def test_glossary_words_open_the_comparison_but_never_join_alone() -> None:
    """An English report and a Chinese one that share only glossary words are found by the
    window and counted as sharing keys (and in the score, see test_stories_words.py); glossary
    words alone never make a join "strong" whatever the score."""
    en = _sig("a", "Norway, Iceland hit by biodiesel and ferrosilicon curbs", "Biodiesel from Norway.", 2)
    zh = _sig("b", "挪威冰岛生物柴油受限", "挪威和冰岛的生物柴油出口受限。")
    assert specific(zh, en) >= 2 > specific(zh, en, glossed=False)
    assert not group._strong(zh, en)
    window = Window([Candidate("a", en)])
    assert [c.story for c in window.near(zh)] == ["a"]


def test_build_glossary_keeps_less_common_words_and_whole_names() -> None:
    """From CC-CEDICT lines: a word's senses' less common English words ("to release" says
    nothing), a name's words all, lexicon words and single characters left out."""
    lines = ["# CC-CEDICT", "生物柴油 生物柴油 [sheng1 wu4 chai2 you2] /biodiesel/",
             "發布 发布 [fa1 bu4] /to release/to issue/", "東南亞 东南亚 [Dong1 nan2 ya4] /Southeast Asia/",
             "關稅 关税 [guan1 shui4] /customs duty/tariff/", "鋁 铝 [lu:3] /aluminum/",
             "轉運 转运 [zhuan3 yun4] /to forward goods/transshipment/CL:個|个[ge4]/"]
    common = {"release": 5.7, "issue": 5.8, "southeast": 4.3, "asia": 4.9, "forward": 5.7, "goods": 5.7}
    words = build_glossary.build(lines, lambda w: common.get(w.lower(), 2.0))
    assert words == {"生物柴油": {"biodiesel"}, "东南亚": {"southeast", "asia"}, "转运": {"transshipment"}}


@pytest.mark.parametrize(("first", "second", "apart"), [
    ("Poland, Hungary and Slovakia impose own bans on Ukrainian grain", "EU lets ban on Ukrainian grain expire", True),
    ("Taiwan opens de facto embassy in Lithuania", "China downgrades diplomatic ties with Lithuania over Taiwan",
     True),
    ("China slams US chip curbs as bullying", "US tightens chip curbs on China", False),   # a reaction
    ("US and China agree Geneva deal to cut tariffs", "China suspends tariffs on US goods under Geneva deal",
     False),    # one of the partners
    ("Japanese chipmakers review stockpiles after China gallium curbs", "China curbs gallium exports", False),
    ("Commission decides not to extend grain import curbs", "Poland imposes its own grain import ban", True),
])
def test_the_state_an_english_title_leads_with_acts(first: str, second: str, apart: bool) -> None:
    a, b = _sig("a", first, "Grain, chips, tariffs.", 2), _sig("b", second, "Grain, chips, tariffs.")
    reason = group._apart(a, b)
    assert (reason is not None and reason.startswith("acted by")) is apart, reason


def test_an_entry_into_force_said_days_ahead_is_a_later_step() -> None:
    """Friday's agreement says the cap takes effect on Monday; Monday's "comes into force" is the
    later step. An act in force the day it is made is that act."""
    deal = _sig("a", "EU agrees $60 price cap on Russian oil", "The cap takes effect on Monday, Dec. 5.", 70)
    monday = _sig("b", "EU embargo on Russian crude and price cap come into force", "The $60 cap on Russian oil.")
    assert decide(monday, [Candidate("a", deal)]).story is None
    act = _sig("c", "India imposes 12% safeguard duty on steel imports", "A 12% duty on steel for 200 days.", 5)
    same_day = _sig("d", "印度钢铁保障措施税生效 12%", "印度对钢铁进口征收12%保障措施税，为期200天，即日生效。")
    assert decide(same_day, [Candidate("c", act)]).story == "c"


def test_cues_drawn_from_unseen_sets() -> None:
    """A defiance is a response of its own; an exemption denied or ended is none, one excluded or
    spared is one; a sell-off, an open higher (高开) and a fall below (跌破) are market moves."""
    assert "retaliation" in cues(fold("Three EU countries defy Brussels with bans on Ukrainian grain"))
    assert "retaliation" in cues(fold("不顾欧委会决定 三国禁止乌克兰粮食进口"))
    assert "exemption" not in cues(fold("欧盟对铁合金实施保障措施 挪威冰岛未获豁免"))
    assert "exemption" not in cues(fold("Norway and Iceland not exempted from EU safeguard"))
    assert "exemption" in cues(fold("US copper tariff excludes cathode"))
    for title in ("Sugar stocks lead sell-off on export cap fears", "【棕榈油期货大幅高开】", "人民币跌破7",
                  "Onion prices nearly double in Dhaka"):
        assert "market" in cues(fold(title)), title
    assert blocked(_sig("a", "EU imposes anti-dumping duties on biodiesel"), _sig("b", "欧盟对生物柴油加征关税")) \
        is None    # an anti-dumping duty is a duty


def test_test_rules_groups_across_languages_and_parts_two_states_acts(tmp_path: Path) -> None:
    """`bot.py test-rules` on one evening: the Commission's decision in English and Chinese is
    one story; three states' own bans, in both languages, are another, and `--explain` says why."""
    rows = [json.loads(line) for line in (
        '{"id": "eu", "published": "2023-09-15T18:55:00Z", "title": "EU lets ban on Ukrainian grain imports into '
        'five neighbours expire", "summary": "The European Commission decided not to extend the ban on imports of '
        'Ukrainian wheat, maize, rapeseed and sunflower seed into Poland, Hungary, Slovakia, Romania and Bulgaria."}',
        '{"id": "own", "published": "2023-09-15T21:10:00Z", "title": "Poland, Hungary and Slovakia impose own bans '
        'on Ukrainian grain imports", "summary": "Poland, Hungary and Slovakia said they would impose their own bans '
        'on Ukrainian grain imports after the Commission let the EU ban expire."}',
        '{"id": "eu-zh", "published": "2023-09-16T02:10:00Z", "title": "欧盟委员会决定不再延长乌克兰农产品进口限制措施", '
        '"summary": "欧盟委员会15日决定，不再延长对乌克兰小麦、玉米、油菜籽和葵花籽进口到波兰、匈牙利、斯洛伐克、罗马尼亚和保加利亚的禁令。"}',
        '{"id": "own-zh", "published": "2023-09-16T05:00:00Z", "title": "波兰匈牙利斯洛伐克不顾欧委会决定 自行禁止乌克兰粮食进口", '
        '"summary": "波兰、匈牙利和斯洛伐克宣布对乌克兰粮食实施本国进口禁令。"}')]
    run = run_test_rules(tmp_path, rows, "rules:\n  - id: grain\n    title: Grain\n    match: {any: [grain, 粮食, 农产品]}\n")

    stories = [json.loads(line)["story"] for line in run("--json").splitlines()]
    assert stories == ["eu", "own", "eu", "own"]
    assert "blocked by acted by hungary vs eu in the titles" in run("--explain")


def test_a_glossary_word_remembers_the_newest_chinese_reports_only() -> None:
    """MAX_GLOSS_POSTING: a glossary word shared by more recent Chinese reports says little; the
    window keeps the newest of them under it (and all of them under their own keys)."""
    from policybot.stories.window import MAX_GLOSS_POSTING
    window = Window()
    for n in range(MAX_GLOSS_POSTING + 4):
        window.add(Candidate(f"s{n}", _sig(f"k{n}", f"挪威生物柴油第{n + 10}批", "挪威生物柴油。", hours=50 - n)))
    kept = [window._items[i].story for i in window._glossed["biodiesel"]]
    assert kept == [f"s{n}" for n in range(4, MAX_GLOSS_POSTING + 4)]


def test_chinas_sanctions_are_its_countermeasures_and_a_response_suffered_is_background() -> None:
    """An English "China sanctions ..." and a Chinese "... 采取反制措施的决定" are one act; "遭中方
    反制后断供" (a supply cut after the countermeasures) leads with the cut, not a retaliation; a
    share more than tripling is market news, a miner that stops selling to China halts."""
    notice = _sig("a", "外交部关于对美国军工企业及高级管理人员采取反制措施的决定",
                  "外交部决定对美国无人机企业Skydio等采取反制措施，冻结其在华财产，因其参与对台军售。", 2)
    en = _sig("b", "China sanctions US drone maker Skydio over Taiwan arms sales",
              "China froze the assets of US drone maker Skydio and others over arms sales to Taiwan.", 1)
    assert decide(en, [Candidate("a", notice)]).story == "a"
    assert decide(_sig("c", "US sanctions Chinese drone makers", "Drone makers.", 1),
                  [Candidate("a", notice)]).story is None
    assert "retaliation" not in cues(fold("遭中方反制后断供，美国最大无人机企业电池告急"))
    assert "retaliation" in cues(fold("中方宣布反制美军工企业 冻结在华财产"))
    assert "market" in cues(fold("Trilogy Metals more than triples after US takes 10% stake"))
    assert "suspension" in cues(fold("Only US rare earths miner stops selling to China"))


def test_a_chinese_title_leading_with_its_state_acts_but_a_reaction_does_not() -> None:
    """"中方对美…加征关税" is China's act, "美对华…关税生效" the US's: the same day they are two
    stories (a tariff and the answer to it). A spokesperson's answer or a company (美光 = Micron)
    names no actor; a joint subject (美日) names both."""
    assert titles.actors("中方对美约600亿美元商品加征关税 9月24日起实施") == {"china"}
    assert titles.actors("【海关总署：对美部分进口商品加征关税措施已开始实施】") == {"china"}   # its own act
    assert titles.actors("商务部：美方做法严重违反世贸规则") == frozenset()    # a colon: told
    assert titles.actors("美对华340亿美元商品关税生效") == {"us"}
    for title in ("商务部新闻发言人就美方公布第二批对华加征关税清单答记者问", "美光在华产品遭网络安全审查",
                  "关于美国对340亿美元进口自中国商品加征关税的声明"):
        assert titles.actors(title) == frozenset(), title
    assert titles.actors("美日达成关税协议 美方对日商品征15%关税") == {"us", "japan"}
    ours = _sig("a", "U.S. tariffs on $34 billion of Chinese goods take effect", "Tariffs of 25% on $34 billion.", 2)
    theirs = _sig("b", "中方对美340亿美元商品加征25%关税 今起实施", "中方对原产于美国的340亿美元商品加征25%关税。")
    assert group._apart(ours, theirs) == "acted by us vs china in the titles"
