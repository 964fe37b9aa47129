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


class QuietHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """One line per event: a line repeated as it was is counted, not printed again, and
    said once ("N more times") when something else happens or a while has passed; a
    library's dump of an error page's body is left out (the failure itself is logged by
    whoever made the request, in one line)."""

    SUMMARY_EVERY = 600.0  # seconds: a failure that goes on is still mentioned

    def __init__(self) -> None:
        super().__init__()
        self._last: tuple[str, int, str] | None = None
        self._repeats = 0
        self._since = 0.0

    def emit(self, record: logging.LogRecord) -> None:
        if _is_body_dump(record):
            return
        key = (record.name, record.levelno, record.getMessage())
        if key == self._last and record.created - self._since < self.SUMMARY_EVERY:
            self._repeats += 1
            return
        self._say_repeats(record)
        self._last, self._since = key, record.created
        super().emit(record)

    def close(self) -> None:
        """At shutdown, the count of a repeat still going on is not lost."""
        self._say_repeats(logging.makeLogRecord({}))
        super().close()

    def _say_repeats(self, following: logging.LogRecord) -> None:
        if self._repeats and self._last is not None:
            name, level, _ = self._last
            summary = logging.LogRecord(
                name, level, "", 0, "(the line above came %d more times)", (self._repeats,), None
            )
            summary.created = following.created
            super().emit(summary)
        self._repeats = 0


# python-telegram-bot logs a response it cannot parse whole, HTML error page and all.
_BODY_DUMP = "Can not load invalid JSON data"


def _is_body_dump(record: logging.LogRecord) -> bool:
    return isinstance(record.msg, str) and record.msg.startswith(_BODY_DUMP)


def log_to_stderr(settings: Settings) -> None:
    """The running bot's logging: INFO and up, chatty libraries turned down."""
    handler = QuietHandler()
    handler.setFormatter(RedactingFormatter(settings.telegram.token))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    # httpx logs every request URL, and the URL carries the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
