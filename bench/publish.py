"""Publishing speed against the floor Telegram's flood limits set, and what random
SIGKILLs cost.

Posts the sample digest to the local Bot API emulator with Telegram's real limits
(1 message/s per chat, 20/min per group) and prints the wall time against the floor,
(parts - 1) seconds, and the number of 429 answers. Then runs `digest-bot run` as a
child process, kills it with SIGKILL at a random moment of the publication, restarts
it, and counts duplicated and lost parts in the supergroup over `KILLS` rounds (each
after an earlier digest, so the cover has an anchor). Run: python -m bench.publish
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bot.app import build_bot
from bot.config import load_settings
from bot.digest import load_digest
from bot.publisher import Publisher
from bot.render import render_digest
from bot.sandbox.telegram_api import TelegramEmulator
from bot.store import Store
from tests.helpers import FAST, GROUP, GROUP_NAME, write_config
from tests.samples import SAMPLE, make_due, write_digest

ROUNDS = 3
KILLS = 20


async def one_round(folder: Path) -> tuple[float, int, int]:
    async with TelegramEmulator() as emu:  # Telegram's real flood limits
        emu.add_chat(GROUP, type="supergroup", username=GROUP_NAME)
        content = folder / "content"
        content.mkdir()
        shutil.copy(SAMPLE, content)
        settings = load_settings(write_config(folder, emu, content), env={})
        digest = load_digest(content / SAMPLE.name)
        async with await Store.open(settings.storage.path) as store, build_bot(settings) as bot:
            publisher = Publisher(bot, store.ledger, content=settings.content)
            started = time.perf_counter()
            outcome = await publisher.publish(digest, settings.publish.targets[0])
            elapsed = time.perf_counter() - started
        assert outcome.done, outcome.error
        floods = sum(1 for r in emu.requests if r.status == 429)
        return elapsed, len(outcome.publication.parts), floods


def _bot(config: Path, *command: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_BOT_")}
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config), *command],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def one_kill(folder: Path, rng: random.Random) -> tuple[int, int, int]:
    """(duplicates, losses, parts in the group when the kill came) for one publication
    killed once."""
    async with TelegramEmulator(flood=FAST) as emu:
        emu.add_chat(GROUP, type="supergroup", username=GROUP_NAME)
        content = folder / "content"
        content.mkdir()
        shutil.copy(SAMPLE, content)
        make_due(content)
        yesterday = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=8)).date() - dt.timedelta(1)
        write_digest(
            content, front=f"title: 昨日\ndate: {yesterday}", body="## 节\n\n昨天", name="y.md"
        )
        config = write_config(folder, emu, content)
        _bot(config, "publish", "--date", str(yesterday)).wait(60)
        before = len(emu.transcript(GROUP))
        first = _bot(config, "run")
        # The publication takes ~1 s a part after ~1.5 s of start-up: kill anywhere in it.
        if rng.random() < 0.5:  # half the kills after the cover, anywhere in the sections
            await emu.wait_for(GROUP, before + 1, timeout=30)
        delay = rng.uniform(0.0, 4.0)
        await asyncio.sleep(delay)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        at_kill = len(emu.transcript(GROUP)) - before
        second = _bot(config, "run")
        try:
            await emu.wait_for(GROUP, before + 6, timeout=40)
            await asyncio.sleep(2.0)  # anything extra would come now
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(20)
        texts = [m.text for m in emu.transcript(GROUP)[before:]]
        expected = [m.text for m in render_digest(load_digest(content / SAMPLE.name)).messages]
        losses = sum(1 for t in expected if t not in texts)
        return len(texts) - (len(expected) - losses), losses, at_kill


async def main() -> None:
    results = []
    for _ in range(ROUNDS):
        with tempfile.TemporaryDirectory() as folder:
            results.append(await one_round(Path(folder)))
    for elapsed, parts, floods in results:
        floor = parts - 1
        print(
            f"{parts} parts in {elapsed:.2f} s; floor {floor} s; "
            f"ratio {elapsed / floor:.3f}x (target <= 1.2x); 429 answers: {floods}"
        )
    rng = random.Random(int(os.environ.get("BENCH_SEED", "10")))
    duplicates = losses = 0
    cut: list[int] = []
    started = time.perf_counter()
    for _ in range(KILLS):
        with tempfile.TemporaryDirectory() as folder:
            extra, lost, at_kill = await one_kill(Path(folder), rng)
        duplicates += extra
        losses += lost
        cut.append(at_kill)
    interrupted = sum(1 for n in cut if 0 < n < 6)
    print(
        f"{KILLS} random SIGKILLs in a supergroup: {duplicates} duplicate(s), {losses} lost "
        f"part(s); {interrupted} kill(s) cut a publication (parts in the group at each kill: "
        f"{' '.join(map(str, cut))}) ({time.perf_counter() - started:.0f} s)"
    )


if __name__ == "__main__":
    asyncio.run(main())
