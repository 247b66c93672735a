"""Why a rule did or did not alert: matching/explain.py and `bot.py test-rules --explain`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from policybot.matching.engine import Engine
from policybot.matching.explain import explain
from policybot.matching.rules import load_rules
from policybot.model import Item

ROOT = Path(__file__).resolve().parents[1]
RULES = """\
entities:
  tariffs: [tariff, 关税]
  actions: [raises, 加征]
  commentary: [opinion, op-ed, 评论]
rules:
  - id: tariffs
    fields: [title, summary]
    match:
      all: [$tariffs, $actions]
      none: [{in: title, any: [$commentary]}]
  - id: deals
    fields: [title, summary]
    match:
      any: [trade deal, {near: [truce, extend], within: 3}]
"""
ITEMS = [
    {"id": "a", "title": "Government raises tariff on steel", "summary": ""},
    {"id": "b", "title": "Op-ed: the tariff raises prices", "summary": ""},
    {"id": "c", "title": "商務部對美國商品加徵關稅", "summary": ""},
]


def _engine(tmp_path: Path) -> Engine:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES, encoding="utf-8")
    return Engine(load_rules([path]).rules)


def _item(raw: dict[str, str]) -> Item:
    return Item("f", raw["id"], raw["title"], None, raw["summary"], "", None)


def test_explain_names_the_part_that_held_and_the_one_that_failed(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    assert explain(engine, _item(ITEMS[0])) == [
        "rule tariffs: all ok ($tariffs 'tariff' in title, $actions 'raises' in title); "
        "none ok (nothing found) -> alert",
        "rule deals: any failed: no 'trade deal', no 'truce' near 'extend' -> no alert",
    ]
    assert explain(engine, _item(ITEMS[1]))[0] == (
        "rule tariffs: all ok ($tariffs 'tariff' in title, $actions 'raises' in title); "
        "none failed: in title: $commentary 'Op-ed' in title -> no alert")


def test_explain_quotes_the_items_own_spelling(tmp_path: Path) -> None:
    """Traditional Chinese is folded to match; the line shows what the item wrote."""
    line = explain(_engine(tmp_path), _item(ITEMS[2]))[0]
    assert "$tariffs '關稅' in title" in line and "$actions '加徵' in title" in line
    assert line.endswith("-> alert")


def test_explain_agrees_with_the_engine_on_the_dev_sets() -> None:
    engine = Engine(load_rules([ROOT / "rules"]).rules)
    data = ROOT / "tests" / "data" / "shared" / "eval"
    for name in ("relevance-dev.jsonl", "relevance-real-dev.jsonl"):
        for line in (data / name).read_text(encoding="utf-8").splitlines():
            item = _item(json.loads(line))
            alerted = {m.rule_id for m in engine.match(item)}
            said = {why.split(":")[0].removeprefix("rule ") for why in explain(engine, item)
                    if why.endswith("-> alert")}
            assert said == alerted, item.title


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "rules.yaml").write_text(RULES, encoding="utf-8")
    source = tmp_path / "items.jsonl"
    source.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in ITEMS),
                      encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text(f"storage: {{path: {tmp_path / 'state.sqlite3'}}}\nrules: {tmp_path / 'rules.yaml'}\n"
                      "feeds: []\ndestinations: {console: {type: console}}\n"
                      "defaults: {notify: [console]}\n", encoding="utf-8")
    return subprocess.run(
        [sys.executable, str(ROOT / "bot.py"), "test-rules", "--config", str(config), *args,
         str(source)], capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path)


def test_cli_explain_prints_every_item_with_a_line_per_rule(tmp_path: Path) -> None:
    done = _run(tmp_path, "--explain")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "* Op-ed: the tariff raises prices" in lines       # unmatched items are shown too
    whys = [line for line in lines if line.startswith("  why: ")]
    assert len(whys) == len(ITEMS) * 2
    assert ("  why: rule tariffs: all ok ($tariffs 'tariff' in title, $actions 'raises' in title);"
            " none failed: in title: $commentary 'Op-ed' in title -> no alert") in lines
    assert lines[-1] == "2 of 3 items matched"


def test_cli_explain_json_carries_the_lines_and_rule_filter(tmp_path: Path) -> None:
    done = _run(tmp_path, "--explain", "--json", "--rule", "tariffs")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [row["id"] for row in rows] == ["a", "b", "c"]
    assert all(len(row["explain"]) == 1 for row in rows)
    assert rows[1]["rules"] == [] and rows[1]["explain"][0].endswith("-> no alert")
