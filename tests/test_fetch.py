"""Fetcher against the real local feed server: conditional GET, limits, redirects, errors."""

from __future__ import annotations

import asyncio
import gzip
import urllib.request
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from policybot.errors import FetchError, ParseError
from policybot.feeds.fetch import (
    MAX_CACHE_AGE,
    MAX_CONNECTIONS,
    MAX_FEED_RETRY_AFTER,
    PER_HOST,
    Fetcher,
    cache_max_age,
    redact,
)
from policybot.feeds.parse import parse_feed
from policybot.retry_after import MAX_RETRY_AFTER, retry_after
from tests.botproc import wait_until
from tests.fakes.feed_server import ENTITY_BOMB, HTML_PAGE, MALFORMED_XML, RSS_TYPE, FeedServer, rss

FEED = rss("Gallium export controls tightened", "Tariff truce extended")
MB = 2**20


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    f = Fetcher()
    yield f
    await f.close()


async def test_plain_get_returns_body_and_sends_user_agent(feed_server: FeedServer, fetcher: Fetcher) -> None:
    url = feed_server.add("bis", FEED, gzip=False, headers={"Cache-Control": "max-age=600"})
    result = await fetcher.fetch(url)
    assert (result.status, result.body, result.url) == (200, FEED, url)
    assert result.headers["content-type"].startswith("application/rss+xml")
    assert cache_max_age(result.headers) == 600.0
    [request] = feed_server.requests_to("bis")
    assert request.headers["user-agent"].startswith("policybot/")
    assert "gzip" in request.headers["accept-encoding"]
    assert "application/rss+xml" in request.headers["accept"]
    assert "if-none-match" not in request.headers
    assert request.nodelay, "aiohttp sets TCP_NODELAY on accepted sockets"


async def test_etag_round_trip_gives_304_with_empty_body(feed_server: FeedServer, fetcher: Fetcher) -> None:
    url = feed_server.add("bis", FEED, etag=True)
    first = await fetcher.fetch(url)
    assert first.status == 200 and first.etag
    second = await fetcher.fetch(url, etag=first.etag, last_modified=first.last_modified)
    assert second.not_modified and second.body == b"" and second.etag == first.etag
    assert feed_server.requests_to("bis")[1].headers["if-none-match"] == first.etag
    feed_server.add("bis", FEED + b" ", etag=True)  # the feed changed: a new ETag, a full body
    third = await fetcher.fetch(url, etag=first.etag)
    assert third.status == 200 and third.etag != first.etag


async def test_last_modified_round_trip(feed_server: FeedServer, fetcher: Fetcher) -> None:
    url = feed_server.add("ita", FEED, last_modified=True)
    first = await fetcher.fetch(url)
    assert first.last_modified and first.etag is None
    second = await fetcher.fetch(url, last_modified=first.last_modified)
    assert second.status == 304 and second.last_modified == first.last_modified
    assert feed_server.requests_to("ita")[1].headers["if-modified-since"] == first.last_modified


async def test_gzip_body_is_decompressed(feed_server: FeedServer, fetcher: Fetcher) -> None:
    body = rss(*(f"item {n}" for n in range(200)))
    url = feed_server.add("big", body)
    result = await fetcher.fetch(url)
    assert result.headers["content-encoding"] == "gzip"
    assert result.body == body


async def test_permanent_redirects_report_the_final_url(feed_server: FeedServer, fetcher: Fetcher) -> None:
    final = feed_server.add("new", FEED)
    feed_server.add("mid", redirect="/new", status=308)
    url = feed_server.add("old", redirect=feed_server.url("mid"), status=301)
    result = await fetcher.fetch(url)
    assert (result.status, result.url, result.permanent_redirect) == (200, final, final)


async def test_temporary_redirect_is_not_permanent(feed_server: FeedServer, fetcher: Fetcher) -> None:
    feed_server.add("new", FEED)
    feed_server.add("mid", redirect="/new", status=302)
    url = feed_server.add("old", redirect="/mid", status=301)
    result = await fetcher.fetch(url)
    assert result.body == FEED
    assert result.permanent_redirect == feed_server.url("mid")  # only the permanent part of the chain
    only_temporary = await fetcher.fetch(feed_server.url("mid"))
    assert only_temporary.permanent_redirect is None


async def test_redirects_are_bounded(feed_server: FeedServer, fetcher: Fetcher) -> None:
    feed_server.add("r0", FEED)
    for n in range(1, 7):
        feed_server.add(f"r{n}", redirect=f"/r{n - 1}", status=302)
    assert (await fetcher.fetch(feed_server.url("r5"))).body == FEED  # five hops: fine
    with pytest.raises(FetchError, match="more than 5 redirects"):
        await fetcher.fetch(feed_server.url("r6"))


async def test_redirect_loop_fails(feed_server: FeedServer, fetcher: Fetcher) -> None:
    feed_server.add("a", redirect="/b", status=302)
    url = feed_server.add("b", redirect="/a", status=301)
    with pytest.raises(FetchError, match="redirect loop") as err:
        await fetcher.fetch(url)
    assert url in str(err.value)


async def test_redirect_to_a_local_file_is_refused(feed_server: FeedServer, fetcher: Fetcher) -> None:
    url = feed_server.add("sneaky", redirect="file:///etc/passwd", status=302)
    with pytest.raises(FetchError, match="non-HTTP"):
        await fetcher.fetch(url)


@pytest.mark.parametrize("status", [400, 403, 404, 500, 502])
async def test_error_statuses(feed_server: FeedServer, fetcher: Fetcher, status: int) -> None:
    url = feed_server.add("x", b"oops", status=status)
    with pytest.raises(FetchError) as err:
        await fetcher.fetch(url)
    assert err.value.status == status and not err.value.gone and err.value.retry_after is None
    assert str(err.value).startswith(f"fetch failed: {url}: HTTP {status}")


async def test_410_means_gone(feed_server: FeedServer, fetcher: Fetcher) -> None:
    url = feed_server.add("old", status=410)
    with pytest.raises(FetchError, match="gone") as err:
        await fetcher.fetch(url)
    assert err.value.gone and err.value.status == 410


async def test_429_retry_after_seconds(feed_server: FeedServer, fetcher: Fetcher) -> None:
    url = feed_server.add("busy", status=429, headers={"Retry-After": "120"})
    with pytest.raises(FetchError, match=r"HTTP 429 .*retry after 120 s") as err:
        await fetcher.fetch(url)
    assert (err.value.status, err.value.retry_after) == (429, 120.0)


async def test_503_retry_after_http_date(feed_server: FeedServer, fetcher: Fetcher) -> None:
    url = feed_server.add("down", status=503, headers={"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"})
    with pytest.raises(FetchError) as err:
        await fetcher.fetch(url)
    assert err.value.status == 503 and err.value.retry_after == MAX_FEED_RETRY_AFTER   # capped


@pytest.mark.parametrize("value", ["inf", "1e400", "-3", "nan", "Fri, 31 Dec 9999 23:59:59 GMT"])
async def test_hostile_retry_after_never_stalls_a_feed(feed_server: FeedServer, fetcher: Fetcher,
                                                      value: str) -> None:
    url = feed_server.add("hostile", status=429, headers={"Retry-After": value})
    with pytest.raises(FetchError) as err:
        await fetcher.fetch(url)
    wait = err.value.retry_after
    assert wait is None or 0.0 <= wait <= MAX_FEED_RETRY_AFTER


def test_retry_after_forms() -> None:
    now = datetime(2025, 1, 6, 12, 0, 0, tzinfo=UTC)
    assert retry_after("30", now) == 30.0
    assert retry_after("Mon, 06 Jan 2025 12:01:30 GMT", now) == 90.0
    assert retry_after("Mon, 06 Jan 2025 11:00:00 GMT", now) == 0.0  # in the past: no wait
    assert retry_after("soon", now) is None and retry_after(None, now) is None
    assert retry_after("inf", now) == retry_after("1e400", now) == MAX_RETRY_AFTER
    assert retry_after("-3", now) == 0.0 and retry_after("nan", now) is None
    assert retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now) == MAX_RETRY_AFTER


def test_cache_max_age() -> None:
    assert cache_max_age({"Cache-Control": "public, max-age=300"}) == 300.0
    assert cache_max_age({"cache-control": "s-maxage=10, max-age=60"}) == 60.0
    assert cache_max_age({"cache-control": "no-cache, max-age=60"}) is None
    assert cache_max_age({}) is None
    assert cache_max_age({"cache-control": "max-age=" + "9" * 400}) == MAX_CACHE_AGE


async def test_huge_streamed_body_fails_fast(feed_server: FeedServer, fetcher: Fetcher) -> None:
    url = feed_server.add("huge", size=50 * MB, content_length=False)
    with pytest.raises(FetchError, match="response larger than 10 MB"):
        await fetcher.fetch(url)
    await asyncio.to_thread(wait_until, lambda: feed_server.in_flight == 0,
                            what="the server noticing the hang-up")
    assert feed_server.route("huge").sent < 30 * MB, "the client must stop reading at the cap"



async def test_declared_huge_body_fails_before_reading(feed_server: FeedServer, fetcher: Fetcher) -> None:
    url = feed_server.add("huge", size=50 * MB)
    with pytest.raises(FetchError, match="response larger than 10 MB"):
        await fetcher.fetch(url)


async def test_gzip_bomb_is_capped_after_decompression(feed_server: FeedServer, fetcher: Fetcher) -> None:
    bomb = gzip.compress(b"\0" * 20 * MB)
    url = feed_server.add("bomb", bomb, gzip=False, headers={"Content-Encoding": "gzip"})
    assert len(bomb) < MB
    with pytest.raises(FetchError, match="response larger than 10 MB"):
        await fetcher.fetch(url)


async def test_slow_drip_is_bounded_by_the_total_timeout(feed_server: FeedServer) -> None:
    url = feed_server.add("drip", FEED * 20, drip=0.05, chunk=16)  # would take ~15 s
    fetcher = Fetcher(total_timeout=0.5)
    try:
        with pytest.raises(FetchError, match=r"timed out after 0.5 s") as err:
            await fetcher.fetch(url)
    finally:
        await fetcher.close()
    assert url in str(err.value)
    assert feed_server.route("drip").sent < len(FEED * 20)   # cut off, not read to the end


async def test_silent_server_hits_the_read_timeout(feed_server: FeedServer) -> None:
    url = feed_server.add("slow", FEED, delay=3.0)
    fetcher = Fetcher(read_timeout=0.3, total_timeout=10)
    try:
        with pytest.raises(FetchError, match=r"timed out: no data for 0.3 s"):
            await fetcher.fetch(url)
    finally:
        await fetcher.close()


async def test_connection_refused_names_the_url(fetcher: Fetcher) -> None:
    with pytest.raises(FetchError, match=r"fetch failed: http://127.0.0.1:9/feed: cannot connect"):
        await fetcher.fetch("http://127.0.0.1:9/feed")


async def test_credentials_never_appear_in_errors(feed_server: FeedServer, fetcher: Fetcher) -> None:
    url = feed_server.add("private", status=401)
    secret_url = url.replace("http://", "http://alice:hunter2@") + "?api_key=s3cr3t&page=2"
    with pytest.raises(FetchError) as err:
        await fetcher.fetch(secret_url)
    message = str(err.value)
    assert "hunter2" not in message and "s3cr3t" not in message
    assert "page=2" in message and "HTTP 401" in message
    assert redact("https://u:p@x.org/f?token=abc") == "https://***@x.org/f?token=***"


async def test_per_host_connection_cap(feed_server: FeedServer) -> None:
    feed_server.add("slow", FEED, delay=0.2)
    fetcher = Fetcher(per_host=2)
    try:
        results = await asyncio.gather(*(fetcher.fetch(feed_server.url("slow")) for _ in range(6)))
    finally:
        await fetcher.close()
    assert all(r.body == FEED for r in results)
    assert feed_server.peak_in_flight == 2


async def test_default_caps_four_requests_per_host(feed_server: FeedServer) -> None:
    feed_server.add("slow", FEED, delay=0.2)
    fetcher = Fetcher()
    try:
        results = await asyncio.gather(*(fetcher.fetch(feed_server.url("slow")) for _ in range(PER_HOST + 3)))
    finally:
        await fetcher.close()
    assert all(r.body == FEED for r in results)
    assert feed_server.peak_in_flight == PER_HOST == 4
    assert MAX_CONNECTIONS == 100  # the global cap, tested with a small value in test_scale.py


async def test_a_shared_session_is_used_and_left_open(feed_server: FeedServer) -> None:
    url = feed_server.add("bis", FEED)
    async with aiohttp.ClientSession() as session:
        fetcher = Fetcher(session=session)
        assert (await fetcher.fetch(url)).body == FEED
        await fetcher.close()
        assert not session.closed


async def test_local_files(tmp_path: Path, fetcher: Fetcher) -> None:
    path = tmp_path / "feed.xml"
    path.write_bytes(FEED)
    for source in (str(path), path.as_uri()):
        result = await fetcher.fetch(source)
        assert (result.status, result.body, result.etag) == (200, FEED, None)
    with pytest.raises(FetchError, match="no such file"):
        await fetcher.fetch(str(tmp_path / "missing.xml"))


async def test_unsupported_scheme_and_bad_urls(fetcher: Fetcher) -> None:
    with pytest.raises(FetchError, match="unsupported URL scheme 'ftp'"):
        await fetcher.fetch("ftp://example.org/feed.xml")
    with pytest.raises(FetchError, match="invalid URL"):
        await fetcher.fetch("http://[::1/feed")


def test_feed_server_serves_sync_clients(feed_server: FeedServer) -> None:
    url = feed_server.add("sync", FEED, gzip=False)
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (a local http URL)
        assert response.read() == FEED
    assert feed_server.requests_to("sync")[0].method == "GET"


@pytest.mark.parametrize(
    ("body", "content_type", "error"),
    [
        (HTML_PAGE, "text/html", "an HTML page"),
        (ENTITY_BOMB, RSS_TYPE, "entit"),
        (MALFORMED_XML, RSS_TYPE, None),
    ],
)
async def test_served_junk_fetches_then_parses_or_fails_cleanly(
    feed_server: FeedServer, fetcher: Fetcher, body: bytes, content_type: str, error: str | None
) -> None:
    result = await fetcher.fetch(feed_server.add("junk", body, content_type=content_type))
    if error is None:
        assert parse_feed("junk", result.body, result.headers, result.url).title == "Broken"
        return
    with pytest.raises(ParseError, match=error):
        parse_feed("junk", result.body, result.headers, result.url)


def test_retry_after_reads_decimal_seconds_too() -> None:
    """Slack sends delta-seconds; some servers send decimals. One parser serves both."""
    assert retry_after("1.5") == 1.5
    assert retry_after("-3") == 0.0
    assert retry_after("soon") is None
