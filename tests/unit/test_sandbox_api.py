"""The Telegram emulator itself: it must accept exactly what Telegram accepts and refuse the rest.

Each strictness rule is checked on both sides of its edge, through raw HTTP (to see Telegram's
exact wording) and through python-telegram-bot (to see what the bot will get).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    MessageEntity,
    ReplyParameters,
    Update,
)
from telegram.error import BadRequest, Conflict, InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.ext import ApplicationBuilder, CommandHandler, ContextTypes

from bot.flood import retry_seconds
from bot.sandbox.telegram_api import FloodLimits, TelegramEmulator, message_problem

GROUP = -1001234567890
FORUM = -1009876543210
USER = 424242
NO_FLOOD = FloodLimits(per_chat_interval=0, group_per_minute=0, global_per_second=0)


@pytest.fixture
async def emu() -> AsyncIterator[TelegramEmulator]:
    async with TelegramEmulator(flood=NO_FLOOD) as emulator:
        emulator.add_chat(GROUP, title="摘要群", username="digest_group", admins=[7])
        emulator.add_chat(FORUM, title="论坛", is_forum=True, topics=[11, 12])
        emulator.add_chat(USER, type="private")
        yield emulator


@pytest.fixture
async def bot(emu: TelegramEmulator) -> AsyncIterator[Bot]:
    async with Bot(emu.token, base_url=emu.base_url, base_file_url=emu.base_file_url) as client:
        yield client


async def call(emu: TelegramEmulator, method: str, **params: Any) -> tuple[int, dict[str, Any]]:
    """A raw JSON Bot API call, to see Telegram's exact status and description."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{emu.base_url}{emu.token}/{method}", json=params) as response,
    ):
        return response.status, await response.json()


async def refusal(emu: TelegramEmulator, method: str, **params: Any) -> str:
    """The description of a call that must fail with 400."""
    status, body = await call(emu, method, **params)
    assert (status, body["ok"], body["error_code"]) == (400, False, 400), body
    return body["description"]


def bold(offset: int, length: int) -> dict[str, Any]:
    return {"type": "bold", "offset": offset, "length": length}


# --- transport ---------------------------------------------------------------------------------


async def test_form_multipart_and_json_bodies_are_normalised(emu: TelegramEmulator) -> None:
    url = f"{emu.base_url}{emu.token}"
    entities = json.dumps([bold(0, 2)])
    async with aiohttp.ClientSession() as session:
        form = {"chat_id": str(GROUP), "text": "你好", "entities": entities}
        async with session.post(f"{url}/sendMessage", data=form) as response:
            assert response.status == 200
        upload = aiohttp.FormData()
        upload.add_field("chat_id", "@digest_group")
        upload.add_field("caption", "封面")
        upload.add_field("photo", b"\x89PNG fake", filename="cover.png")
        async with session.post(f"{url}/sendPhoto", data=upload) as response:
            assert (await response.json())["result"]["photo"][0]["width"] == 90
        body = {"chat_id": GROUP, "text": "世界", "entities": [bold(0, 1)]}
        async with session.post(f"{url}/SENDMESSAGE", json=body) as response:
            assert (await response.json())["result"]["entities"] == [bold(0, 1)]
    first, photo, last = emu.transcript(GROUP)
    assert (first.text, first.entities) == ("你好", [bold(0, 2)])
    assert (photo.photo, photo.text) == ("uploaded:cover.png", "封面")
    assert last.text == "世界"
    assert emu.requests[0].params == {"chat_id": GROUP, "text": "你好", "entities": [bold(0, 2)]}
    async with aiohttp.ClientSession() as session:
        form = {"chat_id": str(GROUP), "text": "x", "entities": "[{bad"}
        async with session.post(f"{url}/sendMessage", data=form) as response:
            assert "without formatting" in (await response.json())["description"]
        form = {"chat_id": str(GROUP), "text": "x", "reply_markup": "{bad"}
        async with session.post(f"{url}/sendMessage", data=form) as response:
            assert (await response.json())["description"] == (
                "Bad Request: can't parse reply keyboard markup JSON object"
            )
    assert emu.requests[-1].params == form
    assert [r.method for r in emu.requests][:3] == ["sendMessage", "sendPhoto", "sendMessage"]


async def test_wrong_token_and_unknown_method(emu: TelegramEmulator) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{emu.base_url}1:wrong/getMe") as response:
            assert response.status == 401
            assert await response.json() == {
                "ok": False,
                "error_code": 401,
                "description": "Unauthorized",
            }
        async with session.post(f"{emu.base_url}{emu.token}/sendSticker") as response:
            assert (response.status, (await response.json())["description"]) == (404, "Not Found")
    wrong = Bot("1:wrong", base_url=emu.base_url)
    with pytest.raises(InvalidToken):
        await wrong.initialize()
    await wrong.shutdown()
    assert [r.status for r in emu.requests] == [401, 404, 401]


# --- what a sent message looks like ------------------------------------------------------------


async def test_send_message_returns_a_full_message_and_is_transcribed(
    emu: TelegramEmulator, bot: Bot
) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("更多", callback_data="more:1")]])
    message = await bot.send_message(
        FORUM,
        "你好 🌏 世界",
        entities=[MessageEntity("bold", 0, 2), MessageEntity("italic", 3, 2)],
        message_thread_id=11,
        disable_notification=True,
        reply_markup=keyboard,
        link_preview_options=LinkPreviewOptions(is_disabled=True),
    )
    assert message.text == "你好 🌏 世界"
    assert message.from_user is not None and message.from_user.id == emu.bot_id
    assert message.chat.id == FORUM and message.chat.is_forum
    assert (message.message_thread_id, message.is_topic_message) == (11, True)
    assert message.parse_entities() == {
        MessageEntity("bold", 0, 2): "你好",
        MessageEntity("italic", 3, 2): "🌏",
    }
    assert message.reply_markup == keyboard
    (sent,) = emu.transcript(FORUM)
    assert sent.message_id == message.message_id
    assert sent.method == "sendMessage"
    assert sent.entities == [bold(0, 2), {"type": "italic", "offset": 3, "length": 2}]
    assert (sent.thread_id, sent.disable_notification) == (11, True)
    assert sent.reply_markup == {"inline_keyboard": [[{"text": "更多", "callback_data": "more:1"}]]}
    assert sent.link_preview_options == {"is_disabled": True}
    assert (sent.photo, sent.edited, sent.reply_to_message_id) == (None, 0, None)


async def test_chat_must_be_known_by_id_or_username(emu: TelegramEmulator, bot: Bot) -> None:
    await bot.send_message("@digest_group", "hi")
    assert [m.text for m in emu.transcript("@digest_group")] == ["hi"]
    assert await refusal(emu, "sendMessage", chat_id=-1005, text="hi") == (
        "Bad Request: chat not found"
    )
    assert await refusal(emu, "sendMessage", chat_id="@nobody", text="hi") == (
        "Bad Request: chat not found"
    )


async def test_message_thread_only_in_a_forum_with_that_topic(emu: TelegramEmulator) -> None:
    missing = "Bad Request: message thread not found"
    assert (
        await refusal(emu, "sendMessage", chat_id=FORUM, text="x", message_thread_id=13) == missing
    )
    assert (
        await refusal(emu, "sendMessage", chat_id=GROUP, text="x", message_thread_id=11) == missing
    )
    status, _ = await call(emu, "sendMessage", chat_id=FORUM, text="x", message_thread_id=12)
    assert status == 200


async def test_reply_stays_in_its_topic_and_must_exist(emu: TelegramEmulator, bot: Bot) -> None:
    emu.message(FORUM, USER, "问题", thread_id=12)
    answer = await bot.send_message(FORUM, "回答", reply_parameters=ReplyParameters(1))
    assert answer.message_thread_id == 12
    assert answer.reply_to_message is not None and answer.reply_to_message.text == "问题"
    assert await refusal(
        emu, "sendMessage", chat_id=FORUM, text="x", reply_parameters={"message_id": 99}
    ) == ("Bad Request: message to be replied not found")


# --- text rules --------------------------------------------------------------------------------


async def test_text_limit_is_4096_utf16_units(emu: TelegramEmulator) -> None:
    fits = "a" * 4094 + "🌏"
    status, _ = await call(emu, "sendMessage", chat_id=GROUP, text=fits, entities=[bold(0, 4096)])
    assert status == 200
    too_long = "a" * 4095 + "🌏"
    assert await refusal(emu, "sendMessage", chat_id=GROUP, text=too_long) == (
        "Bad Request: message is too long"
    )


async def test_raw_text_over_32768_bytes_is_too_long(emu: TelegramEmulator) -> None:
    assert await refusal(emu, "sendMessage", chat_id=GROUP, text="中" * 10923) == (
        "Bad Request: text is too long"
    )


async def test_empty_and_blank_text(emu: TelegramEmulator) -> None:
    assert await refusal(emu, "sendMessage", chat_id=GROUP, text="") == (
        "Bad Request: message text is empty"
    )
    assert await refusal(emu, "sendMessage", chat_id=GROUP, text=" \n \n") == (
        "Bad Request: text must be non-empty"
    )
    assert await refusal(emu, "sendMessage", chat_id=GROUP, text="<b></b>", parse_mode="HTML") == (
        "Bad Request: text must be non-empty"
    )


async def test_caption_limit_is_1024_units(emu: TelegramEmulator, bot: Bot) -> None:
    photo = "https://img.example.com/cover.png"
    sent = await bot.send_photo(GROUP, photo, caption="图" * 1023 + "!")
    assert sent.caption is not None and len(sent.caption) == 1024
    with pytest.raises(BadRequest, match=r"(?i)message caption is too long"):
        await bot.send_photo(GROUP, photo, caption="图" * 1025)


async def test_surrounding_whitespace_with_entities_is_a_violation(
    emu: TelegramEmulator, bot: Bot
) -> None:
    await bot.send_message(GROUP, "\n plain \n")
    assert emu.transcript(GROUP)[-1].text == "plain"
    assert emu.violations == []
    with pytest.raises(BadRequest, match="leading or trailing whitespace"):
        await bot.send_message(GROUP, "粗体\n", entities=[MessageEntity("bold", 0, 2)])
    assert len(emu.violations) == 1 and "trim" in emu.violations[0]


async def test_carriage_returns_are_removed_and_entities_follow(emu: TelegramEmulator) -> None:
    status, body = await call(
        emu, "sendMessage", chat_id=GROUP, text="a\r\nb\tc", entities=[bold(3, 3)]
    )
    assert status == 200
    assert (body["result"]["text"], body["result"]["entities"]) == ("a\nb c", [bold(2, 3)])


async def test_message_problem_is_the_same_verdict_without_http() -> None:
    assert message_problem("你好", [bold(0, 2)]) is None
    assert message_problem("图" * 1025, [], caption=True) == (
        "Bad Request: message caption is too long"
    )
    assert message_problem("a" * 1025, []) is None
    assert "without nesting" in str(message_problem("abcd", [bold(0, 3), bold(1, 3)]))


# --- entity rules ------------------------------------------------------------------------------


async def test_at_most_100_entities(emu: TelegramEmulator) -> None:
    text = "x " * 100 + "x"
    hundred = [bold(2 * i, 1) for i in range(100)]
    status, _ = await call(emu, "sendMessage", chat_id=GROUP, text=text, entities=hundred)
    assert status == 200
    reason = await refusal(
        emu, "sendMessage", chat_id=GROUP, text=text, entities=[*hundred, bold(200, 1)]
    )
    assert "101 formatting entities" in reason


async def test_entities_must_not_split_surrogate_pairs_or_leave_the_text(
    emu: TelegramEmulator,
) -> None:
    text = "ab🌏c"
    status, _ = await call(emu, "sendMessage", chat_id=GROUP, text=text, entities=[bold(2, 2)])
    assert status == 200
    assert await refusal(emu, "sendMessage", chat_id=GROUP, text=text, entities=[bold(0, 3)]) == (
        "Bad Request: entity beginning at UTF-16 offset 0 ends in a middle of a UTF-16 symbol "
        "at byte offset 6"
    )
    assert await refusal(emu, "sendMessage", chat_id=GROUP, text=text, entities=[bold(3, 2)]) == (
        "Bad Request: entity begins in a middle of a UTF-16 symbol at byte offset 6"
    )
    assert await refusal(emu, "sendMessage", chat_id=GROUP, text=text, entities=[bold(4, 2)]) == (
        "Bad Request: entity beginning at UTF-16 offset 4 ends after the end of the text at "
        "UTF-16 offset 6"
    )
    assert "length 0" in await refusal(
        emu, "sendMessage", chat_id=GROUP, text=text, entities=[bold(1, 0)]
    )


async def test_overlapping_entities_must_nest(emu: TelegramEmulator) -> None:
    nested = [bold(0, 6), {"type": "italic", "offset": 2, "length": 2}]
    status, _ = await call(emu, "sendMessage", chat_id=GROUP, text="abcdef", entities=nested)
    assert status == 200
    crossing = [bold(0, 4), {"type": "italic", "offset": 2, "length": 4}]
    reason = await refusal(emu, "sendMessage", chat_id=GROUP, text="abcdef", entities=crossing)
    assert "without nesting" in reason


LINK = {"type": "text_link", "url": "https://example.com/"}


@pytest.mark.parametrize(
    ("outer", "inner", "problem"),
    [
        (LINK, {"type": "code"}, "nested only in a blockquote"),
        ({"type": "code"}, {"type": "bold"}, "can't contain other entities"),
        ({"type": "bold"}, {"type": "pre"}, "nested only in a blockquote"),
        ({"type": "blockquote"}, {"type": "expandable_blockquote"}, "can't be nested"),
        (LINK, {"type": "text_link", "url": "https://b.example/"}, "can't contain links"),
        ({"type": "blockquote"}, {"type": "pre", "language": "python"}, None),
        (LINK, {"type": "bold"}, None),
        ({"type": "spoiler"}, LINK, None),
        ({"type": "underline"}, {"type": "strikethrough"}, None),
    ],
)
async def test_nesting_rules(
    emu: TelegramEmulator, outer: dict[str, Any], inner: dict[str, Any], problem: str | None
) -> None:
    entities = [{**outer, "offset": 0, "length": 6}, {**inner, "offset": 1, "length": 3}]
    status, body = await call(emu, "sendMessage", chat_id=GROUP, text="abcdef", entities=entities)
    if problem is None:
        assert status == 200, body
    else:
        assert status == 400 and problem in body["description"]


async def test_entity_types(emu: TelegramEmulator) -> None:
    unknown = [{"type": "marquee", "offset": 0, "length": 1}]
    assert await refusal(emu, "sendMessage", chat_id=GROUP, text="ab", entities=unknown) == (
        "Bad Request: can't parse MessageEntity: Unsupported type specified"
    )
    auto = [{"type": "hashtag", "offset": 0, "length": 2}, bold(0, 1)]
    status, body = await call(emu, "sendMessage", chat_id=GROUP, text="#a", entities=auto)
    assert (status, body["result"]["entities"]) == (200, [bold(0, 1)])


@pytest.mark.parametrize(
    ("url", "stored"),
    [
        ("https://example.com/a?b=1#c", "https://example.com/a?b=1#c"),
        ("example.com", "http://example.com/"),
        ("tg://resolve?domain=digest_group", "tg://resolve?domain=digest_group"),
    ],
)
async def test_valid_text_link_urls(emu: TelegramEmulator, url: str, stored: str) -> None:
    entity = {"type": "text_link", "offset": 0, "length": 2, "url": url}
    status, body = await call(emu, "sendMessage", chat_id=GROUP, text="链接", entities=[entity])
    assert status == 200
    assert body["result"]["entities"][0]["url"] == stored


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("/digest/2026-02-21", "URL host is empty"),
        ("#section", "URL host is empty"),
        ("javascript:alert(1)", "Wrong port number specified in the URL"),
        ("https://localhost/x", "Wrong HTTP URL"),
        ("ftp://example.com/x", "Unsupported URL protocol"),
        ("mailto:a@example.com", "emulator: Telegram would read it as a link"),
    ],
)
async def test_invalid_text_link_urls(emu: TelegramEmulator, url: str, reason: str) -> None:
    entity = {"type": "text_link", "offset": 0, "length": 2, "url": url}
    description = await refusal(emu, "sendMessage", chat_id=GROUP, text="链接", entities=[entity])
    assert description.startswith(f"Bad Request: entity URL '{url}' is invalid: {reason}")


# --- HTML --------------------------------------------------------------------------------------


async def test_nested_html_becomes_entities(emu: TelegramEmulator, bot: Bot) -> None:
    html = (
        '<b>粗 <i>斜</i></b> <a href="https://example.com/?a=1&amp;b=2">链接</a>\n'
        '<pre><code class="language-python">print("&lt;hi&gt;")</code></pre>\n'
        "<blockquote expandable>引用 <tg-spoiler>秘密</tg-spoiler></blockquote> &#127759;"
    )
    message = await bot.send_message(GROUP, html, parse_mode="HTML")
    assert message.text == '粗 斜 链接\nprint("<hi>")\n引用 秘密 🌏'
    assert emu.transcript(GROUP)[0].entities == [
        {"type": "bold", "offset": 0, "length": 3},
        {"type": "italic", "offset": 2, "length": 1},
        {"type": "text_link", "offset": 4, "length": 2, "url": "https://example.com/?a=1&b=2"},
        {"type": "pre", "offset": 7, "length": 13, "language": "python"},
        {"type": "expandable_blockquote", "offset": 21, "length": 5},
        {"type": "spoiler", "offset": 24, "length": 2},
    ]


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ("<div>x</div>", 'Unsupported start tag "div" at byte offset 0'),
        ("价格 < 10", 'Unsupported start tag "" at byte offset 7'),
        ("a<br/>b", 'Unsupported start tag "br/" at byte offset 1'),
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("a&nbsp;b", 'emulator: unsupported character reference "&nbsp;" at byte offset 1'),
        ('<pre language="py">x</pre>', 'emulator: attribute "language" of the tag "pre"'),
        ('<a href="/x">x</a>', 'emulator: <a href="/x"> is not a valid link'),
    ],
)
async def test_html_errors(emu: TelegramEmulator, html: str, reason: str) -> None:
    description = await refusal(emu, "sendMessage", chat_id=GROUP, text=html, parse_mode="HTML")
    assert description.startswith(f"Bad Request: can't parse entities: {reason}")


async def test_markdown_and_mixed_formatting_are_refused(emu: TelegramEmulator) -> None:
    assert await refusal(
        emu, "sendMessage", chat_id=GROUP, text="*x*", parse_mode="MarkdownV2"
    ) == ("Bad Request: emulator: use entities or HTML")
    reason = await refusal(
        emu, "sendMessage", chat_id=GROUP, text="<b>x</b>", parse_mode="HTML", entities=[bold(0, 1)]
    )
    assert "ignores the entities" in reason


# --- buttons and commands ----------------------------------------------------------------------


def keyboard(**button: Any) -> dict[str, Any]:
    return {"inline_keyboard": [[{"text": "按钮", **button}]]}


@pytest.mark.parametrize(
    ("button", "description"),
    [
        ({"callback_data": "é" * 32}, None),
        ({"url": "https://example.com/digest"}, None),
        ({"callback_data": "é" * 32 + "x"}, "Bad Request: BUTTON_DATA_INVALID"),
        ({"url": "/digest"}, "Bad Request: BUTTON_URL_INVALID"),
        (
            {},
            "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the "
            "inline keyboard",
        ),
        ({"url": "https://example.com/", "callback_data": "x"}, "Bad Request: emulator:"),
    ],
)
async def test_inline_buttons(
    emu: TelegramEmulator, button: dict[str, Any], description: str | None
) -> None:
    status, body = await call(
        emu, "sendMessage", chat_id=GROUP, text="x", reply_markup=keyboard(**button)
    )
    if description is None:
        assert status == 200
    else:
        assert status == 400 and body["description"].startswith(description)


async def test_bot_commands(emu: TelegramEmulator, bot: Bot) -> None:
    await bot.set_my_commands([("digest", "今日摘要"), ("archive", "往期")])
    assert [c.command for c in await bot.get_my_commands()] == ["digest", "archive"]
    scope = {"type": "chat", "chat_id": GROUP}
    status, _ = await call(
        emu, "setMyCommands", commands=[{"command": "admin", "description": "管理"}], scope=scope
    )
    assert status == 200
    assert emu.commands(scope) == [{"command": "admin", "description": "管理"}]
    assert [c["command"] for c in emu.commands()] == ["digest", "archive"]

    def one(command: str, description: str = "说明") -> list[dict[str, str]]:
        return [{"command": command, "description": description}]

    invalid = "Bad Request: BOT_COMMAND_INVALID"
    assert await refusal(emu, "setMyCommands", commands=one("Digest")) == invalid
    assert await refusal(emu, "setMyCommands", commands=one("a" * 33)) == (
        "Bad Request: command length must not exceed 32"
    )
    assert await refusal(emu, "setMyCommands", commands=one("a", " ")) == (
        "Bad Request: command description must be non-empty"
    )
    status, _ = await call(emu, "setMyCommands", commands=one("a" * 32, "说" * 256))
    assert status == 200
    assert await refusal(emu, "setMyCommands", commands=one("a", "说" * 257)) == (
        "Bad Request: command description length must not exceed 256"
    )
    hundred_one = [{"command": f"c{i}", "description": "d"} for i in range(101)]
    assert await refusal(emu, "setMyCommands", commands=hundred_one) == (
        "Bad Request: BOT_COMMANDS_TOO_MUCH"
    )
    assert await refusal(emu, "setMyCommands", commands=one("a"), scope={"type": "chat"}) == (
        "Bad Request: can't parse BotCommandScope: Can't find field \"chat_id\""
    )
    assert await bot.delete_my_commands()
    assert emu.commands() == []


# --- callbacks, edits, deletes -----------------------------------------------------------------


async def test_callback_query_round_trip(emu: TelegramEmulator, bot: Bot) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("下一页", callback_data="page:2")]])
    sent = await bot.send_message(GROUP, "第一页", reply_markup=markup)
    emu.press(GROUP, USER, sent.message_id, "page:2")
    (update,) = await bot.get_updates(timeout=1)
    query = update.callback_query
    assert query is not None and query.data == "page:2" and query.from_user.id == USER
    assert query.message is not None and query.message.message_id == sent.message_id
    with pytest.raises(BadRequest, match=r"(?i)message_too_long"):
        await query.answer("长" * 201)
    assert await query.answer("好的")
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await query.answer()
    assert [answer["text"] for answer in emu.callback_answers] == ["好的"]
    with pytest.raises(ValueError, match="no button"):
        emu.press(GROUP, USER, sent.message_id, "page:3")


async def test_edits(emu: TelegramEmulator, bot: Bot) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("刷新", callback_data="r")]])
    sent = await bot.send_message(GROUP, "旧", reply_markup=markup)
    edited = await bot.edit_message_text("新", GROUP, sent.message_id, reply_markup=markup)
    assert edited.edit_date is not None and edited.text == "新"
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("新", GROUP, sent.message_id, reply_markup=markup)
    await bot.edit_message_text("新", GROUP, sent.message_id)
    (stored,) = emu.transcript(GROUP)
    assert (stored.text, stored.reply_markup, stored.edited) == ("新", None, 2)
    await bot.edit_message_reply_markup(GROUP, sent.message_id, reply_markup=markup)
    assert stored.reply_markup is not None and stored.edited == 3
    assert await refusal(emu, "editMessageText", chat_id=GROUP, message_id=999, text="x") == (
        "Bad Request: message to edit not found"
    )
    assert await refusal(
        emu, "editMessageCaption", chat_id=GROUP, message_id=sent.message_id, caption="x"
    ) == ("Bad Request: there is no caption in the message to edit")


async def test_delete_message_leaves_the_transcript(emu: TelegramEmulator, bot: Bot) -> None:
    first = await bot.send_message(GROUP, "一")
    await bot.send_message(GROUP, "二")
    assert await bot.delete_message(GROUP, first.message_id)
    assert [m.text for m in emu.transcript(GROUP)] == ["二"]
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(GROUP, first.message_id)


# --- photos ------------------------------------------------------------------------------------


async def test_photo_sources(emu: TelegramEmulator, bot: Bot) -> None:
    by_url = await bot.send_photo(GROUP, "https://img.example.com/a.png")
    by_id = await bot.send_photo(GROUP, by_url.photo[-1].file_id, caption="再发")
    assert by_id.photo == by_url.photo
    await bot.send_photo(GROUP, b"\x89PNG data", filename="cover.png")
    assert [m.photo for m in emu.transcript(GROUP)] == [
        "https://img.example.com/a.png",
        by_url.photo[-1].file_id,
        "uploaded:cover.png",
    ]
    wrong = "Bad Request: wrong file identifier/HTTP URL specified"
    for photo in ("https://localhost/a.png", "not-a-file-id", "file:///etc/passwd"):
        assert await refusal(emu, "sendPhoto", chat_id=GROUP, photo=photo) == wrong
    emu.refuse_photo(
        "https://img.example.com/big.png", "Bad Request: failed to get HTTP URL content"
    )
    with pytest.raises(BadRequest, match=r"(?i)failed to get http url content"):
        await bot.send_photo(GROUP, "https://img.example.com/big.png")


# --- flood control -----------------------------------------------------------------------------


async def test_flood_retry_after_and_waiting_it_out() -> None:
    async with TelegramEmulator() as emu:
        emu.add_chat(GROUP)
        async with Bot(emu.token, base_url=emu.base_url) as bot:
            await bot.send_message(GROUP, "一")
            with pytest.raises(RetryAfter) as flood:
                await bot.send_message(GROUP, "二")
            assert retry_seconds(flood.value.retry_after) == 1
            await asyncio.sleep(1)
            await bot.send_message(GROUP, "二")
        assert [m.text for m in emu.transcript(GROUP)] == ["一", "二"]
        (violation,) = emu.violations
        assert violation.startswith("sendMessage: flood limit:")
        assert "1 message per 1 s in a chat" in violation
        sends = [r.status for r in emu.requests if r.method == "sendMessage"]
        assert sends == [200, 429, 200]


async def test_sending_during_retry_after_is_a_violation() -> None:
    async with TelegramEmulator() as emu:
        emu.add_chat(GROUP)
        emu.add_chat(USER, type="private")
        for status in (200, 429, 429):
            assert (await call(emu, "sendMessage", chat_id=GROUP, text="x"))[0] == status
        assert (await call(emu, "sendChatAction", chat_id=GROUP, action="typing"))[0] == 429
        assert (await call(emu, "sendMessage", chat_id=USER, text="x"))[0] == 200
        limit, *ignored = emu.violations
        assert "flood limit" in limit
        assert [v.split(":")[:2] for v in ignored] == [
            ["sendMessage", " ignored retry_after"],
            ["sendChatAction", " ignored retry_after"],
        ]


async def test_per_chat_interval_forgives_only_jitter() -> None:
    async with TelegramEmulator(flood=FloodLimits(per_chat_interval=0.4)) as emu:
        emu.add_chat(USER, type="private")
        assert (await call(emu, "sendMessage", chat_id=USER, text="1"))[0] == 200
        await asyncio.sleep(0.37)
        assert (await call(emu, "sendMessage", chat_id=USER, text="2"))[0] == 200
        await asyncio.sleep(0.25)
        status, body = await call(emu, "sendMessage", chat_id=USER, text="3")
        assert (status, body["parameters"]) == (429, {"retry_after": 1})


async def test_group_and_global_limits() -> None:
    limits = FloodLimits(per_chat_interval=0, group_per_minute=3, global_per_second=5)
    async with TelegramEmulator(flood=limits) as emu:
        emu.add_chat(GROUP)
        emu.add_chat(USER, type="private")
        for _ in range(3):
            assert (await call(emu, "sendMessage", chat_id=GROUP, text="x"))[0] == 200
        status, body = await call(emu, "sendMessage", chat_id=GROUP, text="x")
        assert status == 429 and 59 <= body["parameters"]["retry_after"] <= 60
        for _ in range(2):
            assert (await call(emu, "sendMessage", chat_id=USER, text="x"))[0] == 200
        status, body = await call(emu, "sendMessage", chat_id=USER, text="x")
        assert (status, body["parameters"]) == (429, {"retry_after": 1})
        assert ["per minute in a group" in v for v in emu.violations] == [True, False]
        assert "5 messages per second overall" in emu.violations[1]


# --- failure injection -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "error", "delivered"),
    [
        ("500", NetworkError, False),
        ("502", NetworkError, False),
        ("drop", NetworkError, False),
        ("timeout", TimedOut, False),
        ("429", RetryAfter, False),
        ("lost_reply", NetworkError, True),
    ],
)
async def test_failure_injection_as_ptb_sees_it(
    emu: TelegramEmulator, bot: Bot, kind: str, error: type[Exception], delivered: bool
) -> None:
    emu.fail_next("sendMessage", kind)
    with pytest.raises(error) as caught:
        await bot.send_message(GROUP, "一", read_timeout=0.3)
    assert not isinstance(caught.value, BadRequest)
    assert [m.text for m in emu.transcript(GROUP)] == (["一"] if delivered else [])
    assert emu.requests[-1].status == {"500": 500, "502": 502, "429": 429}.get(kind)
    if kind == "429":
        await asyncio.sleep(1)
    await bot.send_message(GROUP, "二")
    assert emu.transcript(GROUP)[-1].text == "二"
    assert emu.violations == []


async def test_failures_apply_to_count_calls_of_the_method(emu: TelegramEmulator, bot: Bot) -> None:
    emu.fail_next("*", "500", count=2)
    with pytest.raises(NetworkError):
        await bot.get_me()
    with pytest.raises(NetworkError):
        await bot.send_chat_action(GROUP, "typing")
    assert (await bot.get_me()).username == emu.bot_username
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(GROUP, "")


# --- updates -----------------------------------------------------------------------------------


async def test_long_poll_returns_as_soon_as_a_command_is_pushed(
    emu: TelegramEmulator, bot: Bot
) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.1)
    started = time.monotonic()
    update_id = emu.command(FORUM, USER, "/digest@digest_test_bot 2026-02-21", thread_id=11)
    (update,) = await poll
    assert time.monotonic() - started < 1
    assert isinstance(update, Update) and update.update_id == update_id
    message = update.effective_message
    assert message is not None and message.text == "/digest@digest_test_bot 2026-02-21"
    assert message.parse_entities([MessageEntity.BOT_COMMAND]) == {
        MessageEntity("bot_command", 0, 23): "/digest@digest_test_bot"
    }
    assert message.message_thread_id == 11 and message.from_user is not None
    assert message.from_user.language_code == "zh-hans"
    assert len(emu.pending_updates) == 1
    assert await bot.get_updates(offset=update_id + 1, timeout=0) == ()
    assert emu.pending_updates == []


async def test_allowed_updates_and_concurrent_polls(emu: TelegramEmulator, bot: Bot) -> None:
    emu.message(GROUP, USER, "普通消息")
    assert await bot.get_updates(timeout=0, allowed_updates=["callback_query"]) == ()
    assert emu.pending_updates == []
    first = asyncio.create_task(bot.get_updates(timeout=3))
    await asyncio.sleep(0.1)
    assert await call(emu, "getUpdates", timeout=0) == (200, {"ok": True, "result": []})
    with pytest.raises(Conflict, match="terminated by other getUpdates request"):
        await first


async def test_application_polling_answers_a_command(emu: TelegramEmulator) -> None:
    async def digest(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None
        await context.bot.send_message(update.effective_chat.id, f"收到 {context.args}")

    app = (
        ApplicationBuilder()
        .token(emu.token)
        .base_url(emu.base_url)
        .base_file_url(emu.base_file_url)
        .build()
    )
    app.add_handler(CommandHandler("digest", digest))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        emu.command(GROUP, USER, "/digest@digest_test_bot today")
        (reply,) = await emu.wait_for(GROUP, 1, timeout=5)
        await app.updater.stop()
        await app.stop()
    assert reply.text == "收到 ['today']"
    with pytest.raises(TimeoutError, match="1 of 2 messages"):
        await emu.wait_for(GROUP, 2, timeout=0.05)


async def test_webhook_blocks_polling(emu: TelegramEmulator, bot: Bot) -> None:
    assert await bot.set_webhook("https://bot.example.com/hook", secret_token="s3cr3t")
    assert (emu.webhook_url, emu.webhook_secret_token) == ("https://bot.example.com/hook", "s3cr3t")
    assert (await bot.get_webhook_info()).url == "https://bot.example.com/hook"
    with pytest.raises(Conflict):
        await bot.get_updates()
    assert await bot.delete_webhook()
    assert await bot.get_updates() == ()
    assert await refusal(emu, "setWebhook", url="http://bot.example.com/hook") == (
        "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
    )


# --- chats -------------------------------------------------------------------------------------


async def test_chat_and_member_lookups(emu: TelegramEmulator, bot: Bot) -> None:
    chat = await bot.get_chat("@digest_group")
    assert (chat.id, chat.title, chat.type) == (GROUP, "摘要群", "supergroup")
    assert (await bot.get_chat_member(GROUP, emu.bot_id)).status == "administrator"
    assert (await bot.get_chat_member(GROUP, 7)).status == "administrator"
    with pytest.raises(BadRequest, match=r"(?i)user not found"):
        await bot.get_chat_member(GROUP, USER)
    emu.message(GROUP, USER, "在")
    assert (await bot.get_chat_member(GROUP, USER)).status == "member"
    assert (await bot.get_chat_member(FORUM, USER)).status == "left"
    assert await bot.set_chat_menu_button()
    assert await bot.log_out() and await bot.close()
