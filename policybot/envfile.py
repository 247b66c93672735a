""".env next to config.yaml: KEY=value lines that fill ${VAR} (never over the environment)."""

from __future__ import annotations

from pathlib import Path

from policybot import yamlsrc
from policybot.errors import ConfigError

MAX_ENV_BYTES = 256 << 10   # a real .env is a few lines


def read_dotenv(path: Path) -> dict[str, str]:
    """KEY=value lines; # comments; optional quotes. Never overrides the real environment."""
    values: dict[str, str] = {}
    if not path.exists():
        return values
    data = yamlsrc.read_bytes(path, MAX_ENV_BYTES)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        number = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(f"{path}:{number}: not UTF-8: {exc.reason}") from None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        values[key.strip()] = value.strip().strip("'\"")
    return values


def unset_env(names: tuple[str, ...]) -> str:
    plural = "s" if len(names) > 1 else ""
    return f"environment variable{plural} {', '.join(names)} {'are' if plural else 'is'} not set"
