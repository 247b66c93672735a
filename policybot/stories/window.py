"""The window of recent stories as an inverted index, so grouping an item compares it with the
few items that share something specific with it (a name, a good, a number), not with every
item of the last days. Pure data structure: no I/O, no clock."""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable
from itertools import chain
from operator import itemgetter

from policybot.stories.features import Signature
from policybot.stories.group import MIN_PAIRS, MIN_SPECIFIC, MIN_SPECIFIC_CROSS, WINDOW, Candidate
from policybot.stories.titles import topic

MAX_POSTING = 16      # items remembered per key: the newest; a key in more items says little
MAX_NEAR = 8          # candidates an item is compared with: those sharing the most keys
MAX_KEYS = 16         # an item's rarest keys looked up in the index
MAX_GLOSS_POSTING = 16   # Chinese items remembered per glossary word: a word in more says little
MAX_TITLED = 16      # items remembered per concept of their titles: for a spokesperson's answer
MAX_ANSWERED = 4     # candidates an answer is compared with besides: those naming most of its topic
MIN_SHARED = min(MIN_SPECIFIC, MIN_SPECIFIC_CROSS)   # fewer shared keys can never join


class Window:
    def __init__(self, candidates: Iterable[Candidate] = ()) -> None:
        self._items: dict[int, Candidate] = {}
        self._postings: dict[str, list[int]] = {}
        self._glossed: dict[str, list[int]] = {}   # a Chinese item's glossary words -> its id
        self._zh: set[int] = set()                 # the ids of the Chinese items
        self._titled: dict[str, list[int]] = {}    # a concept of a title -> the ids of its items
        self._by_time: list[tuple[float, int]] = []    # (when, id): a heap, the oldest first
        self._next = 0     # the next item's id: ids grow, so each posting is oldest first
        for cand in candidates:
            self.add(cand)

    def __len__(self) -> int:
        return len(self._items)

    def add(self, cand: Candidate) -> None:
        new = self._next
        self._items[new] = cand
        _post(self._postings, cand.sig.keys, new)
        _post(self._titled, cand.sig.title_concepts, new, MAX_TITLED)
        if cand.sig.lang == "zh":
            self._zh.add(new)
            _post(self._glossed, cand.sig.gloss, new, MAX_GLOSS_POSTING)
        heapq.heappush(self._by_time, (cand.sig.when, self._next))
        self._next += 1

    def near(self, sig: Signature, window: float = WINDOW) -> list[Candidate]:
        """The items within `window` of `sig` sharing at least MIN_SHARED keys with it (the
        MAX_NEAR sharing most, newest first among equals), oldest first. (The window holds
        items older than that, for reports published late: they must not crowd out the others.)"""
        postings, items = self._postings, self._items
        lists = [ids for ids in map(postings.get, sig.plain_keys) if ids]   # keys sorted: runs agree
        counts = Counter(chain.from_iterable(_rarest(lists)))
        # the other language's reports sharing glossary words: an English item's keys among the
        # Chinese items' glossary words, a Chinese item's glossary words among the English keys
        if sig.lang == "en":
            counts.update(chain.from_iterable(_rarest([ids for ids in map(self._glossed.get, sig.plain_keys)
                                                       if ids])))
        elif sig.gloss:
            zh = self._zh
            counts.update([i for i in chain.from_iterable(_rarest(
                [ids for ids in map(postings.get, sorted(sig.gloss)) if ids])) if i not in zh])
        if sig.pair_keys:     # a Chinese title's bigrams: MIN_PAIRS shared count as one key
            pairs = Counter(chain.from_iterable(ids for ids in map(postings.get, sig.pair_keys) if ids))
            counts.update([i for i, n in pairs.items() if n >= MIN_PAIRS])
        found = [(n, i) for i, n in counts.items() if n >= MIN_SHARED and i in items]
        if len(found) > MAX_NEAR:
            found = heapq.nlargest(MAX_NEAR, found)
        when = sig.when
        if any(abs(items[i].sig.when - when) > window for _, i in found):    # (seldom: all then)
            found = heapq.nlargest(MAX_NEAR, [(n, i) for i, n in counts.items() if n >= MIN_SHARED
                                              and i in items and abs(items[i].sig.when - when) <= window])
        if sig.lang == "zh" and (about := topic(sig.title)):    # a spokesperson's answer: the acts named
            found += self._answered(about, {i for _, i in found}, when, window)
        found.sort(key=itemgetter(1))
        return [items[i] for _, i in found]

    def _answered(self, about: frozenset[str], found: set[int], when: float,
                  window: float) -> list[tuple[int, int]]:
        """The MAX_ANSWERED items within `window` of `when` (not in `found`) whose titles name
        most (two or more) of the concepts of a spokesperson's topic, newest first among equals."""
        items = self._items
        titled = Counter(chain.from_iterable(ids for ids in map(self._titled.get, sorted(about)) if ids))
        return heapq.nlargest(MAX_ANSWERED, [(n, i) for i, n in titled.items() if n >= 2 and i not in found
                                             and i in items and abs(items[i].sig.when - when) <= window])

    def prune(self, before: float) -> None:
        """Forget the items older than `before`, and the postings left with forgotten items only.
        Each poll prunes: the oldest items come off a heap, and only the postings of the items
        forgotten now can be left so (a new item is in its postings), so neither the items nor
        the postings of the window are scanned."""
        keys: set[str] = set()
        glossed: set[str] = set()
        titled: set[str] = set()
        while self._by_time and self._by_time[0][0] < before:
            old = heapq.heappop(self._by_time)[1]
            sig = self._items.pop(old).sig
            keys.update(sig.keys)
            titled.update(sig.title_concepts)
            if old in self._zh:
                self._zh.discard(old)
                glossed.update(sig.gloss)
        for postings, forgotten in ((self._postings, keys), (self._glossed, glossed), (self._titled, titled)):
            for key in forgotten:
                ids = postings.get(key)
                if ids is not None and all(i not in self._items for i in ids):
                    del postings[key]


def _post(postings: dict[str, list[int]], keys: Iterable[str], new: int, most: int = MAX_POSTING) -> None:
    """`new` under each of `keys`: a posting is a plain list (most hold an item or two: a deque
    would be ten times its size), trimmed to the newest `most`."""
    for key in keys:
        ids = postings.get(key)
        if ids is None:
            postings[key] = [new]
        else:
            ids.append(new)
            if len(ids) > most:
                del ids[0]


def _rarest(lists: list[list[int]]) -> list[list[int]]:
    """The MAX_KEYS shortest posting lists (the rarest keys say the most), in their order when as
    many or fewer (the sort is stable: runs agree)."""
    if len(lists) > MAX_KEYS:
        lists.sort(key=len)
        del lists[MAX_KEYS:]
    return lists
