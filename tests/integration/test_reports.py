"""Admin reports reach each admin's private chat: two parts, once per problem per hour."""

from __future__ import annotations

from pathlib import Path

from telegram import Bot

from bot.app import build_app, serving
from bot.config import Settings
from bot.cooldown import Cooldown
from bot.reports import AdminReports
from bot.sandbox.telegram_api import TelegramEmulator
from bot.store import Store
from tests.helpers import ADMIN, BOT_FAST, GROUP, MEMBER
from tests.samples import make_due, write_digest


async def test_two_parts_once_per_problem(emulator: TelegramEmulator) -> None:
    now = [0.0]
    async with Bot(emulator.token, base_url=emulator.base_url) as bot:
        reports = AdminReports(
            bot, frozenset({ADMIN, MEMBER}), cooldown=Cooldown(3600, clock=lambda: now[0])
        )
        await reports.report("file a.md", "a.md does not load", f"bad YAML <b> {emulator.token}")
        await reports.report("file a.md", "a.md does not load", "again")
        await reports.report("file b.md", "b.md does not load")
        now[0] = 3601
        await reports.report("file a.md", "a.md does not load", "an hour later")
    texts = [m.text for m in emulator.transcript(ADMIN)]
    assert texts == [
        "⚠️ digest-bot\na.md does not load",
        "bad YAML <b> <token>",
        "⚠️ digest-bot\nb.md does not load",
        "⚠️ digest-bot\na.md does not load",
        "an hour later",
    ]
    assert emulator.transcript(ADMIN)[1].entities == [{"type": "pre", "offset": 0, "length": 20}]
    assert [m.text for m in emulator.transcript(MEMBER)] == texts


async def test_long_details_keep_their_end(emulator: TelegramEmulator) -> None:
    details = "".join(f"line {i}\n" for i in range(2000)) + "the real cause"
    async with Bot(emulator.token, base_url=emulator.base_url) as bot:
        await AdminReports(bot, frozenset({ADMIN})).report("crash", "it broke", details)
    _, body = emulator.transcript(ADMIN)
    assert body.text.endswith("the real cause") and len(body.text) <= 4096


async def test_an_admin_who_never_started_the_bot_does_not_stop_the_others(
    emulator: TelegramEmulator,
) -> None:
    async with Bot(emulator.token, base_url=emulator.base_url) as bot:
        await AdminReports(bot, frozenset({999, ADMIN})).report("x", "something")
    assert len(emulator.transcript(ADMIN)) == 1


async def test_a_broken_digest_file_is_reported(
    settings: Settings, store: Store, emulator: TelegramEmulator, content: Path
) -> None:
    write_digest(content, front="title: 没有日期", name="broken-2026-02-22.md")
    make_due(content)  # only a digest whose day it is is posted by the schedule
    async with serving(build_app(settings, store, flood=BOT_FAST)):
        await emulator.wait_for(GROUP, 6)
        headline, details = await emulator.wait_for(ADMIN, 2)
    assert headline.text.endswith("a digest file does not load: broken-2026-02-22.md")
    assert details.text == "front matter has no 'date'"
