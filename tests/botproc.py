"""`python bot.py ...` as a user runs it: a subprocess whose log the test can wait on."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")
WAIT = 60.0   # generous: the machine may be busy; a test waits for events, never for time


class BotProcess:
    """A running `bot.py` subcommand; its stderr (the log) is collected line by line."""

    def __init__(self, config: Path, command: str = "run", env: dict[str, str] | None = None,
                 entry: Sequence[str] = ("bot.py",),
                 preexec_fn: Callable[[], None] | None = None) -> None:
        args = [str(ROOT / entry[0]), *entry[1:]] if entry[0].endswith(".py") else list(entry)
        self.proc = subprocess.Popen([sys.executable, *args, command, "--config", str(config)],
                                     cwd=config.parent, env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True, preexec_fn=preexec_fn)
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def log(self) -> str:
        with self._changed:
            return "".join(self.lines)

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self.lines.append("")   # end of the log
            self._changed.notify_all()

    def wait_log(self, pattern: str, timeout: float = WAIT) -> str:
        """Wait for a log line matching `pattern` (a regex); returns it."""
        regex = re.compile(pattern)
        seen = 0
        with self._changed:
            while True:
                for line in self.lines[seen:]:
                    if regex.search(line):
                        return line
                seen = len(self.lines)
                if self.lines and self.lines[-1] == "":
                    raise AssertionError(f"bot exited without logging {pattern!r}:\n{self.log_text()}")
                if not self._changed.wait(timeout):
                    raise AssertionError(f"no log line {pattern!r} within {timeout}s:\n{self.log_text()}")

    def log_text(self) -> str:
        return "".join(self.lines)

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def wait(self, timeout: float = WAIT) -> int:
        code = self.proc.wait(timeout)
        self._reader.join(timeout)
        if self.proc.stderr is not None and not self._reader.is_alive():
            self.proc.stderr.close()
        return code

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.wait()


def wait_for(condition: Callable[[], T], timeout: float = WAIT, what: str = "condition") -> T:
    """Wait for something a fake records (a request, a message) and return it (the condition's
    first truthy value). The fakes run in threads of this process; they offer no callbacks, so
    this checks each time the reader is woken."""
    done = threading.Event()
    deadline = threading.Timer(timeout, done.set)
    deadline.start()
    try:
        while not (value := condition()):
            if done.wait(0.02):
                raise AssertionError(f"{what}: not met within {timeout}s")
        return value
    finally:
        deadline.cancel()


def wait_until(condition: Callable[[], bool], timeout: float = WAIT,
               what: str = "condition") -> None:
    wait_for(condition, timeout, what)


def http_get(url: str) -> tuple[int, str]:
    """(status, body) of a GET to a running bot's loopback endpoint; error statuses too."""
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:  # noqa: S310 - loopback
            return int(resp.status), resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def healthz(proc: BotProcess) -> tuple[int, str]:
    """GET /healthz of a running bot whose config has `metrics: {port: 0}`."""
    line = proc.wait_log(r"metrics on http://[\d.]+:\d+/metrics")
    port = re.search(r":(\d+)/metrics", line).group(1)   # type: ignore[union-attr]
    return http_get(f"http://127.0.0.1:{port}/healthz")


def bot(config: Path, *args: str, env: dict[str, str] | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "bot.py"), *args, "--config", str(config)],
                          cwd=config.parent, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)
