"""Polite at scale, through App against the local feed server: connection caps with hundreds of
feeds, Retry-After and Cache-Control honoured, backoff, permanent redirects, 410, identical
bodies, the parser pool, and pruning by the scheduler's job."""

from __future__ import annotations

import io
import random
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from policybot.app import POOL_MIN_FEEDS, App
from policybot.config import load_config
from policybot.dialect import is_url
from policybot.feeds.fetch import PER_HOST, Fetcher
from policybot.pipeline import ParserPool
from policybot.scheduler import Service
from tests.fakes.feed_server import FeedServer, rss
from tests.pgserver_fixture import Blocking

RULES = "rules:\n  - id: gallium\n    title: Gallium\n    match: {any: [gallium]}\n"


def make_app(tmp_path: Path, urls: dict[str, str], *, extra: str = "", state: str | Path = "s.db",
             **kwargs: object) -> App:
    """`state`: the SQLite file's name, or a PostgreSQL URL."""
    (tmp_path / "rules.yaml").write_text(RULES)
    feeds = "".join(f'  - {{id: {fid}, url: "{url}", every: 10m}}\n' for fid, url in urls.items())
    storage = f'{{url: "{state}"}}' if is_url(state) else f"{{path: {Path(state).name}}}"
    (tmp_path / "config.yaml").write_text(
        f"storage: {storage}\nrules: [rules.yaml]\ndefaults: {{backfill: all}}\n"
        f"feeds:\n{feeds}destinations: {{console: {{type: console}}, ops: {{type: console}}}}\n{extra}")
    app = App(load_config(tmp_path / "config.yaml", env={}), stream=io.StringIO(), **kwargs)  # type: ignore[arg-type]
    Blocking(app.store).run_sync(app.load_rules)   # (PostgreSQL: on the store's thread)
    return app


class CountingExecutor(ThreadPoolExecutor):
    """A real thread pool that counts the parses submitted to it."""

    def __init__(self) -> None:
        super().__init__(max_workers=1)
        self.submitted = 0

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def, override]
        self.submitted += 1
        return super().submit(fn, *args, **kwargs)


async def test_500_feeds_on_one_host_never_exceed_the_per_host_cap(tmp_path: Path,
                                                                    feed_server: FeedServer) -> None:
    urls = {f"f{n}": feed_server.add(f"f{n}", rss(f"Gallium {n}", base=f"https://e.gov/{n}/"), delay=0.002)
            for n in range(500)}
    app = make_app(tmp_path, urls)
    try:
        assert isinstance(app.executor, ParserPool)  # many feeds: parsing uses every core
        results = await app.poll_all()
    finally:
        await app.close()
    assert [r.status for r in results] == ["new"] * 500
    assert sum(r.alerts for r in results) == 500
    assert len(feed_server.requests) == 500
    assert feed_server.peak_in_flight <= PER_HOST


async def test_global_cap_across_hosts(tmp_path: Path, feed_server: FeedServer) -> None:
    hosts = [feed_server.base_url] + [feed_server.listen(f"127.0.0.{n}") for n in (2, 3, 4)]
    for n in range(40):
        feed_server.add(f"g{n}", rss("x"), delay=0.02)
    urls = {f"g{n}": f"{hosts[n % 4]}/g{n}" for n in range(40)}
    app = make_app(tmp_path, urls, fetcher=Fetcher(max_connections=3, per_host=2))
    try:
        results = await app.poll_all()
    finally:
        await app.close()
    assert {r.status for r in results} == {"new"}
    assert feed_server.peak_in_flight == 3          # several hosts at once, never more than the cap
    assert max(feed_server.peak_by_host.values()) <= 2
    assert len(feed_server.peak_by_host) == 4


async def test_retry_after_is_honoured_then_polled_again(tmp_path: Path, feed_server: FeedServer) -> None:
    url = feed_server.add("busy", status=429, headers={"Retry-After": "7200"})
    app = make_app(tmp_path, {"busy": url})
    feed = app.config.feeds[0]
    now = datetime.now(UTC)
    try:
        first = await app.poller.poll(feed, now)
        skipped = await app.poller.poll(feed, now + timedelta(minutes=30))  # its interval passed
        assert len(feed_server.requests) == 1
        state = app.store.feed_state("busy")
        later = await app.poller.poll(feed, now + timedelta(seconds=7201))
    finally:
        await app.close()
    assert (first.status, skipped.status, later.status) == ("error", "skipped", "error")
    assert state.next_poll is not None and state.next_poll >= now.timestamp() + 7200
    assert "retry after 7200 s" in (state.last_error or "")
    assert len(feed_server.requests) == 2


async def test_cache_control_max_age_longer_than_the_interval_is_honoured(
        tmp_path: Path, feed_server: FeedServer) -> None:
    url = feed_server.add("cached", rss("a"), headers={"Cache-Control": "public, max-age=3600"})
    app = make_app(tmp_path, {"cached": url})
    feed = app.config.feeds[0]
    now = datetime.now(UTC)
    try:
        await app.poller.poll(feed, now)
        early = await app.poller.poll(feed, now + timedelta(minutes=20))
        late = await app.poller.poll(feed, now + timedelta(minutes=61))
    finally:
        await app.close()
    assert (early.status, late.status) == ("skipped", "unchanged")
    assert len(feed_server.requests) == 2


async def test_errors_back_off_exponentially_per_feed(tmp_path: Path, feed_server: FeedServer) -> None:
    urls = {"bad": feed_server.add("bad", status=500), "good": feed_server.add("good", rss("a"))}
    app = make_app(tmp_path, urls)
    app.poller.rng = random.Random(1)
    feed = app.config.feeds[0]
    now = datetime.now(UTC)
    delays = []
    try:
        for _ in range(4):
            await app.poller.poll(feed, now)
            state = app.store.feed_state("bad")
            assert state.next_poll is not None
            delays.append(state.next_poll - now.timestamp())
            now = datetime.fromtimestamp(state.next_poll + 1, UTC)
        good = await app.poll_feed("good")
        failures = app.store.feed_state("bad").error_count
    finally:
        await app.close()
    for n, delay in enumerate(delays):
        assert 600 * 2**n * 0.9 <= delay <= 600 * 2**n * 1.1
    assert failures == 4
    assert good.status == "new"


async def test_permanent_redirect_updates_the_stored_url(tmp_path: Path, feed_server: FeedServer) -> None:
    new = feed_server.add("new", rss("a"))
    old = feed_server.add("old", redirect="/new", status=301)
    app = make_app(tmp_path, {"moved": old})
    try:
        await app.poll_all()
        stored = app.store.feed_state("moved").url
        await app.poll_all(force=True)
    finally:
        await app.close()
    assert stored == new
    assert [r.path for r in feed_server.requests] == ["/old", "/new", "/new"]


async def test_410_disables_the_feed_and_reports_it_once(tmp_path: Path, feed_server: FeedServer) -> None:
    app = make_app(tmp_path, {"gone": feed_server.add("gone", status=410)}, extra="ops: [ops]\n")
    try:
        (first,) = await app.poll_all()
        reported = app.check_health()
        again = app.check_health()
        (second,) = await app.poll_all(force=True)
        await app.deliver()
    finally:
        await app.close()
    assert (first.status, second.status) == ("error", "disabled")
    assert (reported, again) == (1, 0)
    assert len(feed_server.requests) == 1
    assert "Feed 'gone' disabled: gone (410)" in app.stream.getvalue()  # type: ignore[attr-defined]


async def test_an_identical_body_is_not_parsed_again(tmp_path: Path, feed_server: FeedServer) -> None:
    executor = CountingExecutor()
    app = make_app(tmp_path, {"plain": feed_server.add("plain", rss("a", "b"))}, executor=executor)
    try:
        (first,) = await app.poll_all()
        (second,) = await app.poll_all(force=True)
    finally:
        await app.close()
        executor.shutdown()
    assert (first.status, second.status) == ("new", "unchanged")
    assert executor.submitted == 1
    assert len(feed_server.requests) == 2


async def test_parser_pool_only_for_several_feeds_and_closed_with_the_app(tmp_path: Path) -> None:
    (tmp_path / "one").mkdir()
    small = make_app(tmp_path / "one", {"a": "a.xml"})
    many = make_app(tmp_path, {f"f{n}": f"f{n}.xml" for n in range(POOL_MIN_FEEDS)})
    assert small.executor is None
    assert isinstance(many.executor, ParserPool)
    await small.close()
    await many.close()
    with pytest.raises(RuntimeError):
        many.executor.submit(len, "x")


async def test_a_cycle_of_304s_starts_no_parser_process(tmp_path: Path, feed_server: FeedServer) -> None:
    urls = {f"f{n}": feed_server.add(f"f{n}", rss(f"Gallium {n}", base=f"https://e.gov/{n}/"), etag=True)
            for n in range(POOL_MIN_FEEDS)}
    first = make_app(tmp_path, urls)
    try:
        assert {r.status for r in await first.poll_all()} == {"new"}
        assert first.executor._pool is not None  # type: ignore[union-attr]  # parsed: workers ran
    finally:
        await first.close()
    again = make_app(tmp_path, urls)  # as the next `once` does: a fresh process, same state
    try:
        assert {r.status for r in await again.poll_all()} == {"not-modified"}
        assert again.executor._pool is None  # type: ignore[union-attr]  # nothing to parse, no process
    finally:
        await again.close()


async def test_prune_job_forgets_items_gone_from_their_feed(tmp_path: Path, feed_server: FeedServer) -> None:
    url = feed_server.add("f", rss("one", "two"))
    app = make_app(tmp_path, {"f": url})
    try:
        await app.poll_all()
        assert len(app.store.new_item_times("f")) == 1
        old = (datetime.now(UTC) - timedelta(days=60)).timestamp()
        app.store.db.execute("UPDATE seen SET last_present = ? WHERE item_id LIKE '%/0'", (old,))
        await Service(app).prune()
        left = [r[0] for r in app.store.db.execute("SELECT item_id FROM seen")]
    finally:
        await app.close()
    assert left == ["https://example.gov/news/1"]
