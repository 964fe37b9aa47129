"""Updates are handled concurrently across chats and in order within a chat.

python-telegram-bot's default processor runs any N updates at once, so a busy group
could hold every slot while its replies wait for the group's flood budget, and private
chats starved. Here each chat is a queue of its own: a chat waiting for its budget
holds one worker at most, and the others go on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Hashable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

# Updates taken in at once (queued per chat); PTB's own semaphore bounds this.
MAX_QUEUED = 4096


def chat_of(update: object) -> Hashable:
    """What orders an update: its chat, else its user (inline queries), else nothing."""
    if isinstance(update, Update):
        if update.effective_chat is not None:
            return ("chat", update.effective_chat.id)
        if update.effective_user is not None:
            return ("user", update.effective_user.id)
        return ("update", update.update_id)
    return ("object", id(update))


class PerChatOrder(BaseUpdateProcessor):
    """Runs one chat's updates one after another, and at most `workers` chats at once."""

    def __init__(self, workers: int = 32) -> None:
        super().__init__(max_concurrent_updates=MAX_QUEUED)
        self._workers = asyncio.Semaphore(workers)
        # The last update taken in for each chat; the next one waits for it.
        self._tails: dict[Hashable, asyncio.Event] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = chat_of(update)
        previous = self._tails.get(key)
        done = asyncio.Event()
        self._tails[key] = done
        try:
            if previous is not None:
                await previous.wait()
            async with self._workers:
                await coroutine
        finally:
            done.set()
            if self._tails.get(key) is done:
                del self._tails[key]
            if asyncio.iscoroutine(coroutine):
                coroutine.close()  # never started (cancelled while waiting): no warning

    @property
    def chats_waiting(self) -> int:
        """Chats with an update in hand (for the benchmark and the tests)."""
        return len(self._tails)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release: PTB waits for the updates in hand before calling this."""
