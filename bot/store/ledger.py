"""The publication ledger: what was sent where, part by part, so posting is exactly once.

It is the source of truth for what is in the chats. A publication's Bot API calls are
stored as rendered when it starts, so a resume after a crash sends exactly the same calls;
each part is marked sent, with its message id, in its own transaction as soon as
Telegram confirmed it, so a restarted bot resumes at the first unconfirmed part.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite

from bot.store.db import Database, StoreError, fetch_all, now_text, parse_time, scalar

MAX_ERROR_CHARS = 1000


class LedgerError(StoreError):
    """A publication update that would break the ledger's order or history."""


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


class Ledger:
    """Publications by (slug, chat, topic) and round; parts in order."""

    def __init__(self, db: Database) -> None:
        self._db = db

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
        key, thread = chat_key(chat), thread_id or 0
        if not payloads:
            raise ValueError("a publication needs at least one part")
        # Stored as rendered now, so a resume after a crash sends exactly the same calls.
        encoded = [json.dumps(p, ensure_ascii=False, allow_nan=False) for p in payloads]
        async with self._db.write() as db:
            latest = await _latest_round(db, slug, key, thread)
            if latest is not None and not force:
                return latest
            now = now_text()
            cursor = await db.execute(
                """
                INSERT INTO publications (slug, content_hash, chat, thread_id, round, state,
                                          part_count, created_at, updated_at)
                VALUES (:slug, :hash, :chat, :thread, :round, 'pending', :parts, :now, :now)
                """,
                {
                    "slug": slug,
                    "hash": content_hash,
                    "chat": key,
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
        async with self._db.write() as db:
            await _require_publication(db, publication_id)
            rows = await fetch_all(
                db,
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
            first_pending = await scalar(
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
            now = now_text()
            await db.execute(
                "UPDATE publication_parts SET message_id = ?, sent_at = ?"
                " WHERE publication_id = ? AND idx = ?",
                (message_id, now, publication_id, idx),
            )
            still_pending = await scalar(
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
        async with self._db.write() as db:
            await _require_publication(db, publication_id)
            await db.execute(
                """
                UPDATE publications SET attempts = attempts + 1, last_error = ?, updated_at = ?
                WHERE id = ?
                """,
                (error[:MAX_ERROR_CHARS], now_text(), publication_id),
            )

    async def record_correction(
        self, publication_id: int, content_hash: str, payloads: Sequence[dict[str, Any]]
    ) -> Publication:
        """The posted messages were edited in place: keep what they now say, so that a
        later resume, correction or /latest starts from the truth."""
        async with self._db.write() as db:
            publication = await _publication(db, publication_id)
            if not publication.done or len(publication.parts) != len(payloads):
                raise LedgerError(
                    f"publication {publication_id} can only be corrected when it is done "
                    f"and keeps its {len(publication.parts)} parts"
                )
            now = now_text()
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
        async with self._db.read() as db:
            return await _latest_round(db, slug, chat_key(chat), thread_id or 0)

    async def pending_publications(self) -> list[Publication]:
        """Unfinished publications to resume, oldest first. A pending round that a forced
        newer round superseded is left alone: resuming it would post the digest twice."""
        async with self._db.read() as db:
            rows = await fetch_all(
                db,
                """
                SELECT p.id FROM publications p
                WHERE p.state = 'pending' AND p.round = (
                    SELECT max(q.round) FROM publications q
                    WHERE q.slug = p.slug AND q.chat = p.chat AND q.thread_id = p.thread_id
                )
                ORDER BY p.created_at, p.id
                """,
            )
            return [await _publication(db, r["id"]) for r in rows]

    async def last_publication(self) -> Publication | None:
        """The most recently updated publication, for /status."""
        async with self._db.read() as db:
            rows = await fetch_all(
                db, "SELECT id FROM publications ORDER BY updated_at DESC, id DESC LIMIT 1"
            )
            return await _publication(db, rows[0]["id"]) if rows else None

    async def published_slugs(self, chat: int | str, thread_id: int | None) -> set[str]:
        """Slugs with a publication in this chat (or topic), finished or started."""
        async with self._db.read() as db:
            rows = await fetch_all(
                db,
                "SELECT DISTINCT slug FROM publications WHERE chat = ? AND thread_id = ?",
                (chat_key(chat), thread_id or 0),
            )
        return {r["slug"] for r in rows}


def chat_key(chat: int | str) -> str:
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
    rows = await fetch_all(
        db,
        """
        SELECT id FROM publications WHERE slug = ? AND chat = ? AND thread_id = ?
        ORDER BY round DESC LIMIT 1
        """,
        (slug, chat, thread),
    )
    return await _publication(db, rows[0]["id"]) if rows else None


async def _require_publication(db: aiosqlite.Connection, publication_id: int) -> None:
    if await scalar(db, "SELECT 1 FROM publications WHERE id = ?", (publication_id,)) is None:
        raise LedgerError(f"there is no publication {publication_id}")


async def _publication(db: aiosqlite.Connection, publication_id: int) -> Publication:
    rows = await fetch_all(db, "SELECT * FROM publications WHERE id = ?", (publication_id,))
    row = rows[0]
    parts = await fetch_all(
        db,
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
        created_at=parse_time(row["created_at"]),
        updated_at=parse_time(row["updated_at"]),
        finished_at=parse_time(row["finished_at"]) if row["finished_at"] else None,
    )
