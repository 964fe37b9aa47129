"""The bot's one SQLite file: the archive index (with tags and full-text search) and the
publication ledger that makes posting exactly-once across crashes and restarts.

The index is a cache of the content folder, rebuilt incrementally by `sync_content`, so
the chat commands never parse Markdown. The ledger is the source of truth for what was
sent: every part of a publication is recorded in its own transaction as soon as Telegram
returns its message id, so a restarted bot resumes at the first unsent part.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import fcntl
import json
import logging
import os
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import aiosqlite

from bot.digest import Digest, DigestError, digest_paths, load_digest, tag_key

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000
SNIPPET_CHARS = 60
# Trigram full-text search needs at least three characters; shorter queries use the index
# of one- and two-character strings (`digests_grams`).
MIN_FTS_QUERY = 3
# Search counts matches up to this many and then says "100+": an exact count of a common
# word would cost as much as the search itself.
SEARCH_COUNT_CAP = 100
MAX_ERROR_CHARS = 1000
# Files are loaded in batches in a worker thread, so a cancelled sync stops soon.
_LOAD_BATCH = 64
_RACY_WINDOW_NS = 2_000_000_000
_UNTRUSTED_MTIME = -1

# Each migration is a list of statements run in one transaction that also bumps
# `PRAGMA user_version`; never edit a released one, append a new one.
MIGRATIONS: list[tuple[str, ...]] = [
    # 1: the archive index.
    (
        """
        CREATE TABLE digests (
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL UNIQUE,
            slug TEXT NOT NULL UNIQUE,
            date TEXT NOT NULL,
            title TEXT NOT NULL,
            category TEXT NOT NULL DEFAULT '',
            tags TEXT NOT NULL DEFAULT '[]',
            summary TEXT NOT NULL DEFAULT '',
            cover TEXT,
            content_hash TEXT NOT NULL,
            mtime_ns INTEGER NOT NULL,
            size INTEGER NOT NULL,
            body TEXT NOT NULL,
            indexed_at TEXT NOT NULL
        )
        """,
        "CREATE INDEX digests_by_date ON digests (date, slug)",
        """
        CREATE TABLE digest_tags (
            digest_id INTEGER NOT NULL REFERENCES digests (id) ON DELETE CASCADE,
            tag TEXT NOT NULL,
            tag_key TEXT NOT NULL,
            PRIMARY KEY (digest_id, tag_key)
        ) WITHOUT ROWID
        """,
        "CREATE INDEX digest_tags_by_key ON digest_tags (tag_key, tag)",
        """
        CREATE TABLE load_failures (
            path TEXT PRIMARY KEY,
            reason TEXT NOT NULL,
            mtime_ns INTEGER NOT NULL,
            size INTEGER NOT NULL,
            seen_at TEXT NOT NULL,
            -- Set when the file is valid but its slug is taken: such files are retried on
            -- every sync, since the other file may have gone.
            slug TEXT
        )
        """,
        # Kept in step by this module in the same transactions, not by triggers: FTS5
        # flushes its pending index at every trigger's savepoint, which made a sync 3x
        # slower.
        """
        CREATE VIRTUAL TABLE digests_fts USING fts5 (
            title, summary, body,
            content = 'digests', content_rowid = 'id', tokenize = 'trigram'
        )
        """,
    ),
    # 2: the publication ledger.
    (
        """
        CREATE TABLE publications (
            id INTEGER PRIMARY KEY,
            slug TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            chat TEXT NOT NULL,
            thread_id INTEGER NOT NULL DEFAULT 0,
            round INTEGER NOT NULL CHECK (round >= 1),
            state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done')),
            part_count INTEGER NOT NULL CHECK (part_count >= 1),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            finished_at TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            UNIQUE (slug, chat, thread_id, round)
        )
        """,
        "CREATE INDEX publications_by_chat ON publications (chat, thread_id, slug)",
        "CREATE INDEX publications_by_update ON publications (updated_at)",
        "CREATE INDEX publications_pending ON publications (state) WHERE state = 'pending'",
        """
        CREATE TABLE publication_parts (
            publication_id INTEGER NOT NULL REFERENCES publications (id) ON DELETE CASCADE,
            idx INTEGER NOT NULL CHECK (idx >= 0),
            payload TEXT NOT NULL,
            message_id INTEGER,
            sent_at TEXT,
            PRIMARY KEY (publication_id, idx)
        ) WITHOUT ROWID
        """,
    ),
    # 3: search pages cost a page, not every match.
    (
        # `ord` sorts as (date, slug) does: the day's number (Python's date.toordinal())
        # times 1024 (_DAY_SLOTS), plus the rank by slug among that day's digests. It is
        # the rowid of both full-text tables, so FTS5 hands out matches newest first, and
        # a page of a common word stops as soon as it is full.
        "ALTER TABLE digests ADD COLUMN ord INTEGER",
        """
        UPDATE digests SET ord = CAST(julianday(date) - 1721424.5 AS INTEGER) * 1024 + (
            SELECT count(*) FROM digests e WHERE e.date = digests.date AND e.slug < digests.slug
        )
        """,
        "CREATE UNIQUE INDEX digests_by_ord ON digests (ord)",
        "DROP TABLE digests_fts",
        """
        CREATE VIRTUAL TABLE digests_fts USING fts5 (
            title, summary, body,
            content = 'digests', content_rowid = 'ord', tokenize = 'trigram'
        )
        """,
        "INSERT INTO digests_fts (digests_fts) VALUES ('rebuild')",
        # One- and two-character queries used to scan every body with LIKE. This index
        # lists, for each digest, every distinct one- and two-character string of its
        # title, summary and body (see `_search_grams`), so such a query is one token.
        # Contentless, to keep no second copy of the text: a row is forgotten by passing
        # `search_grams` of the same fields again, so that function must never change
        # without a new migration that rebuilds this table.
        """
        CREATE VIRTUAL TABLE digests_grams USING fts5 (
            grams, content = '', detail = 'none', columnsize = 0, tokenize = 'ascii'
        )
        """,
        """
        INSERT INTO digests_grams (rowid, grams)
        SELECT ord, search_grams(title, summary, body) FROM digests
        """,
    ),
]
SCHEMA_VERSION = len(MIGRATIONS)

_ENTRY_COLUMNS = (
    "d.slug, d.path, d.date, d.title, d.category, d.tags, d.summary, d.cover, d.content_hash"
)
_NEWEST_FIRST = "ORDER BY d.date DESC, d.slug DESC"
# The ids of a page among a set of digests (an `IN` subquery to append): the date index
# is walked newest first until the page is full, so a common tag costs a page, not a sort
# of every digest carrying it. INDEXED BY turns a plan change into an error.
_WALK_NEWEST_FIRST = "SELECT d.id FROM digests d INDEXED BY digests_by_date WHERE d.id IN"
# Room for this many digests a day in `ord`; migration 3 spells it out. FTS5 stores rowid
# gaps as varints: a day's step of 1024 costs two bytes a match, 65536 would cost three.
_DAY_SLOTS = 1 << 10
# The full-text rows of the digests with a given id or path (`{key}`). Both tables are
# kept in step by this module, in the writer's transaction; external-content and
# contentless FTS5 tables forget a row only when told the values it was indexed with.
_FULL_TEXT_ADD = (
    "INSERT INTO digests_fts (rowid, title, summary, body)"
    " SELECT ord, title, summary, body FROM digests WHERE {key} = ?",
    "INSERT INTO digests_grams (rowid, grams)"
    " SELECT ord, search_grams(title, summary, body) FROM digests WHERE {key} = ?",
)
_FULL_TEXT_REMOVE = (
    "INSERT INTO digests_fts (digests_fts, rowid, title, summary, body)"
    " SELECT 'delete', ord, title, summary, body FROM digests WHERE {key} = ?",
    "INSERT INTO digests_grams (digests_grams, rowid, grams)"
    " SELECT 'delete', ord, search_grams(title, summary, body) FROM digests WHERE {key} = ?",
)
_MONTH = re.compile(r"(\d{4})-(\d{2})")
_MARKUP = re.compile(r"[*#`]+")


class StoreError(Exception):
    """The database cannot be used as asked."""


class StoreLocked(StoreError):
    """Another running bot holds the database; two copies would post everything twice."""


class LedgerError(StoreError):
    """A publication update that would break the ledger's order or history."""


@dataclass(frozen=True, slots=True)
class DigestEntry:
    """What the archive commands show about a digest, read from the index alone."""

    slug: str
    path: Path
    date: dt.date
    title: str
    category: str
    tags: tuple[str, ...]
    summary: str
    cover: str | None
    content_hash: str


@dataclass(frozen=True, slots=True)
class Snippet:
    """Text around the first match, in three pieces so callers can mark `match` their way.

    `before` and `after` carry a leading/trailing "…" where the text was cut; `match` is
    empty when the match could not be located (the snippet is then the text's start).
    """

    before: str
    match: str
    after: str

    def __str__(self) -> str:
        return self.before + self.match + self.after


@dataclass(frozen=True, slots=True)
class SearchHit:
    entry: DigestEntry
    snippet: Snippet


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One page of search hits, newest first.

    `total` is the number of matching digests when `total_is_exact`; otherwise counting
    stopped at SEARCH_COUNT_CAP, which `total` then is, and there are more (show "100+").
    `has_more` says whether another page follows this one, whatever the count.
    """

    hits: list[SearchHit]
    total: int
    total_is_exact: bool
    has_more: bool


@dataclass(frozen=True, slots=True)
class SyncReport:
    """What a sync changed. `removed` counts entries that left the index, whether the file
    was deleted or became invalid; `failures` lists only failures not reported before."""

    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    failures: list[tuple[Path, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Part:
    """One Bot API call of a publication; `message_id` is set once Telegram accepted it."""

    idx: int
    payload: dict[str, Any]
    message_id: int | None


@dataclass(frozen=True, slots=True)
class Publication:
    """One round of posting a digest to a chat (or forum topic), as the ledger has it."""

    id: int
    slug: str
    chat: int | str
    thread_id: int | None
    round: int
    state: str
    content_hash: str
    parts: tuple[Part, ...]
    attempts: int
    last_error: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    finished_at: dt.datetime | None

    @property
    def next_part(self) -> Part | None:
        return next((p for p in self.parts if p.message_id is None), None)

    @property
    def done(self) -> bool:
        return self.state == "done"


class Store:
    """The bot's database. Open with `await Store.open(path)`; close it, or use `async with`."""

    def __init__(self, db: aiosqlite.Connection, path: Path, lock: _ProcessLock | None) -> None:
        self._db: aiosqlite.Connection | None = db
        self._process_lock = lock
        # One connection serves every coroutine; this keeps their transactions apart.
        self._lock = asyncio.Lock()
        self.path = path

    @classmethod
    async def open(cls, path: Path, *, exclusive: bool = False) -> Store:
        """Open (creating and upgrading as needed); `exclusive` refuses a second running bot."""
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        lock = await asyncio.to_thread(_ProcessLock.acquire, path) if exclusive else None
        try:
            db = await aiosqlite.connect(path, isolation_level=None)
            try:
                db.row_factory = aiosqlite.Row
                await _configure(db, path)
                await _migrate(db, path)
            except BaseException:
                await db.close()
                raise
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        return cls(db, path, lock)

    async def close(self) -> None:
        async with self._lock:
            if self._db is not None:
                await self._db.close()
                self._db = None
        if self._process_lock is not None:
            self._process_lock.release()
            self._process_lock = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def schema_version(self) -> int:
        async with self._read() as db:
            return await _user_version(db)

    # --- archive index -------------------------------------------------------------

    async def sync_content(self, content_dir: Path, *, max_bytes: int) -> SyncReport:
        """Bring the index in line with the folder, re-reading only files whose
        (mtime, size) changed; the database is updated in one transaction."""
        scan = await asyncio.to_thread(_Scan.of, content_dir)
        async with self._write() as db:
            return await _ContentSync(db, scan, max_bytes).run()

    async def get(self, slug: str) -> DigestEntry | None:
        async with self._read() as db:
            rows = await db.execute_fetchall(
                f"SELECT {_ENTRY_COLUMNS} FROM digests d WHERE d.slug = ?", (slug,)
            )
        return _entry(rows[0]) if rows else None

    async def by_date(self, date: dt.date) -> list[DigestEntry]:
        async with self._read() as db:
            rows = await db.execute_fetchall(
                f"SELECT {_ENTRY_COLUMNS} FROM digests d WHERE d.date = ? {_NEWEST_FIRST}",
                (date.isoformat(),),
            )
        return [_entry(r) for r in rows]

    async def latest(self, on_or_before: dt.date | None = None) -> DigestEntry | None:
        """The newest digest, or the newest dated on or before a day (e.g. "today" in the
        publishing time zone, so a digest prepared for tomorrow is not shown early)."""
        limit = (on_or_before or dt.date.max).isoformat()
        async with self._read() as db:
            rows = await db.execute_fetchall(
                f"SELECT {_ENTRY_COLUMNS} FROM digests d WHERE d.date <= ? {_NEWEST_FIRST} LIMIT 1",
                (limit,),
            )
        return _entry(rows[0]) if rows else None

    async def page(
        self, offset: int, limit: int, *, month: str | None = None
    ) -> tuple[list[DigestEntry], int]:
        """A page of the archive, newest first, optionally one month ("2026-02"); and the total."""
        _check_window(offset, limit)
        # ISO dates sort as text, so a month is a half-open range of strings.
        first, after = _month_range(month) if month is not None else ("", "9999-99")
        async with self._read() as db:
            rows = await _page_rows(
                db,
                "SELECT d.id FROM digests d WHERE d.date >= :first AND d.date < :after",
                {"first": first, "after": after, "limit": limit, "offset": offset},
            )
            total = await _scalar(
                db, "SELECT count(*) FROM digests WHERE date >= ? AND date < ?", (first, after)
            )
        return [_entry(r) for r in rows], total

    async def tags(self) -> list[tuple[str, int]]:
        """Every tag with its number of digests, most used first; spellings that differ only
        in case or spaces count as one tag, shown in its most common spelling."""
        async with self._read() as db:
            rows = await db.execute_fetchall(
                """
                WITH spellings AS (
                    SELECT tag_key, tag, count(*) AS n FROM digest_tags GROUP BY tag_key, tag
                ), ranked AS (
                    SELECT tag, sum(n) OVER (PARTITION BY tag_key) AS total,
                           row_number() OVER (PARTITION BY tag_key ORDER BY n DESC, tag) AS rank
                    FROM spellings
                )
                SELECT tag, total FROM ranked WHERE rank = 1 ORDER BY total DESC, tag
                """
            )
        return [(r["tag"], r["total"]) for r in rows]

    async def with_tag(self, tag: str, offset: int, limit: int) -> tuple[list[DigestEntry], int]:
        """Digests carrying a tag, compared as `tag_key` does (`ai日报` finds `AI 日报`)."""
        _check_window(offset, limit)
        key = tag_key(tag)
        async with self._read() as db:
            rows = await _page_rows(
                db,
                f"{_WALK_NEWEST_FIRST} (SELECT digest_id FROM digest_tags WHERE tag_key = :key)",
                {"key": key, "limit": limit, "offset": offset},
            )
            total = await _scalar(db, "SELECT count(*) FROM digest_tags WHERE tag_key = ?", (key,))
        return [_entry(r) for r in rows], total

    async def search(self, query: str, offset: int, limit: int) -> SearchPage:
        """Digests whose title, summary or body contain the text, newest first.

        The query is plain text, never FTS syntax: three characters or more become one
        quoted trigram phrase; shorter ones (common in Chinese) one token of the
        `digests_grams` index, which matches as `LIKE '%text%'` did (ASCII case folded).
        """
        _check_window(offset, limit)
        # NUL would end the query early for FTS5's parser, so it separates words like a space.
        text = " ".join(query.replace("\0", " ").split())
        if not text:
            return SearchPage([], 0, total_is_exact=True, has_more=False)
        if len(text) >= MIN_FTS_QUERY:
            index, arg = "digests_fts", '"' + text.replace('"', '""') + '"'
        else:
            index, arg = "digests_grams", '"' + _gram_token(_fold_ascii(text)) + '"'
        # Matches come newest first (rowid is `ord`), so this stops once the page, one
        # row past it (is there more?) and the count up to the cap are all in hand.
        wanted = max(SEARCH_COUNT_CAP, offset + limit) + 1
        async with self._read() as db:
            ords = [
                r[0]
                for r in await db.execute_fetchall(
                    f"SELECT rowid FROM {index} WHERE {index} MATCH :q"
                    " ORDER BY rowid DESC LIMIT :wanted",
                    {"q": arg, "wanted": wanted},
                )
            ]
            page = ords[offset : offset + limit]
            rows = await db.execute_fetchall(
                f"""
                SELECT {_ENTRY_COLUMNS}, d.body FROM digests d
                WHERE d.ord IN (SELECT value FROM json_each(:ords)) ORDER BY d.ord DESC
                """,
                {"ords": json.dumps(page)},
            )
        hits = [
            SearchHit(_entry(r), _snippet((r["title"], r["summary"], r["body"]), text))
            for r in rows
        ]
        exact = len(ords) < wanted
        return SearchPage(
            hits,
            len(ords) if exact else SEARCH_COUNT_CAP,
            total_is_exact=exact,
            has_more=len(ords) > offset + limit,
        )

    async def failures(self) -> list[tuple[Path, str]]:
        async with self._read() as db:
            rows = await db.execute_fetchall("SELECT path, reason FROM load_failures ORDER BY path")
        return [(Path(r["path"]), r["reason"]) for r in rows]

    async def count(self) -> int:
        async with self._read() as db:
            return await _scalar(db, "SELECT count(*) FROM digests")

    # --- publication ledger --------------------------------------------------------

    async def start_publication(
        self,
        slug: str,
        content_hash: str,
        chat: int | str,
        thread_id: int | None,
        payloads: Sequence[dict[str, Any]],
        *,
        force: bool = False,
    ) -> Publication:
        """The latest round for (slug, chat, thread), done or pending, as it is; or, when
        there is none or `force` is set, a new round whose parts are all pending."""
        chat_key, thread = _chat_key(chat), thread_id or 0
        if not payloads:
            raise ValueError("a publication needs at least one part")
        # Stored as rendered now, so a resume after a crash sends exactly the same calls.
        encoded = [json.dumps(p, ensure_ascii=False, allow_nan=False) for p in payloads]
        async with self._write() as db:
            latest = await _latest_round(db, slug, chat_key, thread)
            if latest is not None and not force:
                return latest
            now = _now()
            cursor = await db.execute(
                """
                INSERT INTO publications (slug, content_hash, chat, thread_id, round, state,
                                          part_count, created_at, updated_at)
                VALUES (:slug, :hash, :chat, :thread, :round, 'pending', :parts, :now, :now)
                """,
                {
                    "slug": slug,
                    "hash": content_hash,
                    "chat": chat_key,
                    "thread": thread,
                    "round": latest.round + 1 if latest else 1,
                    "parts": len(encoded),
                    "now": now,
                },
            )
            publication_id = cursor.lastrowid
            assert publication_id is not None
            await db.executemany(
                "INSERT INTO publication_parts (publication_id, idx, payload) VALUES (?, ?, ?)",
                [(publication_id, i, payload) for i, payload in enumerate(encoded)],
            )
            return await _publication(db, publication_id)

    async def mark_part_sent(self, publication_id: int, idx: int, message_id: int) -> Publication:
        """Record that Telegram accepted a part; the last one completes the publication.

        Parts must be marked in order: an earlier pending part means a gap in the chat.
        Marking a part again with the same message id changes nothing.
        """
        if isinstance(message_id, bool) or not isinstance(message_id, int):
            raise TypeError(f"message_id must be an int, not {type(message_id).__name__}")
        async with self._write() as db:
            await _require_publication(db, publication_id)
            rows = await db.execute_fetchall(
                "SELECT message_id FROM publication_parts WHERE publication_id = ? AND idx = ?",
                (publication_id, idx),
            )
            if not rows:
                raise LedgerError(f"publication {publication_id} has no part {idx}")
            sent_as = rows[0]["message_id"]
            if sent_as == message_id:
                return await _publication(db, publication_id)
            if sent_as is not None:
                raise LedgerError(
                    f"part {idx} of publication {publication_id} was already sent "
                    f"as message {sent_as}"
                )
            first_pending = await _scalar(
                db,
                "SELECT min(idx) FROM publication_parts"
                " WHERE publication_id = ? AND message_id IS NULL",
                (publication_id,),
            )
            if first_pending != idx:
                raise LedgerError(
                    f"part {first_pending} of publication {publication_id} must be sent "
                    f"before part {idx}"
                )
            now = _now()
            await db.execute(
                "UPDATE publication_parts SET message_id = ?, sent_at = ?"
                " WHERE publication_id = ? AND idx = ?",
                (message_id, now, publication_id, idx),
            )
            still_pending = await _scalar(
                db,
                "SELECT count(*) FROM publication_parts"
                " WHERE publication_id = ? AND message_id IS NULL",
                (publication_id,),
            )
            await db.execute(
                """
                UPDATE publications SET
                    updated_at = :now,
                    state = CASE WHEN :last THEN 'done' ELSE state END,
                    finished_at = CASE WHEN :last THEN :now ELSE finished_at END
                WHERE id = :id
                """,
                {"now": now, "last": still_pending == 0, "id": publication_id},
            )
            return await _publication(db, publication_id)

    async def mark_attempt_failed(self, publication_id: int, error: str) -> None:
        """Count a failed try and keep its reason for /status; the publication stays pending."""
        async with self._write() as db:
            await _require_publication(db, publication_id)
            await db.execute(
                """
                UPDATE publications SET attempts = attempts + 1, last_error = ?, updated_at = ?
                WHERE id = ?
                """,
                (error[:MAX_ERROR_CHARS], _now(), publication_id),
            )

    async def record_correction(
        self, publication_id: int, content_hash: str, payloads: Sequence[dict[str, Any]]
    ) -> Publication:
        """The posted messages were edited in place: keep what they now say, so that a
        later resume, correction or /latest starts from the truth."""
        async with self._write() as db:
            publication = await _publication(db, publication_id)
            if not publication.done or len(publication.parts) != len(payloads):
                raise LedgerError(
                    f"publication {publication_id} can only be corrected when it is done "
                    f"and keeps its {len(publication.parts)} parts"
                )
            now = _now()
            await db.executemany(
                "UPDATE publication_parts SET payload = ? WHERE publication_id = ? AND idx = ?",
                [
                    (json.dumps(p, ensure_ascii=False, allow_nan=False), publication_id, i)
                    for i, p in enumerate(payloads)
                ],
            )
            await db.execute(
                "UPDATE publications SET content_hash = ?, updated_at = ? WHERE id = ?",
                (content_hash, now, publication_id),
            )
            return await _publication(db, publication_id)

    async def publication(
        self, slug: str, chat: int | str, thread_id: int | None
    ) -> Publication | None:
        """The latest round of posting `slug` to a chat (or topic), if any."""
        async with self._read() as db:
            return await _latest_round(db, slug, _chat_key(chat), thread_id or 0)

    async def pending_publications(self) -> list[Publication]:
        """Unfinished publications to resume, oldest first. A pending round that a forced
        newer round superseded is left alone: resuming it would post the digest twice."""
        async with self._read() as db:
            rows = await db.execute_fetchall(
                """
                SELECT p.id FROM publications p
                WHERE p.state = 'pending' AND p.round = (
                    SELECT max(q.round) FROM publications q
                    WHERE q.slug = p.slug AND q.chat = p.chat AND q.thread_id = p.thread_id
                )
                ORDER BY p.created_at, p.id
                """
            )
            return [await _publication(db, r["id"]) for r in rows]

    async def last_publication(self) -> Publication | None:
        """The most recently updated publication, for /status."""
        async with self._read() as db:
            rows = await db.execute_fetchall(
                "SELECT id FROM publications ORDER BY updated_at DESC, id DESC LIMIT 1"
            )
            return await _publication(db, rows[0]["id"]) if rows else None

    async def published_slugs(self, chat: int | str, thread_id: int | None) -> set[str]:
        """Slugs with a publication in this chat (or topic), finished or started."""
        async with self._read() as db:
            rows = await db.execute_fetchall(
                "SELECT DISTINCT slug FROM publications WHERE chat = ? AND thread_id = ?",
                (_chat_key(chat), thread_id or 0),
            )
        return {r["slug"] for r in rows}

    # --- transactions ----------------------------------------------------------------

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[aiosqlite.Connection]:
        """A consistent snapshot across several statements."""
        async with self._lock:
            db = self._connection()
            async with _transaction(db, "BEGIN"):
                yield db

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[aiosqlite.Connection]:
        """All or nothing; IMMEDIATE takes the write lock up front, so no upgrade deadlock."""
        async with self._lock:
            db = self._connection()
            async with _transaction(db, "BEGIN IMMEDIATE"):
                yield db

    def _connection(self) -> aiosqlite.Connection:
        if self._db is None:
            raise StoreError(f"the store {self.path} is closed")
        return self._db


@asynccontextmanager
async def _transaction(db: aiosqlite.Connection, begin: str) -> AsyncIterator[None]:
    await db.execute(begin)
    try:
        yield
    except BaseException:
        # SQLite may already have rolled back by itself (e.g. on a full disk).
        if db.in_transaction:
            await db.execute("ROLLBACK")
        raise
    await db.execute("COMMIT")


async def _configure(db: aiosqlite.Connection, path: Path) -> None:
    await db.create_function("search_grams", 3, _search_grams, deterministic=True)
    await db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    await db.execute("PRAGMA foreign_keys = ON")
    mode = await _scalar(db, "PRAGMA journal_mode = WAL")
    if str(mode).lower() != "wal":
        log.warning("%s: SQLite refused WAL mode (%s); continuing without it", path, mode)
    # FULL makes each commit durable on power loss too, not only on a crash; the ledger
    # writes a handful of rows a day, so the fsync costs nothing that matters.
    await db.execute("PRAGMA synchronous = FULL")


async def _migrate(db: aiosqlite.Connection, path: Path) -> None:
    """Apply the missing migrations, each in its own transaction with its version bump."""
    target = len(MIGRATIONS)
    while (version := await _user_version(db)) != target:
        if version > target:
            raise StoreError(
                f"{path} has schema version {version}, newer than this bot's {target}; "
                "upgrade the bot"
            )
        async with _transaction(db, "BEGIN IMMEDIATE"):
            # Re-read under the write lock: another process may have just migrated.
            if await _user_version(db) != version:
                continue
            for statement in MIGRATIONS[version]:
                await db.execute(statement)
            # PRAGMA takes no parameters; the value is an int computed here, not input.
            await db.execute(f"PRAGMA user_version = {version + 1:d}")
        log.info("%s: schema upgraded to version %d", path, version + 1)


async def _user_version(db: aiosqlite.Connection) -> int:
    return int(await _scalar(db, "PRAGMA user_version"))


async def _scalar(
    db: aiosqlite.Connection, sql: str, params: Sequence[Any] | dict[str, Any] = ()
) -> Any:
    async with db.execute(sql, params) as cursor:
        row = await cursor.fetchone()
    return row[0] if row is not None else None


class _ProcessLock:
    """An flock on `<db>.lock` held while the bot runs, so a second copy cannot double-post.

    flock belongs to the open file, so it also excludes a second Store in the same process,
    and the kernel drops it when the process dies however it dies.
    """

    def __init__(self, fd: int) -> None:
        self._fd = fd

    @classmethod
    def acquire(cls, db_path: Path) -> _ProcessLock:
        lock_path = db_path.with_name(db_path.name + ".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip()
            os.close(fd)
            pid = f" (pid {holder})" if holder.isdigit() else ""
            raise StoreLocked(
                f"another digest-bot{pid} is already running on {db_path}; stop it first"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        # The pid is only for the message above; the lock itself is the flock.
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        return cls(fd)

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class _ContentSync:
    """One run of `Store.sync_content`, inside its write transaction."""

    def __init__(self, db: aiosqlite.Connection, scan: _Scan, max_bytes: int) -> None:
        self.db = db
        self.scan = scan
        self.max_bytes = max_bytes
        self.now = _now()
        self.added = self.updated = self.removed = self.unchanged = 0
        self.failures: list[tuple[Path, str]] = []
        self.indexed: dict[str, sqlite3.Row] = {}
        self.failed: dict[str, sqlite3.Row] = {}
        self.owners: dict[str, str] = {}

    async def run(self) -> SyncReport:
        db, stats = self.db, self.scan.stats
        self.indexed = {
            r["path"]: r
            for r in await db.execute_fetchall(
                "SELECT path, slug, mtime_ns, size, content_hash FROM digests"
            )
        }
        self.failed = {
            r["path"]: r
            for r in await db.execute_fetchall(
                "SELECT path, reason, mtime_ns, size, slug FROM load_failures"
            )
        }
        gone = [p for p in self.indexed if p not in stats]
        await _delete_digests(db, gone)
        self.removed += len(gone)
        await db.executemany(
            "DELETE FROM load_failures WHERE path = ?",
            [(p,) for p in self.failed if p not in stats],
        )
        # Indexed files keep their slug; among the others, the first by name wins it.
        self.owners = {r["slug"]: p for p, r in self.indexed.items() if p in stats}
        changed = [p for p in stats if p in self.indexed and stats[p] != _stat(self.indexed[p])]
        self.unchanged = len(self.owners) - len(changed)
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
        return SyncReport(self.added, self.updated, self.removed, self.unchanged, self.failures)

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
    """The digest files of a folder with their (mtime_ns, size), in name order."""

    root: Path
    stats: dict[str, tuple[int, int]]
    started_ns: int

    @classmethod
    def of(cls, content_dir: Path) -> _Scan:
        """Blocking: run it in a thread."""
        started_ns = time.time_ns()
        root = content_dir.resolve()
        if not root.is_dir():
            # An unmounted or mistyped folder must not empty the archive.
            raise StoreError(f"content folder {content_dir} does not exist")
        stats: dict[str, tuple[int, int]] = {}
        for path in digest_paths(root):
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            stats[str(path)] = (stat.st_mtime_ns, stat.st_size)
        return cls(root, stats, started_ns)

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
    for statement in _FULL_TEXT_REMOVE:
        await db.executemany(statement.format(key="path"), params)
    await db.executemany("DELETE FROM digests WHERE path = ?", params)


async def _insert_digest(
    db: aiosqlite.Connection, path: str, digest: Digest, mtime_ns: int, size: int, now: str
) -> None:
    cursor = await db.execute(
        """
        INSERT INTO digests (path, slug, date, title, category, tags, summary, cover,
                             content_hash, mtime_ns, size, body, indexed_at, ord)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
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
        ),
    )
    for statement in _FULL_TEXT_ADD:
        await db.execute(statement.format(key="id"), (cursor.lastrowid,))
    await db.executemany(
        "INSERT INTO digest_tags (digest_id, tag, tag_key) VALUES (?, ?, ?)",
        [(cursor.lastrowid, tag, tag_key(tag)) for tag in digest.tags],
    )


async def _day_slot(db: aiosqlite.Connection, date: dt.date, slug: str) -> int:
    """The `ord` for a new digest: its day's base plus its rank by slug that day. The
    day's other digests move to their own rank where they are off it (the newcomer sorts
    before them, or one was deleted); usually none is, a day having one digest."""
    base = date.toordinal() * _DAY_SLOTS
    rows = await db.execute_fetchall(
        "SELECT id, slug, ord FROM digests WHERE date = ? ORDER BY slug", (date.isoformat(),)
    )
    if len(rows) >= _DAY_SLOTS:
        raise StoreError(f"more than {_DAY_SLOTS} digests are dated {date}")
    # Python orders str by code point, as SQLite orders UTF-8 text byte by byte.
    rank = sum(1 for r in rows if r["slug"] < slug)
    moves = [(r["id"], r["ord"], base + i + (i >= rank)) for i, r in enumerate(rows)]
    # Downward moves lowest first, then upward ones highest first: each lands on a free ord.
    ordered = [m for m in moves if m[2] < m[1]] + [m for m in reversed(moves) if m[2] > m[1]]
    for digest_id, _, new_ord in ordered:
        for statement in _FULL_TEXT_REMOVE:
            await db.execute(statement.format(key="id"), (digest_id,))
        await db.execute("UPDATE digests SET ord = ? WHERE id = ?", (new_ord, digest_id))
        for statement in _FULL_TEXT_ADD:
            await db.execute(statement.format(key="id"), (digest_id,))
    return base + rank


async def _page_rows(
    db: aiosqlite.Connection, ids_sql: str, params: dict[str, Any]
) -> list[sqlite3.Row]:
    """One page of entries, newest first. The page's ids are chosen first, so sorting
    never drags the other columns (bodies above all) along; `ids_sql` selects `d.id`
    from `digests d` and is a constant of this module, never built from input."""
    return list(
        await db.execute_fetchall(
            f"""
            SELECT {_ENTRY_COLUMNS} FROM digests d JOIN (
                {ids_sql} {_NEWEST_FIRST} LIMIT :limit OFFSET :offset
            ) AS page ON page.id = d.id
            {_NEWEST_FIRST}
            """,
            params,
        )
    )


def _relative(path: str, root: Path) -> str:
    try:
        return str(Path(path).relative_to(root))
    except ValueError:
        return path


def _entry(row: sqlite3.Row) -> DigestEntry:
    return DigestEntry(
        slug=row["slug"],
        path=Path(row["path"]),
        date=dt.date.fromisoformat(row["date"]),
        title=row["title"],
        category=row["category"],
        tags=tuple(json.loads(row["tags"])),
        summary=row["summary"],
        cover=row["cover"],
        content_hash=row["content_hash"],
    )


def _check_window(offset: int, limit: int) -> None:
    if offset < 0 or limit < 1:
        raise ValueError(f"bad page window: offset {offset}, limit {limit}")


def _month_range(month: str) -> tuple[str, str]:
    """ISO date bounds [first day, first day of the next month) for "YYYY-MM"."""
    match = _MONTH.fullmatch(month)
    if match is None or not 1 <= int(match[2]) <= 12:
        raise ValueError(f"{month!r} is not a month like 2026-02")
    year, number = int(match[1]), int(match[2])
    following = f"{year + 1:04d}-01" if number == 12 else f"{year:04d}-{number + 1:02d}"
    return f"{month}-01", f"{following}-01"


def _snippet(texts: Iterable[str], query: str) -> Snippet:
    """About SNIPPET_CHARS characters around the first case-insensitive match, with the
    Markdown emphasis/heading marks dropped and white space collapsed."""
    pattern = re.compile(re.escape(query), re.IGNORECASE)
    texts = [t for t in texts if t]
    for text in texts:
        found = pattern.search(text)
        if found is None:
            continue
        room = max(SNIPPET_CHARS - len(found[0]), 0)
        start = max(found.start() - room // 3, 0)
        end = min(found.end() + room - (found.start() - start), len(text))
        before = ("…" if start > 0 else "") + _plain(text[start : found.start()])
        after = _plain(text[found.end() : end]) + ("…" if end < len(text) else "")
        return Snippet(before.lstrip(), " ".join(found[0].split()), after.rstrip())
    # FTS5 and Python fold case a little differently; show the start rather than nothing.
    text = texts[-1] if texts else ""
    head = _plain(text[:SNIPPET_CHARS]).strip()
    return Snippet(head + ("…" if len(text) > SNIPPET_CHARS else ""), "", "")


def _plain(text: str) -> str:
    return re.sub(r"\s+", " ", _MARKUP.sub("", text))


def _search_grams(title: str, summary: str, body: str) -> str:
    """A digest's `digests_grams` document: the tokens of its distinct one- and
    two-character strings, case folded as LIKE folds. The SQL function `search_grams`."""
    # Each run of white space becomes one space, and strings holding it are left out: no
    # query holds white space (`search` splits it away). The space between fields keeps
    # a string from spanning two of them.
    text = " ".join(_fold_ascii("\n".join((title, summary, body))).split())
    grams = set(text)
    grams.update(map(str.__add__, text, text[1:]))
    # In no particular order: with detail = 'none' a token's place does not matter.
    return " ".join([_gram_token(g) for g in grams if " " not in g])


def _gram_token(gram: str) -> str:
    """A string as one token of FTS5's ascii tokenizer (letters and digits only), which
    also keeps user input from ever being read as query syntax."""
    return gram.encode().hex()


def _fold_ascii(text: str) -> str:
    """A-Z to a-z and nothing else, as SQLite's LIKE compares."""
    return text.encode().lower().decode()


def _chat_key(chat: int | str) -> str:
    """How a chat is stored: the id as text, or the @username in lower case (Telegram
    usernames are case-insensitive)."""
    if isinstance(chat, int) and not isinstance(chat, bool):
        return str(chat)
    if isinstance(chat, str):
        text = chat.strip()
        if re.fullmatch(r"-?\d+", text):
            return str(int(text))
        if text.startswith("@") and len(text) > 1:
            return text.lower()
    raise ValueError(f"{chat!r} is not a chat id or @username")


def _chat_value(key: str) -> int | str:
    return key if key.startswith("@") else int(key)


async def _latest_round(
    db: aiosqlite.Connection, slug: str, chat: str, thread: int
) -> Publication | None:
    rows = await db.execute_fetchall(
        """
        SELECT id FROM publications WHERE slug = ? AND chat = ? AND thread_id = ?
        ORDER BY round DESC LIMIT 1
        """,
        (slug, chat, thread),
    )
    return await _publication(db, rows[0]["id"]) if rows else None


async def _require_publication(db: aiosqlite.Connection, publication_id: int) -> None:
    if await _scalar(db, "SELECT 1 FROM publications WHERE id = ?", (publication_id,)) is None:
        raise LedgerError(f"there is no publication {publication_id}")


async def _publication(db: aiosqlite.Connection, publication_id: int) -> Publication:
    rows = await db.execute_fetchall("SELECT * FROM publications WHERE id = ?", (publication_id,))
    row = rows[0]
    parts = await db.execute_fetchall(
        """
        SELECT idx, payload, message_id FROM publication_parts
        WHERE publication_id = ? ORDER BY idx
        """,
        (publication_id,),
    )
    return Publication(
        id=row["id"],
        slug=row["slug"],
        chat=_chat_value(row["chat"]),
        thread_id=row["thread_id"] or None,
        round=row["round"],
        state=row["state"],
        content_hash=row["content_hash"],
        parts=tuple(Part(p["idx"], json.loads(p["payload"]), p["message_id"]) for p in parts),
        attempts=row["attempts"],
        last_error=row["last_error"],
        created_at=_time(row["created_at"]),
        updated_at=_time(row["updated_at"]),
        finished_at=_time(row["finished_at"]) if row["finished_at"] else None,
    )


def _now() -> str:
    # Fixed-width UTC ISO text sorts in time order, so ORDER BY updated_at works.
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)
