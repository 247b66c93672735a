"""The event loop never waits on PostgreSQL: the store's work runs on its one database thread
(Store.run), a statement asked from the loop's thread is refused, and `bot.py run` keeps
answering /healthz while a statement of its own waits on a lock another session holds; once
the lock is let go, the waiting work completes."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import threading
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from policybot.app import App
from policybot.config import load_config
from policybot.pgconn import OnEventLoop, PgConnection
from policybot.scheduler import PROBE_PATIENCE, Service
from policybot.store import Store
from tests.botproc import BotProcess, http_get, wait_until
from tests.pgserver_fixture import fresh_database
from tests.test_chat_commands import write_config
from tests.test_e2e import RULES, feed, rss_item


async def test_a_statement_from_the_event_loop_is_refused(pg_server: str) -> None:
    db = await asyncio.to_thread(PgConnection, fresh_database(pg_server))
    try:
        with pytest.raises(OnEventLoop, match="Store.run"):
            db.execute("SELECT 1")
        with pytest.raises(OnEventLoop):
            db.executemany("SELECT ?", [(1,)])
        assert await asyncio.to_thread(lambda: db.execute("SELECT 1").fetchone()[0]) == 1
    finally:
        await asyncio.to_thread(db.close)


async def test_store_work_runs_on_one_thread_in_order(pg_server: str) -> None:
    store = await asyncio.to_thread(Store, fresh_database(pg_server))
    try:
        threads: list[int] = []

        def take(n: int) -> int:
            threads.append(threading.get_ident())
            return int(store.db.execute("SELECT ?", (n,)).fetchone()[0])

        results = await asyncio.gather(*(store.run(take, n) for n in range(20)))
        assert results == list(range(20))
        assert len(set(threads)) == 1 and threads[0] != threading.get_ident()
        assert not store.inline
    finally:
        await store.aclose()


async def test_sqlite_store_work_runs_inline(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    try:
        assert store.inline
        assert await store.run(threading.get_ident) == threading.get_ident()
        with pytest.raises(ZeroDivisionError):
            await store.run(lambda: 1 / 0)
    finally:
        await store.aclose()


def _config(tmp_path: Path, feed_url: str, slack_api: Any) -> Path:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "r.yaml").write_text(RULES.replace("[hook, bot, me]", "[bot]"))
    config = tmp_path / "config.yaml"
    config.write_text(f"""\
storage: {{url: "${{DATABASE_URL}}"}}
rules: rules/
feeds: [{{id: locked, url: "{feed_url}", every: 10m}}]
delivery: {{interval: 1s}}
metrics: {{port: 0}}
destinations:
  bot: {{type: slack, token: xoxb-test, channel: C0123ABCD, api_url: "{slack_api.api_url}"}}
""")
    return config


def _waiting(watch: psycopg.Connection[Any]) -> list[int]:
    """The sessions of this database waiting on a lock (the bot's statement held up)."""
    rows = watch.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                         "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()").fetchall()
    return [r[0] for r in rows]


def test_bot_answers_healthz_while_its_database_statement_waits_on_a_lock(
        tmp_path: Path, feed_server: Any, slack_api: Any, pg_server: str) -> None:
    url = fresh_database(pg_server)
    feed_url = feed_server.add("locked", feed(rss_item(
        "l1", "Rare earth export control notice", timedelta(minutes=1))), etag=True)
    run = BotProcess(_config(tmp_path, feed_url, slack_api), env={**os.environ, "DATABASE_URL": url})
    try:
        port = run.wait_log(r"metrics on http://[\d.]+:(\d+)/metrics").split(":")[-1].split("/")[0]
        wait_until(lambda: len(slack_api.messages("C0123ABCD")) == 1, what="the first alert")
        with psycopg.connect(url, autocommit=True) as watch, psycopg.connect(url) as locker:
            # one transaction: the alert due again, and the outbox locked against every reader
            locker.execute("UPDATE outbox SET state = 'pending', due = 0")
            locker.execute("LOCK TABLE outbox IN ACCESS EXCLUSIVE MODE")
            wait_until(lambda: len(_waiting(watch)) == 1, what="the bot's delivery pass held up")
            held = _waiting(watch)
            assert http_get(f"http://127.0.0.1:{port}/healthz")[0] == 200          # the loop answers ...
            assert _waiting(watch) == held        # ... while its statement still waits
            assert len(slack_api.messages("C0123ABCD")) == 1
            locker.commit()
        wait_until(lambda: len(slack_api.messages("C0123ABCD")) == 2, what="the held-up pass delivers")
        assert http_get(f"http://127.0.0.1:{port}/healthz")[0] == 200
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as resp:  # noqa: S310
            assert "policybot_outbox_pending 0" in resp.read().decode()   # read on the database thread
    finally:
        run.signal(signal.SIGTERM)
        run.wait()
    assert "OnEventLoop" not in run.log_text() and "Traceback" not in run.log_text()


def test_chat_commands_on_postgresql_run_off_the_loop(tmp_path: Path, telegram_api: Any,
                                                      pg_server: str) -> None:
    """Each command's store work (subscriptions, a /watch and the rules rebuilt with it, a mute
    and its release) goes through Store.run: the guard would refuse any of it on the loop."""
    config = write_config(tmp_path, telegram_url=telegram_api.url)
    config.write_text(config.read_text().replace("storage: {path: state.db}",
                                                 'storage: {url: "${DATABASE_URL}"}'))
    url = fresh_database(pg_server)
    run = BotProcess(config, env={**os.environ, "DATABASE_URL": url})
    person = 123456789
    commands = ["/subscribe tariffs", "/watch gallium antimony", "/mute 1h", "/unmute", "/list"]
    try:
        run.wait_log("this instance polls getUpdates")
        for n, text in enumerate(commands, 1):
            telegram_api.push_message(person, text, from_id=person)
            assert len(telegram_api.wait_for(person, n, timeout=30)) >= n, text
        listing = telegram_api.messages(person)[-1]["text"]
        assert "tariffs" in listing and "gallium" in listing
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT COUNT(*) FROM watches").fetchone()[0] == 1
    finally:
        run.signal(signal.SIGTERM)
        run.wait()
    assert "OnEventLoop" not in run.log_text() and "Traceback" not in run.log_text()


async def test_healthz_says_when_the_database_stops_answering(tmp_path: Path, pg_server: str) -> None:
    """/healthz never waits on the server: it answers from the last probe, and a probe left
    unanswered for PROBE_PATIENCE (a hung server; the clock is the test's) makes it unhealthy."""
    config = write_config(tmp_path)
    config.write_text(config.read_text().replace("storage: {path: state.db}",
                                                 'storage: {url: "${DATABASE_URL}"}'))
    env = {"DATABASE_URL": fresh_database(pg_server)}
    app = await asyncio.to_thread(App, load_config(config, env=env), stream=io.StringIO())
    await app.store.run(app.load_rules)
    service = Service(app, asyncio.Event())
    now = [0.0]
    service.clock = lambda: now[0]
    task = asyncio.create_task(service.run())
    hang = threading.Event()
    try:
        await asyncio.wait_for(service.ready.wait(), 60)
        assert service.problem() is None
        await asyncio.gather(*[p for p in [service._probing] if p is not None])  # noqa: SLF001
        held = app.store.run(hang.wait)       # the database thread waits, as on a hung server
        assert service.problem() is None      # a probe starts behind it; the last one was fine
        now[0] += PROBE_PATIENCE + 1
        assert "state database: no answer for 31 s" == service.problem()
        hang.set()
        await held
        await asyncio.gather(*[p for p in [service._probing] if p is not None])  # noqa: SLF001
        assert service.problem() is None
    finally:
        hang.set()
        service.stopping.set()
        await task
        await app.close()
