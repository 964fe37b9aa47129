"""The last line of defence: an exception in a handler is logged and reported, and the
member is not left with silence or a traceback."""

from __future__ import annotations

import logging
import traceback

from telegram import Update
from telegram.error import NetworkError, RetryAfter, TelegramError

from bot.handlers.replies import is_private, say
from bot.services import BotContext

log = logging.getLogger(__name__)
MAX_HEADLINE = 500


async def on_error(update: object, context: BotContext) -> None:
    error = context.error
    if isinstance(error, (NetworkError, RetryAfter)):  # transient; PTB or the user retries
        log.warning("Telegram request failed: %s", error)
        return
    where = ""
    if isinstance(update, Update) and update.effective_chat:
        where = f" in chat {update.effective_chat.id}"
    log.error("unhandled error%s", where, exc_info=error)
    details = "".join(traceback.format_exception(error)) if error else ""
    name = type(error).__name__
    await context.services.reports.report(
        f"error {name}{where}",
        f"未处理的错误 / unhandled error{where}: {name}: {error}"[:MAX_HEADLINE],
        details,
    )
    if isinstance(update, Update) and is_private(update):  # never leave a member with silence
        try:
            await say(update, context, "internal_error")
        except TelegramError as exc:
            log.warning("could not apologise: %s", exc.message)
