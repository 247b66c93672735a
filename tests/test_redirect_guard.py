"""Redirects from a public address into the host's own network are refused; a feed configured
on such an address may still use it. Tests only have loopback, so "public" is 127.0.0.2 and
127.0.0.3 here, through the Fetcher's injectable address check; the rest is the real thing."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from ipaddress import IPv4Address, ip_address
from pathlib import Path

import pytest

from policybot.app import App
from policybot.config import load_config
from policybot.errors import ConfigError, FetchError
from policybot.feeds.addresses import MAX_RECORDED_HOSTS, IPAddress, RecordingResolver, is_internal
from policybot.feeds.fetch import Fetcher
from tests.fakes.dns import StaticResolver
from tests.fakes.feed_server import FeedServer, rss

ROOT = Path(__file__).resolve().parents[1]
PUBLIC_IN_TESTS = {IPv4Address("127.0.0.2"), IPv4Address("127.0.0.3")}
REFUSED = "redirect from a public address into the host's own network refused"
SECRET = rss("Gallium: the metadata service's secret")


def internal_in_tests(address: IPAddress) -> bool:
    return address not in PUBLIC_IN_TESTS and is_internal(address)


@pytest.fixture
def dns() -> StaticResolver:
    return StaticResolver({"metadata.test": "169.254.169.254", "intranet.test": "10.1.2.3",
                           "public.test": "127.0.0.2"})


@pytest.fixture
async def fetcher(dns: StaticResolver) -> AsyncIterator[Fetcher]:
    f = Fetcher(is_internal=internal_in_tests, resolver=dns)
    yield f
    await f.close()


def public_host(feed_server: FeedServer, address: str = "127.0.0.2") -> str:
    return feed_server.listen(address)


@pytest.mark.parametrize(
    ("target", "address"),
    [
        ("http://127.0.0.1:{port}/secret", "127.0.0.1"),       # loopback, literal
        ("http://localhost:{port}/secret", "127.0.0.1"),       # a name for loopback
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),  # cloud metadata
        ("http://metadata.test/latest/meta-data/", "169.254.169.254"),    # a name pointing there
        ("http://intranet.test/", "10.1.2.3"),                  # private range, by name
        ("http://10.0.0.1/", "10.0.0.1"),
        ("http://[::ffff:127.0.0.1]:{port}/secret", "::ffff:127.0.0.1"),
        ("http://[fe80::1]/", "fe80::1"),
    ],
)
async def test_a_public_feed_redirecting_inward_is_refused(
        feed_server: FeedServer, fetcher: Fetcher, target: str, address: str) -> None:
    port = feed_server.base_url.rsplit(":", 1)[1]
    feed_server.add("secret", SECRET)
    feed_server.add("moved", redirect=target.format(port=port), status=302)
    with pytest.raises(FetchError) as err:
        await fetcher.fetch(public_host(feed_server) + "/moved")
    assert REFUSED in str(err.value)
    assert address in str(err.value) and "fetch.allow_private_redirects" in str(err.value)
    assert not feed_server.requests_to("secret")  # refused before any request was sent


async def test_inward_after_a_public_to_public_hop_is_refused(feed_server: FeedServer,
                                                              fetcher: Fetcher) -> None:
    other = public_host(feed_server, "127.0.0.3")
    feed_server.add("secret", SECRET)
    feed_server.add("inward", redirect=feed_server.url("secret"), status=302)
    feed_server.add("outward", redirect=other + "/inward", status=301)
    with pytest.raises(FetchError, match=REFUSED):
        await fetcher.fetch(public_host(feed_server) + "/outward")
    assert len(feed_server.requests_to("inward")) == 1 and not feed_server.requests_to("secret")


async def test_public_to_public_redirects_are_followed(feed_server: FeedServer, fetcher: Fetcher,
                                                       dns: StaticResolver) -> None:
    feed_server.add("feed", rss("Gallium"))
    port = public_host(feed_server, "127.0.0.3").rsplit(":", 1)[1]
    other = public_host(feed_server).rsplit(":", 1)[1]
    feed_server.add("old", redirect=f"http://public.test:{other}/feed", status=301)
    result = await fetcher.fetch(f"http://127.0.0.3:{port}/old")
    assert result.status == 200 and b"Gallium" in result.body
    assert result.permanent_redirect == f"http://public.test:{other}/feed"
    assert "public.test" in dns.asked  # the name was resolved, and checked, by the guard


async def test_a_feed_configured_on_a_private_address_may_redirect_within_it(
        feed_server: FeedServer, fetcher: Fetcher) -> None:
    feed_server.add("feed", rss("Gallium"))
    feed_server.add("a", redirect="/b", status=302)
    feed_server.add("b", redirect=feed_server.url("feed").replace("127.0.0.1", "localhost"), status=302)
    result = await fetcher.fetch(feed_server.url("a"))  # 127.0.0.1: internal, as configured
    assert result.status == 200 and b"Gallium" in result.body


async def test_a_feed_configured_by_a_name_for_loopback_may_redirect_within_it(
        feed_server: FeedServer, fetcher: Fetcher) -> None:
    feed_server.add("feed", rss("Gallium"))
    feed_server.add("a", redirect=feed_server.url("feed"), status=302)
    result = await fetcher.fetch(feed_server.url("a").replace("127.0.0.1", "localhost"))
    assert result.status == 200 and b"Gallium" in result.body


async def test_the_origin_is_judged_by_the_address_it_was_reached_at(feed_server: FeedServer) -> None:
    """DNS rebinding: the name answers a public address for the connection, then loopback.
    The redirect is judged by the address the bot connected to, not by asking DNS again."""
    dns = StaticResolver({"rebind.test": ["127.0.0.2", "127.0.0.1"]})
    port = public_host(feed_server).rsplit(":", 1)[1]
    feed_server.add("secret", SECRET)
    feed_server.add("moved", redirect=feed_server.url("secret"), status=302)
    fetcher = Fetcher(is_internal=internal_in_tests, resolver=dns)
    try:
        with pytest.raises(FetchError, match=REFUSED):
            await fetcher.fetch(f"http://rebind.test:{port}/moved")
    finally:
        await fetcher.close()
    assert dns.asked == ["rebind.test"] and not feed_server.requests_to("secret")


async def test_a_private_chain_that_went_public_cannot_come_back(feed_server: FeedServer,
                                                                 fetcher: Fetcher) -> None:
    feed_server.add("secret", SECRET)
    feed_server.add("back", redirect=feed_server.url("secret"), status=302)
    feed_server.add("out", redirect=public_host(feed_server) + "/back", status=302)
    with pytest.raises(FetchError, match=REFUSED):
        await fetcher.fetch(feed_server.url("out"))
    assert not feed_server.requests_to("secret")


async def test_allow_private_redirects_turns_the_guard_off(feed_server: FeedServer,
                                                           dns: StaticResolver) -> None:
    feed_server.add("secret", SECRET)
    feed_server.add("moved", redirect=feed_server.url("secret"), status=302)
    fetcher = Fetcher(is_internal=internal_in_tests, resolver=dns, allow_private_redirects=True)
    try:
        result = await fetcher.fetch(public_host(feed_server) + "/moved")
    finally:
        await fetcher.close()
    assert result.status == 200 and result.body == SECRET


async def test_the_refusal_is_the_feeds_recorded_error(tmp_path: Path, feed_server: FeedServer,
                                                       dns: StaticResolver) -> None:
    feed_server.add("moved", redirect="http://metadata.test/latest/meta-data/", status=302)
    config = tmp_path / "config.yaml"
    (tmp_path / "rules.yaml").write_text("rules:\n  - id: g\n    title: G\n    match: {any: [gallium]}\n")
    config.write_text(f"storage: {{path: s.db}}\nrules: [rules.yaml]\n"
                      f'feeds:\n  - {{id: cloud, url: "{public_host(feed_server)}/moved"}}\n')
    fetcher = Fetcher(is_internal=internal_in_tests, resolver=dns)
    app = App(load_config(config, env={}), stream=io.StringIO(), fetcher=fetcher)
    try:
        (result,) = await app.poll_all()
        error = app.store.feed_state("cloud").last_error or ""
    finally:
        await app.close()
    assert result.status == "error" and result.failure == "fetch"
    assert REFUSED in error and "http://metadata.test/latest/meta-data/ (169.254.169.254)" in error


def test_the_fetch_section_of_config(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("fetch: {allow_private_redirects: true}\n")
    config = load_config(path, env={})
    assert config.fetch.allow_private_redirects
    app = App(config, stream=io.StringIO())
    assert app.fetcher.allow_private_redirects
    app.store.close()
    assert not load_config(_write(tmp_path, "feeds: []\n"), env={}).fetch.allow_private_redirects
    path.write_text("fetch:\n  allow_private_redirects: yes please\n  follow: 3\n")
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    assert err.value.errors == [
        f"{path}:3: fetch: unknown key 'follow' (expected: allow_private_redirects)",
        f"{path}:2: fetch: 'allow_private_redirects' must be true or false",
    ]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "empty.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("address", "internal"),
    [("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("10.20.30.40", True),
     ("172.16.0.1", True), ("172.31.255.255", True), ("192.168.1.1", True),
     ("169.254.169.254", True), ("fc00::1", True), ("fd12:3456::1", True), ("fe80::1", True),
     ("0.0.0.0", True), ("::", True), ("100.100.100.200", True), ("::ffff:10.0.0.1", True),
     ("2002:7f00:1::", True), ("fec0::1", True),
     ("8.8.8.8", False), ("172.32.0.1", False), ("93.184.215.14", False),
     ("2606:4700:4700::1111", False), ("::ffff:8.8.8.8", False)],
)
def test_which_addresses_are_internal(address: str, internal: bool) -> None:
    assert is_internal(ip_address(address)) is internal


def test_once_follows_a_redirect_within_loopback(tmp_path: Path, feed_server: FeedServer) -> None:
    """As users run it: a feed configured on localhost redirects within loopback, and alerts."""
    feed_server.add("feed", rss("Gallium export curbs"))
    feed_server.add("old", redirect=feed_server.url("feed").replace("127.0.0.1", "localhost"),
                    status=302)
    (tmp_path / "rules.yaml").write_text("rules:\n  - id: g\n    title: G\n    match: {any: [gallium]}\n")
    (tmp_path / "config.yaml").write_text(
        "storage: {path: s.db}\nrules: [rules.yaml]\ndefaults: {backfill: all}\n"
        f'feeds:\n  - {{id: local, url: "{feed_server.url("old")}"}}\n')
    run = subprocess.run([sys.executable, str(ROOT / "bot.py"), "once", "--config", "config.yaml"],
                         capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False,
                         env={**os.environ, "NO_COLOR": "1"})
    assert run.returncode == 0, run.stderr
    assert "Gallium export curbs" in run.stdout
    assert len(feed_server.requests_to("feed")) == 1


async def test_the_recorded_dns_answers_are_bounded() -> None:
    names = {f"h{n}.test": f"10.0.{n // 256}.{n % 256}" for n in range(MAX_RECORDED_HOSTS + 1)}
    recorder = RecordingResolver(StaticResolver(names))
    for name in names:
        await recorder.resolve(name)
    assert recorder.answers("h0.test") == ()  # the oldest is forgotten (and then counts as public)
    assert recorder.answers(f"h{MAX_RECORDED_HOSTS}.test") == (names[f"h{MAX_RECORDED_HOSTS}.test"],)
    assert recorder.answers("h1.test") == ("10.0.0.1",)
