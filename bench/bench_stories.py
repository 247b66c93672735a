"""Story grouping: 10,000 items of a day grouped against the window, beside matching them.

    python -m bench bench_stories

Items: the labelled story and relevance sets (tests/data/shared/eval/), recombined into
N_ITEMS items (a title and a summary of different items of the same language, a number
changed, so that most are distinct and some are near copies) spread over 24 hours. The
baseline is the starter rules' engine matching those items; the figure is the grouping (each
item's signature, its candidates from the window's index, the decision, its place in the
index) of the same items in time order, with an empty window at the start. Both are the best
of ROUNDS passes.

A second figure runs the bot's own story stage (`StoryIndex`, `StoryPoll`) on the same items,
POLL_ITEMS a poll, with the store's three queries answered from memory: the same item once
(identities), then for each item a rule matched (the bot groups no other) its signature, its
candidates from the index and from the poll, the decision, and the index's prune and update.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from policybot.matching.engine import Engine
from policybot.matching.rules import load_rules
from policybot.model import Item, Match
from policybot.stories.features import signature
from policybot.stories.group import Candidate, decide
from policybot.stories.stage import StoryIndex
from policybot.stories.window import Window

ROOT = Path(__file__).resolve().parents[1]
EVAL = ROOT / "tests" / "data" / "shared" / "eval"
N_ITEMS = 10_000
ROUNDS = 3
LIMIT = 2.0      # the bound: grouping costs at most 2x the matching
POLL_ITEMS = 50  # items of one poll in the bot-like run


def items(n: int = N_ITEMS, seed: int = 12) -> list[Item]:
    rows = [json.loads(line) for name in ("stories-dev.jsonl", "relevance-dev.jsonl")
            for line in (EVAL / name).read_text(encoding="utf-8").splitlines() if line.strip()]
    rng = random.Random(seed)
    start = datetime(2025, 7, 1, tzinfo=UTC)
    out = []
    for i in range(n):
        a, b = rng.choice(rows), rng.choice(rows)
        title = a["title"].replace("2", str(rng.randint(2, 9)), 1)
        when = start + timedelta(seconds=86400 * i / n)
        out.append(Item("bench", f"i{i}", title, f"https://bench.example/{i}",
                        f"{a['summary']} {b['summary'][:200]}", "", when))
    return out


def best(fn: Callable[[], object]) -> float:
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def group_all(batch: list[Item], matches: list[tuple[Match, ...]]) -> int:
    window = Window()
    joined = 0
    for item, found in zip(batch, matches, strict=True):
        assert item.published is not None
        sig = signature(item, found, item.published.timestamp())
        decision = decide(sig, window.near(sig))
        joined += decision.story is not None
        window.add(Candidate(decision.story or item.key, sig))
    return joined


class MemoryStore:
    """The story index's queries of the state database, answered from memory."""

    def __init__(self) -> None:
        self.identities: set[str] = set()

    def known_identities(self, idents: Sequence[str]) -> set[str]:
        return self.identities.intersection(idents)

    def story_candidates(self, since: float) -> list[Candidate]:
        return []

    def stories_reached(self, destination: str, stories: Sequence[str]) -> set[str]:
        return set()


def stage_all(batch: list[Item], matches: list[tuple[Match, ...]]) -> int:
    """The bot's story stage on the items, poll by poll (what `Pipeline.poll` asks of it)."""
    store = MemoryStore()
    index = StoryIndex(store)
    joined = 0
    for start in range(0, len(batch), POLL_ITEMS):
        items = batch[start:start + POLL_ITEMS]
        assert items[-1].published is not None
        poll = index.begin(items[-1].published.timestamp())
        copies = poll.duplicates(items)
        for item, found in zip(items, matches[start:start + POLL_ITEMS], strict=True):
            if item.key not in copies:
                joined += poll.story_of(item, found, "bench") not in ("", item.key)
        store.identities.update(ident for ident, _ in poll.record.identities)
        index.committed(poll.record)
    return joined


def main() -> None:
    engine = Engine(load_rules([ROOT / "rules"]).rules)
    batch = items()
    matches = [engine.match(i) for i in batch]
    matching = best(lambda: [engine.match(i) for i in batch])
    grouping = best(lambda: group_all(batch, matches))
    joined = group_all(batch, matches)
    ratio = grouping / matching
    print(f"   matching {len(batch):,} items (starter rules): {matching:.2f} s "
          f"({len(batch) / matching:,.0f} items/s)")
    print(f"   grouping the same items against the window:  {grouping:.2f} s "
          f"({len(batch) / grouping:,.0f} items/s; {joined:,} joined a story)")
    print(f"   grouping / matching: {ratio:.2f}x (bound {LIMIT:.0f}x) "
          f"{'ok' if ratio <= LIMIT else 'OVER'}")
    stage = best(lambda: stage_all(batch, matches))
    grouped = sum(1 for found in matches if found)
    print(f"   the bot's story stage on the same items ({POLL_ITEMS} a poll; it groups the {grouped:,} "
          f"a rule matched): {stage:.2f} s, {stage / matching:.2f}x the matching "
          f"({stage_all(batch, matches):,} joined a story)")


if __name__ == "__main__":
    main()
