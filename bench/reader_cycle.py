"""One lemon24/reader update cycle as its own process, run by the reader venv's Python:

    .venv/bench-reader/bin/python bench/reader_cycle.py DB [URLS_FILE]

With URLS_FILE: add those feeds (setup, not timed by the bench). Without: make_reader(DB) and
update_feeds(workers=20, scheduled=False), which is what the bench times as a whole process.
"""

import sys

from reader import make_reader

WORKERS = 20


def main() -> None:
    reader = make_reader(sys.argv[1])
    if len(sys.argv) > 2:
        with open(sys.argv[2]) as handle:
            for url in handle.read().split():
                reader.add_feed(url, exist_ok=True)
        return
    reader.update_feeds(workers=WORKERS, scheduled=False)  # every feed, as `once` polls every feed
    reader.close()


if __name__ == "__main__":
    main()
