"""Who may send to a chat right now: a publication alone, or any number of replies.

A part whose answer never came is looked for by message id just after the last bot
message known in the chat; that only works if nothing else of the bot's lands there
meanwhile. So the publisher holds a chat exclusively while it posts (or probes), replies
share it and wait, and every reply's message id is recorded as a bound for the probe.
Until the start-up check has resumed any unfinished publication, groups are held too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from bot.flood import NotSentInTime

log = logging.getLogger(__name__)

# Records a message the bot sent: (chat id, message id, whether ids count up there).
SentRecorder = Callable[[int | str, int, bool], Awaitable[None]]
# What a reply calls with each message it sent.
Sent = Callable[[object], Awaitable[None]]


@dataclass(slots=True)
class _ChatState:
    sharing: int = 0
    exclusive: bool = False
    waiting_exclusive: int = 0
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)


class ChatGate:
    """Per chat: one exclusive holder (the publisher) or many shared ones (replies)."""

    def __init__(self, record_sent: SentRecorder | None = None) -> None:
        # Keyed by the chat's id: the publisher looks a target's @username up first.
        self._chats: dict[str, _ChatState] = {}
        self._record_sent = record_sent
        self._started = asyncio.Event()

    def started(self) -> None:
        """The start-up check is over: groups may get replies."""
        self._started.set()

    @asynccontextmanager
    async def exclusive(self, chat: int | str) -> AsyncIterator[None]:
        """Hold the chat: no reply is sent to it until the block ends."""
        state = self._state(chat)
        async with state.changed:
            state.waiting_exclusive += 1
            try:
                await state.changed.wait_for(lambda: not state.exclusive and not state.sharing)
            finally:
                state.waiting_exclusive -= 1
            state.exclusive = True
        try:
            yield
        finally:
            async with state.changed:
                state.exclusive = False
                state.changed.notify_all()

    @asynccontextmanager
    async def shared(self, chat: int | str, *, within: float | None = None) -> AsyncIterator[Sent]:
        """Send to the chat alongside others, once no publication holds it; the block gets
        a function to call with each message sent, so that the ledger knows its id. With
        `within`, waiting longer than that raises NotSentInTime instead."""
        state = self._state(chat)
        try:
            async with asyncio.timeout(within):
                if _is_group(chat):
                    await self._started.wait()
                async with state.changed:
                    # A waiting publication goes first: replies must not starve it.
                    await state.changed.wait_for(
                        lambda: not state.exclusive and not state.waiting_exclusive
                    )
                    state.sharing += 1
        except TimeoutError:
            raise NotSentInTime(f"chat {chat} is busy with a publication") from None
        try:
            yield self._recorder(chat)
        finally:
            async with state.changed:
                state.sharing -= 1
                state.changed.notify_all()

    def _recorder(self, chat: int | str) -> Sent:
        async def sent(message: object) -> None:
            if not _is_group(chat):
                return  # a private chat is never probed: nothing to bound
            message_id = getattr(message, "message_id", None)
            kind = getattr(getattr(message, "chat", None), "type", None)
            if self._record_sent is None or not isinstance(message_id, int):
                return
            try:
                await self._record_sent(chat, message_id, kind in SEQUENTIAL_CHATS)
            except Exception as exc:  # the message is out; a reply must not fail for this
                log.warning("could not note message %s in %s: %s", message_id, chat, exc)

        return sent

    def _state(self, chat: int | str) -> _ChatState:
        return self._chats.setdefault(str(chat).lower(), _ChatState())


# Chats whose message ids count up per chat, so a lost part can be looked for by id.
SEQUENTIAL_CHATS = frozenset({"supergroup", "channel"})


def _is_group(chat: int | str) -> bool:
    """Private chats have positive ids; a publication target never is one in practice."""
    return not str(chat).isdigit()
