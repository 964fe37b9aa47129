"""Hypothesis types anything at all after every command: the bot always answers, with a
message the strict emulator accepts, and never logs an error."""

from __future__ import annotations

import asyncio
import itertools
import logging
import shutil
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import build_app, serving
from bot.config import load_settings
from bot.sandbox.telegram_api import TelegramEmulator
from bot.store import Store
from tests.helpers import ADMIN, BOT_FAST, FAST, GROUP, MEMBER, refused, write_config
from tests.samples import SAMPLE

# Any Unicode a client can send: controls, RTL marks, emoji, markup, quotes.
ARGUMENTS = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=300
) | st.sampled_from(
    ["2026-02", "2026-02-21", "2026-02-30", "0000-00", "ai日报", "#AI", "d_", "force", "x" * 4000]
)


class ErrorLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class LiveBot:
    """The emulator and the bot on an event loop in their own thread, so that hypothesis's
    synchronous examples can drive them."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.stop = asyncio.Event()
        self.ready = threading.Event()
        self.users = itertools.count(50_000)
        self.errors = ErrorLog()

    def call(self, work: Coroutine[Any, Any, Any], timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout)

    def start(self) -> None:
        self.thread.start()
        self.task = asyncio.run_coroutine_threadsafe(self._run(), self.loop)
        if not self.ready.wait(30):
            self.task.result(1)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.task.result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    async def _run(self) -> None:
        content = self.folder / "content"
        content.mkdir(exist_ok=True)
        shutil.copy(SAMPLE, content)
        async with TelegramEmulator(flood=FAST) as emu:
            emu.add_chat(GROUP, type="supergroup", username="ai_news_plus")
            emu.add_chat(ADMIN, type="private")
            emu.add_chat(MEMBER, type="private")
            self.emulator = emu
            config = write_config(self.folder, emu, content, time="23:59", catch_up_hours=0)
            settings_ = load_settings(config, env={})
            async with await Store.open(settings_.storage.path) as store:
                app = build_app(
                    settings_,
                    store,
                    flood=BOT_FAST,
                )
                async with serving(app):
                    self.ready.set()
                    await self.stop.wait()

    def ask_quietly(self, chat: int, user: int, command: str) -> list[Any]:
        """Ask, then check that nothing was logged at ERROR meanwhile, inside this example
        (so that hypothesis shrinks the input that caused it)."""
        answers = self.call(self.ask(chat, user, command))
        logged = [logging.Formatter().format(r) for r in self.errors.records]
        self.errors.records.clear()
        assert logged == [], f"{command!r} logged errors"
        return answers

    async def ask(self, chat: int, user: int, command: str) -> list[Any]:
        emu = self.emulator
        before = len(emu.transcript(chat))
        emu.command(chat, user, command)
        sent = await emu.wait_for(chat, before + 1, timeout=5)
        if sent[before].method == "sendPhoto" and chat != GROUP:  # a whole digest
            sent = await emu.wait_for(chat, before + 6, timeout=15)
        await asyncio.sleep(0.05)
        return sent[before:]


def live_bot(folder: Path, *, inline: bool = False) -> Iterator[LiveBot]:
    """A LiveBot for a module's examples; at the end, nothing logged at ERROR, nothing the
    strict emulator refused."""
    bot = LiveBot(folder)
    logging.getLogger().addHandler(bot.errors)
    bot.start()
    bot.emulator.inline = inline
    try:
        yield bot
    finally:
        bot.close()
        logging.getLogger().removeHandler(bot.errors)
    assert [logging.Formatter().format(r) for r in bot.errors.records] == []
    assert bot.emulator.violations == []
    assert refused(bot.emulator) == []


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveBot]:
    yield from live_bot(tmp_path_factory.mktemp("fuzz"))


FUZZ = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.parametrize("command", ["archive", "tag", "search", "start", "help"])
@FUZZ
@given(argument=ARGUMENTS)
def test_members_in_private(live: LiveBot, command: str, argument: str) -> None:
    answers = live.ask_quietly(MEMBER, MEMBER, f"/{command} {argument}")
    assert answers, "no answer"


@pytest.mark.parametrize("command", ["archive", "tag", "search", "latest"])
@FUZZ
@given(argument=ARGUMENTS)
def test_members_in_the_group(live: LiveBot, command: str, argument: str) -> None:
    answers = live.ask_quietly(GROUP, next(live.users), f"/{command} {argument}")
    assert 1 <= len(answers) <= 2


@pytest.mark.parametrize("command", ["publish", "status"])
@FUZZ
@given(argument=ARGUMENTS)
def test_admins_in_private(live: LiveBot, command: str, argument: str) -> None:
    answers = live.ask_quietly(ADMIN, ADMIN, f"/{command} {argument}")
    assert answers, "no answer"
