"""The per-chat gate: a publication alone in its chat, replies together and after it."""

from __future__ import annotations

import asyncio

from bot.chat_gate import ChatGate
from bot.flood import NotSentInTime

GROUP = -1001234567890


async def test_replies_wait_for_the_publication_and_the_publication_for_replies() -> None:
    gate = ChatGate()
    gate.started()
    order: list[str] = []

    async def publication() -> None:
        async with gate.exclusive(GROUP):
            order.append("publication starts")
            await asyncio.sleep(0.1)
            order.append("publication ends")

    async def reply(name: str) -> None:
        async with gate.shared(GROUP):
            order.append(name)

    async with gate.shared(GROUP):  # a reply in progress holds the publication back
        task = asyncio.create_task(publication())
        await asyncio.sleep(0.02)
        assert order == []
        waiting = asyncio.create_task(reply("reply after"))  # queued behind the publication
        await asyncio.sleep(0.02)
    await asyncio.gather(task, waiting)
    assert order == ["publication starts", "publication ends", "reply after"]


async def test_groups_wait_for_the_start_up_check_private_chats_do_not() -> None:
    gate = ChatGate()
    async with gate.shared(1001):
        pass
    pending = asyncio.create_task(_enter(gate, GROUP))
    await asyncio.sleep(0.05)
    assert not pending.done()
    gate.started()
    await asyncio.wait_for(pending, 1)


async def test_sent_messages_in_groups_are_recorded_for_the_probe() -> None:
    seen: list[tuple[int | str, int, bool]] = []

    async def record(chat: int | str, message_id: int, sequential: bool) -> None:
        seen.append((chat, message_id, sequential))

    class Chat:
        type = "supergroup"

    class Sent:
        message_id = 77
        chat = Chat()

    gate = ChatGate(record)
    gate.started()
    async with gate.shared(GROUP) as sent:
        await sent(Sent())
    async with gate.shared(1001) as sent:  # private: never probed, nothing to record
        await sent(Sent())
    assert seen == [(GROUP, 77, True)]


async def _enter(gate: ChatGate, chat: int) -> None:
    async with gate.shared(chat):
        pass


async def test_a_reply_that_would_wait_too_long_is_not_sent() -> None:
    """A reply waits `within` seconds at most for a publication to let go of the chat."""
    gate = ChatGate()
    gate.started()
    async with gate.exclusive(GROUP):
        try:
            async with gate.shared(GROUP, within=0.1):
                raise AssertionError("entered a chat a publication holds")
        except NotSentInTime:
            pass
    async with gate.shared(GROUP, within=0.1):
        pass
