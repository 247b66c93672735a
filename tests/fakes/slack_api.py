"""A fake Slack: Web API (chat.postMessage, auth.test) and incoming webhooks on 127.0.0.1.

It checks requests the way Slack does: the Bearer token, the channel, the arguments named in
Slack's OpenAPI description of chat.postMessage (tests/data/shared/slack/), and Block Kit
(tests/fakes/slack_blocks.py). What it accepts is recorded per channel or per webhook.

    fake.fail_next(2, status=429, retry_after=1)      # rate limited twice
    fake.fail_next(error="channel_not_found")         # a permanent error
    fake.fail_next(status=500)  /  fake.fail_next(delay=2.0)

Socket Mode: `apps.connections.open` (app-level xapp- token) answers with a ws:// URL on this
server; the WebSocket sends `hello`, then whatever envelopes the test pushes, and records the
acks the client sends back (with how long each took):

    envelope_id = fake.send_slash_command(text="subscribe rare-earths", channel_id="C0123ABCD")
    ack = await fake.wait_ack(envelope_id, within=3.0)   # or fake.ack(envelope_id) in sync code
    ack.payload == {"response_type": "ephemeral", "text": "..."}; ack.seconds < 3

`LocalServer` (an aiohttp app in a daemon thread with its own loop) is shared with the
Telegram fake.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from aiohttp import web

from tests.fakes.slack_blocks import block_error, rich_elements, specials  # noqa: F401 - the fake's checks, re-exported

SPEC = Path(__file__).resolve().parents[1] / "data/shared/slack/slack_web_openapi_v2.chat_subset.json"
TOKEN = "xoxb-test"
APP_TOKEN = "xapp-1-A0FAKE-1-test"
CHANNELS = ("C0123ABCD", "C0TESTCHAN", "general")
# chat.postMessage arguments newer than the published description, or absent from it
EXTRA_ARGS = {"token", "metadata", "markdown_text", "icon_emoji", "icon_url"}
FALLBACK_ARGS = {"as_user": "string", "attachments": "string", "blocks": "string",
                 "channel": "string", "link_names": "boolean", "mrkdwn": "boolean",
                 "parse": "string", "reply_broadcast": "boolean", "text": "string",
                 "thread_ts": "string", "unfurl_links": "boolean", "unfurl_media": "boolean",
                 "username": "string"}


class LocalServer:
    """An aiohttp.web app served on 127.0.0.1, port 0, from a daemon thread and its own loop."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        self.lock = threading.Lock()
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=0.5)
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)

    async def _start(self) -> None:
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()


@dataclass
class Failure:
    status: int | None = None        # HTTP status to answer with
    error: str | None = None         # Slack error string (HTTP 200 ok:false on the Web API)
    retry_after: float | str | None = None   # a str goes into the header as written ("1e400")
    delay: float = 0.0               # seconds to wait before answering


@dataclass
class Request:
    path: str
    args: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def load_spec(path: Path = SPEC) -> tuple[dict[str, str], set[str], set[str]]:
    """chat.postMessage (argument -> type, required arguments, documented errors)."""
    try:
        op = json.loads(path.read_text())["paths"]["/chat.postMessage"]["post"]
    except (OSError, ValueError, KeyError):
        return dict(FALLBACK_ARGS), {"channel"}, set()
    params = {p["name"]: p.get("type", "string") for p in op["parameters"]}
    required = {p["name"] for p in op["parameters"] if p.get("required") and p["in"] != "header"}
    errors = op["responses"]["default"]["schema"]["properties"]["error"].get("enum", [])
    return params, required, set(errors)


@dataclass(frozen=True)
class Ack:
    envelope_id: str
    payload: dict[str, Any] | None
    seconds: float                   # from the envelope's send to its ack


class SocketModeFake:
    """apps.connections.open, the /link/ WebSocket, envelopes pushed by the test, acks."""

    def __init__(self, lock: threading.Lock) -> None:
        self.lock = lock
        self.app_tokens = {APP_TOKEN}
        self.loop: asyncio.AbstractEventLoop | None = None   # the server's, set by SlackFake
        self.opened = 0                                     # apps.connections.open calls
        self.connected = threading.Event()
        self.acks: dict[str, Ack] = {}
        self._tickets: set[str] = set()
        self._sockets: list[web.WebSocketResponse] = []     # server loop only
        self._sent_at: dict[str, float] = {}
        self._waiting: dict[str, concurrent.futures.Future[Ack]] = {}
        self.open_requested = threading.Event()             # apps.connections.open was asked
        self._held = False
        self._release: asyncio.Event | None = None          # server loop only

    def hold(self) -> None:
        """apps.connections.open answers nothing until `release()` (a Slack that hangs)."""
        self._held = True

    def release(self) -> None:
        assert self.loop is not None
        self._held = False
        if self._release is not None:
            self.loop.call_soon_threadsafe(self._release.set)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/api/apps.connections.open", self._open)
        app.router.add_get("/link/", self._link)
        app.on_shutdown.append(self._close_all)

    # ------------------------------------------------------------ test-facing API
    def send_slash_command(self, command: str = "/policybot", text: str = "",
                           channel_id: str = "C0123ABCD", user_id: str = "U0USER",
                           timeout: float = 5.0) -> str:
        """Push a `slash_commands` envelope to the connected client; returns its envelope_id."""
        envelope_id = str(uuid.uuid4())
        payload = {"token": "verification-token", "team_id": "T0FAKE", "team_domain": "fake",
                   "channel_id": channel_id, "channel_name": "channel", "user_id": user_id,
                   "user_name": "someone", "command": command, "text": text,
                   "api_app_id": "A0FAKE", "is_enterprise_install": "false",
                   "response_url": "https://hooks.slack.invalid/commands/T0FAKE/1/x",
                   "trigger_id": "1.2.3"}
        self.send_envelope({"envelope_id": envelope_id, "type": "slash_commands",
                            "accepts_response_payload": True, "payload": payload}, timeout)
        return envelope_id

    def send_envelope(self, envelope: dict[str, Any], timeout: float = 5.0) -> None:
        if not self.connected.wait(timeout):
            raise AssertionError("no Socket Mode client is connected")
        assert self.loop is not None
        with self.lock:
            self._sent_at[envelope["envelope_id"]] = time.monotonic()
            self._waiting.setdefault(envelope["envelope_id"], concurrent.futures.Future())
        asyncio.run_coroutine_threadsafe(self._push(json.dumps(envelope)), self.loop).result(timeout)

    async def wait_ack(self, envelope_id: str, within: float = 3.0) -> Ack:
        """Await (from any event loop) the client's ack; TimeoutError after `within` s."""
        return await asyncio.wait_for(asyncio.wrap_future(self._future(envelope_id)), within)

    def ack(self, envelope_id: str, timeout: float = 3.0) -> Ack:
        """The same, blocking (for sync tests)."""
        return self._future(envelope_id).result(timeout)

    def _future(self, envelope_id: str) -> concurrent.futures.Future[Ack]:
        with self.lock:
            return self._waiting.setdefault(envelope_id, concurrent.futures.Future())

    # ------------------------------------------------------------ server side
    async def _open(self, request: web.Request) -> web.Response:
        body = dict(parse_qsl(await request.text())) | dict(request.query)
        auth = request.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else body.get("token")
        with self.lock:
            self.opened += 1
        self.open_requested.set()
        if self._held:
            self._release = self._release or asyncio.Event()
            await self._release.wait()
        if not token:
            return web.json_response({"ok": False, "error": "not_authed"})
        if not token.startswith("xapp-"):
            return web.json_response({"ok": False, "error": "not_allowed_token_type"})
        if token not in self.app_tokens:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        ticket = uuid.uuid4().hex
        with self.lock:
            self._tickets.add(ticket)
        return web.json_response({"ok": True, "url": f"ws://{request.host}/link/?ticket={ticket}"})

    async def _link(self, request: web.Request) -> web.StreamResponse:
        with self.lock:
            known = request.query.get("ticket") in self._tickets
            self._tickets.discard(request.query.get("ticket", ""))
        if not known:
            return web.Response(status=401, text="invalid ticket")
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_json({"type": "hello", "num_connections": len(self._sockets),
                            "debug_info": {"host": "fake", "approximate_connection_time": 3600},
                            "connection_info": {"app_id": "A0FAKE"}})
        self.connected.set()
        try:
            async for message in ws:
                if message.type == web.WSMsgType.TEXT:
                    self._record(message.data)
        finally:
            self._sockets.remove(ws)
            if not self._sockets:
                self.connected.clear()
        return ws

    def _record(self, data: str) -> None:
        try:
            reply = json.loads(data)
        except ValueError:
            return
        if not isinstance(reply, dict) or "envelope_id" not in reply:
            return
        envelope_id = str(reply["envelope_id"])
        with self.lock:
            sent = self._sent_at.get(envelope_id, time.monotonic())
            ack = Ack(envelope_id, reply.get("payload"), time.monotonic() - sent)
            self.acks[envelope_id] = ack
            future = self._waiting.setdefault(envelope_id, concurrent.futures.Future())
        if not future.done():
            future.set_result(ack)

    async def _push(self, text: str) -> None:
        if not self._sockets:
            raise AssertionError("the Socket Mode client disconnected")
        await self._sockets[-1].send_str(text)

    async def _close_all(self, app: web.Application) -> None:
        if self._release is not None:
            self._release.set()
        for ws in list(self._sockets):
            await ws.close(code=1001, message=b"server shutdown")


class SlackFake:
    def __init__(self) -> None:
        self.tokens = {TOKEN}
        self.channels = set(CHANNELS)
        self.webhooks = {"alerts"}
        self.params, self.required, self.errors = load_spec()
        self.socket_mode = SocketModeFake(threading.Lock())
        self.server = LocalServer(self._app())
        self.lock = self.server.lock
        self.socket_mode.lock = self.lock
        self.socket_mode.loop = self.server.loop
        self.requests: list[Request] = []
        self.posted: dict[str, list[dict[str, Any]]] = {}
        self.updates: list[dict[str, Any]] = []   # chat.update calls accepted, in order
        self._failures: list[Failure] = []
        self.post_arrived = threading.Event()     # a message post reached the fake (maybe still slow)

    # ------------------------------------------------------------ test-facing API
    @property
    def url(self) -> str:
        return self.server.url

    @property
    def api_url(self) -> str:
        return self.server.url + "/api/"

    def webhook_url(self, name: str = "alerts") -> str:
        return f"{self.server.url}/webhook/{name}"

    def fail_next(self, n: int = 1, *, status: int | None = None, error: str | None = None,
                  retry_after: float | str | None = None, delay: float = 0.0) -> None:
        """The next `n` message posts (Web API or webhook) fail as told."""
        with self.lock:
            self._failures += [Failure(status, error, retry_after, delay) for _ in range(n)]

    def messages(self, target: str) -> list[dict[str, Any]]:
        """What was accepted for a channel id or "webhook:<name>"."""
        with self.lock:
            return list(self.posted.get(target, []))

    def replies(self, target: str, ts: str) -> list[dict[str, Any]]:
        """Messages posted in the thread of message `ts` (their thread_ts)."""
        return [m for m in self.messages(target) if m.get("thread_ts") == ts]

    def updated(self, target: str) -> list[dict[str, Any]]:
        """chat.update calls accepted for a channel (each: channel, ts, text, blocks)."""
        with self.lock:
            return [u for u in self.updates if u["channel"] == target]

    def all_messages(self) -> list[dict[str, Any]]:
        with self.lock:
            return [m for msgs in self.posted.values() for m in msgs]

    def send_slash_command(self, command: str = "/policybot", text: str = "",
                           channel_id: str = "C0123ABCD", user_id: str = "U0USER") -> str:
        return self.socket_mode.send_slash_command(command, text, channel_id, user_id)

    async def wait_ack(self, envelope_id: str, within: float = 3.0) -> Ack:
        return await self.socket_mode.wait_ack(envelope_id, within)

    # ------------------------------------------------------------ server side
    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/chat.postMessage", self._post_message)
        app.router.add_route("*", "/api/auth.test", self._auth_test)
        app.router.add_post("/api/chat.update", self._update)
        app.router.add_post("/webhook/{name:.+}", self._webhook)
        self.socket_mode.add_routes(app)
        return app

    def _take_failure(self) -> Failure | None:
        with self.lock:
            return self._failures.pop(0) if self._failures else None

    async def _args(self, request: web.Request) -> dict[str, Any] | None:
        body = await request.text()
        if request.content_type == "application/json":
            try:
                data = json.loads(body or "{}")
            except ValueError:
                return None
            return data if isinstance(data, dict) else None
        args: dict[str, Any] = dict(parse_qsl(body)) | dict(request.query)
        if isinstance(args.get("blocks"), str):
            try:
                args["blocks"] = json.loads(args["blocks"])
            except ValueError:
                args["blocks"] = "not json"
        return args

    def _token(self, request: web.Request, args: dict[str, Any]) -> str | None:
        auth = request.headers.get("Authorization", "")
        return auth[7:] if auth.startswith("Bearer ") else args.get("token")

    async def _auth_test(self, request: web.Request) -> web.Response:
        args = await self._args(request) or {}
        token = self._token(request, args)
        if not token:
            return web.json_response({"ok": False, "error": "not_authed"})
        if token not in self.tokens:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        return web.json_response({"ok": True, "url": "https://fake.slack.com/", "team": "Fake",
                                  "user": "policybot", "team_id": "T0FAKE", "user_id": "U0FAKE",
                                  "bot_id": "B0FAKE0001"})

    async def _post_message(self, request: web.Request) -> web.Response:
        args = await self._args(request)
        if args is None:
            return web.json_response({"ok": False, "error": "invalid_json"})
        self.post_arrived.set()
        failure = self._take_failure()
        if failure:
            await asyncio.sleep(failure.delay)
            if failure.status or failure.error:
                return self._api_failure(failure)
        with self.lock:
            self.requests.append(Request("chat.postMessage", args, dict(request.headers)))
        token = self._token(request, args)
        error = "not_authed" if not token else "invalid_auth" if token not in self.tokens \
            else self._check_message(args)
        if error:
            return web.json_response({"ok": False, "error": error})
        return web.json_response(self._accept(str(args["channel"]), args))

    async def _update(self, request: web.Request) -> web.Response:
        """chat.update: the message `ts` of `channel`, posted by this bot, gets new text/blocks.
        Errors as Slack words them: message_not_found, cant_update_message, no_text ..."""
        args = await self._args(request)
        if args is None:
            return web.json_response({"ok": False, "error": "invalid_json"})
        failure = self._take_failure()
        if failure and (failure.status or failure.error):
            return self._api_failure(failure)
        token = self._token(request, args)
        channel, ts = str(args.get("channel", "")), str(args.get("ts", ""))
        error = "not_authed" if not token else "invalid_auth" if token not in self.tokens \
            else "channel_not_found" if channel not in self.channels \
            else self._check_content(args)
        with self.lock:
            self.requests.append(Request("chat.update", args, dict(request.headers)))
            target = next((m for m in self.posted.get(channel, []) if m.get("ts") == ts), None)
            if error is None and target is None:
                error = "message_not_found" if ts else "invalid_arguments"
            if error:
                return web.json_response({"ok": False, "error": error})
            target.update(text=args.get("text", ""), blocks=args.get("blocks", []), edited=True)
            self.updates.append({"channel": channel, "ts": ts, "text": args.get("text", ""),
                                 "blocks": args.get("blocks", [])})
        return web.json_response({"ok": True, "channel": channel, "ts": ts,
                                  "text": args.get("text", ""),
                                  "message": {"text": args.get("text", ""), "bot_id": "B0FAKE0001"}})

    def _api_failure(self, failure: Failure) -> web.Response:
        headers = _retry_after(failure)
        status = failure.status or 200
        if status >= 500:
            return web.Response(status=status, text="<html>Internal Server Error</html>",
                                content_type="text/html", headers=headers)
        error = failure.error or ("ratelimited" if status == 429 else "request_failed")
        return web.json_response({"ok": False, "error": error}, status=status, headers=headers)

    def _check_message(self, args: dict[str, Any]) -> str | None:
        for name, value in args.items():
            if name not in self.params and name not in EXTRA_ARGS:
                return "invalid_arg_name"
            if self.params.get(name) == "boolean" and value not in (True, False, "true",
                                                                    "false", "1", "0"):
                return "invalid_arguments"
        if any(name not in args for name in self.required):
            return "channel_not_found"
        if str(args["channel"]) not in self.channels:
            return "channel_not_found"
        return self._check_content(args)

    def _check_content(self, args: dict[str, Any]) -> str | None:
        text, blocks = args.get("text"), args.get("blocks")
        if not text and not blocks:
            return "no_text"
        if text is not None and (not isinstance(text, str) or len(text) > 40000):
            return "msg_too_long"
        if blocks is not None and block_error(blocks):
            return "invalid_blocks"
        return None

    def _accept(self, target: str, args: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            msgs = self.posted.setdefault(target, [])
            ts = f"{1700000000 + len(self.requests):010d}.{len(msgs) + 1:06d}"
            msgs.append({**args, "ts": ts})
        message = {"type": "message", "text": args.get("text", ""), "ts": ts,
                   "bot_id": "B0FAKE0001", "blocks": args.get("blocks", [])}
        return {"ok": True, "channel": target, "ts": ts, "message": message}

    async def _webhook(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        body = await request.text()
        failure = self._take_failure()
        if failure:
            await asyncio.sleep(failure.delay)
            if failure.status or failure.error:
                return self._webhook_failure(failure)
        with self.lock:
            self.requests.append(Request(f"webhook/{name}", {"body": body}))
        if name not in self.webhooks:
            return web.Response(status=404, text="no_service")
        try:
            payload = json.loads(body)
        except ValueError:
            return web.Response(status=400, text="invalid_payload")
        error = self._check_content(payload) if isinstance(payload, dict) else "invalid_payload"
        if error:
            return web.Response(status=400, text="invalid_blocks" if error == "invalid_blocks"
                                else "invalid_payload" if error != "no_text" else "no_text")
        self._accept(f"webhook:{name}", payload)
        return web.Response(text="ok")

    def _webhook_failure(self, failure: Failure) -> web.Response:
        headers = _retry_after(failure)
        status = failure.status or {"channel_not_found": 404, "channel_is_archived": 410,
                                    "action_prohibited": 403}.get(failure.error or "", 400)
        text = failure.error or ("rate_limited" if status == 429 else "internal_error")
        return web.Response(status=status, text=text, headers=headers)


def _retry_after(failure: Failure) -> dict[str, str]:
    value = failure.retry_after
    if isinstance(value, str):
        return {"Retry-After": value}
    return {"Retry-After": f"{value:g}"} if value else {}


@pytest.fixture
def slack_api() -> Iterator[SlackFake]:
    fake = SlackFake()
    fake.server.start()
    yield fake
    fake.server.stop()
