"""Composition root: builds every part from a Config and runs them on one event loop."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import sys
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from typing import TextIO

from policybot.config import Config, DestinationConfig
from policybot.delivery import Delivery, DrainReport, RateLimiter
from policybot.destinations import missing_env_errors, used_destinations
from policybot.errors import ConfigError, RuleError
from policybot.feeds.fetch import Fetcher
from policybot.health import report_blind_spots
from policybot.leases import new_instance_id
from policybot.matching.rules import Rule, parse_watch
from policybot.metrics import (
    CountingNotifier,
    Metrics,
    destination_label,
    observe_poll,
    rule_label,
    state_gauges,
)
from policybot.model import Feed, Item, Match
from policybot.notify import build_notifier
from policybot.notify.base import Notifier, utcnow
from policybot.pipeline import ParserPool, Poller, PollResult
from policybot.rulebook import RuleBook
from policybot.shutdown import SendGate
from policybot.store import Store
from policybot.stories.stage import StoryIndex

log = logging.getLogger(__name__)

# messages per second per chat/channel, as the platforms document them
PLATFORM_RATES = {"slack": 1.0, "telegram": 1.0, "console": 0.0}
TELEGRAM_GROUP_RATE = 20 / 60
TELEGRAM_BOT_RATE = 30.0
# From this many feeds up, parsing goes to a process pool (one worker per core); below it a
# thread is faster (the pool's start-up outweighs a few parses). Measured: bench/bench_feeds.py.
POOL_MIN_FEEDS = 32


class App:
    """Everything the bot needs, built from Config; `once` and `run` share these methods."""

    def __init__(self, config: Config, *, stream: TextIO | None = None,
                 executor: Executor | None = None, fetcher: Fetcher | None = None) -> None:
        self.config = config
        self.metrics = Metrics()
        self._own_executor = executor is None and len(config.feeds) >= POOL_MIN_FEEDS
        if self._own_executor:
            executor = ParserPool()  # worker processes start on the first parse
        self.stream = stream or sys.stdout
        self.store = Store(config.storage)
        self.instance = new_instance_id()   # its leases' holder on a shared (PostgreSQL) state
        self.rules = RuleBook(config.rules_paths, destinations=config.destinations,
                              feeds={f.id: f.tags for f in config.feeds},
                              extra_rules=self.watch_rules)
        self.fetcher = fetcher or Fetcher(allow_private_redirects=config.fetch.allow_private_redirects)
        self.notifiers: dict[str, Notifier] = {}
        self.gate = SendGate()   # closed when `run` stops: sends in flight finish, no new one starts
        self._watch_cache: dict[tuple[str, str, str], Rule] = {}
        self.limiters: dict[str, list[RateLimiter]] = {}
        self.telegram_bot_limit = RateLimiter(TELEGRAM_BOT_RATE, burst=TELEGRAM_BOT_RATE)
        self.executor = executor
        self._feeds_by_id = {f.id: f for f in config.feeds}
        self.poller = Poller(self.store, self.fetcher, self._match, self.route, executor,
                             stories=StoryIndex(self.store, config.stories_window))
        self.delivery = Delivery(self.store, self.notifier_for, self.limits_for, config.delivery,
                                 holder=self.instance)

    def load_rules(self) -> None:
        """Load rules and check that every destination they use can be reached."""
        ruleset = self.rules.load()
        errors = missing_env_errors(self.config, used_destinations(self.config, ruleset.rules))
        if errors:
            raise ConfigError(errors)

    def watch_rules(self) -> Sequence[Rule]:
        """The chats' personal /watch rules, each alerting its owner only. Parsed once per
        (destination, watch id, text): a rebuild after one /watch reparses nothing else."""
        rules, live = [], set()
        for key in self.store.watches():
            if key not in self._watch_cache:
                dest, _, text = key
                try:
                    self._watch_cache[key] = parse_watch(text, dest)
                except RuleError as exc:  # stored by an older version: skip, say why
                    log.warning("destination=%s watch %r skipped: %s", dest, text, exc)
                    continue
            live.add(key)
            rules.append(self._watch_cache[key])
        for key in set(self._watch_cache) - live:
            del self._watch_cache[key]
        return rules

    def _match(self, item: Item, feed: Feed) -> Sequence[Match]:
        matches = self.rules.match(item, feed)
        for match in matches:
            self.metrics.inc("policybot_matches_total",
                             rule=rule_label(match.rule_id, self.rules.rules_by_id))
        return matches

    async def metrics_text(self) -> str:
        return self.metrics.render(await self.store.run(state_gauges, self.store, self.delivery.fault))

    def check_health(self) -> int:
        """Report new blind spots (failing, gone or silent feeds) to `ops:`; returns how many.
        Store work: from the event loop, through Store.run."""
        return len(report_blind_spots(self.store, self.config.feeds, self.config.health,
                                      self.config.ops, utcnow().timestamp()))

    # routing ------------------------------------------------------------------------------
    def route(self, item: Item, matches: Sequence[Match]) -> Mapping[str, Sequence[Match]]:
        """Destinations for an item: each rule's `notify` (or the defaults), plus the chats
        subscribed to the rule. A personal watch goes to its owner only. One destination gets
        one alert per item, naming every rule it matched there."""
        subscribers = self.store.subscribers_by_rule()
        routes: dict[str, list[Match]] = {}
        for match in matches:
            targets = self._targets(match.rule_id) + sorted(subscribers.get(match.rule_id, ()))
            for dest in dict.fromkeys(targets):
                routes.setdefault(dest, []).append(match)
        return routes

    def _targets(self, rule_id: str) -> list[str]:
        rule = self.rules.rules_by_id.get(rule_id)
        if rule is not None and rule.notify is not None:
            return list(rule.notify)
        return list(self.config.defaults.notify)

    # polling ------------------------------------------------------------------------------
    def feed(self, feed_id: str) -> Feed:
        return self._feeds_by_id[feed_id]

    async def poll_feed(self, feed_id: str, *, force: bool = False) -> PollResult:
        feed = self._feeds_by_id[feed_id]
        try:
            result = await self.poller.poll(feed, utcnow(), force=force)
        except sqlite3.Error as exc:   # both backends' errors: the state, not a bug; next poll retries
            log.error("feed=%s poll not recorded: state database: %s", feed.id, exc)
            result = PollResult(feed.id, "error", error=f"state database: {exc}")
        except Exception:
            log.exception("feed=%s poll crashed (a bug): the other feeds go on", feed.id)
            result = PollResult(feed.id, "error", error="internal error")
        observe_poll(self.metrics, result)
        return result

    async def poll_all(self, *, force: bool = False) -> list[PollResult]:
        return list(await asyncio.gather(*(self.poll_feed(f.id, force=force)
                                           for f in self.config.feeds)))

    async def deliver(self) -> DrainReport:
        try:
            return await self.delivery.drain()
        except Exception:
            log.exception("delivery pass crashed (a bug): alerts stay in the outbox")
            return DrainReport()

    async def once(self) -> tuple[list[PollResult], DrainReport]:
        results = await self.poll_all()  # backoff, Retry-After and max-age hold here too
        await self.store.run(self.check_health)
        report = await self.delivery.drain_until_idle(self.config.delivery.once_wait)
        return results, report

    # destinations -------------------------------------------------------------------------
    def destination_config(self, dest: str) -> DestinationConfig | None:
        if dest in self.config.destinations:
            return self.config.destinations[dest]
        platform, _, chat = dest.partition(":")
        if platform == "telegram" and self.config.telegram and chat:
            tg = self.config.telegram
            return DestinationConfig(id=dest, type="telegram", token=tg.token, chat_id=chat,
                                     api_url=tg.api_url, missing_env=tg.missing_env)
        if platform == "slack" and self.config.slack and chat:
            sl = self.config.slack
            return DestinationConfig(id=dest, type="slack", token=sl.bot_token, channel=chat,
                                     api_url=sl.api_url, missing_env=sl.missing_env)
        return None

    def notifier_for(self, dest: str) -> Notifier | None:
        if dest not in self.notifiers:
            spec = self.destination_config(dest)
            if spec is None:
                return None
            label = destination_label(dest, self.config.destinations)
            self.notifiers[dest] = self.gate.wrap(
                CountingNotifier(build_notifier(spec, stream=self.stream), self.metrics, label))
        return self.notifiers[dest]

    def limits_for(self, dest: str) -> list[RateLimiter]:
        if dest not in self.limiters:
            self.limiters[dest] = self._make_limits(dest)
        return self.limiters[dest]

    def _make_limits(self, dest: str) -> list[RateLimiter]:
        spec = self.destination_config(dest)
        if spec is None:
            return []
        rate = spec.rate or PLATFORM_RATES.get(spec.type, 0.0)
        if spec.type == "telegram" and not spec.rate and str(spec.chat_id).startswith("-"):
            rate = TELEGRAM_GROUP_RATE
        limits = [RateLimiter(rate)] if rate else []
        if spec.type == "telegram":
            limits.append(self.telegram_bot_limit)
        return limits

    async def close(self) -> None:
        for notifier in self.notifiers.values():
            try:
                await notifier.close()
            except Exception:  # noqa: BLE001 - closing must go on for the others
                log.exception("destination=%s close failed", notifier.name)
        await self.fetcher.close()
        if self._own_executor and self.executor is not None:
            await asyncio.to_thread(self.executor.shutdown, True, cancel_futures=True)
        await self.store.aclose()
