"""The emulator's inline mode: inline queries, answerInlineQuery's rules and chosen results.

Like test_sandbox_api.py, each rule is checked on both sides through raw HTTP (Telegram's exact
wording) and through python-telegram-bot (what the bot will get).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    MessageEntity,
)
from telegram.error import BadRequest

from bot.sandbox.telegram_api import TelegramEmulator
from tests.unit.test_sandbox_api import FORUM, GROUP, NO_FLOOD, USER, bold, call, refusal

QUERY_ID_INVALID = (
    "Bad Request: query is too old and response timeout expired or query ID is invalid"
)


@pytest.fixture
async def emu() -> AsyncIterator[TelegramEmulator]:
    async with TelegramEmulator(flood=NO_FLOOD, inline=True) as emulator:
        emulator.add_chat(GROUP, title="摘要群", username="digest_group", admins=[7])
        emulator.add_chat(FORUM, title="论坛", is_forum=True, topics=[11, 12])
        emulator.add_chat(USER, type="private")
        yield emulator


@pytest.fixture
async def bot(emu: TelegramEmulator) -> AsyncIterator[Bot]:
    async with Bot(emu.token, base_url=emu.base_url, base_file_url=emu.base_file_url) as client:
        yield client


def article(result_id: str = "1", text: str = "摘要", **extra: Any) -> dict[str, Any]:
    content = {"message_text": text, **extra.pop("content", {})}
    return {
        "type": "article",
        "id": result_id,
        "title": "标题",
        "input_message_content": content,
        **extra,
    }


async def answer(emu: TelegramEmulator, *results: dict[str, Any], **params: Any) -> str:
    """Answers a fresh inline query; the refusal's description, or "" if it was accepted."""
    query_id = emu.inline_query(USER, "AI")
    status, body = await call(
        emu, "answerInlineQuery", inline_query_id=query_id, results=list(results), **params
    )
    if status == 200:
        return ""
    assert (status, body["error_code"]) == (400, 400), body
    return body["description"]


async def test_inline_mode_is_off_by_default_and_reported_by_get_me() -> None:
    async with TelegramEmulator(flood=NO_FLOOD) as emu:
        async with Bot(emu.token, base_url=emu.base_url) as bot:
            assert (await bot.get_me()).supports_inline_queries is False
        with pytest.raises(ValueError, match="inline mode is off"):
            emu.inline_query(USER, "AI")
    async with (
        TelegramEmulator(flood=NO_FLOOD, inline=True) as emu,
        Bot(emu.token, base_url=emu.base_url) as bot,
    ):
        assert (await bot.get_me()).supports_inline_queries is True


async def test_inline_query_update(emu: TelegramEmulator, bot: Bot) -> None:
    query_id = emu.inline_query(USER, "英伟达 OpenAI", chat_type="supergroup", offset="10")
    (update,) = await bot.get_updates(timeout=1)
    query = update.inline_query
    assert query is not None and query.id == query_id
    assert (query.query, query.offset, query.chat_type) == ("英伟达 OpenAI", "10", "supergroup")
    assert query.from_user.id == USER and query.from_user.language_code == "zh-hans"
    with pytest.raises(ValueError, match="chat_type"):
        emu.inline_query(USER, "x", chat_type="forum")
    with pytest.raises(ValueError, match="256"):
        emu.inline_query(USER, "x" * 257)


async def test_answer_through_ptb_is_recorded_as_telegram_keeps_it(
    emu: TelegramEmulator, bot: Bot
) -> None:
    query_id = emu.inline_query(USER, "AI")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("📖", url="https://t.me/x?start=d")]])
    results = [
        InlineQueryResultArticle(
            "d:2026-02-21",
            "AI 日报 2026-02-21",
            InputTextMessageContent(
                "<b>AI 日报</b>\n摘要", parse_mode="HTML", link_preview_options=None
            ),
            reply_markup=keyboard,
            description="八条新闻",
            thumbnail_url="https://img.example.com/t.png",
        ),
        InlineQueryResultArticle(
            "d:2026-02-20",
            "AI 日报 2026-02-20",
            InputTextMessageContent("粗体", entities=[MessageEntity("bold", 0, 2)]),
        ),
    ]
    button = InlineQueryResultsButton("打开机器人", start_parameter="inline_help")
    assert await bot.answer_inline_query(
        query_id, results, cache_time=0, is_personal=True, next_offset="50", button=button
    )
    (recorded,) = emu.inline_answers
    assert recorded["inline_query_id"] == query_id
    assert (recorded["cache_time"], recorded["is_personal"], recorded["next_offset"]) == (
        0,
        True,
        "50",
    )
    assert recorded["button"] == {"text": "打开机器人", "start_parameter": "inline_help"}
    first, second = recorded["results"]
    assert first["input_message_content"]["message_text"] == "AI 日报\n摘要"
    assert first["input_message_content"]["entities"] == [bold(0, 5)]
    assert (first["description"], first["thumbnail_url"]) == (
        "八条新闻",
        "https://img.example.com/t.png",
    )
    assert first["reply_markup"]["inline_keyboard"][0][0]["url"] == "https://t.me/x?start=d"
    assert second["input_message_content"] == {
        "message_text": "粗体",
        "entities": [bold(0, 2)],
        "link_preview_options": None,
    }
    # Answered once: a second answer is refused like an unknown id.
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_inline_query(query_id, results)
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_inline_query("12345", results)


async def test_query_too_old(emu: TelegramEmulator) -> None:
    emu.inline_answer_timeout = 0.2
    query_id = emu.inline_query(USER, "AI")
    fresh = emu.inline_query(USER, "AI")
    status, _ = await call(emu, "answerInlineQuery", inline_query_id=fresh, results=[article()])
    assert status == 200
    await asyncio.sleep(0.3)
    assert (
        await refusal(emu, "answerInlineQuery", inline_query_id=query_id, results=[article()])
        == QUERY_ID_INVALID
    )


async def test_at_most_50_results_with_unique_ids_of_1_to_64_bytes(emu: TelegramEmulator) -> None:
    assert await answer(emu, *(article(str(i)) for i in range(50))) == ""
    assert await answer(emu, *(article(str(i)) for i in range(51))) == (
        "Bad Request: too many inline query results specified"
    )
    assert await answer(emu, article("1"), article("1")) == "Bad Request: RESULT_ID_DUPLICATE"
    assert await answer(emu, article("é" * 32)) == ""
    assert await answer(emu, article("é" * 32 + "x")) == "Bad Request: RESULT_ID_INVALID"
    assert await answer(emu, article("")) == "Bad Request: RESULT_ID_EMPTY"
    assert await answer(emu) == ""


async def test_next_offset_and_cache_time(emu: TelegramEmulator) -> None:
    assert await answer(emu, article(), next_offset="é" * 32) == ""
    assert await answer(emu, article(), next_offset="é" * 32 + "x") == (
        "Bad Request: NEXT_OFFSET_INVALID"
    )
    assert await answer(emu, article(), cache_time=86400) == ""
    assert "Telegram would clamp it" in await answer(emu, article(), cache_time=86401)


@pytest.mark.parametrize(
    ("result", "description"),
    [
        ({"id": "1", "title": "t", "input_message_content": {"message_text": "x"}}, "type"),
        (
            {"type": "article", "title": "t", "input_message_content": {"message_text": "x"}},
            'Can\'t find field "id"',
        ),
        ({"type": "article", "id": "1", "title": "t"}, 'Can\'t find field "message_text"'),
        (
            {"type": "article", "id": "1", "input_message_content": {"message_text": "x"}},
            'Can\'t find field "title"',
        ),
        (
            {"type": "article", "id": "1", "title": "t", "input_message_content": {}},
            "Input message content is not specified",
        ),
    ],
)
async def test_article_fields(
    emu: TelegramEmulator, result: dict[str, Any], description: str
) -> None:
    reason = await answer(emu, result)
    assert reason.startswith("Bad Request: can't parse inline query result: "), reason
    assert description in reason
    assert await answer(emu, {**article(), "title": " "}) == "Bad Request: ARTICLE_TITLE_EMPTY"
    assert "not emulated" in await answer(emu, {**article(), "type": "photo"})


async def test_message_text_rules_are_send_message_rules(emu: TelegramEmulator) -> None:
    assert await answer(emu, article(text="a" * 4094 + "🌏")) == ""
    assert await answer(emu, article(text="a" * 4095 + "🌏")) == "Bad Request: MESSAGE_TOO_LONG"
    assert await answer(emu, article(text=" \n ")) == "Bad Request: text must be non-empty"
    assert await answer(emu, article(text="中" * 10923)) == (
        "Bad Request: can't parse inline query result: Text is too long"
    )
    entities = {"entities": [bold(0, 3)]}
    assert await answer(emu, article(text="ab🌏", content={"entities": [bold(0, 4)]})) == ""
    assert await answer(emu, article(text="ab🌏", content=entities)) == (
        "Bad Request: entity beginning at UTF-16 offset 0 ends in a middle of a UTF-16 symbol "
        "at byte offset 6"
    )
    crossing = {"entities": [bold(0, 3), {"type": "italic", "offset": 2, "length": 2}]}
    assert "without nesting" in await answer(emu, article(text="abcd", content=crossing))
    assert "leading or trailing whitespace" in await answer(
        emu, article(text="粗\n", content={"entities": [bold(0, 1)]})
    )
    html = {"parse_mode": "HTML"}
    assert await answer(emu, article(text="<b>粗</b>", content=html)) == ""
    assert await answer(emu, article(text="<div>x</div>", content=html)) == (
        "Bad Request: can't parse inline query result: Can't parse entities: Unsupported start "
        'tag "div" at byte offset 0'
    )
    link = {"entities": [{"type": "text_link", "offset": 0, "length": 1, "url": "/x"}]}
    assert "entity URL '/x' is invalid" in await answer(emu, article(text="x", content=link))


async def test_result_markup_description_and_thumbnail(emu: TelegramEmulator) -> None:
    def keyboard(**button: Any) -> dict[str, Any]:
        return {"inline_keyboard": [[{"text": "按钮", **button}]]}

    assert await answer(emu, article(reply_markup=keyboard(callback_data="é" * 32))) == ""
    assert await answer(emu, article(reply_markup=keyboard(callback_data="é" * 32 + "x"))) == (
        "Bad Request: BUTTON_DATA_INVALID"
    )
    assert await answer(emu, article(reply_markup=keyboard(url="/digest"))) == (
        "Bad Request: BUTTON_URL_INVALID"
    )
    assert "inline keyboard" in await answer(
        emu, article(reply_markup={"keyboard": [[{"text": "x"}]]})
    )
    assert await answer(emu, article(description="说明", thumbnail_url="https://a.example/t")) == ""
    assert "no thumbnail" in await answer(emu, article(thumbnail_url="t.png"))


@pytest.mark.parametrize(
    ("button", "description"),
    [
        ({"text": "开始", "start_parameter": "a-Z_9" * 12 + "abcd"}, ""),
        ({"text": "开始", "web_app": {"url": "https://app.example.com/"}}, ""),
        ({"text": "开始", "start_parameter": ""}, "Bad Request: can't use empty start_parameter"),
        (
            {"text": "开始", "start_parameter": "a" * 65},
            "Bad Request: too long start_parameter specified",
        ),
        (
            {"text": "开始", "start_parameter": "a b"},
            "Bad Request: unallowed characters in start_parameter are used",
        ),
        (
            {"start_parameter": "a"},
            "Bad Request: can't parse inline query results button: Can't find field \"text\"",
        ),
        (
            {"text": "开始"},
            "Bad Request: can't parse inline query results button: InlineQueryResultsButton "
            "must have exactly one optional field",
        ),
    ],
)
async def test_results_button(
    emu: TelegramEmulator, button: dict[str, Any], description: str
) -> None:
    assert await answer(emu, article(), button=button) == description


async def test_form_encoded_answer_like_ptb_sends_it(emu: TelegramEmulator) -> None:
    query_id = emu.inline_query(USER, "AI")
    status, _ = await call(
        emu,
        "answerInlineQuery",
        inline_query_id=query_id,
        results=json.dumps([article()]),
        is_personal="true",
    )
    assert status == 200 and emu.inline_answers[-1]["is_personal"] is True
    assert await refusal(
        emu, "answerInlineQuery", inline_query_id=emu.inline_query(USER, "x"), results="[{bad"
    ) == ("Bad Request: can't parse JSON encoded inline query results")


async def test_choosing_a_result_posts_the_users_message_via_the_bot(
    emu: TelegramEmulator, bot: Bot
) -> None:
    sent = await bot.send_message(FORUM, "先前", message_thread_id=11)
    query_id = emu.inline_query(USER, "AI", chat_type="supergroup")
    keyboard = {
        "inline_keyboard": [[{"text": "📖", "url": "https://t.me/digest_test_bot?start=d"}]]
    }
    results = [
        article("d1", "<b>AI 日报</b>", content={"parse_mode": "HTML"}, reply_markup=keyboard)
    ]
    await call(emu, "answerInlineQuery", inline_query_id=query_id, results=results)
    with pytest.raises(ValueError, match="no result"):
        emu.choose_inline_result(query_id, "d2", FORUM)
    with pytest.raises(ValueError, match="can't go to"):
        emu.choose_inline_result(query_id, "d1", USER)
    message_id = emu.choose_inline_result(query_id, "d1", FORUM, thread_id=11)
    assert message_id == sent.message_id + 1
    _, card = emu.transcript(FORUM)
    assert (card.message_id, card.text, card.entities) == (message_id, "AI 日报", [bold(0, 5)])
    assert card.from_user is not None and card.from_user["id"] == USER
    updates = await bot.get_updates(timeout=1)
    assert [u.inline_query is not None for u in updates] == [True, False]
    message = updates[1].message
    assert message is not None and message.via_bot is not None
    assert message.via_bot.id == emu.bot_id and message.from_user is not None
    assert (message.from_user.id, message.message_thread_id, message.text) == (
        USER,
        11,
        "AI 日报",
    )
    assert message.reply_markup is not None
    # Not the bot's message: it can't be edited by chat and message id.
    assert await refusal(
        emu, "editMessageText", chat_id=FORUM, message_id=message_id, text="改"
    ) == ("Bad Request: message can't be edited")
    # The next message in the supergroup takes the next id.
    assert (await bot.send_message(FORUM, "后来")).message_id == message_id + 1
    unanswered = emu.inline_query(USER, "x")
    with pytest.raises(ValueError, match="not answered"):
        emu.choose_inline_result(unanswered, "d1", GROUP)


async def test_chosen_inline_result_only_with_inline_feedback() -> None:
    async with TelegramEmulator(flood=NO_FLOOD, inline=True, inline_feedback=True) as emu:
        emu.add_chat(USER, type="private")
        async with Bot(emu.token, base_url=emu.base_url) as bot:
            query_id = emu.inline_query(USER, "AI", chat_type="sender")
            keyboard = {"inline_keyboard": [[{"text": "赞", "callback_data": "like"}]]}
            results = [article("d1", reply_markup=keyboard), article("d2")]
            await bot.answer_inline_query(query_id, results)  # type: ignore[arg-type]
            first = emu.choose_inline_result(query_id, "d1", USER)
            emu.choose_inline_result(query_id, "d2", USER)
            updates = (await bot.get_updates(timeout=1))[1:]
            kinds = [next(k for k in u.to_dict() if k != "update_id") for u in updates]
            assert kinds == ["message", "chosen_inline_result", "message", "chosen_inline_result"]
            chosen = updates[1].chosen_inline_result
            assert chosen is not None and (chosen.result_id, chosen.query) == ("d1", "AI")
            assert chosen.inline_message_id is not None
            assert updates[3].chosen_inline_result is not None
            assert updates[3].chosen_inline_result.inline_message_id is None
            # A button on a message sent via the bot comes back with inline_message_id only.
            emu.press(USER, USER, first, "like")
            (press,) = await bot.get_updates(offset=updates[-1].update_id + 1, timeout=1)
            assert press.callback_query is not None and press.callback_query.message is None
            assert press.callback_query.inline_message_id == chosen.inline_message_id
