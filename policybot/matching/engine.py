"""Pure matching: compile rules once, then `match(item)` -> Matches, in rule order.

Per item each field is normalised once and scanned once by a single automaton holding every
plain term of every rule. Each rule is indexed under the keys of one "trigger": a set of terms
at least one of which must be present for the rule to hold (for `all`, the child whose terms
are rarest across the rules). Only rules whose trigger was seen are evaluated, plus the few
that could hold on regexes alone. Inside a rule, plain terms are tried before `near`, and
`near` before regexes, so a regex runs only when the cheaper conditions already hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from policybot.matching.normalize import Normalized, normalize
from policybot.matching.scan import Spans, build_automaton, scan, word_starts, words_between
from policybot.matching.spec import Group, Near, Node, Regex, Rule, Terms, walk_all
from policybot.model import FIELDS, Feed, Hit, Item, Match

_RawHit = tuple[str, int, int, str, str | None]   # field, start, end (normalised), term, entity


@dataclass(slots=True)
class _FieldState:
    norm: Normalized
    found: Spans
    words: list[int] | None = None

    def word_starts(self) -> list[int]:
        if self.words is None:
            self.words = word_starts(self.norm.text)
        return self.words


@dataclass(frozen=True, slots=True)
class _Compiled:
    rule: Rule
    match: Group
    feeds: frozenset[str] | None
    required: tuple[frozenset[str], ...]   # one key of each must be seen for the rule to hold


@dataclass(slots=True)
class _ItemState:
    """Everything computed about one item; lives for one `match` call."""

    fields: dict[str, _FieldState] = field(default_factory=dict)
    _seen: dict[tuple[str, ...], set[str]] = field(default_factory=dict)

    def seen(self, names: tuple[str, ...]) -> set[str]:
        """Keys found in any of the named fields."""
        keys = self._seen.get(names)
        if keys is None:
            keys = self._seen[names] = set().union(*(self.fields[n].found for n in names))
        return keys


class Engine:
    """Compiled rules. Immutable after __init__; instances share nothing."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        self._rules = tuple(
            _Compiled(rule, _cheap_first(rule.match),
                      frozenset(rule.feeds) if rule.feeds is not None else None,
                      tuple(_required(rule.match)))
            for rule in rules
        )
        keys = _rule_keys(self._rules)
        self._automaton = build_automaton(sorted({k for ks in keys for k in ks}))
        self._index, self._always = _index(self._rules, keys)
        self._fields = tuple(f for f in FIELDS if any(f in c.rule.fields for c in self._rules))

    @property
    def rules(self) -> tuple[Rule, ...]:
        return tuple(compiled.rule for compiled in self._rules)

    def match(self, item: Item, feed: Feed | None = None) -> tuple[Match, ...]:
        """Every rule the item matches, in rule order; `feed` None ignores `feeds:` filters."""
        state = _ItemState()
        for name in self._fields:
            norm = normalize(item.text(name))
            state.fields[name] = _FieldState(norm, scan(self._automaton, norm.text))
        matches = []
        for position in self._candidates(state):
            compiled = self._rules[position]
            if _feed_ok(compiled, feed) and _holds(compiled.match, state, compiled.rule.fields):
                matches.append(_to_match(compiled, state))
        return tuple(matches)

    def _candidates(self, state: _ItemState) -> list[int]:
        """Rules, in order, whose every required key set has a key in the item."""
        index, rules = self._index, self._rules
        positions = set(self._always)
        for field_state in state.fields.values():
            for key in field_state.found:
                positions.update(index.get(key, ()))
        passed = []
        for position in positions:
            compiled = rules[position]
            seen = state.seen(compiled.rule.fields)
            for keys in compiled.required:
                if keys.isdisjoint(seen):
                    break
            else:
                passed.append(position)
        passed.sort()
        return passed


def _feed_ok(compiled: _Compiled, feed: Feed | None) -> bool:
    if compiled.feeds is None or feed is None:
        return True
    return feed.id in compiled.feeds or any(f"tag:{tag}" in compiled.feeds for tag in feed.tags)


def _cost(node: Node) -> int:
    if isinstance(node, Group):
        return max((_cost(child) for child in node.children), default=0)
    return {Terms: 0, Near: 1}.get(type(node), 2)


def _cheap_first(group: Group) -> Group:
    children = tuple(_cheap_first(c) if isinstance(c, Group) else c for c in group.children)
    return Group(group.op, tuple(sorted(children, key=_cost)))


def _rule_keys(rules: Sequence[_Compiled]) -> list[set[str]]:
    keys = []
    for compiled in rules:
        leaves = walk_all(compiled.match)
        terms = [leaf for leaf in leaves if isinstance(leaf, Terms)]
        terms += [side for leaf in leaves if isinstance(leaf, Near) for side in (leaf.a, leaf.b)]
        keys.append({term.key for group in terms for term in group.terms})
    return keys


def _index(
    rules: Sequence[_Compiled], keys: Sequence[set[str]]
) -> tuple[dict[str, tuple[int, ...]], tuple[int, ...]]:
    """key -> rules to evaluate when it is seen; and the rules to evaluate always."""
    weight: dict[str, int] = {}
    for rule_keys in keys:
        for key in rule_keys:
            weight[key] = weight.get(key, 0) + 1
    index: dict[str, list[int]] = {}
    always: list[int] = []
    for position, compiled in enumerate(rules):
        if not compiled.required:
            always.append(position)
            continue
        trigger = min(compiled.required, key=lambda keys: _weight(keys, weight))
        for key in trigger:
            index.setdefault(key, []).append(position)
    return {key: tuple(found) for key, found in index.items()}, tuple(always)


def _required(node: Node) -> list[frozenset[str]]:
    """Key sets of which the node needs one key each (an `any` needs one of its union)."""
    if isinstance(node, Terms):
        return [frozenset(term.key for term in node.terms)]
    if isinstance(node, Near):
        return [*_required(node.a), *_required(node.b)]
    if isinstance(node, Regex) or node.op == "none":
        return []
    needs = [_required(child) for child in node.children]
    if node.op == "all":
        return [keys for need in needs for keys in need]
    if all(needs):  # any: one of the children, each needing at least its lightest set
        return [frozenset().union(*(need[0] for need in needs))]
    return []


def _weight(keys: frozenset[str], weight: dict[str, int]) -> int:
    return sum(weight.get(key, 0) for key in keys)


def _holds(node: Node, state: _ItemState, fields: Sequence[str]) -> bool:
    if isinstance(node, Terms):
        seen = state.seen(fields)
        return any(term.key in seen for term in node.terms)
    if isinstance(node, Regex):
        texts = (state.fields[f].norm.text for f in fields)
        return any(node.compiled.search(text) for text in texts if text)
    if isinstance(node, Near):
        return any(_near_pairs(node, state.fields[f]) for f in fields)
    if node.op == "all":
        return all(_holds(child, state, fields) for child in node.children)
    if node.op == "any":
        return any(_holds(child, state, fields) for child in node.children)
    return not any(_holds(child, state, fields) for child in node.children)


def _spans(terms: Terms, field_state: _FieldState) -> list[tuple[int, int]]:
    found = field_state.found
    return sorted(span for term in terms.terms for span in found.get(term.key, ()))


def _near_pairs(node: Near, field_state: _FieldState) -> list[tuple[int, int]]:
    """Spans of both terms where they occur within `node.within` words of each other."""
    a_spans, b_spans = _spans(node.a, field_state), _spans(node.b, field_state)
    if not a_spans or not b_spans:
        return []
    starts = field_state.word_starts()
    pairs: list[tuple[int, int]] = []
    for a in a_spans:
        for b in b_spans:
            first, second = (a, b) if a[0] <= b[0] else (b, a)
            if first[1] <= second[0] and words_between(starts, first, second) <= node.within:
                pairs += (a, b)
    return pairs


def _hits(node: Node, state: _ItemState, fields: Sequence[str], out: list[_RawHit]) -> None:
    """Append the positive terms found in the parts of `node` that hold."""
    if isinstance(node, Group):
        if node.op == "none":
            return
        for child in node.children:   # a leaf that does not hold adds no hits anyway
            if not isinstance(child, Group) or _holds(child, state, fields):
                _hits(child, state, fields, out)
        return
    for name in fields:
        field_state = state.fields[name]
        if isinstance(node, Terms):
            found = field_state.found
            for term in node.terms if found else ():
                for start, end in found.get(term.key, ()):
                    out.append((name, start, end, term.alias, term.entity))
        elif isinstance(node, Regex):
            for hit in node.compiled.finditer(field_state.norm.text):
                out.append((name, hit.start(), hit.end(), node.label, None))
        else:
            _near_hits(node, name, field_state, out)


def _near_hits(node: Near, name: str, field_state: _FieldState, out: list[_RawHit]) -> None:
    spans = set(_near_pairs(node, field_state))
    for term in node.a.terms + node.b.terms:
        for start, end in field_state.found.get(term.key, ()):
            if (start, end) in spans:
                out.append((name, start, end, term.alias, term.entity))


def _to_match(compiled: _Compiled, state: _ItemState) -> Match:
    raw: list[_RawHit] = []
    _hits(compiled.match, state, compiled.rule.fields, raw)
    seen: dict[tuple[str, int, int], Hit] = {}
    for name, start, end, term, entity in raw:
        ostart, oend = state.fields[name].norm.span(start, end)
        seen.setdefault((name, start, end), Hit(term, entity, name, ostart, oend))
    hits = sorted(seen.values(), key=lambda h: (FIELDS.index(h.field), h.start, h.end))
    rule = compiled.rule
    return Match(rule.id, rule.title, rule.severity, tuple(hits))
