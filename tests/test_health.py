"""Blind spots: a feed failing too long, gone, or silent far beyond its rhythm is reported once
to the `ops:` destinations (through the outbox) and shown by `status`."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

from policybot.app import App
from policybot.config import load_config
from policybot.health import RULE_ID, blind_spots, usual_gap
from policybot.status import print_status
from tests.fakes.feed_server import FeedServer, rss

RULES = "rules:\n  - id: gallium\n    title: Gallium\n    match: {any: [gallium]}\n"
DAY = 86400.0


def make_app(tmp_path: Path, url: str, ops: str = "[ops]", health: str = "") -> App:
    (tmp_path / "rules.yaml").write_text(RULES)
    (tmp_path / "config.yaml").write_text(f"""\
storage: {{path: s.db}}
rules: [rules.yaml]
feeds: [{{id: f, url: "{url}"}}]
destinations: {{console: {{type: console}}, ops: {{type: console}}}}
ops: {ops}
{health}""")
    app = App(load_config(tmp_path / "config.yaml", env={}), stream=io.StringIO())
    app.load_rules()
    return app


async def poll_at(app: App, when: datetime) -> None:
    await app.poller.poll(app.config.feeds[0], when, force=True)


def test_usual_gap_needs_a_rhythm() -> None:
    assert usual_gap([0.0, 10.0, 20.0]) is None                  # two gaps are not a rhythm yet
    assert usual_gap([0.0, 10.0, 20.0, 50.0]) == 10.0            # the median, not the mean
    assert usual_gap([0.0, 0.0, 5.0, 5.0, 10.0, 20.0]) == 5.0    # repeated times are one poll


async def test_failing_longer_than_the_threshold_is_reported_once(tmp_path: Path,
                                                                  feed_server: FeedServer) -> None:
    app = make_app(tmp_path, feed_server.add("f", status=503))
    now = datetime.now(UTC)
    try:
        await poll_at(app, now - timedelta(hours=20))
        early = app.check_health()                                # 20 h: not yet
        await poll_at(app, now - timedelta(hours=26))             # failing since 26 h ago
        app.store.update_feed("f", failing_since=(now - timedelta(hours=26)).timestamp())
        reported, again = app.check_health(), app.check_health()
        pending = app.store.due(float("inf"))
        await app.deliver()
        out = app.stream.getvalue()  # type: ignore[attr-defined]
        status = io.StringIO()
        print_status(app, status)
    finally:
        await app.close()
    assert (early, reported, again) == (0, 1, 0)
    assert [(r.alert.destination, r.alert.matches[0].rule_id) for r in pending] == [("ops", RULE_ID)]
    assert "Feed 'f' failing for 26 h: fetch failed:" in out and "HTTP 503" in out
    assert "Blind spots (1; reported to: ops)" in status.getvalue()
    assert "failing for 26 h" in status.getvalue()


async def test_a_recovered_feed_is_reported_again_when_it_fails_again(tmp_path: Path,
                                                                      feed_server: FeedServer) -> None:
    app = make_app(tmp_path, feed_server.add("f", status=500), health="health: {failing_after: 1h}\n")
    now = datetime.now(UTC)
    try:
        await poll_at(app, now - timedelta(hours=2))
        first = app.check_health()
        feed_server.add("f", rss("back"))
        await poll_at(app, now - timedelta(minutes=90))
        recovered = app.check_health()
        feed_server.add("f", status=500)
        await poll_at(app, now - timedelta(minutes=70))
        second = app.check_health()
        ids = {r.alert.alert_id for r in app.store.due(float("inf"))}
    finally:
        await app.close()
    assert (first, recovered, second) == (1, 0, 1)
    assert len(ids) == 2  # one per episode


async def test_silent_far_beyond_its_rhythm_is_reported_until_new_items(tmp_path: Path,
                                                                        feed_server: FeedServer) -> None:
    app = make_app(tmp_path, feed_server.add("f", rss("a")))
    now = datetime.now(UTC)
    try:
        for day in range(5):  # a new item every day, 40 to 36 days ago
            feed_server.add("f", rss(*(f"item {n}" for n in range(day + 1))))
            await poll_at(app, now - timedelta(days=40 - day))
        spots = blind_spots(app.store, app.config.feeds, app.config.health, now.timestamp())
        reported, again = app.check_health(), app.check_health()
        feed_server.add("f", rss(*(f"item {n}" for n in range(7))))
        await poll_at(app, now)                                    # a new item: recovered
        after = app.check_health()
        cleared = app.store.feed_state("f").silent_reported
        await app.deliver()
        out = app.stream.getvalue()  # type: ignore[attr-defined]
    finally:
        await app.close()
    assert [(s.kind, s.reported) for s in spots] == [("silent", False)]
    assert (reported, again, after, cleared) == (1, 0, 0, None)
    assert "Feed 'f' silent for 36 d: no new item, when it usually has one every 24 h" in out


async def test_a_feed_without_a_rhythm_is_never_called_silent(tmp_path: Path, feed_server: FeedServer) -> None:
    app = make_app(tmp_path, feed_server.add("f", rss("a")))
    now = datetime.now(UTC)
    try:
        await poll_at(app, now - timedelta(days=300))
        spots = blind_spots(app.store, app.config.feeds, app.config.health, now.timestamp())
    finally:
        await app.close()
    assert spots == []


async def test_without_ops_destinations_a_blind_spot_is_logged_and_shown(tmp_path: Path,
                                                                         feed_server: FeedServer) -> None:
    app = make_app(tmp_path, feed_server.add("f", status=410), ops="[]")
    try:
        await app.poll_all()
        reported = app.check_health()
        queued = app.store.due(float("inf"))
        status = io.StringIO()
        print_status(app, status)
    finally:
        await app.close()
    assert (reported, queued) == (1, [])
    assert "reported to: no ops destination" in status.getvalue()
    assert "Feed 'f' disabled: gone (410)" in status.getvalue()
