"""Composition root: builds every part from a Config and runs them on one event loop."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from datetime import UTC, datetime
from typing import TextIO

from policybot.config import Config, DestinationConfig
from policybot.delivery import Delivery, DrainReport, RateLimiter
from policybot.errors import ConfigError
from policybot.feeds.fetch import Fetcher
from policybot.matching.rules import Rule
from policybot.model import Item, Match
from policybot.notify import build_notifier
from policybot.notify.base import Notifier
from policybot.pipeline import Poller, PollResult
from policybot.rulebook import RuleBook
from policybot.store import Store

log = logging.getLogger(__name__)

# messages per second per chat/channel, as the platforms document them
PLATFORM_RATES = {"slack": 1.0, "telegram": 1.0, "console": 0.0}
TELEGRAM_GROUP_RATE = 20 / 60
TELEGRAM_BOT_RATE = 30.0
WATCH_PREFIX = "watch:"


def now_utc() -> datetime:
    return datetime.now(UTC)


def used_destinations(config: Config, rules: Sequence[Rule]) -> set[str]:
    used = set(config.defaults.notify) | set(config.ops)
    for rule in rules:
        used.update(rule.notify or ())
    return used


def missing_env_errors(config: Config, used: set[str]) -> list[str]:
    """An unset ${VAR} is an error only where a used destination needs it."""
    errors = []
    for dest in sorted(used):
        spec = config.destinations.get(dest)
        if spec and spec.missing_env:
            names = ", ".join(spec.missing_env)
            errors.append(f"{config.path}:{spec.line}: destination '{dest}': environment "
                          f"variable {names} is not set")
    return errors


class App:
    """Everything the bot needs, built from Config; `once` and `run` share these methods."""

    def __init__(self, config: Config, *, stream: TextIO | None = None,
                 executor: Executor | None = None) -> None:
        self.config = config
        self.stream = stream or sys.stdout
        self.store = Store(config.storage_path)
        self.rules = RuleBook(config.rules_paths, destinations=config.destinations,
                              feeds={f.id: f.tags for f in config.feeds},
                              extra_rules=self.watch_rules)
        self.fetcher = Fetcher()
        self.notifiers: dict[str, Notifier] = {}
        self.limiters: dict[str, list[RateLimiter]] = {}
        self.telegram_bot_limit = RateLimiter(TELEGRAM_BOT_RATE, burst=TELEGRAM_BOT_RATE)
        self.poller = Poller(self.store, self.fetcher, self.rules.match, self.route, executor)
        self.delivery = Delivery(self.store, self.notifier_for, self.limits_for, config.delivery)

    def load_rules(self) -> None:
        """Load rules and check that every destination they use can be reached."""
        ruleset = self.rules.load()
        errors = missing_env_errors(self.config, used_destinations(self.config, ruleset.rules))
        if errors:
            raise ConfigError(errors)

    def watch_rules(self) -> Sequence[Rule]:
        return ()

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
        if rule_id.startswith(WATCH_PREFIX):  # watch:<owner destination>:<hash>
            return [rule_id.removeprefix(WATCH_PREFIX).rpartition(":")[0]]
        rule = self.rules.rules_by_id.get(rule_id)
        if rule is not None and rule.notify is not None:
            return list(rule.notify)
        return list(self.config.defaults.notify)

    # polling ------------------------------------------------------------------------------
    async def poll_feed(self, feed_id: str, *, force: bool = False) -> PollResult:
        feed = next(f for f in self.config.feeds if f.id == feed_id)
        try:
            return await self.poller.poll(feed, now_utc(), force=force)
        except Exception:
            log.exception("feed=%s poll crashed (a bug): the other feeds go on", feed.id)
            return PollResult(feed.id, "error", error="internal error")

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
        results = await self.poll_all(force=True)
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
                                     api_url=tg.api_url)
        if platform == "slack" and self.config.slack and chat:
            sl = self.config.slack
            return DestinationConfig(id=dest, type="slack", token=sl.bot_token, channel=chat,
                                     api_url=sl.api_url)
        return None

    def notifier_for(self, dest: str) -> Notifier | None:
        if dest not in self.notifiers:
            spec = self.destination_config(dest)
            if spec is None:
                return None
            self.notifiers[dest] = build_notifier(spec, stream=self.stream)
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
        self.store.close()
