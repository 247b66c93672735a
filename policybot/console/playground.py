"""The playground: a rule pasted as YAML, loaded by the same bounded loader as rules files
(yamlsrc + matching/rules.py: size, aliases, depth, term length), run over the items stored in
the last N days and over its examples, compared with the live rule of the same id. Saves
nothing. Runs in a worker thread that checks a deadline between batches of items."""

from __future__ import annotations

import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from policybot.matching.engine import Engine
from policybot.matching.rules import MAX_RULES_BYTES, RuleSet, check_examples, load_rule_file
from policybot.matching.spec import Rule
from policybot.model import Feed, Item, Match

SOURCE = "playground.yaml"   # how errors name the pasted text
DEADLINE_SECONDS = 10.0      # a run over N days stops after this long, with a message
CHECK_EVERY = 200            # items matched between two looks at the deadline
SHOWN = 100                  # matched (and lost) items listed on the page


@dataclass
class Outcome:
    rules: tuple[Rule, ...] = ()
    errors: list[str] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)      # failures, FILE:LINE-style
    looked_at: int = 0
    stopped: str | None = None                                # why the run stopped early
    # the latest SHOWN of each, newest first; the bool says the live rule did not match it
    matched: list[tuple[Item, tuple[Match, ...], bool]] = field(default_factory=list)
    lost: list[Item] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)     # matches, current, new, lost


def parse(text: str, rule_paths: Sequence[Path]) -> tuple[tuple[Rule, ...], list[str]]:
    """The pasted rules, with the entities of the live rule files; errors as `playground.yaml:LINE:`."""
    if len(text.encode("utf-8")) > MAX_RULES_BYTES:
        return (), [f"{SOURCE}:1: larger than {MAX_RULES_BYTES // 1024} KB"]
    with tempfile.TemporaryDirectory(prefix="policybot-playground-") as folder:
        path = Path(folder) / SOURCE
        path.write_text(text, encoding="utf-8")
        rules, errors = load_rule_file(str(path), list(rule_paths))
        texts = [text.replace(str(path), SOURCE) for text in errors]
    if not texts and not rules:
        texts = [f"{SOURCE}:1: no rule found (expected `rules:` with a list of rules)"]
    return tuple(rules), texts


def examples(rules: Sequence[Rule]) -> list[str]:
    if not rules:
        return []
    return [f.replace(rules[0].source, SOURCE) for f in check_examples(RuleSet(tuple(rules)))]


def run(rules: Sequence[Rule], current: Mapping[str, Rule], items: Iterable[Item],
        feeds: Mapping[str, Feed], *, seconds: float = DEADLINE_SECONDS,
        clock: Callable[[], float] = time.monotonic) -> Outcome:
    """Match every item with the pasted rules and with the live rules of the same ids."""
    out = Outcome(rules=tuple(rules), examples=examples(rules))
    mine, theirs = Engine(rules), Engine([current[r.id] for r in rules if r.id in current])
    counts = dict.fromkeys(("matches", "current", "new", "lost"), 0)
    matched: deque[tuple[Item, tuple[Match, ...], bool]] = deque(maxlen=SHOWN)   # the latest
    lost: deque[Item] = deque(maxlen=SHOWN)
    deadline = clock() + seconds
    for item in items:
        if out.looked_at % CHECK_EVERY == 0 and clock() > deadline:
            out.stopped = (f"stopped after {seconds:g} s: the rule looked at {out.looked_at:,} "
                           "items; fewer days, or narrower terms, will finish")
            break
        out.looked_at += 1
        feed = feeds.get(item.feed_id)
        matches, before = mine.match(item, feed), theirs.match(item, feed)
        counts["matches"] += bool(matches)
        counts["current"] += bool(before)
        if matches and not before:
            counts["new"] += 1
        if before and not matches:
            counts["lost"] += 1
            lost.append(item)
        if matches:
            matched.append((item, matches, not before))
    out.counts = counts
    out.matched, out.lost = list(reversed(matched)), list(reversed(lost))
    return out
