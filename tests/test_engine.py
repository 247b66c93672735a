"""The matching engine, one test per sentence of DESIGN.md's "Rules" section."""

from __future__ import annotations

from pathlib import Path

import pytest

from policybot.matching.engine import Engine
from policybot.matching.normalize import normalize
from policybot.matching.rules import load_rules
from policybot.model import Feed, Hit, Item

DATA = Path(__file__).parent / "data"


def engine_for(tmp_path: Path, text: str) -> Engine:
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    return Engine(load_rules([path]).rules)


def item(title: str, summary: str = "", content: str = "") -> Item:
    return Item("feed", "id", title, None, summary, content, None)


def one_term(tmp_path: Path, term: str) -> Engine:
    """A rule `t` that holds when `term` is found."""
    quoted = "'" + term.replace("'", "''") + "'"
    return engine_for(tmp_path, f"rules:\n  - id: t\n    match:\n      any:\n        - {quoted}\n")


def matches(engine: Engine, title: str, summary: str = "", content: str = "") -> list[str]:
    return [m.rule_id for m in engine.match(item(title, summary, content))]


def found(engine: Engine, title: str) -> list[str]:
    """The original substrings the hits point at."""
    return [title[h.start:h.end] for m in engine.match(item(title)) for h in m.hits]


# --- a plain term is a phrase; normalisation ------------------------------------------------

@pytest.mark.parametrize(("term", "text"), [
    ("export control", "New EXPORT CONTROL rules"),             # case-insensitive
    ("REE", "ＲＥＥ quotas"),                                    # NFKC: full-width
    ("ＲＥＥ", "REE quotas"),                                    # ... on the term side too
    ("出口许可", "稀土出口許可制度"),                               # Traditional folded to Simplified
    ("出口許可", "稀土出口许可制度"),                               # ... either way round
    ("rare-earth", "rare earth magnets"),                       # hyphen = space
    ("rare earth", "rare-earth magnets"),
    ("rare earth", "rare — earth magnets"),                     # a dash is a hyphen
    ("rare earth", "rare  \n\t earth magnets"),                 # runs of white space
    ("Straße", "STRASSE closed"),                               # full case folding
])
def test_normalisation_makes_these_alike(tmp_path: Path, term: str, text: str) -> None:
    assert matches(one_term(tmp_path, term), text) == ["t"]


def test_phrase_needs_its_words_in_order(tmp_path: Path) -> None:
    engine = one_term(tmp_path, "export control")
    assert matches(engine, "control of export") == []
    assert matches(engine, "export of control") == []


# --- whole words in scripts with spaces; CJK substrings -------------------------------------

@pytest.mark.parametrize(("term", "text"), [
    ("REE", "free trade"), ("REE", "REEF"), ("export", "reexport rules"),
    ("export", "exporter rules"), ("301", "Section 3011"), ("ban", "ban2 code"),
    ("export license", "export licensed goods"), ("ban", "Banff"), ("ee", "électée"),
])
def test_latin_terms_match_whole_words_only(tmp_path: Path, term: str, text: str) -> None:
    assert matches(one_term(tmp_path, term), text) == []


@pytest.mark.parametrize(("term", "text"), [
    ("export license", "稀土export license制度"),      # CJK neighbours are fine
    ("REE", "中国REE出口"),
    ("REE", "(REE)"), ("REE", "REE."), ("301", "Section 301, tariffs"),
    ("稀土", "中国稀土出口"),                            # CJK terms are substrings
    ("出口管制", "加强出口管制措施"),
])
def test_edges_may_touch_cjk_and_punctuation(tmp_path: Path, term: str, text: str) -> None:
    assert matches(one_term(tmp_path, term), text) == ["t"]


# --- plural and possessive of the last word; no other stemming ------------------------------

@pytest.mark.parametrize(("term", "text", "span"), [
    ("export license", "New export licenses issued", "export licenses"),
    ("Entity List", "added to the Entity List's annex", "Entity List's"),
    ("Entity List", "added to the Entity List’s annex", "Entity List’s"),
    ("tariff", "tariffs rise", "tariffs"),
    ("tax", "new taxes", "taxes"),
    ("policy", "trade policies", "policies"),
    ("export license", "the export licenses' terms", "export licenses'"),
    ("NdFeB magnet", "NdFeB magnets", "NdFeB magnets"),
])
def test_plural_and_possessive_of_last_word(
    tmp_path: Path, term: str, text: str, span: str
) -> None:
    assert found(one_term(tmp_path, term), text) == [span]


@pytest.mark.parametrize(("term", "text"), [
    ("export license", "export licensing"), ("export", "exported goods"),
    ("export license", "exports license"), ("ban", "banned"), ("tariff", "tariffed"),
    ("licenses", "license"),
])
def test_no_other_stemming(tmp_path: Path, term: str, text: str) -> None:
    assert matches(one_term(tmp_path, term), text) == []


# --- $entity, /regex/ -----------------------------------------------------------------------

ENTITY_RULES = """\
entities:
  rare-earths: [rare earth, REE, dysprosium, 稀土]
rules:
  - id: re
    match: {any: [$rare-earths]}
"""


def test_entity_alias_reports_alias_and_entity(tmp_path: Path) -> None:
    (match,) = engine_for(tmp_path, ENTITY_RULES).match(item("稀土 and dysprosium"))
    # one alias decides an entity: of two common ones found, the one that ranks first
    assert match.hits == (Hit("dysprosium", "$rare-earths", "title", 7, 17),)
    (match,) = engine_for(tmp_path, ENTITY_RULES).match(item("Rare earth and 稀土, dysprosium"))
    # a specific alias found: it decided, with every other specific one, and no common one
    assert match.hits == (Hit("rare earth", "$rare-earths", "title", 0, 10),)


def test_entities_are_reusable_across_files() -> None:
    engine = Engine(load_rules([DATA / "rules" / "shared_entities"]).rules)
    assert matches(engine, "China limits 稀土 exports") == ["rare-earths"]


@pytest.mark.parametrize(("pattern", "text"), [
    (r"/section\s+(301|232)/", "SECTION 232 tariffs"),      # case-insensitive
    (r"/rare earth/", "Rare-Earth magnets"),                # run on normalised text
    (r"/出口许可/", "出口許可"),
    (r"/ree\b/", "ＲＥＥ"),
])
def test_regex_is_case_insensitive_on_normalised_text(
    tmp_path: Path, pattern: str, text: str
) -> None:
    assert matches(one_term(tmp_path, pattern), text) == ["t"]


def test_catastrophic_pattern_returns(tmp_path: Path) -> None:
    engine = one_term(tmp_path, "/(a+)+$/")   # exponential in a backtracking engine
    assert matches(engine, "a" * 100_000 + "b") == []
    assert matches(engine, "a" * 100_000) == ["t"]


def test_regex_hit_reports_pattern_and_span(tmp_path: Path) -> None:
    assert found(one_term(tmp_path, r"/section\s+\d+/"), "Under Section 301 now") == [
        "Section 301"]


# --- near -----------------------------------------------------------------------------------

NEAR_RULES = """\
entities:
  curbs: [ban, restriction]
rules:
  - id: n
    match:
      any: [{near: [export, $curbs], within: 2}]
"""


@pytest.mark.parametrize(("title", "expected"), [
    ("export ban", ["n"]),
    ("ban on export", ["n"]),                       # either order
    ("export of gallium ban", ["n"]),               # two words between
    ("ban of all gallium exports", []),             # three words between: too far
    ("exports face a new restriction", []),
    ("exports face restrictions", ["n"]),
    ("export", []),
])
def test_near_either_order_within_n_words(tmp_path: Path, title: str, expected: list[str]) -> None:
    assert matches(engine_for(tmp_path, NEAR_RULES), title) == expected


def test_near_needs_both_terms_in_one_field(tmp_path: Path) -> None:
    engine = engine_for(tmp_path, NEAR_RULES)
    assert matches(engine, "export news", "ban news") == []
    assert matches(engine, "news", "news", "a ban on export") == ["n"]


def test_near_counts_cjk_characters_as_words(tmp_path: Path) -> None:
    engine = engine_for(tmp_path, "rules:\n  - id: n\n    match:\n"
                        "      any: [{near: [出口, 禁令], within: 2}]\n")
    assert matches(engine, "出口稀土禁令") == ["n"]
    assert matches(engine, "出口中重稀土禁令") == []


def test_near_hits_are_the_close_pair(tmp_path: Path) -> None:
    assert found(engine_for(tmp_path, NEAR_RULES), "export news and other news; export ban") == [
        "export", "ban"]


# --- all / any / none, nesting, fields ------------------------------------------------------

LOGIC_RULES = """\
rules:
  - id: both
    match:
      all: [gallium]
      any: [export, ban]
  - id: nested
    match:
      any:
        - {all: [germanium, {any: [licence, license]}], none: [price]}
        - antimony
  - id: excluded
    match:
      any: [graphite]
      none: [price index, {all: [battery, recycling]}]
"""


@pytest.mark.parametrize(("title", "expected"), [
    ("gallium export", ["both"]),
    ("gallium", []),                                   # all and any: both must hold
    ("export ban", []),
    ("germanium licence", ["nested"]),
    ("germanium", []),
    ("germanium license price", []),                   # none inside a nested mapping
    ("antimony price", ["nested"]),
    ("graphite", ["excluded"]),
    ("graphite price index", []),
    ("graphite battery", ["excluded"]),
    ("graphite battery recycling", []),
    ("gallium ban, antimony and graphite", ["both", "nested", "excluded"]),   # rule order
])
def test_all_any_none_nest(tmp_path: Path, title: str, expected: list[str]) -> None:
    assert matches(engine_for(tmp_path, LOGIC_RULES), title) == expected


def test_terms_may_be_found_in_different_fields(tmp_path: Path) -> None:
    engine = engine_for(tmp_path, LOGIC_RULES)
    assert matches(engine, "gallium", "export news") == ["both"]
    assert matches(engine, "news", "", "gallium export") == ["both"]   # content by default


def test_none_looks_at_every_field_of_the_rule(tmp_path: Path) -> None:
    assert matches(engine_for(tmp_path, LOGIC_RULES), "graphite", "price index") == []


def test_fields_limit_where_a_rule_looks(tmp_path: Path) -> None:
    engine = engine_for(tmp_path, "rules:\n  - id: t\n    fields: [title]\n"
                        "    match: {any: [tariff], none: [rumour]}\n")
    assert matches(engine, "tariff") == ["t"]
    assert matches(engine, "news", "tariff") == []
    assert matches(engine, "tariff", "rumour") == ["t"]


# --- feeds filter ---------------------------------------------------------------------------

def test_feeds_filter_by_id_or_tag(tmp_path: Path) -> None:
    engine = engine_for(tmp_path, "rules:\n  - id: t\n    feeds: [mofcom, tag:us]\n"
                        "    match: {any: [tariff]}\n")
    tariff = item("tariff")
    assert engine.match(tariff, Feed("mofcom", "u", 60.0))
    assert engine.match(tariff, Feed("bis", "u", 60.0, tags=("us",)))
    assert engine.match(tariff, Feed("eu", "u", 60.0, tags=("eu",))) == ()
    assert engine.match(tariff)                    # no feed: dry runs ignore the filter


# --- hit spans point into the original text -------------------------------------------------

@pytest.mark.parametrize(("term", "text", "span"), [
    ("REE", "Ｔｈｅ ＲＥＥ quota", "ＲＥＥ"),
    ("出口许可", "稀土出口許可证", "出口許可"),
    ("rare earth", "… ﬁnal rare — earth rules", "rare — earth"),
    ("rare earth", "Straße… rare   earth", "rare   earth"),
    ("export", "ß… e\u0301 export", "export"),
])
def test_hit_spans_are_in_the_original_text(
    tmp_path: Path, term: str, text: str, span: str
) -> None:
    assert found(one_term(tmp_path, term), text) == [span]


def test_normalize_maps_every_span_back() -> None:
    text = "Ａ…ß\u3000\u3000e\u0301 -- 乾淨 𝐑𝐄𝐄"
    norm = normalize(text)
    assert norm.text == "a...ss é 干净 ree"
    for word, original in [("a", "Ａ"), ("...", "…"), ("ss", "ß"), ("é", "e\u0301"),
                           ("干净", "乾淨"), ("ree", "𝐑𝐄𝐄")]:
        start = norm.text.index(word)
        begin, end = norm.span(start, start + len(word))
        assert text[begin:end] == original


# --- the engine itself ----------------------------------------------------------------------

def test_rules_with_only_regexes_are_evaluated_without_plain_terms(tmp_path: Path) -> None:
    engine = engine_for(tmp_path, "rules:\n  - id: plain\n    match: {any: [tariff]}\n"
                        "  - id: rx\n    match: {any: [/\\bsection \\d+/], none: [tariff]}\n")
    assert matches(engine, "Section 232") == ["rx"]
    assert matches(engine, "Section 232 tariff") == ["plain"]


def test_many_rules_sharing_terms_match_in_rule_order(tmp_path: Path) -> None:
    lines = ["rules:"]
    for i in range(300):
        lines += [f"  - id: r{i}", f"    match: {{all: [w{i % 7}], any: [x{i % 5}, y{i}]}}"]
    engine = engine_for(tmp_path, "\n".join(lines) + "\n")
    expected = [f"r{i}" for i in range(300) if i % 7 == 3 and (i % 5 == 2 or i == 10)]
    assert matches(engine, "w3 x2 y10") == expected


def test_engines_are_independent(tmp_path: Path) -> None:
    first = one_term(tmp_path, "tariff")
    second = one_term(tmp_path, "quota")
    assert matches(first, "tariff quota") == ["t"]
    assert [h.term for m in second.match(item("tariff quota")) for h in m.hits] == ["quota"]
    assert matches(first, "quota") == []


def test_an_engine_without_rules_matches_nothing() -> None:
    assert Engine([]).match(item("anything")) == ()
