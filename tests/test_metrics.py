"""Prometheus text exposition, the counters App keeps, and /metrics + /healthz served by the
running Service (port 0)."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from policybot.app import App
from policybot.config import load_config
from policybot.errors import ConfigError
from policybot.metrics import (
    MAX_SERIES,
    OTHER,
    WATCH,
    Metrics,
    MetricsServer,
    destination_label,
    rule_label,
)
from policybot.scheduler import Service
from tests.fakes.feed_server import FeedServer, rss

RULES = "rules:\n  - id: gallium\n    title: Gallium\n    match: {any: [gallium]}\n    notify: [console, hook]\n"


def make_app(tmp_path: Path, feeds: dict[str, str], hook: str, metrics: str = "") -> App:
    (tmp_path / "rules.yaml").write_text(RULES)
    listed = "".join(f'  - {{id: {fid}, url: "{url}"}}\n' for fid, url in feeds.items())
    (tmp_path / "config.yaml").write_text(f"""\
storage: {{path: s.db}}
rules: [rules.yaml]
defaults: {{backfill: all}}
feeds:
{listed}destinations:
  console: {{type: console}}
  hook: {{type: slack, webhook_url: "{hook}"}}
{metrics}""")
    app = App(load_config(tmp_path / "config.yaml", env={}), stream=io.StringIO())
    app.load_rules()
    return app


def test_exposition_format() -> None:
    metrics = Metrics()
    metrics.inc("policybot_polls_total", result="new")
    metrics.inc("policybot_polls_total", 2, result="new")
    metrics.inc("policybot_matches_total", rule='odd "rule"\\x')
    text = metrics.render({"policybot_outbox_pending": ("Alerts waiting.", {(): 3.5})})
    lines = text.splitlines()
    assert "# HELP policybot_polls_total Feed polls, by result (new, not-modified, unchanged, error, ...)." in lines
    assert "# TYPE policybot_polls_total counter" in lines
    assert 'policybot_polls_total{result="new"} 3' in lines
    assert 'policybot_matches_total{rule="odd \\"rule\\"\\\\x"} 1' in lines
    assert "# TYPE policybot_outbox_pending gauge" in lines
    assert "policybot_outbox_pending 3.5" in lines
    assert text.endswith("\n")


def test_chat_destinations_are_labelled_by_platform_only() -> None:
    configured = {"trade-desk", "console"}
    assert destination_label("trade-desk", configured) == "trade-desk"
    assert destination_label("telegram:123456789", configured) == "telegram-subscriber"
    assert destination_label("slack:C0123ABCD", configured) == "slack-subscriber"
    assert destination_label("made-up", configured) == OTHER
    assert destination_label("irc:#chan", configured) == OTHER


def test_rules_are_labelled_by_configured_id_and_watches_as_one() -> None:
    configured = {"gallium"}
    assert rule_label("gallium", configured) == "gallium"
    assert rule_label("watch:telegram:555123456:0a1b2c3d", configured) == WATCH
    assert rule_label("gone-since-the-reload", configured) == OTHER


def test_10000_unknown_rule_ids_make_one_series(tmp_path: Path, slack_api: Any) -> None:
    app = make_app(tmp_path, {}, slack_api.webhook_url())
    try:
        for n in range(10_000):
            app.metrics.inc("policybot_matches_total",
                            rule=rule_label(f"made-up-{n}", app.rules.rules_by_id))
        app.metrics.inc("policybot_matches_total", rule=rule_label("gallium", app.rules.rules_by_id))
        text = asyncio.run(app.metrics_text())
    finally:
        asyncio.run(app.close())
    series = [line for line in text.splitlines() if line.startswith("policybot_matches_total{")]
    assert series == ['policybot_matches_total{rule="gallium"} 1',
                      'policybot_matches_total{rule="other"} 10000']


def test_a_counter_keeps_at_most_max_series() -> None:
    metrics = Metrics()
    for n in range(MAX_SERIES + 500):
        metrics.inc("policybot_alerts_sent_total", destination=f"d{n}")
    text = metrics.render()
    lines = [line for line in text.splitlines() if line.startswith("policybot_alerts_sent_total{")]
    assert len(lines) == MAX_SERIES + 1
    assert 'policybot_alerts_sent_total{destination="other"} 500' in lines


def test_metrics_listen_on_loopback_unless_told(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("metrics: {port: 9108}\n")
    assert load_config(path, env={}).metrics_host == "127.0.0.1"
    path.write_text("metrics: {port: 9108, host: 0.0.0.0}\n")
    assert load_config(path, env={}).metrics_host == "0.0.0.0"  # noqa: S104 - parsed, not bound
    path.write_text("metrics:\n  port: 9108\n  host: [a]\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert info.value.errors == [f"{path}:3: metrics: 'host' must be an address such as 127.0.0.1"]


async def test_app_counts_polls_items_matches_sends_and_failures(tmp_path: Path, feed_server: FeedServer,
                                                                slack_api: Any) -> None:
    feeds = {"good": feed_server.add("good", rss("Gallium curbs", "Other news")),
             "bad": feed_server.add("bad", status=500)}
    app = make_app(tmp_path, feeds, slack_api.webhook_url())
    slack_api.fail_next(1, status=500)
    try:
        await app.poll_all()
        await app.deliver()
        text = await app.metrics_text()
    finally:
        await app.close()
    lines = set(text.splitlines())
    for line in ('policybot_polls_total{result="new"} 1', 'policybot_polls_total{result="error"} 1',
                 "policybot_fetch_errors_total 1", "policybot_items_total 2",
                 "policybot_new_items_total 2", 'policybot_matches_total{rule="gallium"} 1',
                 "policybot_alerts_enqueued_total 2", 'policybot_alerts_sent_total{destination="console"} 1',
                 'policybot_alerts_failed_total{destination="hook"} 1', "policybot_outbox_pending 1",
                 'policybot_feeds{state="failing"} 1', 'policybot_feeds{state="ok"} 1'):
        assert line in lines, line


async def get(url: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        return resp.status, resp.headers.get("Content-Type", ""), await resp.text()


async def test_the_running_service_serves_metrics_and_healthz(tmp_path: Path, feed_server: FeedServer,
                                                              slack_api: Any) -> None:
    app = make_app(tmp_path, {"good": feed_server.add("good", rss("a"))}, slack_api.webhook_url(),
                   metrics="metrics: {port: 0}\n")
    service = Service(app)
    task = asyncio.create_task(service.run())
    try:
        await asyncio.wait_for(service.ready.wait(), 10)
        base = f"http://127.0.0.1:{service.metrics.port}"  # type: ignore[union-attr]
        health = await get(base + "/healthz")
        metrics = await get(base + "/metrics")
        bound = service.metrics._runner.addresses[0]  # type: ignore[union-attr]
    finally:
        service.stopping.set()
        await task
        await app.close()
    assert (health[0], health[2]) == (200, "ok\n")
    assert metrics[0] == 200 and metrics[1].startswith("text/plain; version=0.0.4")
    assert "# TYPE policybot_polls_total counter" in metrics[2]
    assert bound[0] == "127.0.0.1"   # the default host: not reachable from other machines


async def _no_metrics() -> str:
    return ""


async def test_healthz_says_what_is_wrong() -> None:
    server = MetricsServer(_no_metrics, lambda: "scheduler not running")
    port = await server.start(0, host="127.0.0.1")
    try:
        status, _, text = await get(f"http://127.0.0.1:{port}/healthz")
    finally:
        await server.stop()
    assert (status, text) == (503, "scheduler not running\n")


async def test_delivery_stopped_is_a_gauge_that_follows_the_fault(tmp_path: Path, feed_server: FeedServer,
                                                                  slack_api: Any) -> None:
    """0 while delivery runs; 1 once the state file is deleted under the running bot (the
    store's gauges still read: the open file answers)."""
    app = make_app(tmp_path, {"good": feed_server.add("good", rss("Gallium curbs"))}, slack_api.webhook_url())
    try:
        await app.poll_all()
        await app.deliver()
        before = set((await app.metrics_text()).splitlines())
        for suffix in ("", "-wal", "-shm"):
            Path(f"{tmp_path / 's.db'}{suffix}").unlink(missing_ok=True)
        await app.deliver()
        after = set((await app.metrics_text()).splitlines())
    finally:
        await app.close()
    assert "# TYPE policybot_delivery_stopped gauge" in before
    assert "policybot_delivery_stopped 0" in before and "policybot_delivery_stopped 1" in after
    assert "policybot_outbox_pending 0" in after
