"""Shared fixtures: a strict local Bot API emulator, a config pointing at it, a real store.

Nothing here mocks python-telegram-bot or SQLite: the bot talks HTTP to the emulator
through `telegram.api_base_url`, and writes a real database file under tmp_path.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import Settings, load_settings
from bot.sandbox.telegram_api import TelegramEmulator
from bot.store import Store
from tests.helpers import ADMIN, FAST, GROUP, GROUP_NAME, MEMBER, write_config
from tests.samples import SAMPLE


@pytest.fixture
async def emulator() -> AsyncIterator[TelegramEmulator]:
    async with TelegramEmulator(flood=FAST) as emu:
        emu.add_chat(GROUP, type="supergroup", username=GROUP_NAME, title="AI News+")
        emu.add_chat(ADMIN, type="private")
        emu.add_chat(MEMBER, type="private")
        yield emu


@pytest.fixture
def content(tmp_path: Path) -> Path:
    folder = tmp_path / "content"
    folder.mkdir()
    shutil.copy(SAMPLE, folder / SAMPLE.name)
    return folder


@pytest.fixture
def settings(tmp_path: Path, emulator: TelegramEmulator, content: Path) -> Settings:
    return load_settings(write_config(tmp_path, emulator, content), env={})


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[Store]:
    async with await Store.open(settings.storage.path) as opened:
        yield opened
