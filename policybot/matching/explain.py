"""Pure: why a rule did or did not alert on an item, in one line.

    rule tariffs: all ok ($tariffs 'tariff' in title); any ok ($measure-actions 'raises' in
    title); none failed: in title: $commentary 'Opinion' in title -> no alert

Each part of the rule's `match:` (all / any / none, in the order written) says whether it held
and the evidence: the first term found of each leaf that decided it, or what was missing.
The verdict comes from the same `holds` the engine evaluates (the engine's needs/forbid fast
path is an optimisation of it), so the line and the alert agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from policybot.matching.engine import Engine
from policybot.matching.evaluate import FieldState, ItemState, holds, near_pairs
from policybot.matching.spec import Group, Near, Node, Regex, Rule, Terms
from policybot.model import Item

MAX_SHOWN = 3     # leaves listed for a group ("no $a, $b, $c, ...")


@dataclass(frozen=True, slots=True)
class _Seen:
    """The engine's per-item state and the item itself (for the original spelling of hits)."""

    state: ItemState
    item: Item


def explain(engine: Engine, item: Item) -> list[str]:
    """One line per rule of the engine, in rule order."""
    state = engine.scan(item)
    return [explain_rule(rule, state, item) for rule in engine.rules]


def explain_rule(rule: Rule, state: ItemState, item: Item) -> str:
    """`rule ID: <part>; <part> -> alert | no alert` for an item the engine scanned."""
    fields = rule.match.fields or rule.fields   # a whole `match:` may be narrowed by `in:`
    seen = _Seen(state, item)
    parts = [_part(part, seen, fields) for part in rule.match.children]
    verdict = "alert" if holds(rule.match, state, rule.fields) else "no alert"
    return f"rule {rule.id}: {'; '.join(parts)} -> {verdict}"


def failed_parts(rule: Rule, state: ItemState, item: Item) -> list[str]:
    """The top-level parts of the rule's `match:` that did not hold on a scanned item, each as
    explain_rule words them (`any failed: no $tariffs, 'duty'`): why an example failed."""
    fields = rule.match.fields or rule.fields
    seen = _Seen(state, item)
    return [_part(part, seen, fields) for part in rule.match.children
            if not holds(part, state, fields)]


def _part(node: Node, seen: _Seen, fields: tuple[str, ...]) -> str:
    """A top-level part (all / any / none): `all ok (evidence)` or `none failed: evidence`."""
    name = node.op if isinstance(node, Group) else "term"
    evidence = _why(node, seen, fields)
    if holds(node, seen.state, fields):
        return f"{name} ok ({evidence})"
    return f"{name} failed: {evidence}"


def _why(node: Node, seen: _Seen, fields: tuple[str, ...]) -> str:
    """The evidence for the node's outcome: what was found, or what was missing."""
    if not isinstance(node, Group):
        return _leaf(node, seen, fields)
    inner = node.fields or fields
    scope = f"in {'/'.join(node.fields)}: " if node.fields else ""
    held = [child for child in node.children if holds(child, seen.state, inner)]
    if node.op == "any":
        shown = held[:1] or list(node.children)
    elif node.op == "all":
        missing = [c for c in node.children if c not in held]
        shown = missing[:1] if missing else held
    else:   # none: what was found (it failed), or that nothing was
        if not held:
            return scope + "nothing found"
        shown = held
    text = ", ".join(_why(child, seen, inner) for child in shown[:MAX_SHOWN])
    more = ", ..." if len(shown) > MAX_SHOWN else ""
    return scope + text + more


def _leaf(node: Node, seen: _Seen, fields: tuple[str, ...]) -> str:
    for name in fields:
        field = seen.state.fields[name]
        text = seen.item.text(name)
        if isinstance(node, Terms):
            for term in node.terms:
                spans = field.found.get(term.key)
                if spans:
                    return f"{_label(node)} '{_text(text, field, spans[0])}' in {name}"
        elif isinstance(node, Regex):
            found = node.compiled.search(field.norm.text)
            if found:
                return f"{node.label} '{_text(text, field, found.span())}' in {name}"
        elif isinstance(node, Near):
            pairs = near_pairs(node, field)
            if pairs:
                shown = " ... ".join(_text(text, field, span) for span in pairs[:2])
                return f"near({_label(node.a)}, {_label(node.b)}) '{shown}' in {name}"
    if isinstance(node, Near):
        return f"no {_label(node.a)} near {_label(node.b)}"
    return f"no {_label(node) if isinstance(node, Terms) else node.label}"  # type: ignore[union-attr]


def _label(terms: Terms) -> str:
    first = terms.terms[0]
    return first.entity or repr(first.alias)


def _text(text: str, field: FieldState, span: tuple[int, int]) -> str:
    """The original text of a normalised span (the item's own spelling)."""
    start, end = field.norm.span(*span) if field.norm.edits else span
    return text[start:end]
