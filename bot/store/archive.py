"""The archive: what the commands list and show, read from the index alone.

The index is a cache of the content folder (see sync.py), so no command ever parses
Markdown; pages are chosen by id first, so sorting never drags the bodies along.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite

from bot.digest import tag_key
from bot.store.db import Database, fetch_all, scalar

ENTRY_COLUMNS = (
    "d.slug, d.path, d.date, d.title, d.category, d.tags, d.summary, d.cover, d.content_hash"
)
NEWEST_FIRST = "ORDER BY d.date DESC, d.slug DESC"
# The ids of a page among a set of digests (an `IN` subquery to append): the date index
# is walked newest first until the page is full, so a common tag costs a page, not a sort
# of every digest carrying it. INDEXED BY turns a plan change into an error.
_WALK_NEWEST_FIRST = "SELECT d.id FROM digests d INDEXED BY digests_by_date WHERE d.id IN"
_MONTH = re.compile(r"(\d{4})-(\d{2})")


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


class Archive:
    """Queries over the indexed digests, newest first."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, slug: str) -> DigestEntry | None:
        async with self._db.read() as db:
            rows = await fetch_all(
                db, f"SELECT {ENTRY_COLUMNS} FROM digests d WHERE d.slug = ?", (slug,)
            )
        return entry_from_row(rows[0]) if rows else None

    async def by_date(self, date: dt.date) -> list[DigestEntry]:
        async with self._db.read() as db:
            rows = await fetch_all(
                db,
                f"SELECT {ENTRY_COLUMNS} FROM digests d WHERE d.date = ? {NEWEST_FIRST}",
                (date.isoformat(),),
            )
        return [entry_from_row(r) for r in rows]

    async def latest(self, on_or_before: dt.date | None = None) -> DigestEntry | None:
        """The newest digest, or the newest dated on or before a day (e.g. "today" in the
        publishing time zone, so a digest prepared for tomorrow is not shown early)."""
        limit = (on_or_before or dt.date.max).isoformat()
        async with self._db.read() as db:
            rows = await fetch_all(
                db,
                f"SELECT {ENTRY_COLUMNS} FROM digests d WHERE d.date <= ? {NEWEST_FIRST} LIMIT 1",
                (limit,),
            )
        return entry_from_row(rows[0]) if rows else None

    async def page(
        self, offset: int, limit: int, *, month: str | None = None
    ) -> tuple[list[DigestEntry], int]:
        """A page of the archive, newest first, optionally one month ("2026-02"); and the total."""
        check_window(offset, limit)
        # ISO dates sort as text, so a month is a half-open range of strings.
        first, after = _month_range(month) if month is not None else ("", "9999-99")
        async with self._db.read() as db:
            rows = await _page_rows(
                db,
                "SELECT d.id FROM digests d WHERE d.date >= :first AND d.date < :after",
                {"first": first, "after": after, "limit": limit, "offset": offset},
            )
            total = await scalar(
                db, "SELECT count(*) FROM digests WHERE date >= ? AND date < ?", (first, after)
            )
        return [entry_from_row(r) for r in rows], total

    async def tags(self) -> list[tuple[str, int]]:
        """Every tag with its number of digests, most used first; spellings that differ only
        in case or spaces count as one tag, shown in its most common spelling."""
        async with self._db.read() as db:
            rows = await fetch_all(
                db,
                """
                WITH spellings AS (
                    SELECT tag_key, tag, count(*) AS n FROM digest_tags GROUP BY tag_key, tag
                ), ranked AS (
                    SELECT tag, sum(n) OVER (PARTITION BY tag_key) AS total,
                           row_number() OVER (PARTITION BY tag_key ORDER BY n DESC, tag) AS rank
                    FROM spellings
                )
                SELECT tag, total FROM ranked WHERE rank = 1 ORDER BY total DESC, tag
                """,
            )
        return [(r["tag"], r["total"]) for r in rows]

    async def with_tag(self, tag: str, offset: int, limit: int) -> tuple[list[DigestEntry], int]:
        """Digests carrying a tag, compared as `tag_key` does (`ai日报` finds `AI 日报`)."""
        check_window(offset, limit)
        key = tag_key(tag)
        async with self._db.read() as db:
            rows = await _page_rows(
                db,
                f"{_WALK_NEWEST_FIRST} (SELECT digest_id FROM digest_tags WHERE tag_key = :key)",
                {"key": key, "limit": limit, "offset": offset},
            )
            total = await scalar(db, "SELECT count(*) FROM digest_tags WHERE tag_key = ?", (key,))
        return [entry_from_row(r) for r in rows], total

    async def failures(self) -> list[tuple[Path, str]]:
        async with self._db.read() as db:
            rows = await fetch_all(db, "SELECT path, reason FROM load_failures ORDER BY path")
        return [(Path(r["path"]), r["reason"]) for r in rows]

    async def count(self) -> int:
        async with self._db.read() as db:
            return int(await scalar(db, "SELECT count(*) FROM digests"))


async def _page_rows(
    db: aiosqlite.Connection, ids_sql: str, params: dict[str, Any]
) -> list[sqlite3.Row]:
    """One page of entries, newest first. The page's ids are chosen first, so sorting
    never drags the other columns (bodies above all) along; `ids_sql` selects `d.id`
    from `digests d` and is a constant of this module, never built from input."""
    return list(
        await fetch_all(
            db,
            f"""
            SELECT {ENTRY_COLUMNS} FROM digests d JOIN (
                {ids_sql} {NEWEST_FIRST} LIMIT :limit OFFSET :offset
            ) AS page ON page.id = d.id
            {NEWEST_FIRST}
            """,
            params,
        )
    )


def entry_from_row(row: sqlite3.Row) -> DigestEntry:
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


def check_window(offset: int, limit: int) -> None:
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
