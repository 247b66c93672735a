"""Terminal escapes and bidi overrides from outside never reach a log line or `status` raw
(issue 10, point 7): the log filter every handler carries, and `status`'s table cells."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from policybot.feeds.text import strip_controls
from policybot.notify.base import RedactingFilter
from policybot.status import cell, print_status
from tests.test_chat_commands import make_world, tg

HOSTILE = "\x1b[2J\x1b]0;pwned\x07\u202e\x9b31m\r\x00\x7f\u2066"
RAW = ("\x1b", "\x07", "\u202e", "\x9b", "\r", "\x00", "\x7f", "\u2066")


@pytest.mark.parametrize(("text", "clean"), [
    ("clear\x1b[2Jscreen", "clearscreen"),
    ("title\x1b]0;window title\x07after", "titleafter"),
    ("st\x1b]8;;http://x\x1b\\link", "stlink"),
    ("c1\x9b31mred", "c1red"),
    ("evil\u202egnp.exe", "evilgnp.exe"),
    ("isolate\u2066x\u2069", "isolatex"),
    ("a\rb\x00c\x7fd\x85e", "abcde"),
    ("keeps\nlines\tand tabs, 稀土 and é", "keeps\nlines\tand tabs, 稀土 and é"),
    ("a lone escape at the end\x1b", "a lone escape at the end"),
])
def test_strip_controls(text: str, clean: str) -> None:
    assert strip_controls(text) == clean


@pytest.fixture
def logged() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger whose handler carries the filter, as commands.load attaches it to every handler."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RedactingFilter(["xoxb-secret-token"]))
    logger = logging.getLogger("tests.control_chars")
    logger.addHandler(handler)
    logger.propagate = False
    yield logger, out
    logger.removeHandler(handler)


def test_the_log_filter_strips_controls_from_message_args_and_traceback(
        logged: tuple[logging.Logger, io.StringIO]) -> None:
    logger, out = logged
    logger.warning("feed=%s failed: %s", "f" + HOSTILE, "HTTP 500 xoxb-secret-token" + HOSTILE)
    try:
        raise ValueError("reason" + HOSTILE)
    except ValueError:
        logger.exception("boom %s", HOSTILE)
    text = out.getvalue()
    assert not any(c in text for c in RAW), repr(text)
    assert "feed=f failed: HTTP 500 ***" in text and "ValueError: reason" in text
    assert "xoxb-secret-token" not in text


def test_status_cells_are_one_clean_line() -> None:
    assert cell("HTTP 500\x1b[31m Bad\nGateway\u202e") == "HTTP 500 Bad Gateway"


def test_status_shows_no_raw_escape(tmp_path: Path) -> None:
    world = make_world(tmp_path, telegram_url="http://127.0.0.1:9")
    tg(world, f"/watch gallium -x{HOSTILE}y")
    world.app.store.update_feed("trade", error_count=2, failing_since=1.0, last_poll=1.0,
                                last_error=f"HTTP 503 {HOSTILE}Service\nUnavailable")
    out = io.StringIO()
    try:
        print_status(world.app, out)
    finally:
        world.app.store.close()
    text = out.getvalue()
    assert not any(c in text for c in RAW), repr(text)
    assert "HTTP 503 Service Unavailable" in text and "gallium -x y" in text
