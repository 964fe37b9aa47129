"""Inline keyboards and their callback data, which must fit Telegram's 64 bytes.

Callback data is `kind:arg:arg`; `parse` accepts anything a client may send (stale,
truncated or forged) and returns None for what it does not recognise.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import InlineKeyboardButtonLimit

from bot.digest import tag_key
from bot.store import DigestEntry

MAX_DATA = InlineKeyboardButtonLimit.MAX_CALLBACK_DATA  # bytes
MAX_BUTTON_TEXT = 48

ARCHIVE, TAG, TAGS, SEARCH, OPEN, PUBLISH, CANCEL = "a", "t", "T", "s", "d", "p", "x"
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
        if kind == CANCEL:
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


def digest_buttons(
    entries: list[DigestEntry], *, bot_username: str | None
) -> list[list[InlineKeyboardButton]]:
    """One button per digest: a callback in private chats, a deep link (with the bot's
    username) from groups, so that opening a digest never posts it in the group."""
    rows = []
    for entry in entries:
        label = button_text(f"{entry.date:%m-%d} {entry.title}")
        if bot_username:
            button = InlineKeyboardButton(label, url=open_url(bot_username, entry.slug))
        else:
            button = InlineKeyboardButton(label, callback_data=data(OPEN, entry.slug))
        rows.append([button])
    return rows


def markup(rows: list[list[InlineKeyboardButton]]) -> InlineKeyboardMarkup | None:
    rows = [row for row in rows if row]
    return InlineKeyboardMarkup(rows) if rows else None
