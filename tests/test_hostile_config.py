"""Hostile or broken config.yaml, .env and state folder: `check` refuses everything `run`
would, each as one line naming the file (and line), exit 1, never a traceback."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from policybot.config import MAX_CONFIG_BYTES, load_config
from policybot.envfile import MAX_ENV_BYTES
from policybot.errors import ConfigError
from policybot.statedir import storage_errors
from tests.test_hostile_rules import bot, one_clear_line

RULES = "rules:\n  - id: r\n    match: {any: [gallium]}\n"


def world_with(tmp_path: Path, config: str) -> Path:
    (tmp_path / "rules").mkdir(exist_ok=True)
    (tmp_path / "rules" / "r.yaml").write_text(RULES)
    (tmp_path / "config.yaml").write_text(config)
    return tmp_path


def errors_of(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> list[str]:
    (tmp_path / "config.yaml").write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "config.yaml", env=env or {})
    return caught.value.errors


# durations -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "message"), [
    ("defaults: {every: -5}", "defaults: 'every' must be a duration of more than 0, got -5"),
    ("defaults: {every: 0}", "defaults: 'every' must be a duration of more than 0, got 0"),
    ("defaults: {backfill: -1}", "defaults: 'backfill' must be a duration of more than 0, got -1"),
    ("storage: {retention: -30}", "storage: 'retention' must be a duration of more than 0, got -30"),
    ("delivery: {interval: 0}", "delivery: 'interval' must be a duration of more than 0, got 0"),
    ("delivery: {once_wait: -1}", "delivery: 'once_wait' must be a duration of 0 or more, got -1"),
    ("delivery: {max_age: -1.5}", "delivery: 'max_age' must be a duration of more than 0, got -1.5"),
    ("health: {silent_min: 0}", "health: 'silent_min' must be a duration of more than 0, got 0"),
    ("feeds: [{id: f, url: f.xml, every: -5}]",
     "feed 'f': 'every' must be a duration of more than 0, got -5"),
])
def test_durations_of_zero_or_less_are_refused(tmp_path: Path, text: str, message: str) -> None:
    assert errors_of(tmp_path, text + "\n") == [f"{tmp_path}/config.yaml:1: {message}"]


def test_zero_stays_meaningful_where_it_is_documented(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(
        "defaults: {backfill: 0}\ndelivery: {once_wait: 0, digest_window: 0}\n")
    config = load_config(tmp_path / "config.yaml", env={})
    assert config.defaults.backfill is None
    assert (config.delivery.once_wait, config.delivery.digest_window) == (0.0, 0.0)


def test_check_and_run_refuse_a_negative_interval(tmp_path: Path) -> None:
    world_with(tmp_path, "feeds: [{id: f, url: f.xml, every: -5}]\n")
    for command in ("check", "run"):
        one_clear_line(bot(tmp_path, command, timeout=60),
                       "config.yaml:1: feed 'f': 'every' must be a duration of more than 0")


# URLs ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("url", ["ht!tp://x", "not a url", "api.telegram.org/bot", "http://[::1",
                                 "ftp://example.com/", "http://host:99999/", "http://host:0/"])
def test_a_malformed_api_url_is_a_located_error(tmp_path: Path, url: str) -> None:
    text = f"""\
destinations:
  me: {{type: telegram, token: t, chat_id: 1, api_url: "{url}"}}
telegram:
  token: t
  api_url: "{url}"
slack: {{app_token: a, bot_token: b, api_url: "{url}"}}
"""
    assert errors_of(tmp_path, text) == [
        f"{tmp_path}/config.yaml:2: destination 'me': 'api_url' must be an http(s) URL such as "
        f"https://host/path, got {url!r}",
        f"{tmp_path}/config.yaml:5: telegram: 'api_url' must be an http(s) URL such as "
        f"https://host/path, got {url!r}",
        f"{tmp_path}/config.yaml:6: slack: 'api_url' must be an http(s) URL such as "
        f"https://host/path, got {url!r}",
    ]


def test_a_bad_webhook_url_never_shows_the_secret(tmp_path: Path) -> None:
    text = "destinations:\n  hook: {type: slack, webhook_url: '${HOOK}'}\n"
    errors = errors_of(tmp_path, text, env={"HOOK": "hooks.slack.com/T0/SECRET"})
    assert errors == [f"{tmp_path}/config.yaml:2: destination 'hook': 'webhook_url' must be an "
                      "http(s) URL such as https://host/path"]
    inline = "destinations:\n  hook: {type: slack, webhook_url: 'hooks.slack.com/T0/SECRET'}\n"
    assert "SECRET" not in "".join(errors_of(tmp_path, inline))


def test_check_refuses_a_malformed_api_url(tmp_path: Path) -> None:
    world_with(tmp_path, 'telegram: {token: t, api_url: "ht!tp://x"}\n')
    one_clear_line(bot(tmp_path, "check"), "config.yaml:1: telegram: 'api_url' must be an http(s) URL")


# .env and config files -----------------------------------------------------------------------
def test_a_non_utf8_dotenv_is_one_line(tmp_path: Path) -> None:
    world_with(tmp_path, "feeds: []\n")
    (tmp_path / ".env").write_bytes(b"# secrets\nTOKEN=caf\xe9\n")
    for command in ("check", "once"):
        one_clear_line(bot(tmp_path, command), ".env:2: not UTF-8: invalid continuation byte")


def test_a_dotenv_over_the_size_bound_is_refused(tmp_path: Path) -> None:
    world_with(tmp_path, "feeds: []\n")
    (tmp_path / ".env").write_text("A=b\n" * (MAX_ENV_BYTES // 4 + 1))
    one_clear_line(bot(tmp_path, "check"), ".env: larger than 256 KB: refused")


def test_a_fifo_dotenv_is_refused_unread(tmp_path: Path) -> None:
    world_with(tmp_path, "feeds: []\n")
    os.mkfifo(tmp_path / ".env")
    one_clear_line(bot(tmp_path, "check", timeout=30), ".env: is a FIFO, not a regular file: refused")


def test_a_config_over_the_size_bound_is_refused(tmp_path: Path) -> None:
    assert MAX_CONFIG_BYTES == 256 << 10
    comment = "# " + "x" * 1000 + "\n"
    world_with(tmp_path, "feeds: []\n" + comment * 262)
    one_clear_line(bot(tmp_path, "check"), "config.yaml: larger than 256 KB: refused")


@pytest.mark.parametrize("kind", ["device", "fifo", "folder"])
def test_special_config_paths_are_refused_at_once(tmp_path: Path, kind: str) -> None:
    world_with(tmp_path, "feeds: []\n")
    path = tmp_path / "special.yaml"
    if kind == "device":
        path.symlink_to("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(path)
    else:
        path.mkdir()
    said = {"device": "a device", "fifo": "a FIFO", "folder": "a folder"}[kind]
    one_clear_line(bot(tmp_path, "check", "--config", "special.yaml", timeout=30),
                   f"special.yaml: is {said}, not a regular file: refused")


# state folder ----------------------------------------------------------------------------------
@pytest.mark.parametrize("where", ["file/state", "/proc/policybot-state"])
def test_an_unwritable_state_folder_is_named_by_check_and_once(tmp_path: Path, where: str) -> None:
    (tmp_path / "file").write_text("a regular file, where a folder should be")
    world_with(tmp_path, f"storage: {{path: {where}/db.sqlite3}}\nfeeds: []\n")
    state = (tmp_path / where / "db.sqlite3") if not where.startswith("/") else Path(where) / "db.sqlite3"
    config = load_config(tmp_path / "config.yaml", env={})
    (error,) = storage_errors(config)
    assert error.startswith(f"{tmp_path}/config.yaml: storage: cannot write the state database "
                            f"{state}: ")
    for command in ("check", "once"):
        one_clear_line(bot(tmp_path, command), f"storage: cannot write the state database {state}")


def test_a_writable_state_folder_is_left_unchanged_by_the_check(tmp_path: Path) -> None:
    world_with(tmp_path, "storage: {path: state/deeper/db.sqlite3}\nfeeds: []\n")
    assert storage_errors(load_config(tmp_path / "config.yaml", env={})) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml", "rules"]


# ${VAR} in every section in use --------------------------------------------------------------
def test_check_refuses_unset_variables_in_the_chat_sections(tmp_path: Path) -> None:
    world_with(tmp_path, """\
feeds: []
telegram:
  token: "${TG_TOKEN}"
slack: {app_token: "${APP}", bot_token: "${BOT}"}
""")
    result = bot(tmp_path, "check")
    one_clear_line(result, "config.yaml:2: telegram: environment variable TG_TOKEN is not set")
    assert "config.yaml:4: slack: environment variables APP, BOT are not set" in result.stderr


def test_unset_variables_in_a_feed_url_or_the_state_path_are_errors(tmp_path: Path) -> None:
    text = """\
storage: {path: "${STATE}/db.sqlite3"}
feeds:
  - {id: f, url: "https://feeds.example/${FEED_KEY}/${OTHER}/rss"}
"""
    assert errors_of(tmp_path, text) == [
        f"{tmp_path}/config.yaml:3: feed 'f': 'url': environment variables FEED_KEY, OTHER are not set",
        f"{tmp_path}/config.yaml:1: storage: 'path': environment variable STATE is not set",
    ]


# secrets -----------------------------------------------------------------------------------------
def test_a_variable_in_a_feed_url_is_a_secret(tmp_path: Path) -> None:
    text = "feeds: [{id: f, url: 'https://feeds.example/${FEED_KEY}/rss'}]\n"
    (tmp_path / "config.yaml").write_text(text)
    config = load_config(tmp_path / "config.yaml", env={"FEED_KEY": "k-3141592653"})
    assert "k-3141592653" in config.secrets()


def test_a_feed_url_secret_stays_out_of_logs_and_status(tmp_path: Path, feed_server: Any) -> None:
    secret = "feedkey-2718281828"
    feed_server.add(secret, b"", status=500)
    world_with(tmp_path, f"""\
storage: {{path: state.db}}
feeds: [{{id: f, url: "{feed_server.base_url}/${{FEED_KEY}}"}}]
""")
    (tmp_path / ".env").write_text(f"FEED_KEY={secret}\n")
    once = bot(tmp_path, "once")
    assert once.returncode == 0, once.stderr
    assert feed_server.requests_to(secret)   # the feed was asked for, with the key
    status = bot(tmp_path, "status")
    assert status.returncode == 0, status.stderr
    assert "HTTP 500" in status.stdout and "HTTP 500" in once.stderr
    assert secret not in once.stderr + once.stdout + status.stdout + status.stderr
