"""Every command and button the bot answers, registered in one visible list, behind the
guards every update passes first."""

from __future__ import annotations

import logging
from typing import Any

from telegram import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
)
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from bot.config import Settings
from bot.handlers import admin, inline, public
from bot.handlers.errors import on_error
from bot.handlers.guards import admins, authentic_buttons, group_pace
from bot.handlers.views import ADMIN_COMMANDS, PUBLIC_COMMANDS
from bot.texts import EN, ZH, text

log = logging.getLogger(__name__)

ADMIN_BUTTONS = r"^[px](:|$)"
# PTB runs the first matching handler of each group, so each guard has a group of its own.
BUTTON_GUARD, PACE_GUARD, HANDLERS = -2, -1, 0
# Edited messages never run a command again.
NEW = filters.UpdateType.MESSAGE
PUBLIC_NAMES = [name for name, _ in PUBLIC_COMMANDS]
ALL_COMMANDS = frozenset({"start", *PUBLIC_NAMES, *ADMIN_COMMANDS})


def register(app: Application[Any, Any, Any, Any, Any, Any], settings: Settings) -> None:
    is_admin = admins(settings)
    private = filters.ChatType.PRIVATE
    app.add_handler(authentic_buttons(), group=BUTTON_GUARD)
    app.add_handler(group_pace(ALL_COMMANDS), group=PACE_GUARD)
    app.add_handlers(
        [
            CommandHandler("start", public.start, filters=NEW),
            CommandHandler("help", public.help_command, filters=NEW),
            CommandHandler("latest", public.latest, filters=NEW),
            CommandHandler("archive", public.archive, filters=NEW),
            CommandHandler("tag", public.tag, filters=NEW),
            CommandHandler("search", public.search, filters=NEW),
            CommandHandler("publish", admin.publish, filters=NEW & is_admin & private),
            CommandHandler("status", admin.status, filters=NEW & is_admin & private),
            CommandHandler(ADMIN_COMMANDS, admin.in_private_only, filters=NEW & is_admin),
            CommandHandler(ADMIN_COMMANDS, admin.not_admin, filters=NEW),
            CallbackQueryHandler(admin.publish_pressed, pattern=ADMIN_BUTTONS),
            CallbackQueryHandler(public.button),
            MessageHandler(NEW & filters.COMMAND & private, public.unknown),
            MessageHandler(
                NEW & filters.TEXT & ~filters.COMMAND & ~filters.VIA_BOT & private,
                public.text_search,
            ),
            InlineQueryHandler(inline.inline_query),
        ],
        group=HANDLERS,
    )
    app.add_error_handler(on_error)


async def set_commands(app: Application[Any, Any, Any, Any, Any, Any], settings: Settings) -> None:
    """The command menus: private chats, groups, and each admin's private chat."""
    bot = app.bot
    for language in (ZH, EN):
        code = "en" if language == EN else None

        def menu(names: list[str], language: str = language) -> list[BotCommand]:
            return [BotCommand(name, text(language, f"cmd_{name}")) for name in names]

        await bot.set_my_commands(
            menu(["start", *PUBLIC_NAMES]),
            scope=BotCommandScopeAllPrivateChats(),
            language_code=code,
        )
        await bot.set_my_commands(
            menu(PUBLIC_NAMES), scope=BotCommandScopeAllGroupChats(), language_code=code
        )
        for admin_id in settings.admins.user_ids:
            try:
                await bot.set_my_commands(
                    menu(["start", *PUBLIC_NAMES, *ADMIN_COMMANDS]),
                    scope=BotCommandScopeChat(admin_id),
                    language_code=code,
                )
            except TelegramError as exc:  # the admin has not opened a chat with the bot yet
                log.warning("cannot set the admin menu for %s: %s", admin_id, exc.message)
