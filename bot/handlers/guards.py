"""Rules every update passes before any handler sees it, registered once (as in PTB's
rules-bot) rather than pasted into each handler."""

from __future__ import annotations

import logging
from collections.abc import Collection

from telegram import CallbackQuery, Message, MessageEntity, Update
from telegram.ext import ApplicationHandlerStop, TypeHandler, filters

from bot.config import Settings
from bot.handlers.replies import language, reply
from bot.handlers.views import said
from bot.services import BotContext
from bot.texts import language_of, text

log = logging.getLogger(__name__)


def admins(settings: Settings) -> filters.User:
    """Messages from the configured admins."""
    return filters.User(user_id=settings.admins.user_ids)


def is_admin(update: Update, settings: Settings) -> bool:
    user = update.effective_user
    return user is not None and user.id in settings.admins.user_ids


def command_of(update: Update, bot_username: str) -> str | None:
    """The command a message gives this bot (`/cmd` or `/cmd@thisbot`), lower case."""
    message = update.message
    if message is None or not message.text or not message.entities:
        return None
    first = message.entities[0]
    if first.type != MessageEntity.BOT_COMMAND or first.offset != 0:
        return None
    name, _, addressee = message.parse_entity(first)[1:].partition("@")
    if addressee and addressee.lower() != bot_username.lower():
        return None  # for another bot in the same group
    return name.lower()


def group_pace(commands: Collection[str]) -> TypeHandler[Update, BotContext, None]:
    """In a group, each member's commands are all answered at a human pace (three within
    ten seconds); past that, one short "slow down", then quiet until the window has room,
    so nobody can spend the group's flood budget alone. Every command counts, the
    admins' included; other bots' commands and plain messages do not."""

    async def check(update: Update, context: BotContext) -> None:
        chat, user = update.effective_chat, update.effective_user
        if chat is None or user is None or chat.type == "private":
            return
        if command_of(update, context.bot.username) not in commands:
            return
        pace = context.services.cooldowns.group_commands
        verdict = pace.use((user.id, chat.id))
        if verdict == pace.OK:
            return
        if verdict == pace.SLOW:
            lang = language(update, context)
            await reply(update, context, said(lang, "slow_down", seconds=int(pace.seconds)))
        raise ApplicationHandlerStop

    return TypeHandler(Update, check)


def is_own_button(query: CallbackQuery, bot_id: int) -> bool:
    """Whether the press is of a button the bot put on that very message.

    A client can send any callback data with any message; the message itself, with its
    keyboard, comes from Telegram. So the data must be one of that keyboard's buttons,
    on a message the bot sent — an archive page, a preview — never a digest part
    (which has no buttons) or an inline card (which has only links).
    """
    message = query.message
    if not isinstance(message, Message) or message.from_user is None:
        return False  # an inline message, or one too old for Telegram to show
    if message.from_user.id != bot_id or message.reply_markup is None:
        return False
    return any(
        button.callback_data == query.data
        for row in message.reply_markup.inline_keyboard
        for button in row
    )


def authentic_buttons() -> TypeHandler[Update, BotContext, None]:
    """A press of anything but the bot's own button on that message gets a polite answer
    and changes nothing; no handler ever sees it."""

    async def check(update: Update, context: BotContext) -> None:
        query = update.callback_query
        if query is None or is_own_button(query, context.bot.id):
            return
        chat = update.effective_chat
        log.info(
            "refused a button press by %s in %s: not a button of that message",
            query.from_user.id,
            chat.id if chat else "an inline message",
        )
        lang = language_of(query.from_user, context.services.settings.ui.language)
        await query.answer(text(lang, "stale_button"))
        raise ApplicationHandlerStop

    return TypeHandler(Update, check)
