"""Feeds read from disk: local paths and file:// URLs, under the same size cap as HTTP bodies.

Apart from fetch.py so that `test-rules` on a file starts without importing aiohttp.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from policybot.errors import FetchError
from policybot.model import FetchResult

MAX_BYTES = 10 * 2**20   # a feed body (downloaded or read) larger than this is refused


def is_local(url: str, scheme: str | None = None) -> bool:
    """A path, a file:// URL or a Windows drive path (C:\\feeds\\x.xml)."""
    if scheme is None:
        try:
            scheme = urlsplit(url).scheme.lower()
        except ValueError:
            return False
    return scheme in ("", "file") or (len(scheme) == 1 and url[1:3] in (":\\", ":/"))


async def read_file(url: str, max_bytes: int) -> FetchResult:
    import asyncio  # here: `check` imports this module and runs no event loop
    from urllib.request import url2pathname  # (urllib.request loads http.client and email)

    path = Path(url2pathname(urlsplit(url).path)) if url.lower().startswith("file:") else Path(url)
    try:
        body = await asyncio.to_thread(_read_small, path, max_bytes)
    except FileNotFoundError:
        raise FetchError(f"fetch failed: {path}: no such file") from None
    except OSError as exc:
        raise FetchError(f"fetch failed: {path}: {exc.strerror or exc}") from None
    return FetchResult(url=str(path), status=200, body=body, headers={})


def _read_small(path: Path, max_bytes: int) -> bytes:
    with path.open("rb") as handle:
        body = handle.read(max_bytes + 1)
    if len(body) > max_bytes:
        raise OSError(0, f"file larger than {mb(max_bytes)}")
    return body


def mb(n: int) -> str:
    return f"{n / 2**20:g} MB" if n >= 2**20 else f"{n} bytes"
