"""`make eval`: precision and recall of the rules on the labelled relevance sets.

An item is *alerted* when any rule matches its title or summary (content is empty, feed filters
are ignored, as in a dry run). Alerted is compared with the label `relevant`, overall, per
language and per topic, on each set: `relevance-dev.jsonl` (written items) and
`relevance-real-dev.jsonl` (text written after real pages). Every false alert is listed with
the rules and terms that fired, every miss with its topic. Only `id`, `title` and `summary`
reach the engine; `event`, `topic` and `why` are labels, used for reporting and for `--part`.

    python -m bench.eval [--rules PATH ...] [--data FILE ...] [--part tune|holdout] [--brief]

`--part` keeps a fixed quarter of the events (`holdout`, chosen by a hash of the event key) or
the other three quarters (`tune`): tune the rules on one, check them on the other.

The data is the repository's copy of the labelled sets (`tests/data/shared/eval/`, taken from
`../shared/eval/`), so a fresh clone runs it.
"""

from __future__ import annotations

import argparse
import json
import sys
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from policybot.errors import RuleError
from policybot.matching.engine import Engine
from policybot.matching.rules import load_rules
from policybot.model import Item, Match

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_RULES = ROOT / "rules"
EVAL_DIR = ROOT / "tests" / "data" / "shared" / "eval"
DEFAULT_DATA = EVAL_DIR / "relevance-dev.jsonl"
REAL_DATA = EVAL_DIR / "relevance-real-dev.jsonl"
LANGS = ("en", "zh")
PARTS = ("tune", "holdout")
HOLDOUT_BUCKETS = 4       # one event in four is held out


@dataclass(frozen=True, slots=True)
class Labelled:
    id: str
    lang: str
    title: str
    summary: str
    relevant: bool
    topic: str
    event: str = ""

    @property
    def part(self) -> str:
        held = zlib.crc32(self.event.encode("utf-8")) % HOLDOUT_BUCKETS == 0
        return "holdout" if held else "tune"


@dataclass(frozen=True, slots=True)
class Outcome:
    item: Labelled
    matches: tuple[Match, ...]

    @property
    def alerted(self) -> bool:
        return bool(self.matches)


@dataclass(slots=True)
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, alerted: bool, relevant: bool) -> None:
        if alerted and relevant:
            self.tp += 1
        elif alerted:
            self.fp += 1
        elif relevant:
            self.fn += 1
        else:
            self.tn += 1

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def total(self) -> int:
        return self.tp + self.fp + self.fn + self.tn


@dataclass(slots=True)
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    def counts(self, lang: str | None = None, topic: str | None = None) -> Counts:
        counts = Counts()
        for outcome in self.outcomes:
            if lang is not None and outcome.item.lang != lang:
                continue
            if topic is not None and outcome.item.topic != topic:
                continue
            counts.add(outcome.alerted, outcome.item.relevant)
        return counts

    def topics(self) -> list[str]:
        return sorted({o.item.topic for o in self.outcomes}, key=lambda t: (t == "none", t))

    def errors(self) -> tuple[list[Outcome], list[Outcome]]:
        """(false positives, false negatives) in file order."""
        fps = [o for o in self.outcomes if o.alerted and not o.item.relevant]
        fns = [o for o in self.outcomes if not o.alerted and o.item.relevant]
        return fps, fns


def read_labelled(path: Path) -> list[Labelled]:
    items: list[Labelled] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                items.append(Labelled(str(raw["id"]), str(raw.get("lang", "?")),
                                      str(raw["title"]), str(raw.get("summary", "")),
                                      bool(raw["relevant"]), str(raw.get("topic", "")),
                                      str(raw.get("event", raw["id"]))))
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{number}: not a labelled item ({exc})") from None
    return items


def evaluate(rules: Sequence[str | Path] = (DEFAULT_RULES,),
             data: str | Path = DEFAULT_DATA, part: str | None = None) -> Report:
    """Match every labelled item (of `part`, if given) against the rules.
    Raises RuleError for invalid rules."""
    engine = Engine(load_rules(list(rules)).rules)
    report = Report()
    for labelled in read_labelled(Path(data)):
        if part is not None and labelled.part != part:
            continue
        item = Item("eval", labelled.id, labelled.title, None, labelled.summary, "", None)
        report.outcomes.append(Outcome(labelled, engine.match(item, None)))
    return report


def _row(name: str, counts: Counts) -> str:
    return (f"  {name:<30} {counts.total:>5} {counts.precision:>9.3f} {counts.recall:>7.3f} "
            f"{counts.f1:>6.3f} {counts.tp:>4} {counts.fp:>4} {counts.fn:>4} {counts.tn:>4}")


def _topic_row(name: str, counts: Counts) -> str:
    if name == "none":   # nothing to recall: how many of these items alerted
        return f"  {name:<30} {counts.total:>5}  false alerts {counts.fp:>3} of {counts.total}"
    return (f"  {name:<30} {counts.total:>5}  recall {counts.recall:>6.3f}  "
            f"(missed {counts.fn} of {counts.total})")


def _fired(match: Match) -> str:
    terms = dict.fromkeys(f"{hit.entity} {hit.term!r}" if hit.entity else repr(hit.term)
                          for hit in match.hits)
    return f"{match.rule_id} on {', '.join(terms)}"


def _describe(outcome: Outcome) -> list[str]:
    item = outcome.item
    lines = [f"  {item.id} [{item.lang}] {item.topic}: {item.title}"]
    lines += [f"      fired {_fired(match)}" for match in outcome.matches]
    return lines


def print_report(report: Report, *, verbose: bool = True, out: TextIO | None = None) -> None:
    out = out or sys.stdout
    lines = [f"  {'':<30} {'items':>5} {'precision':>9} {'recall':>7} {'f1':>6} "
             f"{'TP':>4} {'FP':>4} {'FN':>4} {'TN':>4}", _row("overall", report.counts())]
    lines += [_row(lang, report.counts(lang)) for lang in LANGS]
    lines.append("\n  per topic:")
    lines += [_topic_row(topic, report.counts(topic=topic)) for topic in report.topics()]
    per_rule: dict[str, list[int]] = {}
    for outcome in report.outcomes:
        for match in outcome.matches:
            per_rule.setdefault(match.rule_id, [0, 0])[0 if outcome.item.relevant else 1] += 1
    if per_rule:
        lines.append("\n  alerts per rule (relevant / not relevant):")
        lines += [f"  {rule_id:<30} {good:>4} / {bad}"
                  for rule_id, (good, bad) in sorted(per_rule.items())]
    if verbose:
        fps, fns = report.errors()
        lines.append(f"\n  false alerts ({len(fps)}):")
        lines += [line for outcome in fps for line in _describe(outcome)]
        lines.append(f"\n  misses ({len(fns)}):")
        lines += [line for outcome in fns for line in _describe(outcome)]
    print("\n".join(lines), file=out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.eval",
                                     description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--rules", action="append", metavar="PATH",
                        help=f"rule file or folder (repeatable; default {DEFAULT_RULES})")
    parser.add_argument("--data", action="append", metavar="FILE",
                        help="labelled JSON Lines (repeatable; default: both dev sets)")
    parser.add_argument("--part", choices=PARTS, help="only the tuning or the held-out events")
    parser.add_argument("--brief", action="store_true",
                        help="figures only: no list of false alerts and misses")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="(the default) list the false alerts and misses")
    args = parser.parse_args(argv)
    rules = args.rules or [str(DEFAULT_RULES)]
    datas = [Path(d) for d in args.data] if args.data else [DEFAULT_DATA, REAL_DATA]
    for data in datas:
        if not data.is_file():
            print(f"eval: no labelled data at {data} (pass --data FILE)", file=sys.stderr)
            return 1
    try:
        reports = [evaluate(rules, data, args.part) for data in datas]
    except RuleError as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"eval: {exc}", file=sys.stderr)
        return 1
    print(f"rules: {', '.join(rules)}")
    for data, report in zip(datas, reports, strict=True):
        part = f" ({args.part} part)" if args.part else ""
        print(f"\n== {data.name}{part}")
        print_report(report, verbose=not args.brief)
    return 0


if __name__ == "__main__":
    sys.exit(main())
