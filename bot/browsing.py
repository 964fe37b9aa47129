"""Members browsing digests in private: one delivery at a time per member, and the pace
past which use looks like a machine's. State lives in `Services.browsing`, per bot."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Hashable

# Past this many keys, those with no use left in the window are forgotten.
MAX_KEYS = 10_000
# More full digests than this a minute from one member is machine-like use.
DIGESTS_PER_MINUTE = 10


class RateWindow:
    """At most `count` uses in any `seconds` for each key (a sliding window)."""

    def __init__(
        self, count: int, seconds: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.count = count
        self.seconds = seconds
        self._clock = clock
        self._uses: dict[Hashable, deque[float]] = {}

    def take(self, key: Hashable, *, always: bool = False) -> float:
        """0 and the use is counted; or the seconds until the key may be used again.
        `always` counts the use whatever the window holds (a deep link always delivers)."""
        now = self._clock()
        if len(self._uses) > MAX_KEYS:
            self._uses = {k: u for k, u in self._uses.items() if u and u[-1] > now - self.seconds}
        uses = self._uses.setdefault(key, deque())
        while uses and uses[0] <= now - self.seconds:
            uses.popleft()
        if len(uses) >= self.count and not always:
            return uses[-self.count] + self.seconds - now
        uses.append(now)
        return 0.0

    @property
    def remembered(self) -> int:
        return len(self._uses)


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
