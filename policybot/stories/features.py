"""Pure: what story grouping compares of an item (its `Signature`).

Concept tokens (English words lightly stemmed, Chinese words through the bilingual lexicon,
Latin names inside Chinese text), numbers in a normal form (percentages, amounts, notice
numbers, dates: `10%` = `10％`, `$300 billion` = `3000亿美元`, `9月1日` = `September 1`),
the rules and entities the engine found, and the step cues of the title (a final vs a
preliminary determination, entry into force, suspension, retaliation, a price move).
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache, partial
from itertools import chain
from pathlib import Path

import ahocorasick

from policybot.model import Item, Match
from policybot.stories.cues import lead, signature_cues
from policybot.stories.lexicon import COMMON, EN_ALIASES, GENERIC, NAMED, ZH_CONCEPTS

GLOSSARY_FILE = Path(__file__).with_name("glossary.tsv")
# the glossary's words of form, not content: a notice's heading (公告), a currency's name (美元)
GLOSS_STOP = frozenset("announc announcement notice dollar yuan euro yen".split())
GLOSS_TEXT = 80          # characters of a summary looked up in the glossary, after the title (~1 µs each)
MAX_TEXT = 4000          # characters of title + summary looked at
WORD_CACHE = 1 << 16     # English words whose concept token is remembered
TITLE_SUFFIX = re.compile(r"\s+[-–—|]\s+[^-–—|]{2,40}$")   # " - Reuters", " | Caixin Global"

_WORD = re.compile(r"[a-z][a-z0-9.+'-]*[a-z0-9+]|[a-z]")
_CJK = re.compile(r"[\u4e00-\u9fff]+")
_STOP = frozenset(
    "a an the of to in on for and or by with from at as is are was were be been its it their "
    "this that after over into than more new says said say will would could may might has have "
    "had not no but about against up down out under amid while who which what when where how "
    "first last also other some all two three per cent percent week day year years month "
    "monday tuesday wednesday thursday friday saturday sunday s because since however though although "
    "despite still just only even such then there these those they them we our you your".split())
_MONTHS = {m: i for i, names in enumerate(
    ["jan january", "feb february", "mar march", "apr april", "may", "jun june", "jul july",
     "aug august", "sep sept september", "oct october", "nov november", "dec december"], start=1)
    for m in names.split()}
_EN_SCALE = {"trillion": 1e12, "tn": 1e12, "billion": 1e9, "bn": 1e9, "b": 1e9,
             "million": 1e6, "mn": 1e6, "m": 1e6}
_ZH_SCALE = {"万亿": 1e12, "亿": 1e8, "万": 1e4}
ZH_COUNT_BELOW = 1e8    # a whole amount in 万 under this is a count too (tonnes, units); in 亿, money
# the forms below but _EN_NOTICE and _EN_DATE begin with a run of digits: `_numbers` tries them
# only there (tests/test_stories_fast.py checks them against every position of the text)
_PCT = re.compile(r"(\d+(?:\.\d+)?)\s*(?:%|percent\b|per cent\b|个百分点|percentage point)")
_EN_AMOUNT = re.compile(r"(\d+(?:\.\d+)?)\s*(trillion|billion|million|tn|bn|mn|b|m)\b")
_ZH_AMOUNT = re.compile(r"(\d+(?:\.\d+)?)\s*(万亿|亿|万)")
_ZH_NOTICE = re.compile(r"(\d{4})年第\s*(\d+)\s*号")
_EN_NOTICE = re.compile(r"(?:no\.|number|announcement)\s*(\d+)")
_ZH_DATE = re.compile(r"(\d{1,2})月(\d{1,2})日")
_MONTH_NAMES = "|".join(sorted(_MONTHS, key=len, reverse=True))   # month names only: fast
_EN_DATE = re.compile(rf"\b({_MONTH_NAMES})\.?\s+(\d{{1,2}})\b|\b(\d{{1,2}})\s+({_MONTH_NAMES})\b")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
CONCEPTS = frozenset(ZH_CONCEPTS)
_ZH_WORDS: dict[str, tuple[str, ...]] = {}
for _concept, _words in ZH_CONCEPTS.items():
    for _word in _words:
        _ZH_WORDS[_word] = (*_ZH_WORDS.get(_word, ()), _concept)
_ZH_RE = re.compile("|".join(sorted(_ZH_WORDS, key=len, reverse=True)))   # longest first


def _zh_automaton() -> ahocorasick.Automaton:
    """Every Chinese word of the lexicon, with its length and concepts: one pass finds them all."""
    automaton = ahocorasick.Automaton()
    for word, concepts in _ZH_WORDS.items():
        automaton.add_word(word, (len(word), concepts))
    automaton.make_automaton()
    return automaton


_ZH_AT = _zh_automaton()    # every lexicon word of a text, overlapping: one pass
_MONTH_SIZES = frozenset(map(len, _MONTHS))
# what splits the runs of a Chinese title whose bigrams are keys: function characters, formulaic words
KEY_STOP = "的了在是和与及对于将就为把被从向等其之也已再又并或而称至起后前"
KEY_FORMULAIC = ("关于", "公告", "新闻", "发言人", "记者")
# a name a Chinese title quotes ("“中国军事企业”清单", "《芯片与科学法案》"): one key, as a bigram run is
_QUOTED = re.compile(r"[“「《\"]([\u4e00-\u9fff]{3,12})[”」》\"]")
_KEY_GAP = re.compile("|".join((*KEY_FORMULAIC, f"[{KEY_STOP}]")))


_NONE: frozenset[str] = frozenset()   # one empty set shared by the many signatures without cues, numbers ...


@dataclass(frozen=True, slots=True)
class Signature:
    """What grouping compares of one item. Stored with the item's story (the store's index)."""

    key: str                       # the item's key (feed id, item id)
    when: float                    # published (else first seen), UNIX seconds
    lang: str                      # "en" | "zh"
    source: str                    # outlet shown to people
    title: str
    tokens: frozenset[str]         # concept tokens of title + summary
    title_tokens: frozenset[str]   # concept tokens of the title alone
    numbers: frozenset[str]        # "pct:10", "amt:3e+11", "no:18", "date:9-1", "n:1100"
    terms: frozenset[str]          # "rule:tariffs", "entity:$rare-earths"
    cues: frozenset[str]           # step cues of the title
    text_cues: frozenset[str]      # step cues anywhere in title + summary
    keys: frozenset[str] = frozenset()   # specific tokens and strong numbers: what a join needs shared
    weight: float = 0.0            # weight(tokens), weight(title_tokens): computed once
    title_weight: float = 0.0
    plain: frozenset[str] = frozenset()            # tokens without the Chinese bigrams
    concepts: frozenset[str] = frozenset()         # tokens of the bilingual lexicon
    title_concepts: frozenset[str] = frozenset()   # ... in the title
    gloss: frozenset[str] = frozenset()   # a Chinese text's rare English words (the glossary's), not in plain
    # derived from the above when made (or loaded), not stored: what each comparison would redo;
    # the small ones as sorted tuples (the collector stops tracking a tuple of strings: a set it
    # never does, and the window holds thousands), each compared as `other_set.intersection(it)`
    generic: tuple[str, ...] = field(init=False, repr=False, compare=False)         # tokens & GENERIC
    title_generic: tuple[str, ...] = field(init=False, repr=False, compare=False)   # title_tokens & GENERIC
    strong_numbers: tuple[str, ...] = field(init=False, repr=False, compare=False)  # numbers & keys but "n:"
    entities: tuple[str, ...] = field(init=False, repr=False, compare=False)        # terms "entity:..."
    floor_weight: float = field(init=False, repr=False, compare=False)         # max(1.0, weight)
    plain_weight: float = field(init=False, repr=False, compare=False)         # weight(plain)
    concepts_weight: float = field(init=False, repr=False, compare=False)      # weight(title_concepts)
    plain_keys: tuple[str, ...] = field(init=False, repr=False, compare=False)  # keys but bigrams, sorted
    pair_keys: tuple[str, ...] = field(init=False, repr=False, compare=False)   # a Chinese title's bigrams

    def __post_init__(self) -> None:
        derive = partial(object.__setattr__, self)
        derive("generic", tuple(sorted(self.tokens & GENERIC)))
        derive("title_generic", tuple(sorted(self.title_tokens & GENERIC)))
        derive("strong_numbers", tuple(sorted(n for n in self.numbers & self.keys if not n.startswith("n:"))))
        derive("entities", tuple(sorted(t for t in self.terms if t.startswith("entity:"))))
        derive("floor_weight", max(1.0, self.weight))
        derive("plain_weight", weight(self.plain))
        derive("concepts_weight", weight(self.title_concepts))
        keys = sorted(self.keys)    # one order: the window's lookups agree from run to run
        start, end = bisect_left(keys, "zh:"), bisect_left(keys, "zh;")    # the bigrams: "zh:..."
        derive("plain_keys", tuple(keys[:start] + keys[end:]))
        derive("pair_keys", tuple(keys[start:end]) if self.lang == "zh" else ())


GENERIC_WEIGHT = 0.3     # a state, an institution or a measure word counts this much
GENERIC_SHARE = 1.0 - GENERIC_WEIGHT   # what a generic token takes off a set's weight


def weight(found: frozenset[str]) -> float:
    return len(found) - GENERIC_SHARE * len(found & GENERIC)


def join_keys(plain: frozenset[str], nums: frozenset[str], pairs: Iterable[str] = ()) -> frozenset[str]:
    """Specific concept tokens (of `plain`, the tokens without Chinese bigrams: not a state,
    an institution or a measure word), the numbers ("23 entities" = "23家实体") and a Chinese
    title's bigrams (`pairs`: together they count as one key, see `group.specific`)."""
    return (plain - GENERIC - COMMON).union(nums, pairs)


def fold(text: str) -> str:
    text = text[:MAX_TEXT]
    if not text.isascii():     # NFKC leaves ASCII as it is
        text = unicodedata.normalize("NFKC", text)
    text = text.lower()
    if "white " in text or "united " in text or "union" in text:
        text = _PHRASES.sub(_phrase, text)
    return text.replace("\u2019", "'").replace(",", "")  # 1,100 = 1100


def _phrase(found: re.Match[str]) -> str:
    return PHRASES[found.group(0)]


# names of two words, one name: a white list is a whitelist (white rice or the White House none)
PHRASES = {"white list": "whitelist", "united states": "us", "united kingdom": "uk",
           "european union": "eu"}
_PHRASES = re.compile("|".join(PHRASES))


def clean_title(title: str) -> str:
    """The title without a ` - Reuters` style outlet suffix."""
    return TITLE_SUFFIX.sub("", title.strip())


def signature(item: Item, matches: Sequence[Match], when: float, source: str = "") -> Signature:
    """One pass per kind over the text: its CJK runs are found once (for the language, the
    Chinese words and bigrams, the Chinese number forms), its cues by one automaton."""
    title = clean_title(item.title)
    folded_title = fold(title)
    folded_summary = fold(item.summary[:max(0, MAX_TEXT - len(title))])
    whole = f"{folded_title}\n{folded_summary}"
    title_runs, summary_runs = _CJK.findall(folded_title), _CJK.findall(folded_summary)
    cjk = sum(map(len, title_runs)) + sum(map(len, summary_runs))   # runs do not cross "\n"
    lang = "zh" if cjk / max(1, len(whole) - whole.count(" ")) > 0.2 else "en"
    terms = {f"rule:{m.rule_id}" for m in matches}
    terms |= {f"entity:{h.entity}" for m in matches for h in m.hits if h.entity}
    title_words, title_pairs = _tokens_of(folded_title, title_runs)
    words, pairs = _tokens_of(folded_summary, summary_runs)
    plain = frozenset(chain(title_words, words))
    in_title = frozenset(chain(title_words, title_pairs)) if title_pairs else frozenset(title_words)
    found = plain.union(title_pairs, pairs) if pairs or title_pairs else plain
    nums = frozenset(_numbers(whole, cjk > 0)) or _NONE
    keys = join_keys(plain, nums, _key_pairs(folded_title) if lang == "zh" else ())
    if lang == "zh" and (quoted := _QUOTED.findall(folded_title)):
        keys = keys.union(f"q:{name}" for name in quoted)
    text_cues, title_cues = signature_cues(whole, lead(folded_title))
    gloss = _gloss(whole[:len(folded_title) + GLOSS_TEXT]) - plain - GLOSS_STOP if cjk else _NONE
    return Signature(key=item.key, when=when, lang=lang, source=source or item.feed_id,
                     title=title, tokens=found, keys=keys,
                     weight=weight(found), title_weight=weight(in_title),
                     plain=plain,
                     concepts=found & CONCEPTS, title_concepts=in_title & CONCEPTS,
                     title_tokens=in_title, numbers=nums, gloss=gloss,
                     terms=frozenset(terms) or _NONE, cues=title_cues, text_cues=text_cues)


def _key_pairs(title: str) -> set[str]:
    """The bigrams of a Chinese title outside the words of the lexicon and the function
    characters: what two reports of one event may share that no concept does ("笔记本电脑")."""
    runs = _CJK.findall(_KEY_GAP.sub(" ", _ZH_RE.sub(" ", title)))
    return {f"zh:{run[i:i + 2]}" for run in runs for i in range(len(run) - 1)}


def _gloss(text: str) -> frozenset[str]:
    """The less common English words the Chinese words of `text` translate to (the glossary's;
    the words of the lexicon are its own): in each run of Chinese characters, the longest
    glossary word at each place, left to right (a word's first two characters say which lengths
    to try: most places start none)."""
    words, sizes = glossary()
    found: set[str] = set()
    for run in _CJK.findall(_ZH_RE.sub(" ", text)):
        i, last = 0, len(run) - 1
        while i < last:
            for size in sizes.get(run[i:i + 2], ()):
                got = words.get(run[i:i + size])
                if got is not None:
                    found.update(got)
                    i += size
                    break
            else:
                i += 1
    return frozenset(found) if found else _NONE


def en_tokens(text: str) -> set[str]:
    """The concept tokens of English words (`text` folded)."""
    out = set(map(_concept, _WORD.findall(text)))
    out.discard("")
    return out


def tokens(text: str) -> set[str]:
    words, pairs = _tokens(text)
    return words | pairs


def _tokens(text: str) -> tuple[set[str], set[str]]:
    return _tokens_of(text, _CJK.findall(text))


def _tokens_of(text: str, runs: list[str]) -> tuple[set[str], set[str]]:
    """Concept tokens (English words, Chinese words of the lexicon), then Chinese bigrams;
    `runs`: the CJK runs of `text`."""
    out = set(map(_concept, set(_WORD.findall(text))))
    out.discard("")
    if not runs:     # English only: the Chinese passes would find nothing
        return out, set()
    longest: dict[int, tuple[int, tuple[str, ...]]] = {}   # the longest word at each place,
    for last, (size, concepts) in _ZH_AT.iter(text):     # overlapping ones too: "对华为" is 对华
        start = last - size + 1                          # (to China) and 华为 (Huawei) ...
        if start not in longest or longest[start][0] < size:
            longest[start] = (size, concepts)
    reach = 0    # ... but not one inside another: "液化天然气" is LNG, not also 天然气 (gas)
    for start in sorted(longest):
        size, concepts = longest[start]
        if start + size > reach:
            out.update(concepts)
            reach = start + size
    return out, {f"zh:{run[i:i + 2]}" for run in runs for i in range(len(run) - 1)}


@lru_cache(maxsize=WORD_CACHE)
def _concept(word: str) -> str:
    """The concept token of an English word, "" for a stop word (memoised: words recur)."""
    word = word.removesuffix("'s").rstrip("'")   # "japan's" = "japan"
    if word in _STOP or word.isdigit():
        return ""
    return EN_ALIASES.get(word) or (word if word in NAMED else _stem(word))


def _stem(word: str) -> str:
    """A light stemmer that gives a word's forms one token: "revoke", "revokes", "revoked" ->
    "revok"; "company", "companies" -> "company"."""
    if len(word) > 5 and word.endswith("ies"):
        return word[:-3] + "y"
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            word = word[: -len(suffix)]
            break
    return word[:-1] if len(word) > 4 and word.endswith("e") else word


def numbers(text: str) -> set[str]:
    return _numbers(text, _CJK.search(text) is not None)


def _numbers(text: str, cjk: bool) -> set[str]:
    """Each form's pattern runs only where the words it needs are in the text (`cjk`: the
    text has Chinese), and the forms that begin with a number are tried only where a run of
    digits begins (or ends, for `2025年第18号` and `9月1日`): what `finditer` finds, at a
    fraction of the cost. None runs without a digit."""
    found = [(m.start(), m.group(0)) for m in _NUMBER.finditer(text)]
    if not found:
        return set()
    runs = _digit_runs(found)
    starts = [start for start, _ in runs]
    out = set()
    if "%" in text or "per" in text or "个百分点" in text:
        out |= {f"pct:{num(m.group(1))}" for m in _anchored(_PCT, text, starts)}
    out |= {f"amt:{_amount(m.group(1), _EN_SCALE[m.group(2)])}" for m in _anchored(_EN_AMOUNT, text, starts)}
    if "no." in text or "number" in text or "announcement" in text:
        out |= {f"no:{int(m.group(1))}" for m in _EN_NOTICE.finditer(text)}
    if cjk:    # the Chinese forms need Chinese text
        if "万" in text or "亿" in text:
            for m in _anchored(_ZH_AMOUNT, text, starts):
                scale = _ZH_SCALE[m.group(2)]
                out.add(f"amt:{_amount(m.group(1), scale)}")
                value = float(m.group(1)) * scale
                if value < ZH_COUNT_BELOW and value.is_integer():    # "8.4万吨" is "84,000 tonnes" too
                    out.add(f"n:{int(value)}")
        if "年第" in text:    # (\d{4})年: four digits that end a run
            years = [end - 4 for start, end in runs if end - start >= 4]
            out |= {f"no:{int(m.group(2))}" for m in _anchored(_ZH_NOTICE, text, years)}
        if "月" in text:      # (\d{1,2})月: one or two digits that end a run
            days = [i for start, end in runs for i in (end - 2, end - 1) if i >= start]
            out |= {f"date:{int(m.group(1))}-{int(m.group(2))}" for m in _anchored(_ZH_DATE, text, days)}
    days = [start for start, end in runs if end - start <= 2]   # a date's day: 1-2 digits
    if days:
        out |= set(_en_dates(_anchored(_EN_DATE, text, _date_starts(text, days))))
    used = {v.split(":", 1)[1] for v in out}
    for value in set(map(num, {number for _, number in found})):
        if value not in used and not _year(value) and float(value) >= 10:
            out.add(f"n:{value}")
    return out


def _digit_runs(found: list[tuple[int, str]]) -> list[tuple[int, int]]:
    """(start, end) of each run of digits, from the matches of _NUMBER (a run is either the
    start of one or the part after its decimal point)."""
    runs = []
    for start, number in found:
        point = number.find(".")
        if point < 0:
            runs.append((start, start + len(number)))
        else:
            runs += [(start, start + point), (start + point + 1, start + len(number))]
    return runs


def _anchored(pattern: re.Pattern[str], text: str, starts: Iterable[int]) -> Iterator[re.Match[str]]:
    """`pattern.finditer(text)` for a pattern that can only match at one of `starts`
    (ascending): the same matches, without trying every other position of the text."""
    pos = 0
    for start in starts:
        if start >= pos and (found := pattern.match(text, start)) is not None:
            yield found
            pos = found.end()


def _date_starts(text: str, days: list[int]) -> list[int]:
    """Where an English date can begin, given where its day can: at the day (`1 June`) or at
    a month's name before it (`June 1`, `Sept. 1`)."""
    starts = set(days)
    for day in days:
        end = day
        while end and text[end - 1].isspace():    # the name, or its ".", ends before the spaces
            end -= 1
        if end == day:
            continue
        for stop in (end, end - 1) if text[end - 1:end] == "." else (end,):
            starts.update(stop - size for size in _MONTH_SIZES
                          if size <= stop and text[stop - size:stop] in _MONTHS)
    return sorted(starts)


def _en_dates(found: Iterable[re.Match[str]]) -> Iterable[str]:
    for m in found:
        name, day = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
        month = _MONTHS.get(name)
        if month and 1 <= int(day) <= 31 and not (name == "may" and m.group(1) is None):
            yield f"date:{month}-{int(day)}"


def num(text: str) -> str:
    value = float(text)
    return str(int(value)) if value.is_integer() else f"{value:g}"


def _amount(text: str, scale: float) -> str:
    return f"{float(text) * scale:.2g}"


def _year(value: str) -> bool:
    return value.isdigit() and 1900 <= int(value) <= 2100


@cache
def glossary(path: Path = GLOSSARY_FILE) -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[int, ...]]]:
    """Chinese word -> its less common English concept tokens (tools/build_glossary.py made the
    file from CC-CEDICT), and a word's first two characters -> the lengths of the words that
    begin so, longest first. Loaded when a Chinese text is first signed (~0.15 s, ~12 MB)."""
    words: dict[str, tuple[str, ...]] = {}
    same: dict[str, tuple[str, ...]] = {}    # one tuple per distinct gloss: many words share one
    with path.open(encoding="utf-8") as f:
        for line in f:
            word, tab, gloss = line.rstrip("\n").partition("\t")
            if tab and not word.startswith("#"):
                words[word] = same.setdefault(gloss, tuple(gloss.split()))
    starts: dict[str, set[int]] = {}
    for word in words:
        starts.setdefault(word[:2], set()).add(len(word))
    return words, {pair: tuple(sorted(found, reverse=True)) for pair, found in starts.items()}
