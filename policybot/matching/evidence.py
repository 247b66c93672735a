"""Pure: which of a match's hits to show people, and in what order.

The engine reports only the hits that decided a match (evaluate.py): every `all` clause, and
of an `any` the first alternative that held; within one `$entity` (or one side of a `near`),
the specific aliases found, else the one common alias that ranks first ("Entity List"
decided, not "list" too). Here the alert and `test-rules` pick from those hits the few
distinct terms worth showing, the most specific first:

- specific terms first: a phrase of several words, a CJK term of 3 characters or more, an
  acronym (3 capitals or more: OFAC, EAR99, NdFeB), a regex; then the others;
- then longer terms first (a CJK character counts twice: 出口管制 before 关税);
- then the order of first appearance.

A term is counted once however often it occurs (`distinct by normalised term`), and a hit
lying inside another hit's span ("list" inside "Entity List") is no evidence of its own. At
most EVIDENCE_MAX terms per rule; every occurrence of those terms is what gets bold.

This module imports nothing heavy (no OpenCC tables): notifiers render with it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

from policybot.model import FIELDS, Hit, Match

EVIDENCE_MAX = 4        # distinct terms shown (and bolded) per rule
SPECIFIC_CJK = 3        # a CJK term of at least this many characters is specific
SPECIFIC_CAPITALS = 3   # an alias written with at least this many capitals is an acronym
_CJK = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015]+")


def term_key(term: str) -> str:
    """A light normal form of an alias: NFKC, case-folded, hyphens and spaces alike."""
    folded = unicodedata.normalize("NFKC", term).casefold()
    return _SEPARATORS.sub(" ", folded).strip()


def is_specific(term: str) -> bool:
    """A phrase of several words, a CJK term of SPECIFIC_CJK characters or more, an acronym,
    or a regex (its label is `/.../`). One common word ("add", "list", "法") is not."""
    if len(term) > 2 and term.startswith("/") and term.endswith("/"):
        return True
    key = term_key(term)
    cjk = len(_CJK.findall(key))
    if cjk:
        return len(key.replace(" ", "")) >= SPECIFIC_CJK
    return " " in key or sum(c.isupper() for c in term) >= SPECIFIC_CAPITALS


def weight(term: str) -> int:
    """Length as it reads: a CJK character counts twice."""
    key = term_key(term)
    return len(key) + len(_CJK.findall(key))


def rank(term: str) -> tuple[bool, int]:
    """Sort key: specific terms first, then longer ones."""
    return (not is_specific(term), -weight(term))


def uncontained(hits: Iterable[Hit]) -> list[Hit]:
    """The hits not lying inside a longer hit of the same field (in field, then text order)."""
    ordered = sorted(hits, key=lambda h: (h.field, h.start, -h.end))
    out: list[Hit] = []
    field, reach = None, -1
    for hit in ordered:
        if hit.field == field and hit.end <= reach:
            continue   # inside an earlier, longer (or equal) span
        if hit.field != field:
            field, reach = hit.field, -1
        reach = max(reach, hit.end)
        out.append(hit)
    return out


def evidence(match: Match, limit: int = EVIDENCE_MAX) -> tuple[Hit, ...]:
    """The first hit of each deciding term, most specific term first, at most `limit`."""
    first: dict[str, tuple[int, Hit]] = {}
    for position, hit in enumerate(_in_order(uncontained(match.hits))):
        first.setdefault(term_key(hit.term), (position, hit))
    ranked = sorted(first.values(), key=lambda ph: (*rank(ph[1].term), ph[0]))
    return tuple(hit for _, hit in ranked[:limit])


def evidence_hits(matches: Sequence[Match], limit: int = EVIDENCE_MAX) -> list[Hit]:
    """Every occurrence of the evidence terms of each match (what is bolded), in text order."""
    out: list[Hit] = []
    for match in matches:
        chosen = {term_key(h.term) for h in evidence(match, limit)}
        out += [h for h in uncontained(match.hits) if term_key(h.term) in chosen]
    return _in_order(out)


def _in_order(hits: Iterable[Hit]) -> list[Hit]:
    order = {name: i for i, name in enumerate(FIELDS)}
    return sorted(hits, key=lambda h: (order.get(h.field, len(order)), h.start, h.end))
