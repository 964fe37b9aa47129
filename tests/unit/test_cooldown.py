"""Cooldowns: one use per period per key, and memory bounded however many keys pass."""

from __future__ import annotations

from bot.cooldown import MAX_KEYS, Cooldown


def test_one_use_per_period_per_key() -> None:
    now = [0.0]
    cooldown = Cooldown(5, clock=lambda: now[0])
    assert cooldown.wait("a") == 0
    assert cooldown.wait("a") == 5
    assert cooldown.wait("b") == 0
    now[0] = 4.5
    assert cooldown.wait("a") == 0.5
    now[0] = 5.0
    assert cooldown.wait("a") == 0


def test_memory_stays_bounded_under_a_stream_of_new_keys() -> None:
    """A flood of distinct members (or forged ids) cannot grow the table without end:
    keys whose period is over are forgotten once the table passes MAX_KEYS."""
    now = [0.0]
    cooldown = Cooldown(1, clock=lambda: now[0])
    for key in range(5 * MAX_KEYS):
        now[0] = key / 1000  # 1,000 new keys a second, each cooling for a second
        cooldown.wait(key)
        assert cooldown.remembered <= MAX_KEYS + 1
    # Keys still cooling down are never forgotten early.
    assert cooldown.wait(5 * MAX_KEYS - 1) > 0
