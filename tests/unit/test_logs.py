"""The token never reaches a log line, in a message, an argument or a traceback."""

from __future__ import annotations

import logging
import sys

from bot.logs import RedactingFormatter, redact

TOKEN = "123456:TEST-token_abcdefghijklmnopqrstuvwxyz"


def record(message: str, *args: object, exc: bool = False) -> logging.LogRecord:
    exc_info = sys.exc_info() if exc else None
    return logging.LogRecord("bot.x", logging.ERROR, __file__, 1, message, args, exc_info)


def test_redact_hides_the_token_whatever_its_case() -> None:
    url = f"https://api.telegram.org/bot{TOKEN}/sendMessage"
    assert redact(url, TOKEN) == "https://api.telegram.org/bot<token>/sendMessage"
    # python-telegram-bot capitalises error texts, lowering the token's letters.
    assert redact(f"Bad url {url}".capitalize(), TOKEN) == (
        "Bad url https://api.telegram.org/bot<token>/sendmessage"
    )
    assert redact("nothing to hide", TOKEN) == "nothing to hide"
    assert redact("no token configured", "") == "no token configured"


def test_the_formatter_redacts_messages_arguments_and_tracebacks() -> None:
    formatter = RedactingFormatter(TOKEN)
    assert TOKEN not in formatter.format(record(f"GET /bot{TOKEN}/getMe"))
    assert TOKEN not in formatter.format(record("request to %s failed", f"/bot{TOKEN}/x"))
    try:
        raise RuntimeError(f"connection to /bot{TOKEN}/getUpdates reset")
    except RuntimeError:
        text = formatter.format(record("poll failed", exc=True))
    assert "Traceback" in text and "<token>/getUpdates reset" in text
    assert TOKEN not in text
