"""A scriptable feed server on 127.0.0.1 (port 0), in a daemon thread with its own event loop.

    url = feed_server.add("bis", RSS, etag=True)          # serve a body, honour If-None-Match
    feed_server.add("gone", status=410)                    # scripted status
    feed_server.add("old", redirect="/bis", status=301)    # redirects (loops too)
    feed_server.add("huge", size=50 * 2**20)               # streamed filler, never held in memory
    feed_server.add("drip", RSS, drip=0.2)                 # one small chunk every 0.2 s
    feed_server.requests                                   # [Request(path, headers, nodelay)]
    feed_server.raw(b"HTTP/1.1 500 \x1b[2J\r\n...")         # exact bytes, on their own port

Sync tests, async tests (on another loop) and subprocesses can all use it.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime

import pytest
from aiohttp import web

RSS_TYPE = "application/rss+xml; charset=utf-8"
HTML_PAGE = b"<!DOCTYPE html><html><head><title>Hi</title></head><body><p>Not a feed.</p></body></html>"
MALFORMED_XML = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Broken</title><item><title>a'
ENTITY_BOMB = (
    b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">'
    + b"".join(b'<!ENTITY %s "%s">' % (bytes([98 + i]), b"&%s;" % bytes([97 + i]) * 10) for i in range(9))
    + b']><rss version="2.0"><channel><title>&j;</title><item><title>&j;</title></item></channel></rss>'
)


def rss(*titles: str, title: str = "Test feed", base: str = "https://example.gov/") -> bytes:
    """A small valid RSS 2.0 document with one item per title (guid = base + n)."""
    items = "".join(
        f"<item><title>{t}</title><link>{base}news/{n}</link><guid>{base}news/{n}</guid>"
        f"<description>About {t}</description><pubDate>Mon, 06 Jan 2025 12:00:00 GMT</pubDate></item>"
        for n, t in enumerate(titles)
    )
    return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title>' \
        f"<link>{base}</link>{items}</channel></rss>".encode()


@dataclass
class Route:
    body: bytes = b""
    content_type: str = RSS_TYPE
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    redirect: str | None = None   # Location (status 301/302/307/308)
    delay: float = 0.0            # seconds before the status line
    drip: float = 0.0             # seconds between chunks of `chunk` bytes
    chunk: int = 16
    size: int = 0                 # > 0: stream this many filler bytes instead of `body`
    content_length: bool = True   # announce Content-Length for `size` bodies
    gzip: bool = True             # compress when the client accepts gzip
    sent: int = 0                 # body bytes written by the last streamed response


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    nodelay: bool                 # TCP_NODELAY was set on the accepted socket


class FeedServer:
    def __init__(self) -> None:
        self._routes: dict[str, Route] = {}
        self._requests: list[Request] = []
        self._lock = threading.Lock()
        self._in_flight = 0
        self.peak_in_flight = 0       # most requests being handled at once
        self._in_flight_by_host: dict[str, int] = {}
        self.peak_by_host: dict[str, int] = {}   # the same, per Host header (see `listen`)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="feed-server", daemon=True)
        self._runner: web.AppRunner | None = None
        self._raw_servers: list[asyncio.Server] = []
        self.base_url = ""

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> FeedServer:
        self._thread.start()
        port = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def _start(self) -> int:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        return int(self._runner.addresses[0][1])

    def listen(self, host: str) -> str:
        """Serve the same routes on another loopback address too (127.0.0.2, ...): a second
        "host" for per-host connection caps. Returns that address's base URL."""
        port = asyncio.run_coroutine_threadsafe(self._listen(host), self._loop).result(timeout=10)
        return f"http://{host}:{port}"

    async def _listen(self, host: str) -> int:
        assert self._runner is not None
        site = web.TCPSite(self._runner, host, 0)
        await site.start()
        return int(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]

    def raw(self, response: bytes) -> str:
        """Answer every request on a port of its own with exactly `response` (what aiohttp's
        server would refuse to send: control characters in the status line or a header)."""
        return asyncio.run_coroutine_threadsafe(self._raw(response), self._loop).result(timeout=10)

    async def _raw(self, response: bytes) -> str:
        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(response)
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(answer, "127.0.0.1", 0)
        self._raw_servers.append(server)
        return f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/raw"

    def stop(self) -> None:
        for server in self._raw_servers:
            self._loop.call_soon_threadsafe(server.close)
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    # -- scripting ---------------------------------------------------------------------------
    def add(self, name: str, body: bytes = b"", *, etag: bool = False, last_modified: bool = False,
            **options: object) -> str:
        """Serve `body` at /name (options: see Route) and return its URL."""
        route = Route(body=body, **options)  # type: ignore[arg-type]
        if etag:
            route.etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if last_modified:
            route.last_modified = formatdate(1_700_000_000, usegmt=True)
        with self._lock:
            self._routes["/" + name.lstrip("/")] = route
        return self.url(name)

    def url(self, name: str) -> str:
        return f"{self.base_url}/{name.lstrip('/')}"

    def route(self, name: str) -> Route:
        with self._lock:
            return self._routes["/" + name.lstrip("/")]

    @property
    def in_flight(self) -> int:
        """Requests being answered right now (0: every response has ended)."""
        with self._lock:
            return self._in_flight

    @property
    def requests(self) -> list[Request]:
        with self._lock:
            return list(self._requests)

    def requests_to(self, name: str) -> list[Request]:
        return [r for r in self.requests if r.path == "/" + name.lstrip("/")]

    # -- serving -----------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self._record(request)
        host = request.host
        with self._lock:
            self._in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self._in_flight)
            self._in_flight_by_host[host] = self._in_flight_by_host.get(host, 0) + 1
            self.peak_by_host[host] = max(self.peak_by_host.get(host, 0), self._in_flight_by_host[host])
        try:
            return await self._respond(request)
        finally:
            with self._lock:
                self._in_flight -= 1
                self._in_flight_by_host[host] -= 1

    async def _respond(self, request: web.Request) -> web.StreamResponse:
        with self._lock:
            route = self._routes.get(request.path)
        if route is None:
            return web.Response(status=404, text="no such feed")
        if route.delay:
            await asyncio.sleep(route.delay)
        if route.redirect is not None:
            return web.Response(status=route.status, headers={"Location": route.redirect, **route.headers})
        if route.status != 200:
            return web.Response(status=route.status, headers=route.headers, body=route.body)
        if _not_modified(request, route):
            return web.Response(status=304, headers=_validators(route))
        if route.size or route.drip:
            return await _stream(request, route)
        return _full(request, route)

    def _record(self, request: web.Request) -> None:
        sock = request.transport.get_extra_info("socket") if request.transport else None
        nodelay = bool(sock and sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        headers = {k.lower(): v for k, v in request.headers.items()}
        entry = Request(request.method, request.path, headers, nodelay)
        with self._lock:
            self._requests.append(entry)


def _validators(route: Route) -> dict[str, str]:
    headers = {"ETag": route.etag} if route.etag else {}
    if route.last_modified:
        headers["Last-Modified"] = route.last_modified
    return headers


def _not_modified(request: web.Request, route: Route) -> bool:
    if route.etag and request.headers.get("If-None-Match"):
        return route.etag in [t.strip() for t in request.headers["If-None-Match"].split(",")]
    since = request.headers.get("If-Modified-Since")
    if route.last_modified and since:
        try:
            return parsedate_to_datetime(since) >= parsedate_to_datetime(route.last_modified)
        except (TypeError, ValueError):
            return False
    return False


def _full(request: web.Request, route: Route) -> web.Response:
    headers = {"Content-Type": route.content_type, **_validators(route), **route.headers}
    body = route.body
    if route.gzip and "gzip" in request.headers.get("Accept-Encoding", ""):
        body = gzip.compress(body)
        headers["Content-Encoding"] = "gzip"
    return web.Response(status=200, body=body, headers=headers)


async def _stream(request: web.Request, route: Route) -> web.StreamResponse:
    """A huge filler body or a slow drip, written chunk by chunk; stops when the client leaves."""
    total = route.size or len(route.body)
    resp = web.StreamResponse(status=200, headers={"Content-Type": route.content_type, **route.headers})
    if route.content_length:
        resp.content_length = total
    await resp.prepare(request)
    step = route.chunk if route.drip else 256 * 1024
    filler = b"x" * step
    route.sent = 0
    try:
        while route.sent < total:
            left = total - route.sent
            piece = filler[:left] if route.size else route.body[route.sent : route.sent + step]
            await resp.write(piece)
            route.sent += len(piece)
            if route.drip:
                await asyncio.sleep(route.drip)
        await resp.write_eof()
    except ConnectionError:
        pass  # the client gave up, as it should
    return resp


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer().start()
    try:
        yield server
    finally:
        server.stop()
