"""Inline keyboards and their callback data, which must fit Telegram's 64 bytes.

Callback data is `kind:arg:arg`; `parse` accepts anything a client may send (stale,
truncated or forged) and returns None for what it does not recognise.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import InlineKeyboardButtonLimit

from bot.digest import tag_key
from bot.store import DigestEntry

MAX_DATA = InlineKeyboardButtonLimit.MAX_CALLBACK_DATA  # bytes
MAX_BUTTON_TEXT = 48

ARCHIVE, TAG, TAGS, SEARCH, OPEN, PUBLISH, CANCEL = "a", "t", "T", "s", "d", "p", "x"
# The archive's first page as a new message: under a digest, an edit would replace it.
ARCHIVE_NEW = "A"
# /publish: post once, post again, or edit the posted messages in place.
NEW, FORCE, UPDATE = "new", "force", "update"
PUBLISH_MODES = (NEW, FORCE, UPDATE)
DEEP_LINK = "d_"  # /start d_<slug>


@dataclass(frozen=True, slots=True)
class Press:
    """A decoded button press."""

    kind: str
    page: int = 0
    value: str = ""
    mode: str = ""


def data(kind: str, *args: object) -> str:
    encoded = ":".join([kind, *map(str, args)])
    if len(encoded.encode()) > MAX_DATA:
        raise ValueError(f"callback data over {MAX_DATA} bytes: {encoded!r}")
    return encoded


def fits(kind: str, *args: object) -> bool:
    return len(":".join([kind, *map(str, args)]).encode()) <= MAX_DATA


def parse(raw: str | None) -> Press | None:
    if not raw or len(raw.encode()) > MAX_DATA:
        return None
    kind, _, rest = raw.partition(":")
    try:
        if kind in (ARCHIVE, TAG, SEARCH, TAGS):
            page, _, value = rest.partition(":")
            number = int(page)
            return Press(kind, number, value) if 0 <= number < 10_000 else None
        if kind == OPEN and rest:
            return Press(kind, value=rest)
        if kind == PUBLISH:
            slug, _, mode = rest.rpartition(":")
            return Press(kind, value=slug, mode=mode) if slug and mode in PUBLISH_MODES else None
        if kind in (CANCEL, ARCHIVE_NEW) and not rest:
            return Press(kind)
    except ValueError:
        return None
    return None


def tag_token(tag: str) -> str:
    """A tag in callback data: its key, or a short hash of it when the key is long."""
    key = tag_key(tag)
    if fits(TAG, 9999, key):
        return key
    return "#" + hashlib.sha1(key.encode()).hexdigest()[:12]


def day_label(day: dt.date, this_year: int) -> str:
    """A date as a label: `02-21` in the current year, `2099-01-01` in any other."""
    return f"{day:%m-%d}" if day.year == this_year else day.isoformat()


def button_text(text: str) -> str:
    return text if len(text) <= MAX_BUTTON_TEXT else text[: MAX_BUTTON_TEXT - 1] + "…"


def pager(
    kind: str, page: int, pages: int, value: str, previous: str, following: str
) -> list[InlineKeyboardButton]:
    """A row of ◀ ▶ buttons for a paged list, or nothing when one page holds it all."""
    row: list[InlineKeyboardButton] = []
    if page > 0:
        row.append(InlineKeyboardButton(previous, callback_data=data(kind, page - 1, value)))
    if page + 1 < pages:
        row.append(InlineKeyboardButton(following, callback_data=data(kind, page + 1, value)))
    return row


def open_url(bot_username: str, slug: str) -> str:
    """A deep link that opens one digest in the private chat with the bot."""
    return f"https://t.me/{bot_username}?start={DEEP_LINK}{slug}"


def digest_button(label: str, entry: DigestEntry, bot_username: str | None) -> InlineKeyboardButton:
    """A button that opens a digest: a callback in private chats, a deep link (with the
    bot's username) from groups, so that opening a digest never posts it in the group."""
    if bot_username:
        return InlineKeyboardButton(label, url=open_url(bot_username, entry.slug))
    return InlineKeyboardButton(label, callback_data=data(OPEN, entry.slug))


def digest_buttons(
    entries: list[DigestEntry], *, bot_username: str | None, this_year: int
) -> list[list[InlineKeyboardButton]]:
    """One button per digest, labelled with its date and title."""
    return [
        [
            digest_button(
                button_text(f"{day_label(entry.date, this_year)} {entry.title}"),
                entry,
                bot_username,
            )
        ]
        for entry in entries
    ]


def markup(rows: list[list[InlineKeyboardButton]]) -> InlineKeyboardMarkup | None:
    rows = [row for row in rows if row]
    return InlineKeyboardMarkup(rows) if rows else None
