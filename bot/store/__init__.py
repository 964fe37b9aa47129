"""The bot's one SQLite file, by concept.

- `db`: the connection, its pragmas and transactions; `schema`: the migrations.
- `archive`: what the commands list and show; `search`: full text over the archive.
- `sync`: the content folder → the archive index (a cache of the folder).
- `ledger`: what was posted where, part by part — the source of truth for exactly-once.
- `members`: who has started the bot in private.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Self

from bot.store.archive import Archive, DigestEntry, Released
from bot.store.db import Database, StoreError
from bot.store.ledger import Anchor, Attempt, Ledger, LedgerError, Part, Publication
from bot.store.members import Members
from bot.store.schema import SCHEMA_VERSION
from bot.store.search import Search, SearchHit, SearchPage, Snippet
from bot.store.sync import ContentMissing, SyncReport, sync_content

__all__ = [
    "SCHEMA_VERSION",
    "Anchor",
    "Archive",
    "Attempt",
    "ContentMissing",
    "Database",
    "DigestEntry",
    "Ledger",
    "LedgerError",
    "Members",
    "Part",
    "Publication",
    "Released",
    "Search",
    "SearchHit",
    "SearchPage",
    "Snippet",
    "Store",
    "StoreError",
    "SyncReport",
]


class Store:
    """The database with its views; open with `await Store.open(path)`."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.archive = Archive(db)
        self.search = Search(db)
        self.ledger = Ledger(db)
        self.members = Members(db)

    @classmethod
    async def open(cls, path: Path) -> Store:
        return cls(await Database.open(path))

    @property
    def path(self) -> Path:
        return self.db.path

    async def sync_content(
        self, content_dir: Path, *, max_bytes: int, settle_seconds: float = 0.0
    ) -> SyncReport:
        """Bring the archive index in line with the folder (see sync.py)."""
        return await sync_content(
            self.db, content_dir, max_bytes=max_bytes, settle_seconds=settle_seconds
        )

    async def schema_version(self) -> int:
        return await self.db.schema_version()

    async def close(self) -> None:
        await self.db.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
