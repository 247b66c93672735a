"""`test-rules` output: rules, the alias and field of each hit, the text with terms marked."""

from __future__ import annotations

from datetime import UTC, datetime

from policybot.dryrun import BOLD, RESET, dry_run, highlight
from policybot.matching.engine import Engine
from policybot.matching.rules import load_rules
from policybot.model import Item


def test_highlight_merges_touching_and_overlapping_spans() -> None:
    assert highlight("稀土出口管制", [(0, 2), (2, 6)], color=False) == "**稀土出口管制**"
    assert highlight("rare earth export", [(0, 10), (5, 17)], color=True) == f"{BOLD}rare earth export{RESET}"
    assert highlight("a b c", [], color=False) == "a b c"


def test_dry_run_names_rule_alias_entity_and_field(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "r.yaml").write_text("""\
entities:
  minerals: [gallium, 镓]
rules:
  - id: minerals
    title: Minerals
    severity: high
    match: {all: [$minerals], any: [export licence]}
""", encoding="utf-8")
    engine = Engine(load_rules([tmp_path / "r.yaml"]).rules)
    item = Item("f", "1", "Gallium export licences resumed", "https://x/1",
                "MOFCOM resumed 镓 export licences.", "", datetime(2026, 1, 1, tzinfo=UTC))
    text = dry_run(item, engine.match(item), color=False)
    assert text.splitlines()[:3] == ["* Gallium export licences resumed", "  https://x/1",
                                     "  rule minerals (high): Minerals"]
    # evidence, most specific first, each term once with the fields it was found in; of the
    # entity's two common aliases found, the one that ranks first decided (gallium, not 镓)
    assert text.splitlines()[3:5] == ["    'export licence' in title, summary",
                                      "    $minerals -> 'gallium' in title"]
    assert "  title: **Gallium** **export licences** resumed" in text
    assert "  summary: MOFCOM resumed 镓 **export licences**." in text


def test_dry_run_prints_no_terminal_escapes_from_feed_text() -> None:
    item = Item("f", "1", "\x1b[2J\x1b]0;owned\x07Gallium\u202e export", "https://x/\x1b[31m1",
                "gallium \x1b[5mblink", "", None)
    text = dry_run(item, [], color=True)
    assert "\x1b" not in text and "\u202e" not in text and "\x07" not in text
    assert text.splitlines()[:2] == ["* Gallium export", "  https://x/1"]
    assert highlight("a\x1b[2Jb gallium", [(7, 14)], color=True) == f"ab {BOLD}gallium{RESET}"
