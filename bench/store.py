"""Archive query latency at 10,000 digests, against the chat commands' targets.

Builds an archive with `bench.corpus` in a temporary folder, syncs it, then times each
query kind a few hundred times through the Store, as the handlers call it, and prints
p50/p99/max next to the target. Run: python -m bench.store [--count N] [--calls N]
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import math
import re
import sqlite3
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from itertools import cycle
from pathlib import Path

from bench.corpus import TAGS, write_corpus
from bot.store import Archive, Released, Store

COUNT = 10_000
CALLS = 300
WARM_UP = 5
PAGE = 10
ARCHIVE_TARGET_MS = 20
SEARCH_TARGET_MS = 50


@dataclass(frozen=True)
class Kind:
    """One kind of query: its calls go round `args`."""

    name: str
    target_ms: float
    call: Callable[..., Awaitable[object]]
    args: list[tuple[object, ...]]
    terms: list[str] | None = None


def kinds(store: Store, count: int) -> list[Kind]:
    """Each query as members make it: released digests only (the last week of the corpus
    is not yet released, and the ledger is empty, so each of those is checked)."""
    first = dt.date(2000, 1, 1)  # bench.corpus dates digest i on first + i days
    rule = Released("@ai_news_plus", 0, first + dt.timedelta(days=count - 8))
    archive, search = store.archive.only(rule), store.search.only(rule)
    days = [first + dt.timedelta(days=i) for i in range(0, count, max(count // 97, 1))]
    months = sorted({d.strftime("%Y-%m") for d in days})
    search_terms = {
        "1 char, zh, common": ["芯", "模", "发"],
        "1 char, en, common": ["A", "o", "%"],
        "1 char, rare": ["鲲", "Q"],
        "2 chars, zh, common": ["芯片", "模型", "融资"],
        "2 chars, en, common": ["AI", "ai", "xA"],
        "2 chars, rare": ["zq", "鲲鹏", "#_"],
        "3+ chars, zh, common": ["英伟达", "数据中心", "深度解读"],
        "3+ chars, en, common": ["OpenAI", "Anthropic", "example.com"],
        "3+ chars, long phrase": ["DeepSeek 发布新一代芯片方案", "Anthropic 发布"],
        # Every trigram of these is in nearly every digest, the phrase in none: the one
        # case where the whole archive is read (phrase positions checked everywhere).
        "3+ chars, phrase of common parts": [
            "据知情人士透露，OpenAI 发布新一代",
            "据知情人士透露，英伟达 发布新一代芯片方案",
        ],
        "3+ chars, zh, rare": ["日报 #1234", "不存在的内容"],
        "3+ chars, en, rare": ["quantum", "#9876"],
    }
    return [
        Kind("tags", ARCHIVE_TARGET_MS, archive.tags, [()]),
        Kind(
            "with_tag (first page)",
            ARCHIVE_TARGET_MS,
            archive.with_tag,
            [(t, 0, PAGE) for t in TAGS],
        ),
        Kind(
            "with_tag (any page)",
            ARCHIVE_TARGET_MS,
            archive.with_tag,
            [(t, o, PAGE) for t in TAGS for o in range(0, 4000, 370)],
        ),
        Kind(
            "page (any page)",
            ARCHIVE_TARGET_MS,
            archive.page,
            [(o, PAGE) for o in range(0, count, 97)],
        ),
        Kind("page (one month)", ARCHIVE_TARGET_MS, page_of_month(archive), [(m,) for m in months]),
        Kind("by_date", ARCHIVE_TARGET_MS, archive.by_date, [(d,) for d in days]),
        Kind("latest", ARCHIVE_TARGET_MS, archive.latest, [()]),
        Kind("by_date + neighbours", ARCHIVE_TARGET_MS, around(archive), [(d,) for d in days]),
        *(
            Kind(
                f"search {name}",
                SEARCH_TARGET_MS,
                search.find,
                [(t, 0, PAGE) for t in terms],
                terms,
            )
            for name, terms in search_terms.items()
        ),
        Kind(
            "search, page 5",
            SEARCH_TARGET_MS,
            search.find,
            [(t, 4 * PAGE, PAGE) for t in ("芯片", "AI", "OpenAI")],
            ["芯片", "AI", "OpenAI"],
        ),
    ]


def page_of_month(archive: Archive) -> Callable[[str], Awaitable[object]]:
    async def call(month: str) -> object:
        return await archive.page(0, PAGE, month=month)

    return call


def around(archive: Archive) -> Callable[[dt.date], Awaitable[object]]:
    """What a full digest in private asks: the digest, then its older and newer ones."""

    async def call(day: dt.date) -> object:
        (entry,) = await archive.by_date(day)
        return await archive.neighbours(entry)

    return call


async def latencies(kind: Kind, calls: int) -> list[float]:
    args = cycle(kind.args)
    for _ in range(WARM_UP):
        await kind.call(*next(args))
    times = []
    for _ in range(calls):
        call_args = next(args)
        start = time.perf_counter()
        await kind.call(*call_args)
        times.append((time.perf_counter() - start) * 1000)
    return sorted(times)


def percentile(sorted_ms: list[float], p: float) -> float:
    """Nearest rank: the smallest value at or above p percent of the samples."""
    return sorted_ms[max(math.ceil(p / 100 * len(sorted_ms)) - 1, 0)]


def matches(db_path: Path, terms: list[str]) -> str:
    """How many digests hold every word of each term in their rendered text, counted
    outside the Store so the figure is the same before and after a change to it."""
    with sqlite3.connect(db_path) as db:
        counts = []
        for term in terms:
            words = term.split()
            where = " AND ".join(f"rendered LIKE :w{i} ESCAPE '\\'" for i in range(len(words)))
            params = {
                f"w{i}": "%" + re.sub(r"([\\%_])", r"\\\1", w) + "%" for i, w in enumerate(words)
            }
            counts.append(
                db.execute(f"SELECT count(*) FROM digests WHERE {where}", params).fetchone()[0]
            )
    db.close()
    return "/".join(str(c) for c in counts)


def file_sizes(db_path: Path) -> str:
    wal = db_path.with_name(db_path.name + "-wal")
    main = db_path.stat().st_size / 2**20
    return f"{main:.1f} MiB" + (
        f" (+ {wal.stat().st_size / 2**20:.1f} MiB WAL)" if wal.exists() else ""
    )


async def main(count: int, calls: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        content, db_path = Path(folder) / "content", Path(folder) / "bot.sqlite3"
        write_corpus(content, count)
        async with await Store.open(db_path) as store:
            start = time.perf_counter()
            report = await store.sync_content(content, max_bytes=1 << 20)
            took = time.perf_counter() - start
            print(f"{report.added} digests synced in {took:.1f} s; database {file_sizes(db_path)}")
            print(f"{calls} calls per kind, page size {PAGE}; times in ms")
            print(f"{'query':<40} {'p50':>7} {'p99':>7} {'max':>7} {'target':>7}  matches")
            for kind in kinds(store, count):
                times = await latencies(kind, calls)
                p99 = percentile(times, 99)
                verdict = "ok" if p99 < kind.target_ms else "OVER"
                found = matches(db_path, kind.terms) if kind.terms else ""
                print(
                    f"{kind.name:<40} {percentile(times, 50):7.2f} {p99:7.2f} {times[-1]:7.2f} "
                    f"{'<' + str(kind.target_ms):>7} {verdict:<4} {found}"
                )
        print(f"database after close: {file_sizes(db_path)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=COUNT, help="digests in the archive")
    parser.add_argument("--calls", type=int, default=CALLS, help="timed calls per query kind")
    options = parser.parse_args()
    asyncio.run(main(options.count, options.calls))
