"""make bench: every benchmark, each figure printed beside its baseline from the same run."""

from __future__ import annotations

import importlib
import sys
import time

BENCHES = ("bench.bench_startup", "bench.bench_parse", "bench.bench_engine", "bench.bench_feeds",
           "bench.bench_reader", "bench.bench_prune", "bench.bench_console", "bench.bench_stories",
           "bench.bench_pg")


def main(argv: list[str]) -> int:
    wanted = [f"bench.{name}" for name in argv] or list(BENCHES)
    for name in wanted:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            print(f"== {name}: not available ({exc})")
            continue
        print(f"== {name}")
        started = time.perf_counter()
        module.main()
        print(f"   ({time.perf_counter() - started:.1f} s)\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
