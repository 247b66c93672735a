"""Hostile feed bodies at the parse stage: entity bombs in every encoding feedparser reads,
unbounded titles and summaries, JSON nested thousands deep. Each ends as a ParseError or as
bounded text, in bounded memory (bombs run in a subprocess under an address-space cap)."""

from __future__ import annotations

import codecs
import io
import json
import resource
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from policybot.app import App
from policybot.config import load_config
from policybot.errors import ParseError
from policybot.feeds import parse
from policybot.feeds.fetch import Fetcher
from policybot.feeds.parse import items_from_jsonl, parse_feed
from policybot.feeds.text import ELLIPSIS, clip
from tests.fakes.feed_server import FeedServer, rss
from tests.test_hostile_feeds import RULES

ROOT = Path(__file__).resolve().parents[1]
URL = "https://example.gov/feed.xml"
MB = 2**20

# How a bomb reaches feedparser: (python codec, encoding declared in <?xml?>, BOM, HTTP charset).
ENCODINGS = {
    "utf-8": ("utf-8", None, b"", None),
    "utf-16-le-bom": ("utf-16-le", "utf-16", codecs.BOM_UTF16_LE, None),
    "utf-16-be": ("utf-16-be", "utf-16be", b"", None),
    "utf-32-le": ("utf-32-le", "utf-32", b"", None),
    "utf-32-le-bom": ("utf-32-le", "utf-32", codecs.BOM_UTF32_LE, None),
    "utf-32-be": ("utf-32-be", "utf-32be", b"", None),
    "utf-32-be-bom": ("utf-32-be", "utf-32", codecs.BOM_UTF32_BE, None),
    "utf-32-http-charset": ("utf-32-le", None, codecs.BOM_UTF32_LE, "utf-32"),
    "ebcdic-cp037": ("cp037", "cp037", b"", None),
}


def bomb(name: str, *, copies: int = 1, padding: int = 0) -> tuple[bytes, dict[str, str]]:
    """A billion-laughs feed in the named encoding: each `&c;` is 10 million characters.
    `padding` bytes of comment keep expat's amplification guard (100x) from stopping it."""
    codec, declared, bom_bytes, charset = ENCODINGS[name]
    encoding = f' encoding="{declared}"' if declared else ""
    text = (f'<?xml version="1.0"{encoding}?><!DOCTYPE rss [<!ENTITY a "{"A" * 1000}">'
            f'<!ENTITY b "{"&a;" * 100}"><!ENTITY c "{"&b;" * 100}">]>'
            f'<rss version="2.0"><channel><title>t</title><!-- {"p" * padding} -->'
            f'<item><title>{"&c;" * copies}</title><guid>x</guid></item></channel></rss>')
    headers = {"content-type": f"application/rss+xml; charset={charset}"} if charset else {}
    return bom_bytes + text.encode(codec), headers


@pytest.mark.parametrize("name", ENCODINGS)
def test_an_entity_bomb_is_refused_in_every_encoding(name: str) -> None:
    body, headers = bomb(name)
    with pytest.raises(ParseError, match=f"not a feed: {URL}: declares XML entities"):
        parse_feed("t", body, headers, URL)


# Unguarded, this bomb is a 200-million-character title (about 800 MB at its peak); refused,
# the whole run fits in a small fraction of the cap.
_BOMB_RUN = """
import resource, sys
from policybot.app import App
from policybot.config import load_config
from policybot.errors import ParseError
from policybot.feeds.fetch import Fetcher
from policybot.feeds.parse import parse_feed
from tests.test_feed_bounds import ENCODINGS, bomb
resource.setrlimit(resource.RLIMIT_AS, (CAP, CAP))
for name in ENCODINGS:
    body, headers = bomb(name, copies=20, padding=2_400_000)
    try:
        feed = parse_feed("t", body, headers, "https://example.gov/feed.xml")
        print(name, "parsed", max(len(i.title) for i in feed.items))
    except ParseError as exc:
        print(name, "refused" if "declares XML entities" in str(exc) else exc)
"""
BOMB_MEMORY_CAP = 384 * MB


def test_entity_bombs_are_refused_in_bounded_memory() -> None:
    code = _BOMB_RUN.replace("CAP", str(BOMB_MEMORY_CAP))
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, timeout=300, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split("\n")[:-1] == [f"{name} refused" for name in ENCODINGS]


def test_a_doctype_without_entities_is_still_read() -> None:
    body = ('<?xml version="1.0" encoding="utf-32"?><!DOCTYPE rss PUBLIC "-//Netscape '
            'Communications//DTD RSS 0.91//EN" "x.dtd">').encode("utf-32") + \
        rss("ok").decode().split("?>", 1)[1].encode("utf-32-le")
    assert [i.title for i in parse_feed("t", body, {}, URL).items] == ["ok"]


def make_app(tmp_path: Path, urls: dict[str, str], fetcher: Fetcher) -> App:
    (tmp_path / "rules.yaml").write_text(RULES)
    feeds = "".join(f'  - {{id: {fid}, url: "{url}"}}\n' for fid, url in urls.items())
    (tmp_path / "config.yaml").write_text(
        f"storage: {{path: s.db}}\nrules: [rules.yaml]\ndefaults: {{backfill: all}}\nfeeds:\n{feeds}")
    app = App(load_config(tmp_path / "config.yaml", env={}), stream=io.StringIO(), fetcher=fetcher)
    app.load_rules()
    return app


# --- length bounds -------------------------------------------------------------------------


def long_item(title: str = "t", summary: str = "s", content: str = "", guid: str = "g1",
              link: str = "https://example.gov/1") -> bytes:
    extra = f"<content:encoded><![CDATA[{content}]]></content:encoded>" if content else ""
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
            f'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>T</title>'
            f"<item><title>{title}</title><link>{link}</link><guid>{guid}</guid>"
            f"<description>{summary}</description>{extra}</item></channel></rss>").encode()


def test_titles_are_clipped_to_max_title_chars() -> None:
    [item] = parse_feed("t", long_item(title="Gallium " * 1000), {}, URL).items
    assert len(item.title) == parse.MAX_TITLE_CHARS and item.title.endswith(" Gallium" + ELLIPSIS)


def test_summaries_are_clipped_to_max_summary_chars() -> None:
    [item] = parse_feed("t", long_item(summary="<p>gallium export</p>" * 100_000), {}, URL).items
    assert len(item.summary) <= parse.MAX_SUMMARY_CHARS and item.summary.endswith(ELLIPSIS)
    assert len(item.summary) > parse.MAX_SUMMARY_CHARS - 20


def test_content_is_clipped_to_max_content_chars() -> None:
    [item] = parse_feed("t", long_item(content="<p>antimony</p>" * 50_000), {}, URL).items
    assert len(item.content) <= parse.MAX_CONTENT_CHARS and item.content.endswith(ELLIPSIS)
    assert len(item.content) > parse.MAX_CONTENT_CHARS - 20


def test_a_huge_guid_becomes_its_hash_and_a_huge_link_is_dropped() -> None:
    guid = "g" * (parse.MAX_ID_CHARS + 1)
    link = "https://example.gov/" + "x" * parse.MAX_LINK_CHARS
    [item] = parse_feed("t", long_item(guid=guid, link=link), {}, URL).items
    assert item.item_id.startswith("sha256:") and len(item.item_id) < 100
    assert item.link is None
    [short] = parse_feed("t", long_item(guid="g" * parse.MAX_ID_CHARS), {}, URL).items
    assert short.item_id == "g" * parse.MAX_ID_CHARS


def test_federal_register_and_json_lines_items_are_bounded_too() -> None:
    doc = {"document_number": "2025-1", "title": "T" * 5000, "abstract": "a " * 50_000,
           "html_url": "https://www.federalregister.gov/d/2025-1"}
    [item] = parse_feed("t", json.dumps([doc]).encode(), {}, URL).items
    assert len(item.title) == parse.MAX_TITLE_CHARS and len(item.summary) <= parse.MAX_SUMMARY_CHARS
    line = json.dumps({"title": "T" * 5000, "summary": "s" * 50_000})
    [jl] = items_from_jsonl(line, "f", "x.jsonl")
    assert len(jl.title) == parse.MAX_TITLE_CHARS and len(jl.summary) == parse.MAX_SUMMARY_CHARS


def test_clip_cuts_on_a_character_boundary() -> None:
    assert clip("short", 10) == "short"
    assert clip("abcdefghij", 5) == "abcd" + ELLIPSIS
    assert clip("abc" + "e\u0301" * 5, 6) == "abce\u0301" + ELLIPSIS
    assert clip("abc" + "e\u0301" * 5, 5) == "abc" + ELLIPSIS  # é never loses its accent
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert clip("ab" + family * 3, 6) == "ab" + ELLIPSIS  # no half of a joined emoji
    assert clip("word " * 10, 6) == "word" + ELLIPSIS  # no space before the ellipsis


async def test_a_10_mb_summary_of_matched_terms_makes_a_small_outbox_row(
        tmp_path: Path, feed_server: FeedServer) -> None:
    summary = "gallium " * (1_250_000)  # 10 MB of the very term the rule matches
    url = feed_server.add("big", long_item(title="Gallium curbs", summary=summary))
    app = make_app(tmp_path, {"big": url}, Fetcher(max_bytes=16 * MB))
    try:
        (result,) = await app.poll_all()
    finally:
        await app.close()
    assert result.status == "new" and result.alerts == 1
    with sqlite3.connect(tmp_path / "s.db") as db:
        (row_size,) = db.execute("SELECT max(length(payload)) FROM outbox").fetchone()
        (seen,) = db.execute("SELECT max(length(summary)) FROM seen").fetchone()
    assert row_size < 1 * MB  # was 60 MB
    assert seen <= parse.MAX_SUMMARY_CHARS


# --- JSON nesting -------------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["[{}]", '{{"results": {}}}', '[{{"title": {}, "html_url": "x"}}]'])
def test_deeply_nested_json_is_a_parse_error(shape: str) -> None:
    deep = "[" * 50_000 + "]" * 50_000
    with pytest.raises(ParseError, match=f"not a feed: {URL}: invalid JSON: nested too deeply"):
        parse_feed("t", shape.format(deep).encode(), {}, URL)


def test_json_nested_below_the_limit_but_deep_in_a_field_is_ignored() -> None:
    deep = "[" * 900 + "]" * 900  # parses, but str() of it would recurse past the limit
    body = f'[{{"title": {deep}, "document_number": {deep}, "html_url": "https://x.gov/1"}}]'
    [item] = parse_feed("t", body.encode(), {}, URL).items
    assert item.title == "" and item.item_id == "https://x.gov/1"


def test_deeply_nested_json_lines_name_the_line() -> None:
    text = '{"title": "ok", "summary": ""}\n{"title": ' + "[" * 50_000 + "]" * 50_000 + "}\n"
    with pytest.raises(ParseError, match=r"^x.jsonl:2: JSON nested too deeply$"):
        items_from_jsonl(text, "f", "x.jsonl")


@pytest.mark.parametrize("name", ["deep.json", "deep-lines.json", "deep.jsonl"])
def test_test_rules_on_a_deeply_nested_file_says_one_line(tmp_path: Path, name: str) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "r.yaml").write_text(
        "rules:\n  - id: g\n    title: G\n    match: {any: [gallium]}\n")
    deep = "[" * 100_000 + "]" * 100_000
    text = {"deep.json": deep, "deep-lines.json": f"[\n{deep}]\n", "deep.jsonl": f'{{"title": {deep}}}'}
    (tmp_path / name).write_text(text[name])
    run = subprocess.run([sys.executable, str(ROOT / "bot.py"), "test-rules", name],
                         capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False,
                         preexec_fn=_cap_memory)
    assert run.returncode == 1
    line = f"{name}:1: JSON" if name.endswith(".jsonl") else f"not a feed: {name}: invalid JSON:"
    assert run.stderr.splitlines() == [f"{line} nested too deeply"]


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (1024 * MB, 1024 * MB))


def test_once_records_bombs_as_feed_errors_in_bounded_memory(tmp_path: Path, feed_server: FeedServer) -> None:
    """As users run it: `bot.py once` under an address-space cap, bombs next to a healthy feed."""
    urls = {}
    for name in ("utf-32-le-bom", "ebcdic-cp037", "utf-32-http-charset"):
        body, headers = bomb(name, copies=20, padding=2_400_000)
        urls[name] = feed_server.add(name, body, content_type=headers.get("content-type", "application/xml"))
    urls["healthy"] = feed_server.add("healthy", rss("Gallium export curbs"))
    (tmp_path / "rules.yaml").write_text(RULES)
    feeds = "".join(f'  - {{id: {fid}, url: "{url}"}}\n' for fid, url in urls.items())
    (tmp_path / "config.yaml").write_text(
        f"storage: {{path: s.db}}\nrules: [rules.yaml]\ndefaults: {{backfill: all}}\nfeeds:\n{feeds}")
    runs = [subprocess.run([sys.executable, str(ROOT / "bot.py"), command, "--config", "config.yaml"],
                           capture_output=True, text=True, cwd=tmp_path, timeout=300, check=False,
                           preexec_fn=_cap_bot_memory) for command in ("once", "status")]
    assert [r.returncode for r in runs] == [0, 0], runs[0].stderr[-2000:]
    assert "Gallium export curbs" in runs[0].stdout
    status = runs[1].stdout
    assert status.count("declares XML entities (refused: possible entity bomb)") == 3, status
    assert (tmp_path / "s.db").stat().st_size < 1 * MB  # was a 450 MB state file


BOT_MEMORY_CAP = 768 * MB


def _cap_bot_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (BOT_MEMORY_CAP, BOT_MEMORY_CAP))
