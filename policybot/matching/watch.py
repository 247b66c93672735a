"""`/watch gallium "export ban" -scrap`: a person's ad-hoc rule, built from chat text."""

from __future__ import annotations

import hashlib
import re

from policybot.errors import RuleError
from policybot.matching.conditions import MAX_TERM_CHARS
from policybot.matching.normalize import normalize_term
from policybot.matching.spec import Group, Rule, Term, Terms

_TOKEN_RE = re.compile(r'(-?)(?:"([^"]*)"?|(\S+))')
MAX_WATCH_CHARS = 1000   # the whole text (the chat command allows less); each term: MAX_TERM_CHARS
_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"', "\u00bb": '"'})


def parse_watch(text: str, owner: str) -> Rule:
    """Every unprefixed word or "quoted phrase" must appear; `-word` / `-"phrase"` must not.

    The id is `watch:<owner>:<hash8>` of the normalised terms, so the same watch typed with
    other capitals or spacing is the same rule. Raises RuleError when no positive term is left.
    """
    if len(text) > MAX_WATCH_CHARS:
        raise RuleError([f"watch: at most {MAX_WATCH_CHARS} characters, got {len(text):,}"])
    wanted: dict[str, Term] = {}
    unwanted: dict[str, Term] = {}
    for found in _TOKEN_RE.finditer(text.translate(_QUOTES)):
        exclude, quoted, word = found.groups()
        phrase = (quoted if quoted is not None else word).strip()
        if len(phrase) > MAX_TERM_CHARS:
            raise RuleError([f"watch: a term is {len(phrase):,} characters long "
                             f"(at most {MAX_TERM_CHARS})"])
        key = normalize_term(phrase)
        if key:
            (unwanted if exclude else wanted).setdefault(key, Term(phrase, None, key))
    if not wanted:
        raise RuleError([f"watch: give at least one word or \"phrase\" to watch, got {text!r}"])
    parts = [Group("all", tuple(Terms((term,)) for term in wanted.values()))]
    if unwanted:
        parts.append(Group("none", tuple(Terms((term,)) for term in unwanted.values())))
    canonical = " ".join([*wanted, *(f"-{key}" for key in unwanted)])
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:8]
    return Rule(
        id=f"watch:{owner}:{digest}",
        title=" ".join(text.split()),
        severity="normal",
        match=Group("all", tuple(parts)),
        notify=(owner,),  # a personal rule alerts its owner only
        source=f"watch:{owner}",
        line=1,
    )
