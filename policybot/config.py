"""config.yaml -> frozen dataclasses, validated. ${VAR} is expanded in string values only."""

from __future__ import annotations

from dataclasses import dataclass, field

from policybot.model import Feed


@dataclass(frozen=True, slots=True)
class DestinationConfig:
    id: str                           # "trade-desk"; chat destinations: "telegram:123", "slack:C01"
    type: str                         # "console" | "slack" | "telegram"
    webhook_url: str | None = None    # slack incoming webhook
    token: str | None = None          # slack bot token (xoxb-) or telegram bot token
    channel: str | None = None        # slack channel id for token mode
    chat_id: str | None = None        # telegram chat id
    api_url: str | None = None        # slack: "https://slack.com/api/"; telegram: "https://api.telegram.org"
    rate: float | None = None         # messages per second; None = the platform default
    missing_env: tuple[str, ...] = () # ${VARS} this destination needs that are unset
    line: int = 0                     # where it is defined in config.yaml
