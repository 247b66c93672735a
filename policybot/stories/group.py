"""Pure: which story an item joins, given the stories of the window (the store's index).

An item joins the story of its most similar earlier item within the window when the two share
enough (concept tokens of title and summary, numbers, the engine's rules and entities; two
Chinese titles' bigrams outside the lexicon, MIN_PAIRS or more, count as one shared key, and so
does a name both quote; across languages, the English keys a Chinese report's glossary words
translate; less is needed within 24 h, but only with specific evidence: a good, a name, a state
as subject in both titles' main clauses, or a shared rate, amount or notice number) and nothing
forbids it. A spokesperson's answer on another state's act ("商务部新闻发言人就…答记者问", few
words of its own) joins the earlier report whose title names its topic (`_answered`). Two kinds of veto:
- a step cue (final, in force, suspension, retaliation, an industry body's advice ...) of the
  item's title that the story does not carry (no report of it that names the same measure
  mentions it; a retaliation or an advice only in a title), or a cue of the story's first title
  the item never mentions. Within 3 h of the story's first report such cues part nothing (a
  later step comes later; if that report speaks of the measure), but a retaliation or an advice;
  with much shared evidence a retaliation is the story's own, and so it is for a story that
  began after another related one (the response's notice need not call itself a retaliation).
- per related item: a price move in one title only, different subjects or kinds of measure in
  the titles (not those of a clause about other goods), measures aimed at different states
  ("34% on China" vs "对所有美国商品": an act and the answer to it), two market titles on
  different companies' shares, different act numbers of one
  kind or percentages in the titles (a rounded one is the same: "up to 38%" = "38.1%"; two
  reports of a market move within a day differ in figures by the hour), different ordinals
  ("first plant" vs "2nd plant", 第一批 vs 第二批).
Otherwise the item starts a story of its own. Each decision is explained in one line.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import itemgetter

from policybot.stories.features import GENERIC_SHARE, Signature, fold, numbers, weight
from policybot.stories.lexicon import ACTORS, ACTS, COMMON, COMPANIES, GENERIC, KIN, SUBJECTS
from policybot.stories.titles import (
    actors,
    issuers,
    lead_tokens,
    moves,
    ordinals,
    parts,
    reaction,
    title_numbers,
    topic,
)

WINDOW = 72 * 3600.0     # default: reports of one story within 72 h
JOIN_SCORE = 0.33       # a candidate of the same language must score at least this to be joined
JOIN_SCORE_CROSS = 0.9  # the same across languages (fewer, coarser words compared: scores run higher)
MAX_CANDIDATES = 5000    # the newest stories of the window looked at, at most
RELATED_SCORE = 0.3      # an item of a story this similar can veto joining it
MIN_SPECIFIC = 2         # shared specific tokens + strong numbers a join needs at least
MIN_SPECIFIC_CROSS = 2   # the same, across languages (fewer words can be compared)
CLOSE = 24 * 3600.0      # reports this close in time ...
CLOSE_FACTOR = 0.5       # ... need this share of the join score
STRONG_SHARED = 7        # shared specific tokens + strong numbers that join whatever the score
STRONG_SHARED_CROSS = 4  # ... across languages
STEP_GAP = 3 * 3600.0    # within this of a story's first report a step cue parts nothing: steps come later
# a price move or a company's milestone in a summary is background: titles only
TITLE_ONLY_CUES = frozenset({"market", "company"})
# a response a story carries only by a title ("vowed to retaliate" is none)
TITLE_CARRIED = frozenset({"retaliation", "advice", "appeal"})
ANNOUNCED_AHEAD = 7   # days: an 'in force' date this far ahead is said at the announcement
IMPLY_RESULT = frozenset({"preliminary", "final"})   # a determination is a result too
DUTIES = frozenset({"tariff", "antidumping", "countervailing"})
SAID_AHEAD = frozenset({"in force"})    # a step a summary names ahead: carried only by close reports
SAME_DAY = SAID_AHEAD | {"exemption"}   # what an act states the day it is made (in force, its exemptions)
TOPIC_SHARE = 0.6        # of a spokesperson's topic an earlier act's title must name (and two concepts)
MIN_PAIRS = 3            # shared bigrams of two Chinese titles that count as one key
STRONG_KINDS = ("pct:", "amt:", "no:")     # numbers specific enough to stand for an act
MAX_SHOWN = 3            # shared terms named in an explanation, per kind
_SCORE = itemgetter(0)   # of a (score, ...) tuple
_NO_TOPIC: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Candidate:
    story: str               # the story id: the key of its first item
    sig: Signature


@dataclass(frozen=True, slots=True)
class Decision:
    story: str | None        # the story joined, None: the item starts its own
    score: float
    reason: str = ""         # why it starts a story, or an answer joins (other joins: made when asked, `why`)
    pair: tuple[Signature, Signature] | None = field(default=None, repr=False, compare=False)  # a join's

    @property
    def why(self) -> str:
        """One line. A join's names what the two share: made only when asked (for an explanation,
        a debug log line), as most items join a story and the bot logs none of it by default."""
        if self.pair is None or self.reason:
            return self.reason
        return f"joins {self.story} ({_shared(shared(*self.pair))}; score {self.score:.2f})"


def similarity(a: Signature, b: Signature) -> float:
    """0..1ish. 0 at once when the two share too few specific tokens and numbers (most pairs:
    the cheap test comes first)."""
    return _similarity(a, b, specific(a, b))


def specific(a: Signature, b: Signature, glossed: bool = True) -> int:
    """How many keys the two share: the bigrams of Chinese titles count as one key, when
    MIN_PAIRS or more are shared (two Chinese reports of one event that no lexicon word joins);
    across languages, an English report's keys that a Chinese one's glossary words translate
    ("生物柴油" -> biodiesel) count too (unless not `glossed`). They open the comparison and
    count in the score, but the evidence that joins whatever the score (`_strong`) is the lexicon's."""
    found = a.keys & b.keys
    if a.lang != b.lang:    # across languages the words a Chinese report's glossary gives count too
        if not glossed:
            return len(found)
        zh, en = (a, b) if a.lang == "zh" else (b, a)
        return len(found) + len(en.keys & zh.gloss)
    if not (a.pair_keys and b.pair_keys):    # (only a Chinese signature has bigram keys)
        return len(found)
    pairs = len(found.intersection(a.pair_keys))
    return len(found) - pairs + (pairs >= MIN_PAIRS)


def _similarity(a: Signature, b: Signature, specific: int) -> float:
    """`similarity`, given how many keys the two share (`decide` needs that count too)."""
    if a.lang == b.lang:    # the shared tokens' weight: `a`'s in `b`, less its generic ones in `b`
        if specific < MIN_SPECIFIC:
            return 0.0
        tokens, title = b.tokens, b.title_tokens
        token_sim = (len(a.tokens & tokens) - GENERIC_SHARE * len(tokens.intersection(a.generic))) \
            / math.sqrt(a.floor_weight * b.floor_weight)
        smaller = a.title_weight if a.title_weight < b.title_weight else b.title_weight
        title_sim = (len(a.title_tokens & title) - GENERIC_SHARE * len(title.intersection(a.title_generic))) \
            / (smaller if smaller > 1.0 else 1.0)
    elif specific < MIN_SPECIFIC_CROSS:
        return 0.0
    else:    # what `_overlap` compares, from the smaller sets: the Chinese side's plain tokens
        en, zh = (b, a) if a.lang == "zh" else (a, b)
        found = en.plain & zh.plain      # = the English side's plain tokens in the Chinese tokens
        glossed = en.keys & zh.gloss     # ... and its keys the glossary's words translate (no lexicon word)
        if glossed:
            found = found | glossed
        wa, wb = weight(found | en.concepts), zh.plain_weight + len(glossed)
        token_sim = weight(found) / math.sqrt((wa if wa > 1.0 else 1.0) * (wb if wb > 1.0 else 1.0))
        smaller = a.concepts_weight if a.concepts_weight < b.concepts_weight else b.concepts_weight
        title_sim = weight(a.title_concepts & b.title_concepts) / (smaller if smaller > 1.0 else 1.0)
    numbers = len(a.numbers & b.numbers) if a.numbers and b.numbers else 0
    strong = len(b.numbers.intersection(a.strong_numbers)) if numbers else 0   # plain numbers: weak
    weak = numbers - strong
    terms = len(b.terms.intersection(a.entities)) if a.entities else 0
    return 0.6 * token_sim + 0.3 * title_sim + 0.15 * (strong if strong < 2 else 2) \
        + 0.05 * (weak if weak < 2 else 2) + 0.05 * (terms if terms < 2 else 2)    # min(n, 2), without a call


def _overlap(a: Signature, b: Signature) -> tuple[frozenset[str], float, float, frozenset[str], float, float]:
    """Shared tokens with the weights of both sides, then the same for the titles. Across
    languages only what both could say counts: concepts of the lexicon, names, and the English
    keys the Chinese side's glossary words translate."""
    if a.lang == b.lang:
        return (a.tokens & b.tokens, a.weight, b.weight,
                a.title_tokens & b.title_tokens, a.title_weight, b.title_weight)
    en, zh = (b, a) if a.lang == "zh" else (a, b)
    glossed = en.keys & zh.gloss    # the English keys a Chinese word of the glossary translates
    if a.lang == "zh":
        ta, wa = a.plain | glossed, a.plain_weight + len(glossed)
    else:
        ta = (a.plain & b.tokens) | a.concepts | glossed
        wa = weight(ta)
    if b.lang == "zh":
        tb, wb = b.plain | glossed, b.plain_weight + len(glossed)
    else:
        tb = (b.plain & a.tokens) | b.concepts | glossed
        wb = weight(tb)
    return ta & tb, wa, wb, a.title_concepts & b.title_concepts, a.concepts_weight, b.concepts_weight


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
    one_side = (a.cues - b.text_cues) | (b.cues - a.text_cues)
    if one_side:
        return f"'{sorted(one_side)[0]}' in one report only"
    return _apart(a, b)


def _apart(a: Signature, b: Signature) -> str | None:
    """Why `a` and `b` are two events whatever their stories carry, or None."""
    market = (a.cues ^ b.cues) & TITLE_ONLY_CUES
    if market:
        return f"'{sorted(market)[0]}' in one title only"
    sa, ta, ma, na, noa, pa, ca = parts(a.title, a.title_tokens, a.numbers)
    sb, tb, mb, nb, nob, pb, cb = parts(b.title, b.title_tokens, b.numbers)
    only_a, only_b = _kin(sa - b.tokens, b.tokens), _kin(sb - a.tokens, a.tokens)
    if only_a and only_b:
        return f"subjects {sorted(only_a)[0]} vs {sorted(only_b)[0]}"
    if ta and tb and not ta & tb:    # a tariff on China and one on the US: an act and the answer to it
        return f"aimed at {sorted(ta)[0]} vs {sorted(tb)[0]} in the titles"
    if ca and cb and not ca & cb:    # "Taiwan opens ..." and "China downgrades ...": two acts
        return f"acted by {sorted(ca)[0]} vs {sorted(cb)[0]} in the titles"
    if ca - cb and cb - ca:    # "US, China reach consensus" and "US, Malaysia sign agreement": two pacts
        return f"acted by {sorted(ca - cb)[0]} vs {sorted(cb - ca)[0]} in the titles"
    # a tariff and a listing the same day: two stories; an anti-dumping duty and a tariff: one
    if ma and mb and not ma & mb and not (ma | mb) <= DUTIES:
        return f"measures {sorted(ma)[0]} vs {sorted(mb)[0]} in the titles"
    if "market" in a.cues and "market" in b.cues:
        up_down = moves(a.title) ^ moves(b.title)
        if len(moves(a.title)) == len(moves(b.title)) == 1 and up_down:   # EDA stocks soar, Synopsys falls
            return "moves up vs down in the titles"
        firms_a, firms_b = (a.title_tokens & COMPANIES) - b.tokens, (b.title_tokens & COMPANIES) - a.tokens
        if firms_a and firms_b:    # Hesai's shares and Quectel's: two moves
            return f"companies {sorted(firms_a)[0]} vs {sorted(firms_b)[0]} in the titles"
        if abs(a.when - b.when) <= CLOSE:
            return None    # a move's figures change by the hour ("开盘跌超6%", "收跌逾7%"): no act's numbers
    if (a.lang == b.lang and na and nb and not na & nb and na - _values(b) and nb - _values(a)
            and _kinds(a, na) == _kinds(b, nb)):   # "notice 1" and "notice 2"; not "No. 23" and "14 items"
        return f"numbers {sorted(na)[0]} vs {sorted(nb)[0]} in the titles"
    ia, ib = issuers(a.title), issuers(b.title)
    if ia and ib and not ia & ib:    # 交通运输部's notice and 商务部's, the same morning: two acts
        return f"issued by {sorted(ia)[0]} vs {sorted(ib)[0]}"
    oa, ob = ordinals(a.title), ordinals(b.title)
    if oa and ob and not oa & ob:    # "first Japan plant" and "2nd Kumamoto plant": two
        return f"ordinals {min(oa)} vs {min(ob)} in the titles"
    for kind, na, nb in (("no", noa, nob), ("pct", pa, pb)):
        if na and nb and not _alike(na, nb):    # a summary's other percentages (a stake) are background
            return f"different {kind} {sorted(na)[0][len(kind) + 1:]} vs {sorted(nb)[0][len(kind) + 1:]}"
    return None




def _kin(subjects: frozenset[str], tokens: frozenset[str]) -> frozenset[str]:
    """The `subjects` (those the other report's `tokens` lack) whose kind the other report does
    not name either (solar, silicon and polysilicon; an EU member and the EU)."""
    return frozenset(s for s in subjects if not KIN.get(s, frozenset()) & tokens)


def _alike(na: frozenset[str], nb: frozenset[str]) -> bool:
    """Some number of one side is one of the other, or its rounding ("up to 38%" = "38.1%")."""
    if na & nb:
        return True
    va = [float(n.partition(":")[2]) for n in na]
    vb = [float(n.partition(":")[2]) for n in nb]
    return any(abs(x - y) < 1 and (round(x) == round(y) or int(x) == int(y)) for x in va for y in vb)


def _kinds(sig: Signature, values: frozenset[str]) -> frozenset[str]:
    """What the numbers of a title are (a notice's number, a percentage, a count ...)."""
    kinds = {n.partition(":")[2]: n.partition(":")[0] for n in sig.numbers}
    return frozenset(kinds.get(v, "n") for v in values)     # small plain numbers are not kept


def decide(sig: Signature, candidates: Sequence[Candidate], window: float = WINDOW) -> Decision:
    """The story `sig` joins among `candidates` (earlier items, any order), with why: the story
    of its most similar item, unless the story's step cues or any related item of it forbid
    the merge. The vetoes are looked for story by story, best first: most items join the first."""
    related: dict[str, list[tuple[float, Candidate]]] = {}
    members: dict[str, list[Candidate]] = {}
    joinable: set[int] = set()   # id() of the candidates similar enough, or sharing enough, to be joined
    answered: set[int] = set()   # ... and of those a spokesperson's answer names (`_answered`)
    when, key, lang = sig.when, sig.key, sig.lang
    about = topic(sig.title) if lang == "zh" else _NO_TOPIC
    for cand in candidates[-MAX_CANDIDATES:]:
        other = cand.sig
        if abs(when - other.when) > window or other.key == key:
            continue
        story = cand.story
        if (mine := members.get(story)) is None:
            members[story] = [cand]
        else:
            mine.append(cand)
        shared = specific(sig, other)
        score = _similarity(sig, other, shared)
        if lang == other.lang:    # (`_threshold` is the full score but for some close reports)
            joins = shared >= STRONG_SHARED or score >= JOIN_SCORE
        else:    # (the glossary's words open the comparison, but never make the evidence strong)
            joins = score >= JOIN_SCORE_CROSS or specific(sig, other, glossed=False) >= STRONG_SHARED_CROSS
        if about and other.when <= when and (named := _answered(about, other)):
            joins, score = True, max(score, named)
            answered.add(id(cand))
        if joins or score >= _threshold(sig, other, score):
            joinable.add(id(cand))
        elif score < RELATED_SCORE:    # (and < threshold): not even related
            continue
        if (scored := related.get(story)) is None:
            related[story] = [(score, cand)]
        else:
            scored.append((score, cand))
    ranked = sorted(((score, cand) for scored in related.values() for score, cand in scored
                     if id(cand) in joinable), key=_SCORE, reverse=True)
    later = _later(related, members)
    tried: dict[str, tuple[float, Candidate, str] | None] = {}    # story -> its veto
    for score, cand in ranked:
        if cand.story not in tried:
            tried[cand.story] = _veto(sig, related[cand.story], members[cand.story], cand.story in later)
            if tried[cand.story] is None:
                said = (f"joins {cand.story} (an answer on the act its title names: "
                        f"{', '.join(sorted(about & cand.sig.title_tokens))}; score {score:.2f})"
                        if id(cand) in answered else "")
                return Decision(cand.story, score, said, pair=(sig, cand.sig))
    vetoes = [v for story, scored in related.items()
              if (v := tried[story] if story in tried else _veto(sig, scored, members[story], story in later))
              is not None]
    if vetoes:
        score, cand, reason = max(vetoes, key=_SCORE)
        return Decision(None, 0.0, f"new (closest {cand.story}: blocked by {reason}; score {score:.2f})")
    return Decision(None, 0.0, "new (nothing similar in the window)")


def _answered(about: frozenset[str], act: Signature) -> float:
    """How much of a spokesperson's topic (`about`) an earlier report's title names: the share,
    when it names two concepts or more, one of them no state, and every specific one (a good, a
    name: "对等关税" is no safeguard tariff), of a report of the act (no answer or reaction
    itself, no market news); else 0."""
    named = about & act.title_tokens
    if len(named) < 2 or not named - ACTORS or about - GENERIC - named:
        return 0.0
    if len(named) < TOPIC_SHARE * len(about):
        return 0.0
    if "market" in act.cues or reaction(act.title):
        return 0.0
    return len(named) / len(about)


def _later(related: dict[str, list[tuple[float, Candidate]]],
           members: dict[str, list[Candidate]]) -> set[str]:
    """The related stories that began after another related one: each may be the response to it."""
    starts = {story: min(c.sig.when for c in members[story]) for story in related}
    first = min(starts.values(), default=0.0)
    return {story for story, start in starts.items() if start > first}


def _veto(sig: Signature, scored: list[tuple[float, Candidate]],
          members: list[Candidate], later: bool = False) -> tuple[float, Candidate, str] | None:
    """Why `sig` cannot join the story of `members` (its items in the window; `scored`: the
    related ones, with their scores; `later`: it began after another related story): a step
    cue the story does not carry, or an item of it that is another event (its most similar such item)."""
    best = max(scored, key=_SCORE)
    step = _step(sig, members, later)
    if step is not None:
        return best[0], best[1], step
    for score, cand in sorted(scored, key=_SCORE, reverse=True):   # (stable: as -score)
        reason = _apart(sig, cand.sig)
        if reason is not None:
            return score, cand, reason
    return None


def _step(sig: Signature, members: list[Candidate], later: bool = False) -> str | None:
    """A step cue on one side only: in `sig`'s title and carried by no report of the story,
    or in the title of the story's first report and nowhere in `sig`. A story that began after
    another related one carries a retaliation: its notice need not call itself one."""
    anchor = next((c for c in members if c.sig.key == c.story), None) \
        or min(members, key=lambda c: c.sig.when)
    acts = lead_tokens(sig.title) & ACTS     # a cue is carried for the measure the title's main clause names
    mine = sig.cues - TITLE_ONLY_CUES
    if mine:     # (most titles have no cue: what the story carries is not looked for)
        carried = _implied(frozenset().union(*(_carried(c.sig, sig.when) for c in members
                                               if _names_act(acts, c.sig.tokens))))
        goods = sig.title_tokens & SUBJECTS    # a retaliation names its own goods: the story's are these
        if goods and any(goods <= c.sig.tokens and _strong(sig, c.sig) for c in members):
            carried |= TITLE_CARRIED
        elif later or any(_countermeasure(c.sig.title) for c in members):
            carried |= {"retaliation"}    # (an industry body's advice is its own act, whoever spoke first)
        mine = mine - carried
    if "in force" in mine and _announced(sig):
        mine = mine - {"in force"}
    said = sig.text_cues | {"retaliation"} if _countermeasure(sig.title) else sig.text_cues
    theirs = (anchor.sig.cues - _implied(said)) - TITLE_ONLY_CUES
    if abs(sig.when - anchor.sig.when) <= CLOSE:    # an act in force, or exempting, the day it is made
        mine, theirs = mine - SAME_DAY, theirs - SAME_DAY - {"result"}   # (a ruling, told by its effect)
    if abs(sig.when - anchor.sig.when) <= STEP_GAP:   # a step comes later than its act's first hours ...
        theirs = theirs & TITLE_CARRIED
        if acts <= anchor.sig.tokens:    # ... if the story's first report is about the act at all
            mine = mine & TITLE_CARRIED
    if mine:
        return f"'{sorted(mine)[0]}' in this title, not in the story"
    return f"'{sorted(theirs)[0]}' in the story's first title, not in this report" if theirs else None


def _names_act(acts: frozenset[str], tokens: frozenset[str]) -> bool:
    """A report (`tokens`) names one of the measures `acts` of a title's main clause, a duty
    of any kind for a duty ("provisional duties" and "反倾销初步裁定"), or the title names none."""
    return not acts or bool(acts & tokens) or bool(acts & DUTIES and tokens & DUTIES)


def _carried(member: Signature, when: float) -> frozenset[str]:
    """The cues a report of the story carries for an item at `when`: its title's and its
    summary's, but an entry into force its summary names days before the item ("the cap takes
    effect on Monday", said on Friday, announces the later step; Monday's report is that step)."""
    carried = (member.text_cues - TITLE_CARRIED) | member.cues
    return carried - SAID_AHEAD if abs(member.when - when) > CLOSE else carried


def _countermeasure(title: str) -> bool:
    """China's sanctions on foreign firms, which its own reports call countermeasures (反制):
    an English title of China sanctioning is the same act as a Chinese one of 反制."""
    return "china" in actors(title) and bool(lead_tokens(title) & {"sanction"})


def _announced(sig: Signature) -> bool:
    """"In force" beside a date still weeks ahead ("... 10月14日生效", "take effect Oct. 14") is
    the act's announcement saying when, not the later step of its entry into force."""
    published = datetime.fromtimestamp(sig.when, UTC)
    for found in numbers(fold(sig.title)):
        if found.startswith("date:"):
            month, day = (int(x) for x in found[5:].split("-"))
            ahead = (month - published.month) % 12 * 31 + day - published.day
            if ANNOUNCED_AHEAD <= ahead <= 6 * 31:
                return True
    return False


def _implied(cues: frozenset[str]) -> frozenset[str]:
    """A preliminary or final determination is a result too."""
    return cues | {"result"} if cues & IMPLY_RESULT else cues


def _strong(a: Signature, b: Signature) -> bool:
    """So much specific evidence shared (names, goods, numbers) that a low score, from long
    texts saying much else, does not matter."""
    return specific(a, b, glossed=False) >= (STRONG_SHARED if a.lang == b.lang else STRONG_SHARED_CROSS)


def _threshold(a: Signature, b: Signature, score: float = 0.0) -> float:
    """The score a join needs: lower for reports close in time (most reports of an event come
    within hours, its sibling events days apart) that share specific evidence (`score`: the
    pair's, when known; at or above the full score the evidence is not looked at)."""
    base = JOIN_SCORE if a.lang == b.lang else JOIN_SCORE_CROSS
    if abs(a.when - b.when) > CLOSE or score >= base or not _lead_shared(a, b):
        return base
    return base * CLOSE_FACTOR


def _lead_shared(a: Signature, b: Signature) -> bool:
    """Something specific beyond the actors and the measure word: the titles' main clauses share
    a good, a state as subject or a name (not a word a twentieth of trade reports say), or the
    reports share a rate, an amount or a notice's number (a plain count or a date is too common)."""
    if a.lang != b.lang:
        return True
    if any(n.startswith(STRONG_KINDS) for n in a.numbers & b.numbers):
        return True
    if title_numbers(a.title) & title_numbers(b.title):    # "Adds 28 Organizations", "28 Chinese entities"
        return True
    return bool((lead_tokens(a.title) & lead_tokens(b.title)) - (GENERIC - SUBJECTS) - COMMON)


def _values(sig: Signature) -> frozenset[str]:
    """The numbers a report names anywhere, without their kind ("no:23" -> "23")."""
    return frozenset(n.partition(":")[2] for n in sig.numbers)


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
