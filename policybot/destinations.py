"""Which destinations a config and its rules use, and which of those miss a secret.

Kept apart from app.py so that `check` can ask without importing the HTTP and chat clients.
"""

from __future__ import annotations

from collections.abc import Sequence

from policybot.config import Config
from policybot.envfile import unset_env
from policybot.matching.rules import Rule

__all__ = ["missing_env_errors", "used_destinations"]


def used_destinations(config: Config, rules: Sequence[Rule]) -> set[str]:
    used = set(config.defaults.notify) | set(config.ops)
    for rule in rules:
        used.update(rule.notify or ())
    return used


def missing_env_errors(config: Config, used: set[str]) -> list[str]:
    """An unset ${VAR} is an error where a used destination, or a chat section (telegram:,
    slack: are in use whenever they are present), needs it."""
    errors = []
    for dest in sorted(used):
        spec = config.destinations.get(dest)
        if spec and spec.missing_env:
            errors.append(f"{config.path}:{spec.line}: destination '{dest}': "
                          f"{unset_env(spec.missing_env)}")
    for name, chat in (("telegram", config.telegram), ("slack", config.slack)):
        if chat is not None and chat.missing_env:
            errors.append(f"{config.path}:{chat.line}: {name}: {unset_env(chat.missing_env)}")
    return errors
