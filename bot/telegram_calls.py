"""One Bot API call in the `render --json` form, sent through python-telegram-bot.

The ledger stores calls in that form, so a resumed publication sends exactly what was
rendered; this is the one place that maps them onto PTB, and the one place that knows
which simpler form a refused call can take.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from telegram import Bot, InlineKeyboardMarkup, LinkPreviewOptions, Message, MessageEntity
from telegram.error import BadRequest

Call = dict[str, Any]
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)

# Errors about the chat itself: resending anything in any form cannot help.
CHAT_ERRORS = (
    "chat not found",
    "thread not found",
    "topic_closed",
    "topic closed",
    "not enough rights",
    "have no rights",
    "chat_write_forbidden",
    "need administrator rights",
)


def ptb_entities(raw: list[dict[str, Any]] | None) -> list[MessageEntity] | None:
    """Entities in the `render --json` form as python-telegram-bot objects."""
    return [MessageEntity(**entity) for entity in raw] if raw else None


def is_chat_error(error: BadRequest) -> bool:
    """Telegram refused the chat (gone, no rights, closed topic), not the message."""
    message = error.message.lower()
    return any(reason in message for reason in CHAT_ERRORS)


async def send_call(
    bot: Bot,
    payload: Call,
    chat_id: int | str,
    *,
    thread_id: int | None = None,
    reply_markup: InlineKeyboardMarkup | None = None,
    reply_to: int | None = None,
    read_timeout: float | None = None,
) -> Message:
    """Make one call; `reply_to` answers a message (and keeps its forum topic)."""
    common: dict[str, Any] = {
        "chat_id": chat_id,
        "message_thread_id": thread_id,
        "disable_notification": payload.get("disable_notification", False),
        "reply_markup": reply_markup,
    }
    if reply_to is not None:
        common["reply_to_message_id"] = reply_to
    if read_timeout is not None:
        common["read_timeout"] = read_timeout
    if payload["method"] == "sendPhoto":
        photo = payload["photo"]
        return await bot.send_photo(
            photo=photo if photo.startswith(("http://", "https://")) else Path(photo),
            caption=payload["caption"],
            caption_entities=ptb_entities(payload.get("caption_entities")),
            **common,
        )
    return await bot.send_message(
        text=payload["text"],
        entities=ptb_entities(payload.get("entities")),
        link_preview_options=NO_PREVIEW,
        **common,
    )


async def send_with_fallback(
    bot: Bot,
    payload: Call,
    chat_id: int | str,
    *,
    thread_id: int | None = None,
    reply_markup: InlineKeyboardMarkup | None = None,
    reply_to: int | None = None,
) -> Message:
    """One call, once, in a simpler form if Telegram refuses it (for replies to users)."""
    options: dict[str, Any] = {
        "thread_id": thread_id,
        "reply_markup": reply_markup,
        "reply_to": reply_to,
    }
    try:
        return await send_call(bot, payload, chat_id, **options)
    except BadRequest as exc:
        simpler = fallback(payload, exc)
        if simpler is None:
            raise
        return await send_call(bot, simpler, chat_id, **options)


async def edit_call(bot: Bot, call: Call, chat_id: int | str, message_id: int) -> None:
    """Make a posted message say what `call` says: its caption, or its text."""
    photo = call["method"] == "sendPhoto"
    text = call["caption" if photo else "text"]
    entities = ptb_entities(call.get("caption_entities" if photo else "entities"))
    if photo:
        try:
            await bot.edit_message_caption(
                chat_id=chat_id, message_id=message_id, caption=text, caption_entities=entities
            )
            return
        except BadRequest as exc:  # the cover went out as text when the image was refused
            if "no caption" not in exc.message.lower():
                raise
    await bot.edit_message_text(
        chat_id=chat_id,
        message_id=message_id,
        text=text,
        entities=entities,
        link_preview_options=NO_PREVIEW,
    )


def fallback(payload: Call, error: BadRequest) -> Call | None:
    """A simpler form of a refused call: a photo becomes a text cover, text becomes plain."""
    if is_chat_error(error):
        return None
    base = {k: v for k, v in payload.items() if k == "disable_notification"}
    if payload["method"] == "sendPhoto":  # a refused cover image must not hold the digest back
        return {
            "method": "sendMessage",
            "text": payload["caption"],
            "entities": payload.get("caption_entities", []),
            **base,
        }
    if payload.get("entities"):
        return {"method": "sendMessage", "text": payload["text"], "entities": [], **base}
    return None
