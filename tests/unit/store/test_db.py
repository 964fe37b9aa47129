"""Opening the database: folders, WAL, migrations from every released version."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest

import bot.store.ledger
import bot.store.schema
import bot.store.search
import bot.store.sync
from bot.store import SCHEMA_VERSION, Store, StoreError
from tests.unit.store.conftest import OLD, found, fts_integrity, sync, write_digest

# --- opening, schema, locking ---------------------------------------------------------


async def test_open_creates_folders_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "bot.sqlite3"
    async with await Store.open(path) as store:
        assert await store.schema_version() == SCHEMA_VERSION
        with sqlite3.connect(path) as other:
            assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert other.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


async def test_reopening_is_idempotent(tmp_path: Path, content: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    write_digest(content, "a.md", tags=("AI",))
    async with await Store.open(path) as store:
        await sync(store, content)
        started = await store.ledger.start_publication("a", "h", -100, None, [{"text": "x"}])
    for _ in range(2):
        async with await Store.open(path) as store:
            assert await store.schema_version() == SCHEMA_VERSION
            assert await store.archive.count() == 1
            assert await store.archive.tags() == [("AI", 1)]
            assert (await store.ledger.publication("a", -100, None)) == started


async def test_upgrade_from_version_1_keeps_the_archive(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    with sqlite3.connect(path, isolation_level=None) as db:
        for statement in bot.store.schema.MIGRATIONS[0]:
            db.execute(statement)
        db.execute("PRAGMA user_version = 1")
        db.execute(
            """
            INSERT INTO digests (id, path, slug, date, title, tags, summary, content_hash,
                                 mtime_ns, size, body, indexed_at)
            VALUES (7, '/c/old.md', 'old', '2025-01-02', '旧的日报', '["AI"]', '', 'h',
                    1, 2, '很久以前的正文内容', 'now')
            """
        )
        db.execute("INSERT INTO digest_tags VALUES (7, 'AI', 'ai')")
        db.execute(
            "INSERT INTO digests_fts (rowid, title, summary, body)"
            " SELECT id, title, summary, body FROM digests"
        )
    db.close()
    async with await Store.open(path) as store:
        assert await store.schema_version() == SCHEMA_VERSION
        entry = await store.archive.get("old")
        assert entry is not None and entry.title == "旧的日报"
        found = await store.search.find("以前的", 0, 5)
        assert found.total == 1 and found.hits[0].entry.slug == "old"
        assert (await store.search.find("以前", 0, 5)).total == 1  # short: the new index
        publication = await store.ledger.start_publication("old", "h", "@chat", None, [{"a": 1}])
        assert publication.round == 1


async def test_upgrade_from_version_2_orders_and_indexes_search(
    tmp_path: Path, content: Path
) -> None:
    path = tmp_path / "bot.sqlite3"
    files = [
        ("old", "2026-02-21", "芯片正文"),
        ("peer", "2026-02-21", "另一篇正文"),
        ("prev", "1999-12-31", "世纪末的正文"),
    ]
    with sqlite3.connect(path, isolation_level=None) as db:
        for statement in (*bot.store.schema.MIGRATIONS[0], *bot.store.schema.MIGRATIONS[1]):
            db.execute(statement)
        db.execute("PRAGMA user_version = 2")
        for slug, date, body in files:
            file = write_digest(content, f"{slug}.md", title=slug, date=date, body=body)
            stat = file.stat()
            db.execute(
                """
                INSERT INTO digests (path, slug, date, title, summary, content_hash,
                                     mtime_ns, size, body, indexed_at)
                VALUES (?, ?, ?, ?, '', 'h', ?, ?, ?, 'now')
                """,
                (str(file.resolve()), slug, date, slug, stat.st_mtime_ns, stat.st_size, body),
            )
        db.execute(
            "INSERT INTO digests_fts (rowid, title, summary, body)"
            " SELECT id, title, summary, body FROM digests"
        )
    db.close()
    async with await Store.open(path) as store:
        assert await store.schema_version() == SCHEMA_VERSION
        fts_integrity(path)
        # The migration's SQL numbers digests as the sync's Python does.
        with sqlite3.connect(path) as db:
            ords = db.execute("SELECT slug, ord FROM digests ORDER BY slug").fetchall()
        db.close()
        day = dt.date(2026, 2, 21).toordinal() * bot.store.sync.DAY_SLOTS
        previous = dt.date(1999, 12, 31).toordinal() * bot.store.sync.DAY_SLOTS
        assert ords == [("old", day), ("peer", day + 1), ("prev", previous)]
        assert found(await store.search.find("正文", 0, 5)) == (["peer", "old", "prev"], 3, True)
        assert (await store.search.find("芯片", 0, 5)).total == 1
        assert (await store.search.find("世", 0, 5)).total == 1

        # Migrated rows leave both indexes cleanly, and newcomers fall in line.
        write_digest(content, "old.md", title="old", body="系统正文", mtime_ns=OLD + 10**9)
        write_digest(content, "a.md", title="a", body="又一篇正文")
        # Migration 4 has every entry indexed again, with its rendered text.
        assert (await sync(store, content)).updated == 3
        assert (await store.search.find("芯片", 0, 5)).total == 0
        assert (await store.search.find("系统", 0, 5)).total == 1
        assert found(await store.search.find("正文", 0, 5))[0] == ["peer", "old", "a", "prev"]
        fts_integrity(path)


async def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(StoreError, match="schema version 99, newer than this bot's"):
        await Store.open(path)


async def test_a_failing_migration_leaves_nothing_behind(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "bot.sqlite3"
    async with await Store.open(path):
        pass
    broken = ("CREATE TABLE half_done (x)", "CREATE TABLE oops (")
    monkeypatch.setattr(bot.store.schema, "MIGRATIONS", [*bot.store.schema.MIGRATIONS, broken])
    with pytest.raises(sqlite3.OperationalError):
        await Store.open(path)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
    db.close()
    assert "half_done" not in names
    monkeypatch.setattr(
        bot.store.schema, "MIGRATIONS", [*bot.store.schema.MIGRATIONS[:SCHEMA_VERSION]]
    )
    async with await Store.open(path) as store:
        assert await store.schema_version() == SCHEMA_VERSION


async def test_a_closed_store_says_so(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "bot.sqlite3")
    await store.close()
    await store.close()
    with pytest.raises(StoreError, match="is closed"):
        await store.archive.count()
