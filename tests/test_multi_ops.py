"""Operating instances on PostgreSQL, through `bot.py`: `check` verifies the connection and the
schema version, `status` lists each instance and what it holds, and /healthz turns unhealthy
when the instance loses its database."""

from __future__ import annotations

import os
import re
import signal
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg

from tests.botproc import BotProcess, bot, http_get, wait_until
from tests.pgserver_fixture import fresh_database
from tests.test_e2e import RULES, feed, rss_item

DAY = timedelta(days=1)


def _config(tmp_path: Path, url: str) -> Path:
    (tmp_path / "rules").mkdir(exist_ok=True)
    (tmp_path / "rules" / "r.yaml").write_text(RULES.replace("[hook, bot, me]", "[console]"))
    config = tmp_path / "config.yaml"
    config.write_text(f'storage: {{url: "${{DATABASE_URL}}"}}\nrules: rules/\n'
                      f'feeds: [{{id: ops, url: "{url}", every: 10m}}]\nmetrics: {{port: 0}}\n')
    return config


def test_check_reports_an_unreachable_database_in_one_line(tmp_path: Path, pg_server: str) -> None:
    config = _config(tmp_path, "feed.xml")
    (tmp_path / "feed.xml").write_bytes(feed())
    url = fresh_database(pg_server)
    good = bot(config, "check", env={**os.environ, "DATABASE_URL": url})
    assert good.returncode == 0, good.stderr
    missing = url.replace("/t", "/gone_t", 1)
    bad = bot(config, "check", env={**os.environ, "DATABASE_URL": missing})
    assert bad.returncode == 1
    assert re.search(r"storage: the database at \S+/gone_t\w+ does not answer: ", bad.stderr), bad.stderr
    assert "Traceback" not in bad.stderr


def test_status_lists_instances_and_healthz_fails_without_the_database(
        tmp_path: Path, feed_server: Any, pg_server: str) -> None:
    feed_url = feed_server.add("ops", feed(rss_item("o1", "Nothing to see", DAY)))
    config = _config(tmp_path, feed_url)
    url = fresh_database(pg_server)
    env = {**os.environ, "DATABASE_URL": url}
    run = BotProcess(config, env=env)
    try:
        port = run.wait_log(r"metrics on http://[\d.]+:(\d+)/metrics").split(":")[-1].split("/")[0]
        wait_until(lambda: len(feed_server.requests_to("ops")) == 1, what="the first poll")
        with psycopg.connect(url) as conn:
            wait_until(lambda: conn.execute("SELECT COUNT(*) FROM instances").fetchone()[0] == 1,
                       what="the heartbeat")
        status = bot(config, "status", env=env)
        assert status.returncode == 0, status.stderr
        assert "Instances (1):" in status.stdout
        line = next(x for x in status.stdout.splitlines() if f" {run.pid} " in x)
        assert "1 feed polls" in line
        assert http_get(f"http://127.0.0.1:{port}/healthz")[0] == 200
        name = url.partition("?")[0].rsplit("/", 1)[1]
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        wait_until(lambda: http_get(f"http://127.0.0.1:{port}/healthz")[0] == 503, what="/healthz unhealthy")
    finally:
        run.signal(signal.SIGTERM)
        run.wait()
