"""The connection: pragmas, migrations, and transactions kept apart on one connection.

One aiosqlite connection serves every coroutine; an asyncio lock keeps their
transactions from interleaving, and every read or write is a whole transaction.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from bot.store import schema

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000


class StoreError(Exception):
    """The database cannot be used as asked."""


class Database:
    """The bot's SQLite file. Open with `await Database.open(path)`; close it when done."""

    def __init__(self, connection: aiosqlite.Connection, path: Path) -> None:
        self._connection: aiosqlite.Connection | None = connection
        self._lock = asyncio.Lock()
        self.path = path
        self._identity = _identity(path)

    @classmethod
    async def open(cls, path: Path) -> Database:
        """Open, creating the file and upgrading its schema as needed."""
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        connection = await aiosqlite.connect(path, isolation_level=None)
        try:
            connection.row_factory = aiosqlite.Row
            await _configure(connection, path)
            await _migrate(connection, path)
        except BaseException:
            await connection.close()
            raise
        return cls(connection, path)

    async def close(self) -> None:
        async with self._lock:
            if self._connection is not None:
                await self._connection.close()
                self._connection = None

    @asynccontextmanager
    async def read(self) -> AsyncIterator[aiosqlite.Connection]:
        """A consistent snapshot across several statements."""
        async with self._lock:
            connection = self._open_connection()
            async with _transaction(connection, "BEGIN"):
                yield connection

    @asynccontextmanager
    async def write(self) -> AsyncIterator[aiosqlite.Connection]:
        """All or nothing; IMMEDIATE takes the write lock up front, so no upgrade deadlock."""
        async with self._lock:
            connection = self._open_connection()
            async with _transaction(connection, "BEGIN IMMEDIATE"):
                yield connection

    def file_problem(self) -> str | None:
        """Whether the file this connection writes to is still the one at `path`.

        A deleted or replaced file does not stop SQLite: it goes on writing to the old,
        now invisible, inode, and everything seems fine until the restart.
        """
        identity = _identity(self.path)
        if identity is None:
            return f"the database file {self.path} was deleted while the bot runs"
        if identity != self._identity:
            return f"the database file {self.path} was replaced while the bot runs"
        return None

    async def schema_version(self) -> int:
        async with self.read() as db:
            return await _user_version(db)

    def _open_connection(self) -> aiosqlite.Connection:
        if self._connection is None:
            raise StoreError(f"the store {self.path} is closed")
        return self._connection


async def scalar(
    db: aiosqlite.Connection, sql: str, params: Sequence[Any] | dict[str, Any] = ()
) -> Any:
    """The first column of the first row, or None."""
    async with db.execute(sql, params) as cursor:
        row = await cursor.fetchone()
    return None if row is None else row[0]


async def fetch_all(
    db: aiosqlite.Connection, sql: str, params: Sequence[Any] | dict[str, Any] = ()
) -> list[aiosqlite.Row]:
    """Every row, as a list (aiosqlite types them as a mere iterable)."""
    return list(await db.execute_fetchall(sql, params))


def now_text() -> str:
    """The time as stored: fixed-width UTC ISO text sorts in time order."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def parse_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_dev, stat.st_ino


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
    await db.create_function("search_grams", -1, schema.search_grams, deterministic=True)
    await db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    await db.execute("PRAGMA foreign_keys = ON")
    mode = await scalar(db, "PRAGMA journal_mode = WAL")
    if str(mode).lower() != "wal":
        log.warning("%s: SQLite refused WAL mode (%s); continuing without it", path, mode)
    # FULL makes each commit durable on power loss too, not only on a crash; the ledger
    # writes a handful of rows a day, so the fsync costs nothing that matters.
    await db.execute("PRAGMA synchronous = FULL")


async def _migrate(db: aiosqlite.Connection, path: Path) -> None:
    """Apply the missing migrations, each in its own transaction with its version bump."""
    target = len(schema.MIGRATIONS)
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
            for statement in schema.MIGRATIONS[version]:
                await db.execute(statement)
            # PRAGMA takes no parameters; the value is an int computed here, not input.
            await db.execute(f"PRAGMA user_version = {version + 1:d}")
        log.info("%s: schema upgraded to version %d", path, version + 1)


async def _user_version(db: aiosqlite.Connection) -> int:
    return int(await scalar(db, "PRAGMA user_version"))
