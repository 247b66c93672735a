"""The CLI's subcommands. Each takes the parsed arguments and returns an exit code; the ones
that need the event loop are coroutines (cli.main runs them), `check` and `status` are plain
functions, so they start without importing asyncio."""

from __future__ import annotations

import argparse
import io
import json
import logging
import sqlite3
import sys
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from policybot.config import Config, load_config
from policybot.configread import parse_duration
from policybot.destinations import missing_env_errors, used_destinations
from policybot.errors import ConfigError, DeliveryError, PolicybotError, RuleError
from policybot.feeds.local import MAX_BYTES, is_local, read_file
from policybot.matching.rules import check_examples, load_rules
from policybot.model import Item, Match
from policybot.notify.base import RedactingFilter, redact, utcnow
from policybot.rulebook import RuleBook, rule_files
from policybot.statedir import storage_errors, unreachable
from policybot.statelock import StateLock
from policybot.store import Store, noted_fault
from policybot.stories.group import WINDOW
from policybot.stories.stage import group_items

if TYPE_CHECKING:
    from policybot.app import App
    from policybot.feeds.fetch import Fetcher

# Start-up: each command imports only what it uses. The App (aiohttp, the parser pool), the
# scheduler and chat clients (APScheduler, python-telegram-bot, slack-sdk) and feedparser are
# imported inside the commands that need them, so `check`, `status` and `test-rules` on a file
# start without them (tests/test_startup.py checks which modules each one loads).

log = logging.getLogger("policybot")
T = TypeVar("T")


def load(args: argparse.Namespace) -> Config:
    config = load_config(args.config)
    redact = RedactingFilter(config.secrets())  # the last line of defence for every log line
    for handler in logging.getLogger().handlers:
        handler.addFilter(redact)
    return config


def _state_lock(config: Config) -> AbstractContextManager[object]:
    """SQLite: one bot per state file (a flock). PostgreSQL: several instances share the state
    and split the work by leases in the database instead."""
    return nullcontext() if config.storage_url else StateLock(config.storage_path)


def load_writable(args: argparse.Namespace) -> Config:
    """The config of a command that writes state: its state folder must be writable (checked
    before the lock file is made there)."""
    config = load(args)
    if errors := storage_errors(config):
        raise ConfigError(errors)
    return config


async def _off_loop(fn: Callable[..., T], *args: object) -> T:
    """A start-up check that may ask the database server (storage_errors): on a thread."""
    import asyncio

    return await asyncio.to_thread(fn, *args)


async def _started(config: Config) -> App:
    from policybot.app import App

    app = App(config)
    try:
        await app.store.run(app.load_rules)   # the chats' /watch rules are in the store
    except PolicybotError:
        await app.close()
        raise
    return app


async def run(args: argparse.Namespace) -> int:
    from policybot.scheduler import Service
    from policybot.shutdown import StopSignals

    signals = StopSignals().install()  # first of all: a Ctrl-C during start-up counts too
    try:
        config = await _off_loop(load_writable, args)
        with _state_lock(config):
            app = await _started(config)
            try:
                await Service(app, signals.stopping).run()
            finally:
                await app.close()
    finally:
        signals.remove()
    log.info("stopped")
    return 0


async def once(args: argparse.Namespace) -> int:
    config = await _off_loop(load_writable, args)
    with _state_lock(config):
        app = await _started(config)
        try:
            results, report = await app.once()
            fault = app.delivery.fault     # delivery stopped: the state cannot record a send
        finally:
            await app.close()
    failed = sum(r.status == "error" for r in results)
    waiting = sum(r.status in ("skipped", "disabled") for r in results)
    log.info("once: %d feeds polled (%d failed, %d not due: backoff, Retry-After or disabled), "
             "%d new items, %d alerts queued; delivered %d, retrying %d, failed %d",
             len(results) - waiting, failed, waiting, sum(r.new for r in results),
             sum(r.alerts for r in results), report.sent, report.retried, report.failed)
    if fault is not None:
        raise PolicybotError(redact(f"once: delivery stopped, the rest stays in the outbox: {fault}",
                                    config.secrets()))
    return 0


def check(args: argparse.Namespace) -> int:
    config = load(args)
    feeds = {f.id: f.tags for f in config.feeds}
    try:
        ruleset = load_rules(list(config.rules_paths), destinations=config.destinations, feeds=feeds)
    except RuleError as exc:
        raise RuleError(exc.errors) from None
    errors = check_examples(ruleset)
    errors += missing_env_errors(config, used_destinations(config, ruleset.rules))
    errors += storage_errors(config)
    if errors:
        raise ConfigError(errors)
    files = rule_files(config.rules_paths)
    print(f"{args.config}: ok: {_n(len(config.feeds), 'feed')}, "  # noqa: T201
          f"{_n(len(config.destinations), 'destination')}; {_n(len(ruleset.rules), 'rule')} in "
          f"{_n(len(files), 'file')}, examples pass")
    return 0


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


async def send_test(args: argparse.Namespace) -> int:
    config = load(args)
    if errors := await _off_loop(storage_errors, config):
        raise ConfigError(errors)
    from policybot import render
    from policybot.app import App
    from policybot.notify import build_notifier

    app = App(config)
    try:
        spec = app.destination_config(args.destination)
        if spec is None:
            known = ", ".join(config.destinations) or "none"
            raise ConfigError(f"{config.path}: unknown destination '{args.destination}' (defined: {known})")
        errors = missing_env_errors(config, {spec.id})
        if errors:
            raise ConfigError(errors)
        notifier = build_notifier(spec)
        try:
            await notifier.send(render.test_alert(spec.id, utcnow()))
        except DeliveryError as exc:
            raise PolicybotError(f"send-test {spec.id}: failed: {exc}") from None
        finally:
            await notifier.close()
    finally:
        await app.close()
    print(f"send-test {spec.id}: ok, the test alert was accepted")  # noqa: T201
    return 0


def status(args: argparse.Namespace) -> int:
    config = load(args)
    if config.storage_url is None and not config.storage_path.exists():
        note = noted_fault(config.storage_path)     # left by a bot whose state file went away
        print(f"State: {note}" if note else  # noqa: T201
              f"no state yet at {config.storage_path}: run `python bot.py once` first")
        return 0
    from policybot.status import print_status

    text = io.StringIO()
    try:
        state = _State(config, Store(config.storage))
        try:
            print_status(state, text)
        finally:
            state.store.close()
    except sqlite3.Error as exc:   # both backends' errors; PostgreSQL: the server is down
        raise PolicybotError(redact(unreachable(config, exc), config.secrets())) from None
    sys.stdout.write(redact(text.getvalue(), config.secrets()))  # ${VAR} in feed URLs too
    return 0


@dataclass(frozen=True, slots=True)
class _State:
    """What `status` reads: the config and the store (no App: no HTTP client, no parser pool)."""

    config: Config
    store: Store


# test-rules -----------------------------------------------------------------------------
async def test_rules(args: argparse.Namespace) -> int:
    config = load_config(args.config) if Path(args.config).exists() else None
    book = RuleBook(config.rules_paths if config else (Path("rules"),))  # dry run: no routing checks
    book.load()
    unknown = [r for r in args.rule or () if r not in book.rules_by_id]
    if unknown:
        raise RuleError(f"test-rules: unknown rule '{unknown[0]}' (rules: {', '.join(book.rules_by_id)})")
    from policybot.dryrun import dry_run, explained, stories_summary

    items = await _gather_items(args, config)
    color = sys.stdout.isatty() and not args.json
    all_matches = [[m for m in book.match(item) if not args.rule or m.rule_id in args.rule]
                   for item in items]
    stories = group_items(items, all_matches, config.stories_window if config else WINDOW)
    for item, matches, (story, story_why) in zip(items, all_matches, stories, strict=True):
        why = _explain(book, item, args.rule) if args.explain else None
        if args.json:
            line = _json_line(item, matches) | {"story": story}
            if why is not None:
                line["explain"] = why
                line["story_why"] = story_why
            print(json.dumps(line, ensure_ascii=False))  # noqa: T201
        elif why is not None:
            print(explained(item, matches, why, color=color, story=story_why))  # noqa: T201
        elif matches:
            print(dry_run(item, matches, color=color))  # noqa: T201
    if not args.json:
        print(stories_summary(items, all_matches, stories))  # noqa: T201
        print(f"{sum(map(bool, all_matches))} of {len(items)} items matched")  # noqa: T201
    return 0


def _explain(book: RuleBook, item: Item, only: Sequence[str] | None) -> list[str]:
    """--explain: one line per rule (the --rule ones only, if given), as matching/explain says."""
    from policybot.matching.explain import explain

    assert book.engine is not None
    lines = explain(book.engine, item)
    return [line for line, rule in zip(lines, book.engine.rules, strict=True)
            if not only or rule.id in only]


def _json_line(item: Item, matches: Sequence[Match]) -> dict[str, object]:
    terms = list(dict.fromkeys(h.term for m in matches for h in m.hits))
    return {"id": item.item_id, "title": item.title, "rules": [m.rule_id for m in matches],
            "terms": terms}


async def _gather_items(args: argparse.Namespace, config: Config | None) -> list[Item]:
    items: list[Item] = []
    if args.since:
        if config is None or (config.storage_url is None and not config.storage_path.exists()):
            raise ConfigError("test-rules --since: no polled items yet (no state database)")
        try:
            since = parse_duration(args.since) or 0.0
        except ValueError as exc:
            raise ConfigError(f"test-rules --since: {exc}") from None
        try:
            store = Store(config.storage)
            try:
                items += await store.run(store.recent_items, utcnow().timestamp() - since)
            finally:
                await store.aclose()
        except sqlite3.Error as exc:
            raise PolicybotError(redact(unreachable(config, exc), config.secrets())) from None
    fetcher: list[Fetcher] = []  # made for the first URL only: files need no HTTP client
    try:
        for source in args.sources:
            items += await _items_from(source, config, fetcher)
    finally:
        for made in fetcher:
            await made.close()
    if not args.sources and not args.since:
        raise ConfigError("test-rules: give a feed URL, a feed file, a JSON Lines file, or --since")
    return items


async def _items_from(source: str, config: Config | None, fetcher: list[Fetcher]) -> list[Item]:
    from policybot.feeds.parse import items_from_jsonl, parse_feed

    path = Path(source)
    if path.suffix in (".jsonl", ".ndjson") or (path.is_file() and _looks_jsonl(path)):
        return items_from_jsonl(path.read_text(encoding="utf-8"), path.stem, source)
    if is_local(source):
        result = await read_file(source, MAX_BYTES)
    else:
        if not fetcher:
            from policybot.feeds.fetch import Fetcher

            private = bool(config and config.fetch.allow_private_redirects)
            fetcher.append(Fetcher(allow_private_redirects=private))
        result = await fetcher[0].fetch(source)
    return list(parse_feed(path.stem if path.exists() else source, result.body,
                           result.headers, result.url).items)


def _looks_jsonl(path: Path) -> bool:
    """A first line that is a whole JSON object with a title (a Federal Register JSON dump is
    one document spanning many lines, or a list)."""
    with path.open("rb") as handle:
        first = handle.readline(1 << 20).strip()
    try:
        value = json.loads(first)
    except (ValueError, RecursionError):  # not JSON Lines; parse_feed says what it is
        return False
    return isinstance(value, dict) and "title" in value
