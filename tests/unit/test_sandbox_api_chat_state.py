"""The emulator's pins, failure modes, user edits and the edit probe the publisher relies on.

Like test_sandbox_api.py, each rule is checked on both sides through raw HTTP (Telegram's exact
wording) and through python-telegram-bot (what the bot will get).
"""

from __future__ import annotations

import aiohttp
import pytest
from telegram import Bot
from telegram.error import BadRequest, Conflict, NetworkError, TelegramError

from bot.sandbox.telegram_api import NGINX_502, TelegramEmulator
from tests.unit.test_sandbox_api import FORUM, GROUP, USER, bot, call, emu, refusal

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
