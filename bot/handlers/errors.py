"""The last line of defence: an exception in a handler is logged once and reported, and
the member is not left with silence or a traceback."""

from __future__ import annotations

import logging
import traceback

from telegram import Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.flood import NotSentInTime
from bot.handlers.replies import answer
from bot.services import BotContext

log = logging.getLogger(__name__)
MAX_HEADLINE = 500


def is_transient(error: BaseException | None) -> bool:
    """Worth trying again later: a timeout, a dropped connection, a 5xx, a flood wait.

    python-telegram-bot's BadRequest is a NetworkError too, but Telegram refused the
    request as it was: sending it again gets the same answer.
    """
    if isinstance(error, BadRequest):
        return False
    return isinstance(error, (NetworkError, RetryAfter, NotSentInTime))


async def on_error(update: object, context: BotContext) -> None:
    error = context.error
    where = ""
    if isinstance(update, Update) and update.effective_chat:
        where = f" in chat {update.effective_chat.id}"
    name = type(error).__name__
    if is_transient(error):
        log.warning("a reply%s could not be sent now: %s: %s", where, name, error)
    else:
        if isinstance(error, (BadRequest, Forbidden)):  # Telegram's verdict; no traceback
            log.error("Telegram refused a reply%s: %s", where, error)
        else:
            log.error("unhandled error%s", where, exc_info=error)
        details = "".join(traceback.format_exception(error)) if error else ""
        await context.services.reports.report(
            f"error {name}{where}",
            f"未处理的错误 / unhandled error{where}: {name}: {error}"[:MAX_HEADLINE],
            details,
        )
    if isinstance(update, Update):
        await _apologise(update, context)


async def _apologise(update: Update, context: BotContext) -> None:
    """Never leave a member with silence: a short apology, as a reply or a toast."""
    try:
        await answer(update, context, "internal_error")
    except (TelegramError, NotSentInTime) as exc:  # the chat itself may be the problem
        log.warning("could not apologise: %s", exc)
