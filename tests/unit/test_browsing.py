"""Private browsing's state: the machine-pace window and one delivery per member."""

from __future__ import annotations

import asyncio

from bot.browsing import Deliveries
from bot.cooldown import RateWindow


def test_a_window_allows_its_count_then_says_how_long_to_wait() -> None:
    now = [0.0]
    window = RateWindow(3, 60, clock=lambda: now[0])
    assert [window.take("m") for _ in range(3)] == [0, 0, 0]
    now[0] = 20
    assert window.take("m") == 40  # the first use leaves the window at 60
    assert window.take("other") == 0
    assert window.take("m", always=True) == 0  # counted all the same
    now[0] = 60  # the three uses at 0 have left the window; the one at 20 has not
    assert [window.take("m") for _ in range(3)] == [0, 0, 20]
    now[0] = 80.5
    assert window.take("m") == 0


async def test_a_new_delivery_stops_the_unfinished_one() -> None:
    deliveries = Deliveries()
    sent: list[str] = []
    started = asyncio.Event()

    async def slow() -> None:
        for part in range(10):
            sent.append(f"slow {part}")
            started.set()
            await asyncio.sleep(0.05)

    async def quick() -> None:
        sent.append("quick")

    first = asyncio.create_task(deliveries.run("m", slow))
    await started.wait()
    assert await deliveries.run("m", quick) is True
    assert await first is False
    assert sent[-1] == "quick" and len(sent) < 11
    assert deliveries.running == 0


async def test_of_three_quick_requests_the_newest_is_delivered() -> None:
    deliveries = Deliveries()
    sent: list[str] = []

    def named(name: str):  # type: ignore[no-untyped-def]
        async def deliver() -> None:
            await asyncio.sleep(0.05)
            sent.append(name)

        return deliver

    results = await asyncio.gather(*(deliveries.run("m", named(n)) for n in "abc"))
    assert results == [False, False, True] and sent == ["c"]


async def test_other_members_deliveries_are_left_alone() -> None:
    deliveries = Deliveries()
    sent: list[str] = []

    def named(name: str):  # type: ignore[no-untyped-def]
        async def deliver() -> None:
            await asyncio.sleep(0.02)
            sent.append(name)

        return deliver

    assert await asyncio.gather(deliveries.run("a", named("a")), deliveries.run("b", named("b")))
    assert sorted(sent) == ["a", "b"]
