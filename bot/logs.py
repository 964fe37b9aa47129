"""Logging: one line per event, and the bot token never in any of them.

`redact` is the one place that hides the token; the log formatter, the publisher's
error texts and the admin reports all go through it.
"""

from __future__ import annotations

import logging
import re

from bot.config import Settings

TOKEN_PLACEHOLDER = "<token>"


def redact(text: str, token: str) -> str:
    """The text with the bot token replaced; a URL in an error message may carry it.

    Case does not matter: python-telegram-bot capitalises Telegram's error texts with
    `str.capitalize()`, which lowers the case of every letter after the first.
    """
    if not token:
        return text
    return re.sub(re.escape(token), TOKEN_PLACEHOLDER, text, flags=re.IGNORECASE)


class RedactingFormatter(logging.Formatter):
    """Whatever a library puts in a message or a traceback, the token does not reach a log."""

    def __init__(self, token: str) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self._token = token

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self._token)


def log_to_stderr(settings: Settings) -> None:
    """The running bot's logging: INFO and up, chatty libraries turned down."""
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter(settings.telegram.token))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    # httpx logs every request URL, and the URL carries the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
