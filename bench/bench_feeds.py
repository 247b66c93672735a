"""Watching many feeds: policybot's poll cycle against a sequential `feedparser.parse(url)` loop
over the same local feeds, in the same run, plus end-to-end latency and peak memory.

    python -m bench bench_feeds

The feeds come from bench/feedhost.py in its own process: 500 feeds on 50 loopback addresses
(127.0.0.2 ... 127.0.0.51, ten feeds per "publisher"), with TCP_NODELAY. Ours is App.poll_all
as `run` and `once` use it: the shipped rules, a SQLite state file, the parser pool.
"""

from __future__ import annotations

import asyncio
import io
import json
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import Executor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import feedparser

from policybot.app import App
from policybot.config import load_config
from policybot.pipeline import ParserPool

ROOT = Path(__file__).resolve().parents[1]
HOSTS = 50
FEEDS = 500
LATENCY = 0.1
ROUNDS = 3


class FeedHost:
    """bench/feedhost.py in a subprocess; closing its stdin stops it."""

    def __enter__(self) -> FeedHost:
        self.proc = subprocess.Popen([sys.executable, "-m", "bench.feedhost", str(HOSTS)], cwd=ROOT,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.bases: list[str] = json.loads(self.proc.stdout.readline())["bases"]
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=10)

    def urls(self, n: int) -> list[str]:
        return [f"{self.bases[i % HOSTS]}/f/{i}" for i in range(n)]

    def control(self, **values: float) -> None:
        query = "&".join(f"{k}={v}" for k, v in values.items())
        request = urllib.request.Request(f"{self.bases[0]}/control?{query}", method="POST")
        urllib.request.urlopen(request).read()

    def stats(self) -> dict[str, int]:
        with urllib.request.urlopen(f"{self.bases[0]}/stats") as resp:
            return dict(json.loads(resp.read()))


def write_config(folder: Path, urls: list[str], rules: Path = ROOT / "rules") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    feeds = "".join(f'  - {{id: f{i}, url: "{url}"}}\n' for i, url in enumerate(urls))
    path = folder / "config.yaml"
    path.write_text(f"storage: {{path: state.db}}\nrules: \"{rules}\"\ndefaults: {{every: 10m}}\n"
                    f"feeds:\n{feeds}destinations: {{console: {{type: console}}}}\n")
    return path


def make_app(config: Path, executor: Executor | None = None) -> App:
    app = App(load_config(config, env={}), stream=io.StringIO(), executor=executor)
    app.load_rules()
    return app


def baseline(urls: list[str], validators: dict[str, tuple[Any, Any]] | None = None
             ) -> tuple[float, dict[str, tuple[Any, Any]], dict[int, int]]:
    """The loop: feedparser.parse(url) one after another (with etag/modified on a 304 cycle)."""
    seen: dict[str, tuple[Any, Any]] = {}
    statuses: dict[int, int] = {}
    started = time.perf_counter()
    for url in urls:
        etag, modified = (validators or {}).get(url, (None, None))
        result = feedparser.parse(url, etag=etag, modified=modified)
        seen[url] = (result.get("etag"), result.get("modified"))
        statuses[result.get("status", 0)] = statuses.get(result.get("status", 0), 0) + 1
    return time.perf_counter() - started, seen, statuses


async def timed_poll(app: App) -> tuple[float, dict[str, int]]:
    started = time.perf_counter()
    results = await app.poll_all(force=True)
    seconds = time.perf_counter() - started
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    return seconds, counts


def _best(pairs: list[tuple[float, float]]) -> tuple[float, float]:
    return min(p[0] for p in pairs), min(p[1] for p in pairs)


def row(label: str, loop: float, ours: float, goal: float, detail: str = "") -> None:
    ratio = loop / ours
    mark = "ok" if ratio >= goal else "BELOW GOAL"
    print(f"   {label:34} loop {loop:7.2f} s   ours {ours:6.2f} s   {ratio:6.1f}x  "
          f"(goal >= {goal:g}x: {mark}) {detail}")


def cycles(host: FeedHost, tmp: Path) -> None:
    urls = host.urls(FEEDS)
    app = make_app(write_config(tmp / "cycles", urls))
    with asyncio.Runner() as runner:
        try:
            host.control(delay=LATENCY, gen=1)
            loop_s, _, _ = baseline(urls)
            ours_s, counts = runner.run(timed_poll(app))
            row(f"{FEEDS} feeds, {LATENCY * 1000:.0f} ms latency, new", loop_s, ours_s, 10, str(counts))
            best: dict[str, list[tuple[float, float]]] = {"new": [], "304": []}
            for gen in range(2, 2 + ROUNDS):  # best of a few rounds: this machine is shared
                host.control(delay=0, gen=gen)
                loop_s, validators, _ = baseline(urls)
                ours_s, new_counts = runner.run(timed_poll(app))
                best["new"].append((loop_s, ours_s))
                loop_s, _, statuses = baseline(urls, validators)
                ours_s, counts = runner.run(timed_poll(app))
                best["304"].append((loop_s, ours_s))
            row(f"{FEEDS} feeds, no latency, new", *_best(best["new"]), 2, f"{new_counts}, best of {ROUNDS}")
            row(f"{FEEDS} feeds, next cycle all 304", *_best(best["304"]), 5,
                f"{counts} loop {statuses}, best of {ROUNDS}")
        finally:
            runner.run(app.close())
    stats = host.stats()
    print(f"   feed host: {stats['requests']} requests, {stats['without_nodelay']} without TCP_NODELAY")


def pool_or_thread(host: FeedHost, tmp: Path) -> None:
    """Where the process pool starts to pay (fresh pool: its start-up is part of the cost)."""
    print("   parse in a thread vs a fresh process pool (one cycle, new content, no latency):")
    for n in (1, 4, 8, 16, 64):
        times = {}
        for kind in ("thread", "pool"):
            executor: Executor = ThreadPoolExecutor(1) if kind == "thread" else ParserPool()
            app = make_app(write_config(tmp / f"{kind}{n}", host.urls(n)), executor)
            with asyncio.Runner() as runner:
                times[kind], _ = runner.run(timed_poll(app))
                runner.run(app.close())
            executor.shutdown()
        thread, pool = times["thread"] * 1000, times["pool"] * 1000
        print(f"     {n:3} feeds: thread {thread:6.0f} ms, pool {pool:6.0f} ms")


def main() -> None:
    from bench.bench_feeds_e2e import latency, peak_rss

    with FeedHost() as host, tempfile.TemporaryDirectory() as tmp:
        cycles(host, Path(tmp))
        pool_or_thread(host, Path(tmp))
        latency(Path(tmp))
        peak_rss(host, Path(tmp))


def maxrss_mb() -> float:
    """This process's peak RSS. VmHWM, not getrusage: Linux carries ru_maxrss across exec, so a
    child started from a big parent would report the parent's peak as its own."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    main()
