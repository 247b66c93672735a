"""The story stage of a poll, between matching and routing: the same item once (identities),
the same story once (grouping against the index of the window), and which alerts are a
story's later reports for their destination. `StoryIndex` keeps the window's signatures in
memory (loaded from the store at start, so restarts keep it); each poll works on a
`StoryPoll`, whose `record` the store writes in the poll's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from policybot.model import Alert, Item, Match
from policybot.stories.canon import identity_keys
from policybot.stories.features import signature
from policybot.stories.group import WINDOW, Candidate, Decision, decide
from policybot.stories.storage import StoryRecord
from policybot.stories.window import Window


class StoryStore(Protocol):
    def known_identities(self, idents: Sequence[str]) -> set[str]: ...
    def story_candidates(self, since: float) -> list[Candidate]: ...
    def stories_reached(self, destination: str, stories: Sequence[str]) -> set[str]: ...


@dataclass(slots=True)
class StoryIndex:
    """The window's stories in memory, loaded from the store on the first poll (so a restart
    keeps them) and kept up to date by each committed poll."""

    store: StoryStore
    window: float | None = WINDOW      # None: grouping off (identities still dedupe)
    recent: Window | None = None

    def begin(self, now: float) -> StoryPoll:
        if self.window is not None:
            cutoff = now - 2 * self.window   # items are dated by publication: some are late
            if self.recent is None:
                self.recent = Window(self.store.story_candidates(cutoff))
            self.recent.prune(cutoff)
        return StoryPoll(self, now)

    def committed(self, record: StoryRecord) -> None:
        if self.recent is not None:
            for _, story, sig in record.stories:
                self.recent.add(Candidate(story, sig))


@dataclass(slots=True)
class StoryPoll:
    index: StoryIndex
    now: float
    record: StoryRecord = field(default_factory=StoryRecord)
    decisions: dict[str, Decision] = field(default_factory=dict)
    _idents: set[str] = field(default_factory=set)
    _batch: Window = field(default_factory=Window)
    _reached: set[tuple[str, str]] = field(default_factory=set)

    def duplicates(self, items: Sequence[Item]) -> set[str]:
        """Keys of the items that are another feed's (or an earlier) copy of an item seen."""
        keys = {i.key: identity_keys(i.item_id, i.link) for i in items}
        known = self.index.store.known_identities(sorted({k for ks in keys.values() for k in ks}))
        dupes = set()
        for item in items:
            idents = keys[item.key]
            if any(k in known or k in self._idents for k in idents):
                dupes.add(item.key)
            self._idents.update(idents)
            self.record.identities += [(k, item.key) for k in idents if k not in known]
        return dupes

    def story_of(self, item: Item, matches: Sequence[Match], source: str) -> str:
        if self.index.window is None or not matches:
            return ""
        when = min(item.published.timestamp(), self.now) if item.published else self.now
        sig = signature(item, matches, when, source)
        window = self.index.window if self.index.window is not None else WINDOW
        near = self.index.recent.near(sig, window) if self.index.recent is not None else []
        decision = decide(sig, [*near, *self._batch.near(sig, window)], window)
        story = decision.story or item.key
        self.decisions[item.key] = decision
        self._batch.add(Candidate(story, sig))
        self.record.stories.append((item.key, story, sig))
        return story

    def mark(self, alerts: Sequence[Alert]) -> list[Alert]:
        """Alerts with `later` set where their destination already has the story."""
        out = []
        for alert in alerts:
            if not alert.story:
                out.append(alert)
                continue
            pair = (alert.destination, alert.story)
            later = pair in self._reached or bool(
                self.index.store.stories_reached(alert.destination, [alert.story]))
            if later:
                self.record.laters.append((alert.alert_id, *pair, alert.feed_title))
            else:
                self.record.firsts.append((*pair, alert.alert_id))
                self._reached.add(pair)
            out.append(replace(alert, later=later))
        return out


def group_items(items: Sequence[Item], matches: Sequence[Sequence[Match]],
                window: float | None = WINDOW) -> list[tuple[str, str]]:
    """Pure, for dry runs: each item's (story label, one-line why), grouped in time order
    (undated items last, in input order) as the bot would; copies (same link or guid) join
    their original. `window` None: grouping off, every item its own story."""
    def key(i: int) -> tuple[bool, float, int]:
        published = items[i].published
        return (published is None, published.timestamp() if published else 0.0, i)

    order = sorted(range(len(items)), key=key)
    out: dict[int, tuple[str, str]] = {}
    seen: dict[str, str] = {}
    recent = Window()
    for i in order:
        item = items[i]
        idents = identity_keys(item.item_id, item.link)
        copy = next((seen[k] for k in idents if k in seen), None)
        if copy is not None:
            out[i] = (copy, f"same item as {copy} (same link or guid)")
            continue
        if window is None:
            seen.update(dict.fromkeys(idents, item.item_id))
            out[i] = (item.item_id, "new (grouping off)")
            continue
        sig = signature(item, matches[i], item.published.timestamp() if item.published else 0.0)
        decision = decide(sig, recent.near(sig, window), window)
        story = decision.story or item.item_id
        recent.add(Candidate(story, sig))
        seen.update(dict.fromkeys(idents, story))
        out[i] = (story, decision.why)
    return [out[i] for i in range(len(items))]
