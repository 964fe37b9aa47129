"""The release rule's day: the last one whose publication window has opened."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bot.config import load_settings
from bot.release import released
from bot.sandbox.telegram_api import TelegramEmulator
from tests.helpers import GROUP_NAME, write_config


def test_the_window_of_today_opens_at_the_publish_time(tmp_path: Path) -> None:
    emulator = TelegramEmulator()
    config = write_config(tmp_path, emulator, tmp_path, time="08:00", thread_id=3)
    settings = load_settings(config, env={})
    shanghai = dt.timezone(dt.timedelta(hours=8))
    before = dt.datetime(2026, 12, 1, 7, 59, 59, tzinfo=shanghai)
    at = dt.datetime(2026, 12, 1, 8, 0, tzinfo=shanghai)
    assert released(settings, before).through == dt.date(2026, 11, 30)
    assert released(settings, at).through == dt.date(2026, 12, 1)
    rule = released(settings, at.astimezone(dt.UTC))
    assert (rule.chat, rule.thread_id, rule.through) == (f"@{GROUP_NAME}", 3, dt.date(2026, 12, 1))
