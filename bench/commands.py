"""Command handling at archive scale: 10,000 digests, a mix of /tag, /archive, /search
and private /latest through the local Bot API emulator.

Prints p50/p99 handling latency per command (update pushed → first reply received by the
emulator), throughput with many members at once, and in the same run the throughput of a
bare echo bot through the same emulator, with the ratio; then the resident memory of a
real `digest-bot run` process with that archive loaded. Flood limits are lifted on both
sides for the speed figures: they measure the bot, not Telegram's pacing.

Then the mixed load: 20 members using the group and 20 users in private for 30 s at
Telegram's real flood limits, with the private p99, the 429 answers and early sends.

Run: python -m bench.commands [COUNT]
"""

from __future__ import annotations

import asyncio
import itertools
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from telegram import Update
from telegram.ext import ApplicationBuilder, CommandHandler, ContextTypes

from bench.corpus import write_corpus
from bot.app import build_app, serving
from bot.config import Settings, load_settings
from bot.flood import FloodLimits as BotFloodLimits
from bot.publishing import sync_index
from bot.sandbox.telegram_api import TelegramEmulator
from bot.services import services_of
from bot.store import Store
from tests.helpers import ADMIN, GROUP, GROUP_NAME, write_config

COUNT = 10_000
ROUNDS = 200  # sequential commands per kind, for latency
BURST = 400  # commands in flight at once, for throughput
USERS = range(100_000, 100_400)
UNLIMITED = BotFloodLimits(
    chat_interval=0, group_per_minute=10**9, overall_per_second=10**9, margin=0
)
TARGETS = {"/tag": 20, "/archive": 20, "/search": 50}


def commands(rng: random.Random) -> dict[str, Callable[[], str]]:
    words = ["英伟达", "芯片", "AI", "开源", "模型", "融资 方案", "数据中心", "Agent", "机器人"]
    tags = ["AI", "ai日报", "大模型", "融资", "开源", "芯片", "Agent"]
    return {
        "/tag": lambda: rng.choice(["/tag", f"/tag {rng.choice(tags)}"]),
        "/archive": lambda: rng.choice(
            ["/archive", f"/archive {2000 + rng.randint(0, 27)}-{rng.randint(1, 12):02d}"]
        ),
        "/search": lambda: f"/search {rng.choice(words)}",
        "/latest": lambda: "/latest",
    }


async def ask(emu: TelegramEmulator, user: int, text: str) -> float:
    """Seconds from the update being queued to the bot's first reply arriving."""
    before = len(emu.transcript(user))
    started = time.perf_counter()
    emu.command(user, user, text)
    await emu.wait_for(user, before + 1, timeout=120)
    return time.perf_counter() - started


async def throughput(emu: TelegramEmulator, texts: list[str]) -> float:
    """Commands answered per second with BURST members asking at once."""
    users = itertools.cycle(USERS)
    started = time.perf_counter()
    await asyncio.gather(*(ask(emu, next(users), text) for text in texts))
    return len(texts) / (time.perf_counter() - started)


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000


async def measure_bot(settings: Settings, emu: TelegramEmulator) -> dict[str, object]:
    rng = random.Random(7)
    makers = commands(rng)
    results: dict[str, object] = {}
    async with await Store.open(settings.storage.path) as store:
        app = build_app(settings, store, flood=UNLIMITED)
        async with serving(app):
            services_of(app).browsing.digests.count = 1 << 30  # no pace limit while measuring
            users = itertools.cycle(USERS)
            for kind, make in makers.items():
                rounds = ROUNDS if kind != "/latest" else ROUNDS // 4
                times = [await ask(emu, next(users), make()) for _ in range(rounds)]
                results[kind] = (percentile(times, 50), percentile(times, 99))
            mix = [rng.choice(list(makers.values()))() for _ in range(BURST)]
            mix = [m for m in mix if m != "/latest"]  # a full digest is 6 messages, not 1
            results["throughput"] = await throughput(emu, mix)
    return results


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.effective_message.reply_text(update.effective_message.text)


async def measure_echo(emu: TelegramEmulator) -> float:
    app = (
        ApplicationBuilder()
        .token(emu.token)
        .base_url(emu.base_url)
        .base_file_url(emu.base_file_url)
        .concurrent_updates(16)
        .build()
    )
    app.add_handler(CommandHandler(["tag", "archive", "search"], echo))
    async with app:
        await app.start()
        await app.updater.start_polling()
        rng = random.Random(7)
        makers = commands(rng)
        texts = [
            rng.choice([makers["/tag"], makers["/archive"], makers["/search"]])()
            for _ in range(BURST)
        ]
        rate = await throughput(emu, texts)
        await app.updater.stop()
        await app.stop()
    return rate


async def resident_memory(config: Path, emu: TelegramEmulator) -> tuple[float, float]:
    """VmRSS and VmHWM (MB) of a real `digest-bot run` after it indexed the archive and
    answered a few commands."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "--config",
        str(config),
        "run",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        for text in ["/tag", "/archive", "/search 英伟达", "/search AI", "/latest"]:
            await ask(emu, USERS[0], text)  # the first waits for start-up
        status = await asyncio.to_thread(Path(f"/proc/{process.pid}/status").read_text)
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        return (int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024)
    finally:
        process.terminate()
        await process.wait()


MIXED_SECONDS = 30
GROUP_MEMBERS = range(200_000, 200_020)
PRIVATE_USERS = range(300_000, 300_020)


async def mixed_load(root: Path) -> None:
    """20 members using the group and 20 users in private for 30 s, at Telegram's real
    flood limits on both sides: private replies stay fast, nothing earns a 429."""
    async with TelegramEmulator() as emu:
        emu.add_chat(GROUP, type="supergroup", username=GROUP_NAME)
        for user in (*GROUP_MEMBERS, *PRIVATE_USERS, ADMIN):
            emu.add_chat(user, type="private")
        config = write_config(root, emu, root / "content", time="23:59", catch_up_hours=0)
        settings = load_settings(config, env={})
        rng = random.Random(11)
        makers = commands(rng)
        private_waits: list[float] = []
        unanswered = 0

        async def member(user: int) -> None:
            deadline = time.monotonic() + MIXED_SECONDS
            while time.monotonic() < deadline:
                emu.command(GROUP, user, rng.choice(["/archive", "/tag", "/search 芯片", "/help"]))
                await asyncio.sleep(rng.uniform(3, 8))  # a person's pace

        async def private(user: int) -> None:
            nonlocal unanswered
            deadline = time.monotonic() + MIXED_SECONDS
            while time.monotonic() < deadline:
                kind = rng.choice(["/tag", "/archive", "/search"])
                try:
                    private_waits.append(await ask(emu, user, makers[kind]()))
                except TimeoutError:
                    unanswered += 1
                await asyncio.sleep(rng.uniform(1, 3))

        async with (
            await Store.open(settings.storage.path) as store,
            serving(build_app(settings, store)),
        ):
            await asyncio.gather(
                *(member(u) for u in GROUP_MEMBERS), *(private(u) for u in PRIVATE_USERS)
            )
            await asyncio.sleep(12)  # the group's last replies: sent, or moved to private
        floods = sum(1 for r in emu.requests if r.status == 429)
        early = sum(1 for v in emu.violations if "retry_after" in v or "flood" in v)
        in_group = len(emu.transcript(GROUP))
        moved = sum(len(emu.transcript(u)) for u in GROUP_MEMBERS)
        print(
            f"mixed load, {MIXED_SECONDS} s: {len(private_waits)} private commands answered, "
            f"{unanswered} unanswered; private p50 {percentile(private_waits, 50):.0f} ms, "
            f"p99 {percentile(private_waits, 99):.0f} ms (target < 2000 ms); "
            f"group: {in_group} replies in the group, {moved} moved to private; "
            f"429 answers: {floods}, early sends: {early} (targets 0, 0)"
        )


async def main(count: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        started = time.perf_counter()
        write_corpus(root / "content", count)
        print(f"generated {count:,} digests in {time.perf_counter() - started:.1f} s")
        async with TelegramEmulator(flood=None) as emu:
            for user in (*USERS, ADMIN):
                emu.add_chat(user, type="private")
            config = write_config(root, emu, root / "content", time="23:59", catch_up_hours=0)
            settings = load_settings(config, env={})
            async with await Store.open(settings.storage.path) as store:
                started = time.perf_counter()
                await sync_index(store, settings.content)
                elapsed = time.perf_counter() - started
                print(f"indexed in {elapsed:.1f} s; {await store.archive.count():,} digests")
            bot = await measure_bot(settings, emu)
            for kind in ("/tag", "/archive", "/search", "/latest"):
                p50, p99 = bot[kind]  # type: ignore[misc]
                target = f"(target p99 < {TARGETS[kind]} ms)" if kind in TARGETS else ""
                print(f"{kind:9} p50 {p50:6.1f} ms  p99 {p99:6.1f} ms {target}")
            echo_rate = await measure_echo(emu)
            rate = bot["throughput"]
            print(
                f"throughput: digest-bot {rate:.0f} commands/s, echo bot {echo_rate:.0f}/s, "
                f"ratio {rate / echo_rate:.2f} (target >= 0.5)"  # type: ignore[operator]
            )
            rss, peak = await resident_memory(config, emu)
            print(
                f"digest-bot run with {count:,} digests: RSS {rss:.0f} MB, "
                f"peak {peak:.0f} MB (target < 150 MB)"
            )
        await mixed_load(root)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else COUNT))
