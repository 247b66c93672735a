"""`entities:` from every rule file: named term lists, shared across files, may nest `$other`."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from policybot.matching.conditions import Context, not_a_string, suggest, too_long
from policybot.matching.normalize import normalize_term
from policybot.matching.spec import Term, Terms
from policybot.yamlsrc import line_of

_NAME_RE = re.compile(r"[\w.-]+")


@dataclass(frozen=True, slots=True)
class _Raw:
    name: str
    aliases: Any
    source: str
    line: int


def resolve_entities(
    docs: Sequence[tuple[str, Mapping[str, Any]]], errors: list[tuple[str, int, str]]
) -> dict[str, Terms]:
    """Every file's entities, checked and expanded: name -> Terms (entity set to `$name`)."""
    raw = _collect(docs, errors)
    resolved: dict[str, Terms | None] = {}
    for name in raw:
        _resolve(name, raw, resolved, (), errors)
    return {name: terms for name, terms in resolved.items() if terms is not None}


def _collect(
    docs: Sequence[tuple[str, Mapping[str, Any]]], errors: list[tuple[str, int, str]]
) -> dict[str, _Raw]:
    raw: dict[str, _Raw] = {}
    for source, doc in docs:
        block = doc.get("entities")
        ctx = Context(source, errors)
        if block is None:
            continue
        if not isinstance(block, Mapping):
            ctx.error(line_of(doc, "entities"), "'entities' must map names to lists of terms")
            continue
        for name, aliases in block.items():
            line = line_of(block, name)
            if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
                ctx.error(line, f"entity name {name!r} may use letters, digits, '-', '_', '.'")
            elif name in raw:
                first = raw[name]
                ctx.error(line, f"duplicate entity '{name}' "
                          f"(first defined at {first.source}:{first.line})")
            else:
                raw[name] = _Raw(name, aliases, source, line)
    return raw


def _resolve(
    name: str,
    raw: Mapping[str, _Raw],
    resolved: dict[str, Terms | None],
    stack: tuple[str, ...],
    errors: list[tuple[str, int, str]],
) -> Terms | None:
    if name in resolved:
        return resolved[name]
    entity = raw[name]
    ctx = Context(entity.source, errors, subject=f"entity '{name}': ")
    aliases = entity.aliases
    if not isinstance(aliases, list) or not aliases:
        ctx.error(entity.line, "expected a non-empty list of terms")
        resolved[name] = None
        return None
    terms: dict[str, Term] = {}
    ok = True
    for index, alias in enumerate(aliases):
        line = line_of(aliases, index)
        found = _alias(ctx, alias, line, (*stack, name), raw, resolved, errors)
        ok = ok and found is not None
        for term in found or ():
            terms.setdefault(term.key, Term(term.alias, f"${name}", term.key))
    resolved[name] = Terms(tuple(terms.values())) if ok else None
    return resolved[name]


def _alias(
    ctx: Context,
    alias: Any,
    line: int,
    stack: tuple[str, ...],
    raw: Mapping[str, _Raw],
    resolved: dict[str, Terms | None],
    errors: list[tuple[str, int, str]],
) -> tuple[Term, ...] | None:
    """One alias: a phrase, or `$other` whose terms are folded in; None after an error."""
    if not isinstance(alias, str):
        not_a_string(ctx, alias, line)
        return None
    text = alias.strip()
    if too_long(ctx, text, line, about_rule=True):
        return None
    if len(text) >= 2 and text.startswith("/") and text.endswith("/"):
        ctx.error(line, f"regex {text} cannot be part of an entity (use it in a rule)")
        return None
    if text.startswith("$"):
        ref = text[1:]
        if ref not in raw:
            known = [f"${other}" for other in raw]
            ctx.error(line, f"unknown entity '{text}'{suggest(text, known)}", about_rule=False)
            return None
        if ref in stack:
            cycle = " -> ".join(f"${n}" for n in (*stack[stack.index(ref):], ref))
            ctx.error(line, f"entities refer to each other in a circle: {cycle}")
            return None
        terms = _resolve(ref, raw, resolved, stack, errors)
        return terms.terms if terms is not None else None
    key = normalize_term(text)
    if not key:
        ctx.error(line, f"empty term {alias!r}")
        return None
    return (Term(text, None, key),)
