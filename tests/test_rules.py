"""rules/*.yaml -> RuleSet: the language's shape, and every error as FILE:LINE: message."""

from __future__ import annotations

from pathlib import Path

import pytest

from policybot.errors import RuleError
from policybot.matching.engine import Engine
from policybot.matching.rules import check_examples, load_rules, parse_watch
from policybot.model import Item

DATA = Path(__file__).parent / "data"
FEEDS = {"mofcom": ["cn", "export-controls"], "bis-press": ["us"]}
DESTINATIONS = ["console", "trade-desk"]


@pytest.fixture(autouse=True)
def _in_data(monkeypatch: pytest.MonkeyPatch) -> None:
    """Paths are given as `rules/x.yaml`, as the bot gives them, and errors name them so."""
    monkeypatch.chdir(DATA)


def errors_of(*paths: str, **known: object) -> list[str]:
    with pytest.raises(RuleError) as caught:
        load_rules(list(paths), **known)  # type: ignore[arg-type]
    return caught.value.errors


def write(tmp_path: Path, text: str, name: str = "r.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- the language's shape -------------------------------------------------------------------

DESIGN_EXAMPLE = """\
entities:                              # reusable term lists; any language
  rare-earths: [rare earth, rare-earth element, REE, dysprosium, terbium, NdFeB magnet, 稀土]
  export-licensing: [export license, export licence, export permit, 出口许可]
rules:
  - id: rare-earth-export-licensing
    title: Rare-earth export licensing changes
    severity: high                     # low | normal | high | urgent
    match:
      all: [$rare-earths]
      any: [$export-licensing, export control, dual-use, 出口管制, {near: [export, ban], within: 6}]
      none: [price index]
    fields: [title, summary]           # default: title, summary, content
    feeds: [mofcom, tag:export-controls]   # optional source filter, by feed id or tag
    notify: [trade-desk, me]           # destination ids; default: defaults.notify
"""


def test_design_example_loads_with_every_attribute(tmp_path: Path) -> None:
    path = write(tmp_path, DESIGN_EXAMPLE)
    ruleset = load_rules([path], destinations=[*DESTINATIONS, "me"], feeds=FEEDS)
    (rule,) = ruleset.rules
    assert (rule.id, rule.title, rule.severity) == (
        "rare-earth-export-licensing", "Rare-earth export licensing changes", "high")
    assert rule.fields == ("title", "summary")
    assert rule.feeds == ("mofcom", "tag:export-controls")
    assert rule.notify == ("trade-desk", "me")
    assert (rule.source, rule.line) == (str(path), 5)
    assert ruleset.entities["rare-earths"][-1] == "稀土"


def test_defaults_severity_normal_all_fields_no_filters(tmp_path: Path) -> None:
    path = write(tmp_path, "rules:\n  - id: t\n    match: {any: [tariff]}\n")
    (rule,) = load_rules([path]).rules
    assert (rule.title, rule.severity, rule.fields) == ("t", "normal",
                                                       ("title", "summary", "content"))
    assert rule.feeds is None and rule.notify is None


def test_folder_loads_yaml_and_yml_sorted_and_entities_reach_every_file() -> None:
    ruleset = load_rules(["rules/shared_entities"])
    assert [r.id for r in ruleset.rules] == ["rare-earths"]
    assert ruleset.rules[0].source == "rules/shared_entities/b_rules.yaml"


def test_nested_entities_expand(tmp_path: Path) -> None:
    path = write(tmp_path, "entities:\n  a: [gallium]\n  b: [$a, germanium]\n"
                 "rules:\n  - id: r\n    match: {any: [$b]}\n")
    assert load_rules([path]).entities["b"] == ("gallium", "germanium")


# --- one bad file per error, the full message with its line ---------------------------------

def test_unknown_key_names_the_valid_ones() -> None:
    assert errors_of("rules/unknown_key.yaml") == [
        "rules/unknown_key.yaml:4: rule 'ai-act': unknown key 'keywrods' (expected: id, title, "
        "severity, match, fields, feeds, notify, examples)"]


def test_unknown_entity_suggests_the_close_one() -> None:
    assert errors_of("rules/unknown_entity.yaml") == [
        "rules/unknown_entity.yaml:7: unknown entity '$rare-earth' (did you mean '$rare-earths'?)"]


def test_duplicate_yaml_key() -> None:
    assert errors_of("rules/duplicate_key.yaml") == [
        "rules/duplicate_key.yaml:6: duplicate key 'title' (first defined on line 3)"]


def test_duplicate_rule_id_across_files_names_the_first() -> None:
    assert errors_of("rules/dup_ids") == [
        "rules/dup_ids/b.yaml:5: duplicate rule id 'tariffs' "
        "(first defined at rules/dup_ids/a.yaml:2)"]


def test_duplicate_entity_across_files_names_the_first() -> None:
    assert errors_of("rules/dup_entities") == [
        "rules/dup_entities/b.yaml:3: duplicate entity 'metals' "
        "(first defined at rules/dup_entities/a.yaml:2)"]


def test_invalid_regex_and_one_re2_cannot_do() -> None:
    assert errors_of("rules/invalid_regex.yaml") == [
        "rules/invalid_regex.yaml:5: invalid regex /section (301|232/: "
        "missing ): section (301|232",
        "rules/invalid_regex.yaml:6: invalid regex /(tariff)s? \\1/: "
        "invalid escape sequence: \\1 (backreferences (\\1) are not supported by RE2: "
        "write the repeated text out)"]


def test_regex_matching_empty_text_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "rules:\n  - id: r\n    match: {any: [/x*/]}\n")
    assert errors_of(str(path)) == [
        f"{path}:3: regex /x*/ matches empty text, so it would match every item"]


def test_empty_match() -> None:
    assert errors_of("rules/empty_match.yaml") == [
        "rules/empty_match.yaml:3: rule 'nothing': empty match (expected: all, any, none)",
        "rules/empty_match.yaml:6: rule 'empty-all': empty 'all'"]


def test_rule_needs_a_positive_term() -> None:
    assert errors_of("rules/no_positive.yaml") == [
        "rules/no_positive.yaml:3: rule 'only-none': needs at least one term outside 'none'"]


def test_unknown_destination() -> None:
    assert errors_of("rules/unknown_destination.yaml", destinations=DESTINATIONS) == [
        "rules/unknown_destination.yaml:4: rule 'tariffs': unknown destination 'trade-dsk' "
        "(did you mean 'trade-desk'?)"]
    assert load_rules(["rules/unknown_destination.yaml"]).rules  # not checked without the set


def test_unknown_feed_and_tag() -> None:
    assert errors_of("rules/unknown_feed.yaml", feeds=FEEDS) == [
        "rules/unknown_feed.yaml:5: rule 'tariffs': unknown feed 'mofcon' "
        "(did you mean 'mofcom'?)",
        "rules/unknown_feed.yaml:6: rule 'tariffs': unknown tag 'tag:exportcontrols' "
        "(did you mean 'tag:export-controls'?)"]


def test_non_string_terms_say_how_they_were_written() -> None:
    assert errors_of("rules/non_string.yaml") == [
        'rules/non_string.yaml:2: term must be a string, got false (quote it: "NO")',
        'rules/non_string.yaml:8: term must be a string, got 301 (quote it: "301")']


def test_bad_severity() -> None:
    assert errors_of("rules/bad_severity.yaml") == [
        "rules/bad_severity.yaml:3: rule 'tariffs': severity must be one of low, normal, high, "
        "urgent, got 'critical'"]


def test_bad_within_and_bad_near() -> None:
    assert errors_of("rules/bad_within.yaml") == [
        "rules/bad_within.yaml:5: rule 'near-words': 'within' must be a whole number of words "
        ">= 0, got 'six'",
        "rules/bad_within.yaml:7: rule 'near-words': 'within' must be a whole number of words "
        ">= 0, got -1",
        "rules/bad_within.yaml:8: rule 'near-words': 'near' must be a list of two terms, "
        "like near: [export, ban]",
        "rules/bad_within.yaml:9: 'near' takes phrases or $entities, not a regex: /ban/"]


def test_missing_id() -> None:
    assert errors_of("rules/missing_id.yaml") == [
        "rules/missing_id.yaml:2: rule #1: missing key 'id'"]


def test_missing_file() -> None:
    assert errors_of("rules/absent.yaml") == [
        "rules/absent.yaml:1: cannot read: No such file or directory"]


def test_every_error_of_every_file_at_once_in_file_order() -> None:
    assert errors_of("rules/many_errors") == [
        "rules/many_errors/a.yaml:5: rule 'one': severity must be one of low, normal, high, "
        "urgent, got 'critical'",
        "rules/many_errors/a.yaml:6: unknown entity '$rare-earth' "
        "(did you mean '$rare-earths'?)",
        "rules/many_errors/b.yaml:3: rule 'two': unknown key 'keywrods' (expected: id, title, "
        "severity, match, fields, feeds, notify, examples)",
        "rules/many_errors/b.yaml:4: invalid regex /(x/: missing ): (x",
        'rules/many_errors/b.yaml:6: term must be a string, got true (quote it: "yes")']


# --- examples: rules as tested code ---------------------------------------------------------

def test_failing_examples_are_reported_at_their_line() -> None:
    assert check_examples(load_rules(["rules/failing_examples.yaml"])) == [
        "rules/failing_examples.yaml:9: rule 'gallium': example 'Germanium controls tightened' "
        "did not match: any failed: no 'gallium'",
        "rules/failing_examples.yaml:12: rule 'gallium': no_match example "
        "'Gallium export ban extended' matched (on gallium)"]


def test_passing_examples_report_nothing(tmp_path: Path) -> None:
    path = write(tmp_path, DESIGN_EXAMPLE + """\
    examples:
      match: ["China tightens REE export licences", {title: 稀土出口許可, summary: 商务部}]
      no_match: [REE price index rises after export licence news, free export licenses]
""")
    assert check_examples(load_rules([path])) == []


# --- /watch ---------------------------------------------------------------------------------

def _titles(rule_text: str, owner: str, *titles: str) -> list[str]:
    engine = Engine([parse_watch(rule_text, owner)])
    items = [Item("f", str(i), t, None, "", "", None) for i, t in enumerate(titles)]
    return [item.title for item in items if engine.match(item)]


def test_watch_needs_every_word_and_phrase_and_excludes_minus_terms() -> None:
    assert _titles('gallium "export ban" -scrap', "42",
                   "Gallium export ban", "Gallium export ban on scrap", "Gallium exports",
                   "Export ban on gallium") == ["Gallium export ban", "Export ban on gallium"]


def test_watch_id_and_title() -> None:
    rule = parse_watch('Gallium  "Export Ban"', "telegram:42")
    assert rule.id.startswith("watch:telegram:42:") and len(rule.id.rsplit(":", 1)[1]) == 8
    assert rule.id == parse_watch('gallium "export ban"', "telegram:42").id
    assert rule.title == 'Gallium "Export Ban"'
    assert rule.notify == ("telegram:42",)   # alerts its owner, never the defaults


@pytest.mark.parametrize("text", ["", "   ", "-scrap", '""'])
def test_watch_without_a_positive_term_is_an_error(text: str) -> None:
    with pytest.raises(RuleError):
        parse_watch(text, "42")
