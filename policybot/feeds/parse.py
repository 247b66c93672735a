"""Pure: a fetched body + its headers -> Items. No I/O; picklable, so it runs in a process pool.

feedparser reads RSS/Atom/RDF with its sanitizer and relative-URI rewriting switched off: we
turn HTML into plain text ourselves (feeds/text.py) and resolve each item's link against its
xml:base or the feed URL. Bodies feedparser decoded with a fallback code page are re-decoded
with charset-normalizer (GB2312 without a declaration). The Federal Register API's JSON is read
too. A body that is not a feed at all raises ParseError.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

from policybot.errors import ParseError
from policybot.feeds.text import clip, one_line, tidy, to_text
from policybot.model import Item


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str
    items: tuple[Item, ...]


# Bounds on what one item keeps (and the store, the engine and the outbox see), in characters.
MAX_TITLE_CHARS = 1_000
MAX_SUMMARY_CHARS = 20_000
MAX_CONTENT_CHARS = 100_000
MAX_ID_CHARS = 1_000       # a longer guid is kept as its hash
MAX_LINK_CHARS = 8_192     # a longer link is dropped

_ENTITY_DECL = re.compile(rb"<!\s*ENTITY", re.IGNORECASE)
_DOCTYPE = re.compile(rb"<!\s*DOCTYPE", re.IGNORECASE)
_FALLBACK_CODECS = frozenset({"cp1252", "ascii", "iso8859-2", "iso8859-1"})
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")
_DECLARED = re.compile(rb"^\s*<\?xml[^>]*encoding=", re.IGNORECASE)
_LINK_LITERAL = re.compile(r"""(?:<a\s+)?(?:href\s*=\s*)?["'<]*(https?://[^\s"'<>]+)""", re.IGNORECASE)
_HTML = re.compile(rb"<!doctype\s+html|<html[\s>]", re.IGNORECASE)
_NO_ZONE = re.compile(r"^\s*\d{4}-\d{1,2}-\d{1,2}[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*$")
# Feeds that print local time without a zone, by language: hours east of UTC.
_LOCAL_OFFSETS = {"zh": 8, "ja": 9, "ko": 9}
_CJK_CODECS = {"gb2312": "zh", "gbk": "zh", "gb18030": "zh", "big5": "zh", "hz": "zh"}
_ENCODING_ERRORS = (feedparser.CharacterEncodingOverride, feedparser.CharacterEncodingUnknown)
_FEEDPARSER_OPTIONS = {"sanitize_html": False, "resolve_relative_uris": False}


def parse_feed(feed_id: str, body: bytes, headers: Mapping[str, str], url: str) -> ParsedFeed:
    """Items of an RSS/Atom/RDF feed or a Federal Register JSON document list.

    Raises ParseError when the body is not a feed at all."""
    headers = {k.lower(): v for k, v in headers.items()}
    base = urljoin(url, headers.get("content-location", ""))  # the body's own address, if it says so
    if _looks_like_json(body, headers):
        return _parse_federal_register(feed_id, body, url)
    result = _feedparser(body, headers, url)
    _require_feed(result, body, url)
    offset = _local_offset(result)
    items = (_item(feed_id, entry, base, offset) for entry in result.entries if _has_content(entry))
    title = clip(one_line(to_text(result.feed.get("title", ""))), MAX_TITLE_CHARS)
    return ParsedFeed(title=title, items=_unique(items))


def items_from_jsonl(text: str, feed_id: str, source: str) -> list[Item]:
    """JSON Lines of {"title", "summary", optional "id", "link", "published" (ISO 8601)}."""
    items = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                items.append(_jsonl_item(json.loads(line), feed_id))
            except RecursionError:
                raise ParseError(f"{source}:{lineno}: JSON nested too deeply") from None
            except (ValueError, TypeError) as exc:
                raise ParseError(f"{source}:{lineno}: {exc}") from None
    return items


def _refuse_entities(decoded: bytes, url: str) -> None:
    """Refuse an internal DTD subset declaring entities (the billion-laughs shape, never a real
    feed). `decoded` is the UTF-8 text feedparser is about to read: checked after decoding, so
    no encoding (UTF-32, EBCDIC, ...) hides the declaration."""
    if _DOCTYPE.search(decoded) and _ENTITY_DECL.search(decoded):
        raise ParseError(f"not a feed: {url}: declares XML entities (refused: possible entity bomb)")


def as_feedparser_reads(body: bytes, headers: dict[str, str]) -> bytes:
    """The body as feedparser will read it: decoded by its own rules (BOM, XML declaration,
    HTTP charset, RFC 3023, its fallbacks) into UTF-8 (or left as is when nothing decodes it,
    and then read as UTF-8)."""
    return bytes(feedparser.encodings.convert_to_utf8(headers, body, {}))


# --- feedparser and character encodings -----------------------------------------------------


def _feedparser(body: bytes, headers: dict[str, str], url: str) -> Any:
    _refuse_entities(as_feedparser_reads(body, headers), url)
    # A stream, never bytes or str: feedparser would treat a str as a URL or a file name.
    result = feedparser.parse(io.BytesIO(body), response_headers=headers, **_FEEDPARSER_OPTIONS)
    codec = _better_codec(body, headers, result)
    if codec is None:
        return result
    text = _XML_DECL.sub("", body.decode(codec, errors="replace").lstrip("\ufeff"), count=1)
    utf8 = text.encode()
    _refuse_entities(utf8, url)  # the same check on this decoding too
    utf8_headers = {**headers, "content-type": "application/xml; charset=utf-8"}
    again = feedparser.parse(io.BytesIO(utf8), response_headers=utf8_headers, **_FEEDPARSER_OPTIONS)
    if len(again.entries) < len(result.entries):
        return result
    again["encoding"] = codec  # what the bytes were, not the UTF-8 we handed over
    return again


def _better_codec(body: bytes, headers: dict[str, str], result: Any) -> str | None:
    """A codec to re-decode the body with, when feedparser settled for a fallback code page."""
    used = _codec_name(result.get("encoding"))
    if used == "utf-8":
        return None  # feedparser decodes strictly: the bytes were valid UTF-8
    encoding_trouble = isinstance(result.get("bozo_exception"), _ENCODING_ERRORS)
    if not encoding_trouble and (used not in _FALLBACK_CODECS or _declares_charset(body, headers)):
        return None
    codec = _codec_name(_guess_codec(body))
    return codec if codec and codec != used else None


def _guess_codec(body: bytes) -> str:
    if body.startswith(codecs.BOM_UTF8):
        return "utf-8"  # a BOM outranks any statistics, even over invalid bytes after it
    import charset_normalizer  # rarely needed: loaded on the first body whose encoding is unclear

    best = charset_normalizer.from_bytes(body).best()
    return best.encoding if best is not None else ""


def _codec_name(name: str | None) -> str:
    try:
        return codecs.lookup(name or "").name
    except LookupError:
        return ""


def _declares_charset(body: bytes, headers: dict[str, str]) -> bool:
    return "charset=" in headers.get("content-type", "").lower() or bool(_DECLARED.match(body[:200]))


def _require_feed(result: Any, body: bytes, url: str) -> None:
    if result.entries:
        return
    if not result.get("version"):
        kind = "an HTML page" if _HTML.search(body[:2048]) else "no RSS, Atom or RDF feed found"
        raise ParseError(f"not a feed: {url}: {kind}")
    exc = result.get("bozo_exception")
    broken = exc is not None and not isinstance(exc, feedparser.CharacterEncodingOverride)
    if broken and not result.feed.get("title"):
        raise ParseError(f"not a feed: {url}: ill-formed XML with no entries: {one_line(str(exc))}")


# --- entries -> Items ----------------------------------------------------------------------


def _item(feed_id: str, entry: Any, feed_url: str, offset: timedelta | None) -> Item:
    title = one_line(_detail_text(entry, "title"))
    summary = _detail_text(entry, "summary")
    content = "\n".join(to_text(c.get("value", ""), c.get("type", "")) for c in entry.get("content") or ())
    link = _link(entry, feed_url)
    item_id = (entry.get("id") or "").strip() or link or _hash_id(title, link, summary)
    return bounded_item(feed_id, item_id, title, link, summary,
                        "" if content == summary else content, _published(entry, offset))


def bounded_item(feed_id: str, item_id: str, title: str, link: str | None, summary: str,
                 content: str, published: datetime | None) -> Item:
    """An Item within the bounds: long text clipped (with an ellipsis), a long id hashed, a
    link too long to be real dropped. What the store, the engine and the outbox see."""
    return Item(
        feed_id=feed_id,
        item_id=item_id if len(item_id) <= MAX_ID_CHARS else _hash_id(item_id),
        title=clip(title, MAX_TITLE_CHARS),
        link=link if link is None or len(link) <= MAX_LINK_CHARS else None,
        summary=clip(summary, MAX_SUMMARY_CHARS),
        content=clip(content, MAX_CONTENT_CHARS),
        published=published,
    )


def _has_content(entry: Any) -> bool:
    """False for an entry with nothing in it (a truncated <item>): its hash would collide."""
    return any(entry.get(key) for key in ("id", "title", "link", "summary", "content"))


def _detail_text(entry: Any, name: str) -> str:
    detail = entry.get(f"{name}_detail") or {}
    return to_text(entry.get(name, ""), detail.get("type", "text/plain"))


def _link(entry: Any, feed_url: str) -> str | None:
    """The item's absolute http(s) link: FeedBurner's origLink first, resolved against xml:base."""
    raw = (entry.get("feedburner_origlink") or entry.get("link") or "").strip()
    if not raw:
        return None
    found = _LINK_LITERAL.match(raw)  # also real feeds' <link>href="https://…"</link>
    raw = found.group(1) if found else raw
    base = _entry_base(entry)
    return absolute_http(urljoin(urljoin(feed_url, base), raw) if base else urljoin(feed_url, raw))


def _entry_base(entry: Any) -> str:
    for name in ("title_detail", "summary_detail"):
        base = (entry.get(name) or {}).get("base")
        if base:
            return str(base)
    return ""


def absolute_http(link: str) -> str | None:
    """`link` if it is an absolute http(s) URL with a host, else None."""
    try:
        parts = urlsplit(link)
    except ValueError:
        return None
    return link if parts.scheme in ("http", "https") and parts.hostname else None


def _published(entry: Any, offset: timedelta | None) -> datetime | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    try:
        when = datetime(*parsed[:6], tzinfo=UTC)
    except (TypeError, ValueError, OverflowError):
        return None  # missing, or a date feedparser read but datetime cannot hold
    raw = entry.get("published") or entry.get("updated") or ""
    if offset is not None and _NO_ZONE.match(raw):
        when -= offset  # local wall-clock time that feedparser took for UTC
    return when


def _local_offset(result: Any) -> timedelta | None:
    """Offset of the feed's local time, from its language (or a CJK code page)."""
    language = str(result.feed.get("language") or "").lower()[:2]
    language = language or _CJK_CODECS.get(_codec_name(result.get("encoding")), "")
    hours = _LOCAL_OFFSETS.get(language)
    return timedelta(hours=hours) if hours is not None else None


def _unique(items: Iterable[Item]) -> tuple[Item, ...]:
    """First occurrence of each item_id: a feed repeating a guid must not alert twice."""
    seen: dict[str, Item] = {}
    for item in items:
        seen.setdefault(item.item_id, item)
    return tuple(seen.values())


def _hash_id(*parts: str | None) -> str:
    return "sha256:" + hashlib.sha256("\x1f".join(p or "" for p in parts).encode()).hexdigest()


# --- JSON: Federal Register API and JSON Lines ---------------------------------------------


def _looks_like_json(body: bytes, headers: dict[str, str]) -> bool:
    first = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    return "json" in headers.get("content-type", "") or first in (b"[", b"{")


def _parse_federal_register(feed_id: str, body: bytes, url: str) -> ParsedFeed:
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except RecursionError:
        raise ParseError(f"not a feed: {url}: invalid JSON: nested too deeply") from None
    except ValueError as exc:
        raise ParseError(f"not a feed: {url}: invalid JSON: {exc}") from None
    documents = data.get("results") if isinstance(data, dict) else data
    if not isinstance(documents, list) or not all(isinstance(d, dict) for d in documents):
        raise ParseError(f"not a feed: {url}: JSON is not a list of Federal Register documents")
    if documents and not any("document_number" in d or "html_url" in d for d in documents):
        raise ParseError(f"not a feed: {url}: JSON documents have no document_number or html_url")
    items = (_fr_item(feed_id, doc) for doc in documents)
    return ParsedFeed(title="Federal Register", items=_unique(items))


def _fr_item(feed_id: str, doc: dict[str, Any]) -> Item:
    title = one_line(to_text(_scalar(doc, "title")))
    link = absolute_http(_scalar(doc, "html_url"))
    summary = to_text(_scalar(doc, "abstract") or _scalar(doc, "excerpts") or _scalar(doc, "action"))
    item_id = _scalar(doc, "document_number") or link or _hash_id(title, link, summary)
    return bounded_item(feed_id, item_id, title, link, summary, tidy(_scalar(doc, "full_text")),
                        _lenient_datetime(doc.get("publication_date")))


def _scalar(doc: dict[str, Any], key: str) -> str:
    """A string or number field as text; anything else (a list, a nested object) as ""."""
    value = doc.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return ""
    return str(value)


def _lenient_datetime(value: Any) -> datetime | None:
    try:
        return _iso_datetime(value)
    except ValueError:
        return None


def _jsonl_item(obj: Any, feed_id: str) -> Item:
    if not isinstance(obj, dict):
        raise TypeError(f"expected a JSON object, got {type(obj).__name__}")
    title, summary = obj.get("title", ""), obj.get("summary", "")
    if not isinstance(title, str) or not isinstance(summary, str):
        raise TypeError('"title" and "summary" must be strings')
    link = absolute_http(_scalar(obj, "link")) if obj.get("link") else None
    item_id = _scalar(obj, "id") or _hash_id(title, link, summary)
    return bounded_item(feed_id, item_id, one_line(to_text(title)), link, to_text(summary),
                        to_text(_scalar(obj, "content")), _iso_datetime(obj.get("published")))


def _iso_datetime(value: Any) -> datetime | None:
    """ISO 8601 date or date-time -> aware UTC (a value without a zone is taken as UTC)."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ValueError(f"published: expected an ISO 8601 string, got {value!r}")
    try:
        parsed = datetime.fromisoformat(value.strip())  # also "2025-01-06" and a trailing "Z"
    except ValueError as exc:
        raise ValueError(f"published: not an ISO 8601 date: {value!r}") from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
