"""Per-item work: what the scan found, whether a condition holds, and the hits of a match.

`ItemState` lives for one `Engine.match` call. It caches what several rules ask for: the keys
seen in a set of fields, and each leaf's hits (a `$entity` or a phrase shared by many rules is
turned into `Hit`s once per item, and the same Hit objects go into every match that uses it).

Hits are bounded where they are collected: at most MAX_HITS_PER_TERM per term (or regex) and
field, and a match keeps the first MAX_HITS_PER_MATCH in text order, so a text repeating a
term a million times makes a match of a few dozen hits.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import islice
from operator import itemgetter

from policybot.matching.evidence import is_specific, rank
from policybot.matching.normalize import Normalized
from policybot.matching.scan import Spans, word_starts
from policybot.matching.spec import Group, Near, Node, Regex, Terms
from policybot.model import Hit

Entry = tuple[tuple[int, int, int], Hit]   # ((field order, start, end), hit)
Leaf = Terms | Near | Regex
Span = tuple[int, int]
MAX_HITS_PER_TERM = 20     # hits of one term (or regex) in one field that a match reports
MAX_HITS_PER_MATCH = 200   # the first ones in text order: enough to highlight, bounded to store
_position = itemgetter(0)


@dataclass(slots=True)
class FieldState:
    name: str
    order: int           # position in FIELDS: hits sort by it
    norm: Normalized
    found: Spans
    words: list[int] | None = None

    def word_starts(self) -> list[int]:
        if self.words is None:
            self.words = word_starts(self.norm.text)
        return self.words

    def hit(self, alias: str, entity: str | None, start: int, end: int) -> Entry:
        ostart, oend = self.norm.span(start, end) if self.norm.edits else (start, end)
        return (self.order, start, end), Hit(alias, entity, self.name, ostart, oend)


class ItemState:
    """Everything computed about one item; lives for one `match` call."""

    __slots__ = ("_seen", "fields", "leaves")

    def __init__(self, fields: dict[str, FieldState]) -> None:
        self.fields = fields
        self._seen: dict[tuple[str, ...], set[str]] = {}
        self.leaves: dict[tuple[int, int], list[Entry]] = {}   # (leaf id, fields id) -> hits

    def seen(self, names: tuple[str, ...]) -> set[str]:
        """Keys found in any of the named fields."""
        keys = self._seen.get(names)
        if keys is None:
            keys = self._seen[names] = set().union(*(self.fields[n].found for n in names))
        return keys


@dataclass(frozen=True, slots=True)
class AnyOf:
    """A compiled `any`: holds when one of `keys` is seen, else when one of `others` holds."""

    keys: frozenset[str]
    others: tuple[Node, ...]     # near, regexes, groups; cheapest first


def holds_rest(node: AnyOf | Node, state: ItemState, seen: set[str],
               fields: tuple[str, ...]) -> bool:
    if isinstance(node, AnyOf):
        if not node.keys.isdisjoint(seen):
            return True
        return any(holds(other, state, fields) for other in node.others)
    return holds(node, state, fields)


def holds(node: Node, state: ItemState, fields: tuple[str, ...]) -> bool:
    if isinstance(node, Terms):
        seen = state.seen(fields)
        return any(term.key in seen for term in node.terms)
    if isinstance(node, Regex):
        texts = (state.fields[f].norm.text for f in fields)
        return any(node.compiled.search(text) for text in texts if text)
    if isinstance(node, Near):
        return any(near_pairs(node, state.fields[f]) for f in fields)
    if node.fields is not None:
        fields = node.fields
    if node.op == "all":
        return all(holds(child, state, fields) for child in node.children)
    if node.op == "any":
        return any(holds(child, state, fields) for child in node.children)
    return not any(holds(child, state, fields) for child in node.children)


def _spans(terms: Terms, field_state: FieldState) -> list[tuple[int, int]]:
    found = field_state.found
    return sorted(span for term in terms.terms for span in found.get(term.key, ()))


def near_pairs(node: Near, field_state: FieldState) -> list[tuple[int, int]]:
    """Spans of both terms where they occur within `node.within` words of each other
    (in either order, not overlapping), sorted. O((a + b) log) however many occurrences."""
    a_spans, b_spans = _spans(node.a, field_state), _spans(node.b, field_state)
    if not a_spans or not b_spans:
        return []
    starts = field_state.word_starts()
    found = _near_after(a_spans, b_spans, starts, node.within)
    found |= _near_after(b_spans, a_spans, starts, node.within)
    return sorted(found)


def _near_after(firsts: list[Span], seconds: list[Span], starts: list[int], within: int) -> set[Span]:
    """The spans of pairs where a `seconds` span starts after a `firsts` span ends, with at
    most `within` words between them. `seconds` is sorted: the partners of one first span
    are a run of it, marked with a difference array."""
    second_starts = [span[0] for span in seconds]
    second_words = [bisect_right(starts, start) - 1 for start in second_starts]  # ascending
    marks = [0] * (len(seconds) + 1)
    found: set[Span] = set()
    for first in firsts:
        lo = bisect_left(second_starts, first[1])
        last_word = bisect_right(starts, first[1] - 1) - 1
        hi = bisect_right(second_words, last_word + 1 + within)
        if lo < hi:
            found.add(first)
            marks[lo] += 1
            marks[hi] -= 1
    open_runs = 0
    for position, second in enumerate(seconds):
        open_runs += marks[position]
        if open_runs:
            found.add(second)
    return found


@dataclass(frozen=True, slots=True)
class TermsLeaf:
    """A phrase or `$entity` compiled for hits: its keys, and per key (walk order, alias, entity).

    One alias found is enough for the leaf to hold, so the leaf reports what decided it: the
    specific aliases found (evidence.is_specific: "Entity List", not "list" too), else the one
    common alias that ranks first (evidence.rank: "addition" rather than "add" and "list")."""

    keys: frozenset[str]
    terms: dict[str, tuple[int, str, str | None]]
    single: str | None     # the key of a one-key leaf (most phrases): no set test, no sort
    specific: frozenset[str] = frozenset()
    preference: dict[str, tuple[bool, int, int]] = field(default_factory=dict)  # key -> rank, order

    @classmethod
    def of(cls, terms: Terms) -> TermsLeaf:
        info = {t.key: (i, t.alias, t.entity) for i, t in reversed(list(enumerate(terms.terms)))}
        if len(info) == 1:
            return cls(frozenset(info), info, next(iter(info)))
        specific = frozenset(key for key, (_, alias, _) in info.items() if is_specific(alias))
        preference = {key: (*rank(alias), i) for key, (i, alias, _) in info.items()}
        return cls(frozenset(info), info, None, specific, preference)

    def deciding(self, present: set[str]) -> Iterable[str]:
        """Of the keys found (more than one), those that decided, in the leaf's term order."""
        strong = present & self.specific
        if not strong:
            return (min(present, key=self.preference.__getitem__),)
        return sorted(strong, key=self.terms.__getitem__) if len(strong) > 1 else strong


@dataclass(frozen=True, slots=True)
class InScope:
    """An `in:` group for hits: walked only if it holds, its leaves reporting hits in its own
    fields."""

    group: Group
    plan: tuple[Step, ...]


@dataclass(frozen=True, slots=True)
class FirstOf:
    """An `any` for hits: the hits of its first alternative that holds. Alternatives are
    (condition, plan): its plain terms as one alternative first (condition None: held when
    one of its keys is seen), then near, regexes and groups, cheapest first."""

    alternatives: tuple[tuple[Node | None, tuple[Step, ...]], ...]


def _leaf_entries(leaf: Leaf, state: ItemState, fields: Sequence[str]) -> list[Entry]:
    """A regex's or a `near`'s hits in `fields`, in rule-walk order: field, then span."""
    out: list[Entry] = []
    for name in fields:
        field_state = state.fields[name]
        if isinstance(leaf, Regex):
            found = leaf.compiled.finditer(field_state.norm.text)
            for hit in islice(found, MAX_HITS_PER_TERM):
                out.append(field_state.hit(leaf.label, None, hit.start(), hit.end()))
        elif isinstance(leaf, Near):
            _near_entries(leaf, field_state, out)
    return out


def _terms_entries(
    leaf: TermsLeaf, state: ItemState, fields: Sequence[str], seen: set[str]
) -> list[Entry]:
    """A phrase's or `$entity`'s hits in `fields`, in rule-walk order: field, term, span."""
    if leaf.single is not None:
        present: Iterable[str] = (leaf.single,)
    else:
        present = leaf.keys.intersection(seen)
        if len(present) > 1:
            present = leaf.deciding(present)
    out: list[Entry] = []
    fields_of = state.fields
    for name in fields:
        field_state = fields_of[name]
        found = field_state.found
        for key in present:
            spans = found.get(key)
            if spans is not None:
                _, alias, entity = leaf.terms[key]
                out += [field_state.hit(alias, entity, start, end)
                        for start, end in spans[:MAX_HITS_PER_TERM]]
    return out


def _near_entries(node: Near, field_state: FieldState, out: list[Entry]) -> None:
    """Both sides are evidence: the occurrences that pair up. Of a side's several terms
    found paired, the specific ones, else the one that ranks first (as TermsLeaf.deciding)."""
    spans = set(near_pairs(node, field_state))
    if not spans:
        return
    for side in (node.a, node.b):
        paired = []
        for term in side.terms:
            near = [span for span in field_state.found.get(term.key, ()) if span in spans]
            if near:
                paired.append((term, near))
        if len(paired) > 1:
            strong = [(term, near) for term, near in paired if is_specific(term.alias)]
            paired = strong or [min(paired, key=lambda found: rank(found[0].alias))]
        for term, near in paired:
            for start, end in near[:MAX_HITS_PER_TERM]:
                out.append(field_state.hit(term.alias, term.entity, start, end))


# A hit plan: the leaves whose hits a match reports, in rule-walk order. A step is a leaf
# ((leaf id, fields id), leaf, its plain-term keys or None); for an `any`, (None, FirstOf,
# None): only its first alternative that holds is walked; for an `in:` group,
# (None, InScope, None): walked in its own fields, if it holds.
Step = tuple[tuple[int, int] | None, object, frozenset[str] | None]


def plan_entries(
    plan: Sequence[Step], state: ItemState, fields: tuple[str, ...], seen: set[str],
    out: list[Entry],
) -> None:
    cache = state.leaves
    for cache_key, leaf, keys in plan:
        if keys is not None:
            if keys.isdisjoint(seen):
                continue   # a phrase or $entity the item lacks: no hits, nothing to look up
            entries = cache.get(cache_key)   # type: ignore[arg-type]
            if entries is None:
                entries = cache[cache_key] = _terms_entries(leaf, state, fields, seen)  # type: ignore
        elif cache_key is None:
            if isinstance(leaf, FirstOf):
                _first_entries(leaf, state, fields, seen, out)
            elif holds(leaf.group, state, fields):   # type: ignore[attr-defined]  # InScope
                scope = leaf.group.fields   # type: ignore[attr-defined]
                plan_entries(leaf.plan, state, scope, state.seen(scope), out)  # type: ignore
            continue
        else:
            entries = cache.get(cache_key)
            if entries is None:
                entries = cache[cache_key] = _leaf_entries(leaf, state, fields)  # type: ignore
        out += entries


def _first_entries(
    first: FirstOf, state: ItemState, fields: tuple[str, ...], seen: set[str], out: list[Entry],
) -> None:
    """The hits of the first alternative of an `any` that holds: what decided it."""
    for condition, sub_plan in first.alternatives:
        if condition is None:
            keys = sub_plan[0][2]
            if keys is None or keys.isdisjoint(seen):
                continue
        elif not holds(condition, state, fields):
            continue
        plan_entries(sub_plan, state, fields, seen, out)
        return


def sorted_hits(entries: list[Entry]) -> tuple[Hit, ...]:
    """One hit per (field, span), the first in rule-walk order, in text order; at most
    MAX_HITS_PER_MATCH, the first ones."""
    if len(entries) == 1:
        return (entries[0][1],)
    hits = []
    last = None
    if len(entries) > MAX_HITS_PER_MATCH:  # nsmallest is sorted()[:n]: stable too
        entries = heapq.nsmallest(MAX_HITS_PER_MATCH * 2, entries, key=_position)
    for key, hit in sorted(entries, key=_position):   # stable: equal spans keep walk order
        if key != last:
            hits.append(hit)
            last = key
    return tuple(hits[:MAX_HITS_PER_MATCH])
