"""Members who have started the bot in private: a first contact is greeted once."""

from __future__ import annotations

from bot.store.db import Database, now_text


class Members:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def first_contact(self, user_id: int) -> bool:
        """Note that the member has started the bot; True only the first time."""
        async with self._db.write() as db:
            cursor = await db.execute(
                "INSERT INTO members (user_id, first_seen) VALUES (?, ?)"
                " ON CONFLICT (user_id) DO NOTHING",
                (user_id, now_text()),
            )
            return cursor.rowcount == 1

    async def has_started(self, user_id: int) -> bool:
        """Whether the member has ever started the bot (so the bot may write to them)."""
        async with self._db.read() as db:
            rows = await db.execute_fetchall("SELECT 1 FROM members WHERE user_id = ?", (user_id,))
        return bool(list(rows))
