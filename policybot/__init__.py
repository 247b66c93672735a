"""policybot: trade-policy change alerts from RSS/Atom feeds to Slack and Telegram."""

__version__ = "0.1.0"
