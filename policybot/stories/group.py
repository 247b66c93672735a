"""Pure: which story an item joins, given the stories of the window (the store's index).

An item joins the story of its most similar earlier item within the window when the two share
enough (concept tokens of title and summary, numbers, the engine's rules and entities) and
nothing forbids it: a step cue (final, in force, suspension, retaliation, a price move ...)
in one title and not in the other means a different event, as do two different notice
numbers or percentages in the titles. Otherwise the item starts a story of its own. Each
decision is explained in one line.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from policybot.stories.features import Signature, num, weight
from policybot.stories.lexicon import GENERIC, MEASURES, SUBJECTS

WINDOW = 72 * 3600.0     # default: reports of one story within 72 h
JOIN_SCORE = 0.33       # a candidate of the same language must score at least this to be joined
JOIN_SCORE_CROSS = 0.8  # the same across languages (fewer, coarser words compared: scores run higher)
MAX_CANDIDATES = 5000    # the newest stories of the window looked at, at most
RELATED_SCORE = 0.3      # an item of a story this similar can veto joining it
LENIENT_CUES = False     # a title's cue blocks only when the other report never mentions it
MIN_SPECIFIC_CROSS = 2   # the same, across languages (fewer words can be compared)
CLOSE = 12 * 3600.0      # reports this close in time ...
CLOSE_FACTOR = 0.7       # ... need this share of the join score
STRONG_SHARED = 8        # shared specific tokens + strong numbers that join whatever the score
STRONG_SHARED_CROSS = 5  # ... across languages
MIN_SPECIFIC = 2         # shared specific tokens + strong numbers a join needs at least
TITLE_NUMBER = re.compile(r"\d+(?:\.\d+)?")
TITLE_DATE = re.compile(r"\d{1,2}月\d{1,2}日|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*"
                        r"\.? \d{1,2}\b|\b\d{1,2} (?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)", re.I)
TITLE_CACHE = 1 << 14    # titles whose numbers are remembered (each is compared many times)
PARTS_CACHE = 1 << 14    # signatures' token and number sets whose parts are remembered (the same)
MAX_SHOWN = 3            # shared terms named in an explanation, per kind


@dataclass(frozen=True, slots=True)
class Candidate:
    story: str               # the story id: the key of its first item
    sig: Signature


@dataclass(frozen=True, slots=True)
class Decision:
    story: str | None        # the story joined, None: the item starts its own
    score: float
    why: str                 # one line


def similarity(a: Signature, b: Signature) -> float:
    """0..1ish. 0 at once when the two share too few specific tokens and numbers (most pairs:
    the cheap test comes first)."""
    return _similarity(a, b, len(a.keys & b.keys))


def _similarity(a: Signature, b: Signature, specific: int) -> float:
    """`similarity`, given how many keys the two share (`decide` needs that count too)."""
    if a.lang == b.lang:
        if specific < MIN_SPECIFIC:
            return 0.0
        wa, wb, ta_w, tb_w = a.weight, b.weight, a.title_weight, b.title_weight
        shared_tokens, shared_title = a.tokens & b.tokens, a.title_tokens & b.title_tokens
    elif specific < MIN_SPECIFIC_CROSS:
        return 0.0
    else:
        shared_tokens, wa, wb, shared_title, ta_w, tb_w = _overlap(a, b)
    token_sim = weight(shared_tokens) / math.sqrt(max(1.0, wa) * max(1.0, wb))
    title_sim = weight(shared_title) / max(1.0, min(ta_w, tb_w))
    numbers = a.numbers & b.numbers
    strong = sum(1 for n in numbers & a.keys if not n.startswith("n:")) if numbers else 0   # plain: weak
    terms = sum(1 for t in a.terms & b.terms if t.startswith("entity:"))
    return 0.6 * token_sim + 0.3 * title_sim + 0.15 * min(strong, 2) \
        + 0.05 * min(len(numbers) - strong, 2) + 0.05 * min(terms, 2)


def _overlap(a: Signature, b: Signature) -> tuple[frozenset[str], float, float, frozenset[str], float, float]:
    """Shared tokens with the weights of both sides, then the same for the titles. Across
    languages only what both could say counts: concepts of the lexicon and names."""
    if a.lang == b.lang:
        return (a.tokens & b.tokens, a.weight, b.weight,
                a.title_tokens & b.title_tokens, a.title_weight, b.title_weight)
    ta = a.plain if a.lang == "zh" else (a.plain & b.tokens) | a.concepts
    tb = b.plain if b.lang == "zh" else (b.plain & a.tokens) | b.concepts
    return (ta & tb, weight(ta), weight(tb), a.title_concepts & b.title_concepts,
            weight(a.title_concepts), weight(b.title_concepts))


def shared(a: Signature, b: Signature) -> dict[str, list[str]]:
    """What the two share, by kind, for the explanation of a join."""
    tokens = _overlap(a, b)[0]
    return {"numbers": [_number(n) for n in sorted(a.numbers & b.numbers)],
            "rules": [t.removeprefix("rule:") for t in sorted(a.terms & b.terms) if t.startswith("rule:")],
            "terms": [t.removeprefix("entity:") for t in sorted(a.terms & b.terms)
                      if t.startswith("entity:")],
            "tokens": sorted((t for t in tokens if not t.startswith("zh:")),
                             key=lambda t: (t in GENERIC, t))}


def blocked(a: Signature, b: Signature) -> str | None:
    """Why `a` and `b` cannot be one event, or None."""
    one_side = (a.cues - b.text_cues) | (b.cues - a.text_cues) if LENIENT_CUES else a.cues ^ b.cues
    if one_side:
        return f"'{sorted(one_side)[0]}' in one report only"
    (sa, ma), (sb, mb) = _title_parts(a.title_tokens), _title_parts(b.title_tokens)
    if sa - b.tokens and sb - a.tokens:
        return f"subjects {sorted(sa - b.tokens)[0]} vs {sorted(sb - a.tokens)[0]}"
    if ma and mb and not ma & mb:    # a tariff and a listing the same day: two stories
        return f"measures {sorted(ma)[0]} vs {sorted(mb)[0]} in the titles"
    na, nb = _title_numbers(a.title), _title_numbers(b.title)
    if a.lang == b.lang and na and nb and not na & nb:   # "notice 1" and "notice 2": two acts
        return f"numbers {sorted(na)[0]} vs {sorted(nb)[0]} in the titles"
    for (kind, na), (_, nb) in zip(_number_kinds(a.numbers), _number_kinds(b.numbers), strict=True):
        if na and nb and not na & nb:
            return f"different {kind[:-1]} {sorted(na)[0][len(kind):]} vs {sorted(nb)[0][len(kind):]}"
    return None


@lru_cache(maxsize=PARTS_CACHE)
def _title_parts(title_tokens: frozenset[str]) -> tuple[frozenset[str], frozenset[str]]:
    """The subjects and the measures a title names (each signature is compared many times)."""
    return title_tokens & SUBJECTS, title_tokens & MEASURES


@lru_cache(maxsize=PARTS_CACHE)
def _number_kinds(numbers: frozenset[str]) -> tuple[tuple[str, frozenset[str]], ...]:
    """The notice numbers, then the percentages, among `numbers`."""
    return tuple((kind, frozenset(n for n in numbers if n.startswith(kind))) for kind in ("no:", "pct:"))


def decide(sig: Signature, candidates: Sequence[Candidate], window: float = WINDOW) -> Decision:
    """The story `sig` joins among `candidates` (earlier items, any order), with why: the story
    of its most similar item, unless any related item of that story forbids the merge. The
    vetoes are looked for story by story, best first: most items join the first."""
    related: dict[str, list[tuple[float, Candidate]]] = {}
    strong: set[int] = set()     # id() of the candidates that share enough to join whatever the score
    for cand in candidates[-MAX_CANDIDATES:]:
        other = cand.sig
        if abs(sig.when - other.when) > window or other.key == sig.key:
            continue
        specific = len(sig.keys & other.keys)
        score = _similarity(sig, other, specific)
        if specific >= (STRONG_SHARED if sig.lang == other.lang else STRONG_SHARED_CROSS):
            strong.add(id(cand))
        elif score < RELATED_SCORE:
            continue
        related.setdefault(cand.story, []).append((score, cand))
    ranked = sorted(((score, cand) for scored in related.values() for score, cand in scored
                     if score >= _threshold(sig, cand.sig) or id(cand) in strong), key=lambda b: -b[0])
    tried: dict[str, tuple[float, Candidate, str] | None] = {}    # story -> its veto
    for score, cand in ranked:
        if cand.story not in tried:
            tried[cand.story] = _veto(sig, related[cand.story])
            if tried[cand.story] is None:
                why = _shared(shared(sig, cand.sig))
                return Decision(cand.story, score, f"joins {cand.story} ({why}; score {score:.2f})")
    vetoes = [v for story, scored in related.items()
              if (v := tried[story] if story in tried else _veto(sig, scored)) is not None]
    if vetoes:
        score, cand, reason = max(vetoes, key=lambda v: v[0])
        return Decision(None, 0.0, f"new (closest {cand.story}: blocked by {reason}; score {score:.2f})")
    return Decision(None, 0.0, "new (nothing similar in the window)")


def _veto(sig: Signature, scored: list[tuple[float, Candidate]]) -> tuple[float, Candidate, str] | None:
    """The most similar item of a story that forbids joining it (the first of equals), with why."""
    found = [(score, cand, reason) for score, cand in scored
             if (reason := blocked(sig, cand.sig)) is not None]
    return max(found, key=lambda v: v[0]) if found else None


def _strong(a: Signature, b: Signature) -> bool:
    """So much specific evidence shared (names, goods, numbers) that a low score, from long
    texts saying much else, does not matter."""
    return len(a.keys & b.keys) >= (STRONG_SHARED if a.lang == b.lang else STRONG_SHARED_CROSS)


def _threshold(a: Signature, b: Signature) -> float:
    """The score a join needs: lower for reports close in time (most reports of one event come
    within hours, its sibling events days apart)."""
    base = JOIN_SCORE if a.lang == b.lang else JOIN_SCORE_CROSS
    return base * CLOSE_FACTOR if abs(a.when - b.when) <= CLOSE else base


@lru_cache(maxsize=TITLE_CACHE)
def _title_numbers(title: str) -> frozenset[str]:
    """The numbers of a title but years, in one form (`1,100` = `1100`)."""
    title = TITLE_DATE.sub(" ", title.replace(",", ""))    # "8月1日" is a date, not an act's number
    found = {num(m.group(0)) for m in TITLE_NUMBER.finditer(title)}
    return frozenset(n for n in found if not (n.isdigit() and 1900 <= int(n) <= 2100))


def _number(value: str) -> str:
    kind, _, text = value.partition(":")
    if kind == "pct":
        return f"{text}%"
    if kind == "no":
        return f"No. {text}"
    if kind == "date":
        month, _, day = text.partition("-")
        return f"{int(month):02d}-{int(day):02d}"
    return text


def _shared(shared: dict[str, list[str]]) -> str:
    parts = [f"{kind} {', '.join(values[:MAX_SHOWN])}" for kind, values in shared.items() if values]
    return "shared: " + "; ".join(parts) if parts else "shared: little"
