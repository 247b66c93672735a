"""Notifiers: one per destination, built from its DestinationConfig.

A platform's module (and its client library: slack-sdk, python-telegram-bot) is imported only
when a destination of that type is built, so a command that touches no platform starts
without them.
"""

from __future__ import annotations

from typing import TextIO

from policybot.config import DestinationConfig
from policybot.errors import ConfigError
from policybot.notify.base import Clock, Notifier, redact, utcnow

__all__ = ["Notifier", "build_notifier", "redact"]


def build_notifier(dest: DestinationConfig, *, stream: TextIO | None = None,
                   clock: Clock = utcnow) -> Notifier:
    """The notifier for `dest`. Raises ConfigError when a setting it needs is missing."""
    if dest.type == "console":
        from policybot.notify.console import ConsoleNotifier
        return ConsoleNotifier(dest.id, stream, clock=clock)
    if dest.type == "slack" and dest.webhook_url:
        from policybot.notify.slack import SlackWebhookNotifier
        return SlackWebhookNotifier(dest.id, dest.webhook_url, clock=clock)
    if dest.type == "slack" and dest.token and dest.channel:
        from policybot.notify.slack import SlackBotNotifier
        return SlackBotNotifier(dest.id, dest.token, dest.channel, api_url=dest.api_url,
                                clock=clock)
    if dest.type == "telegram" and dest.token and dest.chat_id:
        from policybot.notify.telegram import TelegramNotifier
        return TelegramNotifier(dest.id, dest.token, dest.chat_id, api_url=dest.api_url,
                                clock=clock)
    needs = {"slack": "webhook_url, or token and channel", "telegram": "token and chat_id"}
    where = f"config.yaml:{dest.line}: " if dest.line else ""
    what = needs.get(dest.type, "a type of console, slack or telegram")
    missing = f" (unset: {', '.join(dest.missing_env)})" if dest.missing_env else ""
    raise ConfigError(f"{where}destination '{dest.id}': needs {what}{missing}")
