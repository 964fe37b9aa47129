"""Folder → index: bring the archive index in line with the content folder.

Only files whose (mtime, size) changed are read again; the database is updated in one
transaction, and the full-text tables are kept in step in that same transaction.

Whole files only: a file modified less than `settle_seconds` ago may still be being
written or downloaded, so it is left as it was (not added, not updated, not removed)
and reported as unsettled, for the caller to look again once it has settled. Editor and
download leftovers are never digests.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sqlite3
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import aiosqlite

from bot.digest import Digest, DigestError, digest_paths, load_digest, tag_key
from bot.store.db import Database, StoreError, fetch_all, now_text
from bot.store.search import FULL_TEXT_ADD, FULL_TEXT_REMOVE, rendered_text

# Files are loaded in batches in a worker thread, so a cancelled sync stops soon.
_LOAD_BATCH = 64
_RACY_WINDOW_NS = 2_000_000_000
_UNTRUSTED_MTIME = -1
# Room for this many digests a day in `ord`; migration 3 spells it out. FTS5 stores rowid
# gaps as varints: a day's step of 1024 costs two bytes a match, 65536 would cost three.
DAY_SLOTS = 1 << 10


class ContentMissing(StoreError):
    """The content folder is not there (not mounted yet, mistyped): nothing is changed."""


@dataclass(frozen=True, slots=True)
class SyncReport:
    """What a sync changed. `removed` counts entries that left the index, whether the file
    was deleted or became invalid; `failures` lists only failures not reported before."""

    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    failures: list[tuple[Path, str]] = field(default_factory=list)
    # Files still changing: left for a later sync, which is due in `settles_in` seconds.
    unsettled: list[Path] = field(default_factory=list)
    settles_in: float = 0.0


# Names that editors and downloaders leave beside a file while they write it.
_LEFTOVER_PREFIXES = (".", "~", "#")
_LEFTOVER_SUFFIXES = frozenset({".tmp", ".part", ".swp", ".swx", ".crdownload", ".download"})


def is_leftover(path: Path) -> bool:
    """An editor's or downloader's scratch file (dotfiles, `~`, `.tmp`, `.part`, `.swp`)."""
    name = path.name.lower()
    return (
        name.startswith(_LEFTOVER_PREFIXES)
        or name.endswith("~")
        or any(suffix in _LEFTOVER_SUFFIXES for suffix in path.suffixes[-3:])
        or path.stem.endswith("~")
    )


async def sync_content(
    db: Database, content_dir: Path, *, max_bytes: int, settle_seconds: float = 0.0
) -> SyncReport:
    """Bring the index in line with the folder; broken files are recorded, not fatal."""
    scan = await asyncio.to_thread(_Scan.of, content_dir, settle_seconds)
    async with db.write() as connection:
        return await _ContentSync(connection, scan, max_bytes).run()


class _ContentSync:
    """One run of `Store.sync_content`, inside its write transaction."""

    def __init__(self, db: aiosqlite.Connection, scan: _Scan, max_bytes: int) -> None:
        self.db = db
        self.scan = scan
        self.max_bytes = max_bytes
        self.now = now_text()
        self.added = self.updated = self.removed = self.unchanged = 0
        self.failures: list[tuple[Path, str]] = []
        self.indexed: dict[str, sqlite3.Row] = {}
        self.failed: dict[str, sqlite3.Row] = {}
        self.owners: dict[str, str] = {}

    async def run(self) -> SyncReport:
        db, stats = self.db, self.scan.stats
        self.indexed = {
            r["path"]: r
            for r in await fetch_all(
                db, "SELECT path, slug, mtime_ns, size, content_hash FROM digests"
            )
        }
        self.failed = {
            r["path"]: r
            for r in await fetch_all(
                db, "SELECT path, reason, mtime_ns, size, slug FROM load_failures"
            )
        }
        present = stats.keys() | self.scan.unsettled.keys()
        gone = [p for p in self.indexed if p not in present]
        await _delete_digests(db, gone)
        self.removed += len(gone)
        await db.executemany(
            "DELETE FROM load_failures WHERE path = ?",
            [(p,) for p in self.failed if p not in present],
        )
        # Indexed files keep their slug; among the others, the first by name wins it.
        self.owners = {r["slug"]: p for p, r in self.indexed.items() if p in present}
        changed = [p for p in stats if p in self.indexed and stats[p] != _stat(self.indexed[p])]
        self.unchanged = (
            len(self.owners)
            - len(changed)
            - sum(1 for p in self.indexed if p in self.scan.unsettled)
        )
        # A failure stands until its file changes, except a taken slug: the file holding
        # it may have gone since.
        settled = {
            p for p, r in self.failed.items() if r["slug"] is None and stats.get(p) == _stat(r)
        }
        new = [p for p in stats if p not in self.indexed and p not in settled]

        renamed: list[tuple[str, Digest]] = []
        async for path, result in self.load(changed):
            old = self.indexed[path]
            if isinstance(result, Digest) and result.slug == old["slug"]:
                await self.refresh(path, result, old)
                continue
            await _delete_digests(db, [path])
            del self.owners[old["slug"]]
            if isinstance(result, Digest):
                renamed.append((path, result))  # added once every old slug is settled
            else:
                self.removed += 1
                await self.fail(path, result.reason)
        for path, digest in renamed:
            await self.add(path, digest)
        async for path, result in self.load(new):
            await self.add(path, result)
        return SyncReport(
            self.added,
            self.updated,
            self.removed,
            self.unchanged,
            self.failures,
            [Path(p) for p in self.scan.unsettled],
            min(self.scan.unsettled.values(), default=0.0),
        )

    async def load(self, paths: list[str]) -> AsyncIterator[tuple[str, Digest | DigestError]]:
        """Parse files in a worker thread, a batch at a time: file reads and YAML block."""
        for start in range(0, len(paths), _LOAD_BATCH):
            batch = paths[start : start + _LOAD_BATCH]
            loaded = await asyncio.to_thread(_load_batch, batch, self.scan.root, self.max_bytes)
            for item in zip(batch, loaded, strict=True):
                yield item

    async def refresh(self, path: str, digest: Digest, old: sqlite3.Row) -> None:
        """A changed file that kept its slug."""
        mtime_ns, size = self.scan.recorded(path)
        if digest.content_hash != old["content_hash"]:
            await _delete_digests(self.db, [path])
            await _insert_digest(self.db, path, digest, mtime_ns, size, self.now)
            self.updated += 1
            return
        # Touched but byte-identical (a checkout, a copy): skip the costly full-text rework.
        await self.db.execute(
            "UPDATE digests SET mtime_ns = ?, size = ?, cover = ?, indexed_at = ? WHERE path = ?",
            (mtime_ns, size, digest.cover, self.now, path),
        )
        self.unchanged += 1

    async def add(self, path: str, result: Digest | DigestError) -> None:
        """A file not in the index (or whose slug changed): index it, or record why not."""
        previously_indexed = path in self.indexed
        if isinstance(result, DigestError):
            reason, taken = result.reason, None
        elif result.slug in self.owners:
            other = _relative(self.owners[result.slug], self.scan.root)
            reason = f"slug {result.slug!r} is already used by {other}; rename one"
            taken = result.slug
        else:
            mtime_ns, size = self.scan.recorded(path)
            await _insert_digest(self.db, path, result, mtime_ns, size, self.now)
            await self.db.execute("DELETE FROM load_failures WHERE path = ?", (path,))
            self.owners[result.slug] = path
            if previously_indexed:
                self.updated += 1
            else:
                self.added += 1
            return
        if previously_indexed:
            self.removed += 1
        await self.fail(path, reason, taken)

    async def fail(self, path: str, reason: str, taken: str | None = None) -> None:
        mtime_ns, size = self.scan.recorded(path)
        if _known_failure(self.failed.get(path), reason, mtime_ns, size):
            return
        self.failures.append((Path(path), reason))
        await self.db.execute(
            """
            INSERT INTO load_failures (path, reason, mtime_ns, size, seen_at, slug)
            VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT (path) DO UPDATE SET
                reason = excluded.reason, mtime_ns = excluded.mtime_ns, size = excluded.size,
                seen_at = excluded.seen_at, slug = excluded.slug
            """,
            (path, reason, mtime_ns, size, self.now, taken),
        )


@dataclass(frozen=True, slots=True)
class _Scan:
    """The settled digest files of a folder with their (mtime_ns, size), in name order,
    and the files still changing with the seconds until they may have settled."""

    root: Path
    stats: dict[str, tuple[int, int]]
    started_ns: int
    unsettled: dict[str, float]

    @classmethod
    def of(cls, content_dir: Path, settle_seconds: float = 0.0) -> _Scan:
        """Blocking: run it in a thread."""
        started_ns = time.time_ns()
        settle_ns = int(settle_seconds * 1e9)
        root = content_dir.resolve()
        if not root.is_dir():
            # An unmounted or mistyped folder must not empty the archive.
            raise ContentMissing(f"the content folder {content_dir} does not exist")
        stats: dict[str, tuple[int, int]] = {}
        unsettled: dict[str, float] = {}
        for path in digest_paths(root):
            if is_leftover(path):
                continue
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            # Every write moves the mtime, so an old mtime means a stable file; one in
            # the future (a skewed clock) counts from now.
            age_ns = started_ns - min(stat.st_mtime_ns, started_ns)
            if age_ns < settle_ns:
                unsettled[str(path)] = (settle_ns - age_ns) / 1e9
                continue
            stats[str(path)] = (stat.st_mtime_ns, stat.st_size)
        return cls(root, stats, started_ns, unsettled)

    def recorded(self, path: str) -> tuple[int, int]:
        """The stat to remember. File times are coarse (a few ms, up to seconds on some
        file systems): a file changed just before the scan may change again with the same
        mtime and size, so its mtime is not trusted and the next sync reads it again."""
        mtime_ns, size = self.stats[path]
        if self.started_ns - mtime_ns < _RACY_WINDOW_NS:
            return _UNTRUSTED_MTIME, size
        return mtime_ns, size


def _stat(row: sqlite3.Row) -> tuple[int, int]:
    return row["mtime_ns"], row["size"]


def _known_failure(previous: sqlite3.Row | None, reason: str, mtime_ns: int, size: int) -> bool:
    """Whether this failure was already recorded (and so reported) for this file version."""
    return (
        previous is not None
        and (previous["reason"], previous["size"]) == (reason, size)
        and previous["mtime_ns"] in (mtime_ns, _UNTRUSTED_MTIME)
    )


def _load_batch(paths: list[str], root: Path, max_bytes: int) -> list[Digest | DigestError]:
    results: list[Digest | DigestError] = []
    for path in paths:
        try:
            results.append(load_digest(Path(path), content_dir=root, max_bytes=max_bytes))
        except DigestError as exc:
            results.append(exc)
    return results


async def _delete_digests(db: aiosqlite.Connection, paths: Iterable[str]) -> None:
    """Remove entries, their tags (by cascade) and their full-text rows."""
    params = [(path,) for path in paths]
    for statement in FULL_TEXT_REMOVE:
        await db.executemany(statement.format(key="path"), params)
    await db.executemany("DELETE FROM digests WHERE path = ?", params)


async def _insert_digest(
    db: aiosqlite.Connection, path: str, digest: Digest, mtime_ns: int, size: int, now: str
) -> None:
    cursor = await db.execute(
        """
        INSERT INTO digests (path, slug, date, title, category, tags, summary, cover,
                             content_hash, mtime_ns, size, body, indexed_at, ord, rendered)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """,
        (
            path,
            digest.slug,
            digest.date.isoformat(),
            digest.title,
            digest.category,
            json.dumps(list(digest.tags), ensure_ascii=False),
            digest.summary,
            digest.cover,
            digest.content_hash,
            mtime_ns,
            size,
            digest.body,
            now,
            await _day_slot(db, digest.date, digest.slug),
            rendered_text(digest),
        ),
    )
    for statement in FULL_TEXT_ADD:
        await db.execute(statement.format(key="id"), (cursor.lastrowid,))
    await db.executemany(
        "INSERT INTO digest_tags (digest_id, tag, tag_key) VALUES (?, ?, ?)",
        [(cursor.lastrowid, tag, tag_key(tag)) for tag in digest.tags],
    )


async def _day_slot(db: aiosqlite.Connection, date: dt.date, slug: str) -> int:
    """The `ord` for a new digest: its day's base plus its rank by slug that day. The
    day's other digests move to their own rank where they are off it (the newcomer sorts
    before them, or one was deleted); usually none is, a day having one digest."""
    base = date.toordinal() * DAY_SLOTS
    rows = await fetch_all(
        db, "SELECT id, slug, ord FROM digests WHERE date = ? ORDER BY slug", (date.isoformat(),)
    )
    if len(rows) >= DAY_SLOTS:
        raise StoreError(f"more than {DAY_SLOTS} digests are dated {date}")
    # Python orders str by code point, as SQLite orders UTF-8 text byte by byte.
    rank = sum(1 for r in rows if r["slug"] < slug)
    moves = [(r["id"], r["ord"], base + i + (i >= rank)) for i, r in enumerate(rows)]
    # Downward moves lowest first, then upward ones highest first: each lands on a free ord.
    ordered = [m for m in moves if m[2] < m[1]] + [m for m in reversed(moves) if m[2] > m[1]]
    for digest_id, _, new_ord in ordered:
        for statement in FULL_TEXT_REMOVE:
            await db.execute(statement.format(key="id"), (digest_id,))
        await db.execute("UPDATE digests SET ord = ? WHERE id = ?", (new_ord, digest_id))
        for statement in FULL_TEXT_ADD:
            await db.execute(statement.format(key="id"), (digest_id,))
    return base + rank


def _relative(path: str, root: Path) -> str:
    try:
        return str(Path(path).relative_to(root))
    except ValueError:
        return path
