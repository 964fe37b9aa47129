"""Command arguments as members type them: dates, months, and text quoted back."""

from __future__ import annotations

import datetime as dt
import re

MAX_ECHO = 40  # how much of a user's argument is quoted back
MAX_QUERY = 100  # the longest argument (or inline query) the bot looks up
# 2026-02, 2026-2, 2026/02, 2026.2, 2026年2月 (full-width digits count as digits).
_MONTH = re.compile(r"(\d{4})\s*[-/.]\s*(\d{1,2})|(\d{4})\s*年\s*(\d{1,2})\s*月?")
_DAY = re.compile(
    r"(\d{4})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{1,2})"
    r"|(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?"
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028-\u202e\u2066-\u2069]")
# Half of a surrogate pair on its own: valid in JSON text, not encodable in UTF-8.
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def parse_day(value: str) -> dt.date | None:
    """`2026-02-21`, `2026/2/21` or `2026年2月21日`, or None for anything else."""
    match = _DAY.fullmatch(value.strip())
    if not match:
        return None
    year, month, day = (int(match[i] or match[i + 3]) for i in (1, 2, 3))
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def parse_month(value: str) -> str | None:
    """`2026-02`, `2026-2`, `2026/2` or `2026年2月` as `2026-02`, or None."""
    match = _MONTH.fullmatch(value.strip())
    if not match:
        return None
    year, month = int(match[1] or match[3]), int(match[2] or match[4])
    return f"{year:04d}-{month:02d}" if 1 <= month <= 12 else None


def words(parts: list[str] | None) -> str:
    """The command's arguments as one line of text, without control characters (a NUL
    would end an SQLite FTS query early)."""
    text = _LONE_SURROGATE.sub("\ufffd", " ".join(parts or []))
    return " ".join(_CONTROL.sub(" ", text).split())


def echo(value: str) -> str:
    """User text quoted back: short, on one line (it is sent as plain text, never parsed)."""
    flat = " ".join(_LONE_SURROGATE.sub("\ufffd", value).split())
    return flat if len(flat) <= MAX_ECHO else flat[: MAX_ECHO - 1] + "…"
