"""Every command and button the bot answers, registered in one visible list."""

from __future__ import annotations

import logging

from telegram import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
)
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.config import Settings
from bot.handlers import admin, public
from bot.handlers.errors import on_error
from bot.texts import EN, ZH, text

log = logging.getLogger(__name__)

ADMIN_BUTTONS = r"^[px](:|$)"


def register(app: Application) -> None:
    app.add_handlers(
        [
            CommandHandler("start", public.start),
            CommandHandler("help", public.help_command),
            CommandHandler("latest", public.latest),
            CommandHandler("archive", public.archive),
            CommandHandler("tag", public.tag),
            CommandHandler("search", public.search),
            CommandHandler("publish", admin.publish),
            CommandHandler("status", admin.status),
            CallbackQueryHandler(admin.publish_pressed, pattern=ADMIN_BUTTONS),
            CallbackQueryHandler(public.button),
            MessageHandler(filters.COMMAND & filters.ChatType.PRIVATE, public.unknown),
        ]
    )
    app.add_error_handler(on_error)


async def set_commands(app: Application, settings: Settings) -> None:
    """The command menus: private chats, groups, and each admin's private chat."""
    bot = app.bot
    public_names = [name for name, _ in public.PUBLIC_COMMANDS]
    for language in (ZH, EN):
        code = "en" if language == EN else None

        def menu(names: list[str], language: str = language) -> list[BotCommand]:
            return [BotCommand(name, text(language, f"cmd_{name}")) for name in names]

        await bot.set_my_commands(
            menu(["start", *public_names]),
            scope=BotCommandScopeAllPrivateChats(),
            language_code=code,
        )
        await bot.set_my_commands(
            menu(public_names), scope=BotCommandScopeAllGroupChats(), language_code=code
        )
        for admin_id in settings.admins.user_ids:
            try:
                await bot.set_my_commands(
                    menu(["start", *public_names, "publish", "status"]),
                    scope=BotCommandScopeChat(admin_id),
                    language_code=code,
                )
            except TelegramError as exc:  # the admin has not opened a chat with the bot yet
                log.warning("cannot set the admin menu for %s: %s", admin_id, exc.message)
