"""Hostile feeds, served by the fake feed server next to a healthy one and polled through
App.poll_all: each becomes that feed's recorded error, in bounded time and memory, and the
healthy feed is not held up."""

from __future__ import annotations

import asyncio
import io
import re
import subprocess
import sys
import tracemalloc
from pathlib import Path

from policybot.app import App
from policybot.config import load_config
from policybot.feeds.fetch import Fetcher
from tests.fakes.feed_server import ENTITY_BOMB, HTML_PAGE, FeedServer, rss

MB = 2**20
RULES = "rules:\n  - id: gallium\n    title: Gallium\n    match: {any: [gallium]}\n"
# UTF-16 by its BOM, then an unpaired surrogate and nothing of a feed
BAD_UTF16 = b"\xff\xfe<\x00?\x00x\x00m\x00l\x00" + b"\x00\xd8\x41"


def make_app(tmp_path: Path, urls: dict[str, str]) -> App:
    (tmp_path / "rules.yaml").write_text(RULES)
    feeds = "".join(f'  - {{id: {fid}, url: "{url}"}}\n' for fid, url in urls.items())
    (tmp_path / "config.yaml").write_text(
        f"storage: {{path: s.db}}\nrules: [rules.yaml]\ndefaults: {{backfill: all}}\nfeeds:\n{feeds}")
    fetcher = Fetcher(max_bytes=MB, total_timeout=1.5, read_timeout=1.0)
    app = App(load_config(tmp_path / "config.yaml", env={}), stream=io.StringIO(), fetcher=fetcher)
    app.load_rules()
    return app


def serve_hostile(server: FeedServer) -> dict[str, str]:
    return {
        "bomb": server.add("bomb", ENTITY_BOMB),
        "huge": server.add("huge", size=50 * MB, content_length=False),
        "declared": server.add("declared", size=50 * MB),
        "drip": server.add("drip", rss("Gallium slowly") * 4, drip=0.2),
        "loop": server.add("loop-a", redirect="/loop-b", status=302),
        "html": server.add("html", HTML_PAGE, content_type="text/html"),
        "encoding": server.add("encoding", BAD_UTF16, content_type="application/rss+xml; charset=utf-16"),
    }


EXPECTED = {
    "bomb": "declares XML entities",
    "huge": "larger than 1 MB",
    "declared": "larger than 1 MB",
    "drip": "timed out after 1.5 s",
    "loop": "redirect loop",
    "html": "not a feed",
    "encoding": "not a feed",
}


async def test_each_hostile_feed_is_its_own_recorded_error(tmp_path: Path, feed_server: FeedServer) -> None:
    urls = serve_hostile(feed_server)
    feed_server.add("loop-b", redirect="/loop-a", status=302)
    healthy_host = feed_server.listen("127.0.0.2")  # as in life: another publisher
    urls["healthy"] = healthy_host + "/healthy"
    feed_server.add("healthy", rss("Gallium export curbs"))
    app = make_app(tmp_path, urls)
    try:
        results = {r.feed_id: r for r in await app.poll_all()}
        errors = {fid: app.store.feed_state(fid).last_error or "" for fid in EXPECTED}
    finally:
        await app.close()
    assert results["healthy"].status == "new" and results["healthy"].alerts == 1
    for fid, fragment in EXPECTED.items():
        assert results[fid].status == "error", fid
        assert fragment in errors[fid], (fid, errors[fid])
    assert feed_server.route("huge").sent < 10 * MB  # cut at the cap (plus socket buffers), not drained


async def test_a_slow_drip_holds_up_no_other_feed(tmp_path: Path, feed_server: FeedServer) -> None:
    urls = {"drip": feed_server.add("drip", rss("x") * 4, drip=0.2),
            "healthy": feed_server.add("healthy", rss("Gallium"))}
    app = make_app(tmp_path, urls)
    try:
        drip = asyncio.create_task(app.poll_feed("drip"))
        healthy = await app.poll_feed("healthy")
        assert not drip.done()  # the healthy feed finished while the drip was still dripping
        dripped = await drip
    finally:
        await app.close()
    assert healthy.status == "new"
    assert dripped.status == "error" and "timed out" in (dripped.error or "")


async def test_a_50_mb_body_costs_about_the_cap_in_memory(tmp_path: Path, feed_server: FeedServer) -> None:
    app = make_app(tmp_path, {"huge": feed_server.add("huge", size=50 * MB, content_length=False)})
    tracemalloc.start()
    try:
        (result,) = await app.poll_all()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        await app.close()
    assert result.status == "error"
    assert peak < 4 * MB


# --- control characters from servers never reach logs or `status` -------------------------------

ESCAPES = b"\x1b[2J\x1b]0;pwned\x07\x1b[31m\xc2\x9b1m\x07\x00\xff"
ROOT = Path(__file__).resolve().parents[1]


def _hostile_servers(feed_server: FeedServer) -> dict[str, str]:
    reason = b"HTTP/1.1 503 Busy " + ESCAPES + b"now\r\nContent-Length: 0\r\n\r\n"
    location = b"HTTP/1.1 302 Found\r\nLocation: /a" + ESCAPES[:4] + b"\r\nContent-Length: 0\r\n\r\n"
    ctype = b"HTTP/1.1 200 OK\r\nContent-Type: text/html" + ESCAPES + b"\r\nContent-Length: 0\r\n\r\n"
    title = rss("Gallium \x1b[31mred\x1b[0m curbs\x07").replace(b"<title>Test feed", b"<title>\x1b]0;x\x07T")
    return {"reason": feed_server.raw(reason), "location": feed_server.raw(location),
            "ctype": feed_server.raw(ctype), "title": feed_server.add("title", title)}


async def test_control_characters_from_servers_never_reach_feed_errors(
        tmp_path: Path, feed_server: FeedServer) -> None:
    app = make_app(tmp_path, _hostile_servers(feed_server))
    try:
        results = {r.feed_id: r for r in await app.poll_all()}
        errors = {fid: app.store.feed_state(fid).last_error or "" for fid in ("reason", "location", "ctype")}
    finally:
        await app.close()
    assert "HTTP 503 Busy now" in errors["reason"]
    assert "redirect to a URL with control characters" in errors["location"]
    assert results["ctype"].status == "error"
    for error in errors.values():
        assert error.isprintable(), repr(error)
    assert results["title"].alerts == 1


def test_status_and_logs_show_no_server_control_characters(tmp_path: Path, feed_server: FeedServer) -> None:
    urls = _hostile_servers(feed_server)
    (tmp_path / "rules.yaml").write_text(RULES)
    feeds = "".join(f'  - {{id: {fid}, url: "{url}"}}\n' for fid, url in urls.items())
    (tmp_path / "config.yaml").write_text(
        f"storage: {{path: s.db}}\nrules: [rules.yaml]\ndefaults: {{backfill: all}}\nfeeds:\n{feeds}")
    outputs = []
    for command in ("once", "status"):
        run = subprocess.run([sys.executable, str(ROOT / "bot.py"), command, "--config", "config.yaml"],
                             capture_output=True, cwd=tmp_path, timeout=120, check=False)
        assert run.returncode == 0, run.stderr
        outputs.append(run.stdout + run.stderr)
    once, status = outputs
    assert b"HTTP 503 Busy now" in status and b"Gallium red curbs" in once
    for output in outputs:
        assert not re.search(rb"[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]", output), output
