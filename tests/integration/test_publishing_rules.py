"""What an operator relies on: the right digest on its day, whole files only, a digest
known by its content, resume instead of repeat, pins, and the admin's summary."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from pathlib import Path

from bot.app import build_app, serving
from bot.config import Settings, load_settings
from bot.digest import load_digest
from bot.health import heartbeat_path, problems
from bot.publisher import Retries
from bot.publishing import publish_due
from bot.sandbox.telegram_api import TelegramEmulator
from bot.services import Services, services_of
from bot.store import Store
from tests.helpers import ADMIN, BOT_FAST, GROUP, MEMBER, write_config
from tests.samples import SAMPLE, make_due, write_digest

QUICK_RETRIES = Retries(attempts=2, first_delay=0.05, read_timeout=1.0)
SHANGHAI = dt.timezone(dt.timedelta(hours=8))
TODAY = dt.datetime.now(SHANGHAI).date()


def app_for(settings: Settings, store: Store):  # type: ignore[no-untyped-def]
    return build_app(settings, store, flood=BOT_FAST, retries=QUICK_RETRIES)


def settings_with(tmp_path: Path, emu: TelegramEmulator, content: Path, **keys: object) -> Settings:
    return load_settings(write_config(tmp_path, emu, content, **keys), env={})


async def settle(emu: TelegramEmulator, seconds: float = 0.5) -> None:
    """Give the bot time to do what it should not do."""
    await asyncio.sleep(seconds)


def digest_on(content: Path, day: dt.date, name: str, body: str = "## 节\n\n内容") -> Path:
    return write_digest(content, front=f"title: {day} 的日报\ndate: {day}", body=body, name=name)


# -- what is due ------------------------------------------------------------------------


async def test_an_old_digest_is_never_posted_by_itself_and_status_says_so(
    settings: Settings, store: Store, emulator: TelegramEmulator
) -> None:
    """The bundled sample (2026-02-21) on a real run today: nothing reaches the group."""
    async with serving(app_for(settings, store)):
        await settle(emulator, 1.5)
        assert emulator.transcript(GROUP) == []
        emulator.command(ADMIN, ADMIN, "/status")
        (status,) = await emulator.wait_for(ADMIN, 1)
    assert "过了发布时段、从未发布" in (status.text or "")
    assert "2026-02-21 2026-02-21-ai-daily.md" in (status.text or "")
    code = [e for e in status.entities if e["type"] == "code"]
    assert code, "file names are code, not links"


def at(day: dt.date, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=SHANGHAI)


async def test_a_window_that_crosses_midnight(
    tmp_path: Path, emulator: TelegramEmulator, content: Path
) -> None:
    """time 23:50 with one hour to catch up: a bot up at 00:10 still posts yesterday's."""
    day = dt.date(2026, 2, 21)
    settings = settings_with(tmp_path, emulator, content, time="23:50", catch_up_hours=1)
    async with await Store.open(settings.storage.path) as store:
        app = app_for(settings, store)
        async with app:
            services = services_of(app)
            assert await publish_due(services, at(day, 23, 49)) == []
            assert await publish_due(services, at(day + dt.timedelta(days=1), 0, 51)) == []
            (outcome,) = await publish_due(services, at(day + dt.timedelta(days=1), 0, 10))
            assert outcome.done and outcome.publication.slug == "2026-02-21-ai-daily"


async def test_no_catch_up_means_the_minute_of_the_time(
    tmp_path: Path, emulator: TelegramEmulator, content: Path
) -> None:
    day = dt.date(2026, 2, 21)
    settings = settings_with(tmp_path, emulator, content, time="08:00", catch_up_hours=0)
    async with await Store.open(settings.storage.path) as store:
        app = app_for(settings, store)
        async with app:
            services = services_of(app)
            assert await publish_due(services, at(day, 8, 1, 1)) == []  # missed: not later
            (outcome,) = await publish_due(
                services,
                at(
                    day,
                    8,
                    0,
                    0,
                )
                + dt.timedelta(milliseconds=7),
            )
            assert outcome.done


async def test_no_catch_up_posts_at_start_up_within_that_minute(
    tmp_path: Path, emulator: TelegramEmulator, content: Path
) -> None:
    """Real clock: started in the publishing minute, the bot posts at once."""
    make_due(content)
    now = dt.datetime.now(SHANGHAI)
    if now.second > 55:
        await asyncio.sleep(61 - now.second)
        now = dt.datetime.now(SHANGHAI)
    settings = settings_with(
        tmp_path, emulator, content, time=now.strftime("%H:%M"), catch_up_hours=0
    )
    async with (
        await Store.open(settings.storage.path) as store,
        serving(app_for(settings, store)),
    ):
        await emulator.wait_for(GROUP, 6, timeout=10)


async def test_the_start_up_check_runs_however_long_start_up_took(
    settings: Settings, store: Store, emulator: TelegramEmulator, content: Path
) -> None:
    """The jobs are scheduled when the app is built; a slow start must not skip them."""
    make_due(content)
    app = app_for(settings, store)
    await asyncio.sleep(2.5)  # a long content sync between building and starting
    started = time.monotonic()
    async with serving(app):
        await emulator.wait_for(GROUP, 6, timeout=10)
        await wait_healthy(settings)
    assert time.monotonic() - started < 8


async def wait_healthy(settings: Settings, within: float = 5) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if heartbeat_path(settings).exists() and not await problems(
            settings, dt.datetime.now(dt.UTC)
        ):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(await problems(settings, dt.datetime.now(dt.UTC)))


async def test_health_is_ok_as_soon_as_the_bot_polls(
    settings: Settings, store: Store, emulator: TelegramEmulator
) -> None:
    started = time.monotonic()
    async with serving(app_for(settings, store)):
        await wait_healthy(settings, within=3)
    assert time.monotonic() - started < 3


# -- whole files only -------------------------------------------------------------------


async def test_a_file_still_being_written_is_taken_only_once_whole(
    tmp_path: Path, emulator: TelegramEmulator, content: Path
) -> None:
    """Real clock, settle 1 s: the bot sees 2 sections, the writer adds 4 more; the group
    gets all 6, once."""
    (content / SAMPLE.name).unlink()
    sections = [f"## 第{i}节\n\n内容{i}" for i in range(6)]
    path = digest_on(content, TODAY, "today.md", "\n\n".join(sections[:2]))
    settings = load_settings(write_config(tmp_path, emulator, content, settle_seconds=1.0), env={})
    async with (
        await Store.open(settings.storage.path) as store,
        serving(app_for(settings, store)),
    ):
        for count in range(3, 7):  # still being written, a part every 0.3 s
            await asyncio.sleep(0.3)
            digest_on(content, TODAY, path.name, "\n\n".join(sections[:count]))
        await emulator.wait_for(GROUP, 7, timeout=10)
        await settle(emulator, 1.5)
    assert len(emulator.transcript(GROUP)) == 7  # the cover and 6 sections


async def test_editor_and_download_leftovers_are_ignored(
    settings: Settings, store: Store, emulator: TelegramEmulator, content: Path
) -> None:
    (content / SAMPLE.name).unlink()
    for name in ("~today.md", ".today.md", "#today.md#", "today~.md", "today.tmp.md"):
        digest_on(content, TODAY, name)
    async with serving(app_for(settings, store)):
        await settle(emulator, 1.5)
    assert emulator.transcript(GROUP) == []
    assert await store.archive.count() == 0


# -- identity by content ----------------------------------------------------------------


async def test_a_renamed_or_resaved_file_is_not_posted_again(
    settings: Settings, store: Store, emulator: TelegramEmulator, content: Path
) -> None:
    path = make_due(content)
    app = app_for(settings, store)
    async with app:
        services = services_of(app)
        (first,) = await publish_due(services, dt.datetime.now(dt.UTC))
        renamed = path.rename(content / "renamed.md")
        assert await publish_due(services, dt.datetime.now(dt.UTC)) == []
        renamed.write_bytes(renamed.read_bytes())  # saved again, unchanged
        assert await publish_due(services, dt.datetime.now(dt.UTC)) == []
        # Renamed and changed: a correction, not a new post.
        text = renamed.read_text(encoding="utf-8").replace("推理能力翻倍", "推理能力提升一倍")
        renamed.unlink()
        (content / "again.md").write_text(text, encoding="utf-8")
        assert await publish_due(services, dt.datetime.now(dt.UTC)) == []
        posted = await services.ledger.publication("again", "@ai_news_plus", None)
        assert posted is not None and posted.id == first.publication.id  # the slug followed
        (correction,) = [c for _, c in await correct_everywhere(services, "again.md", content)]
        assert correction.edited == 1
    assert len(emulator.transcript(GROUP)) == 6


async def correct_everywhere(services: Services, name: str, content: Path):  # type: ignore[no-untyped-def]
    from bot.publishing import correct_everywhere as correct

    return await correct(services, load_digest(content / name))


# -- resume, not repeat -----------------------------------------------------------------


async def test_publish_on_a_paused_publication_offers_the_missing_parts(
    settings: Settings, store: Store, emulator: TelegramEmulator, content: Path
) -> None:
    make_due(content)
    emulator.fail_next("sendMessage", "500", count=2)  # section 1 fails twice: a pause
    async with serving(app_for(settings, store)):
        await emulator.wait_for(ADMIN, 2, timeout=10)  # the pause report
        assert len(emulator.transcript(GROUP)) == 1
        before = len(emulator.transcript(ADMIN))
        emulator.command(ADMIN, ADMIN, f"/publish {TODAY}")
        preview = (await emulator.wait_for(ADMIN, before + 1))[-1]
        assert "上次只发出了 1/6 条" in (preview.text or "")
        assert "✅ 1. 封面（图片）" in (preview.text or "")
        rows = preview.reply_markup["inline_keyboard"]
        assert rows[0][0]["text"] == "➡️ 发送其余 5 条"  # the default, on its own row
        assert rows[0][0]["callback_data"].endswith(":new")
        assert rows[1][0]["text"] == "🔁 从头再发一次"
        emulator.press(ADMIN, ADMIN, preview.message_id, rows[0][0]["callback_data"])
        await emulator.wait_for(GROUP, 6, timeout=10)
        for _ in range(100):
            await asyncio.sleep(0.05)
            if (emulator.transcript(ADMIN)[-1].text or "").startswith("已发布"):
                break
        summary = emulator.transcript(ADMIN)[-1]
        await settle(emulator)
    assert len(emulator.transcript(GROUP)) == 6
    cover = emulator.transcript(GROUP)[0]
    assert (summary.text or "").startswith("已发布：本次发出 5 条，共 6 条。\n《AI 军备竞赛升级")
    links = [e for e in summary.entities if e["type"] == "text_link"]
    assert [e["url"] for e in links] == [f"https://t.me/ai_news_plus/{cover.message_id}"]


async def test_publish_of_a_file_that_does_not_load_says_why(
    settings: Settings, store: Store, emulator: TelegramEmulator, content: Path
) -> None:
    write_digest(content, front=f"title: [broken\ndate: {TODAY}", name=f"{TODAY}-broken.md")
    async with serving(app_for(settings, store)):
        await emulator.wait_for(ADMIN, 2)  # the admins' report of the broken file
        emulator.command(ADMIN, ADMIN, f"/publish {TODAY}-broken")
        answer = (await emulator.wait_for(ADMIN, 3))[-1]
    assert (answer.text or "").startswith(f"这期日报的文件读不了：{TODAY}-broken.md: invalid YAML")
    assert answer.entities[0]["type"] == "code"


async def test_publish_of_a_future_digest_warns(
    settings: Settings, store: Store, emulator: TelegramEmulator, content: Path
) -> None:
    tomorrow = TODAY + dt.timedelta(days=1)
    digest_on(content, tomorrow, "tomorrow.md")
    async with serving(app_for(settings, store)):
        emulator.command(ADMIN, ADMIN, f"/publish {tomorrow}", language_code="en")
        (preview,) = await emulator.wait_for(ADMIN, 1)
    assert f"⚠️ This digest is dated {tomorrow}, which has not come yet" in (preview.text or "")
    assert "将" not in (preview.text or "")  # one language


# -- pinning ----------------------------------------------------------------------------


async def test_pinning_the_cover_and_unpinning_the_previous_one(
    tmp_path: Path, emulator: TelegramEmulator, content: Path
) -> None:
    settings = settings_with(tmp_path, emulator, content, pin=True)
    yesterday = digest_on(content, TODAY - dt.timedelta(days=1), "yesterday.md")
    make_due(content)
    async with await Store.open(settings.storage.path) as store:
        app = app_for(settings, store)
        async with app:
            services = services_of(app)
            target = settings.publish.targets[0]
            old = await services.publisher.publish(load_digest(yesterday), target)
            assert emulator.pinned(GROUP) == [old.publication.parts[0].message_id]
            (new,) = await publish_due(services, dt.datetime.now(dt.UTC))
    assert emulator.pinned(GROUP) == [new.publication.parts[0].message_id]
    pins = [r for r in emulator.requests if r.method == "pinChatMessage"]
    assert all(r.params.get("disable_notification") for r in pins)
    assert emulator.edits(GROUP) == []


async def test_a_missing_pin_right_is_reported_once_and_not_fatal(
    tmp_path: Path, emulator: TelegramEmulator, content: Path
) -> None:
    settings = settings_with(tmp_path, emulator, content, pin=True)
    emulator.set_bot_rights(GROUP, can_pin_messages=False)
    yesterday = digest_on(content, TODAY - dt.timedelta(days=1), "yesterday.md")
    make_due(content)
    async with await Store.open(settings.storage.path) as store:
        app = app_for(settings, store)
        async with app:
            services = services_of(app)
            await services.publisher.publish(load_digest(yesterday), settings.publish.targets[0])
            (outcome,) = await publish_due(services, dt.datetime.now(dt.UTC))
    assert outcome.done and len(emulator.transcript(GROUP)) == 2 + 6
    reports = emulator.transcript(ADMIN)
    assert len(reports) == 2 and "无法置顶日报封面" in (reports[0].text or "")


# -- the gate ---------------------------------------------------------------------------


async def test_a_reply_in_the_group_waits_for_the_publication(
    tmp_path: Path, content: Path
) -> None:
    """At Telegram's pace (1 message/s) a member's command arrives mid-publication: the
    reply comes after the last part, never between them."""
    make_due(content)
    async with TelegramEmulator() as emu:
        emu.add_chat(GROUP, type="supergroup", username="ai_news_plus")
        settings = load_settings(write_config(tmp_path, emu, content), env={})
        async with (
            await Store.open(settings.storage.path) as store,
            serving(build_app(settings, store)),
        ):
            await emu.wait_for(GROUP, 2, timeout=10)
            emu.command(GROUP, MEMBER, "/help")
            sent = await emu.wait_for(GROUP, 7, timeout=20)
    assert sent[6].reply_to_message_id is not None or "/latest" in (sent[6].text or "")
    assert [m.disable_notification for m in sent[:6]] == [False] + [True] * 5


# -- admin texts in one language --------------------------------------------------------


async def press_and_wait(emu: TelegramEmulator, preview_id: int, data: str, prefix: str) -> str:
    """Press a preview's button; the text the preview is edited into, once it starts so."""
    emu.press(ADMIN, ADMIN, preview_id, data)
    for _ in range(200):
        await asyncio.sleep(0.05)
        edited = next(m for m in emu.transcript(ADMIN) if m.message_id == preview_id)
        if (edited.text or "").startswith(prefix):
            return edited.text or ""
    raise AssertionError(f"never got {prefix!r}")


async def test_a_refused_update_is_explained_in_chinese(
    settings: Settings, store: Store, emulator: TelegramEmulator, content: Path
) -> None:
    path = make_due(content)
    async with serving(app_for(settings, store)):
        await emulator.wait_for(GROUP, 6)
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("## 更多动态", "## 新的一节\n\n新内容\n\n## 更多动态"))
        emulator.command(ADMIN, ADMIN, f"/publish {TODAY} update")
        (preview,) = await emulator.wait_for(ADMIN, 1)
        (go, _cancel) = preview.reply_markup["inline_keyboard"][0]
        answer = await press_and_wait(emulator, preview.message_id, go["callback_data"], "无法")
    assert answer.startswith("无法就地修改：文件现在是 7 条消息，发布时是 6 条。")
    assert emulator.edits(GROUP) == []


async def test_a_paused_publication_is_summed_up_for_the_admin(
    tmp_path: Path, emulator: TelegramEmulator, content: Path
) -> None:
    settings = settings_with(tmp_path, emulator, content, chat="@no_such_group")
    async with (
        await Store.open(settings.storage.path) as store,
        serving(app_for(settings, store)),
    ):
        emulator.command(ADMIN, ADMIN, "/publish 2026-02-21")
        preview = (await emulator.wait_for(ADMIN, 1))[-1]
        assert "⚠️ 这期的发布时段已过（2026-02-21）" in (preview.text or "")
        (go, _cancel) = preview.reply_markup["inline_keyboard"][0]
        answer = await press_and_wait(emulator, preview.message_id, go["callback_data"], "发布暂停")
    assert answer.startswith("发布暂停：已发出 0/6 条，第 1 条没有发出去。")
    assert "chat not found" in answer.lower() and answer.endswith("稍后会自动重试。")


async def test_a_changed_posted_file_is_offered_as_a_correction(
    settings: Settings, store: Store, emulator: TelegramEmulator, content: Path
) -> None:
    path = make_due(content)
    async with serving(app_for(settings, store)):
        await emulator.wait_for(GROUP, 6)
        path.write_text(path.read_text(encoding="utf-8").replace("推理能力翻倍", "推理提升"))
        emulator.command(ADMIN, ADMIN, f"/publish {TODAY}")
        (preview,) = await emulator.wait_for(ADMIN, 1)
        await settle(emulator)
    assert f"文件在发布后改过：用 /publish {TODAY} update 就地修改已发布的消息。" in (
        preview.text or ""
    )
    assert len(emulator.transcript(GROUP)) == 6  # a changed file is not a new post
