"""The store against a real SQLite file: schema, archive index, search, and the ledger."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import re
import signal
import sqlite3
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import bot.store
from bot.store import (
    SCHEMA_VERSION,
    LedgerError,
    SearchPage,
    Store,
    StoreError,
    StoreLocked,
)

ROOT = Path(__file__).resolve().parents[2]
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


async def sync(store: Store, content: Path, max_bytes: int = 1 << 20) -> bot.store.SyncReport:
    return await store.sync_content(content, max_bytes=max_bytes)


def fts_integrity(db_path: Path) -> None:
    """FTS5's own check that the trigram index matches the content table exactly, and the
    short-query index compared with one rebuilt from the digests (FTS5 cannot check a
    contentless table against its content)."""
    with sqlite3.connect(db_path) as db:
        db.execute("INSERT INTO digests_fts (digests_fts, rank) VALUES ('integrity-check', 1)")
        db.create_function("search_grams", 3, bot.store._search_grams)
        db.execute(
            "CREATE VIRTUAL TABLE temp.rebuilt USING fts5"
            " (grams, content = '', detail = 'none', columnsize = 0, tokenize = 'ascii')"
        )
        db.execute(
            "INSERT INTO temp.rebuilt (rowid, grams)"
            " SELECT ord, search_grams(title, summary, body) FROM digests"
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
        started = await store.start_publication("a", "h", -100, None, [{"text": "x"}])
    for _ in range(2):
        async with await Store.open(path) as store:
            assert await store.schema_version() == SCHEMA_VERSION
            assert await store.count() == 1
            assert await store.tags() == [("AI", 1)]
            assert (await store.publication("a", -100, None)) == started


async def test_upgrade_from_version_1_keeps_the_archive(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    with sqlite3.connect(path, isolation_level=None) as db:
        for statement in bot.store.MIGRATIONS[0]:
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
        assert await store.schema_version() == SCHEMA_VERSION == 3
        entry = await store.get("old")
        assert entry is not None and entry.title == "旧的日报"
        found = await store.search("以前的", 0, 5)
        assert found.total == 1 and found.hits[0].entry.slug == "old"
        assert (await store.search("以前", 0, 5)).total == 1  # short: the new index
        publication = await store.start_publication("old", "h", "@chat", None, [{"a": 1}])
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
        for statement in (*bot.store.MIGRATIONS[0], *bot.store.MIGRATIONS[1]):
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
        assert await store.schema_version() == SCHEMA_VERSION == 3
        fts_integrity(path)
        # The migration's SQL numbers digests as the sync's Python does.
        with sqlite3.connect(path) as db:
            ords = db.execute("SELECT slug, ord FROM digests ORDER BY slug").fetchall()
        db.close()
        day = dt.date(2026, 2, 21).toordinal() * bot.store._DAY_SLOTS
        previous = dt.date(1999, 12, 31).toordinal() * bot.store._DAY_SLOTS
        assert ords == [("old", day), ("peer", day + 1), ("prev", previous)]
        assert found(await store.search("正文", 0, 5)) == (["peer", "old", "prev"], 3, True)
        assert (await store.search("芯片", 0, 5)).total == 1
        assert (await store.search("世", 0, 5)).total == 1

        # Migrated rows leave both indexes cleanly, and newcomers fall in line.
        write_digest(content, "old.md", title="old", body="系统正文", mtime_ns=OLD + 10**9)
        write_digest(content, "a.md", title="a", body="又一篇正文")
        assert (await sync(store, content)).updated == 1
        assert (await store.search("芯片", 0, 5)).total == 0
        assert (await store.search("系统", 0, 5)).total == 1
        assert found(await store.search("正文", 0, 5))[0] == ["peer", "old", "a", "prev"]
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
    monkeypatch.setattr(bot.store, "MIGRATIONS", [*bot.store.MIGRATIONS, broken])
    with pytest.raises(sqlite3.OperationalError):
        await Store.open(path)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
    db.close()
    assert "half_done" not in names
    monkeypatch.setattr(bot.store, "MIGRATIONS", [*bot.store.MIGRATIONS[:SCHEMA_VERSION]])
    async with await Store.open(path) as store:
        assert await store.schema_version() == SCHEMA_VERSION


async def test_exclusive_excludes_a_second_store(tmp_path: Path) -> None:
    path = tmp_path / "data" / "bot.sqlite3"
    first = await Store.open(path, exclusive=True)
    try:
        with pytest.raises(StoreLocked) as info:
            await Store.open(path, exclusive=True)
        assert str(info.value) == (
            f"another digest-bot (pid {os.getpid()}) is already running on {path}; stop it first"
        )
        # Read-only tools (check, render) may still open it without the lock.
        async with await Store.open(path) as reader:
            assert await reader.count() == 0
    finally:
        await first.close()
    async with await Store.open(path, exclusive=True):
        pass


async def test_exclusive_excludes_another_process(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    child = await run_child(
        "import asyncio, sys\n"
        "from pathlib import Path\n"
        "from bot.store import Store\n"
        "async def main():\n"
        "    store = await Store.open(Path(sys.argv[1]), exclusive=True)\n"
        "    print('locked', flush=True)\n"
        "    sys.stdin.read()\n"
        "asyncio.run(main())\n",
        str(path),
    )
    try:
        assert child.stdout is not None
        assert await asyncio.wait_for(child.stdout.readline(), 30) == b"locked\n"
        with pytest.raises(StoreLocked, match=rf"\(pid {child.pid}\) is already running"):
            await Store.open(path, exclusive=True)
    finally:
        child.send_signal(signal.SIGKILL)
        await child.wait()
    # The kernel drops the lock with the process, however it died.
    async with await Store.open(path, exclusive=True):
        pass


async def test_a_closed_store_says_so(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "bot.sqlite3")
    await store.close()
    await store.close()
    with pytest.raises(StoreError, match="is closed"):
        await store.count()


# --- syncing the archive index -------------------------------------------------------


async def test_sync_adds_updates_removes(store: Store, content: Path, tmp_path: Path) -> None:
    a = write_digest(content, "2026-02-20-a.md", date="2026-02-20", body="第一篇")
    write_digest(content, "sub/2026-02-21-b.md", title="B", body="第二篇")
    report = await sync(store, content)
    assert (report.added, report.updated, report.removed, report.unchanged) == (2, 0, 0, 0)
    assert report.failures == []
    assert await store.count() == 2

    write_digest(content, "2026-02-20-a.md", date="2026-02-20", body="第一篇，改过了")
    (content / "sub" / "2026-02-21-b.md").unlink()
    write_digest(content, "2026-02-22-c.md", date="2026-02-22")
    report = await sync(store, content)
    assert (report.added, report.updated, report.removed, report.unchanged) == (1, 1, 1, 0)
    assert await store.get("2026-02-21-b") is None
    assert (await store.search("改过了", 0, 5)).total == 1

    touch(a, OLD + 10**9)  # touched, same bytes: read again, but nothing changed
    report = await sync(store, content)
    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 0, 0, 2)
    fts_integrity(tmp_path / "data" / "bot.sqlite3")


async def test_unchanged_files_are_not_read_again(store: Store, content: Path, monkeypatch) -> None:
    for i in range(3):
        write_digest(content, f"d{i}.md")
    calls: list[Path] = []
    real_load = bot.store.load_digest

    def counting_load(path: Path, **kwargs: object) -> object:
        calls.append(path)
        return real_load(path, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(bot.store, "load_digest", counting_load)
    await sync(store, content)
    assert len(calls) == 3
    calls.clear()
    report = await sync(store, content)
    assert calls == []
    assert report.unchanged == 3


async def test_a_file_changed_just_now_is_read_again(store: Store, content: Path) -> None:
    # Same size, and an mtime the file system may not have moved: only re-reading catches it.
    path = write_digest(content, "a.md", title="AAAA", mtime_ns=None)
    await sync(store, content)
    stat = path.stat()
    write_digest(content, "a.md", title="BBBB", mtime_ns=stat.st_mtime_ns)
    assert path.stat().st_size == stat.st_size
    report = await sync(store, content)
    assert report.updated == 1
    entry = await store.get("a")
    assert entry is not None and entry.title == "BBBB"


async def test_loading_runs_off_the_event_loop(store: Store, content: Path, monkeypatch) -> None:
    write_digest(content, "a.md")
    threads: list[int] = []
    real_load = bot.store.load_digest

    def recording_load(path: Path, **kwargs: object) -> object:
        threads.append(threading.get_ident())
        return real_load(path, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(bot.store, "load_digest", recording_load)
    await sync(store, content)
    assert threads and threading.get_ident() not in threads


async def test_a_failing_sync_changes_nothing(store: Store, content: Path, monkeypatch) -> None:
    write_digest(content, "a000.md")
    await sync(store, content)
    for i in range(1, 70):  # more than one loading batch
        write_digest(content, f"a{i:03d}.md")
    real_load = bot.store.load_digest

    def failing_load(path: Path, **kwargs: object) -> object:
        if path.name == "a069.md":
            raise RuntimeError("disk on fire")
        return real_load(path, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(bot.store, "load_digest", failing_load)
    with pytest.raises(RuntimeError):
        await sync(store, content)
    assert await store.count() == 1
    assert (await store.search("正文。", 0, 5)).total == 1


async def test_readers_never_see_half_a_sync(store: Store, content: Path, monkeypatch) -> None:
    for i in range(70):
        write_digest(content, f"a{i:03d}.md")
    reached, gate = threading.Event(), threading.Event()
    real_load = bot.store.load_digest

    def slow_load(path: Path, **kwargs: object) -> object:
        if path.name == "a065.md":  # the first batch is already in the transaction
            reached.set()
            gate.wait(10)
        return real_load(path, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(bot.store, "load_digest", slow_load)
    syncing = asyncio.create_task(sync(store, content))
    assert await asyncio.to_thread(reached.wait, 10)
    counting = asyncio.create_task(store.count())
    await asyncio.sleep(0.05)
    assert not counting.done()
    gate.set()
    assert (await syncing).added == 70
    assert await counting == 70


async def test_invalid_files_are_recorded_once_and_cleared(store: Store, content: Path) -> None:
    good = write_digest(content, "good.md")
    bad = content / "bad.md"
    bad.write_text("---\ntitle: x\n---\nno date\n", encoding="utf-8")
    touch(bad, OLD)
    report = await sync(store, content)
    assert report.added == 1
    assert report.failures == [(bad.resolve(), "front matter has no 'date'")]
    assert await store.failures() == [(bad.resolve(), "front matter has no 'date'")]

    report = await sync(store, content)
    assert report.failures == []  # known, and the file did not change
    assert await store.failures() == [(bad.resolve(), "front matter has no 'date'")]

    write_digest(content, "bad.md", date="2026-01-01")
    report = await sync(store, content)
    assert report.added == 1 and report.failures == []
    assert await store.failures() == []

    good.write_text("---\ndate: 2026-01-01\n---\nno title\n", encoding="utf-8")
    touch(good, OLD + 10**9)
    report = await sync(store, content)
    assert report.removed == 1
    assert report.failures == [(good.resolve(), "front matter has no 'title'")]
    assert await store.get("good") is None

    good.unlink()
    await sync(store, content)
    assert await store.failures() == []


async def test_oversized_files_are_refused(store: Store, content: Path) -> None:
    write_digest(content, "big.md", body="长" * 400)
    report = await sync(store, content, max_bytes=200)
    assert len(report.failures) == 1
    assert "over the limit of 200" in report.failures[0][1]
    assert await store.count() == 0


async def test_a_slug_collision_fails_the_second_file(store: Store, content: Path) -> None:
    first = write_digest(content, "2025/daily.md", title="first")
    second = write_digest(content, "2026/daily.md", title="second")
    report = await sync(store, content)
    assert report.added == 1
    assert report.failures == [
        (second.resolve(), "slug 'daily' is already used by 2025/daily.md; rename one")
    ]
    entry = await store.get("daily")
    assert entry is not None and entry.title == "first"
    assert (await sync(store, content)).failures == []  # not reported twice

    first.unlink()
    report = await sync(store, content)
    assert (report.added, report.removed) == (1, 1)
    entry = await store.get("daily")
    assert entry is not None and entry.title == "second"
    assert await store.failures() == []


async def test_an_indexed_file_keeps_its_slug_against_a_newcomer(
    store: Store, content: Path
) -> None:
    write_digest(content, "z/daily.md", title="old")
    await sync(store, content)
    write_digest(content, "a/daily.md", title="new")  # sorts first, but came later
    report = await sync(store, content)
    assert report.failures and "already used by z/daily.md" in report.failures[0][1]
    entry = await store.get("daily")
    assert entry is not None and entry.title == "old"


async def test_a_file_whose_slug_changes_is_reindexed(
    store: Store, content: Path, tmp_path: Path
) -> None:
    # A name with no ASCII letters gets a slug from its date, so a new date is a new slug.
    path = write_digest(content, "日报.md", date="2026-01-01")
    await sync(store, content)
    (old,) = (await store.page(0, 5))[0]
    write_digest(content, "日报.md", date="2026-01-02", mtime_ns=OLD + 10**9)
    report = await sync(store, content)
    assert (report.added, report.updated, report.removed) == (0, 1, 0)
    (new,) = (await store.page(0, 5))[0]
    assert new.slug != old.slug and new.slug.startswith("2026-01-02-")
    assert new.path == path.resolve()
    assert await store.get(old.slug) is None
    fts_integrity(tmp_path / "data" / "bot.sqlite3")


async def test_a_missing_content_folder_does_not_empty_the_archive(
    store: Store, content: Path, tmp_path: Path
) -> None:
    write_digest(content, "a.md")
    await sync(store, content)
    with pytest.raises(StoreError, match="does not exist"):
        await sync(store, tmp_path / "nowhere")
    assert await store.count() == 1


async def test_fts_stays_in_step_through_edits(store: Store, content: Path, tmp_path: Path) -> None:
    path = write_digest(content, "a.md", body="苹果发布新芯片")
    await sync(store, content)
    assert (await store.search("新芯片", 0, 5)).total == 1
    assert (await store.search("芯片", 0, 5)).total == 1
    write_digest(content, "a.md", body="微软发布新系统", mtime_ns=OLD + 10**9)
    await sync(store, content)
    assert (await store.search("新芯片", 0, 5)).total == 0
    assert (await store.search("芯片", 0, 5)).total == 0
    assert (await store.search("新系统", 0, 5)).total == 1
    assert (await store.search("系统", 0, 5)).total == 1
    fts_integrity(tmp_path / "data" / "bot.sqlite3")
    path.unlink()
    await sync(store, content)
    assert (await store.search("新系统", 0, 5)).total == 0
    assert (await store.search("系", 0, 5)).total == 0
    fts_integrity(tmp_path / "data" / "bot.sqlite3")


async def test_removed_digests_take_their_tags_along(store: Store, content: Path) -> None:
    path = write_digest(content, "a.md", tags=("OpenAI",))
    write_digest(content, "b.md", tags=("AI",))
    await sync(store, content)
    assert dict(await store.tags()) == {"OpenAI": 1, "AI": 1}
    path.unlink()
    await sync(store, content)
    assert await store.tags() == [("AI", 1)]


# --- archive queries --------------------------------------------------------------------


@pytest.fixture
async def archive(store: Store, content: Path) -> Store:
    write_digest(content, "2026-01-31-x.md", date="2026-01-31", tags=("AI 日报", "OpenAI"))
    write_digest(content, "2026-02-01-a.md", date="2026-02-01", tags=("ai日报",))
    write_digest(content, "2026-02-01-b.md", date="2026-02-01", tags=("AI日报", "Nvidia"))
    write_digest(content, "2026-02-21-c.md", date="2026-02-21", tags=("AI 日报", "OpenAI"))
    write_digest(content, "2026-03-01-d.md", date="2026-03-01", tags=("nvidia",))
    await sync(store, content)
    return store


def slugs(entries: list[bot.store.DigestEntry]) -> list[str]:
    return [e.slug for e in entries]


async def test_get_returns_the_indexed_fields(store: Store, content: Path) -> None:
    path = write_digest(
        content,
        "2026-02-21-ai-daily.md",
        title="标题",
        tags=("AI", "AI 日报"),
        summary="- 一\n- 二",
    )
    await sync(store, content)
    entry = await store.get("2026-02-21-ai-daily")
    assert entry == bot.store.DigestEntry(
        slug="2026-02-21-ai-daily",
        path=path.resolve(),
        date=dt.date(2026, 2, 21),
        title="标题",
        category="",
        tags=("AI", "AI 日报"),
        summary="- 一\n- 二",
        cover=None,
        content_hash=entry.content_hash,
    )
    assert len(entry.content_hash) == 64
    assert await store.get("nope") is None


async def test_by_date_and_latest(archive: Store) -> None:
    assert slugs(await archive.by_date(dt.date(2026, 2, 1))) == ["2026-02-01-b", "2026-02-01-a"]
    assert await archive.by_date(dt.date(2020, 1, 1)) == []
    latest = await archive.latest()
    assert latest is not None and latest.slug == "2026-03-01-d"
    before = await archive.latest(dt.date(2026, 2, 20))
    assert before is not None and before.slug == "2026-02-01-b"
    assert await archive.latest(dt.date(2000, 1, 1)) is None


async def test_page_is_newest_first_with_a_total(archive: Store) -> None:
    entries, total = await archive.page(0, 2)
    assert total == 5
    assert slugs(entries) == ["2026-03-01-d", "2026-02-21-c"]
    entries, total = await archive.page(2, 10)
    assert slugs(entries) == ["2026-02-01-b", "2026-02-01-a", "2026-01-31-x"]
    assert (await archive.page(5, 10)) == ([], 5)


async def test_page_by_month(archive: Store) -> None:
    entries, total = await archive.page(0, 10, month="2026-02")
    assert total == 3
    assert slugs(entries) == ["2026-02-21-c", "2026-02-01-b", "2026-02-01-a"]
    assert (await archive.page(0, 10, month="2025-12")) == ([], 0)
    for bad in ("2026-13", "2026-2", "feb", "2026-02' OR 1=1 --"):
        with pytest.raises(ValueError, match="is not a month"):
            await archive.page(0, 10, month=bad)


async def test_december_includes_the_31st(store: Store, content: Path) -> None:
    write_digest(content, "a.md", date="2025-12-31")
    write_digest(content, "b.md", date="2026-01-01")
    await sync(store, content)
    assert slugs((await store.page(0, 10, month="2025-12"))[0]) == ["a"]


async def test_bad_page_windows_are_refused(archive: Store) -> None:
    for offset, limit in ((-1, 5), (0, 0)):
        with pytest.raises(ValueError):
            await archive.page(offset, limit)
        with pytest.raises(ValueError):
            await archive.with_tag("AI", offset, limit)
        with pytest.raises(ValueError):
            await archive.search("AI", offset, limit)


async def test_tags_group_spellings_and_count(archive: Store) -> None:
    assert await archive.tags() == [("AI 日报", 4), ("Nvidia", 2), ("OpenAI", 2)]


async def test_with_tag_matches_any_spelling(archive: Store) -> None:
    entries, total = await archive.with_tag("ai日报", 0, 10)
    assert total == 4
    assert slugs(entries) == ["2026-02-21-c", "2026-02-01-b", "2026-02-01-a", "2026-01-31-x"]
    entries, total = await archive.with_tag(" NVIDIA ", 1, 1)
    assert (slugs(entries), total) == (["2026-02-01-b"], 2)
    assert await archive.with_tag("nothing", 0, 10) == ([], 0)


# --- search ---------------------------------------------------------------------------


@pytest.fixture
async def searchable(store: Store, content: Path) -> Store:
    write_digest(
        content,
        "2026-02-19-a.md",
        date="2026-02-19",
        title="谷歌发布 Gemini 3.1 Pro",
        body="**性能突破：** 推理能力翻倍。" + "填充文字" * 40 + "价格持平 50% 不变",
    )
    write_digest(
        content,
        "2026-02-20-b.md",
        date="2026-02-20",
        title="OpenAI 融资",
        summary="- OpenAI 融资超 1000 亿美元",
        body='英伟达 "quoted" 投资 OpenAI AND NEAR(x) 的 file_name 计划',
    )
    write_digest(content, "2026-02-21-c.md", date="2026-02-21", title="谷歌 again", body="无关")
    await sync(store, content)
    return store


def found(page: SearchPage) -> tuple[list[str], int, bool]:
    """A search page as (slugs, total, whether the total is exact)."""
    return [h.entry.slug for h in page.hits], page.total, page.total_is_exact


async def test_search_chinese_phrase(searchable: Store) -> None:
    page = await searchable.search("推理能力", 0, 10)
    assert (page.total, page.total_is_exact, page.has_more) == (1, True, False)
    hit = page.hits[0]
    assert hit.entry.slug == "2026-02-19-a"
    assert hit.snippet.match == "推理能力"
    assert hit.snippet.before == "性能突破： "  # Markdown emphasis marks dropped
    assert str(hit.snippet).startswith("性能突破： 推理能力翻倍。填充文字")
    assert str(hit.snippet).endswith("…")
    assert len(str(hit.snippet)) <= bot.store.SNIPPET_CHARS + 2


async def test_search_snippet_is_cut_around_a_late_match(searchable: Store) -> None:
    snippet = (await searchable.search("价格持平", 0, 10)).hits[0].snippet
    assert snippet.before.startswith("…")
    assert snippet.match == "价格持平"
    assert snippet.after == " 50% 不变"
    assert len(str(snippet)) <= bot.store.SNIPPET_CHARS + 2
    # A short query is found through its own index, and the snippet still shows it.
    snippet = (await searchable.search("持平", 0, 10)).hits[0].snippet
    assert (snippet.match, snippet.after) == ("持平", " 50% 不变")


async def test_search_is_case_insensitive_and_newest_first(searchable: Store) -> None:
    page = await searchable.search("GEMINI 3.1", 0, 10)
    assert page.total == 1 and page.hits[0].snippet.match == "Gemini 3.1"
    page = await searchable.search("openai", 0, 10)
    assert page.total == 1 and page.hits[0].snippet.match == "OpenAI"
    # One- and two-character queries take the short-query index.
    assert found(await searchable.search("谷歌", 0, 10)) == (
        ["2026-02-21-c", "2026-02-19-a"],
        2,
        True,
    )
    page = await searchable.search("谷歌", 0, 1)
    assert (found(page), page.has_more) == ((["2026-02-21-c"], 2, True), True)
    page = await searchable.search("谷歌", 1, 1)
    assert (found(page), page.has_more) == ((["2026-02-19-a"], 2, True), False)
    assert found(await searchable.search("pR", 0, 10)) == (["2026-02-19-a"], 1, True)
    assert found(await searchable.search("G", 0, 10))[0] == ["2026-02-21-c", "2026-02-19-a"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('"quoted"', 1),
        ("AND NEAR(x)", 1),
        ("OpenAI AND", 1),
        ("(", 1),
        ("-", 1),
        ('"', 1),
        ('"q', 1),
        ("R(", 1),
        ('NVIDIA "', 0),
        ("a*", 0),
        ("*", 1),  # the Markdown of "**性能突破：**": bodies are searched as written
        ("title:x", 0),
        (":", 0),
        ("^投资", 0),
        ("^", 0),
        ("OR", 0),
        ("NOT", 0),
        ("OpenAI\0", 1),
        ("Open\0AI", 0),  # as "Open AI"
        ("\0", 0),
    ],
)
async def test_search_input_is_never_fts_syntax(
    searchable: Store, query: str, expected: int
) -> None:
    """Each query is looked for as literal text: these counts are substring counts."""
    page = await searchable.search(query, 0, 10)
    assert page.total == expected == len(page.hits)


async def test_short_queries_are_not_like_patterns(searchable: Store) -> None:
    assert (await searchable.search("%", 0, 10)).total == 1  # only the "50%" digest
    assert (await searchable.search("_", 0, 10)).total == 1  # only the "file_name" digest
    assert (await searchable.search("0%", 0, 10)).total == 1
    assert (await searchable.search("e_", 0, 10)).total == 1
    assert (await searchable.search("\\", 0, 10)).total == 0
    assert (await searchable.search("%%", 0, 10)).total == 0
    assert (await searchable.search("__", 0, 10)).total == 0
    page = await searchable.search("%", 0, 10)
    assert page.hits[0].snippet.match == "%"


async def test_short_queries_stay_inside_one_field(store: Store, content: Path) -> None:
    write_digest(content, "a.md", title="标题甲", summary="乙摘要", body="丙\n丁")
    await sync(store, content)
    for query in ("甲", "甲乙", "题甲", "乙摘", "要", "丙", "丁"):
        assert (await store.search(query, 0, 10)).total == (query != "甲乙"), query
    for query in ("要丙", "丙丁", "丙\n丁"):  # the last is "丙 丁" once white space is tidied
        assert (await store.search(query, 0, 10)).total == 0, query


async def test_empty_and_unmatched_queries(searchable: Store) -> None:
    nothing = SearchPage([], 0, total_is_exact=True, has_more=False)
    assert await searchable.search("   ", 0, 10) == nothing
    assert await searchable.search("不存在的内容", 0, 10) == nothing
    assert await searchable.search("zq", 0, 10) == nothing
    assert await searchable.search("鲲", 0, 10) == nothing
    assert await searchable.search("谷歌", 5, 10) == SearchPage(
        [], 2, total_is_exact=True, has_more=False
    )


# Short queries are matched as `text LIKE '%query%'` matched them before they had an
# index: ASCII letters in either case, every other character as itself. NUL is left out:
# SQLite's LIKE stops at it.
TEXT = st.text(alphabet="aAbBzZ %_\\\n\t\u3000\xa0芯片ÄäÉé😀\u200b", max_size=12)


@given(fields=st.tuples(TEXT, TEXT, TEXT), query=TEXT.filter(lambda q: 0 < len(q) <= 2))
@settings(max_examples=500, deadline=None)
def test_short_query_tokens_match_as_like_did(fields: tuple[str, str, str], query: str) -> None:
    assume(query == " ".join(query.split()))  # as `search` tidies it
    pattern = "%" + re.sub(r"([\\%_])", r"\\\1", query) + "%"
    with sqlite3.connect(":memory:") as db:
        like = any(
            db.execute("SELECT ? LIKE ? ESCAPE '\\'", (field, pattern)).fetchone()[0]
            for field in fields
        )
    db.close()
    document = bot.store._search_grams(*fields).split()
    token = bot.store._gram_token(bot.store._fold_ascii(query))
    assert (token in document) == like


def test_the_short_query_index_forgets_rows_given_tokens_in_any_order() -> None:
    """`_search_grams` lists tokens in set order, which changes from one process to the
    next; the index must still forget a row when told its tokens in another order."""
    (create,) = [s for s in bot.store.MIGRATIONS[2] if "TABLE digests_grams" in s]
    tokens = bot.store._search_grams("标题", "摘要 Summary", "正文 body").split()
    with sqlite3.connect(":memory:") as db:
        db.execute(create)
        db.execute(
            "CREATE VIRTUAL TABLE temp.terms USING fts5vocab (main, digests_grams, 'instance')"
        )
        db.execute("INSERT INTO digests_grams (rowid, grams) VALUES (7, ?)", (" ".join(tokens),))
        assert db.execute("SELECT count(*) FROM terms").fetchone()[0] == len(set(tokens)) > 20
        db.execute(
            "INSERT INTO digests_grams (digests_grams, rowid, grams) VALUES ('delete', 7, ?)",
            (" ".join(sorted(tokens, reverse=True)),),
        )
        assert db.execute("SELECT count(*) FROM terms").fetchone()[0] == 0
    db.close()


@pytest.fixture
async def crowded(store: Store, content: Path) -> Store:
    """101 digests with "芯片" and "新芯片", 100 with "模型" and "新模型"; files are named
    against date order (ids follow names), and some days have two digests."""
    for i in range(101):
        day = dt.date(2025, 1, 1) + dt.timedelta(days=i // 2)
        name = f"{1000 - i:04d}-{'ab'[i % 2]}.md"
        model = "新模型" if i else "旧的"
        write_digest(
            content, name, date=day.isoformat(), title=f"第 {i} 期", body=f"新芯片 {model}"
        )
    await sync(store, content)
    return store


def newest_first(entries: list[bot.store.DigestEntry]) -> list[str]:
    return [e.slug for e in sorted(entries, key=lambda e: (e.date, e.slug), reverse=True)]


def counted(page: SearchPage) -> tuple[int, int, bool, bool]:
    return len(page.hits), page.total, page.total_is_exact, page.has_more


async def test_search_counts_up_to_the_cap(crowded: Store) -> None:
    assert bot.store.SEARCH_COUNT_CAP == 100
    for query in ("芯片", "新芯片"):  # 101 matches: "100+"
        assert counted(await crowded.search(query, 0, 10)) == (10, 100, False, True)
    for query in ("模型", "新模型"):  # exactly 100
        assert counted(await crowded.search(query, 0, 10)) == (10, 100, True, True)
        assert counted(await crowded.search(query, 90, 10)) == (10, 100, True, False)
    # Pages go on past the cap, and one that reaches the last match has counted them all.
    assert counted(await crowded.search("芯片", 90, 10)) == (10, 100, False, True)
    assert counted(await crowded.search("芯片", 99, 1)) == (1, 100, False, True)
    assert counted(await crowded.search("芯片", 100, 10)) == (1, 101, True, False)


async def test_search_pages_are_newest_first_whatever_the_file_order(crowded: Store) -> None:
    everything, _ = await crowded.page(0, 200)
    expected = newest_first(everything)
    # The newest day has one digest; the next two, ordered by slug, the reverse of ids.
    assert expected[:3] == ["0900-a", "0902-a", "0901-b"]
    for query in ("芯片", "新芯片", "片", "第"):
        slugs_seen: list[str] = []
        for offset in range(0, 110, 7):
            slugs_seen += [h.entry.slug for h in (await crowded.search(query, offset, 7)).hits]
        assert slugs_seen == expected, query
    assert [h.entry.slug for h in (await crowded.search("模型", 0, 200)).hits] == [
        slug for slug in expected if slug != "1000-a"
    ]
    assert [h.entry.slug for h in (await crowded.search("旧的", 0, 5)).hits] == ["1000-a"]


async def test_search_order_survives_edits_within_a_day(
    store: Store, content: Path, tmp_path: Path
) -> None:
    """Digests of one day are ranked by slug in the full-text rowid: a newcomer that sorts
    first, or a gap a deletion left, moves the others."""
    db_path = tmp_path / "data" / "bot.sqlite3"

    def add(slug: str, date: str = "2026-02-21") -> Path:
        return write_digest(content, f"{slug}.md", date=date, body=f"{slug} 的芯片新闻")

    async def order() -> list[str]:
        await sync(store, content)
        expected = slugs((await store.page(0, 50))[0])
        for query in ("芯片", "芯片新闻", "片"):
            assert [h.entry.slug for h in (await store.search(query, 0, 50)).hits] == expected
        fts_integrity(db_path)
        return expected

    add("later", "2026-02-22")
    add("earlier", "2026-02-20")
    add("m")
    assert await order() == ["later", "m", "earlier"]
    c = add("c")  # sorts before m, which moves up
    assert await order() == ["later", "m", "c", "earlier"]
    add("x")
    assert await order() == ["later", "x", "m", "c", "earlier"]
    c.unlink()
    assert await order() == ["later", "x", "m", "earlier"]
    add("z")  # m and x move down into the room c left
    assert await order() == ["later", "z", "x", "m", "earlier"]
    add("a")
    assert await order() == ["later", "z", "x", "m", "a", "earlier"]


async def test_a_day_has_room_for_a_bounded_number_of_digests(
    store: Store, content: Path, monkeypatch
) -> None:
    monkeypatch.setattr(bot.store, "_DAY_SLOTS", 2)
    write_digest(content, "a.md")
    write_digest(content, "b.md")
    await sync(store, content)
    write_digest(content, "c.md")
    with pytest.raises(StoreError, match="more than 2 digests are dated 2026-02-21"):
        await sync(store, content)
    assert await store.count() == 2


async def test_queries_at_scale(store: Store, content: Path) -> None:
    """About 2,000 small digests through every query; timings live in bench/, not here."""
    tags = ["AI 日报", "OpenAI", "Nvidia", "融资", "模型"]
    start = dt.date(2020, 1, 1)
    for i in range(2000):
        day = start + dt.timedelta(days=i)
        write_digest(
            content,
            f"{day.isoformat()}-daily.md",
            date=day.isoformat(),
            title=f"第 {i} 期",
            tags=(tags[i % 5], tags[(i + 1) % 5]),
            summary=f"- 编号{i:05d} 的摘要",
            body=f"正文 {'谷歌' if i % 2 else '微软'} 发布 {i:05d} 号模型。",
        )
    report = await sync(store, content)
    assert report.added == 2000 and not report.failures
    assert await store.count() == 2000

    entries, total = await store.page(0, 10)
    assert total == 2000 and entries[0].date == start + dt.timedelta(days=1999)
    entries, total = await store.page(1990, 10)
    assert len(entries) == 10 and entries[-1].date == start
    assert (await store.page(0, 10, month="2021-02"))[1] == 28
    assert await store.tags() == [(t, 800) for t in sorted(tags)]
    entries, total = await store.with_tag("openai", 790, 20)
    assert total == 800 and len(entries) == 10
    assert entries[-1].date == start
    page = await store.search("号模型", 0, 10)
    assert (page.total, page.total_is_exact, len(page.hits)) == (100, False, 10)
    assert page.hits[0].entry.date == start + dt.timedelta(days=1999)
    page = await store.search("01234", 0, 10)
    assert page.total == 1 and page.hits[0].snippet.match == "01234"
    page = await store.search("谷歌", 990, 10)  # on every other day
    assert (len(page.hits), page.has_more) == (10, False)
    assert [h.entry.date for h in page.hits][-1] == start + dt.timedelta(days=1)
    newest, _ = await store.page(0, 1)
    assert await store.latest() == newest[0]
    assert await store.latest(start) == (await store.page(1999, 1))[0][0]
    assert (await sync(store, content)).unchanged == 2000


# --- publication ledger -----------------------------------------------------------------

PAYLOADS = [
    {"method": "sendPhoto", "photo": "https://x/y.png", "caption": "封面"},
    {"method": "sendMessage", "text": "第一部分", "entities": [{"type": "bold", "offset": 0}]},
    {"method": "sendMessage", "text": "第二部分"},
]


async def test_start_publication_creates_a_pending_round(store: Store) -> None:
    publication = await store.start_publication("s", "hash1", -1001, 5, PAYLOADS)
    assert (publication.slug, publication.chat, publication.thread_id) == ("s", -1001, 5)
    assert (publication.round, publication.state, publication.content_hash) == (
        1,
        "pending",
        "hash1",
    )
    assert [p.payload for p in publication.parts] == PAYLOADS
    assert [p.idx for p in publication.parts] == [0, 1, 2]
    assert publication.next_part == publication.parts[0]
    assert not publication.done
    assert (publication.attempts, publication.last_error, publication.finished_at) == (
        0,
        None,
        None,
    )


async def test_start_publication_returns_the_existing_round(store: Store) -> None:
    first = await store.start_publication("s", "hash1", "@Chan_nel", None, PAYLOADS)
    again = await store.start_publication("s", "hash2", "@chan_nel", 0, [{"other": True}])
    assert again == first  # same key (usernames ignore case, 0 is no topic); payloads ignored
    assert again.chat == "@chan_nel"


async def test_chat_ids_as_text_and_int_are_the_same_chat(store: Store) -> None:
    first = await store.start_publication("s", "h", -100123, None, PAYLOADS)
    assert await store.start_publication("s", "h", "-100123", None, PAYLOADS) == first
    assert (await store.publication("s", "-100123", 0)) == first
    other_topic = await store.start_publication("s", "h", -100123, 9, PAYLOADS)
    assert other_topic.id != first.id and other_topic.round == 1


async def test_forcing_starts_a_new_round(store: Store) -> None:
    first = await store.start_publication("s", "hash1", -1, None, PAYLOADS)
    for i, _ in enumerate(PAYLOADS):
        await store.mark_part_sent(first.id, i, 100 + i)
    second = await store.start_publication("s", "hash2", -1, None, PAYLOADS[:1], force=True)
    assert (second.round, second.state, second.content_hash) == (2, "pending", "hash2")
    assert len(second.parts) == 1
    latest = await store.publication("s", -1, None)
    assert latest == second


async def test_parts_are_marked_in_order_until_done(store: Store) -> None:
    publication = await store.start_publication("s", "h", -1, None, PAYLOADS)
    with pytest.raises(LedgerError, match=r"part 0 of publication \d+ must be sent before part 1"):
        await store.mark_part_sent(publication.id, 1, 11)
    publication = await store.mark_part_sent(publication.id, 0, 10)
    assert publication.next_part is not None and publication.next_part.idx == 1
    assert publication.parts[0].message_id == 10
    assert publication.state == "pending"
    assert await store.mark_part_sent(publication.id, 0, 10) == publication  # a replay
    with pytest.raises(LedgerError, match="already sent as message 10"):
        await store.mark_part_sent(publication.id, 0, 99)
    await store.mark_part_sent(publication.id, 1, 11)
    publication = await store.mark_part_sent(publication.id, 2, 12)
    assert publication.done and publication.next_part is None
    assert publication.finished_at is not None
    assert [p.message_id for p in publication.parts] == [10, 11, 12]


async def test_marking_unknown_parts_fails(store: Store) -> None:
    publication = await store.start_publication("s", "h", -1, None, PAYLOADS)
    with pytest.raises(LedgerError, match="has no part 3"):
        await store.mark_part_sent(publication.id, 3, 1)
    with pytest.raises(LedgerError, match="no publication 999"):
        await store.mark_part_sent(999, 0, 1)
    with pytest.raises(LedgerError, match="no publication 999"):
        await store.mark_attempt_failed(999, "x")
    with pytest.raises(TypeError):
        await store.mark_part_sent(publication.id, 0, "1")  # type: ignore[arg-type]


async def test_failed_attempts_are_counted(store: Store) -> None:
    publication = await store.start_publication("s", "h", -1, None, PAYLOADS)
    await store.mark_attempt_failed(publication.id, "Flood control exceeded")
    await store.mark_attempt_failed(publication.id, "x" * 5000)
    publication = await store.publication("s", -1, None)
    assert publication is not None
    assert publication.attempts == 2
    assert publication.last_error == "x" * bot.store.MAX_ERROR_CHARS
    assert publication.state == "pending"


async def test_pending_last_and_published(store: Store) -> None:
    a = await store.start_publication("a", "h", -1, None, PAYLOADS[:1])
    b = await store.start_publication("b", "h", -1, None, PAYLOADS)
    c = await store.start_publication("c", "h", -2, 3, PAYLOADS)
    await store.mark_part_sent(a.id, 0, 1)  # a is done
    await store.mark_part_sent(c.id, 0, 2)  # c half sent
    b2 = await store.start_publication("b", "h", -1, None, PAYLOADS, force=True)
    assert [p.id for p in await store.pending_publications()] == [c.id, b2.id]
    assert b.id not in [p.id for p in await store.pending_publications()]  # superseded

    last = await store.last_publication()
    assert last is not None and last.id == b2.id
    await store.mark_attempt_failed(c.id, "boom")
    last = await store.last_publication()
    assert last is not None and last.id == c.id

    assert await store.published_slugs(-1, None) == {"a", "b"}
    assert await store.published_slugs(-2, 3) == {"c"}
    assert await store.published_slugs(-2, None) == set()


async def test_empty_and_unserialisable_payloads_are_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="at least one part"):
        await store.start_publication("s", "h", -1, None, [])
    with pytest.raises(TypeError):
        await store.start_publication("s", "h", -1, None, [{"x": object()}])
    assert await store.publication("s", -1, None) is None
    assert await store.last_publication() is None
    with pytest.raises(ValueError, match="not a chat id"):
        await store.start_publication("s", "h", "chat", None, PAYLOADS)


async def test_a_half_sent_publication_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    async with await Store.open(path) as store:
        publication = await store.start_publication("s", "h", -1, None, PAYLOADS)
        await store.mark_part_sent(publication.id, 0, 500)
    async with await Store.open(path) as store:
        (resumed,) = await store.pending_publications()
        assert resumed.id == publication.id
        assert resumed.next_part is not None and resumed.next_part.idx == 1
        assert resumed.next_part.payload == PAYLOADS[1]
        assert resumed.parts[0].message_id == 500


@pytest.mark.parametrize("k", [0, 1])
async def test_a_killed_process_loses_nothing(tmp_path: Path, k: int) -> None:
    path = tmp_path / "bot.sqlite3"
    child = await run_child(
        "import asyncio, json, sys\n"
        "from pathlib import Path\n"
        "from bot.store import Store\n"
        "async def main():\n"
        "    store = await Store.open(Path(sys.argv[1]), exclusive=True)\n"
        "    payloads = json.loads(sys.argv[3])\n"
        "    p = await store.start_publication('s', 'h', -1, None, payloads)\n"
        "    for i in range(int(sys.argv[2]) + 1):\n"
        "        await store.mark_part_sent(p.id, i, 1000 + i)\n"
        "    print('marked', flush=True)\n"
        "    sys.stdin.read()\n"
        "asyncio.run(main())\n",
        str(path),
        str(k),
        json.dumps(PAYLOADS),
    )
    assert child.stdout is not None
    try:
        assert await asyncio.wait_for(child.stdout.readline(), 30) == b"marked\n"
    finally:
        child.send_signal(signal.SIGKILL)
        await child.wait()
    assert child.returncode == -signal.SIGKILL
    async with await Store.open(path, exclusive=True) as store:
        (publication,) = await store.pending_publications()
        assert publication.next_part is not None and publication.next_part.idx == k + 1
        assert [p.message_id for p in publication.parts[: k + 1]] == [
            1000 + i for i in range(k + 1)
        ]
        assert [p.payload for p in publication.parts] == PAYLOADS
        done = publication
        for i in range(k + 1, len(PAYLOADS)):
            done = await store.mark_part_sent(publication.id, i, 2000 + i)
        assert done.done
