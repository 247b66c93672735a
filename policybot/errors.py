"""One tree of errors. A PolicybotError prints as one line in the CLI; anything else is a bug."""

from __future__ import annotations


class PolicybotError(Exception):
    """Base of every error the bot reports to a user rather than as a traceback."""


class ConfigError(PolicybotError):
    """config.yaml is invalid. `errors` holds every problem as 'FILE:LINE: message'."""

    def __init__(self, errors: list[str] | str) -> None:
        self.errors = [errors] if isinstance(errors, str) else list(errors)
        super().__init__("\n".join(self.errors))


class RuleError(ConfigError):
    """rules/*.yaml are invalid. `errors` holds every problem as 'FILE:LINE: message'."""


class FetchError(PolicybotError):
    """A feed could not be fetched. `retry_after` (seconds) when the server asked for it;
    `gone` for 410; `status` is the HTTP status when there was one."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        gone: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        self.gone = gone


class ParseError(PolicybotError):
    """A fetched body is not a feed we can read."""


class DeliveryError(PolicybotError):
    """A notifier failed. `retryable` says whether the outbox should try again;
    `retry_after` is the platform's own wait in seconds (429 Retry-After, Telegram RetryAfter)."""

    def __init__(
        self, message: str, *, retryable: bool, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
