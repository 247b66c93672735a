"""Poll one feed: fetch, parse (off the loop), keep new items, match, route, enqueue.

Everything a poll learns is written in one transaction (`Store.commit_poll`): the items it
marks seen and the alerts it enqueues. A failing feed is recorded on its row with a backoff,
logged, and never stops the others.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import multiprocessing
import os
import random
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import BrokenExecutor, Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from policybot.errors import FetchError, ParseError
from policybot.feeds.fetch import Fetcher, cache_max_age
from policybot.feeds.text import one_line
from policybot.model import Alert, Feed, FetchResult, Item, Match, alert_key
from policybot.store import FeedState, Store
from policybot.stories.stage import StoryIndex, StoryPoll

if TYPE_CHECKING:
    from policybot.feeds.parse import ParsedFeed

log = logging.getLogger(__name__)

MAX_BACKOFF = 6 * 3600.0
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PollResult:
    feed_id: str
    status: str            # "new" | "not-modified" | "unchanged" | "error" | "skipped" | "disabled"
    items: int = 0         # items in the feed
    new: int = 0           # items never seen before
    alerts: int = 0        # alerts enqueued
    error: str | None = None
    failure: str | None = None   # "fetch" | "parse" when status is "error"


# (item, feed) -> matches; (item, matches) -> the matches each destination gets.
Matcher = Callable[[Item, Feed], Sequence[Match]]
Router = Callable[[Item, Sequence[Match]], Mapping[str, Sequence[Match]]]


@dataclass(slots=True)
class Poller:
    store: Store
    fetcher: Fetcher
    matcher: Matcher
    router: Router
    executor: Executor | None = None
    rng: random.Random | None = None
    stories: StoryIndex | None = None
    _flushes: set[asyncio.Task[None]] = field(default_factory=set)   # under way (kept referenced)

    async def poll(self, feed: Feed, now: datetime, *, force: bool = False) -> PollResult:
        state = await self.store.run(self.store.feed_state, feed.id)
        ts = now.timestamp()
        if state.disabled:
            return PollResult(feed.id, "disabled", error=state.disabled)
        if not force and state.next_poll and state.next_poll > ts:
            log.debug("feed=%s skipped: backing off or asked to wait for %.0fs more",
                      feed.id, state.next_poll - ts)
            return PollResult(feed.id, "skipped")
        try:
            result = await self.fetcher.fetch(
                _url(feed, state), etag=state.etag, last_modified=state.last_modified)
            return await self._handle(feed, state, result, now)
        except (FetchError, ParseError) as exc:
            return await self.store.run(self._failed, feed, state, exc, ts)

    async def _handle(self, feed: Feed, state: FeedState, result: FetchResult,
                      now: datetime) -> PollResult:
        ts = now.timestamp()
        values = _success_values(feed, state, result, ts)
        if result.not_modified:
            await self._nothing_new(feed, values, ts)
            return PollResult(feed.id, "not-modified")
        body_hash = hashlib.sha256(result.body).hexdigest()
        if body_hash == state.body_hash and state.first_poll_done:
            await self._nothing_new(feed, values, ts)
            return PollResult(feed.id, "unchanged")
        parsed = await self._parse(feed, result)
        values["body_hash"] = body_hash
        return await self.store.run(self._commit, feed, state, parsed, values, now)

    async def _nothing_new(self, feed: Feed, values: dict[str, object], ts: float) -> None:
        """Polls that end together (a cycle of 304s) share one write transaction. The items of
        the feed's latest body are still there: their `last_present` moves to `ts`, so a feed
        quiet for longer than the retention never has them pruned (and alerted again)."""
        await self.store.run(self.store.update_feed_later, feed.id, present=ts, **values)
        flush = asyncio.get_running_loop().create_task(self._flush())
        self._flushes.add(flush)
        flush.add_done_callback(self._flushes.discard)

    async def _flush(self) -> None:
        try:
            await self.store.run(self.store.flush_feeds)
        except sqlite3.Error:  # a callback has no caller: say it here; the next poll retries
            log.exception("could not record the polls that found nothing new")

    async def _parse(self, feed: Feed, result: FetchResult) -> ParsedFeed:
        loop = asyncio.get_running_loop()
        from policybot.feeds.parse import parse_feed  # feedparser: loaded when a body needs it

        job = partial(parse_feed, feed.id, result.body, result.headers, result.url)
        try:
            return await loop.run_in_executor(self.executor, job)
        except BrokenExecutor:  # a worker died (killed for memory?) while parsing this body
            raise ParseError(f"parse failed: {feed.id}: the parser process died on this body") from None

    def _commit(self, feed: Feed, state: FeedState, parsed: ParsedFeed,
                values: dict[str, object], now: datetime) -> PollResult:
        """unseen -> match -> stories -> commit: one stage of store work (Store.run)."""
        ts = now.timestamp()
        items = parsed.items  # unique by item_id already (parse_feed keeps the first of each)
        new_ids = self.store.unseen(feed.id, [i.item_id for i in items])
        new_items = [i for i in items if i.item_id in new_ids]
        alerting = new_items if state.first_poll_done else _within_backfill(new_items, feed, now)
        story = self.stories.begin(ts) if self.stories is not None else None
        if story is not None:   # another feed's copy of an item seen: seen here too, no alert
            dupes = story.duplicates(new_items)
            alerting = [i for i in alerting if i.key not in dupes]
        alerts = [a for item in alerting for a in self._alerts(feed, parsed, item, story)]
        values["first_poll_done"] = 1
        if new_items:
            values["last_new_item"] = ts
            values["silent_reported"] = None  # a silent blind spot is over
        added = self.store.commit_poll(feed.id, new_items, [i.item_id for i in items],
                                       alerts, values, ts, story.record if story else None)
        if story is not None and self.stories is not None:
            self.stories.committed(story.record)
            if log.isEnabledFor(logging.DEBUG):     # a join's line is made only when asked
                for key, decision in story.decisions.items():
                    log.debug("feed=%s item=%s story: %s", feed.id, key, decision.why)
        if new_items:
            log.info("feed=%s polled: %d items, %d new, %d alerts", feed.id, len(items),
                     len(new_items), added)
        for alert in alerts:
            log.info("feed=%s rule=%s destination=%s queued: %.80s", feed.id,
                     ",".join(m.rule_id for m in alert.matches), alert.destination, alert.item.title)
        return PollResult(feed.id, "new", len(items), len(new_items), added)

    def _alerts(self, feed: Feed, parsed: ParsedFeed, item: Item,
                story: StoryPoll | None) -> list[Alert]:
        matches = self.matcher(item, feed)
        if not matches:
            return []
        title = feed.title or parsed.title or feed.id
        story_id = story.story_of(item, matches, title) if story is not None else ""
        alerts = [Alert(alert_id=alert_key(item, dest), destination=dest, item=item,
                        matches=tuple(ms), feed_title=title, story=story_id)
                  for dest, ms in self.router(item, matches).items() if ms]
        return story.mark(alerts) if story is not None else alerts

    def _failed(self, feed: Feed, state: FeedState, exc: FetchError | ParseError,
                ts: float) -> PollResult:
        count = state.error_count + 1
        message = one_line(str(exc))  # server text may be in it: no control characters, one line
        delay = backoff(count, feed.every, self.rng)
        if isinstance(exc, FetchError) and exc.retry_after:
            delay = max(delay, exc.retry_after)
        values: dict[str, object] = {
            "last_poll": ts, "error_count": count, "last_error": message,
            "failing_since": state.failing_since or ts, "next_poll": ts + delay}
        if isinstance(exc, FetchError) and exc.gone:
            values["disabled"] = f"gone (410) at {_url(feed, state)}: remove it from config.yaml"
            log.error("feed=%s disabled: %s", feed.id, message)
        else:
            log.warning("feed=%s poll failed (%d in a row, next try in %.0fs): %s",
                        feed.id, count, delay, message)
        self.store.update_feed(feed.id, **values)
        return PollResult(feed.id, "error", error=message,
                          failure="fetch" if isinstance(exc, FetchError) else "parse")


class ParserPool(Executor):
    """Worker processes for parse_feed, one per core. Processes start on the first parse and
    are started by forkserver, so they never inherit the bot's threads or sockets. When a
    worker dies (the OS killed it for memory), the feeds it was parsing record an error and
    the next parse gets a fresh pool. Nothing is made before the first parse (a cycle of 304s
    starts no process), and the fork server imports the parser once for all its workers."""

    PRELOAD = ("__main__", "policybot.feeds.parse")

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._pool: ProcessPoolExecutor | None = None
        self._shut = False

    def _new(self) -> ProcessPoolExecutor:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(list(self.PRELOAD))
        return ProcessPoolExecutor(self.workers, mp_context=context)

    def submit(self, fn: Callable[..., T], /, *args: object, **kwargs: object) -> Future[T]:
        if self._shut:
            raise RuntimeError("cannot schedule new futures after shutdown")
        if self._pool is None:
            self._pool = self._new()
        try:
            return self._pool.submit(fn, *args, **kwargs)
        except BrokenProcessPool:
            log.warning("parser pool broken (a worker died): starting a new one")
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new()
            return self._pool.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._shut = True
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)


def backoff(failures: int, every: float, rng: random.Random | None = None) -> float:
    """Exponential per-feed backoff on errors: every, 2x, 4x ... capped, with jitter."""
    base = min(every * (2 ** max(failures - 1, 0)), max(MAX_BACKOFF, every))
    jitter = (rng or random).uniform(0.9, 1.1)  # noqa: S311 - not cryptography
    return base * jitter


def _url(feed: Feed, state: FeedState) -> str:
    """The stored URL after a permanent redirect, unless config.yaml changed the feed's URL."""
    return state.url if state.url and state.config_url == feed.url else feed.url


def _success_values(feed: Feed, state: FeedState, result: FetchResult, ts: float) -> dict[str, object]:
    values: dict[str, object] = {
        "last_poll": ts, "last_success": ts, "error_count": 0, "last_error": None,
        "failing_since": None, "reported": None,
        "etag": result.etag or (state.etag if result.not_modified else None),
        "last_modified": result.last_modified or (state.last_modified if result.not_modified else None),
        "next_poll": None,
    }
    max_age = cache_max_age(result.headers)
    if max_age and max_age > feed.every:
        values["next_poll"] = ts + max_age
    if result.permanent_redirect:
        values["url"] = result.permanent_redirect
        values["config_url"] = feed.url
        log.info("feed=%s moved permanently to %s", feed.id, result.permanent_redirect)
    return values


def _within_backfill(items: Sequence[Item], feed: Feed, now: datetime) -> Sequence[Item]:
    """First poll: only items newer than `backfill` alert; older and undated ones are silent."""
    if feed.backfill is None:
        return items
    cutoff = now - timedelta(seconds=feed.backfill)
    return [i for i in items if i.published is not None and i.published >= cutoff]
