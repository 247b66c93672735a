"""Reading config.yaml's values: durations, strings with ${VAR}, URLs, id lists, numbers.

`Reader` walks the YAML tree and collects every error as `FILE:LINE: message` instead of
stopping at the first; config.py builds the dataclasses with it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from policybot import yamlsrc
from policybot.envfile import unset_env

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, None: 1}


def parse_duration(value: Any, *, allow_all: bool = False) -> float | None:
    """'10m' -> 600.0. Numbers are seconds. 'all' (when allowed) and 0 -> None for backfill."""
    if allow_all and (value == "all" or value == 0):
        return None
    if isinstance(value, bool):
        raise ValueError(f"expected a duration such as 10m, got {value!r}")
    if isinstance(value, int | float):
        return float(value)
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"expected a duration such as 30s, 10m, 8h or 1d, got {value!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


class Reader:
    """Walks the YAML tree, collecting errors instead of stopping at the first."""

    def __init__(self, source: str, env: Mapping[str, str]) -> None:
        self.source = source
        self.env = env
        self.errors: list[str] = []
        self.missing: list[str] = []
        self.used: list[str] = []      # the ${VAR} values substituted: secrets, wherever they are

    def error(self, line: int, message: str) -> None:
        self.errors.append(f"{self.source}:{line}: {message}")

    def keys(self, node: Any, where: str, allowed: tuple[str, ...], required: tuple[str, ...] = (),
             homes: Mapping[str, tuple[str, ...]] | None = None) -> bool:
        """Unknown keys are errors with a hint: the closest key, or the section below where
        the key belongs (`homes`: section -> its keys)."""
        if not isinstance(node, dict):
            self.error(yamlsrc.line_of(node, 0), f"{where}: expected a mapping")
            return False
        for key in node:
            if key not in allowed:
                hint = yamlsrc.key_hint(str(key), allowed, homes)
                self.error(yamlsrc.line_of(node, key),
                           f"{where}: unknown key '{key}' (expected: {', '.join(allowed)}){hint}")
        for key in required:
            if key not in node:
                self.error(yamlsrc.line_of(node, 0), f"{where}: missing required key '{key}'")
        return True

    def string(self, node: Mapping[str, Any], key: str, where: str) -> str | None:
        if key not in node or node[key] is None:
            return None
        value = node[key]
        if not isinstance(value, str | int) or isinstance(value, bool):
            self.error(yamlsrc.line_of(node, key), f"{where}: '{key}' must be a string")
            return None
        return self.expand(str(value))

    def needed(self, node: Mapping[str, Any], key: str, where: str) -> str | None:
        """A string that is always in use (a feed URL, the state path): unset ${VAR} is an error."""
        before = len(self.missing)
        value = self.string(node, key, where)
        if len(self.missing) > before:
            names = tuple(dict.fromkeys(self.missing[before:]))
            self.error(yamlsrc.line_of(node, key), f"{where}: '{key}': {unset_env(names)}")
        return value

    def expand(self, value: str) -> str:
        def sub(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in self.env or self.env[name] == "":
                self.missing.append(name)
                return ""
            self.used.append(self.env[name])
            return self.env[name]

        return _VAR.sub(sub, value)

    def duration(self, node: Mapping[str, Any], key: str, where: str, default: float | None,
                 *, allow_all: bool = False, allow_zero: bool = False) -> float | None:
        """A duration > 0 (>= 0 with allow_zero; 'all' or 0 -> None with allow_all)."""
        if key not in node:
            return default
        try:
            value = parse_duration(node[key], allow_all=allow_all)
        except ValueError as exc:
            self.error(yamlsrc.line_of(node, key), f"{where}: '{key}': {exc}")
            return default
        if value is not None and (value < 0 or (value == 0 and not allow_zero)):
            wanted = "0 or more" if allow_zero else "more than 0"
            self.error(yamlsrc.line_of(node, key),
                       f"{where}: '{key}' must be a duration of {wanted}, got {node[key]!r}")
            return default
        return value

    def url(self, node: Mapping[str, Any], key: str, where: str) -> str | None:
        """An http(s) URL with a host. The error shows an api_url as written (before ${VAR}
        expansion), never a webhook URL: that one is a secret even when written inline."""
        value = self.string(node, key, where)
        if not value:
            return value
        try:
            parts = urlsplit(value)
            ok = parts.scheme in ("http", "https") and bool(parts.hostname)
            ok = ok and (parts.port is None or parts.port > 0)   # .port checks the range
        except ValueError:
            ok = False
        if not ok:
            shown = "" if key == "webhook_url" else f", got {node[key]!r}"
            self.error(yamlsrc.line_of(node, key),
                       f"{where}: '{key}' must be an http(s) URL such as https://host/path{shown}")
            return ""   # reported: not "missing" as well
        return value

    def id_list(self, node: Mapping[str, Any], key: str, where: str) -> tuple[str, ...] | None:
        if key not in node:
            return None
        value = node[key]
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
            self.error(yamlsrc.line_of(node, key), f"{where}: '{key}' must be a list of names")
            return ()
        return tuple(str(v) for v in value)

    def number(self, node: Mapping[str, Any], key: str, where: str, default: float) -> float:
        value = node.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            self.error(yamlsrc.line_of(node, key), f"{where}: '{key}' must be a positive number")
            return default
        return float(value)
