"""Fixtures and helpers for the store's tests: a real SQLite file under tmp_path."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.store import DigestEntry, SearchPage, Store, SyncReport
from bot.store.schema import search_grams

ROOT = Path(__file__).resolve().parents[3]
OLD = 1_600_000_000 * 10**9  # an mtime far enough in the past to be trusted


def write_digest(
    folder: Path,
    name: str,
    *,
    title: str = "AI 日报",
    date: str = "2026-02-21",
    tags: tuple[str, ...] = (),
    summary: str = "",
    body: str = "正文。",
    mtime_ns: int | None = OLD,
) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = [f"title: {json.dumps(title, ensure_ascii=False)}", f"date: {date}"]
    if tags:
        meta.append(f"tags: {json.dumps(list(tags), ensure_ascii=False)}")
    if summary:
        meta.append(f"summary: {json.dumps(summary, ensure_ascii=False)}")
    path.write_text("---\n" + "\n".join(meta) + "\n---\n" + body + "\n", encoding="utf-8")
    if mtime_ns is not None:
        os.utime(path, ns=(mtime_ns, mtime_ns))
    return path


def touch(path: Path, mtime_ns: int) -> None:
    os.utime(path, ns=(mtime_ns, mtime_ns))


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with await Store.open(tmp_path / "data" / "bot.sqlite3") as opened:
        yield opened


@pytest.fixture
def content(tmp_path: Path) -> Path:
    folder = tmp_path / "content"
    folder.mkdir()
    return folder


async def sync(store: Store, content: Path, max_bytes: int = 1 << 20) -> SyncReport:
    return await store.sync_content(content, max_bytes=max_bytes)


def fts_integrity(db_path: Path) -> None:
    """FTS5's own check that the trigram index matches the content table exactly, and the
    short-query index compared with one rebuilt from the digests (FTS5 cannot check a
    contentless table against its content)."""
    with sqlite3.connect(db_path) as db:
        db.execute("INSERT INTO digests_fts (digests_fts, rank) VALUES ('integrity-check', 1)")
        db.create_function("search_grams", -1, search_grams)
        db.execute(
            "CREATE VIRTUAL TABLE temp.rebuilt USING fts5"
            " (grams, content = '', detail = 'none', columnsize = 0, tokenize = 'ascii')"
        )
        db.execute(
            "INSERT INTO temp.rebuilt (rowid, grams)"
            " SELECT ord, search_grams(rendered) FROM digests"
        )
        entries = []
        for schema, table in (("main", "digests_grams"), ("temp", "rebuilt")):
            db.execute(
                f"CREATE VIRTUAL TABLE temp.{table}_terms USING fts5vocab"
                f" ({schema}, {table}, 'instance')"
            )
            entries.append(
                db.execute(f"SELECT term, doc FROM {table}_terms ORDER BY 1, 2").fetchall()
            )
        assert entries[0] == entries[1]
    db.close()


async def run_child(code: str, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        code,
        *args,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )


def slugs(entries: list[DigestEntry]) -> list[str]:
    return [e.slug for e in entries]


def found(page: SearchPage) -> tuple[list[str], int, bool]:
    """A search page as (slugs, total, whether the total is exact)."""
    return [h.entry.slug for h in page.hits], page.total, page.total_is_exact
