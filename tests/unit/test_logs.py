"""The token never reaches a log line, in a message, an argument or a traceback."""

from __future__ import annotations

import logging
import sys

from bot.logs import QuietHandler, RedactingFormatter, redact

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


def test_repeats_are_counted_not_printed(capsys) -> None:
    handler = QuietHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    for _ in range(5):
        handler.emit(record("polling failed: Bad Gateway"))
    handler.emit(record('Can not load invalid JSON data: "%s"', "<html>502</html>"))
    handler.emit(record("polling works again"))
    handler.emit(record("polling works again"))
    handler.close()
    assert capsys.readouterr().err.splitlines() == [
        "ERROR polling failed: Bad Gateway",
        "ERROR (the line above came 4 more times)",
        "ERROR polling works again",
        "ERROR (the line above came 1 more times)",
    ]
