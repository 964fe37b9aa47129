"""Per-user cooldowns, so that no member can spend the group's flood budget alone."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

# Past this many keys, those no longer cooling down are forgotten.
MAX_KEYS = 10_000


class Cooldown:
    """At most one use per `seconds` for each key; remembers only keys still cooling down."""

    def __init__(self, seconds: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._until: dict[Hashable, float] = {}

    def wait(self, key: Hashable) -> float:
        """0 and the key starts cooling down; or the seconds left before it may be used."""
        now = self._clock()
        if len(self._until) > MAX_KEYS:
            self._until = {k: t for k, t in self._until.items() if t > now}
        left = self._until.get(key, 0.0) - now
        if left > 0:
            return left
        self._until[key] = now + self.seconds
        return 0.0

    @property
    def remembered(self) -> int:
        """How many keys are held now (bounded by MAX_KEYS plus those still cooling)."""
        return len(self._until)


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


class Pace:
    """At most `limit` uses per `seconds` for each key, in a sliding window.

    `use` answers "ok", then "slow" once when the limit is passed (so the member hears
    why the bot stops answering), then "quiet" until the window has room again.
    """

    OK, SLOW, QUIET = "ok", "slow", "quiet"

    def __init__(
        self, limit: int, seconds: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.seconds = seconds
        self._window = RateWindow(limit, seconds, clock=clock)
        self._warned: set[Hashable] = set()

    def use(self, key: Hashable) -> str:
        if not self._window.take(key):
            self._warned.discard(key)
            return self.OK
        if key in self._warned:
            return self.QUIET
        if len(self._warned) > MAX_KEYS:  # at worst someone hears "slow down" twice
            self._warned.clear()
        self._warned.add(key)
        return self.SLOW

    @property
    def remembered(self) -> int:
        return self._window.remembered


@dataclass(frozen=True, slots=True)
class Cooldowns:
    """The members' limits, one set per running bot (so tests never share them)."""

    # In a group, each member's commands at a human pace: three within ten seconds.
    group_commands: Pace = field(default_factory=lambda: Pace(3, 10))
    # With `ui.group_latest = "full"`, a whole digest in a group at most every 10 minutes.
    group_full_digests: Cooldown = field(default_factory=lambda: Cooldown(600))
