"""One running bot per database: two copies would post every digest twice.

Taken by `digest-bot run` and by the CLI's `publish`, both of which post; the commands
that only read (check, render, health) never take it.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType
from typing import Self


class AlreadyRunning(Exception):
    """Another digest-bot holds the database."""


class InstanceLock:
    """An flock on `<db>.lock`, held while the bot runs.

    flock belongs to the open file, so it also excludes a second lock in the same process,
    and the kernel drops it when the process dies however it dies.
    """

    def __init__(self, fd: int) -> None:
        self._fd = fd

    @classmethod
    def acquire(cls, db_path: Path) -> InstanceLock:
        """Take the lock, or raise AlreadyRunning naming the holder's pid."""
        db_path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = db_path.with_name(db_path.name + ".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip()
            os.close(fd)
            pid = f" (pid {holder})" if holder.isdigit() else ""
            raise AlreadyRunning(
                f"another digest-bot{pid} is already running on {db_path}; stop it first"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        # The pid is only for the message above; the lock itself is the flock.
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        return cls(fd)

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
