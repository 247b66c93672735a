"""Part of bench_feeds: end-to-end latency (feed server -> fake Slack) and peak RSS at scale.

Latency: the Service (scheduler, poll job every second, delivery) runs on one feed of the test
feed server; each round puts a new matching item on the feed, notes when the next poll fetched
it, and when the fake Slack webhook received the alert. "Beyond the poll interval" is the time
from that fetch to Slack.

Peak RSS: a subprocess builds the App for 1,000 feeds, 10,000 rules (100 files) and a state
file holding 1,000,000 seen ids, polls every feed once (new content), and reports ru_maxrss for
itself and for its parser workers.
"""

from __future__ import annotations

import asyncio
import io
import json
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.bench_feeds import ROOT, FeedHost, maxrss_mb, write_config
from policybot.app import App
from policybot.config import load_config
from policybot.scheduler import Service
from policybot.store import Store
from tests.fakes.feed_server import FeedServer
from tests.fakes.slack_api import SlackFake

ROUNDS = 5
RULES = "rules:\n  - id: gallium\n    title: Gallium\n    match: {any: [gallium]}\n    notify: [hook]\n"


def feed(n: int) -> bytes:
    items = "".join(f"<item><title>Gallium export measure {i}</title><guid>g{i}</guid></item>"
                    for i in range(n))
    head = '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
    return f"{head}{items}</channel></rss>".encode()


def latency(tmp: Path) -> None:
    server, slack = FeedServer().start(), SlackFake()
    slack.server.start()
    try:
        seconds = asyncio.run(_rounds(tmp / "e2e", server, slack))
    finally:
        slack.server.stop()
        server.stop()
    nodelay = all(r.nodelay for r in server.requests)
    mark = "ok" if max(seconds) < 2 else "ABOVE GOAL"
    print(f"   end to end, feed fetched -> Slack received ({ROUNDS} items, poll every 1 s): "
          f"median {statistics.median(seconds) * 1000:.0f} ms, max {max(seconds) * 1000:.0f} ms "
          f"(goal < 2 s: {mark}; TCP_NODELAY on the feed server: {nodelay})")


async def _rounds(folder: Path, server: FeedServer, slack: SlackFake) -> list[float]:
    folder.mkdir(parents=True)
    (folder / "rules.yaml").write_text(RULES)
    url = server.add("live", feed(1))
    (folder / "config.yaml").write_text(
        f'storage: {{path: s.db}}\nrules: [rules.yaml]\ndefaults: {{backfill: all}}\n'
        f'feeds: [{{id: live, url: "{url}", every: 1s}}]\n'
        f'destinations: {{hook: {{type: slack, webhook_url: "{slack.webhook_url()}", rate: 100}}}}\n')
    app = App(load_config(folder / "config.yaml", env={}), stream=io.StringIO())
    app.load_rules()
    service = Service(app)
    task = asyncio.create_task(service.run())
    try:
        await _wait(lambda: len(slack.all_messages()) >= 1)          # the first poll's alert
        return [await _one(server, slack, n) for n in range(2, 2 + ROUNDS)]
    finally:
        service.stopping.set()
        await task
        await app.close()


async def _one(server: FeedServer, slack: SlackFake, n: int) -> float:
    before, polls = len(slack.all_messages()), len(server.requests)
    server.add("live", feed(n))
    await _wait(lambda: len(server.requests) > polls)
    fetched = time.perf_counter()
    await _wait(lambda: len(slack.all_messages()) > before)
    return time.perf_counter() - fetched


async def _wait(condition: object, step: float = 0.002, limit: float = 30.0) -> None:
    deadline = time.perf_counter() + limit
    while not condition():  # type: ignore[operator]
        if time.perf_counter() > deadline:
            raise TimeoutError("bench: the condition never held")
        await asyncio.sleep(step)


# peak RSS ---------------------------------------------------------------------------------
FEEDS, RULE_COUNT, SEEN = 1000, 10_000, 1_000_000


def write_rules(folder: Path) -> None:
    folder.mkdir(parents=True)
    ents = "".join(f"  ent{e}: [alpha{e} beta, gamma{e}, delta{e} epsilon, zeta{e}]\n" for e in range(100))
    (folder / "00-entities.yaml").write_text("entities:\n" + ents)
    for f in range(RULE_COUNT // 100):
        rules = "".join(f"  - id: r{n}\n    title: Rule {n}\n    match: {{all: [$ent{n % 100}], "
                        f"any: [term{n} widget, gadget{n}], none: [noise{n}]}}\n"
                        for n in range(f * 100, f * 100 + 100))
        (folder / f"r{f:03}.yaml").write_text("rules:\n" + rules)


def write_seen(db: Path) -> None:
    Store(db).close()  # the schema
    con = sqlite3.connect(db)
    per_feed = SEEN // FEEDS
    rows = ((f"f{i // per_feed}", f"https://pub.example/{i}", 1.7e9, 1.7e9) for i in range(SEEN))
    con.executemany("INSERT INTO seen(feed_id, item_id, seen_at, last_present) VALUES (?,?,?,?)", rows)
    feeds = ((f"f{i}",) for i in range(FEEDS))
    con.executemany("INSERT INTO feeds(id, first_poll_done) VALUES (?, 1)", feeds)
    con.commit()
    con.close()


def peak_rss(host: FeedHost, tmp: Path) -> None:
    folder = tmp / "rss"
    write_rules(folder / "rules")
    config = write_config(folder, host.urls(FEEDS), rules=folder / "rules")
    host.control(delay=0, gen=3)
    started = time.perf_counter()
    write_seen(folder / "state.db")
    prepared = time.perf_counter() - started
    out = subprocess.run([sys.executable, "-m", "bench.bench_feeds_e2e", str(config)], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    got = json.loads(out.splitlines()[-1])
    print(f"   peak RSS, {FEEDS} feeds / {RULE_COUNT} rules / {SEEN:,} seen ids (state written in "
          f"{prepared:.0f} s): bot process {got['peak']:.0f} MB (goal <= 150 MB: "
          f"{'ok' if got['peak'] <= 150 else 'ABOVE GOAL'}); after imports {got['imports']:.0f} MB, "
          f"after rules {got['rules']:.0f} MB; each parser worker {got['workers']:.0f} MB; "
          f"poll of {FEEDS} feeds {got['seconds']:.1f} s {got['counts']}")


async def _child(config: Path) -> dict[str, object]:
    imports = maxrss_mb()
    app = App(load_config(config, env={}), stream=io.StringIO())
    app.load_rules()
    rules = maxrss_mb()
    try:
        started = time.perf_counter()
        results = await app.poll_all(force=True)
        seconds = time.perf_counter() - started
        workers = _worker_peaks(app)
    finally:
        await app.close()
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    return {"imports": imports, "rules": rules, "peak": maxrss_mb(), "workers": max(workers, default=0.0),
            "seconds": seconds, "counts": counts}


def _worker_peaks(app: App) -> list[float]:
    """VmHWM of each parser worker (forkserver's children, so RUSAGE_CHILDREN misses them)."""
    pool = getattr(app.executor, "_pool", None)
    peaks = []
    for pid in getattr(pool, "_processes", {}) or {}:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) / 1024)
    return peaks


if __name__ == "__main__":
    print(json.dumps(asyncio.run(_child(Path(sys.argv[1])))))
