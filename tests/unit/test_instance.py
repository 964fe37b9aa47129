"""The single-instance lock: a second bot on the same database is refused, a dead one is not."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from bot.instance import AlreadyRunning, InstanceLock
from bot.store import Store
from tests.unit.store.conftest import run_child


async def test_the_lock_excludes_a_second_holder(tmp_path: Path) -> None:
    path = tmp_path / "data" / "bot.sqlite3"
    first = InstanceLock.acquire(path)
    try:
        with pytest.raises(AlreadyRunning) as info:
            InstanceLock.acquire(path)
        assert str(info.value) == (
            f"another digest-bot (pid {os.getpid()}) is already running on {path}; stop it first"
        )
        # Read-only tools (check, render) may still open the database without the lock.
        async with await Store.open(path) as reader:
            assert await reader.archive.count() == 0
    finally:
        first.release()
    with InstanceLock.acquire(path):
        pass


async def test_the_lock_excludes_another_process(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    child = await run_child(
        "import sys\n"
        "from pathlib import Path\n"
        "from bot.instance import InstanceLock\n"
        "lock = InstanceLock.acquire(Path(sys.argv[1]))\n"
        "print('locked', flush=True)\n"
        "sys.stdin.read()\n",
        str(path),
    )
    try:
        assert child.stdout is not None
        assert await asyncio.wait_for(child.stdout.readline(), 30) == b"locked\n"
        with pytest.raises(AlreadyRunning, match=rf"\(pid {child.pid}\) is already running"):
            InstanceLock.acquire(path)
    finally:
        child.send_signal(signal.SIGKILL)
        await child.wait()
    # The kernel drops the lock with the process, however it died.
    with InstanceLock.acquire(path):
        pass
