"""`make eval`, story part: pairwise precision/recall (overall and inside sibling groups) and
B-cubed F1 of the story grouping on the labelled set `stories-dev.jsonl` (STORIES.md), then on
`tests/data/stories-extra.jsonl`: an independent set of the same kind (115 items, 33 stories, no
event shared with the dev set), written after the grouping was tuned, to see whether it generalises;
then on the sets written after it by people who never read the grouping's rules (`stories-blind`,
`-final`, `-fresh1` ... `-fresh32`, 95-132 items and 29-41 stories each), each measured first
untouched (its summary line only: the honest figure for events the rules had not seen), then used
to draw general rules from its errors (DRAWN); and last on `stories-fresh33` ... `-fresh35`
(HONEST), written the same way after all tuning and never looked at beyond their summary lines,
each and then pooled: the honest figure, with no floor test.

Items are grouped in `published` order, each against the earlier ones within the window, with
the matches of the repository's starter rules (as the bot would). `--part holdout` keeps one
sibling group in four (by a hash of its key), `tune` the others.

`--crowd K` groups each set again among K reports of other events around each item (real items
of the relevance sets, of events two years or more away, dated within a day of it): a feed is
denser than a labelled set, and an item that joins another event's report hides its alert. It
prints the scores then and how many items joined another event's report.

`--margin` compares every two items of different stories within the window alone (no story
around them): how many would join, and the closest pair with nothing to part it (its score
against the join score) - how far precision stands from the threshold, not only whether it holds.

    python -m bench.eval_stories [--data FILE] [--rules PATH] [--part tune|holdout] [--verbose] [--margin]
                                 [--crowd K]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import combinations
from pathlib import Path

from policybot.matching.engine import Engine
from policybot.matching.rules import load_rules
from policybot.model import Item
from policybot.stories.features import Signature, signature
from policybot.stories.group import WINDOW, Candidate, Decision, _threshold, decide, similarity
from policybot.stories.window import Window

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "shared" / "eval" / "stories-dev.jsonl"
DRAWN = "written without seeing the rules; general rules were then drawn from its errors"


def _labelled(name: str, how: str = DRAWN) -> tuple[Path, str]:
    """A set written after the dev set (tests/data/stories-NAME.jsonl) and how it was used."""
    return ROOT / "tests" / "data" / f"stories-{name}.jsonl", f"{name} ({how})"


EXTRA, EXTRA_LABEL = _labelled(
    "extra", "written after the dev tuning; general rules were then drawn from its errors")
BLIND, BLIND_LABEL = _labelled(
    "blind", "written without seeing the rules; a few general rules were then drawn from its errors")
HONEST = "written after all tuning, without seeing the rules; never looked at: the honest figure"
# the sets rules were drawn from, after the dev and extra sets, in the order they were written
DRAWN_SETS = {name: _labelled(name) for name in
              ("final", *(f"fresh{n}" for n in range(1, 33)))}
HONEST_SETS = {name: _labelled(name, HONEST) for name in ("fresh33", "fresh34", "fresh35")}
FINAL, FINAL_LABEL = DRAWN_SETS["final"]
RULES = ROOT / "rules"
HOLDOUT_BUCKETS = 4


@dataclass(frozen=True, slots=True)
class Scores:
    precision: float
    recall: float
    sibling_precision: float
    sibling_pairs: int        # same-group different-story pairs the bot merged
    bcubed_f1: float
    items: int


def load(path: Path, part: str | None = None) -> list[dict[str, str]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if part:
        rows = [r for r in rows if _part(r["group"]) == part]
    return sorted(rows, key=lambda r: r["published"])


def _part(group: str) -> str:
    return "holdout" if zlib.crc32(group.encode()) % HOLDOUT_BUCKETS == 0 else "tune"


@dataclass(frozen=True, slots=True)
class Margin:
    joined: int               # pairs of different stories that would join, compared alone
    closest: float            # the highest score / join score of a pair nothing parts
    pair: tuple[str, str]     # its titles


def margin(rows: Sequence[dict[str, str]], engine: Engine) -> Margin:
    sigs = [_signature(row, engine) for row in rows]
    joined, closest, pair = 0, 0.0, ("", "")
    for j, b in enumerate(sigs):
        for i, a in enumerate(sigs[:j]):
            if rows[i]["story"] == rows[j]["story"] or abs(a.when - b.when) > WINDOW:
                continue
            decision = decide(b, [Candidate(a.key, a)])
            ratio = similarity(b, a) / _threshold(b, a)
            joined += decision.story is not None
            if decision.story is None and "blocked" not in decision.why and ratio > closest:
                closest, pair = ratio, (rows[i]["title"], rows[j]["title"])
    return Margin(joined, closest, pair)


CROWD = ("relevance-dev.jsonl", "relevance-real-dev.jsonl")   # the other events' reports
CROWD_YEARS = 2       # ... of events this many years or more from the item's


@dataclass(frozen=True, slots=True)
class Crowded:
    scores: Scores            # of the labelled items, grouped among the others
    items: int                # labelled items
    joined_other: int         # labelled items that joined another event's report


def crowded(rows: Sequence[dict[str, str]], engine: Engine, k: int, seed: int = 1) -> Crowded:
    """The set grouped among `k` reports of other events around each item (`--crowd`)."""
    pool = [json.loads(line) for name in CROWD
            for line in (DATA.parent / name).read_text(encoding="utf-8").splitlines() if line.strip()]
    rng = random.Random(seed)
    others: list[dict[str, str]] = []
    far: dict[int, list[dict[str, str]]] = {}    # year -> the pool's reports of events far from it
    for row in rows:
        when = datetime.fromisoformat(row["published"].replace("Z", "+00:00"))
        if when.year not in far:
            far[when.year] = [p for p in pool if _far(p["event"], when.year)]
        for other in rng.sample(far[when.year], k):
            at = when + timedelta(seconds=rng.uniform(-86400, 86400))
            others.append({**other, "id": f"crowd-{len(others)}", "story": f"crowd-{len(others)}",
                           "group": f"crowd-{len(others)}", "source": "crowd", "link": f"https://crowd/{len(others)}",
                           "published": at.isoformat().replace("+00:00", "Z")})
    mine = {row["id"] for row in rows}
    joined_other, story_of = 0, {}
    for row, sig, decision in _grouped(sorted([*rows, *others], key=lambda r: r["published"]), engine):
        story_of[row["id"]] = decision.story or sig.key
        if row["id"] in mine and decision.pair is not None:
            joined_other += decision.pair[1].key.rpartition("\x1f")[2] not in mine
    return Crowded(score(rows, story_of), len(rows), joined_other)


def _far(event: str, year: int) -> bool:
    years = [int(y) for y in re.findall(r"(?<!\d)(20[0-3]\d)(?!\d)", event)]
    return bool(years) and all(abs(y - year) >= CROWD_YEARS for y in years)


def _signature(row: dict[str, str], engine: Engine) -> Signature:
    when = datetime.fromisoformat(row["published"].replace("Z", "+00:00"))
    item = Item(feed_id=row["source"], item_id=row["id"], title=row["title"], link=row["link"],
                summary=row["summary"], content="", published=when)
    return signature(item, engine.match(item), when.timestamp(), row["source"])


def cluster(rows: Sequence[dict[str, str]], engine: Engine) -> tuple[dict[str, str], dict[str, str]]:
    """Item id -> story id (its first item's id), item id -> the one-line decision."""
    stories: dict[str, str] = {}
    why: dict[str, str] = {}
    for row, sig, decision in _grouped(rows, engine):
        stories[row["id"]] = decision.story or sig.key
        why[row["id"]] = decision.why
    return stories, why


Grouped = tuple[dict[str, str], Signature, Decision]


def _grouped(rows: Iterable[dict[str, str]], engine: Engine) -> Iterator[Grouped]:
    """Each row (in published order) with its signature and decision, as the bot groups them:
    against the window, pruned as the bot's index prunes it each poll (2x the grouping window)."""
    recent = Window()
    for row in rows:
        sig = _signature(row, engine)
        recent.prune(sig.when - 2 * WINDOW)
        decision = decide(sig, recent.near(sig))
        yield row, sig, decision
        recent.add(Candidate(decision.story or sig.key, sig))


def score(rows: Sequence[dict[str, str]], bot: dict[str, str]) -> Scores:
    both = merged = true = 0
    sib_merged = sib_bad = 0
    for a, b in combinations(rows, 2):
        same_bot = bot[a["id"]] == bot[b["id"]]
        same_true = a["story"] == b["story"]
        merged += same_bot
        true += same_true
        both += same_bot and same_true
        if a["group"] == b["group"] and same_bot:
            sib_merged += 1
            sib_bad += not same_true
    return Scores(both / merged if merged else 1.0, both / true if true else 1.0,
                  1 - sib_bad / sib_merged if sib_merged else 1.0, sib_bad, _bcubed(rows, bot), len(rows))


def _bcubed(rows: Sequence[dict[str, str]], bot: dict[str, str]) -> float:
    ps, rs = [], []
    for r in rows:
        mine = {x["id"] for x in rows if bot[x["id"]] == bot[r["id"]]}
        truth = {x["id"] for x in rows if x["story"] == r["story"]}
        ps.append(len(mine & truth) / len(mine))
        rs.append(len(mine & truth) / len(truth))
    p, r = sum(ps) / len(ps), sum(rs) / len(rs)
    return 2 * p * r / (p + r) if p + r else 0.0


def report(name: str, s: Scores) -> str:
    return (f"stories {name}: {s.items} items  pairwise precision {s.precision:.3f}  recall "
            f"{s.recall:.3f}  |  inside sibling groups: precision {s.sibling_precision:.3f} "
            f"({s.sibling_pairs} false merges)  |  B-cubed F1 {s.bcubed_f1:.3f}")


def evaluate(data: Path = DATA, rules: Path = RULES, part: str | None = None) -> Scores:
    rows = load(data, part)
    bot, _ = cluster(rows, Engine(load_rules([rules]).rules))
    return score(rows, bot)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.eval_stories")
    parser.add_argument("--data", type=Path,
                        help="one labelled file (default: the dev set, then the extra, blind, final "
                             "and fresh1-6 sets)")
    parser.add_argument("--rules", type=Path, default=RULES)
    parser.add_argument("--part", choices=("tune", "holdout"))
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--crowd", type=int, metavar="K",
                        help="also group each set among K reports of other events around each item")
    parser.add_argument("--margin", action="store_true",
                        help="also compare the items of different stories two by two")
    args = parser.parse_args(argv)
    engine = Engine(load_rules([args.rules]).rules)
    parts = [args.part] if args.part else [None, "tune", "holdout"]
    every = [(DATA, ""), (EXTRA, EXTRA_LABEL), (BLIND, BLIND_LABEL), *DRAWN_SETS.values(),
             *HONEST_SETS.values()]
    sets = [(args.data, "")] if args.data else every
    for data, label in sets:
        if label:
            print(f"{label}:")
        for part in parts:
            rows = load(data, part)
            bot, why = cluster(rows, engine)
            print(report(part or "all", score(rows, bot)))
            if args.verbose and part is None:
                _details(rows, bot, why)
            if args.crowd and part is None:
                c = crowded(rows, engine, args.crowd)
                print(f"  crowded ({args.crowd} reports of other events around each item): "
                      f"{report('all', c.scores)}; {c.joined_other} of {c.items} items joined another "
                      f"event's report")
            if args.margin and part is None:
                m = margin(rows, engine)
                print(f"  margin: {m.joined} pairs of different stories would join alone; closest unparted "
                      f"pair at {m.closest:.2f}x the join score: {m.pair[0][:50]} | {m.pair[1][:50]}")
    if not args.data and not args.part:
        print(f"{', '.join(HONEST_SETS)} pooled ({HONEST}):")
        print(report("all", pooled([path for path, _ in HONEST_SETS.values()], engine)))
    return 0


def pooled(paths: Sequence[Path], engine: Engine) -> Scores:
    """The scores of several sets as one: each grouped alone, their pairs counted together (no
    pair of two sets is a story's, nor one the bot merged)."""
    rows: list[dict[str, str]] = []
    bot: dict[str, str] = {}
    for path in paths:
        mine = load(path)
        bot.update({item: f"{path.stem}/{story}" for item, story in cluster(mine, engine)[0].items()})
        rows += mine
    return score(rows, bot)


def _details(rows: Sequence[dict[str, str]], bot: dict[str, str], why: dict[str, str]) -> None:
    first = {}
    for r in rows:
        first.setdefault(bot[r["id"]], r)
    for r in rows:
        lead = first[bot[r["id"]]]
        mark = "" if lead["story"] == r["story"] else "  <<< FALSE MERGE"
        if lead is not r or any(x["story"] == r["story"] and bot[x["id"]] != bot[r["id"]] for x in rows):
            print(f"  {r['story'][:34]:34} {r['title'][:60]:60} | {why[r['id']]}{mark}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
