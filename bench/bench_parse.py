"""Feed parsing: items/s of our parse_feed against feedparser.parse(bytes) with its defaults.

parse_feed does more than the baseline (HTML -> plain text, link resolution, Items), but it
switches off feedparser's HTML sanitizer and relative-URI rewriting, which it does not need.
Best of a few rounds per feed, both measured in the same run, on one core.

    python -m bench bench_parse
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import feedparser

from policybot.feeds.parse import parse_feed

FEEDS = Path(__file__).resolve().parents[1] / "tests" / "data" / "shared" / "feeds" / "real"
NAMES = ("giantbomb-podcast-large.xml", "guardian-us-2018-01.xml")
ROUNDS = 5


def _seconds(run: Callable[[], int]) -> tuple[float, int]:
    started = time.perf_counter()
    count = run()
    return time.perf_counter() - started, count


def _measure(path: Path) -> tuple[float, float]:
    """Items/s (best round) of the baseline and of parse_feed, rounds interleaved against drift."""
    body = path.read_bytes()
    runs: dict[str, Callable[[], int]] = {
        "baseline": lambda: len(feedparser.parse(body).entries),
        "ours": lambda: len(parse_feed("bench", body, {}, "https://example.org/feed").items),
    }
    best = dict.fromkeys(runs, float("inf"))
    counts = dict.fromkeys(runs, 0)
    for _ in range(ROUNDS):
        for name, run in runs.items():
            seconds, counts[name] = _seconds(run)
            best[name] = min(best[name], seconds)
    return counts["baseline"] / best["baseline"], counts["ours"] / best["ours"]


def main() -> None:
    if not FEEDS.is_dir():
        print(f"   skipped: {FEEDS} not found")
        return
    print(f"   {'feed':32} {'feedparser (defaults)':>22} {'parse_feed':>14} {'ratio':>7}")
    for name in NAMES:
        baseline, ours = _measure(FEEDS / name)
        print(f"   {name:32} {baseline:>16,.0f} it/s {ours:>9,.0f} it/s {ours / baseline:>6.2f}x")


if __name__ == "__main__":
    main()
