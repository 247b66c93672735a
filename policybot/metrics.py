"""Counters in Prometheus' text exposition format, and the optional /metrics + /healthz server.

One `Metrics` per App (no module-level registry): the pipeline's results, the rule matches and
the notifiers' sends are counted in memory; gauges (outbox depth, feeds by health) are read
from the store when scraped. The format is small enough to write by hand:

    # HELP policybot_polls_total Feed polls, by result.
    # TYPE policybot_polls_total counter
    policybot_polls_total{result="new"} 12

The server is aiohttp.web on the bot's own event loop, started by `Service.run` when
`metrics: {port: 9108}` is in config.yaml; it listens on 127.0.0.1 unless `metrics.host` says
otherwise (the endpoint has no authentication).

Labels never carry a chat or user id, and their values are a bounded set: rules by their
configured id (every personal /watch counts as `watch`), destinations by their configured id
(chat subscribers by platform: `telegram-subscriber`), anything else as `other`. As a last
guard a counter keeps at most MAX_SERIES label sets; later ones are counted under `other`.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Awaitable, Callable, Container, Mapping, Sequence
from typing import TYPE_CHECKING, TypeVar

from policybot.errors import DeliveryError
from policybot.model import Alert
from policybot.notify.base import Accepted, Notifier, no_record
from policybot.pipeline import PollResult
from policybot.store import Store

if TYPE_CHECKING:  # the server is imported when `run` starts it: `once` needs no aiohttp.web
    from aiohttp import web

log = logging.getLogger(__name__)
T = TypeVar("T")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
DEFAULT_HOST = "127.0.0.1"
MAX_SERIES = 10_000     # label sets per counter; beyond, new ones are counted under OTHER
OTHER = "other"         # the one label value for ids that are not configured
WATCH = "watch"         # every personal /watch rule
SUBSCRIBER_PLATFORMS = ("telegram", "slack")
COUNTERS = {
    "policybot_polls_total": "Feed polls, by result (new, not-modified, unchanged, error, ...).",
    "policybot_fetch_errors_total": "Polls whose fetch failed (HTTP error, timeout, too big, redirect loop).",
    "policybot_parse_errors_total": "Polls whose body was not a readable feed.",
    "policybot_items_total": "Items in the feed bodies that were parsed.",
    "policybot_new_items_total": "Items never seen before.",
    "policybot_matches_total": "Rule matches on new items, by rule (personal watches: watch).",
    "policybot_alerts_enqueued_total": "Alerts written to the outbox.",
    "policybot_alerts_sent_total": "Alerts delivered, by destination.",
    "policybot_alerts_failed_total": "Failed delivery attempts, by destination (retried or not).",
}
Labels = tuple[tuple[str, str], ...]


class Metrics:
    def __init__(self) -> None:
        self._counters: dict[str, dict[Labels, float]] = {name: {} for name in COUNTERS}

    def inc(self, name: str, value: float = 1.0, **labels: str) -> None:
        series = self._counters[name]
        key = tuple(sorted(labels.items()))
        if key not in series and len(series) >= MAX_SERIES:
            key = tuple((k, OTHER) for k, _ in key)
        series[key] = series.get(key, 0.0) + value

    def value(self, name: str, **labels: str) -> float:
        return self._counters[name].get(tuple(sorted(labels.items())), 0.0)

    def render(self, gauges: Mapping[str, tuple[str, Mapping[Labels, float]]] | None = None) -> str:
        """The exposition text: every counter, then `gauges` (name -> (help, series))."""
        lines: list[str] = []
        for name, help_text in COUNTERS.items():
            _family(lines, name, "counter", help_text, self._counters[name])
        for name, (help_text, series) in (gauges or {}).items():
            _family(lines, name, "gauge", help_text, series)
        return "\n".join(lines) + "\n"


def _family(lines: list[str], name: str, kind: str, help_text: str, series: Mapping[Labels, float]) -> None:
    lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    for labels, value in sorted(series.items()):
        lines.append(f"{name}{_labels(labels)} {_number(value)}")


def _labels(labels: Labels) -> str:
    if not labels:
        return ""
    body = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
    return "{" + body + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else repr(value)


def rule_label(rule_id: str, configured: Container[str]) -> str:
    """A configured rule by its id; every personal watch (`watch:telegram:<chat>:<hash>`) as
    `watch`; anything else as `other`."""
    if rule_id.startswith("watch:"):
        return WATCH
    return rule_id if rule_id in configured else OTHER


def destination_label(dest: str, configured: Container[str]) -> str:
    """A configured destination by its id; a chat subscriber (`telegram:123`) by its platform
    only (`telegram-subscriber`); anything else as `other`."""
    if dest in configured:
        return dest
    platform, sep, _ = dest.partition(":")
    return f"{platform}-subscriber" if sep and platform in SUBSCRIBER_PLATFORMS else OTHER


class CountingNotifier:
    """A Notifier that counts what the one it wraps sent and failed to send."""

    def __init__(self, inner: Notifier, metrics: Metrics, label: str) -> None:
        self.inner = inner
        self.name = inner.name
        self.metrics = metrics
        self.label = label          # destination_label(inner.name, configured destinations)
        self.stories = getattr(inner, "stories", None)   # how a story's later reports go

    async def send(self, alert: Alert) -> str | None:
        return await self._count(self.inner.send(alert), 1)

    async def send_later(self, alert: Alert, ref: str | None) -> None:
        await self._count(self.inner.send_later(alert, ref), 1)  # type: ignore[attr-defined]

    async def edit_first(self, ref: str, first: Alert, sources: Sequence[str]) -> None:
        await self.inner.edit_first(ref, first, sources)  # type: ignore[attr-defined]

    async def send_digest(self, alerts: Sequence[Alert], accepted: Accepted = no_record) -> None:
        delivered: list[str] = []

        def count(alert_ids: Sequence[str], ref: str | None) -> Awaitable[None] | None:
            delivered.extend(alert_ids)
            self.metrics.inc("policybot_alerts_sent_total", len(alert_ids), destination=self.label)
            return accepted(alert_ids, ref)

        try:
            await self.inner.send_digest(alerts, count)
        except DeliveryError:
            self.metrics.inc("policybot_alerts_failed_total", len(alerts) - len(delivered),
                             destination=self.label)
            raise

    async def close(self) -> None:
        await self.inner.close()

    async def _count(self, sending: Awaitable[T], n: int) -> T:
        try:
            result = await sending
        except DeliveryError:
            self.metrics.inc("policybot_alerts_failed_total", n, destination=self.label)
            raise
        self.metrics.inc("policybot_alerts_sent_total", n, destination=self.label)
        return result


class MetricsServer:
    """GET /metrics (text format) and GET /healthz (200 "ok", else 503 with the reason)."""

    def __init__(self, render: Callable[[], Awaitable[str]], health: Callable[[], str | None]) -> None:
        self.render = render
        self.health = health          # None when healthy, else what is wrong
        self.port: int | None = None
        self._runner: web.AppRunner | None = None

    async def start(self, port: int, host: str = DEFAULT_HOST) -> int:
        from aiohttp import web

        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        self.port = int(self._runner.addresses[0][1])
        log.info("metrics on http://%s:%d/metrics and /healthz", host, self.port)
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _metrics(self, request: web.Request) -> web.Response:
        from aiohttp import web

        return web.Response(body=(await self.render()).encode(), headers={"Content-Type": CONTENT_TYPE})

    async def _healthz(self, request: web.Request) -> web.Response:
        from aiohttp import web

        problem = self.health()
        if problem:
            return web.Response(status=503, text=problem + "\n")
        return web.Response(text="ok\n")


def observe_poll(metrics: Metrics, result: PollResult) -> None:
    metrics.inc("policybot_polls_total", result=result.status)
    if result.failure:
        metrics.inc(f"policybot_{result.failure}_errors_total")
    if result.status == "new":
        metrics.inc("policybot_items_total", result.items)
        metrics.inc("policybot_new_items_total", result.new)
        metrics.inc("policybot_alerts_enqueued_total", result.alerts)


def state_gauges(store: Store, fault: str | None) -> dict[str, tuple[str, dict[Labels, float]]]:
    """`policybot_delivery_stopped` (1 while delivery is stopped for a state it cannot record:
    `fault`), then the store's gauges when the database answers (left out while it does not)."""
    gauges = {"policybot_delivery_stopped": (
        "1 while delivery is stopped because the state database cannot record sends.",
        {(): float(fault is not None)})}
    try:
        gauges.update(store_gauges(store))
    except sqlite3.Error as exc:
        log.debug("metrics: store gauges left out: state database: %s", exc)
    return gauges


def store_gauges(store: Store) -> dict[str, tuple[str, dict[Labels, float]]]:
    """Gauges read from the database at scrape time."""
    feeds = {"ok": 0.0, "failing": 0.0, "disabled": 0.0, **store.feed_health_counts()}
    return {
        "policybot_outbox_pending": ("Alerts waiting in the outbox.", {(): float(store.pending_count())}),
        "policybot_feeds": ("Feeds by health (ok, failing, disabled).",
                            {(("state", k),): v for k, v in feeds.items()}),
    }
