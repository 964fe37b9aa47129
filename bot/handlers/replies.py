"""How handlers answer: every reply to a member passes through here, so the rules for
replies live in one place — entities, never parse modes; the chat and forum topic of the
command; at most `MAX_REPLY_MESSAGES` messages of a group's budget."""

from __future__ import annotations

import logging

from telegram import CallbackQuery, MessageEntity, Update
from telegram.error import BadRequest

from bot.handlers.views import View, said
from bot.render import TEXT_LIMIT, Message
from bot.services import BotContext
from bot.telegram_calls import NO_PREVIEW, ptb_entities
from bot.texts import language_of, text

log = logging.getLogger(__name__)

# A reply in a group never takes more than this many messages of the group's budget.
MAX_REPLY_MESSAGES = 2
MAX_ANSWER_CHARS = 200  # Telegram's limit for a callback query's toast


def language(update: Update, context: BotContext) -> str:
    return language_of(
        update.effective_user, context.services.settings.ui.language, private=is_private(update)
    )


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
    for index, part in enumerate(parts):
        await message.reply_text(
            part.text,
            entities=entities_of(part),
            link_preview_options=NO_PREVIEW,
            reply_markup=view.keyboard if index == len(parts) - 1 else None,
        )


async def say(update: Update, context: BotContext, key: str, **values: object) -> None:
    """A one-line answer from texts.py."""
    await reply(update, said(language(update, context), key, **values))


async def edit(query: CallbackQuery, view: View) -> None:
    """Replace a paged answer in place, so that paging adds no messages to the chat."""
    (first, *_) = view.body.messages(TEXT_LIMIT) or [Message("…")]
    try:
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
