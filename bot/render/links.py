"""What Telegram accepts as a link URL, and tags as hashtags Telegram recognises."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_HASHTAG_UNSAFE = re.compile(r"\W+")


def hashtag(tag: str) -> str:
    """`AI 日报` → `#AI日报`: Telegram hashtags are letters, digits and underscores."""
    words = _HASHTAG_UNSAFE.split("".join(tag.split()))
    body = "_".join(w for w in words if w)
    return f"#{body}" if body else ""


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
