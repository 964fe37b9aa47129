"""The content folder → the archive index: only changed files are read, nothing half-done."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

import bot.store.ledger
import bot.store.schema
import bot.store.search
import bot.store.sync
from bot.store import Store, StoreError
from bot.store.sync import is_leftover
from tests.unit.store.conftest import OLD, fts_integrity, sync, touch, write_digest

# --- syncing the archive index -------------------------------------------------------


async def test_sync_adds_updates_removes(store: Store, content: Path, tmp_path: Path) -> None:
    a = write_digest(content, "2026-02-20-a.md", date="2026-02-20", body="第一篇")
    write_digest(content, "sub/2026-02-21-b.md", title="B", body="第二篇")
    report = await sync(store, content)
    assert (report.added, report.updated, report.removed, report.unchanged) == (2, 0, 0, 0)
    assert report.failures == []
    assert await store.archive.count() == 2

    write_digest(content, "2026-02-20-a.md", date="2026-02-20", body="第一篇，改过了")
    (content / "sub" / "2026-02-21-b.md").unlink()
    write_digest(content, "2026-02-22-c.md", date="2026-02-22")
    report = await sync(store, content)
    assert (report.added, report.updated, report.removed, report.unchanged) == (1, 1, 1, 0)
    assert await store.archive.get("2026-02-21-b") is None
    assert (await store.search.find("改过了", 0, 5)).total == 1

    touch(a, OLD + 10**9)  # touched, same bytes: read again, but nothing changed
    report = await sync(store, content)
    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 0, 0, 2)
    fts_integrity(tmp_path / "data" / "bot.sqlite3")


async def test_unchanged_files_are_not_read_again(store: Store, content: Path, monkeypatch) -> None:
    for i in range(3):
        write_digest(content, f"d{i}.md")
    calls: list[Path] = []
    real_load = bot.store.sync.load_digest

    def counting_load(path: Path, **kwargs: object) -> object:
        calls.append(path)
        return real_load(path, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(bot.store.sync, "load_digest", counting_load)
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
    entry = await store.archive.get("a")
    assert entry is not None and entry.title == "BBBB"


async def test_loading_runs_off_the_event_loop(store: Store, content: Path, monkeypatch) -> None:
    write_digest(content, "a.md")
    threads: list[int] = []
    real_load = bot.store.sync.load_digest

    def recording_load(path: Path, **kwargs: object) -> object:
        threads.append(threading.get_ident())
        return real_load(path, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(bot.store.sync, "load_digest", recording_load)
    await sync(store, content)
    assert threads and threading.get_ident() not in threads


async def test_a_failing_sync_changes_nothing(store: Store, content: Path, monkeypatch) -> None:
    write_digest(content, "a000.md")
    await sync(store, content)
    for i in range(1, 70):  # more than one loading batch
        write_digest(content, f"a{i:03d}.md")
    real_load = bot.store.sync.load_digest

    def failing_load(path: Path, **kwargs: object) -> object:
        if path.name == "a069.md":
            raise RuntimeError("disk on fire")
        return real_load(path, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(bot.store.sync, "load_digest", failing_load)
    with pytest.raises(RuntimeError):
        await sync(store, content)
    assert await store.archive.count() == 1
    assert (await store.search.find("正文。", 0, 5)).total == 1


async def test_readers_never_see_half_a_sync(store: Store, content: Path, monkeypatch) -> None:
    for i in range(70):
        write_digest(content, f"a{i:03d}.md")
    reached, gate = threading.Event(), threading.Event()
    real_load = bot.store.sync.load_digest

    def slow_load(path: Path, **kwargs: object) -> object:
        if path.name == "a065.md":  # the first batch is already in the transaction
            reached.set()
            gate.wait(10)
        return real_load(path, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(bot.store.sync, "load_digest", slow_load)
    syncing = asyncio.create_task(sync(store, content))
    assert await asyncio.to_thread(reached.wait, 10)
    counting = asyncio.create_task(store.archive.count())
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
    assert await store.archive.failures() == [(bad.resolve(), "front matter has no 'date'")]

    report = await sync(store, content)
    assert report.failures == []  # known, and the file did not change
    assert await store.archive.failures() == [(bad.resolve(), "front matter has no 'date'")]

    write_digest(content, "bad.md", date="2026-01-01")
    report = await sync(store, content)
    assert report.added == 1 and report.failures == []
    assert await store.archive.failures() == []

    good.write_text("---\ndate: 2026-01-01\n---\nno title\n", encoding="utf-8")
    touch(good, OLD + 10**9)
    report = await sync(store, content)
    assert report.removed == 1
    assert report.failures == [(good.resolve(), "front matter has no 'title'")]
    assert await store.archive.get("good") is None

    good.unlink()
    await sync(store, content)
    assert await store.archive.failures() == []


async def test_oversized_files_are_refused(store: Store, content: Path) -> None:
    write_digest(content, "big.md", body="长" * 400)
    report = await sync(store, content, max_bytes=200)
    assert len(report.failures) == 1
    assert "over the limit of 200" in report.failures[0][1]
    assert await store.archive.count() == 0


async def test_a_slug_collision_fails_the_second_file(store: Store, content: Path) -> None:
    first = write_digest(content, "2025/daily.md", title="first")
    second = write_digest(content, "2026/daily.md", title="second")
    report = await sync(store, content)
    assert report.added == 1
    assert report.failures == [
        (second.resolve(), "slug 'daily' is already used by 2025/daily.md; rename one")
    ]
    entry = await store.archive.get("daily")
    assert entry is not None and entry.title == "first"
    assert (await sync(store, content)).failures == []  # not reported twice

    first.unlink()
    report = await sync(store, content)
    assert (report.added, report.removed) == (1, 1)
    entry = await store.archive.get("daily")
    assert entry is not None and entry.title == "second"
    assert await store.archive.failures() == []


async def test_an_indexed_file_keeps_its_slug_against_a_newcomer(
    store: Store, content: Path
) -> None:
    write_digest(content, "z/daily.md", title="old")
    await sync(store, content)
    write_digest(content, "a/daily.md", title="new")  # sorts first, but came later
    report = await sync(store, content)
    assert report.failures and "already used by z/daily.md" in report.failures[0][1]
    entry = await store.archive.get("daily")
    assert entry is not None and entry.title == "old"


async def test_a_file_whose_slug_changes_is_reindexed(
    store: Store, content: Path, tmp_path: Path
) -> None:
    # A name with no ASCII letters gets a slug from its date, so a new date is a new slug.
    path = write_digest(content, "日报.md", date="2026-01-01")
    await sync(store, content)
    (old,) = (await store.archive.page(0, 5))[0]
    write_digest(content, "日报.md", date="2026-01-02", mtime_ns=OLD + 10**9)
    report = await sync(store, content)
    assert (report.added, report.updated, report.removed) == (0, 1, 0)
    (new,) = (await store.archive.page(0, 5))[0]
    assert new.slug != old.slug and new.slug.startswith("2026-01-02-")
    assert new.path == path.resolve()
    assert await store.archive.get(old.slug) is None
    fts_integrity(tmp_path / "data" / "bot.sqlite3")


async def test_a_missing_content_folder_does_not_empty_the_archive(
    store: Store, content: Path, tmp_path: Path
) -> None:
    write_digest(content, "a.md")
    await sync(store, content)
    with pytest.raises(StoreError, match="does not exist"):
        await sync(store, tmp_path / "nowhere")
    assert await store.archive.count() == 1


async def test_fts_stays_in_step_through_edits(store: Store, content: Path, tmp_path: Path) -> None:
    path = write_digest(content, "a.md", body="苹果发布新芯片")
    await sync(store, content)
    assert (await store.search.find("新芯片", 0, 5)).total == 1
    assert (await store.search.find("芯片", 0, 5)).total == 1
    write_digest(content, "a.md", body="微软发布新系统", mtime_ns=OLD + 10**9)
    await sync(store, content)
    assert (await store.search.find("新芯片", 0, 5)).total == 0
    assert (await store.search.find("芯片", 0, 5)).total == 0
    assert (await store.search.find("新系统", 0, 5)).total == 1
    assert (await store.search.find("系统", 0, 5)).total == 1
    fts_integrity(tmp_path / "data" / "bot.sqlite3")
    path.unlink()
    await sync(store, content)
    assert (await store.search.find("新系统", 0, 5)).total == 0
    assert (await store.search.find("系", 0, 5)).total == 0
    fts_integrity(tmp_path / "data" / "bot.sqlite3")


async def test_removed_digests_take_their_tags_along(store: Store, content: Path) -> None:
    path = write_digest(content, "a.md", tags=("OpenAI",))
    write_digest(content, "b.md", tags=("AI",))
    await sync(store, content)
    assert dict(await store.archive.tags()) == {"OpenAI": 1, "AI": 1}
    path.unlink()
    await sync(store, content)
    assert await store.archive.tags() == [("AI", 1)]


# --- whole files only -------------------------------------------------------------------


async def test_a_file_still_changing_is_left_as_it_was_until_it_settles(
    store: Store, content: Path
) -> None:
    """Real clock: a file written just now is not taken (nor, if indexed, changed or
    removed) until it has been still for `settle_seconds`."""
    old = write_digest(content, "old.md", body="旧的正文。")
    assert (await store.sync_content(content, max_bytes=10_000, settle_seconds=0.5)).added == 1
    write_digest(content, "new.md", mtime_ns=None)
    write_digest(content, "old.md", body="正在改写……", mtime_ns=None)
    report = await store.sync_content(content, max_bytes=10_000, settle_seconds=0.5)
    assert (report.added, report.updated, report.removed) == (0, 0, 0)
    assert sorted(p.name for p in report.unsettled) == ["new.md", "old.md"]
    assert 0 < report.settles_in <= 0.5
    entry = await store.archive.get("old")
    assert entry is not None
    await asyncio.sleep(report.settles_in + 0.05)
    report = await store.sync_content(content, max_bytes=10_000, settle_seconds=0.5)
    assert (report.added, report.updated, report.unsettled) == (1, 1, [])
    assert old.exists()


async def test_editor_and_download_leftovers_are_not_digests(store: Store, content: Path) -> None:
    for name in ("~draft.md", ".draft.md", "#draft.md#", "draft~.md", "draft.tmp.md", "d.md"):
        write_digest(content, name)
    report = await store.sync_content(content, max_bytes=10_000)
    assert report.added == 1 and await store.archive.get("d") is not None
    assert is_leftover(Path("x.part.md")) and not is_leftover(Path("2026-02-21-ai.md"))
