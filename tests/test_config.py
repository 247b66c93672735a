"""config.yaml: frozen dataclasses, every error as FILE:LINE, ${VAR} only in string values."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from policybot.config import load_config
from policybot.configread import parse_duration
from policybot.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def errors_of(path: Path, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path, env=env or {})
    return info.value.errors


def test_minimal_config_has_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "feeds: []\n"), env={})
    assert config.defaults.every == 600
    assert config.defaults.notify == ("console",)
    assert list(config.destinations) == ["console"]  # always there, even when not declared
    assert config.storage_path == tmp_path / "state" / "policybot.sqlite3"
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.defaults = None  # type: ignore[misc]


def test_feeds_and_relative_paths(tmp_path: Path) -> None:
    path = write(tmp_path, """\
defaults: {every: 10m, backfill: all, notify: [console]}
feeds:
  - id: bis
    url: https://example.org/bis.xml
    every: 15m
    tags: [us, export-controls]
  - {id: local, url: feeds/x.xml, backfill: 2d}
destinations:
  console: {type: console}
""")
    config = load_config(path, env={})
    bis, local = config.feeds
    assert (bis.every, bis.tags, bis.backfill) == (900, ("us", "export-controls"), None)
    assert local.url == str(tmp_path / "feeds" / "x.xml")
    assert local.every == 600 and local.backfill == 2 * 86400


def test_every_error_at_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, """\
storage: {path: x.db}
defaults:
  every: soon
  notify: [trade-desk]
feeds:
  - id: a
    url: https://example.org/a
    evry: 10m
  - id: a
    url: https://example.org/b
destinations:
  console: {type: consle}
colour: blue
""")
    assert errors_of(path) == [
        f"{path}:13: config: unknown key 'colour' (expected: storage, rules, defaults, feeds, "
        "destinations, telegram, slack, delivery, ops, metrics, health, fetch, console, stories)",
        f"{path}:3: defaults: 'every': expected a duration such as 30s, 10m, 8h or 1d, got 'soon'",
        f"{path}:12: destination 'console': unknown type 'consle' (expected: console, slack, telegram)",
        f"{path}:8: feed 'a': unknown key 'evry' (expected: id, url, every, tags, backfill, title) "
        "(did you mean 'every'?)",
        f"{path}:9: feed 'a': duplicate feed id (first defined on line 6)",
        f"{path}:2: unknown destination 'trade-desk' (defined: console)",
    ]


def test_duplicate_keys_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "feeds: []\nfeeds: []\n")
    assert errors_of(path) == [f"{path}:2: duplicate key 'feeds' (first defined on line 1)"]


def test_env_vars_expand_in_values_only(tmp_path: Path) -> None:
    path = write(tmp_path, """\
destinations:
  desk: {type: slack, webhook_url: "${HOOK}"}
  "${NAME}": {type: console}
""")
    config = load_config(path, env={"HOOK": "https://hooks.example/T/B/x", "NAME": "nope"})
    assert config.destinations["desk"].webhook_url == "https://hooks.example/T/B/x"
    assert "${NAME}" in config.destinations  # keys are never expanded


def test_unset_env_var_is_recorded_on_the_destination(tmp_path: Path) -> None:
    path = write(tmp_path, "destinations:\n  me: {type: telegram, token: '${TG}', chat_id: 5}\n")
    me = load_config(path, env={}).destinations["me"]
    assert me.missing_env == ("TG",) and me.line == 2


def test_dotenv_next_to_config(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("# secrets\nexport HOOK='https://hooks.example/1'\n")
    path = write(tmp_path, "destinations:\n  d: {type: slack, webhook_url: '${HOOK}'}\n")
    config = load_config(path)
    assert config.destinations["d"].webhook_url == "https://hooks.example/1"


def test_incomplete_destinations(tmp_path: Path) -> None:
    path = write(tmp_path, """\
destinations:
  a: {type: slack}
  b: {type: slack, token: xoxb-1}
  c: {type: telegram, token: "1:A"}
""")
    assert errors_of(path) == [
        f"{path}:2: destination 'a': a slack destination needs 'webhook_url', or 'token' and 'channel'",
        f"{path}:3: destination 'b': a slack bot-token destination needs 'channel'",
        f"{path}:4: destination 'c': a telegram destination needs 'token' and 'chat_id'",
    ]


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "feeds:\n  - id: a\n    url: [unclosed\n")
    (message,) = errors_of(path)
    assert message.startswith(f"{path}:4: invalid YAML:")


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("10m", 600), ("8h", 28800),
                                               ("1d", 86400), (45, 45), ("1.5h", 5400)])
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_backfill_all_and_zero() -> None:
    assert parse_duration("all", allow_all=True) is None
    assert parse_duration(0, allow_all=True) is None
    with pytest.raises(ValueError, match="duration"):
        parse_duration("all")


def test_shipped_configs_load() -> None:
    root = Path(__file__).resolve().parents[1]
    for name in ("config.yaml", "examples/demo.yaml"):
        config = load_config(root / name, env={})
        assert config.feeds, name


def test_ops_errors_are_reported_once_at_the_ops_line(tmp_path: Path) -> None:
    path = write(tmp_path, "defaults: {notify: [console]}\nops: {a: 1}\n")
    assert errors_of(path) == [f"{path}:2: config: 'ops' must be a list of names"]
    path = write(tmp_path, "defaults: {notify: [console]}\nops: [pager]\n")
    assert errors_of(path) == [f"{path}:2: unknown destination 'pager' (defined: console)"]


def test_secrets_lists_every_token_and_webhook(tmp_path: Path) -> None:
    path = write(tmp_path, """\
destinations:
  hook: {type: slack, webhook_url: "${HOOK}"}
  me: {type: telegram, token: "${TG}", chat_id: 1}
slack: {app_token: "${APP}", bot_token: "${BOT}"}
""")
    config = load_config(path, env={"HOOK": "https://hooks/x", "TG": "1:abc", "APP": "xapp-1", "BOT": "xoxb-1"})
    assert sorted(config.secrets()) == ["1:abc", "https://hooks/x", "xapp-1", "xoxb-1"]


def test_stories_window_off_and_bounds(tmp_path: Path) -> None:
    from policybot.config import MAX_STORY_WINDOW
    from policybot.errors import ConfigError
    path = tmp_path / "config.yaml"
    for text, window in (("", 72 * 3600.0), ("stories: {window: 24h}\n", 24 * 3600.0),
                         ("stories: off\n", None)):
        path.write_text(text, encoding="utf-8")
        assert load_config(path, env={}).stories_window == window
    for text, error in (("stories: {window: 8d}\n", f"at most {MAX_STORY_WINDOW / 86400:.0f}d"),
                        ("stories: yes\n", "expected {window: DURATION} or off"),
                        ("stories: {windw: 1h}\n", "unknown key 'windw'")):
        path.write_text(text, encoding="utf-8")
        with pytest.raises(ConfigError) as info:
            load_config(path, env={})
        assert f"{path}:1: stories" in str(info.value) or f"{path}:1:" in str(info.value)
        assert error in str(info.value)
