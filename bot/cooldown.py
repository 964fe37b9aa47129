"""Per-user cooldowns, so that no member can spend the group's flood budget alone."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable


class Cooldown:
    """At most one use per `seconds` for each key; remembers only keys still cooling down."""

    def __init__(self, seconds: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._until: dict[Hashable, float] = {}

    def wait(self, key: Hashable) -> float:
        """0 and the key starts cooling down; or the seconds left before it may be used."""
        now = self._clock()
        if len(self._until) > 10_000:
            self._until = {k: t for k, t in self._until.items() if t > now}
        left = self._until.get(key, 0.0) - now
        if left > 0:
            return left
        self._until[key] = now + self.seconds
        return 0.0
