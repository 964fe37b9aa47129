"""How handlers answer: text built with `render.Builder` (user text needs no escaping),
sent as entities, within Telegram's limits, in the chat and topic of the command."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from telegram import (
    CallbackQuery,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    MessageEntity,
    Update,
)
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.digest import DigestError
from bot.publisher import ptb_entities, send_with_fallback
from bot.render import TEXT_LIMIT, Builder, Message, api_calls, render_digest
from bot.store import DigestEntry
from bot.texts import language_of, text

if TYPE_CHECKING:
    from bot.app import Services

log = logging.getLogger(__name__)

# A reply in a group never takes more than this many messages of the group's budget.
MAX_REPLY_MESSAGES = 2
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def services_of(context: ContextTypes.DEFAULT_TYPE) -> Services:
    return context.bot_data["services"]


def language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    return language_of(update.effective_user, services_of(context).settings.ui.language)


def is_private(update: Update) -> bool:
    return update.effective_chat is not None and update.effective_chat.type == "private"


def entities_of(message: Message) -> list[MessageEntity] | None:
    return ptb_entities([e.to_dict() for e in message.entities])


async def reply(
    update: Update, builder: Builder, keyboard: InlineKeyboardMarkup | None = None
) -> None:
    """Answer the command's message; the keyboard goes on the last part."""
    message = update.effective_message
    if message is None:
        return
    parts = builder.messages(TEXT_LIMIT)[:MAX_REPLY_MESSAGES]
    for index, part in enumerate(parts):
        await message.reply_text(
            part.text,
            entities=entities_of(part),
            link_preview_options=NO_PREVIEW,
            reply_markup=keyboard if index == len(parts) - 1 else None,
        )


async def say(update: Update, context: ContextTypes.DEFAULT_TYPE, key: str, **values) -> None:
    """A one-line answer from texts.py."""
    builder = Builder()
    builder.write(text(language(update, context), key, **values))
    await reply(update, builder)


async def edit(
    query: CallbackQuery, builder: Builder, keyboard: InlineKeyboardMarkup | None = None
) -> None:
    """Replace a paged answer in place, so that paging adds no messages to the chat."""
    (first, *_) = builder.messages(TEXT_LIMIT) or [Message("…")]
    try:
        await query.edit_message_text(
            first.text,
            entities=entities_of(first),
            link_preview_options=NO_PREVIEW,
            reply_markup=keyboard,
        )
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():
            raise


async def send_digest(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    entry: DigestEntry,
    *,
    card: InlineKeyboardMarkup | None = None,
) -> None:
    """The digest as it was posted: all of it, or with `card` only its cover and that button."""
    chat = update.effective_chat
    message = update.effective_message
    if chat is None:
        return
    calls = await _posted_calls(context, entry)
    if calls is None:
        await say(update, context, "digest_unreadable")
        return
    if card is not None:
        calls = calls[:1]
    thread = message.message_thread_id if message and message.is_topic_message else None
    for index, call in enumerate(calls):
        markup = card if card is not None and index == len(calls) - 1 else None
        await send_with_fallback(context.bot, call, chat.id, thread_id=thread, reply_markup=markup)


async def _posted_calls(context: ContextTypes.DEFAULT_TYPE, entry: DigestEntry) -> list | None:
    """The calls the ledger recorded when the digest went to the (first) group, so that
    members see exactly what was posted; rendered from the file if it was not posted."""
    services = services_of(context)
    first = services.settings.publish.targets[0]
    posted = await services.store.publication(entry.slug, first.chat, first.thread_id)
    if posted is not None and posted.done and posted.content_hash == entry.content_hash:
        return [part.payload for part in posted.parts]
    try:
        digest = await services.load_digest(entry.path)
    except DigestError as exc:
        log.warning("cannot show %s: %s", entry.slug, exc)
        return None
    max_messages = services.settings.content.max_messages
    return api_calls(render_digest(digest, max_messages=max_messages).messages)
