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
from bot.render import hashtag
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
# The digests members may not see yet (by `{key}`, the id or the ord): dated after the last
# day whose window has opened, and not posted to the first target — the ledger has no
# finished round there, nor a round with a part Telegram confirmed. Few rows: the date
# index finds them, the ledger's index answers for each.
_UNRELEASED = """
    SELECT h.{key} FROM digests h WHERE h.date > :released_through AND NOT EXISTS (
        SELECT 1 FROM publications p
        WHERE p.slug = h.slug AND p.chat = :released_chat AND p.thread_id = :released_thread
          AND (p.state = 'done' OR EXISTS (
              SELECT 1 FROM publication_parts pp
              WHERE pp.publication_id = p.id AND pp.message_id IS NOT NULL))
    )"""


@dataclass(frozen=True, slots=True)
class Released:
    """What members may see: digests posted to the first publication target (`chat` as
    the ledger keys it, `thread_id` 0 for none), and those dated `through` or earlier, the
    days whose publication window has opened. `bot.release.released` builds it."""

    chat: str
    thread_id: int
    through: dt.date

    def params(self) -> dict[str, Any]:
        return {
            "released_chat": self.chat,
            "released_thread": self.thread_id,
            "released_through": self.through.isoformat(),
        }


def visible(released: Released | None, column: str, key: str = "id") -> str:
    """An SQL condition on `column`, a digest's `key` (id or ord): true for the digests
    `released` lets members see, always true without it (admins see everything). Its
    parameters are `released.params()`; the text is built from constants only."""
    if released is None:
        return "1"
    return f"{column} NOT IN ({_UNRELEASED.format(key=key)})"


def released_params(released: Released | None, **values: Any) -> dict[str, Any]:
    return values | (released.params() if released is not None else {})


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
    """Queries over the indexed digests, newest first: every digest, or with `released`
    only those members may see (`only`)."""

    def __init__(self, db: Database, released: Released | None = None) -> None:
        self._db = db
        self._released = released

    def only(self, released: Released) -> Archive:
        """The same archive as members see it."""
        return Archive(self._db, released)

    def _visible(self, column: str = "d.id") -> str:
        return visible(self._released, column)

    def _params(self, **values: Any) -> dict[str, Any]:
        return released_params(self._released, **values)

    async def get(self, slug: str) -> DigestEntry | None:
        async with self._db.read() as db:
            rows = await fetch_all(
                db,
                f"SELECT {ENTRY_COLUMNS} FROM digests d WHERE d.slug = :slug AND {self._visible()}",
                self._params(slug=slug),
            )
        return entry_from_row(rows[0]) if rows else None

    async def by_date(self, date: dt.date) -> list[DigestEntry]:
        async with self._db.read() as db:
            rows = await fetch_all(
                db,
                f"SELECT {ENTRY_COLUMNS} FROM digests d WHERE d.date = :date"
                f" AND {self._visible()} {NEWEST_FIRST}",
                self._params(date=date.isoformat()),
            )
        return [entry_from_row(r) for r in rows]

    async def neighbours(self, entry: DigestEntry) -> tuple[DigestEntry | None, DigestEntry | None]:
        """The digests just older and just newer than `entry`, in archive order."""
        found = []
        for compare, order in (("<", NEWEST_FIRST), (">", "ORDER BY d.date, d.slug")):
            async with self._db.read() as db:
                rows = await fetch_all(
                    db,
                    f"SELECT {ENTRY_COLUMNS} FROM digests d INDEXED BY digests_by_date"
                    f" WHERE (d.date, d.slug) {compare} (:date, :slug) AND {self._visible()}"
                    f" {order} LIMIT 1",
                    self._params(date=entry.date.isoformat(), slug=entry.slug),
                )
            found.append(entry_from_row(rows[0]) if rows else None)
        return found[0], found[1]

    async def latest(self, on_or_before: dt.date | None = None) -> DigestEntry | None:
        """The newest digest, or the newest dated on or before a day (e.g. "today" in the
        publishing time zone, so a digest prepared for tomorrow is not shown early)."""
        limit = (on_or_before or dt.date.max).isoformat()
        async with self._db.read() as db:
            rows = await fetch_all(
                db,
                f"SELECT {ENTRY_COLUMNS} FROM digests d WHERE d.date <= :limit"
                f" AND {self._visible()} {NEWEST_FIRST} LIMIT 1",
                self._params(limit=limit),
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
            where = f"d.date >= :first AND d.date < :after AND {self._visible()}"
            params = self._params(first=first, after=after, limit=limit, offset=offset)
            rows = await _page_rows(db, f"SELECT d.id FROM digests d WHERE {where}", params)
            total = await scalar(db, f"SELECT count(*) FROM digests d WHERE {where}", params)
        return [entry_from_row(r) for r in rows], total

    async def tags(self) -> list[tuple[str, int]]:
        """Every tag with its number of digests, most used first; spellings that differ only
        in case or spaces count as one tag, shown in its most common spelling."""
        async with self._db.read() as db:
            rows = await fetch_all(
                db,
                f"""
                WITH spellings AS (
                    SELECT tag_key, tag, count(*) AS n FROM digest_tags
                    WHERE {self._visible("digest_id")} GROUP BY tag_key, tag
                ), ranked AS (
                    SELECT tag, sum(n) OVER (PARTITION BY tag_key) AS total,
                           row_number() OVER (PARTITION BY tag_key ORDER BY n DESC, tag) AS rank
                    FROM spellings
                )
                SELECT tag, total FROM ranked WHERE rank = 1 ORDER BY total DESC, tag
                """,
                self._params(),
            )
        return [(r["tag"], r["total"]) for r in rows]

    async def with_tag(self, tag: str, offset: int, limit: int) -> tuple[list[DigestEntry], int]:
        """Digests carrying a tag, compared as `tag_key` does (`ai日报` finds `AI 日报`),
        or as the tag's hashtag in the covers reads (`#Cpp` finds `C++`)."""
        check_window(offset, limit)
        tagged = (
            "SELECT digest_id FROM digest_tags WHERE tag_key IN"
            " (SELECT value FROM json_each(:keys))"
        )
        async with self._db.read() as db:
            keys = await _tag_keys(db, tag)
            params = self._params(keys=json.dumps(keys), limit=limit, offset=offset)
            rows = await _page_rows(
                db, f"{_WALK_NEWEST_FIRST} ({tagged}) AND {self._visible()}", params
            )
            total = await scalar(
                db,
                f"SELECT count(DISTINCT digest_id) FROM ({tagged})"
                f" WHERE {self._visible('digest_id')}",
                params,
            )
        return [entry_from_row(r) for r in rows], total

    async def failures(self) -> list[tuple[Path, str]]:
        async with self._db.read() as db:
            rows = await fetch_all(db, "SELECT path, reason FROM load_failures ORDER BY path")
        return [(Path(r["path"]), r["reason"]) for r in rows]

    async def count(self) -> int:
        async with self._db.read() as db:
            return int(await scalar(db, "SELECT count(*) FROM digests"))


def tag_matches(tag: str, name: str) -> bool:
    """Whether a member's `name` (`LLM`, `#llm`, `ai日报`) names `tag`: compared as
    `tag_key` does, or as the tag's hashtag in the covers reads (`#Cpp` names `C++`)."""
    wanted = tag_key(name.lstrip("#"))
    return wanted in (tag_key(tag), tag_key(hashtag(tag).lstrip("#")))


async def _tag_keys(db: aiosqlite.Connection, name: str) -> list[str]:
    """The `tag_key`s of the tags a member's tag name names (see `tag_matches`)."""
    spelled = await fetch_all(db, "SELECT DISTINCT tag_key, tag FROM digest_tags")
    keys = {r["tag_key"] for r in spelled if tag_matches(r["tag"], name)}
    return sorted(keys | {tag_key(name.lstrip("#"))})


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
