"""Where the platforms' APIs are: `api_url` as a user may write it, and the hint when it is wrong.

Slack's Web API base ends in `/api/` (`https://slack.com/api/`, GovSlack's
`https://slack-gov.com/api/`); a user may write it with or without `/api`. Telegram's Bot API
base is the server alone (`https://api.telegram.org`, or a local Bot API server); the `/bot`
that precedes the token may be written or not. Pure string work, no I/O.
"""

from __future__ import annotations

SLACK_API_URL = "https://slack.com/api/"
TELEGRAM_API_URL = "https://api.telegram.org"


def slack_api_url(url: str | None) -> str:
    """`http://host[/path][/api][/]` -> `http://host[/path]/api/`."""
    base = (url or SLACK_API_URL).rstrip("/")
    if not base.endswith("/api"):
        base += "/api"
    return base + "/"


def telegram_api_url(url: str | None) -> str:
    """`http://host[/path][/bot][/]` -> `http://host[/path]` (PTB appends `/bot<token>`)."""
    base = (url or TELEGRAM_API_URL).rstrip("/")
    return base.removesuffix("/bot").rstrip("/")


def api_url_hint(platform: str, called: str) -> str:
    """What was called (the caller redacts the token) and where api_url would point instead."""
    example = SLACK_API_URL if platform == "slack" else TELEGRAM_API_URL
    return (f"called {called}: is api_url the {platform} API's base? "
            f"(e.g. {example}; see README, api_url)")
