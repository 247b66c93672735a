"""rules/*.yaml -> RuleSet: entities shared by every file, rules with their source positions.

`load_rules` checks everything and raises one RuleError listing EVERY problem found, each as
`FILE:LINE: message`, in file order. `check_examples` runs the rules' own examples.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from policybot.errors import ConfigError, RuleError
from policybot.matching.conditions import (
    MATCH_KEYS,
    NEAR_KEYS,
    SCOPE_KEY,
    Context,
    condition,
    not_a_string,
)
from policybot.matching.entities import resolve_entities
from policybot.matching.spec import Example, Group, Rule, RuleSet, scopes, walk_positive
from policybot.matching.watch import parse_watch
from policybot.model import FIELDS, SEVERITIES, Item
from policybot.yamlsrc import key_hint, line_of, load, shown, suggest

__all__ = ["RULE_KEYS", "Rule", "RuleSet", "check_examples", "load_rules", "parse_watch"]

FILE_KEYS = ("entities", "rules")
RULE_KEYS = ("id", "title", "severity", "match", "fields", "feeds", "notify", "examples")
EXAMPLE_KEYS = ("match", "no_match")
EXAMPLE_ITEM_KEYS = ("title", "summary", "content")
RULE_HOMES = {"match": (*MATCH_KEYS, SCOPE_KEY, *NEAR_KEYS), "examples": ("no_match",)}
MAX_RULES_BYTES = 1 << 20   # one rules file; a 1,000-rule file is about 200 KB
_ID_RE = re.compile(r"\S+")
_LINE_RE = re.compile(r"^.*?:(\d+): ")


@dataclass(frozen=True, slots=True)
class _Known:
    destinations: frozenset[str] | None
    feeds: frozenset[str] | None
    tags: frozenset[str] | None


def load_rules(
    paths: Sequence[str | Path],
    *,
    destinations: Collection[str] | None = None,
    feeds: Mapping[str, Sequence[str]] | None = None,
) -> RuleSet:
    """Load and check rule files and folders (*.yaml, *.yml, sorted); raise RuleError."""
    errors: list[tuple[str, int, str]] = []
    docs = [(source, doc) for source in _files(paths) if (doc := _load(source, errors))]
    entities = resolve_entities(docs, errors)
    known = _Known(
        frozenset(destinations) if destinations is not None else None,
        frozenset(feeds) if feeds is not None else None,
        frozenset(t for tags in feeds.values() for t in tags) if feeds is not None else None,
    )
    rules: list[Rule] = []
    first: dict[str, Rule] = {}
    for source, doc in docs:
        ctx = Context(source, errors, entities)
        for rule in _rules_of(ctx, doc, known):
            if rule.id in first:
                ctx.error(rule.line, f"duplicate rule id '{rule.id}' "
                          f"(first defined at {first[rule.id].where})", about_rule=False)
            else:
                first[rule.id] = rule
                rules.append(rule)
    if errors:
        order = {source: index for index, source in enumerate(_files(paths))}
        errors.sort(key=lambda error: (order.get(error[0], -1), error[1]))
        raise RuleError([text for _, _, text in errors])
    names = {name: tuple(term.alias for term in terms.terms) for name, terms in entities.items()}
    return RuleSet(tuple(rules), names)


def load_rule_file(source: str, beside: Sequence[str | Path]) -> tuple[list[Rule], list[str]]:
    """The rules of one file, its `$entities` resolved together with those of the rule files
    `beside` it (as the console's playground needs: a draft next to the live rules). Returns
    the rules and this file's own errors, in line order; the other files' errors are not its."""
    errors: list[tuple[str, int, str]] = []
    own = _load(source, errors)
    others = [(s, d) for s in _files(beside) if s != source and (d := _load(s, []))]
    entities = resolve_entities(([(source, own)] if own else []) + others, errors)
    known = _Known(None, None, None)
    rules = _rules_of(Context(source, errors, entities), own, known) if own else []
    mine = sorted((e for e in errors if e[0] == source), key=lambda e: e[1])
    return rules, [text for _, _, text in mine]


def _files(paths: Sequence[str | Path]) -> list[str]:
    files: list[str] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found = [*path.glob("*.yaml"), *path.glob("*.yml")]
            # every *.yaml that exists (a device or FIFO is reported, not read); a dangling
            # symlink (an editor's lock file) is skipped
            files += [shown(p) for p in sorted(found, key=lambda p: p.name) if p.exists()]
        else:
            files.append(shown(path))
    return files


def _load(source: str, errors: list[tuple[str, int, str]]) -> Mapping[str, Any] | None:
    try:
        doc = load(source, max_bytes=MAX_RULES_BYTES)
    except ConfigError as exc:
        for text in exc.errors:
            found = _LINE_RE.match(text)
            errors.append((source, int(found.group(1)) if found else 1, text))
        return None
    if doc is None:
        return None
    ctx = Context(source, errors)
    if not isinstance(doc, Mapping):
        ctx.error(1, "expected a mapping with 'entities' and/or 'rules'")
        return None
    for key in doc:
        if key not in FILE_KEYS:
            ctx.error(line_of(doc, key), f"unknown top-level key '{key}' "
                      f"(expected: {', '.join(FILE_KEYS)}){suggest(str(key), FILE_KEYS)}")
    return doc


def _rules_of(ctx: Context, doc: Mapping[str, Any], known: _Known) -> list[Rule]:
    raw = doc.get("rules")
    if raw is None:
        return []
    if not isinstance(raw, list):
        ctx.error(line_of(doc, "rules"), "'rules' must be a list of rules")
        return []
    rules = [_rule(ctx, item, index, known) for index, item in enumerate(raw)]
    return [rule for rule in rules if rule is not None]


def _rule(ctx: Context, raw: Any, index: int, known: _Known) -> Rule | None:
    line = getattr(raw, "line", 1)
    ctx.subject = f"rule #{index + 1}: "
    if not isinstance(raw, Mapping):
        ctx.error(line, f"expected a mapping with keys {', '.join(RULE_KEYS)}")
        return None
    before = len(ctx.errors)
    rule_id = _rule_id(ctx, raw)
    for key in raw:
        if key not in RULE_KEYS:
            ctx.error(line_of(raw, key), f"unknown key '{key}' (expected: {', '.join(RULE_KEYS)})"
                      f"{key_hint(str(key), RULE_KEYS, RULE_HOMES)}")
    match = _match(ctx, raw)
    rule = Rule(
        id=rule_id or "",
        title=_title(ctx, raw, rule_id or ""),
        severity=_severity(ctx, raw),
        match=match or Group("all", ()),
        fields=_fields(ctx, raw),
        feeds=_feeds(ctx, raw, known),
        notify=_notify(ctx, raw, known),
        examples=_examples(ctx, raw),
        source=ctx.source,
        line=line_of(raw, "id") if "id" in raw else line,
    )
    _check_scopes(ctx, raw, rule)
    return rule if len(ctx.errors) == before else None


def _check_scopes(ctx: Context, raw: Mapping[str, Any], rule: Rule) -> None:
    """An `in:` may only narrow the rule's `fields`: the engine reads no other field for it."""
    for scope in scopes(rule.match):
        outside = [name for name in scope if name not in rule.fields]
        if outside:
            ctx.error(line_of(raw, "match"), f"'in: {outside[0]}' names a field the rule does "
                      f"not read (fields: {', '.join(rule.fields)})")
            return


def _rule_id(ctx: Context, raw: Mapping[str, Any]) -> str | None:
    if "id" not in raw:
        ctx.error(raw.line, "missing key 'id'")
        return None
    rule_id = raw["id"]
    if not isinstance(rule_id, str) or not _ID_RE.fullmatch(rule_id):
        ctx.error(line_of(raw, "id"), f"id must be a string without spaces, got {rule_id!r}")
        return None
    ctx.subject = f"rule '{rule_id}': "
    return rule_id


def _title(ctx: Context, raw: Mapping[str, Any], default: str) -> str:
    title = raw.get("title", default)
    if not isinstance(title, str) or not title.strip():
        ctx.error(line_of(raw, "title"), f"title must be a non-empty string, got {title!r}")
        return default
    return title.strip()


def _severity(ctx: Context, raw: Mapping[str, Any]) -> str:
    severity = raw.get("severity", "normal")
    if isinstance(severity, str) and severity.lower() in SEVERITIES:
        return severity.lower()
    ctx.error(line_of(raw, "severity"),
              f"severity must be one of {', '.join(SEVERITIES)}, got {severity!r}")
    return "normal"


def _str_list(ctx: Context, raw: Mapping[str, Any], key: str) -> list[tuple[str, int]] | None:
    """A list of strings (a single string is a list of one), each with its line."""
    value = raw[key]
    if isinstance(value, str):
        return [(value, line_of(raw, key))]
    if not isinstance(value, list):
        ctx.error(line_of(raw, key), f"'{key}' must be a list of strings")
        return None
    items: list[tuple[str, int]] = []
    for index, item in enumerate(value):
        if isinstance(item, str):
            items.append((item, line_of(value, index)))
        else:
            not_a_string(ctx, item, line_of(value, index))
    return items


def _fields(ctx: Context, raw: Mapping[str, Any]) -> tuple[str, ...]:
    items = _str_list(ctx, raw, "fields") if "fields" in raw else None
    if items is None:
        return FIELDS
    for name, line in items:
        if name not in FIELDS:
            ctx.error(line, f"unknown field '{name}' (expected: {', '.join(FIELDS)})")
    if not items:
        ctx.error(line_of(raw, "fields"), f"'fields' is empty (expected: {', '.join(FIELDS)})")
    return tuple(name for name in FIELDS if name in {n for n, _ in items}) or FIELDS


def _feeds(ctx: Context, raw: Mapping[str, Any], known: _Known) -> tuple[str, ...] | None:
    items = _str_list(ctx, raw, "feeds") if "feeds" in raw else None
    if items is None:
        return None
    if not items:
        ctx.error(line_of(raw, "feeds"), "'feeds' is empty (omit it to match every feed)")
    for name, line in items:
        if name.startswith("tag:"):
            tag = name[4:]
            if known.tags is not None and tag not in known.tags:
                hint = suggest(name, [f"tag:{t}" for t in known.tags])
                ctx.error(line, f"unknown tag '{name}'{hint}")
        elif known.feeds is not None and name not in known.feeds:
            ctx.error(line, f"unknown feed '{name}'{suggest(name, known.feeds)}")
    return tuple(name for name, _ in items)


def _notify(ctx: Context, raw: Mapping[str, Any], known: _Known) -> tuple[str, ...] | None:
    items = _str_list(ctx, raw, "notify") if "notify" in raw else None
    if items is None:
        return None
    for name, line in items:
        if known.destinations is not None and name not in known.destinations:
            ctx.error(line, f"unknown destination '{name}'{suggest(name, known.destinations)}")
    return tuple(dict.fromkeys(name for name, _ in items))


def _match(ctx: Context, raw: Mapping[str, Any]) -> Group | None:
    if "match" not in raw:
        ctx.error(raw.line, "missing key 'match'")
        return None
    match = condition(ctx, raw["match"], line_of(raw, "match"))
    if match is not None and not walk_positive(match):
        ctx.error(line_of(raw, "match"), "needs at least one term outside 'none'")
        return None
    return match


def _examples(ctx: Context, raw: Mapping[str, Any]) -> tuple[Example, ...]:
    value = raw.get("examples")
    if value is None:
        return ()
    if not isinstance(value, Mapping):
        ctx.error(line_of(raw, "examples"), "'examples' must be a mapping with match, no_match")
        return ()
    examples: list[Example] = []
    for key in value:
        if key not in EXAMPLE_KEYS:
            ctx.error(line_of(value, key), f"unknown key '{key}' in examples "
                      f"(expected: {', '.join(EXAMPLE_KEYS)}){suggest(str(key), EXAMPLE_KEYS)}")
            continue
        items = value[key] if isinstance(value[key], list) else [value[key]]
        for index, item in enumerate(items):
            example = _example(ctx, item, line_of(items, index), key == "match")
            examples += [example] if example else []
    return tuple(examples)


def _example(ctx: Context, item: Any, line: int, expect: bool) -> Example | None:
    if isinstance(item, str):
        return Example(item, item, "", expect, line)
    if not isinstance(item, Mapping):
        ctx.error(line, "an example is a string or a mapping with title, summary, content")
        return None
    for key in item:
        if key not in EXAMPLE_ITEM_KEYS or not isinstance(item[key], str):
            ctx.error(line_of(item, key), f"example key '{key}' must be one of "
                      f"{', '.join(EXAMPLE_ITEM_KEYS)} with a string value")
            return None
    texts = [item.get(key, "") for key in EXAMPLE_ITEM_KEYS]
    return Example(texts[0], texts[1], texts[2], expect, line)


def check_examples(ruleset: RuleSet) -> list[str]:
    """Run every rule's examples; each failure as `FILE:LINE: rule 'x': ...`, an example that
    did not match with the parts of `match:` that did not hold."""
    from policybot.matching.engine import Engine  # engine depends on spec only
    from policybot.matching.explain import failed_parts

    engine = Engine(ruleset.rules)
    failures: list[str] = []
    for rule in ruleset.rules:
        for example in rule.examples:
            item = Item("example", f"{rule.id}:{example.line}", example.title, None,
                        example.summary, example.content, None)
            hit = next((m for m in engine.match(item) if m.rule_id == rule.id), None)
            shown = (example.title or example.summary or example.content)[:80]
            if example.expect and hit is None:
                why = "; ".join(failed_parts(rule, engine.scan(item), item))
                failures.append(f"{rule.source}:{example.line}: rule '{rule.id}': "
                                f"example {shown!r} did not match: {why}")
            elif not example.expect and hit is not None:
                terms = ", ".join(dict.fromkeys(h.term for h in hit.hits))
                failures.append(f"{rule.source}:{example.line}: rule '{rule.id}': "
                                f"no_match example {shown!r} matched (on {terms})")
    return failures

