"""Stories: the general rules added after measuring on the independent extra set
(tests/data/stories-extra.jsonl): rounded percentages, trade-remedy and market vocabulary,
a title's main clause, and a retaliation joining the response story rather than the act."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from policybot.model import Item
from policybot.stories import group
from policybot.stories.cues import cues, lead
from policybot.stories.features import fold, signature, tokens
from policybot.stories.group import Candidate, blocked, decide

NOW = datetime(2025, 4, 4, 12, tzinfo=UTC)


def _sig(key: str, title: str, summary: str = "", hours: float = 0.0) -> group.Signature:
    it = Item("f", key, title, f"https://news.example/{key}", summary, "", NOW - timedelta(hours=hours))
    return signature(it, [], it.published.timestamp() if it.published else 0.0)


def test_a_rounded_percentage_is_the_same_number() -> None:
    """"up to 38%" and "最高38.1%" name one rate; 45.1% is another."""
    en = _sig("a", "EU to impose duties of up to 38% on Chinese EVs from July", "Provisional duties on Chinese EVs.", 3)
    zh = _sig("b", "欧盟拟对中国电动汽车加征最高38.1%临时反补贴税", "欧盟拟对中国电动汽车加征临时反补贴税。")
    other = _sig("c", "欧盟拟对中国电动汽车加征最高45.1%临时反补贴税", "欧盟拟对中国电动汽车加征临时反补贴税。")
    assert blocked(en, zh) is None
    assert blocked(en, other) == "different pct 38 vs 45.1"


def test_step_and_market_vocabulary() -> None:
    """Definitive duties are a final step; "taking effect" is entry into force; a price at a
    multi-year high (新高) is a market move, in the title's main clause only."""
    assert "final" in cues(fold("Commission imposes definitive countervailing duties on EVs"))
    assert "in force" in cues(fold("with the levies taking effect from Friday"))
    assert "market" in cues(fold("LME nickel price hits five-year high"))
    assert "market" in cues(fold("伦镍大涨创五年新高"))
    assert _sig("a", "Nickel ore ban brought forward as prices hit five-year high").cues == frozenset()


def test_the_kinds_of_measure_of_a_title_are_those_of_its_main_clause() -> None:
    """"... after EU vote on car duties" is context: the title is about anti-dumping deposits."""
    notice = _sig("a", "China imposes anti-dumping deposits on EU brandy", "Brandy deposits of 30.6% to 39%.", 3)
    after = _sig("b", "China hits European brandy with deposits after EU vote on car duties",
                 "Brandy deposits of 30.6% to 39%.")
    listing = _sig("c", "China puts EU brandy makers on unreliable entity list", "Brandy deposits of 30.6% to 39%.")
    tariff = _sig("d", "China imposes tariffs on EU brandy", "Brandy deposits of 30.6% to 39%.")
    assert blocked(notice, after) is None
    assert blocked(notice, listing) == "measures antidumping vs entity in the titles"
    assert blocked(notice, tariff) is None    # an anti-dumping duty is a duty ("tariffs" to most reports)


def test_a_retaliation_joins_the_response_story_not_the_act() -> None:
    """A report titled as a retaliation cannot join the act it answers; it joins the related
    story that began after that act (the response's notice, which calls itself no retaliation)."""
    act = _sig("a", "US imposes 34% reciprocal tariff on all Chinese goods from April 9",
               "A 34% tariff on all goods from China from April 9, the White House said.", 40)
    notice = _sig("b", "国务院关税税则委员会：4月10日起对原产于美国的所有进口商品加征34%关税",
                  "自2025年4月10日起，对原产于美国的所有进口商品加征34%关税。", 2)
    back = _sig("c", "China hits back with extra 34% tariffs on all US goods from April 10",
                "China will levy an extra 34% tariff on all goods imported from the US from April 10.")
    assert "blocked by 'retaliation'" in decide(back, [Candidate("a", act)]).why
    assert decide(back, [Candidate("a", act), Candidate("b", notice)]).story == "b"


def test_lexicon_reciprocal_goods_and_ban_forms() -> None:
    """对等关税 is a reciprocal tariff (the act), not a retaliation; farm goods and metals
    compare across languages; "bans" and "prohibits" are a ban."""
    reciprocal = tokens(fold("美国宣布所谓对等关税"))
    assert "reciprocal" in reciprocal and "retaliation" not in reciprocal
    assert "retaliation" in tokens(fold("中方对等反制"))
    assert {"canola", "pork", "rice", "dysprosium", "countervailing", "tariff"} <= tokens(
        fold("油菜籽 猪肉 大米 镝 反补贴 附加税"))
    assert {"canola", "ban", "countervailing", "tariff"} <= tokens(
        fold("rapeseed bans prohibits anti-subsidy surtaxes"))


def test_make_eval_prints_the_extra_set_after_the_dev_set(capsys) -> None:
    """`python -m bench.eval_stories` (the story part of `make eval`) scores the dev set, then
    the independent extra set under its own label."""
    from bench import eval_stories
    assert eval_stories.main([]) == 0
    out = capsys.readouterr().out.splitlines()
    label = out.index(f"{eval_stories.EXTRA_LABEL}:")
    assert out[0].startswith("stories all: 191 items")
    assert out[label + 1].startswith("stories all: 115 items")


def test_an_acts_own_exemptions_do_not_carry_its_deferral() -> None:
    """A licence rule whose summary lists its exemptions is not a deferral: the same rule put
    off a day later (its title says "defers") is a step of its own."""
    act = _sig("a", "Ruritania requires licences for imports of drones with immediate effect",
               "Imports of drones now need a licence; exemptions apply to research units.", 26)
    deferral = _sig("b", "Ruritania defers drone import licence requirement to January",
                    "Ruritania deferred the licence requirement for drone imports to January 1.")
    assert {"suspension"} <= deferral.cues and "suspension" not in act.text_cues
    assert "exemption" in act.text_cues
    assert decide(deferral, [Candidate("a", act)]).story is None


def test_lawsuits_and_share_moves_are_steps_of_their_own() -> None:
    """A lawsuit against a decision is a new development, and so are share moves named as
    such, in English and Chinese."""
    assert "lawsuit" in cues(fold("Two companies sue the government over the blocked merger"))
    assert "lawsuit" in cues(fold("两家公司起诉政府 阻止收购决定被诉"))
    assert "market" in cues(fold("Miner's shares fall after the export ban"))
    assert "market" in cues(fold("关税冲击医药股 制药板块领跌"))
    assert "suspension" in cues(fold("Government defers the licence rule"))
    assert "suspension" in cues(fold("Government makes U-turn on the licence rule"))
    assert "suspension" in cues(fold("一天后改口 政府给予过渡期"))


def test_common_words_of_statements_compare_across_languages() -> None:
    """A ministry's statement shares few names with the reports of the act it answers: the
    common words of trade reporting (trading partners, suppliers, compliant applications,
    manufacturing, technology) are concepts of both languages, specific enough to make the two
    candidates; a company, named in nearly every report, is not."""
    want = {"partner", "supply", "compliance", "manufacturing", "technology"}
    assert want <= tokens(fold("所有贸易伙伴 供应商 合规申请 芯片制造 先进技术"))
    assert want <= tokens(fold("all trading partners, suppliers, compliant applications, chip manufacturers, "
                               "key technologies"))
    assert want <= tokens(fold("partner suppliers compliant manufacture tech"))
    assert "firm" not in tokens(fold("中国企业 Chinese companies"))   # named in every other report


def test_a_ministry_statement_joins_the_act_it_answers() -> None:
    """A Chinese spokesperson's statement on a US tariff joins the English report of the
    tariff: they share the measure's name and "all trading partners", nothing else specific."""
    act = _sig("a", "US imposes reciprocal tariffs on all trading partners",
               "The White House announced reciprocal tariffs on imports from all trading partners.", 3)
    said = _sig("b", "商务部新闻发言人就美国对所有贸易伙伴征收所谓对等关税发表谈话",
                "商务部新闻发言人表示，美方对包括中国在内的所有贸易伙伴征收所谓对等关税，中方坚决反对。")
    assert {"reciprocal", "partner"} <= act.keys & said.keys
    assert decide(said, [Candidate("a", act)]).story == "a"


def test_much_shared_evidence_joins_across_languages() -> None:
    """An English and a Chinese report sharing STRONG_SHARED_CROSS names join whatever the
    score (each says much else); one name fewer, at that low score, they stay apart."""
    names = ["Rusal", "Deripaska", "EuroSibEnergo", "Glencore", "Vekselberg"][:group.STRONG_SHARED_CROSS]
    en = _sig("a", "Treasury eases sanctions on smelter group",
              f"{' '.join(names)} copper nickel zinc gold platinum palladium titanium cobalt lithium", 3)
    zh = _sig("b", "美国放宽对铝业集团的制裁",
              f"{'、'.join(names)}。大豆、玉米、小麦、大麦、高粱、猪肉、牛肉、禽肉、乳制品、葡萄酒。")
    assert zh.lang == "zh" and group.similarity(zh, en) < group.JOIN_SCORE_CROSS * group.CLOSE_FACTOR
    assert decide(zh, [Candidate("a", en)]).story == "a"
    fewer = _sig("c", "美国放宽对铝业集团的制裁",
                 f"{'、'.join(names[:-1])}。大豆、玉米、小麦、大麦、高粱、猪肉、牛肉、禽肉、乳制品、葡萄酒。")
    assert decide(fewer, [Candidate("a", en)]).story is None


def test_an_announced_date_and_preliminary_terms_are_no_steps() -> None:
    """"... 10月14日生效" said on Sep 30 is the announcement saying when, not the later entry
    into force (said on Oct 14 it is that step); "preliminary terms" of an award is no trade
    remedy's first finding."""
    def said_on(day: datetime) -> group.Signature:
        it = Item("f", "b", "鲁里坦尼亚签令对进口无人机加征25%关税 10月14日生效", "https://news.example/b",
                  "鲁里坦尼亚对进口无人机加征25%关税。", "", day)
        return signature(it, [], day.timestamp())

    early, on_the_day = said_on(datetime(2025, 9, 30, 12, tzinfo=UTC)), said_on(datetime(2025, 10, 14, 8, tzinfo=UTC))
    assert "in force" in early.cues and "in force" in on_the_day.cues
    assert group._announced(early) and not group._announced(on_the_day)
    assert "preliminary" not in cues(fold("Administration announces preliminary terms with chipmaker"))
    assert "preliminary" in cues(fold("EU sets preliminary duties on imported bikes"))


def test_a_comment_quoted_after_the_act_is_not_its_step() -> None:
    """"... 专家：依法反制": the expert calls the listing a countermeasure; the title leads with
    the listing, so it joins the listing's story."""
    title = fold("商务部将28家外国实体列入出口管制管控名单 专家：依法反制")
    assert lead(title) == fold("商务部将28家外国实体列入出口管制管控名单")
    assert cues(lead(title)) == set() and "retaliation" in cues(title)
