"""Hypothesis types anything at all inline and as plain text in private: the bot always
answers, in a form the strict emulator accepts, and never logs an error."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bot.handlers.arguments import words
from bot.sandbox.telegram_api import MAX_INLINE_QUERY_CHARS
from tests.helpers import MEMBER
from tests.integration.test_command_fuzz import LiveBot, live_bot

TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=300)
OFFSETS = st.sampled_from(["", "0", "20", "40", "1000", "1020", "-20", "7", "x", "20 "])
FUZZ = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveBot]:
    yield from live_bot(tmp_path_factory.mktemp("members-fuzz"), inline=True)


def _quiet(live: LiveBot) -> None:
    logged = [logging.Formatter().format(r) for r in live.errors.records]
    live.errors.records.clear()
    assert logged == []


@FUZZ
@given(query=TEXT, offset=OFFSETS, chat_type=st.sampled_from(["sender", "private", "supergroup"]))
def test_inline_queries(live: LiveBot, query: str, offset: str, chat_type: str) -> None:
    query = query[:MAX_INLINE_QUERY_CHARS]

    async def ask() -> dict:
        emu = live.emulator
        query_id = emu.inline_query(next(live.users), query, offset=offset, chat_type=chat_type)
        for _ in range(200):
            found = [a for a in emu.inline_answers if a["inline_query_id"] == query_id]
            if found:
                return found[0]
            await asyncio.sleep(0.02)
        raise AssertionError(f"inline query {query!r} was not answered")

    answer = live.call(ask())
    assert len(answer["results"]) <= 20
    _quiet(live)


@FUZZ
@given(text=TEXT)
def test_plain_text_in_private(live: LiveBot, text: str) -> None:
    assume(words([text]) and not text.lstrip().startswith("/"))

    async def say() -> None:
        emu = live.emulator
        before = len(emu.transcript(MEMBER))
        emu.message(MEMBER, MEMBER, text)
        await emu.wait_for(MEMBER, before + 1, timeout=5)
        await asyncio.sleep(0.05)

    live.call(say())
    _quiet(live)
