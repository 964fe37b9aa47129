"""Members browsing digests in private: one delivery at a time per member, and the pace
past which use looks like a machine's. State lives in `Services.browsing`, per bot."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable

from bot.cooldown import RateWindow

# More full digests than this a minute from one member is machine-like use.
DIGESTS_PER_MINUTE = 10


class Deliveries:
    """The digest being delivered to each member's chat: asking for another stops the
    unfinished one, so the newest request is the one delivered."""

    def __init__(self) -> None:
        self._latest: dict[Hashable, object] = {}
        self._running: dict[Hashable, asyncio.Task[None]] = {}

    async def run(self, key: Hashable, deliver: Callable[[], Awaitable[None]]) -> bool:
        """Deliver as `key`'s only delivery; False if a newer request stopped it first."""
        ticket = object()
        self._latest[key] = ticket
        previous = self._running.get(key)
        if previous is not None:
            previous.cancel()
            await asyncio.wait({previous})
        if self._latest.get(key) is not ticket:
            return False  # a newer request came while the previous one stopped
        task = asyncio.ensure_future(deliver())
        self._running[key] = task
        try:
            await asyncio.wait({task})
        except asyncio.CancelledError:  # the bot is stopping: stop the delivery too
            task.cancel()
            raise
        finally:
            if self._running.get(key) is task:
                del self._running[key]
                if self._latest.get(key) is ticket:
                    del self._latest[key]
        if task.cancelled():
            return False
        task.result()  # a failed delivery fails its handler, so the error handler hears
        return True

    @property
    def running(self) -> int:
        return len(self._running)


class Browsing:
    """Private browsing's state for one running bot; `clock` is injectable for tests."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.digests = RateWindow(DIGESTS_PER_MINUTE, 60, clock=clock)
        self.deliveries = Deliveries()
