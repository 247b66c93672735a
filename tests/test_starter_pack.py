"""The starter pack in rules/: it loads, its own examples pass, and it is right on the labelled
relevance set (../shared/eval) and on hand-written distractors."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.eval import evaluate, main
from policybot.matching.engine import Engine
from policybot.matching.rules import check_examples, load_rules
from policybot.matching.spec import Terms, walk_all
from policybot.model import Item

RULES = Path(__file__).resolve().parents[1] / "rules"


@pytest.fixture(scope="module")
def ruleset():
    return load_rules([RULES])


@pytest.fixture(scope="module")
def engine(ruleset):
    return Engine(ruleset.rules)


def _alerts(engine: Engine, title: str, summary: str = "") -> list[str]:
    item = Item("test", title, title, None, summary, "", None)
    return [match.rule_id for match in engine.match(item)]


def test_pack_loads_and_covers_every_topic(ruleset):
    ids = {rule.id for rule in ruleset.rules}
    assert {"export-controls", "critical-minerals-supply", "tariffs-trade-remedies",
            "entity-list-changes", "sanctions-designations", "investment-screening",
            "trade-deal-measures"} <= ids
    for rule in ruleset.rules:
        assert rule.notify is None, f"{rule.id} routes explicitly; the pack uses defaults.notify"
        assert rule.title and rule.severity
        assert any(e.expect for e in rule.examples), f"{rule.id} has no match examples"
        assert any(not e.expect for e in rule.examples), f"{rule.id} has no no_match examples"


def test_pack_examples_pass(ruleset):
    assert check_examples(ruleset) == []


def test_entities_have_english_and_chinese_aliases(ruleset):
    for name in ("export-controls", "critical-minerals", "tariffs", "restricted-party-lists"):
        aliases = ruleset.entities[name]
        assert any(a.isascii() for a in aliases), name
        assert any(not a.isascii() for a in aliases), name
    chinese = set(ruleset.entities["export-controls"]) | set(ruleset.entities["tariffs"])
    assert {"出口管制", "两用物项", "出口许可", "实体清单", "加征关税", "反倾销"} <= chinese


@pytest.mark.parametrize("title, summary", [
    ("Spreadsheet app adds one-click export to CSV",
     "Users can now export sheets to CSV and PDF, or schedule exports to cloud storage."),
    ("State launches new licence plates for electric vehicles",
     "Drivers can order the green licence plates from the motor vehicles department."),
    ("Rare Earth announce farewell tour",
     "The Motown rock band Rare Earth will play twelve dates, its label said."),
    ("Supplier cuts its electricity tariff for households from April",
     "The energy supplier said its standard electricity tariff would fall by 5%."),
    ("Rare-earth miner posts record quarterly revenue",
     "The company said higher neodymium prices lifted third-quarter revenue."),
    ("Cricket board sanctions bowler for breaching conduct code",
     "The board's integrity unit suspended the bowler for six months."),
    ("Lakers complete trade deal for veteran centre",
     "The NBA team sent two draft picks to Memphis in the trade deal."),
    ("Hospital extends lung cancer screening",
     "Screening will be offered to smokers aged 55 to 74."),
    ("Lithium carbonate futures rise as cathode makers restock", ""),
    ("稀土价格指数本周环比上涨", "行业协会数据显示，本周稀土价格指数小幅上涨。"),
    ("表格软件支持一键导出为PDF", "用户可将工作表一键导出为PDF或长图。"),
])
def test_distractors_do_not_alert(engine, title, summary):
    assert _alerts(engine, title, summary) == []


@pytest.mark.parametrize("title, summary, rule_id", [
    ("商务部 海关总署公告：对部分中重稀土相关物项实施出口管制",
     "商务部、海关总署决定对钐、钆、铽、镝等中重稀土相关物项实施出口管制，未经许可不得出口。",
     "critical-minerals-supply"),
    ("商务部：已批准部分稀土出口许可申请", "商务部新闻发言人表示，已依法批准一定数量的合规申请。",
     "critical-minerals-supply"),
    ("國務院公布《兩用物項出口管制條例》", "條例自12月1日起施行。", "export-controls"),
    ("商务部将多家美国企业列入不可靠实体清单", "不可靠实体清单工作机制发布公告。",
     "entity-list-changes"),
    ("税委会：对原产于美国的部分进口商品加征关税", "自3月10日起加征15%关税。",
     "tariffs-trade-remedies"),
])
def test_chinese_announcements_alert(engine, title, summary, rule_id):
    assert rule_id in _alerts(engine, title, summary)


def test_dev_set_precision_and_recall(shared_dir):
    data = shared_dir / "eval" / "relevance-dev.jsonl"
    if not data.is_file():
        pytest.skip(f"{data} is missing")
    report = evaluate([RULES], data)
    counts = report.counts()
    assert counts.total == 160
    assert counts.precision >= 0.85, report.errors()[0]
    assert counts.recall >= 0.85, report.errors()[1]
    for lang in ("en", "zh"):
        assert report.counts(lang).precision >= 0.85, lang
        assert report.counts(lang).recall >= 0.85, lang


GOAL = 0.95   # issue 15: precision and recall on each dev set


def test_real_dev_set_meets_the_goal(shared_dir):
    """Text written after real pages: commentary, hearings, lawsuits, statements, market pieces
    and proposals carry the vocabulary; the pack alerts on the changes only."""
    data = shared_dir / "eval" / "relevance-real-dev.jsonl"
    if not data.is_file():
        pytest.skip(f"{data} is missing")
    report = evaluate([RULES], data)
    counts = report.counts()
    assert counts.total == 167
    assert counts.precision >= GOAL, report.errors()[0]
    assert counts.recall >= GOAL, report.errors()[1]
    for lang in ("en", "zh"):
        assert report.counts(lang).precision >= GOAL, lang
        assert report.counts(lang).recall >= GOAL, lang


def test_written_dev_set_meets_the_goal(shared_dir):
    data = shared_dir / "eval" / "relevance-dev.jsonl"
    if not data.is_file():
        pytest.skip(f"{data} is missing")
    counts = evaluate([RULES], data).counts()
    assert counts.precision >= GOAL and counts.recall >= GOAL


def test_every_rule_uses_the_genre_cues(ruleset):
    """The shared cue sets sit under each rule's `none:` (a rule may drop one: not these)."""
    for rule in ruleset.rules:
        entities = {term.entity for leaf in walk_all(rule.match) if isinstance(leaf, Terms)
                    for term in leaf.terms}
        assert {"$commentary", "$hedging", "$statements", "$market", "$pending"} <= entities, rule.id


def test_eval_main_prints_both_sets_per_topic_and_the_errors(capsys):
    assert main(["--part", "holdout"]) == 0
    out = capsys.readouterr().out
    for word in ("relevance-dev.jsonl (holdout part)", "relevance-real-dev.jsonl (holdout part)",
                 "per topic:", "tariffs-trade-remedies", "false alerts (", "misses ("):
        assert word in out


def test_eval_main_prints_figures(shared_dir, capsys):
    data = shared_dir / "eval" / "relevance-dev.jsonl"
    if not data.is_file():
        pytest.skip(f"{data} is missing")
    assert main(["--data", str(data), "--verbose"]) == 0
    out = capsys.readouterr().out
    for word in ("overall", "en", "zh", "precision", "recall", "false alerts", "misses"):
        assert word in out


def test_eval_main_reports_missing_data(tmp_path, capsys):
    assert main(["--data", str(tmp_path / "absent.jsonl")]) == 1
    assert "absent.jsonl" in capsys.readouterr().err


@pytest.mark.parametrize("title, summary, alerts", [
    # Traditional forms (Hong Kong, Taiwan outlets) are folded before the cues are read
    ("外交部回應特朗普關稅言論：貿易戰沒有贏家", "發言人表示，中方反對加徵關稅。", False),
    ("中評網評：美國加徵關稅節節敗退", "文章認為，美方對華加徵關稅適得其反。", False),
    ("英媒：北京擬限制稀土出口 當局尚未定案", "知情人士稱，最終決定尚未作出。", False),
    ("【關稅戰】中方再反制：6美企列不可靠實體清單",
     "商務部宣布將6家美國企業列入不可靠實體清單。", True),
    ("美國將多家中企列入經濟黑名單", "美國商務部把12家中國公司列入實體清單。", True),
])
def test_traditional_chinese_cues_and_changes(engine, title, summary, alerts):
    assert bool(_alerts(engine, title, summary)) is alerts
