"""HTTP for feeds: one shared aiohttp session, conditional GET, limits, redirects, Retry-After.

Every failure is a FetchError whose message names the URL (credentials redacted, control
characters stripped), so the pipeline can record it on the feed's row. Local paths and file://
URLs are read from disk. A redirect from a public address into the host's own network
(localhost, private ranges, link-local) is refused unless `allow_private_redirects`.
"""

from __future__ import annotations

import asyncio
import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import aiohttp
from aiohttp.abc import AbstractResolver
from multidict import CIMultiDictProxy

from policybot.errors import FetchError
from policybot.feeds import addresses
from policybot.feeds.addresses import AddressCheck, GuardedResolver, PrivateAddressError, RecordingResolver
from policybot.feeds.local import MAX_BYTES, is_local, mb, read_file
from policybot.feeds.text import one_line, strip_controls
from policybot.model import FetchResult
from policybot.retry_after import retry_after

USER_AGENT = "policybot/0.1 (+https://github.com/policybot/policybot)"
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, application/xml;q=0.9, "
    "text/xml;q=0.9, application/json;q=0.8, */*;q=0.5"
)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT = frozenset({301, 308})
_CHUNK = 64 * 1024
_SECRET_PARAM = re.compile(r"token|key|secret|pass|auth|sig|session", re.IGNORECASE)
_USERINFO = re.compile(r"//[^/@\s]+@")
MAX_CACHE_AGE = 86400.0   # a Cache-Control max-age longer than a day is read as a day
MAX_FEED_RETRY_AFTER = 6 * 3600.0   # a feed's Retry-After beyond 6 h (our own longest backoff) is read as 6 h
# Requests in flight at once, in all (a bound on our own sockets, far below the usual 1,024 open
# files) and to one host (scheme://host:port: politeness). Four per host, as browsers allow six:
# a publisher with several feeds is polled in one round of requests rather than two, and no
# host sees more than four at a time.
MAX_CONNECTIONS = 100
PER_HOST = 4
_MAX_AGE = re.compile(r"(?:^|[,\s])max-age\s*=\s*\"?(\d+)", re.IGNORECASE)


class Fetcher:
    """Fetches feeds over one shared session; `close()` closes it only if this Fetcher made it."""

    def __init__(
        self,
        *,
        session: aiohttp.ClientSession | None = None,
        max_bytes: int = MAX_BYTES,
        connect_timeout: float = 10.0,
        total_timeout: float = 30.0,
        max_redirects: int = 5,
        user_agent: str = USER_AGENT,
        max_connections: int = MAX_CONNECTIONS,
        per_host: int = PER_HOST,
        read_timeout: float = 20.0,
        allow_private_redirects: bool = False,
        is_internal: AddressCheck = addresses.is_internal,
        resolver: AbstractResolver | None = None,
    ) -> None:
        """`is_internal` and `resolver` exist for tests (which only have loopback addresses)."""
        self._session = session
        self._owns_session = session is None
        self._max_bytes = max_bytes
        self._total = total_timeout
        self._timeout = aiohttp.ClientTimeout(
            total=None, connect=connect_timeout, sock_read=min(read_timeout, total_timeout)
        )
        self._max_redirects = max_redirects
        self._headers = {"User-Agent": user_agent, "Accept": ACCEPT, "Accept-Encoding": "gzip, deflate"}
        self._limits = (max_connections, per_host)
        # Admission before the clock starts: a feed waiting its turn (behind the global cap or
        # its host's cap) must not spend its connect/total timeout in the queue.
        self._slots = asyncio.Semaphore(max_connections)
        self._host_slots: dict[str, asyncio.Semaphore] = {}
        # Redirect hops that must stay public go through their own session, whose resolver
        # refuses internal addresses: its pooled connections can only be public ones.
        self.allow_private_redirects = allow_private_redirects
        self._is_internal = is_internal
        self._resolver = resolver
        self._guard: GuardedResolver | None = None
        self._recorder: RecordingResolver | None = None  # what our own session connected with
        self._public_session: aiohttp.ClientSession | None = None

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """GET `url` (or read a local file). Raises FetchError on any failure."""
        try:
            scheme = urlsplit(url).scheme.lower()
        except ValueError as exc:
            raise FetchError(f"fetch failed: {redact(url)}: invalid URL: {exc}") from None
        if is_local(url, scheme):
            return await read_file(url, self._max_bytes)
        if scheme not in ("http", "https"):
            raise FetchError(f"fetch failed: {redact(url)}: unsupported URL scheme {scheme!r}")
        where = f"fetch failed: {redact(url)}"
        host = urlsplit(url).netloc.lower()
        host_slots = self._host_slots.setdefault(host, asyncio.Semaphore(self._limits[1]))
        try:
            async with host_slots, self._slots, asyncio.timeout(self._total):
                return await self._follow(url, _conditional(etag, last_modified))
        except (aiohttp.ClientError, ValueError) as exc:  # before TimeoutError: read/connect timeouts
            raise FetchError(f"{where}: {_scrub(_describe(exc, self._timeout))}") from None
        except TimeoutError:
            raise FetchError(f"{where}: timed out after {self._total:g} s") from None
        except OSError as exc:
            raise FetchError(f"{where}: {_scrub(_describe(exc, self._timeout))}") from None

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None
        if self._recorder is not None:
            await self._recorder.close()
            self._recorder = None
        if self._public_session is not None and self._guard is not None:
            await self._public_session.close()
            await self._guard.close()
            self._public_session = self._guard = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            limit, per_host = self._limits
            self._recorder = RecordingResolver(self._resolver)
            connector = aiohttp.TCPConnector(limit=limit, limit_per_host=per_host, resolver=self._recorder)
            self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout)
            self._owns_session = True
        return self._session

    def _public_client(self) -> aiohttp.ClientSession:
        """The session for hops that must stay public: its resolver refuses internal addresses."""
        if self._public_session is None or self._public_session.closed:
            limit, per_host = self._limits
            self._guard = GuardedResolver(self._is_internal, self._resolver)
            connector = aiohttp.TCPConnector(limit=limit, limit_per_host=per_host, resolver=self._guard)
            self._public_session = aiohttp.ClientSession(connector=connector, timeout=self._timeout)
        return self._public_session

    async def _follow(self, url: str, conditional: dict[str, str]) -> FetchResult:
        """Follow redirects by hand: bounded, loop-checked, http(s) only, permanence tracked,
        and never from a public address into the host's own network."""
        visited = [url]
        permanent: str | None = None
        all_permanent = True
        public = False  # the current hop is known to be on a public address
        while True:
            client = self._public_client() if public else self._client()
            try:
                async with client.get(url, headers={**self._headers, **conditional},
                                      allow_redirects=False, timeout=self._timeout) as resp:
                    if resp.status not in _REDIRECTS:
                        return await self._result(resp, url, permanent, conditional)
                    target = _redirect_target(resp, url, visited[0])
            except aiohttp.ClientConnectorError as exc:
                if isinstance(exc.os_error, PrivateAddressError):
                    raise _private_redirect(visited[0], url, exc.os_error.address) from None
                raise
            where = f"fetch failed: {redact(visited[0])}"
            if target in visited:
                raise FetchError(f"{where}: redirect loop at {redact(target)}")
            if len(visited) > self._max_redirects:
                raise FetchError(f"{where}: more than {self._max_redirects} redirects")
            public = public or self._on_public_address(url)
            self._check_literal(public, visited[0], target)
            all_permanent = all_permanent and resp.status in _PERMANENT
            permanent = target if all_permanent else permanent
            visited.append(target)
            url = target

    def _on_public_address(self, url: str) -> bool:
        """Whether redirects from `url` must stay public: unless they are allowed, or `url` is
        on an internal address (written so, or every address its name resolved to for the
        connection just made). Unknown counts as public: the strict side."""
        if self.allow_private_redirects:
            return False
        host = urlsplit(url).hostname or ""
        literal = addresses.literal_address(host)
        if literal is not None:
            return not self._is_internal(literal)
        answers = self._recorder.answers(host) if self._recorder is not None else ()
        internal = [addresses.literal_address(a) for a in answers]
        return not internal or not all(a is not None and self._is_internal(a) for a in internal)

    def _check_literal(self, public: bool, original: str, target: str) -> None:
        """A target written as an internal IP address (the resolver never sees those)."""
        address = addresses.literal_address(urlsplit(target).hostname)
        if public and address is not None and self._is_internal(address):
            raise _private_redirect(original, target, str(address))

    async def _result(
        self, resp: aiohttp.ClientResponse, url: str, permanent: str | None, conditional: dict[str, str]
    ) -> FetchResult:
        headers = _lower(resp.headers)
        if resp.status == 304:
            body = b""
        elif 200 <= resp.status < 300:
            body = await _read_capped(resp, self._max_bytes, url)
        else:
            raise _status_error(resp.status, resp.reason or "", headers, url)
        return FetchResult(
            url=url,
            status=resp.status,
            body=body,
            headers=headers,
            etag=headers.get("etag") or (conditional.get("If-None-Match") if resp.status == 304 else None),
            last_modified=headers.get("last-modified")
            or (conditional.get("If-Modified-Since") if resp.status == 304 else None),
            permanent_redirect=permanent,
        )


def cache_max_age(headers: dict[str, str] | CIMultiDictProxy[str]) -> float | None:
    """Seconds from a Cache-Control max-age directive, or None (none given, or no-store/no-cache)."""
    value = next((v for k, v in headers.items() if k.lower() == "cache-control"), "")
    if re.search(r"no-store|no-cache", value, re.IGNORECASE):
        return None
    found = _MAX_AGE.search(value)
    return min(float(found.group(1)), MAX_CACHE_AGE) if found else None


def redact(url: str) -> str:
    """`url` without user:password, without the values of secret-looking query parameters
    and without control characters."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc.rpartition("@")[2] if "@" in parts.netloc else parts.netloc
        query = [(k, "***" if _SECRET_PARAM.search(k) else v) for k, v in parse_qsl(parts.query, True)]
        userinfo = "***@" if "@" in parts.netloc else ""
        return strip_controls(
            urlunsplit((parts.scheme, userinfo + netloc, parts.path, urlencode(query, safe="*/:"), "")))
    except ValueError:
        return "<unparsable URL>"


def _private_redirect(original: str, target: str, address: str) -> FetchError:
    return FetchError(f"fetch failed: {redact(original)}: redirect from a public address into the "
                      f"host's own network refused: {redact(target)} ({strip_controls(address)}); "
                      "fetch.allow_private_redirects allows it")


def _conditional(etag: str | None, last_modified: str | None) -> dict[str, str]:
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


def _redirect_target(resp: aiohttp.ClientResponse, url: str, original: str) -> str:
    location = resp.headers.get("Location")
    if not location:
        raise FetchError(f"fetch failed: {redact(original)}: HTTP {resp.status} without a Location")
    target = urljoin(url, location.strip()).partition("#")[0]
    if urlsplit(target).scheme.lower() not in ("http", "https"):
        raise FetchError(f"fetch failed: {redact(original)}: redirect to a non-HTTP URL refused")
    if strip_controls(target) != target:
        raise FetchError(f"fetch failed: {redact(original)}: redirect to a URL with control characters")
    return target


async def _read_capped(resp: aiohttp.ClientResponse, max_bytes: int, url: str) -> bytes:
    """The (decompressed) body, aborting as soon as it passes max_bytes."""
    too_big = FetchError(f"fetch failed: {redact(url)}: response larger than {mb(max_bytes)}")
    if resp.content_length is not None and resp.content_length > max_bytes:
        raise too_big  # declared too big (compressed sizes only grow when inflated)
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_chunked(_CHUNK):
        size += len(chunk)
        if size > max_bytes:
            resp.close()  # drop the connection rather than drain the rest
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)


def _status_error(status: int, reason: str, headers: dict[str, str], url: str) -> FetchError:
    where = f"fetch failed: {redact(url)}: HTTP {status} {one_line(reason)}".rstrip()  # one_line: no controls
    if status == 410:
        return FetchError(f"{where} (the feed is gone)", status=status, gone=True)
    if status in (429, 503):
        wait = retry_after(headers.get("retry-after"), cap=MAX_FEED_RETRY_AFTER)
        suffix = f" (retry after {wait:g} s)" if wait is not None else ""
        return FetchError(where + suffix, status=status, retry_after=wait)
    return FetchError(where, status=status)


def _lower(headers: CIMultiDictProxy[str]) -> dict[str, str]:
    lowered: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        lowered[key] = f"{lowered[key]}, {value}" if key in lowered else value
    return lowered


def _describe(exc: BaseException, timeout: aiohttp.ClientTimeout) -> str:
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return f"timed out connecting after {timeout.connect:g} s"
    if isinstance(exc, aiohttp.SocketTimeoutError):
        return f"timed out: no data for {timeout.sock_read:g} s"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"cannot connect: {exc.os_error.strerror or exc.os_error}"
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        return f"connection broken: {type(exc).__name__}"
    return str(exc) or type(exc).__name__


def _scrub(text: str) -> str:
    """Remove user:password@ from any URL an exception message may quote, and the control
    characters a server may have put in it."""
    return one_line(_USERINFO.sub("//***@", text))
