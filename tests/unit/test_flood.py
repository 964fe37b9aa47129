"""FloodControl keeps exact sliding windows and waits out a 429 for exactly retry_after.

The 60-second group window is shrunk to a second so the windows can be measured for real.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import time

import pytest
from telegram.error import RetryAfter

from bot.flood import FloodControl, FloodLimits

LIMITS = FloodLimits(chat_interval=0.05, group_per_minute=5, group_window=1.0, margin=0.0)


class Recorder:
    """A stand-in for the HTTP call: records when each request was made."""

    def __init__(self, floods: int = 0, retry_after: float = 0.3) -> None:
        self.times: list[float] = []
        self.floods = floods
        self.retry_after = retry_after

    async def __call__(self, *args: object, **kwargs: object) -> dict[str, object]:
        self.times.append(time.monotonic())
        if self.floods:
            self.floods -= 1
            raise RetryAfter(dt.timedelta(seconds=self.retry_after))
        return {"ok": True}


async def send(
    control: FloodControl, recorder: Recorder, chat: object, method: str = "sendMessage"
):
    return await control.process_request(recorder, (), {}, method, {"chat_id": chat}, None)


async def test_group_never_exceeds_its_window() -> None:
    control, recorder = FloodControl(LIMITS), Recorder()
    await asyncio.gather(*(send(control, recorder, -100) for _ in range(12)))
    times = recorder.times
    assert len(times) == 12
    for i, start in enumerate(times):
        in_window = [t for t in times[i:] if t - start < LIMITS.group_window]
        assert len(in_window) <= LIMITS.group_per_minute
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= LIMITS.chat_interval


async def test_private_chats_are_paced_but_not_windowed() -> None:
    control, recorder = FloodControl(LIMITS), Recorder()
    started = time.monotonic()
    await asyncio.gather(*(send(control, recorder, 42) for _ in range(8)))
    assert time.monotonic() - started < LIMITS.group_window  # 8 > 5 without a window wait


async def test_different_chats_do_not_wait_for_each_other() -> None:
    control, recorder = FloodControl(FloodLimits(chat_interval=1.0)), Recorder()
    started = time.monotonic()
    await asyncio.gather(*(send(control, recorder, -100 - i) for i in range(5)))
    assert time.monotonic() - started < 0.5


async def test_retry_after_is_waited_out_exactly_then_the_same_request_retried() -> None:
    control, recorder = FloodControl(LIMITS), Recorder(floods=2, retry_after=0.3)
    assert await send(control, recorder, -100) == {"ok": True}
    first, second, third = recorder.times
    assert second - first >= 0.3 and third - second >= 0.3
    assert third - first < 0.9


async def test_retry_after_gives_up_after_max_retries() -> None:
    limits = FloodLimits(chat_interval=0.0, max_retries=1, margin=0.0)
    recorder = Recorder(floods=5, retry_after=0.05)
    with pytest.raises(RetryAfter):
        await send(FloodControl(limits), recorder, -100)
    assert len(recorder.times) == 2


async def test_requests_that_post_nothing_are_not_paced() -> None:
    control, recorder = FloodControl(FloodLimits(chat_interval=1.0)), Recorder()
    started = time.monotonic()
    for _ in range(5):
        await send(control, recorder, -100, method="getChat")
    assert time.monotonic() - started < 0.5
