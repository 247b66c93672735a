"""Slack notifiers: an incoming webhook, or a bot token posting with chat.postMessage.

Both render Block Kit with a text fallback (render.slack_message) and classify failures:
429 (Retry-After) and 5xx and network errors are retryable; every other answer is permanent
and carries Slack's own error string (`channel_not_found`, `invalid_auth`, `invalid_payload`...).
slack-sdk gets no retry handlers: the outbox is the one place that retries.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from policybot.apiurl import api_url_hint, slack_api_url
from policybot.errors import DeliveryError
from policybot.model import Alert
from policybot.notify.base import Accepted, Clock, LogRedaction, no_record, post_parts, redact, utcnow
from policybot.render_slack import SLACK_SECTION_MAX, slack_digest_parts, slack_message
from policybot.render_story import slack_first_updated, slack_reply
from policybot.retry_after import retry_after

log = logging.getLogger(__name__)
SDK_LOG = "policybot.notify.slack.sdk"   # the logger slack-sdk is given (redacted)
TIMEOUT = 30
NETWORK_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError, OSError)

Blocks = list[dict[str, object]]


def header_retry_after(headers: Mapping[str, str] | None, now: datetime) -> float | None:
    """Seconds from the response's Retry-After header (capped), if there is one."""
    return retry_after((headers or {}).get("Retry-After") or (headers or {}).get("retry-after"), now)


class _SlackBase:
    kind = "slack"

    def __init__(self, name: str, secrets: Sequence[str | None], clock: Clock,
                 timeout: float) -> None:
        self.name = name
        self.clock = clock
        self.timeout = timeout
        self._secrets = tuple(secrets)
        self._session: aiohttp.ClientSession | None = None
        self._redaction = LogRedaction(self._secrets, [SDK_LOG])

    def _fail(self, message: str, *, retryable: bool, after: float | None = None) -> DeliveryError:
        text = redact(f"{self.kind} {self.name}: {message}", self._secrets)
        # DEBUG: delivery.py logs each distinct failure once, at ERROR
        log.debug("delivery failed: destination=%s retryable=%s: %s", self.name, retryable, text)
        return DeliveryError(text, retryable=retryable, retry_after=after)

    def _network(self, exc: BaseException) -> DeliveryError:
        return self._fail(f"network error: {type(exc).__name__}: {exc}", retryable=True)

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._redaction.attach()
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout))
        return self._session

    async def _post(self, text: str, blocks: Blocks) -> str | None:
        raise NotImplementedError

    async def send(self, alert: Alert) -> str | None:
        """Post one alert; returns the message's ts when the platform tells it (bot token)."""
        if alert.notice is not None:
            text = alert.notice[:SLACK_SECTION_MAX]
            return await self._post(text, [{"type": "section", "text": {"type": "mrkdwn", "text": text}}])
        return await self._post(*slack_message(alert, self.clock()))

    async def send_digest(self, alerts: Sequence[Alert], accepted: Accepted = no_record) -> None:
        parts = slack_digest_parts(alerts, self.clock())
        await post_parts([(partial(self._post, t, b), ids) for (t, b), ids in parts], accepted)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        self._redaction.detach()


class SlackWebhookNotifier(_SlackBase):
    kind = "slack webhook"

    def __init__(self, name: str, webhook_url: str, *, clock: Clock = utcnow,
                 timeout: float = TIMEOUT) -> None:
        super().__init__(name, [webhook_url], clock, timeout)
        self.webhook_url = webhook_url

    async def _post(self, text: str, blocks: Blocks) -> str | None:
        client = AsyncWebhookClient(
            self.webhook_url, timeout=max(1, int(self.timeout)), session=self._open(),
            retry_handlers=[], logger=logging.getLogger(SDK_LOG))
        try:
            resp = await client.send(text=text, blocks=blocks, unfurl_links=False)
        except aiohttp.InvalidURL:
            raise self._fail("invalid webhook URL", retryable=False) from None
        except NETWORK_ERRORS as exc:
            raise self._network(exc) from None
        if resp.status_code == 200:
            return None
        body = (resp.body or "").strip()[:300] or f"HTTP {resp.status_code}"
        if resp.status_code == 429:
            raise self._fail(f"rate limited: {body}", retryable=True,
                             after=header_retry_after(resp.headers, self.clock())) from None
        raise self._fail(f"{body} (HTTP {resp.status_code})",
                         retryable=resp.status_code >= 500) from None


class SlackBotNotifier(_SlackBase):
    kind = "slack"

    def __init__(self, name: str, token: str, channel: str, *, api_url: str | None = None,
                 clock: Clock = utcnow, timeout: float = TIMEOUT) -> None:
        super().__init__(name, [token], clock, timeout)
        self.token = token
        self.channel = channel
        self.api_url = slack_api_url(api_url)      # with or without /api/

    def _client(self) -> AsyncWebClient:
        return AsyncWebClient(
            token=self.token, base_url=self.api_url, timeout=max(1, int(self.timeout)),
            session=self._open(), retry_handlers=[], logger=logging.getLogger(SDK_LOG))

    async def _post(self, text: str, blocks: Blocks, **extra: str) -> str | None:
        resp = await self._call("chat.postMessage", self._client().chat_postMessage(
            channel=self.channel, text=text, blocks=blocks, unfurl_links=False,
            unfurl_media=False, **extra))
        ts = resp.get("ts")
        return str(ts) if ts else None

    stories = "thread"   # later reports of a story go in the first message's thread

    async def send_later(self, alert: Alert, ref: str | None) -> None:
        """A later report of a story: a reply in the first message's thread."""
        text, blocks = slack_reply(alert)
        await self._post(text, blocks, **({"thread_ts": ref} if ref else {}))

    async def edit_first(self, ref: str, first: Alert, sources: Sequence[str]) -> None:
        """The first message of a story, edited to name the outlets that also reported it."""
        text, blocks = slack_first_updated(first, sources, self.clock())
        await self._call("chat.update", self._client().chat_update(
            channel=self.channel, ts=ref, text=text, blocks=blocks))

    async def auth_test(self) -> str:
        """Who the token is (`send-test`'s first check); raises DeliveryError."""
        resp = await self._call("auth.test", self._client().auth_test())
        return f"{resp.get('user', '?')} in {resp.get('team', '?')}"

    async def _call(self, method: str, request: Awaitable[Any]) -> Any:
        """One Web API call (`method` names it in errors); its failures as DeliveryError."""
        try:
            return await request
        except SlackApiError as exc:
            raise self._api_error(exc, method) from None
        except NETWORK_ERRORS as exc:
            raise self._unreachable(exc, method) from None
        except SlackClientError as exc:
            raise self._fail(f"client error: {exc}", retryable=False) from None

    def _unreachable(self, exc: BaseException, method: str) -> DeliveryError:
        """A network error; a refused connection names the URL called (api_url may be wrong)."""
        if isinstance(exc, aiohttp.ClientConnectorError | ConnectionRefusedError):
            hint = api_url_hint("slack", self.api_url + method)
            return self._fail(f"network error: {type(exc).__name__}: {exc}; {hint}", retryable=True)
        return self._network(exc)

    def _api_error(self, exc: SlackApiError, method: str) -> DeliveryError:
        status = exc.response.status_code
        data = exc.response.data
        error = data.get("error") if isinstance(data, dict) else None
        word = str(error or f"HTTP {status}")
        if status == 404 and not error:
            return self._fail(f"{word}; {api_url_hint('slack', self.api_url + method)}",
                              retryable=False)
        if status == 429 or error in ("ratelimited", "rate_limited"):
            after = header_retry_after(exc.response.headers, self.clock())
            return self._fail(word, retryable=True, after=after)
        if status >= 500 or error in ("fatal_error", "internal_error", "service_unavailable",
                                      "request_timeout"):
            return self._fail(f"{word} (HTTP {status})", retryable=True)
        return self._fail(word, retryable=False)
