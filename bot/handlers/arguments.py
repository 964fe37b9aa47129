"""Command arguments as members type them: dates, months, and text quoted back."""

from __future__ import annotations

import datetime as dt
import re

MAX_ECHO = 40  # how much of a user's argument is quoted back
_MONTH = re.compile(r"(\d{4})-(\d{1,2})")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028-\u202e\u2066-\u2069]")
# Half of a surrogate pair on its own: valid in JSON text, not encodable in UTF-8.
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def parse_day(value: str) -> dt.date | None:
    """`2026-02-21`, or None for anything else."""
    try:
        return dt.date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        return None


def parse_month(value: str) -> str | None:
    """`2026-02` or `2026-2` as `2026-02`, or None."""
    match = _MONTH.fullmatch(value)
    if not match or not 1 <= int(match[2]) <= 12:
        return None
    return f"{int(match[1]):04d}-{int(match[2]):02d}"


def words(parts: list[str] | None) -> str:
    """The command's arguments as one line of text, without control characters (a NUL
    would end an SQLite FTS query early)."""
    text = _LONE_SURROGATE.sub("\ufffd", " ".join(parts or []))
    return " ".join(_CONTROL.sub(" ", text).split())


def echo(value: str) -> str:
    """User text quoted back: short, on one line (it is sent as plain text, never parsed)."""
    flat = " ".join(_LONE_SURROGATE.sub("\ufffd", value).split())
    return flat if len(flat) <= MAX_ECHO else flat[: MAX_ECHO - 1] + "…"
