"""The last line of defence: an exception in a handler is logged, and the user is not
left with silence or a traceback."""

from __future__ import annotations

import logging
import traceback

from telegram import Update
from telegram.error import NetworkError, RetryAfter, TelegramError
from telegram.ext import ContextTypes

from bot.handlers.replies import is_private, say, services_of

log = logging.getLogger(__name__)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    error = context.error
    if isinstance(error, (NetworkError, RetryAfter)):  # transient; PTB or the user retries
        log.warning("Telegram request failed: %s", error)
        return
    where = ""
    if isinstance(update, Update) and update.effective_chat:
        where = f" in chat {update.effective_chat.id}"
    log.error("unhandled error%s", where, exc_info=error)
    details = "".join(traceback.format_exception(error)) if error else ""
    await services_of(context).reports.report(
        f"error {type(error).__name__}{where}",
        f"未处理的错误 / unhandled error{where}: {type(error).__name__}: {error}"[:500],
        details,
    )
    if isinstance(update, Update) and is_private(update):  # never leave a member with silence
        try:
            await say(update, context, "internal_error")
        except TelegramError as exc:
            log.warning("could not apologise: %s", exc.message)
