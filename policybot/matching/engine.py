"""Pure matching: compile rules once, then `match(item)` -> Matches, in rule order.

Per item each field is normalised once and scanned once by a single automaton holding every
plain term of every rule. Each rule is indexed under one set of keys at least one of which must
be present for it to hold (of its required sets, the one whose terms the fewest rules share):
only rules whose trigger was seen are evaluated, plus the few that could hold on regexes
alone. Evaluating a candidate is a few set operations on the keys seen (plan.py); `near` and
regexes run only after the plain terms hold. Hits are built only for rules that match, once
per item for each leaf however many rules share it (evaluate.py).

The cost per item is the scan (it grows slowly with the number of distinct terms) plus a small
cost per candidate and per match: it grows with how many rules an item brings up, not with how
many rules there are.
"""

from __future__ import annotations

from collections.abc import Sequence

from policybot.matching.evaluate import (
    Entry,
    FieldState,
    ItemState,
    holds_rest,
    plan_entries,
    sorted_hits,
)
from policybot.matching.normalize import normalize
from policybot.matching.plan import Compiled, Compiler, index, rule_keys
from policybot.matching.scan import build_automaton, scan
from policybot.matching.spec import Rule
from policybot.model import FIELDS, Feed, Item, Match


class Engine:
    """Compiled rules. Immutable after __init__; instances share nothing."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        compiler = Compiler()
        self._rules = tuple(compiler.compile(rule) for rule in rules)
        keys = [rule_keys(rule) for rule in rules]
        self._automaton = build_automaton(sorted({k for ks in keys for k in ks}))
        self._index, self._always = index(self._rules, keys)
        self._fields = tuple(f for f in FIELDS if any(f in c.fields for c in self._rules))

    @property
    def rules(self) -> tuple[Rule, ...]:
        return tuple(compiled.rule for compiled in self._rules)

    def match(self, item: Item, feed: Feed | None = None) -> tuple[Match, ...]:
        """Every rule the item matches, in rule order; `feed` None ignores `feeds:` filters."""
        state = self.scan(item)
        rules, seen_in = self._rules, state.seen
        everywhere = self._fields
        seen_all = seen_in(everywhere)
        matches = []
        for position in self._candidates(seen_all):
            compiled = rules[position]
            seen = seen_all if compiled.fields == everywhere else seen_in(compiled.fields)
            for keys in compiled.needs:
                if keys.isdisjoint(seen):
                    break
            else:
                if compiled.forbid.isdisjoint(seen) and (
                        compiled.simple or _rest_holds(compiled, state, feed)):
                    matches.append(_to_match(compiled, state, seen))
        return tuple(matches)

    def scan(self, item: Item) -> ItemState:
        """Normalise and scan the fields the rules read: what `match` and `explain` evaluate."""
        fields = {}
        for name in self._fields:
            norm = normalize(item.text(name))
            found = scan(self._automaton, norm.text)
            fields[name] = FieldState(name, FIELDS.index(name), norm, found)
        return ItemState(fields)

    def _candidates(self, seen: set[str]) -> list[int]:
        """Positions, in order, of the rules whose trigger was seen, and of the `always` ones."""
        get = self._index.get
        positions = set(self._always)
        for found in map(get, seen):
            if found is not None:
                positions.update(found)
        return sorted(positions)


def _rest_holds(compiled: Compiled, state: ItemState, feed: Feed | None) -> bool:
    """The feed filter, then the conditions that are more than plain terms (cheapest first)."""
    if compiled.feeds is not None and not _feed_ok(compiled, feed):
        return False
    if compiled.rest:
        seen = state.seen(compiled.fields)
        for node in compiled.rest:
            if not holds_rest(node, state, seen, compiled.fields):
                return False
    return True


def _feed_ok(compiled: Compiled, feed: Feed | None) -> bool:
    if compiled.feeds is None or feed is None:
        return True
    return feed.id in compiled.feeds or any(f"tag:{tag}" in compiled.feeds for tag in feed.tags)


def _to_match(compiled: Compiled, state: ItemState, seen: set[str]) -> Match:
    entries: list[Entry] = []
    plan_entries(compiled.plan, state, compiled.fields, seen, entries)
    rule = compiled.rule
    return Match(rule.id, rule.title, rule.severity, sorted_hits(entries) if entries else ())
