"""A hostile member and a busy group, acted out through the strict emulator: forged
buttons change nothing, no chat starves another, every command gets an answer."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import build_app, serving
from bot.config import load_settings
from bot.flood import FloodLimits as BotFloodLimits
from bot.publisher import Retries
from bot.sandbox.telegram_api import TelegramEmulator
from bot.services import Services, services_of
from bot.store import Store
from tests.helpers import ADMIN, BOT_FAST, GROUP, GROUP_NAME, MEMBER, ask, buttons, write_config
from tests.samples import make_due

QUIET = {"time": "23:59", "catch_up_hours": 0}  # the schedule out of the way


@pytest.fixture
async def bot(tmp_path: Path, emulator: TelegramEmulator, content: Path) -> AsyncIterator[Services]:
    """The bot polling the emulator, the sample already posted to the group."""
    make_due(content)
    settings = load_settings(write_config(tmp_path, emulator, content), env={})
    async with await Store.open(settings.storage.path) as store:
        app = build_app(settings, store, flood=BOT_FAST, retries=Retries(attempts=2))
        async with serving(app):
            await emulator.wait_for(GROUP, 6)
            yield services_of(app)
    assert emulator.violations == []


async def answered(emu: TelegramEmulator, count: int) -> list[dict]:
    for _ in range(100):
        if len(emu.callback_answers) >= count:
            break
        await asyncio.sleep(0.05)
    return emu.callback_answers


@pytest.mark.parametrize("data", ["a:0:", "T:0:", "s:0:AI", "t:0:ai日报", "d:2026-02-21-ai-daily"])
async def test_forged_buttons_on_the_groups_posts_change_nothing(
    bot: Services, emulator: TelegramEmulator, data: str
) -> None:
    """Any data against a posted digest part, from three accounts: a polite toast each,
    no edit, no message."""
    before = len(emulator.transcript(GROUP))
    cover, section = emulator.transcript(GROUP)[:2]
    for user, target in ((MEMBER, cover), (MEMBER + 1, section), (MEMBER + 2, section)):
        emulator.press(GROUP, user, target.message_id, data, forged=True)
    answers = await answered(emulator, 3)
    assert [a.get("text") for a in answers] == ["这个按钮已经失效了，请重新发送命令。"] * 3
    await asyncio.sleep(0.3)
    assert emulator.edits(GROUP) == []
    assert len(emulator.transcript(GROUP)) == before


async def test_a_forged_open_button_on_a_group_page_posts_no_digest(
    bot: Services, emulator: TelegramEmulator
) -> None:
    """The group's archive page has deep links, not callbacks: `d:` against it is forged."""
    (page,) = await ask(emulator, GROUP, MEMBER, "/archive")
    before = len(emulator.transcript(GROUP))
    emulator.press(GROUP, MEMBER + 1, page.message_id, "d:2026-02-21-ai-daily", forged=True)
    (toast,) = await answered(emulator, 1)
    assert toast.get("text") == "这个按钮已经失效了，请重新发送命令。"
    await asyncio.sleep(0.3)
    assert len(emulator.transcript(GROUP)) == before
    assert emulator.edits(GROUP) == []


async def test_the_real_buttons_still_work(bot: Services, emulator: TelegramEmulator) -> None:
    (page,) = await ask(emulator, MEMBER, MEMBER, "/archive")
    emulator.press(MEMBER, MEMBER, page.message_id, buttons(page)[0]["callback_data"])
    sent = await emulator.wait_for(MEMBER, 7)
    assert sent[1].method == "sendPhoto"


async def test_admin_commands_in_a_group_are_paced_and_say_nothing_private(
    bot: Services, emulator: TelegramEmulator, content: Path
) -> None:
    (content / "2026-03-01-secret-name.md").write_text("no front matter", encoding="utf-8")
    before = len(emulator.transcript(GROUP))
    for _ in range(10):
        emulator.command(GROUP, ADMIN, "/status")
        await asyncio.sleep(0.4)
    await asyncio.sleep(0.5)
    replies = [m.text or "" for m in emulator.transcript(GROUP)[before:]]
    assert replies[:3] == ["请在与我的私聊中发布。"] * 3
    assert len(replies) == 4 and replies[3].startswith("慢一点")
    assert not any("secret-name" in text for text in replies)
    (help_text,) = await ask(emulator, GROUP, ADMIN + 1, "/help")
    assert "/publish" not in (help_text.text or "") and "/latest" in (help_text.text or "")


async def test_a_reply_that_fails_once_still_ends_in_an_apology(
    bot: Services, emulator: TelegramEmulator
) -> None:
    emulator.fail_next("sendMessage", "500")
    (apology,) = await ask(emulator, MEMBER, MEMBER, "/help")
    assert apology.text == "抱歉，出了点问题，请稍后再试。"


async def test_edited_messages_never_run_commands(
    bot: Services, emulator: TelegramEmulator
) -> None:
    await ask(emulator, MEMBER, MEMBER, "/help")
    original = max(emulator._chats[MEMBER].incoming)  # the member's /help
    before = len(emulator.transcript(MEMBER))
    emulator.edit(MEMBER, original, "/search AI")
    await asyncio.sleep(0.8)
    assert len(emulator.transcript(MEMBER)) == before


async def test_a_lone_surrogate_is_just_text(
    bot: Services, emulator: TelegramEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        (answer,) = await ask(emulator, MEMBER, MEMBER, "/search 芯\ud800片")
    assert answer.text == "没有找到「芯\ufffd片」。"
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert len(emulator.transcript(ADMIN)) == 0


async def test_a_busy_group_starves_no_private_chat(tmp_path: Path, content: Path) -> None:
    """Telegram's real limits: the group's 20 a minute are spent by its members, yet every
    private command is answered within a second or two, and nothing earns a 429."""
    async with TelegramEmulator() as emu:
        emu.add_chat(GROUP, type="supergroup", username=GROUP_NAME)
        members = [5000 + i for i in range(30)]
        privates = [7000 + i for i in range(12)]
        for user in (*members, *privates):
            emu.add_chat(user, type="private")
        settings = load_settings(write_config(tmp_path, emu, content, **QUIET), env={})
        async with (
            await Store.open(settings.storage.path) as store,
            serving(build_app(settings, store, flood=BotFloodLimits())),
        ):
            for user in members:
                emu.command(GROUP, user, "/archive")
            await asyncio.sleep(0.5)  # the group's queue is full of waiting replies
            waits = []
            for user in privates:
                started = time.monotonic()
                emu.command(user, user, "/help")
                await emu.wait_for(user, 1, timeout=10)
                waits.append(time.monotonic() - started)
            # Those the group could not take within 10 s get their answer in private.
            await asyncio.sleep(11)
        moved = [u for u in members if emu.transcript(u)]
        in_group = len(emu.transcript(GROUP))
    assert max(waits) < 2.0, waits
    assert in_group <= 20 and in_group + len(moved) == len(members)
    for user in moved:
        (answer,) = emu.transcript(user)
        assert answer.text.startswith(
            f"Chat {GROUP} 里消息太多，暂时发不出去，所以回复发到了这里："
        )
        assert "往期日报" in answer.text
    assert [r for r in emu.requests if r.status == 429] == []
    assert emu.violations == []


async def test_publication_and_replies_in_one_group_share_one_budget(
    tmp_path: Path, content: Path
) -> None:
    """The digest goes to @ai_news_plus, replies go to its id: one budget, so members
    using the group while the digest is posted cause no 429 and no early send."""
    async with TelegramEmulator() as emu:
        emu.add_chat(GROUP, type="supergroup", username=GROUP_NAME)
        make_due(content)
        settings = load_settings(write_config(tmp_path, emu, content), env={})
        async with (
            await Store.open(settings.storage.path) as store,
            serving(build_app(settings, store, flood=BotFloodLimits())),
        ):
            for user in range(5000, 5008):
                emu.command(GROUP, user, "/help")
                await asyncio.sleep(0.3)
            await emu.wait_for(GROUP, 6 + 8, timeout=30)
    assert [r for r in emu.requests if r.status == 429] == []
    assert emu.violations == []
