"""Rules every update passes before any handler sees it, registered once (as in PTB's
rules-bot) rather than pasted into each handler."""

from __future__ import annotations

from collections.abc import Collection

from telegram import MessageEntity, Update
from telegram.ext import ApplicationHandlerStop, TypeHandler, filters

from bot.config import Settings
from bot.services import BotContext


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
    """In a group, a member's commands to this bot beyond one per few seconds are ignored,
    so nobody can spend the group's flood budget alone. Every command counts, the admins'
    included; other bots' commands and plain messages do not."""

    async def check(update: Update, context: BotContext) -> None:
        chat, user = update.effective_chat, update.effective_user
        if chat is None or user is None or chat.type == "private":
            return
        if command_of(update, context.bot.username) not in commands:
            return
        if context.services.cooldowns.group_commands.wait((user.id, chat.id)) > 0:
            raise ApplicationHandlerStop

    return TypeHandler(Update, check)
