"""Cooldowns: one use per period per key, and memory bounded however many keys pass."""

from __future__ import annotations

from bot.cooldown import MAX_KEYS, Cooldown, Pace


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


def test_pace_allows_three_then_warns_once_then_is_quiet() -> None:
    now = [0.0]
    pace = Pace(3, 10, clock=lambda: now[0])
    verdicts = []
    for second in (0, 1, 2, 3, 4, 9.9, 10.0):
        now[0] = second
        verdicts.append(pace.use("member"))
    assert verdicts == ["ok", "ok", "ok", "slow", "quiet", "quiet", "ok"]
    assert pace.use("someone else") == "ok"


def test_pace_memory_stays_bounded() -> None:
    now = [0.0]
    pace = Pace(3, 1, clock=lambda: now[0])
    for key in range(3 * MAX_KEYS):
        now[0] = key / 1000
        pace.use(key)
        assert pace.remembered <= MAX_KEYS + 1
