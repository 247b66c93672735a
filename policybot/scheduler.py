"""APScheduler jobs on the bot's one event loop: a poll job per feed, delivery, rule reload.

The scheduler schedules; nothing here sleeps in a loop. `run` returns after SIGINT/SIGTERM
once the delivery pass in flight has finished.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import UTC, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from policybot.app import App
from policybot.chat import release_mutes, start_chats, stop_chats
from policybot.metrics import MetricsServer
from policybot.notify.base import utcnow

log = logging.getLogger(__name__)

RULES_CHECK_SECONDS = 2.0
PRUNE_SECONDS = 3600.0
MUTES_SECONDS = 60.0    # a mute that ran out sends its summary within a minute
HEALTH_SECONDS = 600.0
STOP_WAIT = 35.0   # polls in flight get this long to finish (the fetch timeout is 30 s)


class Service:
    def __init__(self, app: App) -> None:
        self.app = app
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self.stopping = asyncio.Event()
        self.ready = asyncio.Event()      # set once the jobs (and the metrics server) are up
        self.metrics: MetricsServer | None = None
        self._polls: set[asyncio.Task[object]] = set()

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
        self.scheduler.add_job(self.app.deliver, "interval", seconds=delivery.interval,
                               id="deliver", max_instances=1, coalesce=True)
        self.scheduler.add_job(self.reload_rules, "interval", seconds=RULES_CHECK_SECONDS,
                               id="rules", max_instances=1, coalesce=True)
        self.scheduler.add_job(self.prune, "interval", seconds=PRUNE_SECONDS, id="prune",
                               max_instances=1, coalesce=True, next_run_time=start)
        self.scheduler.add_job(self.check_health, "interval", seconds=HEALTH_SECONDS, id="health",
                               max_instances=1, coalesce=True, next_run_time=start)
        self.scheduler.add_job(release_mutes, "interval", seconds=MUTES_SECONDS, args=[self.app],
                               id="mutes", max_instances=1, coalesce=True)

    async def poll(self, feed_id: str) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._polls.add(task)
        try:
            result = await self.app.poll_feed(feed_id)
            if result.alerts:
                await self.app.deliver()
        finally:
            self._polls.discard(task)  # type: ignore[arg-type]

    async def reload_rules(self) -> None:
        self.app.rules.reload_if_changed()

    async def prune(self) -> None:
        gone = self.app.store.prune(utcnow().timestamp(), self.app.config.retention)
        if gone:
            log.info("pruned %d items gone from their feeds for longer than the retention", gone)

    async def check_health(self) -> None:
        self.app.check_health()

    def problem(self) -> str | None:
        """/healthz: None when the scheduler runs, the state file is the one opened and answers,
        and delivery is not stopped (a state it cannot record); else what is wrong."""
        if not self.scheduler.running:
            return "scheduler not running"
        problem = self.app.store.problem()
        if problem is None and self.app.delivery.fault is not None:
            problem = f"delivery stopped: {self.app.delivery.fault}"
        return problem

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.stopping.set)
        self.schedule()
        self.scheduler.start()
        chats = await start_chats(self.app)
        if self.app.config.metrics_port is not None:
            self.metrics = MetricsServer(self.app.metrics_text, self.problem)
            await self.metrics.start(self.app.config.metrics_port, self.app.config.metrics_host)
        self.ready.set()
        log.info("policybot running: %d feeds, %d rules; Ctrl-C stops",
                 len(self.app.config.feeds), len(self.app.rules.rules_by_id))
        try:
            await self.stopping.wait()
        finally:
            log.info("stopping: finishing the polls and sends in flight")
            self.scheduler.pause()
            if self._polls:
                await asyncio.wait(set(self._polls), timeout=STOP_WAIT)
            self.scheduler.shutdown(wait=False)
            if self.metrics is not None:
                await self.metrics.stop()
            await stop_chats(chats)
            async with self.app.delivery.lock:  # the delivery pass in flight completes
                pass
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
