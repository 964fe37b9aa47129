"""The publication ledger: what was sent where, part by part, so posting is exactly once.

It is the source of truth for what is in the chats. A publication's Bot API calls are
stored as rendered when it starts, so a resume after a crash sends exactly the same calls;
each part is marked sent, with its message id, in its own transaction as soon as
Telegram confirmed it, so a restarted bot resumes at the first unconfirmed part.

Identity. A digest is its date and content, not its file name: a publication in a chat
counts as a posting of a digest when it has the digest's slug, or the same date and
content hash (a renamed file), or the same date while the file it was posted from is no
longer indexed (a renamed and changed file: a correction, not a new post). A publication
found by date follows its digest's new slug, so `publications.slug` always names the
file the archive knows.

Attempts. Before a part is sent, `start_attempt` stores the payload as it is about to
go out and the highest bot message id known in that chat (`chat_anchors`); every bot
message seen there afterwards lowers `probe_before`. A part whose attempt never got an
answer can only be at an id between the two, which is where the publisher looks for it.
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
    attempt: Attempt | None = None


@dataclass(frozen=True, slots=True)
class Attempt:
    """A send of a part that started and was never confirmed: it may be in the chat."""

    payload: dict[str, Any]
    chat: str
    started_at: dt.datetime
    after: int | None  # the highest bot message id known in the chat when it started
    before: int | None  # the lowest bot message id seen there since, if any


@dataclass(frozen=True, slots=True)
class Anchor:
    """The highest bot message id known in a chat, and whether ids there count up."""

    message_id: int
    sequential: bool


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
    digest_date: dt.date | None
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

    @property
    def sent_count(self) -> int:
        return sum(1 for p in self.parts if p.message_id is not None)


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
        day: dt.date | None = None,
    ) -> Publication:
        """The latest round of this digest in (chat, thread), done or pending, as it is
        (see "Identity" above); or, when there is none or `force` is set, a new round
        whose parts are all pending."""
        key, thread = chat_key(chat), thread_id or 0
        if not payloads:
            raise ValueError("a publication needs at least one part")
        # Stored as rendered now, so a resume after a crash sends exactly the same calls.
        encoded = [json.dumps(p, ensure_ascii=False, allow_nan=False) for p in payloads]
        async with self._db.write() as db:
            latest = await _recognised(db, slug, day, content_hash, key, thread)
            if latest is not None and not force:
                return latest
            now = now_text()
            cursor = await db.execute(
                """
                INSERT INTO publications (slug, content_hash, chat, thread_id, round, state,
                                          part_count, created_at, updated_at, digest_date)
                VALUES (:slug, :hash, :chat, :thread, :round, 'pending', :parts, :now, :now,
                        :day)
                """,
                {
                    "slug": slug,
                    "hash": content_hash,
                    "chat": key,
                    "thread": thread,
                    "round": latest.round + 1 if latest else 1,
                    "parts": len(encoded),
                    "now": now,
                    "day": day.isoformat() if day else None,
                },
            )
            publication_id = cursor.lastrowid
            assert publication_id is not None
            await db.executemany(
                "INSERT INTO publication_parts (publication_id, idx, payload) VALUES (?, ?, ?)",
                [(publication_id, i, payload) for i, payload in enumerate(encoded)],
            )
            return await _publication(db, publication_id)

    async def mark_part_sent(
        self,
        publication_id: int,
        idx: int,
        message_id: int,
        *,
        chat: int | str | None = None,
        sequential: bool = False,
    ) -> Publication:
        """Record that Telegram accepted a part (as `message_id` in `chat`, the chat's id as
        Telegram answered it); the last one completes the publication.

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
                "UPDATE publication_parts SET message_id = ?, sent_at = ?,"
                " attempt_started_at = NULL WHERE publication_id = ? AND idx = ?",
                (message_id, now, publication_id, idx),
            )
            if chat is not None:
                await _note(db, chat_key(chat), message_id, sequential, now)
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

    async def start_attempt(
        self, publication_id: int, idx: int, payload: dict[str, Any], chat: int | str
    ) -> None:
        """Before a part's request leaves: what is sent, where, and after which bot
        message, so that a send whose answer never comes can be looked for."""
        key = chat_key(chat)
        async with self._db.write() as db:
            await db.execute(
                """
                UPDATE publication_parts SET
                    attempt = :payload, attempt_started_at = :now, attempt_chat = :chat,
                    probe_after = (SELECT message_id FROM chat_anchors WHERE chat = :chat),
                    probe_before = NULL
                WHERE publication_id = :id AND idx = :idx AND message_id IS NULL
                """,
                {
                    "payload": json.dumps(payload, ensure_ascii=False, allow_nan=False),
                    "now": now_text(),
                    "chat": key,
                    "id": publication_id,
                    "idx": idx,
                },
            )

    async def clear_attempt(self, publication_id: int, idx: int) -> None:
        """The attempt certainly did not reach the chat (refused, or looked for and absent)."""
        async with self._db.write() as db:
            await db.execute(
                "UPDATE publication_parts SET attempt_started_at = NULL"
                " WHERE publication_id = ? AND idx = ?",
                (publication_id, idx),
            )

    async def note_bot_message(
        self, chat: int | str, message_id: int, *, sequential: bool = False
    ) -> None:
        """A message the bot sent to `chat` outside a publication (a reply, a card): it
        raises the chat's anchor, and bounds where an unconfirmed attempt can be."""
        async with self._db.write() as db:
            await _note(db, chat_key(chat), message_id, sequential, now_text())

    async def anchor(self, chat: int | str) -> Anchor | None:
        """The highest bot message id known in a chat."""
        async with self._db.read() as db:
            rows = await fetch_all(
                db,
                "SELECT message_id, sequential FROM chat_anchors WHERE chat = ?",
                (chat_key(chat),),
            )
        return Anchor(rows[0]["message_id"], bool(rows[0]["sequential"])) if rows else None

    async def previous_cover(self, publication: Publication) -> int | None:
        """The cover's message id of the digest posted to the same chat before this one."""
        async with self._db.read() as db:
            found = await scalar(
                db,
                """
                SELECT pp.message_id FROM publications p
                JOIN publication_parts pp ON pp.publication_id = p.id AND pp.idx = 0
                WHERE p.chat = ? AND p.thread_id = ? AND p.id != ? AND p.state = 'done'
                  AND pp.message_id IS NOT NULL
                ORDER BY p.finished_at DESC, p.id DESC LIMIT 1
                """,
                (chat_key(publication.chat), publication.thread_id or 0, publication.id),
            )
        return int(found) if found is not None else None

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
        self,
        slug: str,
        chat: int | str,
        thread_id: int | None,
        *,
        day: dt.date | None = None,
        content_hash: str | None = None,
    ) -> Publication | None:
        """The latest round of posting `slug` to a chat (or topic), if any; given the
        digest's date (and content hash), also under an old name (see "Identity"), which
        then follows the file's new name."""
        key, thread = chat_key(chat), thread_id or 0
        async with self._db.read() as db:
            found = await _latest_round(db, slug, key, thread)
            if found is not None or day is None:
                return found
            found = await _same_digest(db, day, content_hash, key, thread)
        if found is None:
            return None
        async with self._db.write() as db:
            return await _recognised(db, slug, day, content_hash or "", key, thread)

    async def posted_days(self, chat: int | str, thread_id: int | None) -> set[dt.date]:
        """The dates of the digests that have a publication in this chat (or topic)."""
        async with self._db.read() as db:
            rows = await fetch_all(
                db,
                "SELECT DISTINCT digest_date FROM publications"
                " WHERE chat = ? AND thread_id = ? AND digest_date IS NOT NULL",
                (chat_key(chat), thread_id or 0),
            )
        return {dt.date.fromisoformat(r["digest_date"]) for r in rows}

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


async def _recognised(
    db: aiosqlite.Connection,
    slug: str,
    day: dt.date | None,
    content_hash: str,
    chat: str,
    thread: int,
) -> Publication | None:
    """The latest round of this digest by slug, else by identity, renamed to `slug`."""
    found = await _latest_round(db, slug, chat, thread)
    if found is not None or day is None:
        return found
    found = await _same_digest(db, day, content_hash, chat, thread)
    if found is None:
        return None
    clash = await scalar(
        db,
        "SELECT 1 FROM publications WHERE slug = ? AND chat = ? AND thread_id = ?",
        (slug, chat, thread),
    )
    if clash is None:  # the members' "released" join follows the file's new name
        await db.execute(
            "UPDATE publications SET slug = ? WHERE slug = ? AND chat = ? AND thread_id = ?",
            (slug, found.slug, chat, thread),
        )
    return await _publication(db, found.id)


async def _same_digest(
    db: aiosqlite.Connection, day: dt.date, content_hash: str | None, chat: str, thread: int
) -> Publication | None:
    """A publication of the digest dated `day` with this content, or whose file is gone."""
    rows = await fetch_all(
        db,
        """
        SELECT p.id FROM publications p
        WHERE p.chat = ? AND p.thread_id = ? AND p.digest_date = ?
          AND (p.content_hash = ? OR NOT EXISTS (SELECT 1 FROM digests d WHERE d.slug = p.slug))
        ORDER BY p.round DESC, p.id DESC LIMIT 1
        """,
        (chat, thread, day.isoformat(), content_hash or ""),
    )
    return await _publication(db, rows[0]["id"]) if rows else None


async def _note(
    db: aiosqlite.Connection, chat: str, message_id: int, sequential: bool, now: str
) -> None:
    await db.execute(
        """
        INSERT INTO chat_anchors (chat, message_id, sequential, updated_at)
        VALUES (?, ?, ?, ?)
        ON CONFLICT (chat) DO UPDATE SET
            message_id = max(message_id, excluded.message_id),
            sequential = max(sequential, excluded.sequential),
            updated_at = excluded.updated_at
        """,
        (chat, message_id, int(sequential), now),
    )
    # An unconfirmed attempt in this chat is before any bot message sent after it.
    await db.execute(
        """
        UPDATE publication_parts SET probe_before = min(coalesce(probe_before, ?), ?)
        WHERE attempt_chat = ? AND attempt_started_at IS NOT NULL AND message_id IS NULL
          AND (probe_after IS NULL OR probe_after < ?)
        """,
        (message_id, message_id, chat, message_id),
    )


async def _require_publication(db: aiosqlite.Connection, publication_id: int) -> None:
    if await scalar(db, "SELECT 1 FROM publications WHERE id = ?", (publication_id,)) is None:
        raise LedgerError(f"there is no publication {publication_id}")


async def _publication(db: aiosqlite.Connection, publication_id: int) -> Publication:
    rows = await fetch_all(db, "SELECT * FROM publications WHERE id = ?", (publication_id,))
    row = rows[0]
    parts = await fetch_all(
        db,
        """
        SELECT idx, payload, message_id, attempt, attempt_started_at, attempt_chat,
               probe_after, probe_before
        FROM publication_parts WHERE publication_id = ? ORDER BY idx
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
        digest_date=dt.date.fromisoformat(row["digest_date"]) if row["digest_date"] else None,
        parts=tuple(
            Part(p["idx"], json.loads(p["payload"]), p["message_id"], _attempt(p)) for p in parts
        ),
        attempts=row["attempts"],
        last_error=row["last_error"],
        created_at=parse_time(row["created_at"]),
        updated_at=parse_time(row["updated_at"]),
        finished_at=parse_time(row["finished_at"]) if row["finished_at"] else None,
    )


def _attempt(row: aiosqlite.Row) -> Attempt | None:
    if row["attempt_started_at"] is None or row["message_id"] is not None:
        return None
    return Attempt(
        payload=json.loads(row["attempt"]),
        chat=row["attempt_chat"],
        started_at=parse_time(row["attempt_started_at"]),
        after=row["probe_after"],
        before=row["probe_before"],
    )
