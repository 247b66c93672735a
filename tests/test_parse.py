"""parse_feed on every shared real-world and edge-case feed, and on small inline documents."""

from __future__ import annotations

import json
import pickle
import re
import resource
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path

import pytest

from policybot.errors import ParseError
from policybot.feeds.parse import ParsedFeed, items_from_jsonl, parse_feed
from policybot.feeds.text import html_to_text
from policybot.model import Item
from tests.conftest import SHARED
from tests.fakes.feed_server import HTML_PAGE, MALFORMED_XML, rss

URL = "https://example.gov/feeds/trade.xml"
SHARED_FEEDS = sorted(
    f"{folder}/{p.name}"
    for folder in ("real", "edge")
    if (SHARED / "feeds" / folder).is_dir()
    for p in (SHARED / "feeds" / folder).iterdir()
)
MOJIBAKE = re.compile("[ÃÂÐÑÒÓ¹²³»¼½¾]")


def shared(shared_dir: Path, name: str) -> ParsedFeed:
    return parse_feed("t", (shared_dir / "feeds" / name).read_bytes(), {}, URL)


@pytest.mark.parametrize("name", SHARED_FEEDS)
def test_every_shared_feed_yields_items_or_parse_error(shared_dir: Path, name: str) -> None:
    try:
        feed = shared(shared_dir, name)
    except ParseError as exc:
        assert str(exc).startswith(f"not a feed: {URL}: ")
        return
    assert "\n" not in feed.title
    for item in feed.items:
        assert isinstance(item, Item) and item.feed_id == "t" and item.item_id
        assert "\n" not in item.title and item.title == item.title.strip()
        assert item.link is None or re.match(r"https?://[^/\s]+", item.link)
        assert item.published is None or item.published.utcoffset() is not None
        assert "<script" not in item.summary + item.content
    assert len({i.item_id for i in feed.items}) == len(feed.items)


def test_chinese_gb2312_without_a_declaration_decodes(shared_dir: Path) -> None:
    [item] = shared(shared_dir, "edge/feedparser-gb2312-undeclared.xml").items
    assert item.title == "不归移民漫画系列：专业工作"


def test_qq_gb2312_feed_decodes_and_dates_are_china_time(shared_dir: Path) -> None:
    feed = shared(shared_dir, "real/qq-news-china-gb2312.xml")
    assert feed.title == "新闻国内" and len(feed.items) == 20
    text = "".join(i.title + i.summary for i in feed.items)
    assert "中国" in text and not MOJIBAKE.search(text)
    first = feed.items[0]
    assert first.title == "习近平为何如此强调崇尚英雄？"
    assert first.published == datetime(2018, 9, 18, 6, 38, 10, tzinfo=UTC)  # 14:38:10 in Beijing


def test_a_feed_served_with_a_wrong_content_type_still_parses() -> None:
    for ctype in ("text/html; charset=utf-8", "text/xml", "text/plain", "application/octet-stream"):
        feed = parse_feed("t", rss("稀土 export ban"), {"Content-Type": ctype}, URL)
        assert feed.items[0].title == "稀土 export ban"


def test_content_location_is_the_base_for_links() -> None:
    body = b'<rss version="2.0"><channel><title>T</title><item><link>2</link></item></channel></rss>'
    headers = {"Content-Location": "https://mirror.example.org/feeds/"}
    assert parse_feed("t", body, headers, URL).items[0].link == "https://mirror.example.org/feeds/2"


def test_declared_charset_in_content_type_is_used() -> None:
    body = '<rss version="2.0"><channel><title>稀土</title><item><title>出口管制</title></item>'
    body += "</channel></rss>"
    feed = parse_feed("t", body.encode("gb2312"), {"Content-Type": "text/xml; charset=gb2312"}, URL)
    assert (feed.title, feed.items[0].title) == ("稀土", "出口管制")


def test_link_ampersands(shared_dir: Path) -> None:
    [item] = shared(shared_dir, "edge/feedparser-link-ampersands.xml").items
    assert item.link == "http://link/get?a=1&b=2"


def test_rss10_id_comes_from_rdf_about(shared_dir: Path) -> None:
    [item] = shared(shared_dir, "edge/feedparser-rss10-rdf.xml").items
    assert item.item_id == "http://example.org/1"


def test_script_in_cdata_is_dropped(shared_dir: Path) -> None:
    [item] = shared(shared_dir, "edge/feedparser-description-script-cdata.xml").items
    assert item.summary == "safe description"


def test_code_page_repairs(shared_dir: Path) -> None:
    assert shared(shared_dir, "edge/feedparser-cp1252-smart-quote.xml").items[0].summary == "don’t"
    assert shared(shared_dir, "edge/feedparser-double-encoded-html.xml").items[0].summary == "…"


def test_reuters_uses_feedburner_orig_link(shared_dir: Path) -> None:
    feed = shared(shared_dir, "real/reuters-business-2019-01.xml")
    assert len(feed.items) == 20
    for item in feed.items:
        assert item.link and item.link.startswith("https://www.reuters.com/article/")
    assert all(i.published and i.published.tzinfo is UTC for i in feed.items)


def test_fedreg_broken_href_links_are_extracted(shared_dir: Path) -> None:
    feed = shared(shared_dir, "real/fedreg-requests-for-comment.xml")
    assert len(feed.items) == 48
    assert all(i.link and i.link.startswith("https://www.govinfo.gov/") for i in feed.items)
    assert not any('"' in (i.link or "") for i in feed.items)


def test_federal_register_json(shared_dir: Path) -> None:
    feed = shared(shared_dir, "real/federalregister-api-2026-07-24.json")
    assert feed.title == "Federal Register" and len(feed.items) == 82
    first = feed.items[0]
    assert first.item_id == "2026-15062"
    assert first.link and first.link.startswith("https://www.federalregister.gov/documents/2026/07/24/")
    assert first.published == datetime(2026, 7, 24, tzinfo=UTC)
    assert first.summary.startswith("This action amends Class D")


def test_federal_register_results_wrapper_and_non_feed_json() -> None:
    doc = {"title": "Sugar TRQ", "abstract": "<p>Allocations</p>", "document_number": "2026-1",
           "html_url": "https://www.federalregister.gov/d/2026-1", "publication_date": "2026-07-24"}
    [item] = parse_feed("fr", json.dumps({"results": [doc]}).encode(), {}, URL).items
    assert (item.item_id, item.title, item.summary) == ("2026-1", "Sugar TRQ", "Allocations")
    with pytest.raises(ParseError, match="not a feed"):
        parse_feed("fr", b'{"hello": "world"}', {}, URL)
    for bad in (b"[1, 2", b"[" * 100_000 + b"]" * 100_000):
        with pytest.raises(ParseError, match="invalid JSON"):
            parse_feed("fr", bad, {"content-type": "application/json"}, URL)


def test_giantbomb_730_items(shared_dir: Path) -> None:
    feed = shared(shared_dir, "real/giantbomb-podcast-large.xml")
    assert feed.title == "Giant Bombcast" and len(feed.items) == 730


def test_published_is_aware_utc_from_offsets(shared_dir: Path) -> None:
    item = shared(shared_dir, "real/shenzhen-gov-policy-zh.xml").items[0]
    assert item.published == datetime(2026, 4, 13, 16, 0, tzinfo=UTC)  # 2026-04-14 00:00 +0800


def test_relative_links_resolve_against_feed_url_and_xml_base() -> None:
    body = b"""<rss version="2.0"><channel><title>T</title>
      <item><title>a</title><link>/news/1</link></item>
      <item><title>b</title><link>javascript:alert(1)</link></item>
      <item><title>c</title><link>mailto:x@example.org</link></item>
      <item><title>d</title><link>/go?to=https://other.org/</link></item>
      <item><title>e</title><link>"https://example.gov/quoted"</link></item></channel></rss>"""
    links = [i.link for i in parse_feed("t", body, {}, URL).items]
    assert links == [
        "https://example.gov/news/1", None, None, "https://example.gov/go?to=https://other.org/",
        "https://example.gov/quoted",
    ]
    atom = b"""<feed xmlns="http://www.w3.org/2005/Atom" xml:base="http://ex.org/a/"><title>T</title>
      <entry xml:base="sub/"><title>x</title><link href="e1"/><id>urn:1</id></entry></feed>"""
    assert parse_feed("t", atom, {}, URL).items[0].link == "http://ex.org/a/sub/e1"


def test_item_id_falls_back_to_link_then_hash() -> None:
    body = b"""<rss version="2.0"><channel><title>T</title>
      <item><title>one</title><link>https://example.gov/1</link></item>
      <item><title>two</title><description>no link</description></item>
      <item><title>one again</title><guid>g</guid></item><item><title>dup</title><guid>g</guid></item>
      </channel></rss>"""
    items = parse_feed("t", body, {}, URL).items
    assert [i.item_id for i in items][0] == "https://example.gov/1"
    assert items[1].item_id.startswith("sha256:")
    assert items[1].item_id == parse_feed("t", body, {}, URL).items[1].item_id  # stable
    assert [i.title for i in items if i.item_id == "g"] == ["one again"]  # a repeated guid is one item


def test_titles_are_one_line_plain_text_and_html_becomes_text() -> None:
    body = b"""<rss version="2.0"><channel><title>T</title><item>
      <title>Export  &lt;b&gt;ban&lt;/b&gt;
        on gallium &amp;amp; germanium</title>
      <description>&lt;p&gt;First&amp;nbsp;para&lt;/p&gt;&lt;style&gt;p{}&lt;/style&gt;
        &lt;p&gt;Second &amp;amp; last&lt;/p&gt;</description>
      </item></channel></rss>"""
    [item] = parse_feed("t", body, {}, URL).items
    assert item.title == "Export ban on gallium & germanium"
    assert item.summary == "First para\nSecond & last"


def test_html_to_text() -> None:
    html = "<div>A<br>B</div><script>x()</script><ul><li>one</li><li>two &amp; three</li></ul>  tail"
    assert html_to_text(html) == "A\nB\none\ntwo & three\ntail"
    assert html_to_text("AT&T <i>rocks</i>") == "AT&T rocks"


def test_html_pages_and_junk_are_not_feeds() -> None:
    with pytest.raises(ParseError, match=f"not a feed: {URL}: an HTML page"):
        parse_feed("t", HTML_PAGE, {"content-type": "text/html"}, URL)
    for junk in (b"hello, world", b"", b"<?xml version='1.0'?><config><a>1</a></config>"):
        with pytest.raises(ParseError, match="not a feed"):
            parse_feed("t", junk, {}, URL)
    with pytest.raises(ParseError, match="ill-formed XML"):
        parse_feed("t", b'<rss version="2.0"><channel><foo:bar>x</foo:bar></channel></rss', {}, URL)


def test_slightly_broken_feed_still_yields_its_entries() -> None:
    body = rss("Tariff", "Export ban")[:-30]  # cut off mid-channel
    assert [i.title for i in parse_feed("t", body, {}, URL).items] == ["Tariff", "Export ban"]
    assert parse_feed("t", MALFORMED_XML, {}, URL).title == "Broken"


BOMB_MEMORY = 512 * 1024 * 1024   # address space for the parse below: an expanded bomb needs GBs
BOMB_CHECK = """
from policybot.errors import ParseError
from policybot.feeds.parse import parse_feed
from tests.fakes.feed_server import ENTITY_BOMB
for body in (ENTITY_BOMB, ENTITY_BOMB.decode().encode("utf-16")):
    try:
        parse_feed("t", body, {}, "https://example.gov/feed")
    except ParseError as exc:
        print(exc)
"""


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (BOMB_MEMORY, BOMB_MEMORY))


def test_entity_bomb_is_refused_within_bounded_memory_and_time() -> None:
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", BOMB_CHECK], cwd=root, capture_output=True,
                          text=True, timeout=120, preexec_fn=_limit_memory, check=False)  # noqa: PLW1509
    assert done.returncode == 0, done.stderr
    refusals = done.stdout.splitlines()
    assert len(refusals) == 2 and all("entit" in line for line in refusals), done.stdout
    with_dtd = b'<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" "x.dtd">' + rss("ok")
    assert parse_feed("t", with_dtd, {}, URL).items[0].title == "ok"


def test_parse_feed_runs_in_a_process_pool() -> None:
    assert pickle.loads(pickle.dumps(parse_feed)) is parse_feed
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        feed = pool.submit(parse_feed, "t", rss("a", "b"), {}, URL).result(timeout=30)
    assert [i.title for i in feed.items] == ["a", "b"]


def test_items_from_jsonl() -> None:
    text = (
        '{"title": "Gallium ban", "summary": "<b>MOFCOM</b> notice", "id": "7", "link": "https://x.cn/1",'
        ' "published": "2025-01-06T12:00:00+08:00"}\n'
        "\n"
        '{"title": "No id", "summary": "s", "published": "2025-01-06"}\n'
    )
    first, second = items_from_jsonl(text, "file", "items.jsonl")
    assert (first.item_id, first.summary, first.link) == ("7", "MOFCOM notice", "https://x.cn/1")
    assert first.published == datetime(2025, 1, 6, 4, 0, tzinfo=UTC)
    assert second.item_id.startswith("sha256:") and second.link is None
    assert second.published == datetime(2025, 1, 6, tzinfo=UTC)
    assert second.item_id == items_from_jsonl(text, "file", "items.jsonl")[1].item_id


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "items.jsonl:3: "),
        ('["a list"]', "items.jsonl:3: expected a JSON object"),
        ('{"title": 5, "summary": ""}', "items.jsonl:3: \"title\" and \"summary\" must be strings"),
        ('{"title": "t", "summary": "", "published": "yesterday"}', "items.jsonl:3: published: not an ISO"),
    ],
)
def test_items_from_jsonl_bad_line(line: str, message: str) -> None:
    text = '{"title": "ok", "summary": ""}\n\n' + line + "\n"
    with pytest.raises(ParseError) as err:
        items_from_jsonl(text, "file", "items.jsonl")
    assert str(err.value).startswith(message)
