"""Start-up of the CLI commands people wait for, as whole processes, beside `python -c pass`.

    python -m bench bench_startup

Each command runs RUNS times as `python bot.py ...` (after one warm-up run, which also writes
the bytecode cache as any installed copy has it); the best wall time (the run least disturbed
on this shared machine; the median beside it) is printed in ms and as a ratio to the best of
`python -c pass` measured in the same run. Goal: a command that
touches no platform (`check` on a console-only config, `status`, `test-rules` on a local file)
starts and finishes in <= 250 ms.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.feedhost import rss
from policybot.store import Store

ROOT = Path(__file__).resolve().parents[1]
RUNS = 15
GOAL_MS = 250.0


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # measure an installed copy: bytecode cached
    return env


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Best and median wall time of RUNS runs, in ms (after a warm-up run)."""
    subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, check=True)
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, check=True)
        times.append((time.perf_counter() - started) * 1000)
    return min(times), statistics.median(times)


def prepare(folder: Path) -> Path:
    (folder / "feed.xml").write_bytes(rss(3, 1))
    Store(folder / "state.db").close()
    config = folder / "config.yaml"
    config.write_text(f'storage: {{path: "{folder / "state.db"}"}}\nrules: "{ROOT / "rules"}"\n'
                      'defaults: {notify: [console]}\n'
                      'feeds: [{id: local, url: "https://127.0.0.1:9/feed.xml"}]\n'
                      "destinations: {console: {type: console}}\n")
    return config


def main() -> None:
    env = _env()
    with tempfile.TemporaryDirectory() as tmp:
        config = prepare(Path(tmp))
        base, base_mid = timed([sys.executable, "-c", "pass"], env)
        print(f"   python -c pass: {base:.0f} ms (best of {RUNS}; median {base_mid:.0f} ms)")
        bot = [sys.executable, "bot.py"]
        commands = {
            "bot.py --version": [*bot, "--version"],
            "check (console only)": [*bot, "check", "--config", str(config)],
            "status": [*bot, "status", "--config", str(config)],
            "test-rules FILE": [*bot, "test-rules", "--config", str(config), str(Path(tmp) / "feed.xml")],
        }
        for label, argv in commands.items():
            ms, mid = timed(argv, env)
            goal = "" if label.endswith("--version") else \
                f"(goal <= {GOAL_MS:.0f} ms: {'ok' if ms <= GOAL_MS else 'ABOVE GOAL'})"
            print(f"   {label:22} {ms:6.0f} ms (median {mid:4.0f})  {ms / base:5.1f}x python -c pass  {goal}")


if __name__ == "__main__":
    main()
