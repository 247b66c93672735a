"""Matching engine: items/s at 100, 1,000 and 10,000 rules against one `re` per rule.

Rules are synthetic but shaped like an analyst's: phrases taken from the labelled feed items
(real bigrams and rarer single words) plus made-up word pairs, shared `$entities` with Chinese
aliases, a few `near` and regex conditions (each next to a plain term, as analysts write
them), and two regex-only rules at every size. Items: ~2,000 built from the titles and
summaries of ../shared/eval/relevance-dev.jsonl, recombined. The baseline is what a simple bot
does: per rule, one compiled Python `re` alternation of its terms with \\b, searched per item.

    python -m bench bench_engine
"""

from __future__ import annotations

import json
import random
import re
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import yaml

from policybot.matching.engine import Engine
from policybot.matching.normalize import normalize
from policybot.matching.rules import load_rules
from policybot.matching.scan import build_automaton, scan
from policybot.matching.spec import Rule, walk_all
from policybot.model import Item

DATA = Path(__file__).resolve().parents[2] / "shared" / "eval" / "relevance-dev.jsonl"
SIZES = (100, 1_000, 10_000)
ITEMS = 2_000
BASELINE_ITEMS = 40
SUBJECTS_FROM_ITEMS = 0.08   # share of rule subjects taken from the items' own words
STOP = frozenset("""the and for that with from this said which will have been were their after
into over also more than its has was are not but about under such other they would could""".split())
CHINESE = ["稀土", "出口管制", "出口许可", "关税", "反倾销", "实体清单", "镓", "锗", "锑", "石墨"]
ACTIONS = ["export ban", "export control", "export licence", "export license", "tariff",
           "anti-dumping", "countervailing", "quota", "sanction", "Entity List", "curb",
           "restriction", "duty", "suspend", "lift", "investment screening", "embargo",
           "export", "import", "licence", "ban", "probe", "measure", "agreement", "truce",
           "出口管制", "出口许可", "关税", "反倾销", "制裁", "禁令", "暂停", "取消"]
FALLBACK = [{"title": "China curbs gallium exports", "summary": "The ministry said licences "
             "for gallium and germanium exports are needed from August."}]


def _corpus() -> list[dict[str, str]]:
    if not DATA.is_file():
        return FALLBACK
    return [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line]


def _vocabulary(corpus: Sequence[dict[str, str]]) -> tuple[list[str], list[str]]:
    """Rarer single words and real bigrams from the items."""
    words: Counter[str] = Counter()
    bigrams: Counter[str] = Counter()
    for row in corpus:
        tokens = re.findall(r"[a-z]{4,}", f"{row['title']} {row['summary']}".lower())
        tokens = [t for t in tokens if t not in STOP]
        words.update(tokens)
        bigrams.update(f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False))
    singles = [w for w, n in words.items() if n <= 3]
    pairs = [b for b, n in bigrams.items() if n >= 1]
    return sorted(singles), sorted(pairs)


def _subject(rng: random.Random, singles: list[str], pairs: list[str]) -> str:
    """What a rule is about: a commodity, firm, product... Most never occur in a given item."""
    roll = rng.random()
    if roll < SUBJECTS_FROM_ITEMS * 0.6:
        return rng.choice(pairs)
    if roll < SUBJECTS_FROM_ITEMS:
        return rng.choice(singles)
    return f"{rng.choice(singles)} {rng.choice(singles)}"   # made-up: a name the items lack


def _entities(
    rng: random.Random, count: int, singles: list[str], pairs: list[str]
) -> dict[str, list[str]]:
    """One entity per 20 rules (so each is reused by a few), a tenth with a Chinese alias."""
    entities: dict[str, list[str]] = {}
    for i in range(count):
        aliases = [_subject(rng, singles, pairs) for _ in range(rng.randint(3, 8))]
        entities[f"ent{i}"] = aliases + ([rng.choice(CHINESE)] if rng.random() < 0.1 else [])
    entities["actions"] = ACTIONS[:12]
    return entities


def _rule(
    i: int, rng: random.Random, entities: int, singles: list[str], pairs: list[str]
) -> dict[str, object]:
    """Shaped like the starter pack: all: [subject], any: [policy actions], sometimes none."""
    if rng.random() < 0.25:
        subject = f"$ent{rng.randrange(entities)}"
    else:
        subject = _subject(rng, singles, pairs)
    anys: list[object] = rng.sample(ACTIONS, rng.randint(2, 4))
    if rng.random() < 0.2:
        anys.append("$actions")
    if rng.random() < 0.05:
        anys.append({"near": [rng.choice(ACTIONS), rng.choice(singles)],
                     "within": rng.randint(2, 8)})
    if rng.random() < 0.03:
        anys.append(f"/{re.escape(rng.choice(singles))}\\s+(of|on|in)\\s+\\w+/")
    match: dict[str, object] = {"all": [subject], "any": anys}
    if rng.random() < 0.2:
        match["none"] = [_subject(rng, singles, pairs)]
    return {"id": f"r{i}", "title": f"Rule {i}", "match": match}


def write_rules(folder: Path, count: int, seed: int = 7) -> None:
    """`count` rules (plus two regex-only ones) in files of 1,000, entities in their own file."""
    rng = random.Random(seed)
    singles, pairs = _vocabulary(_corpus())
    entities = _entities(rng, max(10, count // 20), singles, pairs)
    (folder / "00-entities.yaml").write_text(
        yaml.safe_dump({"entities": entities}, allow_unicode=True), encoding="utf-8")
    rules = [_rule(i, rng, max(10, count // 20), singles, pairs) for i in range(count)]
    rules += [{"id": "rx-section", "match": {"any": [r"/section\s+(232|301)\b/"]}},
              {"id": "rx-notice", "match": {"any": [r"/公告\d{4}年第\d+号/"]}}]
    for start in range(0, len(rules), 1_000):
        text = yaml.safe_dump({"rules": rules[start:start + 1_000]}, allow_unicode=True)
        (folder / f"{start // 1_000 + 1:02d}-rules.yaml").write_text(text, encoding="utf-8")


def make_items(count: int = ITEMS, seed: int = 11) -> list[Item]:
    rng = random.Random(seed)
    corpus = _corpus()
    items = []
    for i in range(count):
        a, b = rng.choice(corpus), rng.choice(corpus)
        title = a["title"] if i % 3 else a["title"].upper()
        summary = f"{a['summary']} {b['summary']}" if i % 2 else a["summary"]
        items.append(Item("bench", str(i), title, None, summary, "", None))
    return items


def baseline(rules: Sequence[Rule]) -> list[re.Pattern[str]]:
    """One compiled `re` per rule: an alternation of its terms with \\b."""
    patterns = []
    for rule in rules:
        terms = {t.alias for leaf in walk_all(rule.match) for t in _terms_of(leaf)}
        alternation = "|".join(re.escape(t) for t in sorted(terms))
        patterns.append(re.compile(rf"\b(?:{alternation})\b", re.IGNORECASE))
    return patterns


def _terms_of(leaf: object) -> list:  # type: ignore[type-arg]
    if hasattr(leaf, "terms"):
        return list(leaf.terms)
    if hasattr(leaf, "a"):
        return [*leaf.a.terms, *leaf.b.terms]
    return []


def items_per_s(engine: Engine, items: Sequence[Item]) -> tuple[float, int]:
    started = time.perf_counter()
    matched = sum(len(engine.match(item)) for item in items)
    return len(items) / (time.perf_counter() - started), matched


def baseline_per_s(patterns: Sequence[re.Pattern[str]], items: Sequence[Item]) -> float:
    started = time.perf_counter()
    for item in items:
        text = f"{item.title}\n{item.summary}\n{item.content}"
        for pattern in patterns:
            pattern.search(text)
    return len(items) / (time.perf_counter() - started)


def bare_scan_per_s(rules: Sequence[Rule], items: Sequence[Item]) -> float:
    """The floor: normalise each field and run the automaton, no rule logic at all."""
    keys = {t.key for rule in rules for leaf in walk_all(rule.match) for t in _terms_of(leaf)}
    automaton = build_automaton(sorted(keys))
    started = time.perf_counter()
    for item in items:
        for text in (item.title, item.summary, item.content):
            scan(automaton, normalize(text).text)
    return len(items) / (time.perf_counter() - started)


def main() -> None:
    items = make_items()
    results: dict[int, float] = {}
    base_at_max = 0.0
    for size in SIZES:
        with tempfile.TemporaryDirectory() as folder:
            write_rules(Path(folder), size)
            started = time.perf_counter()
            rules = load_rules([folder]).rules
            loaded = time.perf_counter() - started
        started = time.perf_counter()
        engine = Engine(rules)
        built = time.perf_counter() - started
        engine.match(items[0])   # warm up
        rate, matched = items_per_s(engine, items)
        base = baseline_per_s(baseline(rules), items[:BASELINE_ITEMS])
        results[size] = rate
        base_at_max = base
        floor = bare_scan_per_s(rules, items)
        print(f"   {len(rules):>6} rules: load {loaded:5.2f} s, compile {built:4.2f} s; "
              f"engine {rate:7,.0f} items/s ({matched / len(items):.2f} matches/item); "
              f"baseline one re per rule {base:6,.1f} items/s; ratio {rate / base:5,.0f}x; "
              f"bare scan {floor:7,.0f} items/s")
    big, small = max(SIZES), min(SIZES)
    print(f"   engine / baseline at {big:,} rules: {results[big] / base_at_max:,.0f}x "
          f"(goal >= 500x)")
    print(f"   engine per-item cost at {big:,} vs {small:,} rules: "
          f"{results[small] / results[big]:.2f}x (goal <= 2x)")


if __name__ == "__main__":
    main()
