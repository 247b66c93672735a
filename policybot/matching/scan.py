"""One Aho-Corasick automaton over the normal forms of every plain term of every rule.

A term matches whole words in scripts with spaces (its edge may not touch another letter or
digit, while CJK neighbours are fine), as a substring in CJK, and with the plain English plural
or possessive of its last word (s, es, 's, s', es', and y -> ies).

A field keeps at most MAX_SPANS_PER_KEY spans of one key (the first ones): a hostile text
repeating a term a million times costs one pass of the automaton, not a million spans.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import ahocorasick

from policybot.matching.normalize import _CJK_RANGES, is_word_char

Spans = dict[str, list[tuple[int, int]]]  # term key -> spans in the normalised text
MAX_SPANS_PER_KEY = 1000   # per field: `near` looks at these; a real text has a few dozen
_SUFFIXES = ("es'", "s'", "'s", "es", "s")
_VOWELS = frozenset("aeiou")
_NO_SPACE = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"


class _WordChars(dict[str, bool]):
    """char -> is_word_char(char), filled as characters are met: one C-level lookup a hit.

    (`_SUFFIX_RE`'s look-ahead is the same test: `[^\\W_]` is str.isalnum().)
    """

    def __missing__(self, char: str) -> bool:
        value = self[char] = is_word_char(char)
        return value


_WORDS = _WordChars()
_CJK = "".join(f"{chr(low)}-{chr(high)}" for low, high in _CJK_RANGES)
_SUFFIX_RE = re.compile("(?:" + "|".join(_SUFFIXES) + rf")(?![^\W_{_CJK}])")  # is_word_char
_WORD_RE = re.compile(rf"[{_NO_SPACE}]|[^\W_{_NO_SPACE}]+(?:'[^\W_{_NO_SPACE}]+)*")


def build_automaton(keys: Iterable[str]) -> ahocorasick.Automaton | None:
    """Automaton whose values are (key, length, check left, check right, plural allowed)."""
    automaton = ahocorasick.Automaton()
    for key in keys:
        left, right = is_word_char(key[0]), is_word_char(key[-1])
        plural = "a" <= key[-1] <= "z"
        automaton.add_word(key, (key, len(key), left, right, plural))
        if plural and key.endswith("y") and len(key) > 1 and key[-2] not in _VOWELS:
            variant = key[:-1] + "ies"   # policy -> policies
            if automaton.get(variant, None) is None:
                automaton.add_word(variant, (key, len(variant), left, right, False))
    if len(automaton) == 0:
        return None
    automaton.make_automaton()
    return automaton


def scan(automaton: ahocorasick.Automaton | None, text: str) -> Spans:
    """Every whole-word occurrence of every key in normalised `text`."""
    found: Spans = {}
    if automaton is None or not text:
        return found
    size, get, words, cap = len(text), found.get, _WORDS, MAX_SPANS_PER_KEY  # per raw hit
    for last, (key, length, left, right, plural) in automaton.iter(text):
        end = last + 1
        start = end - length
        if left and start and words[text[start - 1]]:
            continue
        if end < size:
            if plural and text[end] in "'es":
                end = _suffix_end(text, end, right)
                if end < 0:
                    continue
            elif right and words[text[end]]:
                continue
        spans = get(key)
        if spans is None:
            found[key] = [(start, end)]
        elif len(spans) < cap:
            spans.append((start, end))
    return found


def _suffix_end(text: str, end: int, right: bool) -> int:
    """End of the term with a plural/possessive suffix; -1 when it is cut mid-word."""
    suffix = _SUFFIX_RE.match(text, end)   # the first of _SUFFIXES not followed by a word char
    if suffix is not None:
        return suffix.end()
    return -1 if right and _WORDS[text[end]] else end


def word_starts(text: str) -> list[int]:
    """Start of each word: a run of letters/digits, or one CJK character."""
    return [found.start() for found in _WORD_RE.finditer(text)]

