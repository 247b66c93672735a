"""`make eval`: precision and recall of the rules on the labelled relevance set.

An item is *alerted* when any rule matches its title or summary (content is empty, feed filters
are ignored, as in a dry run). Alerted is compared with the label `relevant`, overall and per
language. Only `id`, `title` and `summary` reach the engine; `event`, `topic` and `why` are
labels and are used for reporting only.

    python -m bench.eval [--rules PATH ...] [--data FILE] [--verbose]

The data is the repository's copy of the labelled set (`tests/data/shared/eval/`, taken from
`../shared/eval/`), so a fresh clone runs it.
"""

from __future__ import annotations

import argparse
import json
import sys
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
DEFAULT_DATA = ROOT / "tests" / "data" / "shared" / "eval" / "relevance-dev.jsonl"
LANGS = ("en", "zh")


@dataclass(frozen=True, slots=True)
class Labelled:
    id: str
    lang: str
    title: str
    summary: str
    relevant: bool
    topic: str


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

    def counts(self, lang: str | None = None) -> Counts:
        counts = Counts()
        for outcome in self.outcomes:
            if lang is None or outcome.item.lang == lang:
                counts.add(outcome.alerted, outcome.item.relevant)
        return counts

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
                                      bool(raw["relevant"]), str(raw.get("topic", ""))))
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{number}: not a labelled item ({exc})") from None
    return items


def evaluate(rules: Sequence[str | Path] = (DEFAULT_RULES,),
             data: str | Path = DEFAULT_DATA) -> Report:
    """Match every labelled item against the rules. Raises RuleError for invalid rules."""
    engine = Engine(load_rules(list(rules)).rules)
    report = Report()
    for labelled in read_labelled(Path(data)):
        item = Item("eval", labelled.id, labelled.title, None, labelled.summary, "", None)
        report.outcomes.append(Outcome(labelled, engine.match(item, None)))
    return report


def _row(name: str, counts: Counts) -> str:
    return (f"{name:<8} {counts.total:>5} {counts.precision:>9.3f} {counts.recall:>7.3f} "
            f"{counts.f1:>6.3f} {counts.tp:>4} {counts.fp:>4} {counts.fn:>4} {counts.tn:>4}")


def _describe(outcome: Outcome) -> str:
    item = outcome.item
    lines = [f"  {item.id} [{item.lang}] topic={item.topic}: {item.title}"]
    for match in outcome.matches:
        terms = ", ".join(dict.fromkeys(f"{hit.term!r}" for hit in match.hits))
        lines.append(f"      fired {match.rule_id} on {terms}")
    return "\n".join(lines)


def print_report(report: Report, *, verbose: bool, out: TextIO | None = None) -> None:
    out = out or sys.stdout
    print(f"{'':<8} {'items':>5} {'precision':>9} {'recall':>7} {'f1':>6} "
          f"{'TP':>4} {'FP':>4} {'FN':>4} {'TN':>4}", file=out)
    print(_row("overall", report.counts()), file=out)
    for lang in LANGS:
        print(_row(lang, report.counts(lang)), file=out)
    per_rule: dict[str, list[int]] = {}
    for outcome in report.outcomes:
        for match in outcome.matches:
            tally = per_rule.setdefault(match.rule_id, [0, 0])
            tally[0 if outcome.item.relevant else 1] += 1
    if per_rule:
        print("\nalerts per rule (relevant / not relevant):", file=out)
        for rule_id, (good, bad) in sorted(per_rule.items()):
            print(f"  {rule_id:<28} {good:>4} / {bad}", file=out)
    if verbose:
        fps, fns = report.errors()
        print(f"\nfalse positives ({len(fps)}):", file=out)
        for outcome in fps:
            print(_describe(outcome), file=out)
        print(f"\nfalse negatives ({len(fns)}):", file=out)
        for outcome in fns:
            print(_describe(outcome), file=out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.eval",
                                     description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--rules", action="append", metavar="PATH",
                        help=f"rule file or folder (repeatable; default {DEFAULT_RULES})")
    parser.add_argument("--data", default=str(DEFAULT_DATA), metavar="FILE",
                        help=f"labelled JSON Lines (default {DEFAULT_DATA})")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="list the false positives and false negatives with the rules fired")
    args = parser.parse_args(argv)
    rules = args.rules or [str(DEFAULT_RULES)]
    data = Path(args.data)
    if not data.is_file():
        print(f"eval: no labelled data at {data} (pass --data FILE)", file=sys.stderr)
        return 1
    try:
        report = evaluate(rules, data)
    except RuleError as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"eval: {exc}", file=sys.stderr)
        return 1
    print(f"rules: {', '.join(rules)}\ndata:  {data}\n")
    print_report(report, verbose=args.verbose)
    return 0


if __name__ == "__main__":
    sys.exit(main())
