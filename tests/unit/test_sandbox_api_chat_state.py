"""The emulator's pins, failure modes, user edits and the edit probe the publisher relies on.

Like test_sandbox_api.py, each rule is checked on both sides through raw HTTP (Telegram's exact
wording) and through python-telegram-bot (what the bot will get).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    MessageEntity,
)
from telegram.constants import ChatAction
from telegram.error import BadRequest, Conflict, NetworkError, RetryAfter, TelegramError

from bot.sandbox.telegram_api import NGINX_502, FloodLimits, TelegramEmulator
from tests.unit.test_sandbox_api import FORUM, GROUP, USER, bold, bot, call, emu, refusal

__all__ = ["bot", "emu"]  # the fixtures, shared with test_sandbox_api.py

NO_RIGHTS = "Bad Request: not enough rights to manage pinned messages in the chat"


# --- pins --------------------------------------------------------------------------------------


async def test_pin_adds_a_service_message_that_takes_the_next_id(
    emu: TelegramEmulator, bot: Bot
) -> None:
    cover = await bot.send_message(GROUP, "封面")
    assert await bot.pin_chat_message(GROUP, cover.message_id, disable_notification=True)
    assert emu.pinned(GROUP) == [cover.message_id]
    (service,) = emu.service_messages(GROUP)
    assert service["message_id"] == cover.message_id + 1
    assert service["from"]["id"] == emu.bot_id
    assert service["pinned_message"]["text"] == "封面"
    # One id sequence for everyone in a supergroup: the next post skips the service message.
    after = await bot.send_message(GROUP, "下一条")
    assert after.message_id == cover.message_id + 2
    assert [m.message_id for m in emu.transcript(GROUP)] == [cover.message_id, after.message_id]
    assert emu.requests[-2].params["disable_notification"] is True
    # getChat shows the newest pin.
    chat = await bot.get_chat(GROUP)
    assert chat.pinned_message is not None and chat.pinned_message.message_id == cover.message_id
    assert await bot.pin_chat_message(GROUP, after.message_id)
    assert emu.pinned(GROUP) == [cover.message_id, after.message_id]
    chat = await bot.get_chat("@digest_group")
    assert chat.pinned_message is not None and chat.pinned_message.message_id == after.message_id
    # The service message is nobody's to edit, but an admin bot may delete it.
    assert await refusal(
        emu, "editMessageText", chat_id=GROUP, message_id=service["message_id"], text="x"
    ) == ("Bad Request: message can't be edited")
    assert await bot.delete_message(GROUP, service["message_id"])


async def test_pin_a_members_message_and_in_a_topic(emu: TelegramEmulator, bot: Bot) -> None:
    emu.message(FORUM, USER, "好问题", thread_id=12)
    assert await bot.pin_chat_message(FORUM, 1)
    (service,) = emu.service_messages(FORUM)
    assert (service["message_id"], service["message_thread_id"]) == (2, 12)
    assert service["pinned_message"]["from"]["id"] == USER


async def test_unpin_one_the_newest_or_all(emu: TelegramEmulator, bot: Bot) -> None:
    ids = [(await bot.send_message(GROUP, text)).message_id for text in ("一", "二", "三")]
    for message_id in ids:
        await bot.pin_chat_message(GROUP, message_id)
    assert await bot.unpin_chat_message(GROUP, ids[0])
    assert emu.pinned(GROUP) == ids[1:]
    assert await bot.unpin_chat_message(GROUP)
    assert emu.pinned(GROUP) == [ids[1]]
    # Unpinning a message that is not pinned is not an error.
    assert await bot.unpin_chat_message(GROUP, ids[0])
    assert await bot.unpin_all_chat_messages(GROUP)
    assert emu.pinned(GROUP) == []
    assert (await bot.get_chat(GROUP)).pinned_message is None
    assert await refusal(emu, "unpinChatMessage", chat_id=GROUP) == (
        "Bad Request: message to unpin not found"
    )
    assert await bot.unpin_all_chat_messages(GROUP)


async def test_deleting_a_pinned_message_unpins_it(emu: TelegramEmulator, bot: Bot) -> None:
    first = await bot.send_message(GROUP, "一")
    second = await bot.send_message(GROUP, "二")
    await bot.pin_chat_message(GROUP, first.message_id)
    await bot.pin_chat_message(GROUP, second.message_id)
    await bot.delete_message(GROUP, second.message_id)
    assert emu.pinned(GROUP) == [first.message_id]
    chat = await bot.get_chat(GROUP)
    assert chat.pinned_message is not None and chat.pinned_message.message_id == first.message_id


async def test_pin_needs_the_message_and_the_right(emu: TelegramEmulator, bot: Bot) -> None:
    sent = await bot.send_message(GROUP, "封面")
    assert await refusal(emu, "pinChatMessage", chat_id=GROUP, message_id=999) == (
        "Bad Request: message to pin not found"
    )
    assert await refusal(emu, "unpinChatMessage", chat_id=GROUP, message_id=999) == (
        "Bad Request: message to unpin not found"
    )
    assert (await bot.get_chat_member(GROUP, emu.bot_id)).can_pin_messages is True  # type: ignore[attr-defined]
    emu.set_bot_rights(GROUP, can_pin_messages=False)
    member = await bot.get_chat_member(GROUP, emu.bot_id)
    assert member.can_pin_messages is False  # type: ignore[attr-defined]
    for method, params in (
        ("pinChatMessage", {"message_id": sent.message_id}),
        ("unpinChatMessage", {"message_id": sent.message_id}),
        ("unpinAllChatMessages", {}),
    ):
        assert await refusal(emu, method, chat_id=GROUP, **params) == NO_RIGHTS
    with pytest.raises(BadRequest, match=r"(?i)not enough rights to manage pinned messages"):
        await bot.pin_chat_message(GROUP, sent.message_id, disable_notification=True)
    assert emu.pinned(GROUP) == [] and emu.service_messages(GROUP) == []
    # Nothing consumed an id.
    assert (await bot.send_message(GROUP, "下一条")).message_id == sent.message_id + 1
    # Anyone may pin in a private chat; an unknown right is a test mistake.
    sent = await bot.send_message(USER, "私聊")
    emu.set_bot_rights(USER, can_pin_messages=False)
    assert await bot.pin_chat_message(USER, sent.message_id)
    with pytest.raises(ValueError, match="unknown administrator rights"):
        emu.set_bot_rights(GROUP, can_fly=True)


async def test_channel_pins_need_can_edit_messages() -> None:
    async with TelegramEmulator() as emu:
        emu.add_chat(-1001, type="channel", username="ai_news_plus")
        _, body = await call(emu, "sendMessage", chat_id="@ai_news_plus", text="封面")
        message_id = body["result"]["message_id"]
        emu.set_bot_rights(-1001, can_pin_messages=False)
        assert (await call(emu, "pinChatMessage", chat_id=-1001, message_id=message_id))[0] == 200
        emu.set_bot_rights(-1001, can_edit_messages=False)
        assert await refusal(emu, "unpinAllChatMessages", chat_id="@ai_news_plus") == NO_RIGHTS


# --- failure modes -----------------------------------------------------------------------------


async def test_500_after_processing_keeps_the_effect(emu: TelegramEmulator, bot: Bot) -> None:
    # PTB: NetworkError("Internal Server Error") — not a BadRequest, so the client can't tell
    # whether the message went out (it did).
    emu.fail_next("sendMessage", "500_after")
    with pytest.raises(NetworkError, match="Internal Server Error") as caught:
        await bot.send_message(GROUP, "一")
    assert not isinstance(caught.value, BadRequest)
    assert [m.text for m in emu.transcript(GROUP)] == ["一"]
    assert emu.requests[-1].status == 500
    status, body = await call(emu, "sendMessage", chat_id=GROUP, text="二")
    assert status == 200 and body["result"]["message_id"] == 2
    # A refused request stays refused: 500_after only follows a success... and is used up.
    emu.fail_next("sendMessage", "500_after")
    assert await refusal(emu, "sendMessage", chat_id=GROUP, text="") == (
        "Bad Request: message text is empty"
    )


async def test_502_html_is_nginx_html(emu: TelegramEmulator, bot: Bot) -> None:
    emu.fail_next("getUpdates", "502_html")
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{emu.base_url}{emu.token}/getUpdates") as response,
    ):
        assert (response.status, response.content_type) == (502, "text/html")
        body = await response.text()
    assert body == NGINX_502 and "<h1>502 Bad Gateway</h1>" in body
    # PTB: NetworkError "Bad Gateway (502). Parsing the server response b'<html>…' failed",
    # caused by TelegramError("Invalid server response"); PTB also logs the HTML body itself
    # (telegram.request logger, "Can not load invalid JSON data").
    emu.fail_next("getUpdates", "502_html")
    with pytest.raises(NetworkError, match=r"Bad Gateway \(502\)\. Parsing the server") as err:
        await bot.get_updates(timeout=0)
    assert not isinstance(err.value, BadRequest)
    assert isinstance(err.value.__cause__, TelegramError)
    assert str(err.value.__cause__) == "Invalid server response"
    assert await bot.get_updates(timeout=0) == ()


async def test_conflict_and_another_instance_polling(emu: TelegramEmulator, bot: Bot) -> None:
    conflict = (
        "Conflict: terminated by other getUpdates request; make sure that only one bot "
        "instance is running"
    )
    emu.fail_next("getUpdates", "conflict")
    assert await call(emu, "getUpdates") == (
        409,
        {"ok": False, "error_code": 409, "description": conflict},
    )
    assert await bot.get_updates(timeout=0) == ()
    # PTB: telegram.error.Conflict (a TelegramError, not a NetworkError).
    emu.other_instance(True)
    emu.message(GROUP, USER, "在吗")
    for _ in range(3):
        with pytest.raises(Conflict, match="terminated by other getUpdates request") as caught:
            await bot.get_updates(timeout=0)
        assert not isinstance(caught.value, NetworkError)
    emu.other_instance(False)
    (update,) = await bot.get_updates(timeout=0)
    assert update.message is not None and update.message.text == "在吗"
    assert [r.status for r in emu.requests if r.method == "getUpdates"] == [
        409,
        200,
        409,
        409,
        409,
        200,
    ]


# --- user edits and odd text -------------------------------------------------------------------


async def test_user_edit_pushes_edited_message(emu: TelegramEmulator, bot: Bot) -> None:
    emu.message(FORUM, USER, "AI 新闻", thread_id=11)
    emu.edit(FORUM, 1, "/search@digest_test_bot AI", user_id=USER)
    emu.edit(FORUM, 1, "只是文字")
    plain, edited, again = await bot.get_updates(timeout=1)
    assert plain.message is not None and edited.message is None
    message = edited.edited_message
    assert message is not None and message.message_id == 1 and message.edit_date is not None
    assert (message.text, message.message_thread_id) == ("/search@digest_test_bot AI", 11)
    assert message.parse_entities() == {
        MessageEntity("bot_command", 0, 23): "/search@digest_test_bot"
    }
    assert again.edited_message is not None and again.edited_message.entities == ()
    with pytest.raises(ValueError, match="not from user"):
        emu.edit(FORUM, 1, "x", user_id=USER + 1)
    with pytest.raises(ValueError, match="changes nothing"):
        emu.edit(FORUM, 1, "只是文字")
    sent = await bot.send_message(FORUM, "机器人", message_thread_id=11)
    with pytest.raises(ValueError, match="no user message"):
        emu.edit(FORUM, sent.message_id, "x")


async def test_lone_surrogates_arrive_as_json_escapes(emu: TelegramEmulator, bot: Bot) -> None:
    emu.command(GROUP, USER, "/search \ud800")
    emu.message(GROUP, USER, "a\udfffb")
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{emu.base_url}{emu.token}/getUpdates") as response,
    ):
        raw = await response.read()
    assert b'"/search \\ud800"' in raw and b'"a\\udfffb"' in raw  # escapes, not UTF-8
    command, text = await bot.get_updates(timeout=0)
    assert command.message is not None and command.message.text == "/search \ud800"
    assert command.message.entities[0].length == 7
    assert text.message is not None and text.message.text == "a\udfffb"
    # Echoing one back fails in PTB itself, before anything is sent: NetworkError("Unknown
    # error in HTTP implementation: UnicodeEncodeError(…)"). Raw, Telegram refuses it.
    with pytest.raises(NetworkError, match="UnicodeEncodeError"):
        await bot.send_message(GROUP, text.message.text)
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{emu.base_url}{emu.token}/sendMessage",
            data=b'{"chat_id": %d, "text": "a\\ud800"}' % GROUP,
            headers={"Content-Type": "application/json"},
        ) as response,
    ):
        assert (await response.json())["description"] == (
            "Bad Request: strings must be encoded in UTF-8"
        )
    assert emu.transcript(GROUP) == []


# --- the edit probe: "message is not modified" confirms a message and changes nothing --------


PROBE_FLOOD = FloodLimits(per_chat_interval=1, group_per_minute=20, global_per_second=30)


@pytest.fixture
async def strict() -> AsyncIterator[TelegramEmulator]:
    """Real flood limits: a probe that counted as a post would be refused 429."""
    async with TelegramEmulator(flood=PROBE_FLOOD) as emulator:
        emulator.add_chat(GROUP, username="ai_news_plus")
        yield emulator


async def test_identical_edit_is_not_modified_and_changes_nothing(
    strict: TelegramEmulator,
) -> None:
    async with Bot(strict.token, base_url=strict.base_url) as bot:
        entities = [MessageEntity("bold", 0, 2)]
        part = await bot.send_message(
            GROUP,
            "第一部分 正文",
            entities=entities,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        )
        for _ in range(3):  # at once: no flood charge, or the second would be 429
            with pytest.raises(BadRequest, match=r"(?i)^message is not modified") as caught:
                await bot.edit_message_text(
                    "第一部分 正文", GROUP, part.message_id, entities=entities
                )
            assert not isinstance(caught.value, RetryAfter)
        # The same through raw HTTP, with exactly the stored text (Telegram's wording).
        description = await refusal(
            strict,
            "editMessageText",
            chat_id="@ai_news_plus",
            message_id=part.message_id,
            text="第一部分 正文",
            entities=[bold(0, 2)],
        )
        assert description == (
            "Bad Request: message is not modified: specified new message content and reply "
            "markup are exactly the same as a current content and reply markup of the message"
        )
        (stored,) = strict.transcript(GROUP)
        assert (stored.text, stored.edited, stored.edit_date) == ("第一部分 正文", 0, None)
        assert stored.link_preview_options == {"is_disabled": True}
        assert strict.edits(GROUP) == [] and strict.counted_posts(GROUP) == 1
        assert strict.violations == []


async def test_a_different_text_or_entities_is_an_edit(strict: TelegramEmulator) -> None:
    async with Bot(strict.token, base_url=strict.base_url) as bot:
        part = await bot.send_message(GROUP, "第一部分", entities=[MessageEntity("bold", 0, 2)])
        await asyncio.sleep(1)
        # Without the entities the probe would strip the formatting: a real edit.
        edited = await bot.edit_message_text("第一部分", GROUP, part.message_id)
        assert edited.edit_date is not None
        assert strict.edits(GROUP) == [part.message_id]
        assert strict.counted_posts("@ai_news_plus") == 2


async def test_probe_must_repeat_the_markup_and_link_previews_matter_with_links(
    emu: TelegramEmulator, bot: Bot
) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("📖", callback_data="d:1")]])
    card = await bot.send_message(GROUP, "封面", reply_markup=keyboard)
    with pytest.raises(BadRequest, match=r"(?i)not modified"):
        await bot.edit_message_text("封面", GROUP, card.message_id, reply_markup=keyboard)
    assert emu.edits(GROUP) == []
    # Without the markup the edit removes the keyboard: modified.
    await bot.edit_message_text("封面", GROUP, card.message_id)
    assert emu.edits(GROUP) == [card.message_id]
    # A text with a link: the web page preview is part of the content.
    no_preview = LinkPreviewOptions(is_disabled=True)
    link = await bot.send_message(
        GROUP, "见 https://example.com/a", link_preview_options=no_preview
    )
    with pytest.raises(BadRequest, match=r"(?i)not modified"):
        await bot.edit_message_text(
            "见 https://example.com/a", GROUP, link.message_id, link_preview_options=no_preview
        )
    await bot.edit_message_text("见 https://example.com/a", GROUP, link.message_id)
    assert emu.edits(GROUP) == [card.message_id, link.message_id]


async def test_identical_caption_is_not_modified(emu: TelegramEmulator, bot: Bot) -> None:
    cover = await bot.send_photo(GROUP, "https://img.example.com/c.png", caption="封面")
    with pytest.raises(BadRequest, match=r"(?i)^message is not modified"):
        await bot.edit_message_caption(GROUP, cover.message_id, caption="封面")
    bare = await bot.send_photo(GROUP, "https://img.example.com/c.png")
    with pytest.raises(BadRequest, match=r"(?i)^message is not modified"):
        await bot.edit_message_caption(GROUP, bare.message_id)
    await bot.edit_message_caption(GROUP, cover.message_id, caption="新封面")
    assert emu.edits(GROUP) == [cover.message_id]


async def test_probe_refusals_name_what_is_at_the_id(emu: TelegramEmulator, bot: Bot) -> None:
    text = await bot.send_message(GROUP, "正文")
    photo = await bot.send_photo(GROUP, "https://img.example.com/c.png", caption="封面")
    emu.message(GROUP, USER, "成员的话")
    member_id = photo.message_id + 1
    gone = await bot.send_message(GROUP, "删掉")
    await bot.delete_message(GROUP, gone.message_id)
    cases = [
        ("editMessageText", member_id, {"text": "成员的话"}, "message can't be edited"),
        ("editMessageCaption", member_id, {"caption": "x"}, "message can't be edited"),
        ("editMessageText", gone.message_id, {"text": "删掉"}, "message to edit not found"),
        ("editMessageText", 999, {"text": "x"}, "message to edit not found"),
        (
            "editMessageCaption",
            text.message_id,
            {"caption": "正文"},
            "there is no caption in the message to edit",
        ),
        (
            "editMessageText",
            photo.message_id,
            {"text": "封面"},
            "there is no text in the message to edit",
        ),
    ]
    for method, message_id, params, reason in cases:
        description = await refusal(emu, method, chat_id=GROUP, message_id=message_id, **params)
        assert description == f"Bad Request: {reason}"
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("删掉", GROUP, gone.message_id)
    assert [m.text for m in emu.transcript(GROUP)] == ["正文", "封面"]
    assert all(m.edited == 0 for m in emu.transcript(GROUP))
    assert emu.edits(GROUP) == [] and emu.counted_posts(GROUP) == 3


# --- lookups and the shared flood budget -------------------------------------------------------


async def test_get_chat_by_username_gives_the_numeric_id(emu: TelegramEmulator, bot: Bot) -> None:
    assert (await bot.get_chat("@digest_group")).id == GROUP
    assert (await bot.get_chat("@DIGEST_GROUP")).id == GROUP
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.get_chat("@nobody_here")


async def test_chat_action_in_a_forum_topic(emu: TelegramEmulator, bot: Bot) -> None:
    assert await bot.send_chat_action(FORUM, ChatAction.TYPING, message_thread_id=11)
    with pytest.raises(BadRequest, match=r"(?i)message thread not found"):
        await bot.send_chat_action(FORUM, ChatAction.TYPING, message_thread_id=13)
    with pytest.raises(BadRequest, match=r"(?i)message thread not found"):
        await bot.send_chat_action(GROUP, ChatAction.TYPING, message_thread_id=11)
    assert await refusal(emu, "sendChatAction", chat_id=FORUM, action="dancing") == (
        "Bad Request: wrong parameter action in request"
    )


async def test_username_and_id_share_one_flood_budget(strict: TelegramEmulator) -> None:
    async with Bot(strict.token, base_url=strict.base_url) as bot:
        await bot.send_message("@ai_news_plus", "发布")
        assert strict.counted_posts(GROUP) == strict.counted_posts("@ai_news_plus") == 1
        with pytest.raises(RetryAfter):
            await bot.send_message(GROUP, "回复")
        # The retry_after period holds for the chat under either name.
        with pytest.raises(RetryAfter):
            await bot.send_message("@ai_news_plus", "又一条")
        assert "ignored retry_after" in strict.violations[-1]
        await asyncio.sleep(1)
        await bot.send_message(GROUP, "回复")
        assert strict.counted_posts("@ai_news_plus") == 2
        with pytest.raises(KeyError):
            strict.counted_posts("@nobody_here")
