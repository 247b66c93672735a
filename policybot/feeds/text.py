"""HTML -> plain text for feed fields (stdlib html.parser; no sanitizer needed: nothing is rendered).

Script, style and similar contents are dropped, entities decoded, block elements become line
breaks, and runs of white space collapse. `one_line` is the form used for titles.
"""

from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser

_SKIP = frozenset({"script", "style", "noscript", "template", "head", "title", "iframe", "object", "svg"})
_BLOCK = frozenset({
    "address", "article", "aside", "blockquote", "br", "dd", "details", "div", "dl", "dt",
    "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr",
    "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table", "td", "th", "tr", "ul",
})
_TAG_LIKE = re.compile(r"<[A-Za-z!/?]|&(#\d+|#x[0-9A-Fa-f]+|[A-Za-z][A-Za-z0-9]*);")
_SPACES = re.compile(r"[^\S\n]+")
# Terminal escape sequences (CSI, OSC, two-byte ESC, their 8-bit forms), then any other C0/C1
# control but \t and \n, bidi embeddings, overrides and isolates (U+202A-E, U+2066-9, which can
# make text read backwards), and lone surrogates (JSON "\ud800": no UTF-8 for them). Feed text
# and server messages reach logs, terminals (`status`, `test-rules`) and chat.
_ESCAPES = re.compile(r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
                      r"|(?:\x1b\]|\x9d)[^\x07\x1b\x9c\n]*(?:\x07|\x1b\\|\x9c)?"
                      r"|\x1b[ -~]")
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
                       "\ud800-\udfff]")
_UNSPACED = re.compile(r"[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\ud800-\udfff]")  # what split() keeps
ELLIPSIS = "\u2026"
_JOINERS = frozenset("\u200c\u200d")  # zero-width (non-)joiner: part of the character around it
_LINES = re.compile(r"\s*\n\s*")


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skipping.append(tag)
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            if tag in self.skipping:  # close back to the matching open tag
                del self.skipping[len(self.skipping) - 1 - self.skipping[::-1].index(tag):]
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment: lines for blocks, single spaces within a line."""
    if "<" not in html and "&" not in html:
        return tidy(html)  # nothing to parse: the common case for titles
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    return tidy("".join(collector.parts))


def tidy(text: str) -> str:
    """Collapse spaces within lines and blank lines between them; strip the ends."""
    text = _unescaped(text).replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    return _LINES.sub("\n", _SPACES.sub(" ", text)).strip()


def _unescaped(text: str) -> str:
    """No escape sequences and no control characters but white space (collapsed later)."""
    if not _UNSPACED.search(text):  # the common case, and a quick scan (ESC is in the class)
        return text
    return _UNSPACED.sub("", _ESCAPES.sub("", text))


def strip_controls(text: str) -> str:
    """`text` without terminal escape sequences, control characters (\\t and \\n stay), bidi
    controls and lone surrogates: what is left prints as itself."""
    if text.isprintable():
        return text
    return _CONTROLS.sub("", _ESCAPES.sub("", text))


def looks_like_html(text: str) -> bool:
    return bool(_TAG_LIKE.search(text))


def to_text(value: str, mime: str = "text/html") -> str:
    """Plain text of a feed field whose type is `mime` (feedparser's *_detail['type'])."""
    if "html" in mime or "xml" in mime or looks_like_html(value):
        return html_to_text(value)
    return tidy(value)


def one_line(text: str) -> str:
    """All white space (line breaks too) as single spaces; no control characters."""
    return " ".join(_unescaped(text).split())


def clip(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, ending in an ellipsis when cut. The cut never
    splits a character from its combining marks, variation selectors or joiners."""
    if len(text) <= limit:
        return text
    cut = limit - len(ELLIPSIS)
    while cut > 0 and (_continues(text[cut]) or text[cut - 1] in _JOINERS):
        cut -= 1
    return text[:cut].rstrip() + ELLIPSIS


def _continues(char: str) -> bool:
    """True for a code point that belongs to the character before it."""
    return unicodedata.category(char).startswith("M") or char in _JOINERS or (
        "\ufe00" <= char <= "\ufe0f" or "\U000e0100" <= char <= "\U000e01ef"
        or "\U0001f3fb" <= char <= "\U0001f3ff")  # skin-tone modifiers
