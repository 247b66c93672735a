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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from policybot.model import Item, Match
from policybot.stories.lexicon import EN_ALIASES, ZH_CONCEPTS

MAX_TEXT = 4000          # characters of title + summary looked at
TITLE_SUFFIX = re.compile(r"\s+[-–—|]\s+[^-–—|]{2,40}$")   # " - Reuters", " | Caixin Global"

# cue -> English stems / Chinese words in a title; a cue on one side only forbids a merge
STEP_CUES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "in force": (("into force", "takes effect", "take effect", "took effect", "comes into effect",
                  "enters into", "effective from", "kicks in", "kick in"), ("生效", "起施行", "正式实施")),
    "suspension": (("suspend", "pause", "paus", "halt", "delay", "postpon", "reprieve",
                    "exempt", "grace period", "truce"), ("暂停", "暂缓", "推迟", "豁免", "宽限", "休战")),
    "final": (("final determination", "final ruling", "final duties", "final anti"), ("终裁",)),
    "preliminary": (("preliminary",), ("初裁", "初步")),
    "retaliation": (("retaliat", "countermeasure", "counter-measure", "hits back", "strikes back",
                     "in response", "responds with"), ("反制", "报复", "回击", "对等回应", "反击")),
    "market": (("price", "futures", "shares", "stocks", "surge", "soar", "plunge", "rall",
                "tumble", "slump", "jump"), ("价格", "报价", "期货", "股价", "个股", "板块",
                                                "走强", "走高", "大涨", "暴涨", "飙升", "大跌")),
    "result": (("ruling", "determination", "concludes", "upholds"), ("裁定", "认定", "维持")),
}

_WORD = re.compile(r"[a-z][a-z0-9.+'-]*[a-z0-9+]|[a-z]")
_CJK = re.compile(r"[\u4e00-\u9fff]+")
_STOP = frozenset(
    "a an the of to in on for and or by with from at as is are was were be been its it their "
    "this that after over into than more new says said say will would could may might has have "
    "had not no but about against up down out under amid while who which what when where how "
    "first last also other some all two three per cent percent week day year years month "
    "monday tuesday wednesday thursday friday saturday sunday s".split())
_MONTHS = {m: i for i, names in enumerate(
    ["jan january", "feb february", "mar march", "apr april", "may", "jun june", "jul july",
     "aug august", "sep sept september", "oct october", "nov november", "dec december"], start=1)
    for m in names.split()}
_EN_SCALE = {"trillion": 1e12, "tn": 1e12, "billion": 1e9, "bn": 1e9, "b": 1e9,
             "million": 1e6, "mn": 1e6, "m": 1e6}
_ZH_SCALE = {"万亿": 1e12, "亿": 1e8, "万": 1e4}
_PCT = re.compile(r"(\d+(?:\.\d+)?)\s*(?:%|percent\b|per cent\b|个百分点|percentage point)")
_EN_AMOUNT = re.compile(r"(\d+(?:\.\d+)?)\s*(trillion|billion|million|tn|bn|mn|b|m)\b")
_ZH_AMOUNT = re.compile(r"(\d+(?:\.\d+)?)\s*(万亿|亿|万)")
_ZH_NOTICE = re.compile(r"(\d{4})年第\s*(\d+)\s*号")
_EN_NOTICE = re.compile(r"(?:no\.|number|announcement)\s*(\d+)")
_ZH_DATE = re.compile(r"(\d{1,2})月(\d{1,2})日")
_EN_DATE = re.compile(r"\b([a-z]{3,9})\.?\s+(\d{1,2})\b|\b(\d{1,2})\s+([a-z]{3,9})\b")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


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


def fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text[:MAX_TEXT]).lower()
    return text.replace("\u2019", "'").replace(",", "")  # 1,100 = 1100


def clean_title(title: str) -> str:
    """The title without a ` - Reuters` style outlet suffix."""
    return TITLE_SUFFIX.sub("", title.strip())


def signature(item: Item, matches: Sequence[Match], when: float, source: str = "") -> Signature:
    title = clean_title(item.title)
    whole = fold(f"{title}\n{item.summary}")
    lang = "zh" if len(_CJK.findall(whole)) > 2 and _cjk_share(whole) > 0.2 else "en"
    terms = {f"rule:{m.rule_id}" for m in matches}
    terms |= {f"entity:{h.entity}" for m in matches for h in m.hits if h.entity}
    return Signature(key=item.key, when=when, lang=lang, source=source or item.feed_id,
                     title=title, tokens=frozenset(tokens(whole)),
                     title_tokens=frozenset(tokens(fold(title))), numbers=frozenset(numbers(whole)),
                     terms=frozenset(terms), cues=frozenset(cues(fold(title))),
                     text_cues=frozenset(cues(whole)))


def _cjk_share(text: str) -> float:
    cjk = sum(len(run) for run in _CJK.findall(text))
    return cjk / max(1, len(text.replace(" ", "")))


def tokens(text: str) -> set[str]:
    out = set()
    for word in _WORD.findall(text):
        if word in _STOP or word.isdigit():
            continue
        out.add(EN_ALIASES.get(word) or _stem(word))
    for run in _CJK.findall(text):
        out.update(concept for concept, words in ZH_CONCEPTS.items() if any(w in run for w in words))
        out.update(f"zh:{run[i:i + 2]}" for i in range(len(run) - 1))
    return out


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def numbers(text: str) -> set[str]:
    out = {f"pct:{_num(m.group(1))}" for m in _PCT.finditer(text)}
    out |= {f"amt:{_amount(m.group(1), _EN_SCALE[m.group(2)])}" for m in _EN_AMOUNT.finditer(text)}
    out |= {f"amt:{_amount(m.group(1), _ZH_SCALE[m.group(2)])}" for m in _ZH_AMOUNT.finditer(text)}
    out |= {f"no:{int(m.group(2))}" for m in _ZH_NOTICE.finditer(text)}
    out |= {f"no:{int(m.group(1))}" for m in _EN_NOTICE.finditer(text)}
    out |= {f"date:{int(m.group(1))}-{int(m.group(2))}" for m in _ZH_DATE.finditer(text)}
    out |= set(_en_dates(text))
    used = {v.split(":", 1)[1] for v in out}
    for m in _NUMBER.finditer(text):
        value = _num(m.group(0))
        if value not in used and not _year(value) and float(value) >= 10:
            out.add(f"n:{value}")
    return out


def _en_dates(text: str) -> Iterable[str]:
    for m in _EN_DATE.finditer(text):
        name, day = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
        month = _MONTHS.get(name)
        if month and 1 <= int(day) <= 31 and not (name == "may" and m.group(1) is None):
            yield f"date:{month}-{int(day)}"


def _num(text: str) -> str:
    value = float(text)
    return str(int(value)) if value.is_integer() else f"{value:g}"


def _amount(text: str, scale: float) -> str:
    return f"{float(text) * scale:.2g}"


def _year(value: str) -> bool:
    return value.isdigit() and 1900 <= int(value) <= 2100


def cues(title: str) -> set[str]:
    return {cue for cue, (en, zh) in STEP_CUES.items()
            if any(w in title for w in en) or any(w in title for w in zh)}
