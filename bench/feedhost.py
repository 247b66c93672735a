"""A feed host for the benchmarks, run in its own process (so it does not share the bench's GIL):

    python -m bench.feedhost HOSTS     # prints one JSON line: {"bases": ["http://127.0.0.2:PORT", ...]}

serves /f/N on every address 127.0.0.2 ... 127.0.0.(HOSTS+1) (one "publisher" per address): an
RSS feed of ITEMS items whose content changes with the current generation, with an ETag and
Last-Modified (304 when they match). POST /control?delay=0.1&gen=2 sets the added latency and
the generation. aiohttp's server sets TCP_NODELAY on every accepted socket (checked per request
and reported by GET /stats), so keep-alive requests are not stalled by Nagle + delayed ACK.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from email.utils import formatdate

from aiohttp import web

ITEMS = 20
WORDS = ("weather", "council", "announced", "meeting", "report", "annual", "garden", "museum",
         "schedule", "review", "library", "river", "notice", "festival", "committee", "harbour")
# one item in ITEMS is about a policy change the starter rules look for
POLICY = "China restricts exports of gallium and germanium: export licence required"


class FeedHost:
    def __init__(self) -> None:
        self.delay = 0.0
        self.gen = 1
        self.requests = 0
        self.without_nodelay = 0
        self._cache: dict[tuple[int, int], bytes] = {}

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/f/{n}", self.feed)
        app.router.add_post("/control", self.control)
        app.router.add_get("/stats", self.stats)
        return app

    async def feed(self, request: web.Request) -> web.Response:
        self.requests += 1
        sock = request.transport.get_extra_info("socket") if request.transport else None
        if sock is None or not sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY):
            self.without_nodelay += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        n = int(request.match_info["n"])
        etag = f'"g{self.gen}-{n}"'
        headers = {"ETag": etag, "Last-Modified": formatdate(1_700_000_000 + self.gen * 3600, usegmt=True)}
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers=headers)
        return web.Response(body=self.body(n), content_type="application/rss+xml", charset="utf-8",
                            headers=headers)

    def body(self, n: int) -> bytes:
        key = (n, self.gen)
        if key not in self._cache:
            self._cache[key] = rss(n, self.gen)
        return self._cache[key]

    async def control(self, request: web.Request) -> web.Response:
        self.delay = float(request.query.get("delay", self.delay))
        self.gen = int(request.query.get("gen", self.gen))
        self._cache.clear()
        return web.json_response({"delay": self.delay, "gen": self.gen})

    async def stats(self, request: web.Request) -> web.Response:
        return web.json_response({"requests": self.requests, "without_nodelay": self.without_nodelay})


def rss(n: int, gen: int) -> bytes:
    """Feed n at generation gen: ITEMS items, each a title and a paragraph of HTML."""
    items = []
    for i in range(ITEMS):
        words = [WORDS[(n * 7 + i * 3 + k) % len(WORDS)] for k in range(60)]
        title = POLICY if i == n % ITEMS else " ".join(words[:9]).capitalize()
        para = " ".join(words)
        link = f"https://pub{n % 50}.example/{n}/{gen}/{i}"
        items.append(
            f"<item><title>{title} ({n}.{gen}.{i})</title><link>{link}</link><guid>{link}</guid>"
            f"<pubDate>{formatdate(1_700_000_000 + gen * 3600 - i * 600, usegmt=True)}</pubDate>"
            f"<description>&lt;p&gt;{para}. &lt;a href=\"/more/{i}\"&gt;More&lt;/a&gt;&lt;/p&gt;"
            "</description></item>")
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Publisher {n}'
            f"</title><link>https://pub{n % 50}.example/</link>{''.join(items)}</channel></rss>").encode()


async def serve(hosts: int) -> None:
    host = FeedHost()
    runner = web.AppRunner(host.app(), access_log=None)
    await runner.setup()
    bases = []
    for k in range(hosts):
        address = f"127.0.0.{k + 2}"
        site = web.TCPSite(runner, address, 0, backlog=1024)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        bases.append(f"http://{address}:{port}")
    print(json.dumps({"bases": bases}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the bench closes stdin
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1]) if len(sys.argv) > 1 else 50))
