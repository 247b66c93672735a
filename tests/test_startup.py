"""Start-up: a command imports only what it uses.

Structural, not timed: each command runs as `python -X importtime bot.py ...` and the test reads
the modules it imported. A command that touches no platform must not load the chat clients
(python-telegram-bot, slack-sdk), the scheduler, or (check, status, test-rules on a file) the
HTTP client; `make bench` (bench/bench_startup.py) measures the time this saves.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from policybot.matching import normalize
from policybot.store import Store
from tests.fakes.feed_server import FeedServer

ROOT = Path(__file__).resolve().parents[1]
PLATFORM = {"telegram", "slack_sdk", "apscheduler", "policybot.chat", "policybot.scheduler",
            "policybot.notify.slack", "policybot.notify.telegram"}
HTTP = {"aiohttp", "policybot.feeds.fetch", "policybot.app"}
FEED = ('<?xml version="1.0"?><rss version="2.0"><channel><title>Notices</title><item>'
        "<title>China restricts gallium exports: export licence required</title><guid>g1</guid>"
        "</item></channel></rss>")


def imported(tmp_path: Path, *args: str) -> tuple[set[str], subprocess.CompletedProcess[str]]:
    """Run `python -X importtime bot.py ARGS`; the top-level packages and policybot modules it loaded."""
    proc = subprocess.run([sys.executable, "-X", "importtime", str(ROOT / "bot.py"), *args],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    modules = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            modules.add(name)
            modules.add(name.split(".")[0])
    return modules, proc


def console_config(tmp_path: Path, url: str = "https://127.0.0.1:9/feed.xml") -> Path:
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - id: gallium\n    title: Gallium\n    match: {any: [gallium, 稀土]}\n")
    config = tmp_path / "config.yaml"
    config.write_text(f'storage: {{path: state/s.db}}\nrules: [rules.yaml]\ndefaults: {{backfill: all}}\n'
                      f'feeds: [{{id: notices, url: "{url}"}}]\n'
                      "destinations: {console: {type: console}}\n")
    return config


def test_check_on_a_console_config_loads_no_platform_and_no_http_client(tmp_path: Path) -> None:
    console_config(tmp_path)
    modules, proc = imported(tmp_path, "check", "--config", "config.yaml")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "ok: 1 feed" in proc.stdout
    assert "policybot.matching.rules" in modules          # the harness does see our imports
    assert "asyncio" not in modules                       # no event loop either
    assert not modules & (PLATFORM | HTTP | {"feedparser"}), modules & (PLATFORM | HTTP | {"feedparser"})


def test_status_and_test_rules_on_a_file_load_no_platform_and_no_http_client(tmp_path: Path) -> None:
    console_config(tmp_path)
    (tmp_path / "state").mkdir()
    Store(tmp_path / "state" / "s.db").close()
    (tmp_path / "feed.xml").write_text(FEED)
    modules, proc = imported(tmp_path, "status", "--config", "config.yaml")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "notices" in proc.stdout
    assert not modules & (PLATFORM | HTTP | {"asyncio"})
    modules, proc = imported(tmp_path, "test-rules", "--config", "config.yaml", "feed.xml", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout.splitlines()[0])["rules"] == ["gallium"]
    assert "feedparser" in modules
    assert not modules & (PLATFORM | HTTP)


def test_once_with_console_destinations_loads_no_chat_client_nor_scheduler(tmp_path: Path) -> None:
    (tmp_path / "feed.xml").write_text(FEED)
    console_config(tmp_path, url=str(tmp_path / "feed.xml"))
    modules, proc = imported(tmp_path, "once", "--config", "config.yaml")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "China restricts gallium exports" in proc.stdout    # the alert, on the console
    assert "policybot.app" in modules
    assert not modules & PLATFORM, modules & PLATFORM


def test_a_cycle_of_304s_loads_no_feed_parser(tmp_path: Path, feed_server: FeedServer) -> None:
    console_config(tmp_path, url=feed_server.add("notices", FEED.encode(), etag=True))
    modules, proc = imported(tmp_path, "once", "--config", "config.yaml")
    assert proc.returncode == 0 and "feedparser" in modules, proc.stderr[-2000:]
    modules, proc = imported(tmp_path, "once", "--config", "config.yaml")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "if-none-match" in feed_server.requests[-1].headers  # the second run got a 304 ...
    assert "feedparser" not in modules                  # ... and never loaded the parser
    assert not modules & PLATFORM


def test_version_loads_no_command(tmp_path: Path) -> None:
    modules, proc = imported(tmp_path, "--version")
    assert proc.returncode == 0 and proc.stdout.startswith("policybot ")
    assert "policybot.commands" not in modules and "asyncio" not in modules


def test_the_shipped_fold_tables_are_a_fresh_build_of_this_environment() -> None:
    """fold_tables.json is what normalize would build here; if not, regenerate it with
    `python -m policybot.matching.normalize` (after an OpenCC or Python upgrade)."""
    shipped = json.loads(normalize.SHIPPED.read_text(encoding="utf-8"))
    assert shipped["key"] == normalize._tables_key()
    assert normalize._tables() == normalize._build()
    assert normalize.normalize("出口許可 乾淨 ＲＥＥ").text == "出口许可 干净 ree"
