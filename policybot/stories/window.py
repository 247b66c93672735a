"""The window of recent stories as an inverted index, so grouping an item compares it with the
few items that share something specific with it (a name, a good, a number), not with every
item of the last days. Pure data structure: no I/O, no clock."""

from __future__ import annotations

import heapq
from collections import Counter, deque
from collections.abc import Iterable
from itertools import chain
from operator import itemgetter

from policybot.stories.features import Signature
from policybot.stories.group import MIN_PAIRS, MIN_SPECIFIC, MIN_SPECIFIC_CROSS, Candidate

MAX_POSTING = 64      # items remembered per key: the newest; a key in more items says little
MAX_NEAR = 8          # candidates an item is compared with: those sharing the most keys
MAX_KEYS = 16         # an item's rarest keys looked up in the index
MIN_SHARED = min(MIN_SPECIFIC, MIN_SPECIFIC_CROSS)   # fewer shared keys can never join


class Window:
    def __init__(self, candidates: Iterable[Candidate] = ()) -> None:
        self._items: dict[int, Candidate] = {}
        self._postings: dict[str, deque[int]] = {}
        self._by_time: list[tuple[float, int]] = []    # (when, id): a heap, the oldest first
        self._next = 0
        for cand in candidates:
            self.add(cand)

    def __len__(self) -> int:
        return len(self._items)

    def add(self, cand: Candidate) -> None:
        self._items[self._next] = cand
        postings = self._postings
        for key in _posted(cand.sig):
            ids = postings.get(key)
            if ids is None:
                ids = postings[key] = deque(maxlen=MAX_POSTING)
            ids.append(self._next)
        heapq.heappush(self._by_time, (cand.sig.when, self._next))
        self._next += 1

    def near(self, sig: Signature) -> list[Candidate]:
        """The items sharing at least MIN_SHARED keys with `sig` (the MAX_NEAR sharing most,
        newest first among equals), oldest first."""
        keys = sorted(sig.keys)   # one order: runs agree
        lists = [ids for ids in map(self._postings.get, (k for k in keys if not k.startswith("zh:"))) if ids]
        counts = Counter(chain.from_iterable(sorted(lists, key=len)[:MAX_KEYS]))   # the rarest say the most
        # the other language's reports sharing glossary words (a Chinese report's, an English one's keys)
        glossed = sorted(f"{GLOSSED}{k}" for k in keys) if sig.lang == "en" else sorted(sig.gloss)
        lists = [ids for ids in map(self._postings.get, glossed) if ids]
        counts.update(i for i in chain.from_iterable(sorted(lists, key=len)[:MAX_KEYS])
                      if self._items.get(i) is not None and self._items[i].sig.lang != sig.lang)
        if sig.lang == "zh":     # a Chinese title's bigrams: MIN_PAIRS shared count as one key
            pairs = Counter(chain.from_iterable(
                ids for ids in map(self._postings.get, (k for k in keys if k.startswith("zh:"))) if ids))
            counts.update(i for i, n in pairs.items() if n >= MIN_PAIRS)
        found = [(n, i) for i, n in counts.items() if n >= MIN_SHARED and i in self._items]
        return [self._items[i] for _, i in sorted(heapq.nlargest(MAX_NEAR, found), key=itemgetter(1))]

    def prune(self, before: float) -> None:
        """Forget the items older than `before`, and the postings left with forgotten items only.
        Each poll prunes: the oldest items come off a heap, and only the postings of the items
        forgotten now can be left so (a new item is in its postings), so neither the items nor
        the postings of the window are scanned."""
        keys: set[str] = set()
        while self._by_time and self._by_time[0][0] < before:
            keys.update(_posted(self._items.pop(heapq.heappop(self._by_time)[1]).sig))
        for key in keys:
            ids = self._postings.get(key)
            if ids is not None and all(i not in self._items for i in ids):
                del self._postings[key]


GLOSSED = "g:"    # a Chinese report's glossary words are posted under this prefix


def _posted(sig: Signature) -> Iterable[str]:
    """The keys an item is found by: its own, and its glossary words (prefixed)."""
    return chain(sig.keys, (GLOSSED + g for g in sig.gloss)) if sig.gloss else sig.keys
