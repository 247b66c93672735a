"""APScheduler jobs on the bot's one event loop: a poll job per feed, delivery, rule reload.

The scheduler schedules; nothing here sleeps in a loop. `run` returns after SIGINT/SIGTERM
once the sends in flight have finished (at most SEND_WAIT s); the rest stays in the outbox.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from policybot.app import App
from policybot.chat import CHAT_RETRY_SECONDS, ChatSupervisor, release_mutes
from policybot.console.app import Console
from policybot.leases import (
    FEED_LEASE_FACTOR,
    HEARTBEAT_SECONDS,
    LEADER_RENEW_SECONDS,
    POLL_LEASE_SECONDS,
)
from policybot.metrics import MetricsServer
from policybot.notify.base import utcnow
from policybot.prune import prune_state
from policybot.shutdown import SEND_WAIT, StopSignals

log = logging.getLogger(__name__)

RULES_CHECK_SECONDS = 2.0
PRUNE_SECONDS = 3600.0
MUTES_SECONDS = 60.0    # a mute that ran out sends its summary within a minute
HEALTH_SECONDS = 600.0
PROBE_SECONDS = 5.0     # /healthz's view of a database server is at most this old (and a request's)
PROBE_PATIENCE = 30.0   # a probe unanswered this long: /healthz says the server does not answer


SCHEDULER_LOG = "apscheduler.scheduler"


class SkippedRunIsNormal(logging.Filter):
    """APScheduler warns `Execution of job "..." skipped: maximum number of running instances
    reached` when a job is due while its last run goes on. For our jobs that is normal (a
    delivery pass waiting out rate limits, a slow feed): `max_instances=1` is the design, and
    the next run comes. The record is demoted to DEBUG: shown only when that logger is at DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        if str(record.msg).startswith('Execution of job "%s" skipped: maximum number of running'):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


SKIPPED_RUN_IS_NORMAL = SkippedRunIsNormal()


class Service:
    def __init__(self, app: App, stopping: asyncio.Event | None = None) -> None:
        self.app = app
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self.stopping_given = stopping is not None
        self.stopping = stopping or asyncio.Event()   # set it to stop `run`
        self.chats = ChatSupervisor(app)
        self.ready = asyncio.Event()      # set once the jobs (and the metrics server) are up
        self.metrics: MetricsServer | None = None
        self.console: Console | None = None
        self._jobs: set[asyncio.Task[object]] = set()
        self._halt = threading.Event()    # set on stop: a prune under way ends after its chunk
        self._db_problem: str | None = None           # the database's last known health
        self._probing: asyncio.Task[None] | None = None
        self._probe_started = 0.0
        self.clock: Callable[[], float] = time.monotonic   # tests pass their own

    def schedule(self) -> None:
        start = utcnow()
        feeds = self.app.config.feeds
        for index, feed in enumerate(feeds):
            # first polls spread over a few seconds so a big config does not stampede
            first = start + timedelta(seconds=min(index * 0.05, 10.0))
            self.scheduler.add_job(
                self.poll, "interval", seconds=feed.every, args=[feed.id], id=f"poll:{feed.id}",
                max_instances=1, coalesce=True, jitter=min(feed.every * 0.1, 60.0),
                next_run_time=first, misfire_grace_time=None)
        delivery = self.app.config.delivery
        self.scheduler.add_job(self.deliver, "interval", seconds=delivery.interval,
                               id="deliver", max_instances=1, coalesce=True)
        self.scheduler.add_job(self.reload_rules, "interval", seconds=RULES_CHECK_SECONDS,
                               id="rules", max_instances=1, coalesce=True)
        self.scheduler.add_job(self.prune, "interval", seconds=PRUNE_SECONDS, id="prune",
                               max_instances=1, coalesce=True, next_run_time=start)
        self.scheduler.add_job(self.check_health, "interval", seconds=HEALTH_SECONDS, id="health",
                               max_instances=1, coalesce=True, next_run_time=start)
        self.scheduler.add_job(release_mutes, "interval", seconds=MUTES_SECONDS, args=[self.app],
                               id="mutes", max_instances=1, coalesce=True)
        if not self.app.store.inline:   # /healthz answers from the last probe (see `problem`)
            self.scheduler.add_job(self.kick_probe, "interval", seconds=PROBE_SECONDS, id="probe",
                                   max_instances=1, coalesce=True, next_run_time=start)
        if self.app.store.shared:
            self.scheduler.add_job(self.heartbeat, "interval", seconds=HEARTBEAT_SECONDS,
                                   id="heartbeat", max_instances=1, coalesce=True, next_run_time=start)
            self.scheduler.add_job(self.chats.lead, "interval", seconds=LEADER_RENEW_SECONDS,
                                   id="leader", max_instances=1, coalesce=True, next_run_time=start)

    async def poll(self, feed_id: str) -> None:
        with self._tracked():
            if self.app.store.shared and not await self._feed_lease(feed_id):
                return
            result = await self.app.poll_feed(feed_id)
            if self.app.store.shared:   # polled: nobody polls it again this cycle
                await self._lease(f"feed:{feed_id}", self.app.feed(feed_id).every * FEED_LEASE_FACTOR)
            if result.alerts:
                await self.app.deliver()

    async def _feed_lease(self, feed_id: str) -> bool:
        """Shared state: poll only a feed no other instance polled this cycle. The lease lasts
        POLL_LEASE_SECONDS while the poll is under way, most of the feed's interval once it is
        done; a feed whose poller may yet die is tried again when that lease ends. Its row is
        read afresh (another instance may have written it)."""
        name = f"feed:{feed_id}"
        store = self.app.store
        if await self._lease(name, POLL_LEASE_SECONDS):
            await store.run(store.forget_feed, feed_id)
            return True
        try:
            expires = await store.run(store.lease_expires, name)
        except sqlite3.Error:
            return False
        if expires is not None and expires - utcnow().timestamp() <= POLL_LEASE_SECONDS:
            self.scheduler.add_job(self.poll, "date", args=[feed_id], id=f"retry:{feed_id}",
                                   run_date=datetime.fromtimestamp(expires + 1.0, UTC),
                                   replace_existing=True, misfire_grace_time=None)
        return False

    async def _lease(self, name: str, seconds: float) -> bool:
        store = self.app.store
        try:
            return await store.run(store.take_lease, name, self.app.instance, utcnow().timestamp(), seconds)
        except sqlite3.Error as exc:
            log.warning("%s skipped: state database: %s", name, exc)
            return False

    async def heartbeat(self) -> None:
        try:
            await self.app.store.run(self.app.store.heartbeat, self.app.instance, utcnow().timestamp())
        except sqlite3.Error as exc:
            log.warning("heartbeat not recorded: state database: %s", exc)

    async def deliver(self) -> None:
        with self._tracked():
            await self.app.deliver()

    @contextmanager
    def _tracked(self) -> Iterator[None]:
        """Polls and delivery passes under way: shutdown cancels them (see `shutdown`); the
        cancelled job ends quietly (APScheduler would log it as a crash)."""
        task = asyncio.current_task()
        assert task is not None
        self._jobs.add(task)
        try:
            yield
        except asyncio.CancelledError:
            if not self.stopping.is_set():
                raise
            log.debug("%s cancelled: the bot is stopping", task.get_name())
        finally:
            self._jobs.discard(task)

    async def reload_rules(self) -> None:
        await self.app.store.run(self.app.rules.reload_if_changed)   # /watch rules: in the store

    async def prune(self) -> None:
        """In a worker thread, on its own connection, in short transactions (prune.py)."""
        if self.app.store.shared and not await self._lease("prune", PRUNE_SECONDS * FEED_LEASE_FACTOR):
            return    # another instance prunes the shared state this hour
        with self._tracked():   # on stop: `_halt` ends the thread's work after its chunk
            store = self.app.store
            await store.run(store.flush_feeds)
            gone = await asyncio.to_thread(prune_state, store.location, utcnow().timestamp(),
                                           self.app.config.retention, halt=self._halt)
            if gone:
                log.info("pruned %d items gone from their feeds for longer than the retention", gone)

    async def check_health(self) -> None:
        if self.app.store.shared and not await self._lease("health", HEALTH_SECONDS * FEED_LEASE_FACTOR):
            return    # another instance reports the blind spots this time
        await self.app.store.run(self.app.check_health)

    def problem(self) -> str | None:
        """/healthz: None when the scheduler runs, the state file is the one opened and answers,
        and delivery is not stopped (a state it cannot record); else what is wrong. A database
        server is never waited on here: its health is the last probe's (a new one starts)."""
        if not self.scheduler.running:
            return "scheduler not running"
        if self.app.store.inline:
            problem = self.app.store.problem()
        else:
            self._kick()
            problem = self._db_problem or self._unanswered()
        if problem is None and self.app.delivery.fault is not None:
            problem = f"delivery stopped: {self.app.delivery.fault}"
        return problem

    async def kick_probe(self) -> None:
        self._kick()

    def _kick(self) -> None:
        """Probe the database in the background, unless a probe is under way (a hung server
        holds one probe, not one per request)."""
        if self._probing is None or self._probing.done():
            self._probe_started = self.clock()
            self._probing = asyncio.get_running_loop().create_task(self._probe())

    def _unanswered(self) -> str | None:
        """A server that stopped answering (a hung network) leaves the probe waiting."""
        waited = self.clock() - self._probe_started
        if self._probing is not None and not self._probing.done() and waited > PROBE_PATIENCE:
            return f"state database: no answer for {waited:.0f} s"
        return None

    async def _probe(self) -> None:
        self._db_problem = await self.app.store.run(self.app.store.problem)

    async def run(self) -> None:
        """Until `stopping` is set (StopSignals sets it on SIGINT/SIGTERM). Nothing here waits
        for a chat platform: they connect in the background while the polls start."""
        signals = None if self.stopping_given else StopSignals(self.stopping).install()
        try:
            if not self.stopping.is_set():
                await self._start()
                await self.stopping.wait()
        finally:
            await self.shutdown()
            if signals is not None:
                signals.remove()

    async def _start(self) -> None:
        logging.getLogger(SCHEDULER_LOG).addFilter(SKIPPED_RUN_IS_NORMAL)  # once: same object
        self.schedule()
        self.scheduler.add_job(self.chats.kick, "interval", seconds=CHAT_RETRY_SECONDS, id="chats",
                               max_instances=1, coalesce=True, next_run_time=utcnow())
        self.scheduler.start()
        if self.app.config.metrics_port is not None:
            self.metrics = MetricsServer(self.app.metrics_text, self.problem)
            await self.metrics.start(self.app.config.metrics_port, self.app.config.metrics_host)
        if self.app.config.console is not None:
            self.console = Console(self.app)
            await self.console.start(self.app.config.console.port, self.app.config.console.host)
        self.ready.set()
        rules = self.app.rules.ruleset.rules if self.app.rules.ruleset else ()
        watches = len(self.app.rules.rules_by_id) - len(rules)   # the chats' personal /watch
        log.info("policybot running: %d feeds, %d rules, %d personal watches; Ctrl-C stops",
                 len(self.app.config.feeds), len(rules), watches)

    async def shutdown(self) -> None:
        """Sends in flight finish (at most SEND_WAIT s); every other job is cancelled. A poll
        commits in one synchronous transaction, so a cancelled poll leaves nothing half-done,
        and a cancelled delivery pass leaves its unsent alerts pending in the outbox."""
        log.info("stopping: letting the sends in flight finish; the rest stays in the outbox")
        self._halt.set()
        if self.scheduler.running:
            self.scheduler.pause()
        await self.app.gate.close(SEND_WAIT)
        jobs = [t for t in self._jobs if not t.done()]
        for task in jobs:
            task.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if self.metrics is not None:
            await self.metrics.stop()
        if self.console is not None:
            await self.console.stop()
        await self.chats.stop()
        if self._probing is not None:
            await asyncio.gather(self._probing, return_exceptions=True)
        if self.app.store.shared:
            await self._leave()

    async def _leave(self) -> None:
        """A clean stop hands this instance's jobs over at once (a killed one's expire)."""
        store = self.app.store
        try:
            await store.run(store.release_leases, self.app.instance)
            await store.run(store.forget_instance, self.app.instance)
        except sqlite3.Error as exc:
            log.warning("leases left to expire: state database: %s", exc)
