"""Members and admins use the commands through the emulator, in private, group and topic."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from telegram import Update

from bot.app import build_app, serving
from bot.config import Settings, load_settings
from bot.digest import load_digest
from bot.handlers import views
from bot.handlers.replies import MAX_REPLY_MESSAGES, reply
from bot.publisher import Retries
from bot.publishing import sync
from bot.render import render_digest
from bot.sandbox.telegram_api import TelegramEmulator
from bot.services import BotContext, Services, services_of
from bot.store import Store
from tests.helpers import (
    ADMIN,
    BOT_FAST,
    GROUP,
    MEMBER,
    FakeClock,
    ask,
    buttons,
    refused,
    silence,
    with_clock,
    write_config,
)
from tests.samples import SAMPLE, make_due, write_digest

FORUM, TOPIC = -1009876543210, 7
BOT = "digest_test_bot"
# 18:00 in Shanghai: today's digest (2026-12-01) waits for the 23:59 publish time.
NOW = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
async def bot(
    tmp_path: Path, emulator: TelegramEmulator, content: Path, clock: FakeClock
) -> AsyncIterator[Services]:
    """The bot polling the emulator; its schedule is out of the way (23:59, no catch-up)."""
    emulator.add_chat(FORUM, type="supergroup", is_forum=True, topics=[TOPIC])
    for day in range(1, 13):
        write_digest(
            content,
            front=f'title: "旧闻 {day}"\ndate: 2026-01-{day:02d}\ntags: ["AI 日报", "旧闻"]',
            body=f"## 节\n\n第 {day} 期的内容，英伟达与芯片。",
            name=f"2026-01-{day:02d}-old.md",
        )
    settings = load_settings(
        write_config(tmp_path, emulator, content, time="23:59", catch_up_hours=0), env={}
    )
    async with await Store.open(settings.storage.path) as store:
        app = build_app(
            settings,
            store,
            flood=BOT_FAST,
            retries=Retries(attempts=3, first_delay=0.05, read_timeout=1.0),
        )
        with_clock(app, clock)
        async with serving(app):
            yield services_of(app)
    assert emulator.violations == []
    # getUpdates is left out: the emulator answers the poll cut short at shutdown with 409.
    assert refused(emulator) == [], "the strict emulator refused a request"


# -- help and menus ---------------------------------------------------------------------


async def test_start_and_help_list_the_commands(bot: Services, emulator: TelegramEmulator) -> None:
    (answer,) = await ask(emulator, MEMBER, MEMBER, "/start")
    assert "/latest" in answer.text and "/search" in answer.text
    assert "/publish" not in answer.text
    (admin_help,) = await ask(emulator, ADMIN, ADMIN, "/help")
    assert "/publish" in admin_help.text and "/status" in admin_help.text


async def test_english_for_english_users(bot: Services, emulator: TelegramEmulator) -> None:
    before = len(emulator.transcript(MEMBER))
    emulator.command(MEMBER, MEMBER, "/help", language_code="en")
    (answer,) = (await emulator.wait_for(MEMBER, before + 1))[before:]
    assert answer.text.startswith("I post the daily AI digest")


async def test_command_menus_are_registered_per_scope(
    bot: Services, emulator: TelegramEmulator
) -> None:
    private = [c["command"] for c in emulator.commands({"type": "all_private_chats"})]
    groups = [c["command"] for c in emulator.commands({"type": "all_group_chats"})]
    assert private == ["start", "latest", "archive", "tag", "search", "help"]
    assert groups == ["latest", "archive", "tag", "search", "help"]
    english = emulator.commands({"type": "all_private_chats"}, "en")
    assert english[1] == {"command": "latest", "description": "the newest digest"}
    admin = [c["command"] for c in emulator.commands({"type": "chat", "chat_id": ADMIN})]
    assert admin[-2:] == ["publish", "status"]


async def test_commands_for_this_bot_by_name_and_not_for_others(
    bot: Services, emulator: TelegramEmulator
) -> None:
    (answer,) = await ask(emulator, GROUP, MEMBER, f"/help@{BOT}")
    assert "/latest" in answer.text
    await silence(emulator, GROUP, MEMBER + 1, "/help@some_other_bot")


async def test_unknown_command_gets_a_hint_in_private_and_silence_in_groups(
    bot: Services, emulator: TelegramEmulator
) -> None:
    (answer,) = await ask(emulator, MEMBER, MEMBER, "/frobnicate")
    assert "/help" in answer.text
    await silence(emulator, GROUP, MEMBER, "/frobnicate")


# -- /latest ----------------------------------------------------------------------------


async def test_latest_in_private_is_the_whole_digest_as_posted(
    bot: Services, emulator: TelegramEmulator
) -> None:
    expected = render_digest(load_digest(SAMPLE)).messages
    sent = await ask(emulator, MEMBER, MEMBER, "/latest", expect=len(expected))
    assert [(m.method, m.text) for m in sent] == [(e.method, e.text) for e in expected]
    assert sent[0].photo == expected[0].photo


async def test_latest_in_a_group_is_a_short_reply_with_a_deep_link(
    bot: Services, emulator: TelegramEmulator
) -> None:
    """Not the cover photo again: the title, the date and the 📖 deep link, as a reply."""
    (card,) = await ask(emulator, GROUP, MEMBER, "/latest")
    assert card.method == "sendMessage"
    assert card.text == "AI 军备竞赛升级：千亿融资频现，模型能力突破与局限并存\n2026-02-21"
    assert card.reply_to_message_id is not None
    (link,) = buttons(card)
    assert link["text"] == "📖 阅读全文"
    assert link["url"] == f"https://t.me/{BOT}?start=d_2026-02-21-ai-daily"
    await asyncio.sleep(0.5)
    assert len(emulator.transcript(GROUP)) == 1  # nothing else reached the group


async def test_group_latest_full_posts_the_digest_then_cards_for_a_while(
    tmp_path: Path, emulator: TelegramEmulator, content: Path
) -> None:
    full_mode = '[ui]\ngroup_latest = "full"'
    config = write_config(tmp_path, emulator, content, time="23:59", extra=full_mode)
    settings = load_settings(config, env={})
    async with (
        await Store.open(settings.storage.path) as store,
        serving(build_app(settings, store, flood=BOT_FAST)),
    ):
        full = await ask(emulator, GROUP, MEMBER, "/latest", expect=6)
        (card,) = await ask(emulator, GROUP, MEMBER + 1, "/latest")
    assert [m.text for m in full] == [m.text for m in render_digest(load_digest(SAMPLE)).messages]
    assert buttons(card)[0]["url"].endswith("?start=d_2026-02-21-ai-daily")


async def test_latest_shows_what_the_ledger_says_was_posted(
    settings: Settings, store: Store, emulator: TelegramEmulator, content: Path
) -> None:
    make_due(content)  # only a digest whose day it is is posted by the schedule
    emulator.refuse_photo(load_digest(SAMPLE).cover or "")
    async with serving(build_app(settings, store, flood=BOT_FAST)):
        posted = await emulator.wait_for(GROUP, 6)  # the schedule's catch-up posts it
        with sqlite3.connect(settings.storage.path) as db:  # what the ledger keeps, marked
            (payload,) = db.execute("SELECT payload FROM publication_parts WHERE idx = 5")
            call = json.loads(payload[0]) | {"text": "账本里的版本", "entities": []}
            db.execute(
                "UPDATE publication_parts SET payload = ? WHERE idx = 5", (json.dumps(call),)
            )
        sent = await ask(emulator, MEMBER, MEMBER, "/latest", expect=6)
    assert [m.text for m in sent[:5]] == [m.text for m in posted[:5]]
    assert sent[5].text == "账本里的版本"
    assert sent[0].method == "sendMessage"  # the refused cover falls back here too


async def test_deep_link_opens_the_digest_in_private(
    bot: Services, emulator: TelegramEmulator
) -> None:
    """A first contact gets a one-line welcome, then the digest; later links just the digest."""
    sent = await ask(emulator, MEMBER, MEMBER, "/start d_2026-01-03-old", expect=3)
    assert sent[0].text.startswith("欢迎！") and "/help" in sent[0].text
    assert sent[1].text.startswith("旧闻 3")
    assert sent[2].text == "节\n\n第 3 期的内容，英伟达与芯片。"
    sent = await ask(emulator, MEMBER, MEMBER, "/start d_2026-01-04-old", expect=2)
    assert sent[0].text.startswith("旧闻 4")
    (missing,) = await ask(emulator, MEMBER, MEMBER, "/start d_no-such-digest")
    assert missing.text == "没有找到这期日报。"


async def test_a_full_digest_ends_with_older_archive_and_newer_buttons(
    bot: Services, emulator: TelegramEmulator
) -> None:
    sent = await ask(emulator, MEMBER, MEMBER, "/archive 2026-01-05", expect=2)
    assert [(b["text"], b.get("callback_data")) for b in buttons(sent[-1])] == [
        ("◀ 上一期", "d:2026-01-04-old"),
        ("往期", "A"),
        ("下一期 ▶", "d:2026-01-06-old"),
    ]
    assert all(not buttons(m) for m in sent[:-1])
    emulator.press(MEMBER, MEMBER, sent[-1].message_id, "A")  # a new message, not an edit
    (page,) = (await emulator.wait_for(MEMBER, 3))[2:]
    assert page.text.startswith("往期日报") and not page.edited
    newest = await ask(emulator, MEMBER, MEMBER, "/latest", expect=6)
    assert [b["text"] for b in buttons(newest[-1])] == ["◀ 上一期", "往期"]


async def test_browsing_at_a_human_pace_is_never_refused(
    bot: Services, emulator: TelegramEmulator, clock: FakeClock
) -> None:
    """/latest, then an archive button 18 s later: both delivered. Only more than ten
    full digests a minute are slowed, and a minute later it works again."""
    await ask(emulator, MEMBER, MEMBER, "/latest", expect=6)
    clock.advance(18)
    (page,) = await ask(emulator, MEMBER, MEMBER, "/archive 2026-01")
    before = len(emulator.transcript(MEMBER))
    emulator.press(MEMBER, MEMBER, page.message_id, "d:2026-01-12-old")
    sent = (await emulator.wait_for(MEMBER, before + 2))[before:]
    assert sent[0].text.startswith("旧闻 12")
    for day in range(1, 9):  # ten in all within the minute
        await ask(emulator, MEMBER, MEMBER, f"/archive 2026-01-{day:02d}", expect=2)
    (slowed,) = await ask(emulator, MEMBER, MEMBER, "/archive 2026-01-09")
    assert slowed.text.startswith("一分钟内打开的日报太多了")
    sent = await ask(emulator, MEMBER, MEMBER, "/start d_2026-01-09-old", expect=3)
    assert sent[1].text.startswith("旧闻 9")  # a deep link always delivers (after a welcome)
    clock.advance(60)
    sent = await ask(emulator, MEMBER, MEMBER, "/archive 2026-01-10", expect=2)
    assert sent[0].text.startswith("旧闻 10")


async def test_asking_for_another_digest_stops_the_unfinished_one(
    tmp_path: Path, emulator: TelegramEmulator, content: Path
) -> None:
    """At Telegram's real pace (1 message/s in a chat) the sample takes 6 s; a second
    request a moment later stops it and the newer digest arrives whole, after "typing…"."""
    settings = load_settings(write_config(tmp_path, emulator, content, time="23:59"), env={})
    write_digest(content, front='title: "另一期"\ndate: 2026-01-01', body="## 节\n\n内容。")
    emulator.flood = None
    async with await Store.open(settings.storage.path) as store:
        app = build_app(settings, store, flood=replace(BOT_FAST, chat_interval=0.4))
        async with serving(app):
            emulator.command(MEMBER, MEMBER, "/latest")
            await emulator.wait_for(MEMBER, 2)
            emulator.command(MEMBER, MEMBER, "/archive 2026-01-01")
            for _ in range(100):
                await asyncio.sleep(0.1)
                texts = [m.text or "" for m in emulator.transcript(MEMBER)]
                if texts[-1] == "节\n\n内容。":
                    break
            await asyncio.sleep(1)
    texts = [m.text or "" for m in emulator.transcript(MEMBER)]
    assert texts[-2].startswith("另一期") and texts[-1] == "节\n\n内容。"
    assert len(texts) < 6 + 2  # the sample's delivery stopped before its end
    actions = [r for r in emulator.requests if r.method == "sendChatAction"]
    assert actions and all(r.status == 200 for r in actions)


async def test_replies_in_a_forum_topic_stay_in_the_topic(
    bot: Services, emulator: TelegramEmulator
) -> None:
    (answer,) = await ask(emulator, FORUM, MEMBER, "/archive", thread_id=TOPIC)
    assert answer.thread_id == TOPIC
    (card,) = await ask(emulator, FORUM, MEMBER + 1, "/latest", thread_id=TOPIC)
    assert card.thread_id == TOPIC


# -- /archive ---------------------------------------------------------------------------


async def test_archive_pages_newest_first_and_pages_in_place(
    bot: Services, emulator: TelegramEmulator
) -> None:
    """Each digest once, as its button; labels drop the year only when it is this one."""
    (page,) = await ask(emulator, MEMBER, MEMBER, "/archive")
    assert page.text == "往期日报\n第 1/2 页，共 13 期"
    labels = [b["text"] for b in buttons(page)]
    assert labels[0].startswith("02-21 AI 军备竞赛升级") and labels[1] == "01-12 旧闻 12"
    data = [b.get("callback_data") for b in buttons(page)]
    assert data[0] == "d:2026-02-21-ai-daily" and data[-1] == "a:1:"
    emulator.press(MEMBER, MEMBER, page.message_id, "a:1:")
    for _ in range(100):
        await asyncio.sleep(0.05)
        edited = emulator.transcript(MEMBER)[-1]
        if edited.edited:
            break
    assert edited.message_id == page.message_id
    assert "第 2/2 页" in edited.text
    assert "01-01 旧闻 1" in [b["text"] for b in buttons(edited)]
    assert len(emulator.transcript(MEMBER)) == 1


async def test_labels_carry_the_year_unless_it_is_this_one(
    bot: Services, emulator: TelegramEmulator, content: Path
) -> None:
    write_digest(content, front='title: "跨年"\ndate: 2025-12-31', name="2025-12-31-x.md")
    await sync(bot)
    (page,) = await ask(emulator, MEMBER, MEMBER, "/archive 2025年12月")
    assert page.text.startswith("2025-12 的日报")
    assert [b["text"] for b in buttons(page)] == ["2025-12-31 跨年"]
    (same,) = await ask(emulator, MEMBER, MEMBER, "/archive 2025/12")
    assert same.text == page.text
    sent = await ask(emulator, MEMBER, MEMBER, "/archive 2025年12月31日", expect=1)
    assert sent[0].text.startswith("跨年")


async def test_archive_by_month_and_by_day(bot: Services, emulator: TelegramEmulator) -> None:
    (month,) = await ask(emulator, MEMBER, MEMBER, "/archive 2026-2")
    assert month.text.startswith("2026-02 的日报\n第 1/1 页，共 1 期")
    sent = await ask(emulator, MEMBER, MEMBER, "/archive 2026-01-05", expect=2)
    assert sent[0].text.startswith("旧闻 5")
    (none,) = await ask(emulator, MEMBER, MEMBER, "/archive 2025-12-31")
    assert none.text == "2025-12-31 没有日报。"


@pytest.mark.parametrize("argument", ["2026-13", "yesterday", "2026-02-30", "<b>x</b>"])
async def test_archive_bad_dates_get_a_helpful_answer(
    bot: Services, emulator: TelegramEmulator, argument: str
) -> None:
    (answer,) = await ask(emulator, MEMBER, MEMBER, f"/archive {argument}")
    assert answer.text.startswith("日期格式不对")


async def test_digest_buttons_in_a_group_are_deep_links(
    bot: Services, emulator: TelegramEmulator
) -> None:
    (page,) = await ask(emulator, GROUP, MEMBER, "/archive")
    urls = [b["url"] for b in buttons(page) if "url" in b]
    assert urls[0] == f"https://t.me/{BOT}?start=d_2026-02-21-ai-daily"


async def test_open_button_in_private_sends_the_digest(
    bot: Services, emulator: TelegramEmulator
) -> None:
    (page,) = await ask(emulator, MEMBER, MEMBER, "/archive 2026-01")
    emulator.press(MEMBER, MEMBER, page.message_id, "d:2026-01-12-old")
    sent = await emulator.wait_for(MEMBER, 3)
    assert sent[1].text.startswith("旧闻 12")


# -- /tag -------------------------------------------------------------------------------


async def test_tags_with_counts_as_buttons(bot: Services, emulator: TelegramEmulator) -> None:
    (answer,) = await ask(emulator, MEMBER, MEMBER, "/tag")
    assert answer.text == "标签（共 3 个）"
    assert [b["text"] for b in buttons(answer)] == ["AI 日报 (13)", "旧闻 (12)", "AI (1)"]
    emulator.press(MEMBER, MEMBER, answer.message_id, buttons(answer)[2]["callback_data"])
    for _ in range(100):
        await asyncio.sleep(0.05)
        if emulator.transcript(MEMBER)[-1].edited:
            break
    assert emulator.transcript(MEMBER)[-1].text.startswith("标签 #AI\n第 1/1 页，共 1 期")


async def test_tag_lookup_ignores_case_and_spaces(
    bot: Services, emulator: TelegramEmulator
) -> None:
    (answer,) = await ask(emulator, MEMBER, MEMBER, "/tag ai日报")
    assert answer.text.startswith("标签 #AI 日报\n第 1/2 页，共 13 期")
    (hashtag,) = await ask(emulator, MEMBER, MEMBER, "/tag #AI日报")
    assert hashtag.text == answer.text
    (none,) = await ask(emulator, MEMBER, MEMBER, "/tag 不存在的标签")
    assert none.text == "没有带标签「不存在的标签」的日报。"


# -- /search ----------------------------------------------------------------------------


async def test_search_finds_chinese_words_with_snippets(
    bot: Services, emulator: TelegramEmulator
) -> None:
    (answer,) = await ask(emulator, MEMBER, MEMBER, "/search 韦伯望远镜")
    assert answer.text.startswith("搜索「韦伯望远镜」\n第 1/1 页，共 1 期")
    assert "韦伯望远镜" in answer.text.split("\n", 3)[3]
    bold = [e for e in answer.entities if e["type"] == "bold"]
    assert len(bold) == 3  # the heading, the title, the match


async def test_short_queries_and_no_results(bot: Services, emulator: TelegramEmulator) -> None:
    (two,) = await ask(emulator, MEMBER, MEMBER, "/search 芯片")
    assert "共 12 期" in two.text
    (none,) = await ask(emulator, MEMBER, MEMBER, "/search 量子引力")
    assert none.text == "没有找到「量子引力」。"
    (usage,) = await ask(emulator, MEMBER, MEMBER, "/search")
    assert usage.text.startswith("用法：/search")


@pytest.mark.parametrize(
    "query",
    ['" OR 1=1 --', "'; DROP TABLE digests; --", "<script>alert(1)</script>", "%_%", "NEAR(a b)"],
)
async def test_injection_attempts_are_just_text(
    bot: Services, emulator: TelegramEmulator, query: str
) -> None:
    (answer,) = await ask(emulator, MEMBER, MEMBER, f"/search {query}")
    assert answer.text.startswith("没有找到")
    assert await bot.store.archive.count() == 13


async def test_over_long_arguments_are_refused_politely(
    bot: Services, emulator: TelegramEmulator
) -> None:
    (answer,) = await ask(emulator, MEMBER, MEMBER, "/search " + "长" * 500)
    assert answer.text == "太长了：最多 100 个字符。"


# -- buttons that are stale or forged ---------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        "garbage",
        "a:x:",
        "a:-1:",
        "a:50:",
        "d:no-such",
        "t:0:#deadbeef",
        "p:x:1",
        "s:0:\x00",
        's:0:"x\x00',
        "s:9:英伟达",
    ],
)
async def test_stale_or_forged_buttons_get_a_polite_answer(
    bot: Services, emulator: TelegramEmulator, data: str
) -> None:
    (page,) = await ask(emulator, MEMBER, MEMBER, "/archive")
    emulator.press(MEMBER, MEMBER, page.message_id, data, forged=True)
    for _ in range(100):
        await asyncio.sleep(0.05)
        if emulator.callback_answers:
            break
    assert emulator.callback_answers, "the press was not answered"
    answered = emulator.callback_answers[-1].get("text", "")
    assert answered in (
        "这个按钮已经失效了，请重新发送命令。",
        "没有找到这期日报。",
        "抱歉，只有管理员可以这样做。",
    ) or answered.startswith("没有找到「")


# -- admins -----------------------------------------------------------------------------


async def test_publish_is_for_admins_in_private(bot: Services, emulator: TelegramEmulator) -> None:
    (refusal,) = await ask(emulator, MEMBER, MEMBER, "/publish")
    assert refusal.text == "抱歉，只有管理员可以这样做。"
    (group,) = await ask(emulator, GROUP, ADMIN, "/publish")
    assert group.text == "请在与我的私聊中发布。"
    assert emulator.transcript(GROUP) == [group]


async def test_publish_preview_then_publish_then_no_double_post(
    bot: Services, emulator: TelegramEmulator
) -> None:
    (preview,) = await ask(emulator, ADMIN, ADMIN, "/publish 2026-02-21")
    assert preview.text.startswith("将发布到 @ai_news_plus：")
    assert "共 6 条消息：" in preview.text
    go, _cancel = buttons(preview)
    assert go["callback_data"] == "p:2026-02-21-ai-daily:new"
    emulator.press(ADMIN, ADMIN, preview.message_id, go["callback_data"])
    await emulator.wait_for(GROUP, 6, timeout=20)
    for _ in range(100):
        await asyncio.sleep(0.05)
        if emulator.transcript(ADMIN)[-1].text.startswith("已发布"):
            break
    assert emulator.transcript(ADMIN)[-1].text.startswith("已发布：本次发出 6 条，共 6 条。")
    (again,) = await ask(emulator, ADMIN, ADMIN, "/publish 2026-02-21")
    assert again.text.endswith("这期已经发布过了；加上 force 可以再发一次。")
    assert buttons(again) == []
    (forced,) = await ask(emulator, ADMIN, ADMIN, "/publish 2026-02-21 force")
    assert buttons(forced)[0]["callback_data"] == "p:2026-02-21-ai-daily:force"


async def test_publish_cancel(bot: Services, emulator: TelegramEmulator) -> None:
    (preview,) = await ask(emulator, ADMIN, ADMIN, "/publish 2026-01-01-old")
    emulator.press(ADMIN, ADMIN, preview.message_id, "x")
    for _ in range(100):
        await asyncio.sleep(0.05)
        if emulator.transcript(ADMIN)[-1].edited:
            break
    assert emulator.transcript(ADMIN)[-1].text == "已取消。"
    assert emulator.transcript(GROUP) == []


async def test_status_shows_schedule_index_failures_and_version(
    bot: Services, emulator: TelegramEmulator, content: Path
) -> None:
    write_digest(content, front="title: 坏文件", name="bad-2026-03-01.md")
    await sync(bot)
    (status,) = await ask(emulator, ADMIN, ADMIN, "/status")
    lines = status.text.split("\n")
    assert lines[0] == "运行状态"
    assert lines[1].startswith("版本：")
    assert lines[2] == "发布到：@ai_news_plus，每天 23:59（Asia/Shanghai）"
    assert lines[3].startswith("下次发布：") and lines[3].endswith("23:59 CST")
    assert lines[4] == "已索引日报：13 期"
    assert lines[5] == "上次发布：无"
    assert lines[-1] == "• bad-2026-03-01.md: front matter has no 'date'"
    (refusal,) = await ask(emulator, MEMBER, MEMBER, "/status")
    assert refusal.text == "抱歉，只有管理员可以这样做。"


async def test_group_commands_at_a_human_pace_are_all_answered(
    bot: Services, emulator: TelegramEmulator
) -> None:
    """Three commands in a few seconds, in a forum topic: three answers in that topic.
    A fourth within ten seconds: one "slow down"; a fifth: quiet. Others are not affected."""
    answers = []
    for command in ("/archive", "/tag", "/search 英伟达"):
        answers += await ask(emulator, FORUM, MEMBER, command, thread_id=TOPIC)
    assert [a.thread_id for a in answers] == [TOPIC] * 3
    assert answers[0].text.startswith("往期日报") and answers[1].text.startswith("标签")
    (slow,) = await ask(emulator, FORUM, MEMBER, "/help", thread_id=TOPIC)
    assert slow.text.startswith("慢一点") and slow.thread_id == TOPIC
    await silence(emulator, FORUM, MEMBER, "/help")
    await ask(emulator, FORUM, MEMBER + 1, "/archive", thread_id=TOPIC)


# -- guarantees no other test guards ----------------------------------------------------


async def test_a_failing_handler_apologises_reports_and_logs(
    bot: Services, emulator: TelegramEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    """The database goes away under the running bot: the member hears an apology (in a
    group too), the admins get the traceback, the log has one error line per failure."""
    await bot.store.close()
    with caplog.at_level(logging.ERROR):
        (apology,) = await ask(emulator, MEMBER, MEMBER, "/archive")
        headline, details = await emulator.wait_for(ADMIN, 2)
        (in_group,) = await ask(emulator, GROUP, MEMBER + 7, "/archive")
    assert apology.text == in_group.text == "抱歉，出了点问题，请稍后再试。"
    assert headline.text.startswith("⚠️ digest-bot\n未处理的错误 / unhandled error in chat")
    assert "StoreError" in headline.text and "is closed" in (details.text or "")
    # (The jobs fail too, the database being gone; those lines have no chat.)
    handlers = [r.getMessage() for r in caplog.records if r.name == "bot.handlers.errors"]
    assert [line for line in handlers if " in chat " in line] == [
        f"unhandled error in chat {MEMBER}",
        f"unhandled error in chat {GROUP}",
    ]


async def test_a_double_press_on_publish_posts_once(
    bot: Services, emulator: TelegramEmulator
) -> None:
    (preview,) = await ask(emulator, ADMIN, ADMIN, "/publish 2026-02-21")
    go, _cancel = buttons(preview)
    emulator.press(ADMIN, ADMIN, preview.message_id, go["callback_data"])
    emulator.press(ADMIN, ADMIN, preview.message_id, go["callback_data"])
    await emulator.wait_for(GROUP, 6, timeout=20)
    for _ in range(100):
        await asyncio.sleep(0.05)
        if emulator.transcript(ADMIN)[-1].text.startswith("已发布"):
            break
    await asyncio.sleep(0.3)
    assert len(emulator.transcript(GROUP)) == 6
    toasts = [a.get("text") for a in emulator.callback_answers]
    assert sorted(toasts, key=str) == [None, "正在发布…"]
    publication = await bot.ledger.publication("2026-02-21-ai-daily", "@ai_news_plus", None)
    assert publication is not None and publication.round == 1


async def test_a_reply_in_a_group_takes_at_most_two_messages(
    settings: Settings, store: Store, emulator: TelegramEmulator
) -> None:
    """However long a reply's text, a group gets at most MAX_REPLY_MESSAGES of it."""
    long_text = "\n\n".join(f"第 {i} 段：" + "很长的回复。" * 100 for i in range(40))
    async with serving(build_app(settings, store, flood=BOT_FAST)) as app:
        update_id = emulator.command(GROUP, MEMBER, "/help@some_other_bot")
        raw = next(u for u in emulator.pending_updates if u["update_id"] == update_id)
        update = Update.de_json(raw, app.bot)
        await reply(update, BotContext.from_update(update, app), views.line(long_text))
    sent = emulator.transcript(GROUP)
    assert len(sent) == MAX_REPLY_MESSAGES == 2
    assert all(len(m.text or "") <= 4096 for m in sent)
