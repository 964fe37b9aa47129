"""Publishing speed against the floor Telegram's flood limits set.

Posts the sample digest to the local Bot API emulator with Telegram's real limits
(1 message/s per chat, 20/min per group) and prints the wall time against the floor,
(parts - 1) seconds, and the number of 429 answers. Run: python -m bench.publish
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from pathlib import Path

from bot.app import build_bot
from bot.config import load_settings
from bot.digest import load_digest
from bot.publisher import Publisher
from bot.sandbox.telegram_api import TelegramEmulator
from bot.store import Store
from tests.helpers import GROUP, GROUP_NAME, write_config
from tests.samples import SAMPLE

ROUNDS = 3


async def one_round(folder: Path) -> tuple[float, int, int]:
    async with TelegramEmulator() as emu:  # Telegram's real flood limits
        emu.add_chat(GROUP, type="supergroup", username=GROUP_NAME)
        content = folder / "content"
        content.mkdir()
        shutil.copy(SAMPLE, content)
        settings = load_settings(write_config(folder, emu, content), env={})
        digest = load_digest(content / SAMPLE.name)
        async with await Store.open(settings.storage.path) as store, build_bot(settings) as bot:
            publisher = Publisher(bot, store.ledger)
            started = time.perf_counter()
            outcome = await publisher.publish(digest, settings.publish.targets[0])
            elapsed = time.perf_counter() - started
        assert outcome.done, outcome.error
        floods = sum(1 for r in emu.requests if r.status == 429)
        return elapsed, len(outcome.publication.parts), floods


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


if __name__ == "__main__":
    asyncio.run(main())
