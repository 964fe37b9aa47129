"""Per-user cooldowns, so that no member can spend the group's flood budget alone."""

from __future__ import annotations

import time
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


@dataclass(frozen=True, slots=True)
class Cooldowns:
    """The members' limits, one set per running bot (so tests never share them)."""

    # One command per member per few seconds in a group.
    group_commands: Cooldown = field(default_factory=lambda: Cooldown(5))
    # With `ui.group_latest = "full"`, a whole digest in a group at most every 10 minutes.
    group_full_digests: Cooldown = field(default_factory=lambda: Cooldown(600))
