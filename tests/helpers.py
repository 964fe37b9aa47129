"""What the test fixtures and the benchmarks share: the chats and users of the emulated
Telegram, quick flood limits both sides agree on, and a config.toml pointing at it."""

from __future__ import annotations

from pathlib import Path

from bot.flood import FloodLimits as BotFloodLimits
from bot.sandbox.telegram_api import FloodLimits, TelegramEmulator

GROUP = -1001234567890
GROUP_NAME = "ai_news_plus"
ADMIN = 1001
MEMBER = 2002
# Quick limits for tests where pacing is not the point; the bot and the emulator agree.
FAST = FloodLimits(per_chat_interval=0.05, group_per_minute=1000, global_per_second=1000)
BOT_FAST = BotFloodLimits(
    chat_interval=FAST.per_chat_interval,
    group_per_minute=FAST.group_per_minute,
    overall_per_second=FAST.global_per_second,
    margin=0.01,
)


def write_config(
    folder: Path,
    emulator: TelegramEmulator,
    content: Path,
    *,
    extra: str = "",
    settle_seconds: float = 0,
    **publish: object,
) -> Path:
    """A config.toml for a bot that talks to the emulator; `publish` overrides keys of
    [publish], and `extra` is appended as TOML. Files are taken as soon as they are
    written unless `settle_seconds` says otherwise."""
    keys = {"chat": f"@{GROUP_NAME}", "time": "00:00", "catch_up_hours": 24} | publish
    lines = "\n".join(f"{key} = {_toml(value)}" for key, value in keys.items())
    path = folder / "config.toml"
    path.write_text(
        f"""
[telegram]
token = "{emulator.token}"
api_base_url = "{emulator.base_url}"
[publish]
timezone = "Asia/Shanghai"
{lines}
[content]
dir = "{content}"
settle_seconds = {settle_seconds}
[storage]
path = "{folder / "data" / "bot.sqlite3"}"
[admins]
user_ids = [{ADMIN}]
{extra}
""",
        encoding="utf-8",
    )
    return path


def _toml(value: object) -> str:
    return f'"{value}"' if isinstance(value, str) else str(value).lower()
