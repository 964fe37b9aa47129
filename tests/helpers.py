"""What the test fixtures and the benchmarks share: the chats and users of the emulated
Telegram, quick flood limits both sides agree on, a config.toml pointing at it, and
how a test acts as a member (ask, then read what the bot answered)."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import replace
from pathlib import Path
from typing import Any

from telegram.ext import Application

from bot.browsing import Browsing
from bot.flood import FloodLimits as BotFloodLimits
from bot.sandbox.telegram_api import FloodLimits, SentMessage, TelegramEmulator
from bot.services import Services, attach, services_of

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
    content_keys: str = "",
    **publish: object,
) -> Path:
    """A config.toml for a bot that talks to the emulator; `publish` overrides keys of
    [publish], `content_keys` are more TOML lines of [content], and `extra` is appended
    as TOML. Files are taken as soon as written unless `settle_seconds` says otherwise."""
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
{content_keys}
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


class FakeClock:
    """The bot's clocks (the members' pace and the release rule's "now") moved by hand,
    so a test can stand a minute later, or before a publish time, without waiting."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now
        self.seconds = 1000.0

    def monotonic(self) -> float:
        return self.seconds

    def wall(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.seconds += seconds
        self.now += dt.timedelta(seconds=seconds)


def with_clock(app: Application[Any, Any, Any, Any, Any, Any], clock: FakeClock) -> Services:
    """Make the application's services read `clock`; returns them."""
    services = replace(services_of(app), browsing=Browsing(clock=clock.monotonic), clock=clock.wall)
    attach(app, services)
    return services


async def ask(
    emu: TelegramEmulator,
    chat: int,
    user: int,
    command: str,
    *,
    expect: int = 1,
    thread_id: int | None = None,
    language_code: str = "zh-hans",
) -> list[SentMessage]:
    """Send a command as a user; the messages the bot posted in answer."""
    before = len(emu.transcript(chat))
    emu.command(chat, user, command, thread_id=thread_id, language_code=language_code)
    return (await emu.wait_for(chat, before + expect, timeout=15))[before:]


async def silence(emu: TelegramEmulator, chat: int, user: int, command: str) -> None:
    """Send a command and check that the bot, once it took the update, said nothing."""
    before = len(emu.transcript(chat))
    update_id = emu.command(chat, user, command)
    for _ in range(50):  # until the bot confirmed the update
        await asyncio.sleep(0.05)
        if all(u["update_id"] != update_id for u in emu.pending_updates):
            break
    await asyncio.sleep(0.3)
    assert len(emu.transcript(chat)) == before


def buttons(message: SentMessage) -> list[dict[str, Any]]:
    return [b for row in (message.reply_markup or {}).get("inline_keyboard", []) for b in row]


def refused(emu: TelegramEmulator) -> list[tuple[str, int | None]]:
    """Requests the strict emulator refused; getUpdates is left out: the poll cut short
    at shutdown is answered 409."""
    return [
        (r.method, r.status)
        for r in emu.requests
        if r.status not in (200, None) and r.method != "getUpdates"
    ]
