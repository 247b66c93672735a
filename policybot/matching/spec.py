"""Compiled rule specs: what rules.py produces and engine.py consumes. Frozen throughout."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from policybot.model import FIELDS


@dataclass(frozen=True, slots=True)
class Term:
    """One plain phrase: the alias as written, the entity it came from, its normal form."""

    alias: str
    entity: str | None   # "$rare-earths", or None for a phrase written in the rule
    key: str             # normalize_term(alias): what the automaton looks for


@dataclass(frozen=True, slots=True)
class Terms:
    """A phrase or an `$entity`: holds when any of its terms is found."""

    terms: tuple[Term, ...]


@dataclass(frozen=True, slots=True)
class Regex:
    """`/pattern/`: case-insensitive google-re2, run on the normalised text."""

    pattern: str
    compiled: Any = field(compare=False, hash=False, repr=False)

    @property
    def label(self) -> str:
        return f"/{self.pattern}/"


@dataclass(frozen=True, slots=True)
class Near:
    """Both sides in one field, in either order, with at most `within` words between them."""

    a: Terms
    b: Terms
    within: int


@dataclass(frozen=True, slots=True)
class Group:
    """`all`: every child holds; `any`: at least one does; `none`: no child does.
    `fields` (from `in:`) narrows where the group looks: None = the rule's fields."""

    op: str
    children: tuple[Node, ...]
    fields: tuple[str, ...] | None = None


Node = Terms | Regex | Near | Group


@dataclass(frozen=True, slots=True)
class Example:
    """A rule's own test: an item that must (expect=True) or must not match."""

    title: str
    summary: str
    content: str
    expect: bool
    line: int


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    title: str
    severity: str
    match: Group                       # op "all" over the given all / any / none parts
    fields: tuple[str, ...] = FIELDS
    feeds: tuple[str, ...] | None = None     # feed ids and "tag:x"; None = every feed
    notify: tuple[str, ...] | None = None    # destination ids; None = defaults.notify
    examples: tuple[Example, ...] = ()
    source: str = ""
    line: int = 0

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"


@dataclass(frozen=True, slots=True)
class RuleSet:
    rules: tuple[Rule, ...] = ()
    entities: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # name -> aliases

    def get(self, rule_id: str) -> Rule | None:
        return next((rule for rule in self.rules if rule.id == rule_id), None)


def walk_positive(node: Node) -> list[Terms | Regex | Near]:
    """The leaves that can make a rule hold: every leaf not under a `none`."""
    if isinstance(node, Group):
        if node.op == "none":
            return []
        return [leaf for child in node.children for leaf in walk_positive(child)]
    return [node]


def scopes(node: Node) -> list[tuple[str, ...]]:
    """The `in:` field lists of the node and of the groups inside it."""
    if not isinstance(node, Group):
        return []
    own = [node.fields] if node.fields is not None else []
    return own + [scope for child in node.children for scope in scopes(child)]


def walk_all(node: Node) -> list[Terms | Regex | Near]:
    """Every leaf, under `none` too."""
    if isinstance(node, Group):
        return [leaf for child in node.children for leaf in walk_all(child)]
    return [node]
