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
from policybot.stories.group import MIN_PAIRS, MIN_SPECIFIC, MIN_SPECIFIC_CROSS, Candidate

MAX_POSTING = 64      # items remembered per key: the newest; a key in more items says little
MAX_NEAR = 8          # candidates an item is compared with: those sharing the most keys
MAX_KEYS = 16         # an item's rarest keys looked up in the index
MIN_SHARED = min(MIN_SPECIFIC, MIN_SPECIFIC_CROSS)   # fewer shared keys can never join


class Window:
    def __init__(self, candidates: Iterable[Candidate] = ()) -> None:
        self._items: dict[int, Candidate] = {}
        self._postings: dict[str, list[int]] = {}
        self._by_time: list[tuple[float, int]] = []    # (when, id): a heap, the oldest first
        self._next = 0     # the next item's id: ids grow, so each posting is oldest first
        for cand in candidates:
            self.add(cand)

    def __len__(self) -> int:
        return len(self._items)

    def add(self, cand: Candidate) -> None:
        """A posting is a plain list (most hold an item or two: a deque would be ten times its
        size), trimmed to the newest MAX_POSTING."""
        new = self._next
        self._items[new] = cand
        postings = self._postings
        for key in cand.sig.keys:
            ids = postings.get(key)
            if ids is None:
                postings[key] = [new]
            else:
                ids.append(new)
                if len(ids) > MAX_POSTING:
                    del ids[0]
        heapq.heappush(self._by_time, (cand.sig.when, self._next))
        self._next += 1

    def near(self, sig: Signature) -> list[Candidate]:
        """The items sharing at least MIN_SHARED keys with `sig` (the MAX_NEAR sharing most,
        newest first among equals), oldest first."""
        postings, items = self._postings, self._items
        lists = [ids for ids in map(postings.get, sig.plain_keys) if ids]   # keys sorted: runs agree
        if len(lists) > MAX_KEYS:
            lists.sort(key=len)     # (stable) the rarest say the most
            del lists[MAX_KEYS:]
        counts = Counter(chain.from_iterable(lists))
        if sig.pair_keys:     # a Chinese title's bigrams: MIN_PAIRS shared count as one key
            pairs = Counter(chain.from_iterable(ids for ids in map(postings.get, sig.pair_keys) if ids))
            counts.update([i for i, n in pairs.items() if n >= MIN_PAIRS])
        found = [(n, i) for i, n in counts.items() if n >= MIN_SHARED and i in items]
        if len(found) > MAX_NEAR:
            found = heapq.nlargest(MAX_NEAR, found)
        found.sort(key=itemgetter(1))
        return [items[i] for _, i in found]

    def prune(self, before: float) -> None:
        """Forget the items older than `before`, and the postings left with forgotten items only.
        Each poll prunes: the oldest items come off a heap, and only the postings of the items
        forgotten now can be left so (a new item is in its postings), so neither the items nor
        the postings of the window are scanned."""
        keys: set[str] = set()
        while self._by_time and self._by_time[0][0] < before:
            keys.update(self._items.pop(heapq.heappop(self._by_time)[1]).sig.keys)
        for key in keys:
            ids = self._postings.get(key)
            if ids is not None and all(i not in self._items for i in ids):
                del self._postings[key]

