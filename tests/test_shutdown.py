"""The pieces of a prompt stop, in-process: the send gate (sends in flight finish within
SEND_WAIT, no new one starts) and the chat supervisor (connects in the background, tries a
platform that failed again on its next kick, and cancels an attempt under way on stop)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from policybot.chat import CHAT_RETRY_SECONDS, ChatSupervisor
from policybot.model import Alert
from policybot.scheduler import Service
from policybot.shutdown import SEND_WAIT, SendGate
from tests.fakes.slack_api import APP_TOKEN
from tests.test_chat_commands import alert, make_world


class ScriptedNotifier:
    """A Notifier whose sends finish when the test says so."""

    name = "scripted"

    def __init__(self) -> None:
        self.started: list[str] = []
        self.finished: list[str] = []
        self.release = asyncio.Event()

    async def send(self, alert: Alert) -> None:
        self.started.append(alert.alert_id)
        await self.release.wait()
        self.finished.append(alert.alert_id)

    async def send_digest(self, alerts: Sequence[Alert]) -> None:
        for one in alerts:
            await self.send(one)

    async def close(self) -> None:
        return None


def test_the_stop_bounds_are_named_and_sane() -> None:
    assert 0 < SEND_WAIT <= 30   # a stop under systemd's TimeoutStopSec (60 s) with room to spare
    assert CHAT_RETRY_SECONDS >= 10


async def test_a_send_in_flight_finishes_and_no_new_one_starts() -> None:
    gate, inner = SendGate(), ScriptedNotifier()
    notifier = gate.wrap(inner)
    first = asyncio.create_task(notifier.send(alert(1)))
    await asyncio.sleep(0)   # one loop turn: the send is under way
    closing = asyncio.create_task(gate.close(wait=SEND_WAIT))
    await asyncio.sleep(0)
    later = asyncio.create_task(notifier.send(alert(2)))
    inner.release.set()
    assert await closing is True
    await first
    assert not later.done()              # waits at the gate, never reaching the platform
    later.cancel()
    with pytest.raises(asyncio.CancelledError):
        await later
    assert inner.finished == [alert(1).alert_id] and inner.started == [alert(1).alert_id]


async def test_a_send_that_outlasts_the_bound_is_cut_off(caplog: pytest.LogCaptureFixture) -> None:
    gate, inner = SendGate(), ScriptedNotifier()   # never released: it would hang forever
    task = asyncio.create_task(gate.wrap(inner).send(alert(1)))
    await asyncio.sleep(0)
    assert await gate.close(wait=0.01) is False
    assert "1 sends still in flight" in caplog.text
    task.cancel()


async def test_the_supervisor_retries_a_platform_until_it_connects(
        tmp_path: Path, slack_api: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    world = make_world(tmp_path, slack_url=slack_api.api_url, app_token="xapp-1-not-yet")
    chats = ChatSupervisor(world.app)
    try:
        await chats.kick()
        await asyncio.wait_for(asyncio.gather(*chats._attempts.values()), 60)
        assert chats.running == [] and "slack commands not started" in caplog.text
        slack_api.socket_mode.app_tokens.add("xapp-1-not-yet")   # the platform is back
        await chats.kick()
        await asyncio.wait_for(asyncio.gather(*chats._attempts.values()), 60)
        assert len(chats.running) == 1 and slack_api.socket_mode.connected.wait(60)
    finally:
        await chats.stop()
        await world.app.close()
    assert caplog.text.count("ERROR") == 1   # the first failure is an error, the retries are not


async def test_stopping_cancels_a_connection_attempt_under_way(tmp_path: Path, slack_api: Any) -> None:
    slack_api.socket_mode.hold()
    world = make_world(tmp_path, slack_url=slack_api.api_url, app_token=APP_TOKEN)
    service = Service(world.app, asyncio.Event())
    task = asyncio.create_task(service.run())
    try:
        await asyncio.wait_for(service.ready.wait(), 60)
        await asyncio.to_thread(slack_api.socket_mode.open_requested.wait, 60)
        service.stopping.set()
        await asyncio.wait_for(task, 60)   # not held by the hanging apps.connections.open
    finally:
        slack_api.socket_mode.release()
        await world.app.close()
    assert service.chats.running == [] and not slack_api.socket_mode.connected.is_set()
