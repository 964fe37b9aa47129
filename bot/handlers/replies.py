"""How handlers answer: every reply to a member passes through here, so the rules for
replies live in one place — entities, never parse modes; the chat and forum topic of the
command; at most `MAX_REPLY_MESSAGES` messages of a group's budget."""

from __future__ import annotations

import logging

from telegram import CallbackQuery, MessageEntity, ReplyParameters, Update
from telegram import Message as TelegramMessage
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden

from bot.flood import NotSentInTime, Pacing
from bot.handlers.views import View, said
from bot.render import TEXT_LIMIT, Builder, Message
from bot.services import BotContext
from bot.telegram_calls import NO_PREVIEW, ptb_entities
from bot.texts import language_of, text

log = logging.getLogger(__name__)

# A reply in a group never takes more than this many messages of the group's budget.
MAX_REPLY_MESSAGES = 2
MAX_ANSWER_CHARS = 200  # Telegram's limit for a callback query's toast
# A reply in a group waits this long for the group's flood budget, and no longer.
GROUP_REPLY_WITHIN = 10.0


def language(update: Update, context: BotContext) -> str:
    return language_of(
        update.effective_user, context.services.settings.ui.language, private=is_private(update)
    )


def is_private(update: Update) -> bool:
    return update.effective_chat is not None and update.effective_chat.type == "private"


def entities_of(message: Message) -> list[MessageEntity] | None:
    return ptb_entities([e.to_dict() for e in message.entities])


async def reply(update: Update, context: BotContext, view: View) -> None:
    """Answer the command's message, in its chat and topic; the keyboard goes on the last
    part. In a group, a reply that cannot go out within `GROUP_REPLY_WITHIN` (the group's
    budget is spent) goes to the member's private chat instead, or is dropped."""
    message = update.effective_message
    if message is None:
        return
    private = message.chat.type == ChatType.PRIVATE
    pacing = None if private else Pacing(within=GROUP_REPLY_WITHIN)
    try:
        await _send_view(
            context,
            view,
            message.chat_id,
            thread_id=message.message_thread_id if message.is_topic_message else None,
            # In a group the answer quotes the command, as python-telegram-bot does.
            reply_to=None if private else message.message_id,
            pacing=pacing,
        )
    except NotSentInTime:
        await _reply_in_private(update, context, view)


async def _send_view(
    context: BotContext,
    view: View,
    chat_id: int,
    *,
    thread_id: int | None = None,
    reply_to: int | None = None,
    pacing: Pacing | None = None,
) -> None:
    """The one place a reply's messages are sent: at most MAX_REPLY_MESSAGES of them,
    after any publication holding the chat (chat_gate.py), within the chat's budget."""
    bot, gate = context.bot, context.services.gate
    parts = view.body.messages(TEXT_LIMIT)[:MAX_REPLY_MESSAGES]
    async with gate.shared(chat_id, within=pacing.within if pacing else None) as sent:
        for index, part in enumerate(parts):
            answer = await bot.send_message(
                chat_id,
                part.text,
                entities=entities_of(part),
                link_preview_options=NO_PREVIEW,
                reply_markup=view.keyboard if index == len(parts) - 1 else None,
                message_thread_id=thread_id,
                reply_parameters=(
                    ReplyParameters(reply_to, allow_sending_without_reply=True)
                    if reply_to is not None
                    else None
                ),
                rate_limit_args=pacing,
            )
            await sent(answer)


async def _reply_in_private(update: Update, context: BotContext, view: View) -> None:
    """The group has no budget left for a while: the answer goes to the member's private
    chat if they have started the bot; otherwise it is dropped, with a log line."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return
    lang = language_of(user, "auto")
    body = Builder()
    body.write(text(lang, "group_busy_here", group=chat.title or str(chat.id)))
    body.block()
    moved = View(body.joined(view.body), view.keyboard)
    try:
        await _send_view(context, moved, user.id)
    except (Forbidden, BadRequest) as exc:  # never started the bot, or blocked it
        log.info("dropped a reply to %s in %s: the group is busy (%s)", user.id, chat.id, exc)
        return
    log.info("sent a reply to %s in private: chat %s is busy", user.id, chat.id)


async def say(update: Update, context: BotContext, key: str, **values: object) -> None:
    """A one-line answer from texts.py."""
    await reply(update, context, said(language(update, context), key, **values))


async def edit(query: CallbackQuery, context: BotContext, view: View) -> None:
    """Replace a paged answer in place, so that paging adds no messages to the chat."""
    (first, *_) = view.body.messages(TEXT_LIMIT) or [Message("…")]
    message, bot = query.message, context.bot
    if not isinstance(message, TelegramMessage):
        return  # only the bot's own pages are edited (see guards.authentic_buttons)
    within = None if message.chat.type == ChatType.PRIVATE else GROUP_REPLY_WITHIN
    try:
        async with context.services.gate.shared(message.chat_id, within=within):
            await bot.edit_message_text(
                first.text,
                chat_id=message.chat_id,
                message_id=message.message_id,
                entities=entities_of(first),
                link_preview_options=NO_PREVIEW,
                reply_markup=view.keyboard,
                rate_limit_args=None if within is None else Pacing(within=within),
            )
    except NotSentInTime:
        log.info("left a page in chat %s as it was: the chat is busy", message.chat_id)
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():
            raise


async def deliver(update: Update, context: BotContext, view: View) -> None:
    """A fresh reply to a command, or the same message edited for a button press."""
    if update.callback_query is not None:
        await update.callback_query.answer()
        await edit(update.callback_query, context, view)
    else:
        await reply(update, context, view)


async def answer(update: Update, context: BotContext, key: str, **values: object) -> None:
    """A toast for a button press, a one-line reply for a command."""
    if update.callback_query is not None:
        toast = text(language(update, context), key, **values)[:MAX_ANSWER_CHARS]
        await update.callback_query.answer(toast)
    else:
        await say(update, context, key, **values)
