"""Telegram's flood limits, applied to every request the bot makes.

PTB's AIORateLimiter uses leaky buckets, which let a group receive up to twice its
per-minute allowance inside one minute, and it does not pace a chat to one message a
second. This limiter keeps exact sliding windows instead, so the bot never earns a 429
in normal operation, and waits out any 429 it does get for exactly `retry_after`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections import defaultdict, deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from telegram.constants import FloodLimit
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

log = logging.getLogger(__name__)

_Result = bool | dict[str, Any] | list[dict[str, Any]]

# Requests that put a message in a chat; everything else is not paced.
_POSTING = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendMediaGroup",
        "copyMessage",
        "forwardMessage",
        "editMessageText",
        "editMessageCaption",
        "editMessageReplyMarkup",
    }
)


class NotSentInTime(Exception):
    """A request given a deadline (`Pacing.within`) would have had to wait past it."""


@dataclass(frozen=True, slots=True)
class Pacing:
    """Per-request instructions, passed as python-telegram-bot's `rate_limit_args`.

    `within`: seconds the request may wait for its chat's budget; past that it is not
    sent at all (NotSentInTime), so a member's reply is never queued for minutes.
    """

    within: float | None = None


@dataclass(frozen=True, slots=True)
class FloodLimits:
    """Defaults are Telegram's published limits; a small margin absorbs clock jitter."""

    chat_interval: float = 1.0
    group_per_minute: int = FloodLimit.MESSAGES_PER_MINUTE_PER_GROUP
    group_window: float = 60.0
    overall_per_second: int = FloodLimit.MESSAGES_PER_SECOND
    margin: float = 0.02
    max_retries: int = 10


class FloodControl(BaseRateLimiter[Pacing]):
    """Paces posting requests per chat (1/s), per group (20 per 60 s) and overall (30/s).

    A chat has one budget whatever it is called: `alias` maps a public @username to the
    chat's id (resolved at start-up), since Telegram counts the chat, not the name.
    """

    __slots__ = ("_aliases", "_blocked_until", "_limits", "_locks", "_overall", "_recent")

    def __init__(self, limits: FloodLimits | None = None) -> None:
        self._limits = limits or FloodLimits()
        self._aliases: dict[str, str] = {}
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._recent: defaultdict[str, deque[float]] = defaultdict(deque)
        self._blocked_until: defaultdict[str, float] = defaultdict(float)
        self._overall: deque[float] = deque()

    def alias(self, username: str, chat_id: int) -> None:
        """Count requests to `@username` against the budget of chat `chat_id`."""
        self._aliases[username.lower()] = str(chat_id)

    def key(self, chat: object) -> str:
        """The budget a request to `chat` (an id or an @username) is counted in."""
        text = str(chat)
        return self._aliases.get(text.lower(), text)

    async def initialize(self) -> None:
        """Nothing to set up: state is in memory."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, _Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Pacing | None,
    ) -> _Result:
        chat = data.get("chat_id")
        if endpoint not in _POSTING or chat is None:
            return await self._with_retries(callback, args, kwargs, None, None)
        key = self.key(chat)
        within = rate_limit_args.within if rate_limit_args is not None else None
        deadline = None if within is None else time.monotonic() + within
        try:
            async with asyncio.timeout(within):
                # One request per chat at a time keeps the spacing exact.
                await self._locks[key].acquire()
        except TimeoutError:
            raise NotSentInTime(f"chat {key} was busy for {within:.0f} s") from None
        try:
            return await self._with_retries(callback, args, kwargs, key, deadline)
        finally:
            self._locks[key].release()

    async def _with_retries(
        self,
        callback: Callable[..., Coroutine[Any, Any, _Result]],
        args: Any,
        kwargs: dict[str, Any],
        key: str | None,
        deadline: float | None,
    ) -> _Result:
        for attempt in range(self._limits.max_retries + 1):
            if key is not None:
                await self._wait_for_slot(key, deadline)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                wait = retry_seconds(exc.retry_after)
                if attempt == self._limits.max_retries:
                    raise
                log.warning("flood limit on chat %s: waiting %.0f s as Telegram asks", key, wait)
                if key is not None:
                    self._blocked_until[key] = time.monotonic() + wait + self._limits.margin
                else:
                    await asyncio.sleep(wait + self._limits.margin)
            finally:
                if key is not None:
                    self._record(key)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _wait_for_slot(self, key: str, deadline: float | None) -> None:
        limits = self._limits
        while True:
            now = time.monotonic()
            recent = self._recent[key]
            while recent and now - recent[0] >= limits.group_window:
                recent.popleft()
            while self._overall and now - self._overall[0] >= 1:
                self._overall.popleft()
            ready = self._blocked_until[key]
            if recent:
                ready = max(ready, recent[-1] + limits.chat_interval + limits.margin)
            if _is_group(key) and len(recent) >= limits.group_per_minute:
                oldest = recent[-limits.group_per_minute]
                ready = max(ready, oldest + limits.group_window + limits.margin)
            if len(self._overall) >= limits.overall_per_second:
                ready = max(ready, self._overall[0] + 1 + limits.margin)
            if ready <= now:
                return
            if deadline is not None and ready > deadline:
                raise NotSentInTime(f"chat {key} has no budget for {ready - now:.0f} s")
            await asyncio.sleep(ready - now)

    def _record(self, key: str) -> None:
        """Spacing counts from when a request finished, which is never before it arrived."""
        now = time.monotonic()
        self._recent[key].append(now)
        self._overall.append(now)


def _is_group(chat: str) -> bool:
    """Private chats have positive ids; groups, supergroups and channels negative or @names."""
    return not chat.isdigit()


def retry_seconds(value: int | dt.timedelta) -> float:
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)
