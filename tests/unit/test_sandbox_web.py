"""The chat view's HTTP side and the emulator's feed it reads, without a browser."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.render import Entity, Message
from bot.sandbox.telegram_api import FloodLimits, TelegramEmulator
from bot.sandbox.web import ChatView, Person, preview_page

FORUM = -1001234567890
MEMBER = Person(2002, "小明", "member")
ADMIN = Person(1001, "Alice", "admin")
NO_FLOOD = FloodLimits(per_chat_interval=0, group_per_minute=0, global_per_second=0)


@pytest.fixture
async def emu() -> AsyncIterator[TelegramEmulator]:
    async with TelegramEmulator(flood=NO_FLOOD, bot_name="摘要 Bot") as emulator:
        emulator.add_chat(FORUM, title="AI 新闻", is_forum=True, topics={7: "Daily digest"})
        for person in (MEMBER, ADMIN):
            emulator.add_chat(person.id, type="private", first_name=person.name)
        yield emulator


@pytest.fixture
async def view(emu: TelegramEmulator) -> AsyncIterator[ChatView]:
    chat_view = ChatView(emu, [MEMBER, ADMIN])
    await chat_view.start()
    yield chat_view
    await chat_view.stop()


async def bot_call(emu: TelegramEmulator, method: str, **params: Any) -> dict[str, Any]:
    """What the bot would send, as raw Bot API JSON."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{emu.base_url}{emu.token}/{method}", json=params) as response,
    ):
        return await response.json()


async def get(view: ChatView, path: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as session, session.get(view.url + path) as response:
        return response.status, response.content_type, await response.text()


async def post(view: ChatView, path: str, body: Any) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(view.url + path, json=body) as response,
    ):
        return response.status, await response.json(content_type=None)


async def state(view: ChatView, after: int = -1) -> dict[str, Any]:
    status, _, body = await get(view, f"api/state?after={after}")
    assert status == 200
    return json.loads(body)


def chat_of(data: dict[str, Any], chat_id: int) -> dict[str, Any]:
    return next(chat for chat in data["chats"] if chat["id"] == chat_id)


async def test_emulator_names_topics_and_users(emu: TelegramEmulator) -> None:
    chats = {chat["id"]: chat for chat in emu.chats()}
    assert chats[FORUM]["topics"] == {7: "Daily digest"}
    assert chats[MEMBER.id]["first_name"] == "小明"
    emu.add_chat(-100777, is_forum=True, topics=[3])
    assert next(c for c in emu.chats() if c["id"] == -100777)["topics"] == {3: "Topic 3"}
    me = await bot_call(emu, "getMe")
    assert me["result"]["first_name"] == "摘要 Bot"


async def test_emulator_feed_reports_messages_edits_deletions_and_answers(
    emu: TelegramEmulator,
) -> None:
    events: list[dict[str, Any]] = []
    emu.observe(events.append)
    emu.command(MEMBER.id, MEMBER.id, "/latest", first_name=MEMBER.name)
    sent = await bot_call(emu, "sendMessage", chat_id=MEMBER.id, text="一")
    message_id = sent["result"]["message_id"]
    await bot_call(emu, "editMessageText", chat_id=MEMBER.id, message_id=message_id, text="二")
    await bot_call(emu, "deleteMessage", chat_id=MEMBER.id, message_id=message_id)
    assert [e["event"] for e in events] == ["message", "message", "edit", "delete"]
    assert all(e["chat_id"] == MEMBER.id for e in events)
    assert emu.user_messages(MEMBER.id)[0]["text"] == "/latest"
    assert emu.transcript(MEMBER.id) == []


async def test_state_lists_chats_topics_people_and_both_sides_of_a_chat(
    emu: TelegramEmulator, view: ChatView
) -> None:
    emu.command(FORUM, MEMBER.id, "/latest", thread_id=7, first_name=MEMBER.name)
    await bot_call(
        emu,
        "sendPhoto",
        chat_id=FORUM,
        message_thread_id=7,
        photo="https://example.com/cover.png",
        caption="封面",
        caption_entities=[{"type": "bold", "offset": 0, "length": 2}],
        reply_markup={"inline_keyboard": [[{"text": "📖", "url": "https://t.me/x?start=d_1"}]]},
    )
    data = await state(view)
    assert data["bot"] == {"id": emu.bot_id, "name": "摘要 Bot", "username": emu.bot_username}
    assert data["people"] == [
        {"id": 2002, "name": "小明", "role": "member"},
        {"id": 1001, "name": "Alice", "role": "admin"},
    ]
    forum = chat_of(data, FORUM)
    assert forum["topics"] == [{"id": 7, "name": "Daily digest"}]
    first, second = forum["messages"]
    assert first["from"] == {"id": MEMBER.id, "name": "小明", "is_bot": False}
    assert (first["text"], first["thread"]) == ("/latest", 7)
    assert first["entities"] == [{"type": "bot_command", "offset": 0, "length": 7}]
    assert second["from"]["is_bot"] and second["photo"] == "https://example.com/cover.png"
    assert second["entities"] == [{"type": "bold", "offset": 0, "length": 2}]
    assert second["keyboard"][0][0]["url"] == "https://t.me/x?start=d_1"
    assert chat_of(data, MEMBER.id)["title"] == "小明"


async def test_state_long_polls_until_something_changes(
    emu: TelegramEmulator, view: ChatView
) -> None:
    version = (await state(view))["version"]
    waiting = asyncio.create_task(state(view, after=version))
    await asyncio.sleep(0.2)
    assert not waiting.done()
    await bot_call(emu, "sendMessage", chat_id=MEMBER.id, text="新消息")
    data = await asyncio.wait_for(waiting, 5)
    assert data["version"] > version
    assert chat_of(data, MEMBER.id)["messages"][-1]["text"] == "新消息"


async def test_send_queues_a_command_or_a_message_as_that_person(
    emu: TelegramEmulator, view: ChatView
) -> None:
    status, _ = await post(
        view,
        "api/send",
        {"chat_id": FORUM, "thread_id": 7, "user_id": ADMIN.id, "text": " /archive "},
    )
    assert status == 200
    status, _ = await post(
        view, "api/send", {"chat_id": MEMBER.id, "user_id": MEMBER.id, "text": "你好 👋"}
    )
    assert status == 200
    command, text = (u["message"] for u in emu.pending_updates)
    assert command["text"] == "/archive" and command["message_thread_id"] == 7
    assert command["from"]["first_name"] == "Alice"
    assert command["entities"] == [{"type": "bot_command", "offset": 0, "length": 8}]
    assert text["text"] == "你好 👋" and "entities" not in text


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"chat_id": MEMBER.id, "user_id": ADMIN.id, "text": "hi"}, "own user"),
        ({"chat_id": FORUM, "user_id": 99, "text": "hi"}, "known person"),
        ({"chat_id": FORUM, "thread_id": 8, "user_id": ADMIN.id, "text": "hi"}, "no forum topic"),
        ({"chat_id": FORUM, "user_id": ADMIN.id, "text": "   "}, "empty"),
    ],
)
async def test_send_refuses_what_a_client_could_not_send(
    emu: TelegramEmulator, view: ChatView, body: dict[str, Any], reason: str
) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(view.url + "api/send", json=body) as response,
    ):
        assert response.status == 400
        assert reason in await response.text()
    assert emu.pending_updates == []


async def test_press_returns_the_bots_answer(emu: TelegramEmulator, view: ChatView) -> None:
    sent = await bot_call(
        emu,
        "sendMessage",
        chat_id=MEMBER.id,
        text="页",
        reply_markup={"inline_keyboard": [[{"text": "▶", "callback_data": "a:1:"}]]},
    )
    message_id = sent["result"]["message_id"]

    async def bot_answers() -> None:
        updates = await bot_call(emu, "getUpdates", timeout=5)  # the bot's long poll
        query = updates["result"][0]["callback_query"]
        assert (query["data"], query["from"]["id"]) == ("a:1:", MEMBER.id)
        await bot_call(
            emu, "answerCallbackQuery", callback_query_id=query["id"], text="稍后", show_alert=True
        )

    answering = asyncio.create_task(bot_answers())
    status, answer = await post(
        view,
        "api/press",
        {"chat_id": MEMBER.id, "user_id": MEMBER.id, "message_id": message_id, "data": "a:1:"},
    )
    await answering
    assert status == 200
    assert answer == {"answered": True, "text": "稍后", "show_alert": True, "url": ""}
    status, refused = await post(
        view,
        "api/press",
        {"chat_id": MEMBER.id, "user_id": MEMBER.id, "message_id": message_id, "data": "forged"},
    )
    assert status == 400 and "no button" in refused["error"]


async def test_page_and_its_own_files_are_served(view: ChatView) -> None:
    status, kind, page = await get(view, "")
    assert (status, kind) == (200, "text/html")
    assert '<html lang="zh">' in page and "/static/app.js" in page
    for name, kind_wanted in (("app.js", "text/javascript"), ("style.css", "text/css")):
        status, kind, _ = await get(view, f"static/{name}")
        assert (status, kind) == (200, kind_wanted)
    assert (await get(view, "static/../web.py"))[0] == 404
    assert (await get(view, "static/index.html"))[0] == 404
    # Nothing from the internet: no CDN, no web fonts.
    for name in ("index.html", "app.js", "style.css"):
        _, _, text = await get(view, "" if name == "index.html" else f"static/{name}")
        assert not re.search(r"""(src|href)=["']https?:|@import|url\(["']?https?:""", text)


async def test_second_view_on_a_taken_port_raises(emu: TelegramEmulator, view: ChatView) -> None:
    port = int(view.url.rsplit(":", 1)[1].strip("/"))
    with pytest.raises(OSError):
        await ChatView(emu, [MEMBER]).start(port)


def test_preview_page_inlines_the_renderer_and_cannot_be_broken_out_of() -> None:
    hostile = "</script><script>alert(1)</script> & <b>"
    page = preview_page(
        [Message(hostile, (Entity("bold", 0, 9),), photo="https://example.com/c.png")],
        title="<标题>",
    )
    assert "<title>&lt;标题&gt;</title>" in page
    assert page.count("</script>") == 2  # the data's and the renderer's own
    assert hostile not in page
    data = re.search(r'id="preview-data">(.*?)</script>', page, re.S)
    assert data is not None
    shown = json.loads(data.group(1))["messages"][0]
    assert shown["text"] == hostile and shown["photo"] == "https://example.com/c.png"
    assert shown["entities"] == [{"type": "bold", "offset": 0, "length": 9}]
    assert "renderText" in page and ".spoiler" in page
