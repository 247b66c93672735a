"""A fake Telegram Bot API on 127.0.0.1: /bot<token>/<method> for getMe, sendMessage,
setMyCommands, getUpdates (long poll), getChatMember, getChatAdministrators, deleteWebhook,
answerCallbackQuery and a few no-ops.

sendMessage parses HTML the way Telegram does and answers with Telegram's own errors:
`Bad Request: can't parse entities: ...` for unknown or unbalanced tags and bad entities,
`Bad Request: message is too long` past 4096 UTF-16 units, `Bad Request: chat not found`,
401 `Unauthorized` for a wrong token. Accepted messages are recorded per chat id with their
visible text and entities (bold, text_link with its url...).

    fake.fail_next(status=429, retry_after=3)   # Too Many Requests: retry after 3
    fake.fail_next(status=500) / fake.fail_next(status=403) / fake.fail_next(delay=2.0)
    fake.push_message(123456789, "/subscribe rare-earths", from_id=42)   # for getUpdates
    fake.push_message(-100123, "/mute 1h", anonymous=True)  # an anonymous admin, as the group
    fake.set_member(-100123, 42, "administrator")   # getChatMember's answer (default: member)

Chat ids below zero are groups (-100... supergroups); getChatMember answers in Telegram's
ChatMember shapes (creator, administrator with its can_* rights, member, left, kicked).
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import pytest
from aiohttp import web

from tests.fakes.slack_api import LocalServer

TOKEN = "123456:TEST-token"
CHAT_ID = 123456789
MAX_LEN = 4096
BOT = {"id": 123456, "is_bot": True, "first_name": "policybot", "username": "policybot_test_bot",
       "can_join_groups": True, "can_read_all_group_messages": False,
       "supports_inline_queries": False}
TAGS = {"b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
        "ins": "underline", "s": "strikethrough", "strike": "strikethrough",
        "del": "strikethrough", "a": "text_link", "code": "code", "pre": "pre",
        "tg-spoiler": "spoiler", "span": "spoiler", "blockquote": "blockquote",
        "tg-emoji": "custom_emoji"}
TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)"
                 r"((?:\s+[a-zA-Z-]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*)\s*>")
ATTR = re.compile(r"([a-zA-Z-]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
ENTITY = re.compile(r"&(lt|gt|amp|quot|#[0-9]+|#x[0-9a-fA-F]+);")
ANONYMOUS_ADMIN = {"id": 1087968824, "is_bot": True, "first_name": "Group",
                   "username": "GroupAnonymousBot"}
ADMIN_RIGHTS = ("can_be_edited", "can_manage_chat", "can_delete_messages", "can_manage_video_chats",
                "can_restrict_members", "can_promote_members", "can_change_info",
                "can_invite_users", "can_post_stories", "can_edit_stories", "can_delete_stories",
                "can_pin_messages", "can_manage_topics")
DEFAULT_WORDS = {429: "Too Many Requests: retry after {n}", 500: "Internal Server Error",
                 403: "Forbidden: bot was blocked by the user", 400: "Bad Request: chat not found"}


class ParseError(ValueError):
    """Why Telegram would say "can't parse entities"."""


def u16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Telegram's HTML parse mode: (visible text, entities); raises ParseError."""
    text, entities, stack, pos = "", [], [], 0
    while pos < len(source):
        char = source[pos]
        if char == "<":
            tag = TAG.match(source, pos)
            if not tag:
                raise ParseError(f"unexpected character '<' at byte offset {_byte(source, pos)}")
            _tag(tag, source, text, stack, entities)
            pos = tag.end()
        elif char == "&":
            ent = ENTITY.match(source, pos)
            if not ent:
                raise ParseError(f"unsupported HTML entity at byte offset {_byte(source, pos)}")
            text += html.unescape(ent.group(0))
            pos = ent.end()
        else:
            text += char
            pos += 1
    if stack:
        raise ParseError(f'can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return text, sorted(entities, key=lambda e: e["offset"])


def _byte(source: str, pos: int) -> int:
    return len(source[:pos].encode())


def _tag(tag: re.Match[str], source: str, text: str, stack: list[Any],
         entities: list[dict[str, Any]]) -> None:
    closing, name = tag.group(1) == "/", tag.group(2).lower()
    if name not in TAGS:
        where = _byte(source, tag.start())
        kind = "end" if closing else "start"
        raise ParseError(f'unsupported {kind} tag "{name}" at byte offset {where}')
    if not closing:
        attrs = {m.group(1): m.group(2) or m.group(3) or "" for m in ATTR.finditer(tag.group(3))}
        stack.append((name, u16(text), {k: html.unescape(v) for k, v in attrs.items()}))
        return
    if not stack or stack[-1][0] != name:
        raise ParseError(f'unmatched end tag at byte offset {_byte(source, tag.start())}, '
                         f'expected "</{stack[-1][0] if stack else ""}>", found "</{name}>"')
    _, offset, attrs = stack.pop()
    entity: dict[str, Any] = {"type": TAGS[name], "offset": offset, "length": u16(text) - offset}
    if name == "a":
        entity["url"] = attrs.get("href", "")
        if not re.match(r"(?i)(https?|tg|mailto)://?", entity["url"]):
            entity["type"] = "unsupported_url"   # Telegram drops such links: never clickable
    if entity["length"] > 0:
        entities.append(entity)


@dataclass
class Failure:
    status: int | None
    retry_after: float | None        # inf and nan go out as JSON Infinity / NaN
    description: str | None
    delay: float
    methods: tuple[str, ...]


class TelegramFake:
    def __init__(self) -> None:
        self.token = TOKEN
        self.chats: dict[int, dict[str, Any]] = {CHAT_ID: _chat(CHAT_ID)}
        self.server = LocalServer(self._app())
        self.lock = self.server.lock
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.sent: dict[int, list[dict[str, Any]]] = {}
        self.edited: list[dict[str, Any]] = []
        self.commands: list[dict[str, Any]] = []
        self.members: dict[tuple[int, int], str] = {}   # (chat, user) -> status
        self._updates: list[dict[str, Any]] = []
        self._failures: list[Failure] = []
        self._next_update = 1
        self._new_update = asyncio.Event()   # used on the server loop only
        self._closing = False                # shutting down: long polls return at once

    # ------------------------------------------------------------ test-facing API
    @property
    def url(self) -> str:
        return self.server.url

    def add_chat(self, chat_id: int) -> None:
        with self.lock:
            self.chats.setdefault(chat_id, _chat(chat_id))

    def fail_next(self, n: int = 1, *, status: int | None = None, retry_after: float | None = None,
                  description: str | None = None, delay: float = 0.0,
                  methods: tuple[str, ...] = ("sendMessage",)) -> None:
        """The next `n` calls of `methods` fail as told (status 429, 500, 403, 400...)."""
        with self.lock:
            self._failures += [Failure(status, retry_after, description, delay, methods)
                               for _ in range(n)]

    def messages(self, chat_id: int | str) -> list[dict[str, Any]]:
        """Accepted messages: {"text", "html", "entities", "params"}."""
        with self.lock:
            return list(self.sent.get(int(chat_id), []))

    def set_member(self, chat_id: int, user_id: int, status: str) -> None:
        """What getChatMember says of `user_id` in `chat_id` (creator, administrator, member,
        left, kicked); unset users are members."""
        with self.lock:
            self.members[(chat_id, user_id)] = status

    def calls(self, method: str) -> list[dict[str, Any]]:
        with self.lock:
            return [params for name, params in self.requests if name == method]

    def texts(self, chat_id: int | str) -> list[str]:
        return [m["text"] for m in self.messages(chat_id)]

    def push_message(self, chat_id: int, text: str, from_id: int | None = None, *,
                     anonymous: bool = False) -> int:
        """Queue an incoming message for getUpdates; commands get a bot_command entity.
        `anonymous`: sent by an anonymous group admin (from GroupAnonymousBot, as the chat)."""
        self.add_chat(chat_id)
        with self.lock:
            update_id = self._next_update
            self._next_update += 1
            update = _update(update_id, self.chats[chat_id], text, from_id)
            if anonymous:
                update["message"]["from"] = ANONYMOUS_ADMIN
                update["message"]["sender_chat"] = self.chats[chat_id]
            self._updates.append(update)
        self.server.loop.call_soon_threadsafe(self._new_update.set)
        return update_id

    def wait_for(self, chat_id: int, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Block (a sync test's thread) until `count` messages reached `chat_id`."""
        deadline = time.monotonic() + timeout
        while len(self.messages(chat_id)) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.messages(chat_id)

    # ------------------------------------------------------------ server side
    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._dispatch)
        app.on_shutdown.append(self._end_long_polls)
        return app

    async def _end_long_polls(self, app: web.Application) -> None:
        """A client that went away leaves its getUpdates waiting here: end it, so that
        stopping the server does not wait out the long poll."""
        self._closing = True
        self._new_update.set()

    def _take_failure(self, method: str) -> Failure | None:
        with self.lock:
            for i, failure in enumerate(self._failures):
                if method in failure.methods:
                    return self._failures.pop(i)
        return None

    async def _dispatch(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await _params(request)
        with self.lock:
            self.requests.append((method, params))
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        failure = self._take_failure(method)
        if failure:
            await asyncio.sleep(failure.delay)
            if failure.status:
                return _failure(failure)
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return _error(404, "Not Found")
        result: web.Response = await handler(params)
        return result

    async def _m_getMe(self, params: dict[str, Any]) -> web.Response:  # noqa: N802
        return _ok(BOT)

    async def _m_sendMessage(self, params: dict[str, Any]) -> web.Response:  # noqa: N802
        chat = self.chats.get(_int(params.get("chat_id")))
        if chat is None:
            return _error(400, "Bad Request: chat not found")
        source = str(params.get("text", ""))
        parsed = _parse_text(source, params)
        if isinstance(parsed, web.Response):
            return parsed
        text, entities = parsed
        if not text.strip():
            return _error(400, "Bad Request: message text is empty")
        if u16(text) > MAX_LEN:
            return _error(400, "Bad Request: message is too long")
        reply_to, error = self._reply_target(chat["id"], params)
        if error:
            return _error(400, error)
        with self.lock:
            msgs = self.sent.setdefault(chat["id"], [])
            msgs.append({"text": text, "html": source, "entities": entities, "params": params,
                         "reply_to": reply_to,
                         "silent": str(params.get("disable_notification", "")).lower() == "true"})
            message_id = len(msgs)
        return _ok({"message_id": message_id, "date": int(time.time()), "chat": chat,
                    "from": BOT, "text": text, "entities": entities})

    def _reply_target(self, chat_id: int, params: dict[str, Any]) -> tuple[int | None, str | None]:
        """The message replied to (reply_parameters or the older reply_to_message_id)."""
        raw = params.get("reply_parameters")
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError:
                return None, "Bad Request: can't parse reply parameters JSON object"
        if isinstance(raw, dict):
            target, lenient = _int(raw.get("message_id")), bool(raw.get("allow_sending_without_reply"))
        elif params.get("reply_to_message_id") is not None:
            target = _int(params.get("reply_to_message_id"))
            lenient = str(params.get("allow_sending_without_reply", "")).lower() == "true"
        else:
            return None, None
        with self.lock:
            exists = 1 <= target <= len(self.sent.get(chat_id, []))
        if not exists and not lenient:
            return None, "Bad Request: message to be replied not found"
        return (target if exists else None), None

    def edits(self, chat_id: int | str) -> list[dict[str, Any]]:
        """editMessageText calls accepted for a chat: {message_id, text, html}."""
        with self.lock:
            return [e for e in self.edited if e["chat_id"] == _int(chat_id)]

    async def _m_editMessageText(self, params: dict[str, Any]) -> web.Response:  # noqa: N802
        chat_id, message_id = _int(params.get("chat_id")), _int(params.get("message_id"))
        if chat_id not in self.chats:
            return _error(400, "Bad Request: chat not found")
        source = str(params.get("text", ""))
        parsed = _parse_text(source, params)
        if isinstance(parsed, web.Response):
            return parsed
        text, entities = parsed
        if u16(text) > MAX_LEN:
            return _error(400, "Bad Request: MESSAGE_TOO_LONG")
        with self.lock:
            msgs = self.sent.get(chat_id, [])
            if not 1 <= message_id <= len(msgs):
                return _error(400, "Bad Request: message to edit not found")
            msg = msgs[message_id - 1]
            if msg["html"] == source:
                return _error(400, "Bad Request: message is not modified: specified new message "
                                   "content and reply markup are exactly the same as a current "
                                   "content and reply markup of the message")
            msg.update(text=text, html=source, entities=entities)
            self.edited.append({"chat_id": chat_id, "message_id": message_id, "text": text,
                                "html": source})
        return _ok({"message_id": message_id, "date": int(time.time()), "edit_date": int(time.time()),
                    "chat": self.chats[chat_id], "from": BOT, "text": text, "entities": entities})

    async def _m_setMyCommands(self, params: dict[str, Any]) -> web.Response:  # noqa: N802
        commands = params.get("commands")
        if isinstance(commands, str):
            commands = json.loads(commands)
        if not isinstance(commands, list) or not all(
                re.fullmatch(r"[a-z0-9_]{1,32}", c.get("command", "")) for c in commands):
            return _error(400, "Bad Request: BOT_COMMAND_INVALID")
        with self.lock:
            self.commands = commands
        return _ok(True)

    async def _m_getUpdates(self, params: dict[str, Any]) -> web.Response:  # noqa: N802
        offset = _int(params.get("offset", 0))
        timeout = min(float(params.get("timeout") or 0), 10.0)
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            with self.lock:
                if offset:
                    self._updates = [u for u in self._updates if u["update_id"] >= offset]
                ready = list(self._updates)
            remaining = deadline - asyncio.get_running_loop().time()
            if ready or remaining <= 0 or self._closing:
                return _ok(ready[: _int(params.get("limit", 100)) or 100])
            self._new_update.clear()
            try:
                await asyncio.wait_for(self._new_update.wait(), remaining)
            except TimeoutError:
                pass

    async def _m_getChatMember(self, params: dict[str, Any]) -> web.Response:  # noqa: N802
        chat = self.chats.get(_int(params.get("chat_id")))
        if chat is None:
            return _error(400, "Bad Request: chat not found")
        user_id = _int(params.get("user_id"))
        if not user_id:
            return _error(400, "Bad Request: invalid user_id specified")
        with self.lock:
            status = self.members.get((chat["id"], user_id), "member")
        return _ok(_member(user_id, status))

    async def _m_getChatAdministrators(self, params: dict[str, Any]) -> web.Response:  # noqa: N802
        chat = self.chats.get(_int(params.get("chat_id")))
        if chat is None:
            return _error(400, "Bad Request: chat not found")
        with self.lock:
            admins = [(user, status) for (chat_id, user), status in self.members.items()
                      if chat_id == chat["id"] and status in ("creator", "administrator")]
        return _ok([_member(user, status) for user, status in admins])

    async def _m_deleteWebhook(self, params: dict[str, Any]) -> web.Response:  # noqa: N802
        return _ok(True)

    async def _m_getWebhookInfo(self, params: dict[str, Any]) -> web.Response:  # noqa: N802
        return _ok({"url": "", "has_custom_certificate": False, "pending_update_count": 0})

    async def _m_answerCallbackQuery(self, params: dict[str, Any]) -> web.Response:  # noqa: N802
        return _ok(True)

    async def _m_deleteMyCommands(self, params: dict[str, Any]) -> web.Response:  # noqa: N802
        return _ok(True)

    async def _m_close(self, params: dict[str, Any]) -> web.Response:
        return _ok(True)


async def _params(request: web.Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        body = await request.json()
        params.update(body if isinstance(body, dict) else {})
    elif request.content_type == "application/x-www-form-urlencoded":
        params.update(parse_qsl(await request.text()))
    elif request.content_type.startswith("multipart/"):
        params.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
    return params


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _member(user_id: int, status: str) -> dict[str, Any]:
    """A ChatMember as the Bot API sends it (the fields each status requires)."""
    user = {"id": user_id, "is_bot": False, "first_name": "Test", "username": f"u{user_id}"}
    member: dict[str, Any] = {"user": user, "status": status}
    if status == "creator":
        member["is_anonymous"] = False
    elif status == "administrator":
        member |= {"is_anonymous": False, **dict.fromkeys(ADMIN_RIGHTS, True)}
    elif status == "kicked":
        member["until_date"] = 0
    return member


def _chat(chat_id: int) -> dict[str, Any]:
    if chat_id <= -1_000_000_000_000:
        return {"id": chat_id, "type": "supergroup", "title": f"Supergroup {-chat_id}"}
    if chat_id < 0:
        return {"id": chat_id, "type": "group", "title": f"Group {-chat_id}"}
    return {"id": chat_id, "type": "private", "first_name": "Test", "username": f"user{chat_id}"}


def _update(update_id: int, chat: dict[str, Any], text: str, from_id: int | None) -> dict[str, Any]:
    sender = from_id if from_id is not None else chat["id"]
    message: dict[str, Any] = {
        "message_id": 1000 + update_id, "date": int(time.time()), "chat": chat, "text": text,
        "from": {"id": sender, "is_bot": False, "first_name": "Test", "username": f"u{sender}"},
    }
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0,
                                "length": u16(text.split(maxsplit=1)[0])}]
    return {"update_id": update_id, "message": message}


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _error(code: int, description: str, **parameters: Any) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=code)


def _failure(failure: Failure) -> web.Response:
    status = failure.status or 500
    n = failure.retry_after if failure.retry_after is not None else 1
    words = failure.description or DEFAULT_WORDS.get(status, "Error").format(n=n)
    if status == 429:
        return _error(429, words, retry_after=n)
    return _error(status, words)


@pytest.fixture
def telegram_api() -> Iterator[TelegramFake]:
    fake = TelegramFake()
    fake.server.start()
    yield fake
    fake.server.stop()


def _parse_text(source: str, params: dict[str, Any]) -> tuple[str, list[Any]] | web.Response:
    """A message's text and entities, parsed as Telegram parses them (HTML parse mode or
    plain), or the 400 it answers to malformed markup."""
    try:
        if str(params.get("parse_mode", "")).upper() == "HTML":
            return parse_html(source)
        return source, []
    except ParseError as exc:
        return _error(400, f"Bad Request: can't parse entities: {exc}")
