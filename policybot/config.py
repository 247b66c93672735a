"""config.yaml -> frozen dataclasses, validated.

Every problem is reported at once as `FILE:LINE: message`. `${VAR}` is expanded in string
values only (never in keys or structure); variables come from the environment or a `.env`
file next to the config. Relative paths are relative to the config file's folder.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from policybot import yamlsrc
from policybot.configread import Reader
from policybot.envfile import read_dotenv
from policybot.errors import ConfigError
from policybot.model import Feed

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
DESTINATION_TYPES = ("console", "slack", "telegram")
MAX_CONFIG_BYTES = 256 << 10   # config.yaml: a real one is a few KB


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


@dataclass(frozen=True, slots=True)
class Defaults:
    every: float = 600.0
    backfill: float | None = 86400.0
    notify: tuple[str, ...] = ("console",)


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    digest_after: int = 10            # more than this many due for one destination -> a digest
    digest_window: float = 300.0      # ... within this many seconds
    max_age: float = 86400.0          # give up (visibly) on alerts older than this
    once_wait: float = 60.0           # `once` waits at most this long for Retry-After
    interval: float = 5.0             # how often `run` drains the outbox


@dataclass(frozen=True, slots=True)
class HealthSettings:
    failing_after: float = 86400.0    # a feed failing this long is reported to `ops` (once)
    silent_factor: float = 10.0       # silent for this many of its usual gaps between new items ...
    silent_min: float = 7 * 86400.0   # ... and at least this long: reported to `ops` (once)


@dataclass(frozen=True, slots=True)
class FetchSettings:
    allow_private_redirects: bool = False   # follow a public feed's redirect into the host's network


@dataclass(frozen=True, slots=True)
class TelegramChat:
    token: str
    allow: tuple[str, ...] | None     # None = "any"
    api_url: str = "https://api.telegram.org"
    missing_env: tuple[str, ...] = ()
    admins: tuple[str, ...] = ()      # user ids that may change things in any allowed group
    line: int = 0                     # where the section starts in config.yaml


@dataclass(frozen=True, slots=True)
class SlackChat:
    app_token: str
    bot_token: str
    api_url: str = "https://slack.com/api/"
    missing_env: tuple[str, ...] = ()
    allow: tuple[str, ...] | None = ()  # channel ids that may change things; None = "any"
    admins: tuple[str, ...] = ()        # if set, only these user ids may change things
    line: int = 0                     # where the section starts in config.yaml


@dataclass(frozen=True, slots=True)
class ConsoleSettings:
    port: int = 8180                  # 0: any free port (tests)
    host: str = "127.0.0.1"
    token: str | None = None          # required for any host but loopback; ${VAR}


@dataclass(frozen=True, slots=True)
class Config:
    path: Path
    storage_path: Path
    retention: float
    rules_paths: tuple[Path, ...]
    defaults: Defaults
    feeds: tuple[Feed, ...]
    destinations: Mapping[str, DestinationConfig]
    delivery: DeliverySettings = DeliverySettings()
    telegram: TelegramChat | None = None
    slack: SlackChat | None = None
    ops: tuple[str, ...] = ()
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"   # the /metrics endpoint has no authentication
    health: HealthSettings = HealthSettings()
    fetch: FetchSettings = FetchSettings()
    console: ConsoleSettings | None = None   # the web console (policybot/console); off when None
    env_values: tuple[str, ...] = ()  # every ${VAR} value used anywhere: secrets, feed URLs too
    stories_window: float | None = 72 * 3600.0   # story grouping window; None: `stories: off`
    storage_url: str | None = None    # postgresql://...: a shared state (several instances)

    @property
    def storage(self) -> str | Path:
        """What the store opens: the PostgreSQL URL, or else the SQLite file."""
        return self.storage_url or self.storage_path

    def secrets(self) -> list[str]:
        """Every token, webhook URL and ${VAR} value: what no log line or message may show."""
        values = [v for d in self.destinations.values() for v in (d.token, d.webhook_url) if v]
        values += self.env_values
        if self.storage_url:
            values.append(self.storage_url)   # its password, written in the file
        if self.telegram:
            values.append(self.telegram.token)
        if self.slack:
            values += [self.slack.app_token, self.slack.bot_token]
        return list(dict.fromkeys(v for v in values if v))


_DELIVERY_KEYS = ("digest_after", "digest_window", "max_age", "once_wait", "interval")
_SECTIONS = {   # the keys of the top-level sections: a key at the top that belongs under one
    "storage": ("path", "url", "retention"),
    "defaults": ("every", "backfill", "notify"),
    "delivery": _DELIVERY_KEYS,
    "health": ("failing_after", "silent_factor", "silent_min"),
    "fetch": ("allow_private_redirects",),
}
_TOP = ("storage", "rules", "defaults", "feeds", "destinations", "telegram", "slack",
        "delivery", "ops", "metrics", "health", "fetch", "console",
        "stories")
MAX_STORY_WINDOW = 7 * 86400.0   # a story's reports are grouped within at most this


def load_config(path: str | Path, env: Mapping[str, str] | None = None) -> Config:
    """Load and validate config.yaml; raises ConfigError listing every problem."""
    path = Path(path)
    source = yamlsrc.shown(path)       # as errors show it: relative to the current folder
    if env is None:
        env = {**read_dotenv(path.parent / ".env"), **os.environ}
    data = yamlsrc.load(path, max_bytes=MAX_CONFIG_BYTES)
    reader = Reader(source, env)
    if data is None:
        data = yamlsrc.Mapping()
        data.line, data.key_lines = 1, {}
    if not reader.keys(data, "config", _TOP, homes=_SECTIONS):
        raise ConfigError(reader.errors)
    config = _build(reader, data, path.resolve().parent, path)
    if reader.errors:
        raise ConfigError(reader.errors)
    return config


def _build(r: Reader, data: Mapping[str, Any], base: Path, path: Path) -> Config:
    storage = _section(r, data, "storage", _SECTIONS["storage"])
    defaults = _defaults(r, _section(r, data, "defaults", _SECTIONS["defaults"]))
    destinations = _destinations(r, data.get("destinations") or {})
    destinations.setdefault("console", DestinationConfig(id="console", type="console"))
    feeds = _feeds(r, data.get("feeds"), defaults, base)
    rules = data.get("rules", "rules/")
    rule_items = rules if isinstance(rules, list) else [rules]
    if not all(isinstance(x, str) for x in rule_items) or not rule_items:
        r.error(yamlsrc.line_of(data, "rules"), "config: 'rules' must be a folder or a list of files")
        rule_items = []
    ops = r.id_list(data, "ops", "config") or ()
    for key, names in (("defaults", defaults.notify), ("ops", ops)):
        for dest in names:
            if dest not in destinations:
                r.error(yamlsrc.line_of(data, key), _unknown_destination(dest, destinations))
    storage_url = _storage_url(r, storage)
    return Config(
        path=path,
        storage_path=base / str(r.needed(storage, "path", "storage") or "state/policybot.sqlite3"),
        retention=r.duration(storage, "retention", "storage", 30 * 86400.0) or 30 * 86400.0,
        rules_paths=tuple(base / p for p in rule_items),
        defaults=defaults,
        feeds=tuple(feeds),
        destinations=destinations,
        delivery=_delivery(r, _section(r, data, "delivery", _DELIVERY_KEYS)),
        telegram=_telegram(r, data),
        slack=_slack(r, data),
        ops=ops,
        metrics_port=_metrics(r, data),
        metrics_host=_metrics_host(r, data),
        health=_health(r, _section(r, data, "health", _SECTIONS["health"])),
        fetch=_fetch(r, _section(r, data, "fetch", _SECTIONS["fetch"])),
        console=_console(r, data),
        env_values=tuple(dict.fromkeys(r.used)),
        stories_window=_stories(r, data),
        storage_url=storage_url,
    )


def _storage_url(r: Reader, storage: Mapping[str, Any]) -> str | None:
    url = r.needed(storage, "url", "storage")
    if url is not None and not url.startswith(("postgresql://", "postgres://")):
        r.error(yamlsrc.line_of(storage, "url"),
                "storage: 'url' must be a postgresql:// URL (or use 'path' for a SQLite file)")
        return None
    return url or None


def _stories(r: Reader, data: Mapping[str, Any]) -> float | None:
    """`stories: {window: 72h}` (the default), or `stories: off` (no grouping)."""
    node = data.get("stories")
    default = 72 * 3600.0
    if node is None:
        return default
    if node is False or node == "off":
        return None
    if not isinstance(node, Mapping):
        r.error(yamlsrc.line_of(data, "stories"), "stories: expected {window: DURATION} or off")
        return default
    if not r.keys(node, "stories", ("window",)):
        return default
    window = r.duration(node, "window", "stories", default) or default
    if window > MAX_STORY_WINDOW:
        r.error(yamlsrc.line_of(node, "window"),
                f"stories: 'window' must be at most {MAX_STORY_WINDOW / 86400:.0f}d")
        return default
    return window


def _section(r: Reader, data: Mapping[str, Any], key: str, allowed: tuple[str, ...]) -> Mapping[str, Any]:
    node = data.get(key)
    if node is None:
        return {}
    return node if r.keys(node, key, allowed) else {}


def _unknown_destination(name: str, destinations: Mapping[str, Any]) -> str:
    known = ", ".join(destinations) or "none defined"
    return f"unknown destination '{name}' (defined: {known})"


def _defaults(r: Reader, node: Mapping[str, Any]) -> Defaults:
    every = r.duration(node, "every", "defaults", 600.0) or 600.0
    backfill = r.duration(node, "backfill", "defaults", 86400.0, allow_all=True)
    notify = r.id_list(node, "notify", "defaults")
    return Defaults(every=every, backfill=backfill, notify=("console",) if notify is None else notify)


_DEST_KEYS = ("type", "webhook_url", "token", "channel", "chat_id", "api_url", "rate")
_URL_KEYS = ("webhook_url", "api_url")


def _destinations(r: Reader, node: Any) -> dict[str, DestinationConfig]:
    result: dict[str, DestinationConfig] = {}
    if not isinstance(node, dict):
        r.error(yamlsrc.line_of(node, 0), "destinations: expected a mapping of id -> settings")
        return result
    for dest_id, spec in node.items():
        where = f"destination '{dest_id}'"
        line = yamlsrc.line_of(node, dest_id)
        if not r.keys(spec, where, _DEST_KEYS, ("type",)):
            continue
        kind = spec.get("type")
        if kind not in DESTINATION_TYPES:
            r.error(line, f"{where}: unknown type {kind!r} (expected: {', '.join(DESTINATION_TYPES)})")
            continue
        before = len(r.missing)
        fields = {k: (r.url if k in _URL_KEYS else r.string)(spec, k, where) for k in _DEST_KEYS[1:6]}
        missing = tuple(dict.fromkeys(r.missing[before:]))
        _check_destination(r, line, where, kind, fields)
        rate = r.number(spec, "rate", where, 0.0) or None
        result[str(dest_id)] = DestinationConfig(
            id=str(dest_id), type=kind, rate=rate, missing_env=missing, line=line, **fields)
    return result


def _check_destination(r: Reader, line: int, where: str, kind: str, f: Mapping[str, Any]) -> None:
    if kind == "slack" and f["webhook_url"] is None and f["token"] is None:
        r.error(line, f"{where}: a slack destination needs 'webhook_url', or 'token' and 'channel'")
    elif kind == "slack" and f["token"] is not None and f["webhook_url"] is None and not f["channel"]:
        r.error(line, f"{where}: a slack bot-token destination needs 'channel'")
    elif kind == "telegram" and (f["token"] is None or not f["chat_id"]):
        r.error(line, f"{where}: a telegram destination needs 'token' and 'chat_id'")


_FEED_KEYS = ("id", "url", "every", "tags", "backfill", "title")


def _feeds(r: Reader, node: Any, defaults: Defaults, base: Path) -> list[Feed]:
    feeds: list[Feed] = []
    if node is None:
        return feeds
    if not isinstance(node, list):
        r.error(yamlsrc.line_of(node, 0), "feeds: expected a list")
        return feeds
    seen: dict[str, int] = {}
    for index, spec in enumerate(node):
        line = yamlsrc.line_of(node, index)
        named = isinstance(spec, dict) and isinstance(spec.get("id"), str | int)
        feed_id = str(spec.get("id", "")) if named else ""
        where = f"feed '{feed_id}'" if named else f"feed #{index + 1}"
        if not r.keys(spec, where, _FEED_KEYS, ("id", "url")):
            continue
        if not _ID.match(feed_id):
            r.error(line, f"{where}: id may use letters, digits, '-', '_', '.' and ':'")
        if feed_id in seen:
            r.error(line, f"{where}: duplicate feed id (first defined on line {seen[feed_id]})")
        seen[feed_id] = line
        url = r.needed(spec, "url", where) or ""
        feeds.append(Feed(
            id=feed_id,
            url=_feed_url(url, base),
            every=r.duration(spec, "every", where, defaults.every) or defaults.every,
            tags=r.id_list(spec, "tags", where) or (),
            backfill=r.duration(spec, "backfill", where, defaults.backfill, allow_all=True),
            title=r.string(spec, "title", where),
        ))
    return feeds


def _feed_url(url: str, base: Path) -> str:
    if "://" in url:
        return url
    return str((base / url).resolve()) if url else url


def _delivery(r: Reader, node: Mapping[str, Any]) -> DeliverySettings:
    d = DeliverySettings()
    return DeliverySettings(
        digest_after=int(r.number(node, "digest_after", "delivery", d.digest_after)),
        digest_window=r.duration(node, "digest_window", "delivery", d.digest_window, allow_zero=True) or 0.0,
        max_age=r.duration(node, "max_age", "delivery", d.max_age) or d.max_age,
        once_wait=r.duration(node, "once_wait", "delivery", d.once_wait, allow_zero=True) or 0.0,
        interval=r.duration(node, "interval", "delivery", d.interval) or d.interval,
    )


def _telegram(r: Reader, data: Mapping[str, Any]) -> TelegramChat | None:
    node = _section(r, data, "telegram", ("token", "allow", "api_url", "admins"))
    if not node:
        return None
    before = len(r.missing)
    token = r.string(node, "token", "telegram") or ""
    allow_raw = node.get("allow", [])
    allow: tuple[str, ...] | None
    if allow_raw == "any":
        allow = None
    elif isinstance(allow_raw, list | int | str):
        allow = tuple(str(x) for x in (allow_raw if isinstance(allow_raw, list) else [allow_raw]))
    else:
        r.error(yamlsrc.line_of(node, "allow"), "telegram: 'allow' must be a list of chat ids or \"any\"")
        allow = ()
    api_url = r.url(node, "api_url", "telegram") or "https://api.telegram.org"
    admins = _ids(r, node, "admins", "telegram", _TELEGRAM_USER, "user ids such as 123456789")
    return TelegramChat(token=token, allow=allow, api_url=api_url.rstrip("/"),
                        missing_env=tuple(dict.fromkeys(r.missing[before:])), admins=admins or (),
                        line=yamlsrc.line_of(data, "telegram"))


_TELEGRAM_USER = re.compile(r"^[1-9][0-9]{0,19}$")
_SLACK_ID = re.compile(r"^[A-Z0-9]{2,32}$")


def _ids(r: Reader, node: Mapping[str, Any], key: str, where: str, pattern: re.Pattern[str],
         what: str, *, allow_any: bool = False) -> tuple[str, ...] | None:
    """A list of platform ids (or one); "any" -> None when allowed; missing -> ()."""
    value = node.get(key, [])
    if allow_any and value == "any":
        return None
    values = value if isinstance(value, list) else [value]
    if isinstance(value, bool) or not all(isinstance(v, int | str) and not isinstance(v, bool)
                                          and pattern.match(str(v)) for v in values):
        alternative = ' or "any"' if allow_any else ""
        r.error(yamlsrc.line_of(node, key), f"{where}: '{key}' must be a list of {what}{alternative}")
        return ()
    return tuple(str(v) for v in values)


def _slack(r: Reader, data: Mapping[str, Any]) -> SlackChat | None:
    node = _section(r, data, "slack", ("app_token", "bot_token", "api_url", "allow", "admins"))
    if not node:
        return None
    before = len(r.missing)
    app_token = r.string(node, "app_token", "slack") or ""
    bot_token = r.string(node, "bot_token", "slack") or ""
    api_url = r.url(node, "api_url", "slack") or "https://slack.com/api/"
    allow = _ids(r, node, "allow", "slack", _SLACK_ID, "channel ids such as C0123ABCD", allow_any=True)
    admins = _ids(r, node, "admins", "slack", _SLACK_ID, "user ids such as U0123ABCD")
    return SlackChat(app_token=app_token, bot_token=bot_token, api_url=api_url,
                     missing_env=tuple(dict.fromkeys(r.missing[before:])), allow=allow,
                     admins=admins or (), line=yamlsrc.line_of(data, "slack"))


def _health(r: Reader, node: Mapping[str, Any]) -> HealthSettings:
    h = HealthSettings()
    return HealthSettings(
        failing_after=r.duration(node, "failing_after", "health", h.failing_after) or h.failing_after,
        silent_factor=r.number(node, "silent_factor", "health", h.silent_factor) or h.silent_factor,
        silent_min=r.duration(node, "silent_min", "health", h.silent_min) or h.silent_min,
    )


def _fetch(r: Reader, node: Mapping[str, Any]) -> FetchSettings:
    allow = node.get("allow_private_redirects", False)
    if not isinstance(allow, bool):
        r.error(yamlsrc.line_of(node, "allow_private_redirects"),
                "fetch: 'allow_private_redirects' must be true or false")
        allow = False
    return FetchSettings(allow_private_redirects=allow)


def _metrics(r: Reader, data: Mapping[str, Any]) -> int | None:
    node = _section(r, data, "metrics", ("port", "host"))
    if not node:
        return None
    port = node.get("port")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port < 65536:
        r.error(yamlsrc.line_of(node, "port"), "metrics: 'port' must be a TCP port number")
        return None
    return port


def _metrics_host(r: Reader, data: Mapping[str, Any]) -> str:
    """Where /metrics listens: 127.0.0.1 unless config.yaml opens it (e.g. host: 0.0.0.0)."""
    node = data.get("metrics")
    if not isinstance(node, dict) or node.get("host") is None:
        return "127.0.0.1"
    host = node["host"]
    if not isinstance(host, str) or not host.strip() or any(c.isspace() for c in host):
        r.error(yamlsrc.line_of(node, "host"), "metrics: 'host' must be an address such as 127.0.0.1")
        return "127.0.0.1"
    return host


LOOPBACK = ("127.0.0.1", "::1", "localhost")


def _console(r: Reader, data: Mapping[str, Any]) -> ConsoleSettings | None:
    """The web console: off unless configured; any bind but loopback needs a token."""
    node = _section(r, data, "console", ("port", "host", "token"))
    if not node:
        return None
    port = node.get("port", 8180)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port < 65536:
        r.error(yamlsrc.line_of(node, "port"), "console: 'port' must be a TCP port number")
        port = 8180
    host = node.get("host", "127.0.0.1")
    if not isinstance(host, str) or not host.strip() or any(c.isspace() for c in host):
        r.error(yamlsrc.line_of(node, "host"), "console: 'host' must be an address such as 127.0.0.1")
        host = "127.0.0.1"
    token = r.string(node, "token", "console") or None
    if host not in LOOPBACK and token is None:
        r.error(yamlsrc.line_of(data, "console"), f"console: host {host} is not loopback: "
                "set 'token' (a ${VAR}) so only people with it get in")
    return ConsoleSettings(port=port, host=host, token=token)
