"""Who may use the console, and forms that only the console itself can submit.

- No token configured: only loopback clients (the default bind is 127.0.0.1 anyway).
- A token configured (required for any other bind): `Authorization: Bearer TOKEN`, or a login
  cookie from the /login form (a random session id, HttpOnly, SameSite=Strict).
- Every POST form carries a CSRF token equal to the browser's own `policybot_csrf` cookie
  (SameSite=Strict), and a POST whose Origin is not the console's own is refused.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from aiohttp import web

SESSION_COOKIE = "policybot_session"
CSRF_COOKIE = "policybot_csrf"
MAX_SESSIONS = 1000           # logins remembered; the oldest is forgotten beyond
OPEN_PATHS = ("/login",)
NEW_CSRF: web.RequestKey[str] = web.RequestKey("new_csrf", str)   # a cookie to set on the response
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Access:
    def __init__(self, token: str | None) -> None:
        self.token = token
        self.sessions: OrderedDict[str, None] = OrderedDict()

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not self.allowed(request) and request.path not in OPEN_PATHS:
            if self.token is None:
                raise web.HTTPForbidden(text="the console answers loopback clients only\n")
            if request.method == "GET":
                raise web.HTTPSeeOther("/login")
            raise web.HTTPUnauthorized(text="log in first\n")
        if request.method == "POST" and not self._bearer(request):
            await self.check_form(request)
        response = await handler(request)
        return self.secure(request, response)

    def allowed(self, request: web.Request) -> bool:
        if self.token is None:
            return _loopback(request.remote)
        session = request.cookies.get(SESSION_COOKIE, "")
        return self._bearer(request) or (bool(session) and session in self.sessions)

    def _bearer(self, request: web.Request) -> bool:
        given = request.headers.get("Authorization", "")
        return (self.token is not None and given.startswith("Bearer ")
                and hmac.compare_digest(given[7:].encode(), self.token.encode()))

    async def check_form(self, request: web.Request) -> None:
        origin = request.headers.get("Origin")
        if origin is not None and origin != f"{request.scheme}://{request.host}":
            raise web.HTTPForbidden(text="cross-site form refused (Origin)\n")
        form = await request.post()
        cookie = request.cookies.get(CSRF_COOKIE, "")
        given = str(form.get("csrf", ""))
        if not cookie or not hmac.compare_digest(cookie.encode(), given.encode()):
            raise web.HTTPForbidden(text="cross-site form refused (CSRF token)\n")

    def login(self, password: str) -> str | None:
        """A new session id when `password` is the token."""
        if self.token is None or not hmac.compare_digest(password.encode(), self.token.encode()):
            return None
        session = secrets.token_urlsafe(32)
        self.sessions[session] = None
        while len(self.sessions) > MAX_SESSIONS:
            self.sessions.popitem(last=False)
        return session

    @staticmethod
    def csrf(request: web.Request) -> str:
        return request.cookies.get(CSRF_COOKIE) or request.get(NEW_CSRF) or _new_csrf(request)

    @staticmethod
    def secure(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
        if request.get(NEW_CSRF):
            response.set_cookie(CSRF_COOKIE, request[NEW_CSRF], httponly=True, samesite="Strict")
        response.headers.update({
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
            "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
            "X-Frame-Options": "DENY", "Cache-Control": "no-store"})
        return response


def _new_csrf(request: web.Request) -> str:
    request[NEW_CSRF] = secrets.token_urlsafe(24)
    return request[NEW_CSRF]


def _loopback(remote: str | None) -> bool:
    try:
        return remote is not None and ipaddress.ip_address(remote.split("%")[0]).is_loopback
    except ValueError:
        return False
