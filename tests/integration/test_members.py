"""Issue 11, as members meet it through the emulator: only released digests, search over
what they read, tags by their hashtag, the group's language, text in private, inline
mode, and forum topics."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from telegram import Chat

from bot.app import build_app, serving
from bot.config import Settings, load_settings
from bot.digest import load_digest
from bot.handlers.public import message_link
from bot.publishing import sync
from bot.render import hashtag
from bot.sandbox.telegram_api import SentMessage, TelegramEmulator
from bot.services import Services, services_of
from bot.store import Store
from tests.helpers import (
    BOT_FAST,
    GROUP,
    GROUP_NAME,
    MEMBER,
    FakeClock,
    ask,
    buttons,
    refused,
    with_clock,
    write_config,
)
from tests.samples import make_due, write_digest

FORUM, TOPIC = -1009876543210, 7
BOT = "digest_test_bot"
SAMPLE_SLUG = "2026-02-21-ai-daily"
# 18:00 in Shanghai on 2026-12-01: that day's digest waits for the 23:59 publish time.
NOW = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)
FUTURE = "2099-01-01-future"
TODAY = "2026-12-01-today"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
async def bot(
    tmp_path: Path, emulator: TelegramEmulator, content: Path, clock: FakeClock
) -> AsyncIterator[Services]:
    """The sample, a tagged digest, today's digest (not yet due) and one dated 2099, each
    with a word found nowhere else; the schedule is out of the way (23:59, no catch-up)."""
    emulator.inline = True
    emulator.add_chat(FORUM, type="supergroup", is_forum=True, topics=[TOPIC])
    write_digest(
        content,
        front='title: "LLM 周报"\ndate: 2026-03-01\ntags: ["LLM", "C++", "mixed Case"]',
        body="## 模型\n\n**大模型**的一周：`C++` 推理引擎。",
        name="2026-03-01-llm.md",
    )
    for slug, day, word in ((FUTURE, "2099-01-01", "未来秘闻"), (TODAY, "2026-12-01", "今日秘闻")):
        write_digest(
            content,
            front=f'title: "{word}"\ndate: {day}\ntags: ["{word}标签", "AI"]',
            body=f"## 节\n\n{word}的内容。",
            name=f"{slug}.md",
        )
    settings = load_settings(
        write_config(tmp_path, emulator, content, time="23:59", catch_up_hours=0), env={}
    )
    async with await Store.open(settings.storage.path) as store:
        app = build_app(settings, store, flood=BOT_FAST)
        with_clock(app, clock)
        async with serving(app):
            yield services_of(app)
    assert emulator.violations == []
    assert refused(emulator) == [], "the strict emulator refused a request"


async def say(emu: TelegramEmulator, user: int, text: str, *, expect: int = 1) -> list[SentMessage]:
    before = len(emu.transcript(user))
    emu.message(user, user, text)
    return (await emu.wait_for(user, before + expect, timeout=15))[before:]


async def answered(emu: TelegramEmulator, query_id: str) -> dict:
    for _ in range(200):
        found = [a for a in emu.inline_answers if a["inline_query_id"] == query_id]
        if found:
            return found[0]
        await asyncio.sleep(0.05)
    raise AssertionError(f"inline query {query_id} was not answered")


def everything_said(emu: TelegramEmulator, chat: int) -> str:
    parts = []
    for message in emu.transcript(chat):
        parts.append(message.text or "")
        parts.extend(
            f"{b['text']} {b.get('url', '')} {b.get('callback_data', '')}" for b in buttons(message)
        )
    return "\n".join(parts)


# -- released digests only --------------------------------------------------------------


async def test_the_2099_digest_is_invisible_to_every_path(
    bot: Services, emulator: TelegramEmulator
) -> None:
    newest = await ask(emulator, MEMBER, MEMBER, "/latest", expect=2)
    assert [b["text"] for b in buttons(newest[-1])] == ["◀ 上一期", "往期"]  # no newer ▶
    (page,) = await ask(emulator, MEMBER, MEMBER, "/archive")
    assert page.text == "往期日报\n第 1/1 页，共 2 期"
    (none,) = await ask(emulator, MEMBER, MEMBER, "/archive 2099-01-01")
    assert none.text == "2099-01-01 没有日报。"
    (month,) = await ask(emulator, MEMBER, MEMBER, "/archive 2099-01")
    assert month.text == "2099-01 没有日报。"
    (tags,) = await ask(emulator, MEMBER, MEMBER, "/tag")
    assert [b["text"] for b in buttons(tags)][:2] == ["AI (1)", "AI 日报 (1)"]
    (tag,) = await ask(emulator, MEMBER, MEMBER, "/tag 未来秘闻标签")
    assert tag.text == "没有带标签「未来秘闻标签」的日报。"
    for query in ("未来秘闻", "秘闻", "秘 的内容"):
        (found,) = await ask(emulator, MEMBER, MEMBER, f"/search {query}")
        assert found.text.startswith("没有找到"), query
    (link,) = await ask(emulator, MEMBER, MEMBER, f"/start d_{FUTURE}")
    assert link.text == "没有找到这期日报。"
    emulator.press(MEMBER, MEMBER, page.message_id, f"d:{FUTURE}", forged=True)
    for _ in range(100):
        await asyncio.sleep(0.05)
        if emulator.callback_answers:
            break
    # Not a button of that page: the guard refuses it before any lookup.
    assert emulator.callback_answers[-1].get("text") == "这个按钮已经失效了，请重新发送命令。"
    (text,) = await say(emulator, MEMBER, "未来秘闻")
    assert text.text.startswith("没有找到「未来秘闻」")
    query_id = emulator.inline_query(MEMBER, "秘闻")
    assert (await answered(emulator, query_id))["results"] == []
    query_id = emulator.inline_query(MEMBER, "")
    listed = [r["id"] for r in (await answered(emulator, query_id))["results"]]
    assert listed == ["2026-03-01-llm", SAMPLE_SLUG]
    # The group sees no more than private chats do.
    (group_page,) = await ask(emulator, GROUP, MEMBER, "/archive")
    assert group_page.text.endswith("共 2 期")
    said = everything_said(emulator, MEMBER) + everything_said(emulator, GROUP)
    assert FUTURE not in said and "未来秘闻的内容" not in said


async def test_todays_digest_waits_for_its_publish_time_unless_posted(
    bot: Services, emulator: TelegramEmulator, clock: FakeClock
) -> None:
    (card,) = await ask(emulator, GROUP, MEMBER, "/latest")
    assert card.text.startswith("LLM 周报")  # 18:00 in Shanghai: today's is not due yet
    clock.advance(6 * 3600)  # 00:00 on 2 December in Shanghai: its window opened at 23:59
    (card,) = await ask(emulator, GROUP, MEMBER + 1, "/latest")
    assert card.text.startswith("今日秘闻")
    (page,) = await ask(emulator, MEMBER, MEMBER, "/archive")
    assert buttons(page)[0]["text"] == "12-01 今日秘闻"


async def test_a_digest_posted_to_the_group_is_released_before_its_day(
    bot: Services, emulator: TelegramEmulator
) -> None:
    """An admin may post the 2099 file early: once the group has it, so may members."""
    started = await bot.ledger.start_publication(FUTURE, "h", f"@{GROUP_NAME}", None, [{"a": 1}])
    (none,) = await ask(emulator, MEMBER, MEMBER, f"/start d_{FUTURE}")
    assert none.text == "没有找到这期日报。"  # started, but nothing reached the group yet
    await bot.ledger.mark_part_sent(started.id, 0, 99)
    sent = await ask(emulator, MEMBER, MEMBER, f"/start d_{FUTURE}", expect=2)
    assert sent[0].text.startswith("未来秘闻")


async def test_admin_previews_still_see_everything(
    bot: Services, emulator: TelegramEmulator
) -> None:
    from tests.helpers import ADMIN

    (preview,) = await ask(emulator, ADMIN, ADMIN, "/publish 2099-01-01")
    assert "未来秘闻" in preview.text


# -- search ------------------------------------------------------------------------------


async def test_search_finds_every_word_in_any_order_with_clean_snippets(
    bot: Services, emulator: TelegramEmulator
) -> None:
    for query in ("英伟达 OpenAI", "OpenAI 英伟达", "韦伯 清华", "清华 OpenAI"):
        (answer,) = await ask(emulator, MEMBER, MEMBER, f"/search {query}")
        assert "共 1 期" in answer.text, query
        assert buttons(answer)[0]["callback_data"] == f"d:{SAMPLE_SLUG}"
    (answer,) = await ask(emulator, MEMBER, MEMBER, "/search 清华")
    snippet = answer.text.split("\n")[3]
    assert "**" not in snippet and "[" not in snippet and "](" not in snippet
    (markdown,) = await ask(emulator, MEMBER, MEMBER, "/search *")
    assert markdown.text == "没有找到「*」。"
    (code,) = await ask(emulator, MEMBER, MEMBER, "/search `C++`")
    assert code.text.startswith("没有找到")
    (none,) = await ask(emulator, MEMBER, MEMBER, "/search 英伟达 量子引力")
    assert none.text.startswith("没有找到")


async def test_plain_text_in_private_is_a_search_with_a_hint(
    bot: Services, emulator: TelegramEmulator
) -> None:
    (found,) = await say(emulator, MEMBER, "英伟达")
    assert found.text.startswith("搜索「英伟达」")
    assert found.text.endswith("提示：直接发送文字就能搜索往期日报，/help 查看全部命令。")
    (none,) = await say(emulator, MEMBER, "量子引力")
    assert (
        none.text
        == "没有找到「量子引力」。\n提示：直接发送文字就能搜索往期日报，/help 查看全部命令。"
    )


async def test_the_search_example_is_a_word_the_archive_holds(
    bot: Services, emulator: TelegramEmulator
) -> None:
    (usage,) = await ask(emulator, MEMBER, MEMBER, "/search", language_code="en")
    assert usage.text == "Usage: /search words, e.g. /search LLM"
    (found,) = await ask(emulator, MEMBER, MEMBER, "/search LLM", language_code="en")
    assert found.text.startswith("Search “LLM”")
    (chinese,) = await ask(emulator, MEMBER, MEMBER, "/search")
    assert chinese.text == "用法：/search 关键词，例如 /search 周报"


# -- tags --------------------------------------------------------------------------------


async def test_tags_by_name_by_hashtag_and_back_to_the_list(
    bot: Services, emulator: TelegramEmulator
) -> None:
    answers = [
        (await ask(emulator, MEMBER, MEMBER, f"/tag {name}"))[0]
        for name in ("LLM", "#LLM", "#llm", "llm")
    ]
    assert {a.text for a in answers} == {"标签 #LLM\n第 1/1 页，共 1 期"}
    assert buttons(answers[0])[0]["callback_data"] == "d:2026-03-01-llm"
    assert buttons(answers[0])[-1] == {"text": "◀ 全部标签", "callback_data": "T:0:"}
    # As the covers spell them: C++ and "mixed Case" by their hashtags.
    for tag in ("C++", "mixed Case"):
        (found,) = await ask(emulator, MEMBER, MEMBER, f"/tag {hashtag(tag)}")
        assert found.text == f"标签 #{tag}\n第 1/1 页，共 1 期", tag
    # The list's button opens the same page; ◀ goes back to the list in place.
    (tags,) = await ask(emulator, MEMBER, MEMBER, "/tag")
    llm = next(b for b in buttons(tags) if b["text"] == "LLM (1)")
    emulator.press(MEMBER, MEMBER, tags.message_id, llm["callback_data"])
    edited = await _edited(emulator, MEMBER, tags.message_id, 1)
    assert edited.text == answers[0].text
    emulator.press(MEMBER, MEMBER, tags.message_id, "T:0:")
    back = await _edited(emulator, MEMBER, tags.message_id, 2)
    assert back.text == tags.text


async def _edited(emu: TelegramEmulator, chat: int, message_id: int, times: int) -> SentMessage:
    for _ in range(100):
        message = next(m for m in emu.transcript(chat) if m.message_id == message_id)
        if message.edited >= times:
            return message
        await asyncio.sleep(0.05)
    raise AssertionError("the message was not edited")


# -- groups: language, /latest, topics -------------------------------------------------


async def test_a_group_hears_its_own_language_whoever_asks(
    bot: Services, emulator: TelegramEmulator
) -> None:
    (english,) = await ask(emulator, GROUP, MEMBER, "/latest", language_code="en")
    (chinese,) = await ask(emulator, GROUP, MEMBER + 1, "/latest")
    assert buttons(english)[0]["text"] == buttons(chinese)[0]["text"] == "📖 阅读全文"
    (private,) = await ask(emulator, MEMBER, MEMBER, "/help", language_code="en")
    assert private.text.startswith("I post the daily AI digest")
    assert private.text.endswith(
        "Send any words to search past digests.\n"
        f"Type @{BOT} and a few words in any chat to share a digest."
    )
    (group_help,) = await ask(emulator, GROUP, MEMBER + 2, "/help", language_code="en")
    assert group_help.text.endswith(f"在任意聊天里输入 @{BOT} 关键词，就能分享某期日报。")
    assert "直接发送文字" not in group_help.text


async def test_a_forum_topic_session_stays_in_its_topic(
    bot: Services, emulator: TelegramEmulator
) -> None:
    """Three members, so the group's pace rule is not what is tested here."""
    answers = [
        (await ask(emulator, FORUM, MEMBER + i, command, thread_id=TOPIC))[0]
        for i, command in enumerate(["/latest", "/tag", "/search 英伟达"])
    ]
    assert [a.thread_id for a in answers] == [TOPIC, TOPIC, TOPIC]
    assert answers[0].text.startswith("LLM 周报")
    assert answers[1].text.startswith("标签（共")
    assert answers[2].text.startswith("搜索「英伟达」")


async def test_typing_shows_while_a_digest_arrives(
    bot: Services, emulator: TelegramEmulator
) -> None:
    await ask(emulator, MEMBER, MEMBER, "/archive 2026-02-21", expect=6)
    actions = [r.params for r in emulator.requests if r.method == "sendChatAction"]
    assert len(actions) == 5  # before each part but the last
    assert {(str(a["chat_id"]), a["action"]) for a in actions} == {(str(MEMBER), "typing")}


# -- inline mode -----------------------------------------------------------------------


async def test_inline_query_lists_released_digests_and_shares_a_card(
    bot: Services, emulator: TelegramEmulator
) -> None:
    query_id = emulator.inline_query(MEMBER, "英伟达 OpenAI", chat_type="supergroup")
    answer = await answered(emulator, query_id)
    (result,) = answer["results"]
    assert result["id"] == SAMPLE_SLUG
    assert result["title"].startswith("AI 军备竞赛升级")
    assert result["description"].startswith("2026-02-21 · 谷歌发布 Gemini 3.1 Pro")
    assert result["thumbnail_url"].startswith("https://ssl.aicode.cc/")  # the cover
    assert answer["is_personal"] is False and answer["cache_time"] <= 60
    assert answer["next_offset"] == ""
    emulator.add_chat(-1005550001, type="supergroup", title="Another group")
    message_id = emulator.choose_inline_result(query_id, SAMPLE_SLUG, -1005550001)
    card = next(m for m in emulator.transcript(-1005550001) if m.message_id == message_id)
    assert card.text.startswith("AI 军备竞赛升级") and "2026-02-21 · AI 日报" in card.text
    assert {"type": "bold", "offset": 0, "length": 28} in card.entities
    (button,) = buttons(card)
    assert button == {"text": "📖 阅读全文", "url": f"https://t.me/{BOT}?start=d_{SAMPLE_SLUG}"}
    # The deep link brings the whole digest into the private chat.
    sent = await ask(emulator, MEMBER, MEMBER, f"/start d_{SAMPLE_SLUG}", expect=7)
    assert sent[1].text.startswith("AI 军备竞赛升级")


async def test_inline_pages_and_forged_offsets(
    bot: Services, emulator: TelegramEmulator, content: Path
) -> None:
    for day in range(1, 29):
        write_digest(
            content, front=f'title: "旧闻 {day}"\ndate: 2026-01-{day:02d}', name=f"o{day}.md"
        )
    await sync(bot)
    first = await answered(emulator, emulator.inline_query(MEMBER, ""))
    assert len(first["results"]) == 20 and first["next_offset"] == "20"
    second = await answered(emulator, emulator.inline_query(MEMBER, "", offset="20"))
    assert len(second["results"]) == 10 and second["next_offset"] == ""
    ids = [r["id"] for r in first["results"] + second["results"]]
    assert len(set(ids)) == 30
    for forged in ("-1", "abc", "7", "99999999"):
        forged_answer = await answered(emulator, emulator.inline_query(MEMBER, "", offset=forged))
        assert forged_answer["results"] == []
    # Text the chosen card carries into the member's own chat is not taken as a search.
    query_id = emulator.inline_query(MEMBER, "LLM", chat_type="sender")
    (result,) = (await answered(emulator, query_id))["results"]
    before = len(emulator.transcript(MEMBER))
    emulator.choose_inline_result(query_id, result["id"], MEMBER)
    await asyncio.sleep(0.5)
    assert len(emulator.transcript(MEMBER)) == before + 1  # only the card itself


async def test_latest_in_the_group_links_to_the_posted_cover(
    settings: Settings, store: Store, emulator: TelegramEmulator, content: Path
) -> None:
    """Four members asking at once get four short replies, each linking to the cover."""
    today = make_due(content)
    async with serving(build_app(settings, store, flood=BOT_FAST)):
        posted = await emulator.wait_for(GROUP, 6)  # the schedule's catch-up posts it
        before = len(emulator.transcript(GROUP))
        for member in range(4):
            emulator.command(GROUP, MEMBER + member, "/latest")
        replies = (await emulator.wait_for(GROUP, before + 4))[before:]
    url = f"https://t.me/{GROUP_NAME}/{posted[0].message_id}"
    for reply in replies:
        assert reply.method == "sendMessage" and reply.reply_to_message_id is not None
        day = load_digest(today).date.isoformat()
        assert (
            reply.text == f"AI 军备竞赛升级：千亿融资频现，模型能力突破与局限并存\n{day} · 群内原帖"
        )
        assert {"type": "text_link", "offset": 42, "length": 4, "url": url} in reply.entities


def test_message_links_for_public_and_private_supergroups() -> None:
    public = Chat(GROUP, "supergroup", username=GROUP_NAME)
    assert message_link(public, 5) == f"https://t.me/{GROUP_NAME}/5"
    assert message_link(Chat(-1001234567890, "supergroup"), 5) == "https://t.me/c/1234567890/5"
    assert message_link(Chat(-4242, "group"), 5) is None
