"""Compile time: each rule flattened into a few set tests, and the index that picks candidates.

A rule's `match` is split into
- `needs`: key sets of which the item must contain one key each (a phrase or `$entity` under
  `all`, the union of an `any` of plain terms; for other conditions, the key sets they cannot
  hold without). Checking them is one `isdisjoint` each.
- `forbid`: the keys of a `none` of plain terms: none may be seen.
- `rest`: the conditions the two above do not decide (`near`, regexes, nested groups), tried
  cheapest first and only after `needs` and `forbid` pass.
- `plan`: the leaves whose hits a match reports (see evaluate.Step).
The rule is indexed under ONE of its `needs` sets, the one whose keys the fewest rules share,
so an item only brings up the rules whose rarest required term it contains.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from policybot.matching.evaluate import AnyOf, FirstOf, InScope, Leaf, Step, TermsLeaf
from policybot.matching.spec import Group, Near, Node, Regex, Rule, Terms, walk_all


@dataclass(frozen=True, slots=True)
class Compiled:
    rule: Rule
    fields: tuple[str, ...]
    feeds: frozenset[str] | None
    needs: tuple[frozenset[str], ...]
    forbid: frozenset[str]
    rest: tuple[AnyOf | Node, ...]
    plan: tuple[Step, ...]
    simple: bool     # no feed filter and no `rest`: `needs` and `forbid` decide alone


class Compiler:
    """Compiles rules, sharing equal leaves (and so their per-item hits) between them."""

    def __init__(self) -> None:
        self._leaves: dict[Leaf, int] = {}
        self._fields: dict[tuple[str, ...], int] = {}
        self._terms: dict[int, TermsLeaf] = {}

    def compile(self, rule: Rule) -> Compiled:
        match = _cheap_first(rule.match)
        needs: list[frozenset[str]] = []
        forbid: set[str] = set()
        rest: list[AnyOf | Node] = []
        _split(Group("all", (match,)), needs, forbid, rest)
        fid = self._fields.setdefault(rule.fields, len(self._fields))
        feeds = frozenset(rule.feeds) if rule.feeds is not None else None
        plan = self._plan(match, fid) if match.op != "none" else ()
        return Compiled(rule, rule.fields, feeds, tuple(needs), frozenset(forbid),
                        tuple(sorted(rest, key=_cost)), plan, feeds is None and not rest)

    def _plan(self, group: Group, fid: int) -> tuple[Step, ...]:
        """The leaves that decide a group that holds: every child of an `all` (each holds);
        of an `any`, its first alternative that holds (evaluate.FirstOf); `none`: nothing.
        An `in:` group is walked only if it holds, in its own fields (evaluate.InScope)."""
        if group.op == "any":
            return (self._first_of(group, fid),)
        steps: list[Step] = []
        for child in group.children:
            if not isinstance(child, Group):
                steps.append(self._step(child, fid))
            elif child.fields is not None:
                steps.append(self._scoped(child))
            elif child.op != "none":
                steps += self._plan(child, fid)
        return tuple(steps)

    def _first_of(self, group: Group, fid: int) -> Step:
        """An `any` whose plain terms count as one alternative (tried first), as if one list:
        of "export control" and "announced", when both are found, the specific one decided."""
        terms = [child for child in group.children if isinstance(child, Terms)]
        alternatives: list[tuple[Node | None, tuple[Step, ...]]] = []
        if terms:
            merged = Terms(tuple(term for child in terms for term in child.terms))
            alternatives.append((None, (self._step(merged, fid),)))
        for child in group.children:
            if isinstance(child, Group) and child.fields is not None:
                alternatives.append((child, (self._scoped(child),)))
            elif isinstance(child, Group):
                alternatives.append((child, self._plan(child, fid) if child.op != "none" else ()))
            elif not isinstance(child, Terms):
                alternatives.append((child, (self._step(child, fid),)))
        return None, FirstOf(tuple(alternatives)), None

    def _scoped(self, group: Group) -> Step:
        """An `in:` group: its plan in its own fields."""
        assert group.fields is not None
        sub = self._fields.setdefault(group.fields, len(self._fields))
        plan = self._plan(group, sub) if group.op != "none" else ()
        return None, InScope(group, plan), None

    def _step(self, leaf: Leaf, fid: int) -> Step:
        lid = self._leaves.setdefault(leaf, len(self._leaves))
        if isinstance(leaf, Terms):
            compiled = self._terms.get(lid)
            if compiled is None:
                compiled = self._terms[lid] = TermsLeaf.of(leaf)
            return (lid, fid), compiled, compiled.keys
        return (lid, fid), leaf, None


def _cost(node: AnyOf | Node) -> int:
    if isinstance(node, AnyOf):
        return max((_cost(other) for other in node.others), default=0)
    if isinstance(node, Group):
        return max((_cost(child) for child in node.children), default=0)
    return {Terms: 0, Near: 1}.get(type(node), 2)


def _cheap_first(group: Group) -> Group:
    children = tuple(_cheap_first(c) if isinstance(c, Group) else c for c in group.children)
    return Group(group.op, tuple(sorted(children, key=_cost)), group.fields)


def _keys(terms: Terms) -> frozenset[str]:
    return frozenset(term.key for term in terms.terms)


def _split(
    group: Group, needs: list[frozenset[str]], forbid: set[str], rest: list[AnyOf | Node]
) -> None:
    """Sort the children of an `all` group into needs / forbid / rest (see module doc)."""
    for child in group.children:
        if isinstance(child, Terms):
            needs.append(_keys(child))
        elif isinstance(child, Group) and child.fields is not None:   # `in:`: own fields
            needs.extend(required(child))
            rest.append(child)
        elif isinstance(child, Group) and child.op == "all":
            _split(child, needs, forbid, rest)
        elif isinstance(child, Group) and all(isinstance(c, Terms) for c in child.children):
            keys = frozenset().union(*(_keys(c) for c in child.children))  # type: ignore[arg-type]
            if child.op == "any":
                needs.append(keys)
            else:
                forbid.update(keys)
        else:
            needs.extend(required(child))
            rest.append(_any_of(child) if isinstance(child, Group) and child.op == "any" else child)


def _any_of(group: Group) -> AnyOf:
    """An `any` as one set test for its plain terms, then its other children."""
    terms = [_keys(c) for c in group.children if isinstance(c, Terms)]
    others = tuple(c for c in group.children if not isinstance(c, Terms))
    return AnyOf(frozenset().union(*terms), others)


def required(node: Node) -> list[frozenset[str]]:
    """Key sets of which the node needs one key each (an `any` needs one of its union)."""
    if isinstance(node, Terms):
        return [_keys(node)]
    if isinstance(node, Near):
        return [*required(node.a), *required(node.b)]
    if isinstance(node, Regex) or node.op == "none":
        return []
    needs = [required(child) for child in node.children]
    if node.op == "all":
        return [keys for need in needs for keys in need]
    if all(needs):  # any: one of the children, each needing at least its lightest set
        return [frozenset().union(*(need[0] for need in needs))]
    return []


def rule_keys(rule: Rule) -> set[str]:
    """Every plain term key of the rule, under `none` too: what the automaton must find."""
    leaves = walk_all(rule.match)
    terms = [leaf for leaf in leaves if isinstance(leaf, Terms)]
    terms += [side for leaf in leaves if isinstance(leaf, Near) for side in (leaf.a, leaf.b)]
    return {term.key for group in terms for term in group.terms}


def index(
    rules: Sequence[Compiled], keys: Sequence[set[str]]
) -> tuple[dict[str, tuple[int, ...]], tuple[int, ...]]:
    """key -> rules to evaluate when it is seen; and the rules to evaluate always."""
    weight: dict[str, int] = {}
    for rule_keys_ in keys:
        for key in rule_keys_:
            weight[key] = weight.get(key, 0) + 1
    found: dict[str, list[int]] = {}
    always: list[int] = []
    for position, compiled in enumerate(rules):
        if not compiled.needs:
            always.append(position)
            continue
        trigger = min(compiled.needs, key=lambda ks: sum(weight.get(k, 0) for k in ks))
        for key in trigger:
            found.setdefault(key, []).append(position)
    return {key: tuple(positions) for key, positions in found.items()}, tuple(always)
