"""One state, one bot: `run` and `once` hold an exclusive lock on a file next to the database.

`fcntl.flock` belongs to the open file: the kernel releases it when the process ends, however
it ends (kill -9 included), so a lock is never stale. The holder writes its pid into the file
so that a second bot can say who holds it. Read-only commands (`status`, `check`,
`test-rules`) take no lock.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from policybot.errors import PolicybotError


def lock_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".lock")


class StateLock:
    def __init__(self, db_path: Path) -> None:
        self.path = lock_path(db_path)
        self.db_path = db_path
        self._fd: int | None = None

    def acquire(self) -> StateLock:
        """Take the lock or raise PolicybotError naming the pid that holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise PolicybotError(f"{self.db_path}: policybot is already running (pid {holder}) "
                                 "on this state; stop it first") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.ftruncate(fd, 0)
            os.close(fd)   # closing the file releases the lock

    def __enter__(self) -> StateLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
