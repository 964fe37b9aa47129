"""How handlers answer: every reply to a member passes through here, so the rules for
replies live in one place — entities, never parse modes; the chat and forum topic of the
command; at most `MAX_REPLY_MESSAGES` messages of a group's budget."""

from __future__ import annotations

import logging
from typing import Any

from telegram import CallbackQuery, InlineKeyboardMarkup, MessageEntity, Update
from telegram.error import BadRequest

from bot.chat_gate import replying
from bot.digest import DigestError
from bot.handlers.views import View, said
from bot.render import TEXT_LIMIT, Message, api_calls, render_digest
from bot.services import BotContext
from bot.store import DigestEntry
from bot.telegram_calls import NO_PREVIEW, ptb_entities, send_with_fallback
from bot.texts import language_of, text

log = logging.getLogger(__name__)

# A reply in a group never takes more than this many messages of the group's budget.
MAX_REPLY_MESSAGES = 2
MAX_ANSWER_CHARS = 200  # Telegram's limit for a callback query's toast


def language(update: Update, context: BotContext) -> str:
    return language_of(update.effective_user, context.services.settings.ui.language)


def is_private(update: Update) -> bool:
    return update.effective_chat is not None and update.effective_chat.type == "private"


def entities_of(message: Message) -> list[MessageEntity] | None:
    return ptb_entities([e.to_dict() for e in message.entities])


async def reply(update: Update, view: View) -> None:
    """Answer the command's message; the keyboard goes on the last part."""
    message = update.effective_message
    if message is None:
        return
    parts = view.body.messages(TEXT_LIMIT)[:MAX_REPLY_MESSAGES]
    async with replying(message.chat_id) as sent:  # publishing's gate (chat_gate.py)
        for index, part in enumerate(parts):
            answer = await message.reply_text(
                part.text,
                entities=entities_of(part),
                link_preview_options=NO_PREVIEW,
                reply_markup=view.keyboard if index == len(parts) - 1 else None,
            )
            await sent(answer)


async def say(update: Update, context: BotContext, key: str, **values: object) -> None:
    """A one-line answer from texts.py."""
    await reply(update, said(language(update, context), key, **values))


async def edit(query: CallbackQuery, view: View) -> None:
    """Replace a paged answer in place, so that paging adds no messages to the chat."""
    (first, *_) = view.body.messages(TEXT_LIMIT) or [Message("…")]
    chat_id = query.message.chat.id if query.message is not None else 0
    try:
        async with replying(chat_id):  # publishing's gate (chat_gate.py)
            await query.edit_message_text(
                first.text,
                entities=entities_of(first),
                link_preview_options=NO_PREVIEW,
                reply_markup=view.keyboard,
            )
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():
            raise


async def deliver(update: Update, view: View) -> None:
    """A fresh reply to a command, or the same message edited for a button press."""
    if update.callback_query is not None:
        await update.callback_query.answer()
        await edit(update.callback_query, view)
    else:
        await reply(update, view)


async def answer(update: Update, context: BotContext, key: str, **values: object) -> None:
    """A toast for a button press, a one-line reply for a command."""
    if update.callback_query is not None:
        toast = text(language(update, context), key, **values)[:MAX_ANSWER_CHARS]
        await update.callback_query.answer(toast)
    else:
        await say(update, context, key, **values)


async def send_digest(
    update: Update,
    context: BotContext,
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
    async with replying(chat.id) as sent:  # publishing's gate (chat_gate.py)
        for index, call in enumerate(calls):
            markup = card if card is not None and index == len(calls) - 1 else None
            await sent(
                await send_with_fallback(
                    context.bot, call, chat.id, thread_id=thread, reply_markup=markup
                )
            )


async def _posted_calls(context: BotContext, entry: DigestEntry) -> list[dict[str, Any]] | None:
    """The calls the ledger recorded when the digest went to the (first) group, so that
    members see exactly what was posted; rendered from the file if it was not posted."""
    services = context.services
    first = services.settings.publish.targets[0]
    posted = await services.ledger.publication(entry.slug, first.chat, first.thread_id)
    if posted is not None and posted.done and posted.content_hash == entry.content_hash:
        return [part.payload for part in posted.parts]
    try:
        digest = await services.load_digest(entry.path)
    except DigestError as exc:
        log.warning("cannot show %s: %s", entry.slug, exc)
        return None
    max_messages = services.settings.content.max_messages
    return api_calls(render_digest(digest, max_messages=max_messages).messages)
