"""One normalisation for rule terms and item text, with offsets back to the original text.

`normalize(text)` case-folds, applies NFKC (full-width ＲＥＥ is ree), folds Traditional Chinese
to Simplified (出口許可 is 出口许可), and turns hyphens, dashes and runs of white space into one
space. Curly apostrophes become `'` so "List’s" is a possessive like "List's".

Speed: almost every character maps to exactly one character, so the bulk of the work is one
`str.translate` with a table (NFKC + case fold + OpenCC's character-level t2s). Only the rare
characters whose folding changes length (…, ß, ﬁ, combining marks, characters outside the
BMP) and runs of spaces go through a slower path that records an edit; `Normalized.span` maps
a normalised span back through those edits. OpenCC's t2s phrase table (乾淨 -> 干净) is applied
afterwards; every phrase keeps its length, so no edit is needed.

Start-up: building the tables takes about 50 ms, so a copy ships in fold_tables.json and is used
when it was made from the same Unicode data, OpenCC dictionaries and folding rules as this
environment has (`python -m policybot.matching.normalize` rewrites it; tests/test_startup.py
checks it against a fresh build); otherwise the tables are built at import, as before.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path

DASHES = "-\u00ad\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2e3a\u2e3b\ufe58\ufe63\uff0d"
APOSTROPHES = "\u2018\u2019\u02bc\uff07"
_ASCII_WORD = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_CJK_RANGES = (
    (0x2E80, 0x2FDF),    # CJK radicals
    (0x3005, 0x3007),    # 々 〆 〇
    (0x3040, 0x30FF),    # Hiragana, Katakana
    (0x3400, 0x4DBF),    # CJK extension A
    (0x4E00, 0x9FFF),    # CJK unified ideographs
    (0xF900, 0xFAFF),    # CJK compatibility ideographs
    (0x20000, 0x3134F),  # CJK extensions B-G
)


def is_cjk(char: str) -> bool:
    """True for Han ideographs and Japanese kana: scripts written without spaces."""
    code = ord(char)
    return any(low <= code <= high for low, high in _CJK_RANGES)


def is_word_char(char: str) -> bool:
    """A letter or digit of a script written with spaces: a term may not touch one."""
    if char < "\x80":
        return char in _ASCII_WORD
    return char.isalnum() and not is_cjk(char)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def _opencc_tables() -> tuple[dict[str, str], dict[str, str]]:
    """OpenCC t2s: character table and the phrases whose conversion differs from char-wise."""
    import opencc  # local: only needed while building the constant tables

    converter = opencc.OpenCC("t2s")
    folder = Path(opencc.__file__).parent / "dictionary"
    chars: dict[str, str] = {}
    for line in (folder / "TSCharacters.txt").read_text(encoding="utf-8").splitlines():
        key = line.split("\t", 1)[0]
        value = converter.convert(key)
        if len(key) == 1 and len(value) == 1 and value != key:
            chars[key] = value
    phrases: dict[str, str] = {}
    for line in (folder / "TSPhrases.txt").read_text(encoding="utf-8").splitlines():
        key = line.split("\t", 1)[0]
        value = converter.convert(key)
        charwise = "".join(chars.get(c, c) for c in key)
        if len(value) == len(key) and value != charwise:
            phrases.setdefault(charwise, value)
    return chars, phrases


def _simple(char: str, t2s: dict[str, str]) -> str:
    """The one-character normal form of an already folded character."""
    char = t2s.get(char, char)
    if char in DASHES or char.isspace():
        return " "
    return "'" if char in APOSTROPHES else char


def _build() -> tuple[dict[int, str], str, dict[str, str]]:
    t2s, phrases = _opencc_tables()
    table: dict[int, str] = {}
    complex_chars: list[str] = []
    for code in range(0x10000):
        if 0xD800 <= code < 0xE000:
            continue
        char = chr(code)
        folded = _fold(char)
        if len(folded) != 1 or unicodedata.combining(char):
            complex_chars.append(char)
            continue
        simple = _simple(folded, t2s)
        if simple != char:
            table[code] = simple
    for key, value in t2s.items():  # t2s keys outside the BMP
        table.setdefault(ord(key), value)
    return table, "".join(complex_chars), phrases


SHIPPED = Path(__file__).with_name("fold_tables.json")


def _tables_key() -> str:
    """What the tables are made of: Unicode version, OpenCC's t2s dictionaries, our folding."""
    digest = hashlib.sha256(f"{DASHES}|{APOSTROPHES}|{unicodedata.unidata_version}".encode())
    spec = importlib.util.find_spec("opencc")
    if spec is None or spec.origin is None:
        return "no-opencc"
    folder = Path(spec.origin).parent / "dictionary"
    for name in ("TSCharacters.txt", "TSPhrases.txt"):
        digest.update((folder / name).read_bytes())
    return digest.hexdigest()[:32]


def _tables() -> tuple[dict[int, str], str, dict[str, str]]:
    """The shipped tables when they fit this environment, else a fresh build."""
    try:
        shipped = json.loads(SHIPPED.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        shipped = {}
    if shipped.get("key") != _tables_key():
        return _build()
    table = dict(zip(map(ord, shipped["from"]), shipped["to"], strict=True))
    return table, shipped["complex"], shipped["phrases"]


def write_tables(path: Path = SHIPPED) -> None:
    table, complex_chars, phrases = _build()
    keys = sorted(table)
    data = {"key": _tables_key(), "from": "".join(map(chr, keys)), "to": "".join(table[k] for k in keys),
            "complex": complex_chars, "phrases": phrases}
    path.write_text(json.dumps(data, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")


_TABLE, _COMPLEX, _PHRASES = _tables()
_SPACE_LIKE = "".join(sorted({c for c in map(chr, range(0x3000 + 1)) if c.isspace()} | set(DASHES)))
_SPECIAL_RE = re.compile(
    "[" + re.escape(_COMPLEX) + "\U00010000-\U0010ffff]+"
    + "|[" + re.escape(_SPACE_LIKE) + "]{2,}"
)
_PHRASE_RE = re.compile("|".join(map(re.escape, sorted(_PHRASES, key=len, reverse=True))))
_SPACES_RE = re.compile(" {2,}")
_ASCII = bytes(ord(_TABLE.get(code, chr(code))) if code < 128 else code for code in range(256))


@dataclass(frozen=True, slots=True)
class Normalized:
    """Normalised text plus the edits that changed lengths, to map spans back."""

    text: str
    edits: tuple[tuple[int, int, int, int], ...] = ()  # (norm start, norm end, orig start, end)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original text that normalised to text[start:end]."""
        return self._start(start), self._end(end)

    def _start(self, pos: int) -> int:
        index = bisect_right(self.edits, (pos, 1 << 62)) - 1
        if index < 0:
            return pos
        nstart, nend, ostart, oend = self.edits[index]
        return ostart if pos < nend else oend + pos - nend

    def _end(self, pos: int) -> int:
        index = bisect_right(self.edits, (pos - 1, 1 << 62)) - 1
        if index < 0:
            return pos
        nstart, nend, ostart, oend = self.edits[index]
        return oend if pos <= nend else oend + pos - nend


def _fold_piece(piece: str) -> str:
    """Normal form of a run of complex characters or of spaces and dashes."""
    folded = _fold(piece).translate(_TABLE)
    return _SPACES_RE.sub(" ", folded)


def normalize(text: str) -> Normalized:
    """Fold `text` for matching; `result.span()` maps spans back to `text`."""
    if text.isascii():
        return _normalize_ascii(text)
    if _SPECIAL_RE.search(text) is None:
        return Normalized(_phrases(text.translate(_TABLE)))
    parts: list[str] = []
    edits: list[tuple[int, int, int, int]] = []
    pos = npos = 0
    for found in _SPECIAL_RE.finditer(text):
        start, end = found.span()
        if start > pos and unicodedata.combining(text[start]):
            start -= 1  # a combining mark composes with the character before it
        gap = text[pos:start].translate(_TABLE)
        parts.append(gap)
        npos += len(gap)
        for first, last in _clusters(text, start, end):
            piece = _fold_piece(text[first:last])
            parts.append(piece)
            if len(piece) != last - first:
                edits.append((npos, npos + len(piece), first, last))
            npos += len(piece)
        pos = end
    parts.append(text[pos:].translate(_TABLE))
    return Normalized(_phrases("".join(parts)), tuple(edits))


def _normalize_ascii(text: str) -> Normalized:
    """The common case, at bytes speed: lower case, dashes and white space to one space."""
    folded = text.encode("ascii").translate(_ASCII).decode("ascii")
    if "  " not in folded:
        return Normalized(folded)
    edits: list[tuple[int, int, int, int]] = []
    removed = 0
    for run in _SPACES_RE.finditer(folded):
        start, end = run.span()
        edits.append((start - removed, start - removed + 1, start, end))
        removed += end - start - 1
    return Normalized(_SPACES_RE.sub(" ", folded), tuple(edits))


def _clusters(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """A run of spaces is one cluster; otherwise each character with its combining marks."""
    if text[start] in _SPACE_LIKE:
        return [(start, end)]
    clusters: list[tuple[int, int]] = []
    while start < end:
        stop = start + 1
        while stop < end and unicodedata.combining(text[stop]):
            stop += 1
        clusters.append((start, stop))
        start = stop
    return clusters


def _phrases(text: str) -> str:
    if text.isascii():
        return text
    return _PHRASE_RE.sub(lambda found: _PHRASES[found.group()], text)


def normalize_term(term: str) -> str:
    """The normal form of a rule term: like text, without spaces at either end."""
    return normalize(term).text.strip()


if __name__ == "__main__":
    write_tables()
