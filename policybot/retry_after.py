"""The one reading of an HTTP Retry-After header, for feeds and platforms alike.

Whatever a server says, a wait is a finite number of seconds between 0 and a cap (platforms:
MAX_RETRY_AFTER; feeds: the fetcher's own, longer cap): `inf`, `1e400` and a date in the year
9999 are capped, `nan` and garbage are ignored (None), a negative delay or a date in the past
is 0. No feed and no destination waits forever.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

MAX_RETRY_AFTER = 3600.0   # seconds: the longest pause a platform can ask of a destination


def clamp_wait(seconds: float | None, cap: float = MAX_RETRY_AFTER) -> float | None:
    """`seconds` as a usable wait: None if absent or not a number, else within [0, cap]."""
    if seconds is None or math.isnan(seconds):
        return None
    return min(max(0.0, seconds), cap)


def retry_after(value: str | None, now: datetime | None = None,
                cap: float = MAX_RETRY_AFTER) -> float | None:
    """Seconds to wait: delta-seconds (decimals accepted) or an HTTP-date; None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return clamp_wait(float(value), cap)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return clamp_wait((when - (now or datetime.now(UTC))).total_seconds(), cap)
