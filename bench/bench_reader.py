"""Polling against lemon24/reader 3.26, whole process against whole process.

    python -m bench bench_reader

200 feeds on 50 loopback hosts (bench/feedhost.py, 100 ms added latency per request). Each
round changes the feeds' content, then times one cycle of each side as a fresh process:
`python bot.py once` (the shipped rules, a console destination, SQLite state) and
reader_cycle.py (`make_reader(db).update_feeds(workers=20)`); then a second cycle of each, in
which every feed answers 304. reader lives in its own venv (.venv/bench-reader, made here with
`pip install reader==3.26`, never in requirements.txt); if it cannot be installed, the bench
says so and prints our figures alone. Goal: at least 1.5x reader on both cycles. The two sides
run back to back in each round, so both see the same load on this shared machine; the ratio is
the median of the ROUNDS per-round ratios, beside the median and best times of each side.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.bench_feeds import FeedHost, write_config

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv" / "bench-reader"
READER = ("reader==3.26", "sgmllib3k")  # feedparser needs sgmllib3k; some indexes omit it
FEEDS, LATENCY, ROUNDS, GOAL = 200, 0.1, 5, 1.5


def reader_python() -> Path | None:
    """The reader venv's python, made on first use; None (and a line saying why) if that fails."""
    python = VENV / "bin" / "python"
    probe = [str(python), "-c", "import reader, sgmllib; assert reader.__version__ == '3.26'"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    try:
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, capture_output=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *READER],
                       check=True, capture_output=True, text=True, timeout=600)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        print(f"   reader: could not install {READER[0]} into {VENV} (skipped): {str(detail).strip()[-300:]}")
        return None
    return python


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # both sides as installed: bytecode cached
    return env


def timed(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, env=_env(), check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)
    return time.perf_counter() - started


def main() -> None:
    python = reader_python()
    with FeedHost() as host, tempfile.TemporaryDirectory() as tmp:
        urls = host.urls(FEEDS)
        ours = [sys.executable, "bot.py", "once", "--config", str(write_config(Path(tmp) / "ours", urls))]
        theirs: list[str] = []
        if python is not None:
            (Path(tmp) / "urls.txt").write_text("\n".join(urls))
            db = str(Path(tmp) / "reader.sqlite")
            theirs = [str(python), str(ROOT / "bench" / "reader_cycle.py"), db]
            setup = subprocess.run([*theirs, str(Path(tmp) / "urls.txt")], capture_output=True, text=True)
            if setup.returncode:
                print(f"   reader: could not add the feeds (skipped): {setup.stderr.strip()[-300:]}")
                theirs = []
        host.control(delay=LATENCY, gen=1)
        timed(ours)                      # first polls (backfill) and bytecode caches: not timed
        if theirs:
            timed(theirs)
        figures: dict[str, list[float]] = {"ours new": [], "ours 304": [], "reader new": [], "reader 304": []}
        for gen in range(2, 2 + ROUNDS):
            host.control(gen=gen)
            sides = [("ours", ours), ("reader", theirs)][:: 1 if gen % 2 else -1]  # each goes first in turn
            for cycle in ("new", "304"):
                for name, argv in sides:
                    if argv:
                        figures[f"{name} {cycle}"].append(timed(argv))
        report(figures)


def report(figures: dict[str, list[float]]) -> None:
    head = f"{FEEDS} feeds, 50 hosts, {LATENCY * 1000:.0f} ms latency, whole process, {ROUNDS} rounds"
    print(f"   {head}")
    for cycle, label in (("new", "new content"), ("304", "all answer 304")):
        ours = figures[f"ours {cycle}"]
        mine = f"ours {statistics.median(ours):5.2f} s (best {min(ours):.2f})"
        theirs = figures[f"reader {cycle}"]
        if not theirs:
            print(f"     {label:16} {mine}   reader: not measured")
            continue
        ratio = statistics.median(t / o for t, o in zip(theirs, ours, strict=True))
        mark = "ok" if ratio >= GOAL else "BELOW GOAL"
        print(f"     {label:16} {mine}   reader 3.26 (20 threads) {statistics.median(theirs):5.2f} s "
              f"(best {min(theirs):.2f})   {ratio:4.2f}x  (goal >= {GOAL:g}x: {mark})")


if __name__ == "__main__":
    main()
