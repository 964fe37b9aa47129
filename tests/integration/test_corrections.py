"""Corrections: a changed digest file edits the posted messages in place, never reposts."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.app import build_app, serving
from bot.config import Settings, load_settings
from bot.digest import load_digest
from bot.render import render_digest
from bot.sandbox.telegram_api import TelegramEmulator
from bot.services import services_of
from bot.store import Store
from tests.helpers import ADMIN, BOT_FAST, GROUP, write_config
from tests.integration.test_cli import digest_bot
from tests.samples import SAMPLE, make_due


def edit_file(content: Path, old: str, new: str) -> Path:
    path = content / SAMPLE.name
    path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    return path


async def test_cli_update_edits_only_the_changed_messages(
    tmp_path: Path, emulator: TelegramEmulator, content: Path
) -> None:
    config = write_config(tmp_path, emulator, content)
    status, _, err = await digest_bot("--config", config, "publish", "--date", "2026-02-21")
    assert status == 0, err
    path = edit_file(content, "推理能力翻倍", "推理能力提升一倍")
    status, out, _ = await digest_bot("--config", config, "publish", "--update")
    assert status == 0
    assert out.strip() == "@ai_news_plus: edited 1 message(s) of 2026-02-21-ai-daily, 5 unchanged"
    posted = emulator.transcript(GROUP)
    assert len(posted) == 6
    assert [m.edited for m in posted] == [0, 1, 0, 0, 0, 0]
    expected = render_digest(load_digest(path)).messages
    assert posted[1].text == expected[1].text
    assert posted[1].entities == [e.to_dict() for e in expected[1].entities]
    status, out, _ = await digest_bot("--config", config, "publish", "--update")
    assert "edited 0 message(s)" in out and "6 unchanged" in out


async def test_update_refuses_when_the_message_count_changed(
    tmp_path: Path, emulator: TelegramEmulator, content: Path
) -> None:
    config = write_config(tmp_path, emulator, content)
    await digest_bot("--config", config, "publish", "--date", "2026-02-21")
    edit_file(content, "## 更多动态", "## 新的一节\n\n新内容\n\n## 更多动态")
    status, out, _ = await digest_bot("--config", config, "publish", "--update")
    assert status == 1
    assert "cannot edit 2026-02-21-ai-daily in place: it is now 7 messages, not 6" in out
    assert "use --force" in out
    assert all(m.edited == 0 for m in emulator.transcript(GROUP))


async def test_a_text_cover_is_corrected_as_text(
    settings: Settings, store: Store, emulator: TelegramEmulator, content: Path
) -> None:
    digest = load_digest(make_due(content))
    emulator.refuse_photo(digest.cover or "")
    async with serving(build_app(settings, store, flood=BOT_FAST)) as app:
        await emulator.wait_for(GROUP, 6)
        path = edit_file(content, "定价持平", "价格不变")
        publisher = services_of(app).publisher
        correction = await publisher.correct(load_digest(path), settings.publish.targets[0])
    assert (correction.edited, correction.refused) == (2, None)
    cover = emulator.transcript(GROUP)[0]
    assert cover.method == "sendMessage" and "价格不变" in (cover.text or "")


async def test_admin_updates_from_telegram(
    tmp_path: Path, emulator: TelegramEmulator, content: Path
) -> None:
    config = write_config(tmp_path, emulator, content, time="23:59")
    await digest_bot("--config", config, "publish", "--date", "2026-02-21")
    edit_file(content, "推理能力翻倍", "推理能力提升一倍")
    settings = load_settings(config, env={})
    async with (
        await Store.open(settings.storage.path) as store,
        serving(build_app(settings, store, flood=BOT_FAST)),
    ):
        emulator.command(ADMIN, ADMIN, "/publish 2026-02-21 update")
        (preview,) = await emulator.wait_for(ADMIN, 1)
        assert "将就地修改已发布的消息" in (preview.text or "")
        (go, _cancel) = preview.reply_markup["inline_keyboard"][0]
        assert go["callback_data"] == "p:2026-02-21-ai-daily:update"
        emulator.press(ADMIN, ADMIN, preview.message_id, go["callback_data"])
        for _ in range(100):
            await asyncio.sleep(0.05)
            if emulator.transcript(ADMIN)[-1].text == "已修改 1 条消息。":
                break
    assert emulator.transcript(ADMIN)[-1].text == "已修改 1 条消息。"
    assert len(emulator.transcript(GROUP)) == 6
