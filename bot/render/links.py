"""What Telegram accepts as a link URL, and tags as hashtags Telegram recognises."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

_HASHTAG_UNSAFE = re.compile(r"[^\w\s]+|_+")
# Signs that carry meaning in names Telegram would cut a hashtag at: C++, C#, F#.
_SPELLED = ((re.compile(r"(?<=[\w+])\+"), "p"), (re.compile(r"(?<=\w)#"), "sharp"))


def hashtag(tag: str) -> str:
    """A hashtag Telegram recognises in full: `AI 日报` → `#AI日报`, `C++` → `#Cpp`,
    `C#` → `#Csharp`, `mixed Case` → `#mixed_Case`; "" when no letter is left."""
    for sign, spelled in _SPELLED:
        tag = sign.sub(spelled, tag)
    pieces = [p for p in re.split(r"\s+", _HASHTAG_UNSAFE.sub(" _ ", tag)) if p]
    out = ""
    for piece in pieces:
        if piece == "_":
            out += "_" if out and not out.endswith("_") else ""
        elif out and not out.endswith("_") and not (_is_wide(out[-1]) or _is_wide(piece[0])):
            out += "_" + piece  # Latin words a space apart stay apart
        else:
            out += piece  # next to CJK, a space is only typography
    out = out.strip("_")
    return f"#{out}" if any(c.isalpha() for c in out) else ""


def _is_wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in "WF"


def is_valid_link(url: str) -> bool:
    """URLs Telegram accepts in a text_link: absolute http(s) with a dotted host, or tg:."""
    if not url or any(c.isspace() or ord(c) < 32 for c in url):
        return False
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return False
    if parts.scheme.lower() == "tg":
        return bool(parts.netloc or parts.path)
    if parts.scheme.lower() not in ("http", "https"):
        return False
    labels = host.split(".")
    return len(labels) > 1 and all(labels) and all(_is_host_label(label) for label in labels)


def _is_host_label(label: str) -> bool:
    return all(c.isalnum() or c in "-_" or ord(c) > 127 for c in label)
