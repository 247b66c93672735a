"""Pure: small inline SVG bar charts (no JavaScript; each bar's <title> shows its value)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from policybot.console.html import esc

WIDTH = 300
HEIGHT = 48
LABEL = 12      # room under the bars for the first and last day


def bars(days: Sequence[int], counts: Sequence[int], what: str) -> str:
    """One bar per day (`days`: day numbers since the epoch, oldest first)."""
    top = max(counts, default=0) or 1
    step = WIDTH / max(len(days), 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT + LABEL}" '
             f'role="img" aria-label="{esc(what)} per day, last {len(days)} days">']
    for index, (day, count) in enumerate(zip(days, counts, strict=True)):
        h = round(HEIGHT * count / top, 1) if count else 0
        x = round(index * step, 1)
        parts.append(f'<rect x="{x}" y="{HEIGHT - h}" width="{max(step - 1, 1):.1f}" '
                     f'height="{max(h, 0.5)}" fill="{"#3b6fd8" if count else "#dde1e8"}">'
                     f'<title>{_date(day)}: {count} {esc(what)}</title></rect>')
    if days:
        parts.append(f'<text x="0" y="{HEIGHT + LABEL - 1}" font-size="10" fill="#667085">'
                     f'{_date(days[0])}</text><text x="{WIDTH}" y="{HEIGHT + LABEL - 1}" '
                     f'font-size="10" fill="#667085" text-anchor="end">max {top}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _date(day: int) -> str:
    return datetime.fromtimestamp(day * 86400, UTC).strftime("%Y-%m-%d")
