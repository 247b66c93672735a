"""Every command in README.md runs as written: the shell lines of its ```sh / ```bash /
```console blocks, and inline `python bot.py ...` / `make ...` commands, in README order, in a
scratch copy of the repository, with this interpreter standing in for `.venv/bin/python`.
A command that needs the network, credentials, root or a service is on SKIP, with the reason."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
COPIED = ("bot.py", "policybot", "rules", "examples", "config.yaml", "deploy")
FENCE = re.compile(r"^```(?:sh|bash|console)\n(.*?)^```", re.M | re.S)
INLINE = re.compile(r"`((?:\.venv/bin/)?python (?:bot\.py|-m policybot) [^`]*|make [a-z][^`]*)`")
TEMPLATE = re.compile(r"\b[A-Z]{4,}\b")     # `python bot.py COMMAND [--config FILE]`
SKIP = (   # (pattern, why it is not run here); keep it short and explicit
    (r"^make ", "make creates .venv from PyPI (network); this suite is what `make test` runs"),
    (r"^(sudo|journalctl) ", "installs a systemd service (root)"),
    (r"^docker ", "needs a Docker engine"),
    (r" run$", "runs until stopped: tests/test_calm_log.py runs it against the fakes"),
    (r" send-test ", "posts to a real Slack or Telegram with your credentials"),
    (r" test-rules https?://", "fetches a feed from the internet"),
    (r" --since ", "needs the state of a bot that has polled config.yaml's feeds (network)"),
)


def readme_commands(text: str) -> list[str]:
    """The commands, in README order: fenced shell lines (comments and continuations joined)
    and inline commands that are not templates."""
    found: list[tuple[int, str]] = []
    for block in FENCE.finditer(text):
        for line in block.group(1).replace("\\\n", " ").splitlines():
            command = line.split("  #")[0].strip()
            if command and not command.startswith("#"):
                found.append((block.start(), command))
    for span in INLINE.finditer(text):
        if not TEMPLATE.search(span.group(1)):
            found.append((span.start(), span.group(1).strip()))
    return list(dict.fromkeys(command for _, command in sorted(found, key=lambda f: f[0])))


def skipped(command: str) -> str | None:
    return next((why for pattern, why in SKIP if re.search(pattern, command)), None)


COMMANDS = readme_commands(README.read_text(encoding="utf-8"))
RUNNABLE = [c for c in COMMANDS if skipped(c) is None]


def test_the_readme_has_the_commands_a_newcomer_types() -> None:
    assert ".venv/bin/python bot.py once --config examples/demo.yaml" in RUNNABLE
    assert any(" test-rules examples/feeds/mofcom.xml --rule " in c for c in RUNNABLE)
    assert len(RUNNABLE) >= 5, COMMANDS
    for command in COMMANDS:   # what is skipped is skipped for a reason a reader can check
        assert command in RUNNABLE or re.match(r"(make|sudo|journalctl|docker|\.venv/bin/python|"
                                               r"python) ", command), command


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the repository as a fresh clone has it (no state, no .env)."""
    root = tmp_path_factory.mktemp("clone")
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns(
                "__pycache__", "state", "*.sqlite3*"))
        else:
            shutil.copy2(source, root / name)
    return root


def as_run_here(command: str) -> str:
    """`.venv/bin/python` / `python` -> this interpreter (the suite runs in that .venv)."""
    return re.sub(r"^(?:\.venv/bin/)?python(?= )", shlex.quote(sys.executable), command)


def test_every_runnable_readme_command_succeeds(scratch: Path) -> None:
    for command in RUNNABLE:   # in order: the demo's `once` runs before `rm -r examples/state`
        result = subprocess.run(["bash", "-c", as_run_here(command)], cwd=scratch,
                                capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
        assert "Traceback" not in result.stderr, command
        if "--rule " in command:
            assert re.search(r"^[1-9]\d* of \d+ items matched$", result.stdout, re.M), command
        if "bot.py once" in command:
            assert "polled" in result.stderr and result.stdout.strip(), command
