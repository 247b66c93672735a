"""Pure: how `test-rules` shows a matched item: rules, the terms that decided each (the alias,
its entity and the fields it was found in, the most specific first, each once: see
matching/evidence.py), and the text with those terms highlighted (ANSI bold on a terminal,
**term** otherwise)."""

from __future__ import annotations

from collections.abc import Sequence

from policybot.feeds.text import strip_controls
from policybot.matching.evidence import evidence, evidence_hits, term_key
from policybot.model import FIELDS, Hit, Item, Match
from policybot.render import merge_spans

BOLD, RESET = "\033[1m", "\033[0m"
CONTEXT = 120


def highlight(text: str, spans: Sequence[tuple[int, int]], *, color: bool) -> str:
    """Mark each span of `text`; overlapping spans merge. Feed text reaches the terminal with
    its control characters and escape sequences removed; only our own bold remains."""
    opening, closing = (BOLD, RESET) if color else ("**", "**")
    out, pos = [], 0
    for start, end in merge_spans(spans):
        out += [strip_controls(text[pos:start]), opening, strip_controls(text[start:end]), closing]
        pos = end
    out.append(strip_controls(text[pos:]))
    return "".join(out)


def _excerpt(text: str, hits: Sequence[Hit], *, color: bool) -> str:
    """The field around its hits: short fields whole, long ones clipped around the first hit."""
    first, last = min(h.start for h in hits), max(h.end for h in hits)
    lo = 0 if len(text) <= 2 * CONTEXT else max(0, first - CONTEXT // 2)
    hi = len(text) if len(text) <= 2 * CONTEXT else min(len(text), max(last, first) + CONTEXT)
    spans = [(h.start - lo, h.end - lo) for h in hits if lo <= h.start and h.end <= hi]
    body = highlight(text[lo:hi], spans, color=color)
    return ("…" if lo > 0 else "") + body.replace("\n", " ") + ("…" if hi < len(text) else "")


def _evidence_lines(match: Match) -> list[str]:
    """One line per deciding term (evidence.evidence), the most specific first, with the
    fields it was found in: `$export-controls -> '出口管制' in title, summary`."""
    lines = []
    for hit in evidence(match):
        key = term_key(hit.term)
        found = {h.field for h in match.hits if term_key(h.term) == key}
        alias = f"{hit.entity} -> {hit.term!r}" if hit.entity else repr(hit.term)
        lines.append(f"    {alias} in {', '.join(f for f in FIELDS if f in found)}")
    return lines


def dry_run(item: Item, matches: Sequence[Match], *, color: bool = False) -> str:
    lines = [f"* {strip_controls(item.title) or '(no title)'}"]
    if item.link:
        lines.append(f"  {strip_controls(item.link)}")
    for match in matches:
        lines.append(f"  rule {match.rule_id} ({match.severity}): {match.title}")
        lines += _evidence_lines(match)
    all_hits = evidence_hits(matches)   # only the deciding terms are marked
    for name in FIELDS:
        hits = [h for h in all_hits if h.field == name]
        if hits:
            text = item.text(name)
            lines.append(f"  {name}: {_excerpt(text, hits, color=color)}")
    return "\n".join(lines)


def explained(item: Item, matches: Sequence[Match], why: Sequence[str], *,
              color: bool = False, story: str | None = None) -> str:
    """--explain: the item as `dry_run` shows it (or its title alone if nothing matched), then
    one `why:` line per rule, then the `story:` line (which story it joins, and why)."""
    head = dry_run(item, matches, color=color) if matches else \
        f"* {strip_controls(item.title) or '(no title)'}"
    lines = [head, *(f"  why: {strip_controls(line)}" for line in why)]
    if story is not None:
        lines.append(f"  story: {strip_controls(story)}")
    return "\n".join(lines)


def stories_summary(items: Sequence[Item], matches: Sequence[Sequence[Match]],
                    stories: Sequence[tuple[str, str]]) -> str:
    """The matched items grouped by story: each story of two or more reports, first report
    first, later ones indented. Empty when every story has one report."""
    groups: dict[str, list[Item]] = {}
    for item, found, (story, _) in zip(items, matches, stories, strict=True):
        if found:
            groups.setdefault(story, []).append(item)
    lines = []
    for story, members in groups.items():
        if len(members) > 1:
            lines.append(f"story {strip_controls(story)}: {len(members)} reports")
            lines += [f"  {'*' if n == 0 else '+'} {strip_controls(m.title) or '(no title)'}"
                      f" ({strip_controls(m.feed_id)})" for n, m in enumerate(members)]
    return "\n".join(lines + ([""] if lines else []))
