"""PostgreSQL faults through `bot.py`, as an operator meets them: a server that accepts and
never answers (the connect timeout: one line, exit 1), a database that stops taking
connections under a running instance (delivery stops, /healthz and the
policybot_delivery_stopped gauge say so, `status` prints one line naming the server and exits
1), and the note of that fault in the instance's row once the database answers again."""

from __future__ import annotations

import os
import re
import signal
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from policybot.pgconn import CONNECT_TIMEOUT, server_of
from policybot.store import Store
from tests.botproc import BotProcess, bot, http_get, wait_until
from tests.pgserver_fixture import fresh_database
from tests.test_e2e import feed, rss_item
from tests.test_multi_ops import DAY, _config

PASSWORD = "s3cretpw"


class BlackHole:
    """A TCP listener on 127.0.0.1 that accepts every connection and never says a word."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self) -> None:
        self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self._thread.join(10)
        for conn in self.held:
            conn.close()


@pytest.fixture
def black_hole() -> Iterator[BlackHole]:
    hole = BlackHole()
    yield hole
    hole.close()


def test_a_server_that_never_answers_is_one_line_after_the_connect_timeout(
        tmp_path: Path, black_hole: BlackHole) -> None:
    """`check` and `status` give up after CONNECT_TIMEOUT (the subprocess deadline is only a
    generous guard against a hang), in one line naming the server, never the password."""
    assert 1 <= CONNECT_TIMEOUT <= 10
    config = _config(tmp_path, "feed.xml")
    (tmp_path / "feed.xml").write_bytes(feed())
    url = f"postgresql://policybot:{PASSWORD}@127.0.0.1:{black_hole.port}/teamdb"
    env = {**os.environ, "DATABASE_URL": url}
    for command in ("check", "status"):
        done = bot(config, command, env=env, timeout=60)
        said = done.stdout + done.stderr
        assert done.returncode == 1, said
        assert "Traceback" not in said and PASSWORD not in said
        [line] = [x for x in done.stderr.splitlines() if x.strip()]
        assert line.startswith(f"{config}: storage: the database at 127.0.0.1:{black_hole.port}/teamdb "
                               "does not answer: "), line
        assert "timeout" in line
    assert len(black_hole.held) >= 2     # both reached the listener and waited on it


def test_server_of_names_host_and_database_only() -> None:
    assert server_of(f"postgresql://bot:{PASSWORD}@db.internal:5433/team?sslmode=require") == \
        "db.internal:5433/team"
    assert server_of("postgresql://postgres:@/t1?host=/tmp/pg") == "/tmp/pg/t1"


def test_an_instance_notes_its_fault_in_its_row(pg_server: str) -> None:
    store = Store(fresh_database(pg_server))
    try:
        store.heartbeat("h:1:ab", 100.0)
        store.note_fault("delivery stopped: state database: gone", "h:1:ab", 200.0)
        assert store.noted_fault() == "instance h:1:ab: 1970-01-01 00:03:20 UTC delivery stopped: " \
            "state database: gone"
        store.note_fault(None, "h:1:ab", 260.0)
        [one] = store.instances()
    finally:
        store.close()
    assert (one.fault, one.fault_over) == ("1970-01-01 00:03:20 UTC delivery stopped: state database: gone",
                                           260.0)


def _allow(pg_server: str, name: str, allowed: bool) -> None:
    """Let the database take connections or not; refusing, cut the ones it has."""
    with psycopg.connect(pg_server, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allowed).lower()}')
        if not allowed:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                          (name,))


def test_a_lost_database_stops_delivery_status_says_where_and_the_row_keeps_the_note(
        tmp_path: Path, feed_server: Any, pg_server: str) -> None:
    feed_url = feed_server.add("ops", feed(rss_item("o1", "Nothing to see", DAY)))
    config = _config(tmp_path, feed_url)
    config.write_text(config.read_text() + "delivery: {interval: 1s}\n")
    url = fresh_database(pg_server).replace("postgres:@", f"postgres:{PASSWORD}@", 1)
    name = url.partition("?")[0].rsplit("/", 1)[1]
    env = {**os.environ, "DATABASE_URL": url}
    run = BotProcess(config, env=env)
    try:
        port = run.wait_log(r"metrics on http://[\d.]+:(\d+)/metrics").split(":")[-1].split("/")[0]
        with psycopg.connect(url) as conn:
            wait_until(lambda: conn.execute("SELECT COUNT(*) FROM instances").fetchone()[0] == 1,
                       what="the heartbeat")
        _allow(pg_server, name, False)
        run.wait_log("delivery stopped, nothing is sent until it can be recorded: state database: ")
        health, text = http_get(f"http://127.0.0.1:{port}/healthz")
        # the last probe's word or delivery's, whichever saw the loss first: both name the database
        assert health == 503 and re.match(r"(delivery stopped: )?state database: ", text), text
        assert "policybot_delivery_stopped 1" in http_get(f"http://127.0.0.1:{port}/metrics")[1].splitlines()
        down = bot(config, "status", env=env)
        assert down.returncode == 1 and "Traceback" not in down.stderr and PASSWORD not in down.stderr
        [line] = [x for x in down.stderr.splitlines() if x.strip()]
        assert re.match(rf"{re.escape(str(config))}: storage: the database at \S+/{name} does not answer: ",
                        line), line
        _allow(pg_server, name, True)
        run.wait_log("delivery resumed")
        with psycopg.connect(url) as conn:
            wait_until(lambda: conn.execute("SELECT fault_over FROM instances").fetchone()[0] is not None,
                       what="the fault noted with its end")
        status = bot(config, "status", env=env)
    finally:
        run.signal(signal.SIGTERM)
        run.wait()
    assert status.returncode == 0, status.stderr
    assert status.stdout.startswith("State: ok\n") and PASSWORD not in status.stdout
    row = next(x for x in status.stdout.splitlines() if f" {run.pid} " in x)
    assert re.search(r"\d\d:\d\d UTC delivery stopped: state database: .*; resumed \d{4}-", row), row
