"""`in: FIELD`: a condition that reads some of the rule's fields only (issue 15)."""

from __future__ import annotations

from pathlib import Path

import pytest

from policybot.errors import RuleError
from policybot.matching.engine import Engine
from policybot.matching.explain import explain
from policybot.matching.rules import check_examples, load_rules
from policybot.model import Item

PACK = """\
entities:
  tariffs: [tariff, duty]
  commentary: [opinion, commentary]
rules:
  - id: tariffs
    fields: [title, summary]
    match:
      all: [$tariffs]
      none: [{in: title, any: [$commentary, /\\?$/]}]
    examples:
      match:
        - title: Government raises tariff on steel
          summary: Critics offered commentary on the move.
      no_match:
        - "Opinion: the new tariff is a tax on consumers"
        - Will the tariff rise again?
  - id: title-only
    fields: [title, summary]
    match:
      any: [{in: [title], all: [tariff]}]
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "r.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _errors(path: Path) -> list[str]:
    with pytest.raises(RuleError) as caught:
        load_rules([path])
    return caught.value.errors


def _match(engine: Engine, title: str, summary: str = "") -> list[str]:
    return [m.rule_id for m in engine.match(Item("f", "i", title, None, summary, "", None))]


def test_scoped_none_reads_the_title_only(tmp_path: Path) -> None:
    ruleset = load_rules([_write(tmp_path, PACK)])
    assert check_examples(ruleset) == []
    engine = Engine(ruleset.rules)
    assert _match(engine, "Tariff raised", "An opinion column disagreed.") == ["tariffs", "title-only"]
    assert _match(engine, "Opinion: tariff raised", "") == ["title-only"]
    assert _match(engine, "Steel measures", "The tariff was raised.") == ["tariffs"]


def test_scoped_hits_come_from_the_scoped_field(tmp_path: Path) -> None:
    engine = Engine(load_rules([_write(tmp_path, PACK)]).rules)
    item = Item("f", "i", "Tariff raised", None, "the tariff rose", "", None)
    (match,) = [m for m in engine.match(item) if m.rule_id == "title-only"]
    assert {hit.field for hit in match.hits} == {"title"}


@pytest.mark.parametrize("condition, message", [
    ("{in: heading, all: [tariff]}", "r.yaml:6: rule 'x': unknown field 'heading' in 'in' "
                                     "(expected: title, summary, content)"),
    ("{in: content, all: [tariff]}", "r.yaml:4: rule 'x': 'in: content' names a field the rule "
                                     "does not read (fields: title, summary)"),
    ("{in: title}", "r.yaml:6: rule 'x': 'in' needs a condition beside it (expected: all, any, none)"),
    ("{in: [], all: [tariff]}", "r.yaml:6: rule 'x': 'in' must be a field or a list of "
                                "fields (title, summary, content)"),
])
def test_bad_scopes_are_reported_with_their_line(tmp_path: Path, condition: str, message: str) -> None:
    text = ("rules:\n  - id: x\n    fields: [title, summary]\n    match:\n"
            f"      all: [duty]\n      any: [{condition}]\n")
    errors = _errors(_write(tmp_path, text))
    assert [e.replace(str(tmp_path) + "/", "") for e in errors] == [message]


def test_a_whole_match_can_be_narrowed_and_explained(tmp_path: Path) -> None:
    text = ("rules:\n  - id: x\n    fields: [title, summary]\n    match: {in: title, all: [tariff],"
            " none: [opinion]}\n")
    engine = Engine(load_rules([_write(tmp_path, text)]).rules)
    late = Item("f", "i", "Steel", None, "a tariff", "", None)
    early = Item("f", "i", "Tariff on steel", None, "an opinion", "", None)
    assert engine.match(late) == () and len(engine.match(early)) == 1
    assert explain(engine, late) == ["rule x: all failed: no 'tariff'; none ok (nothing found)"
                                     " -> no alert"]
    assert explain(engine, early) == ["rule x: all ok ('tariff' 'Tariff' in title); "
                                      "none ok (nothing found) -> alert"]
