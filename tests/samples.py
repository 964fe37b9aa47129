"""Digest files for tests: the bundled sample and small generated ones."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "content" / "2026-02-21-ai-daily.md"


def write_digest(
    folder: Path,
    *,
    front: str = "title: T\ndate: 2026-01-01",
    body: str = "正文",
    name: str = "d.md",
) -> Path:
    """A digest file with the given front matter (YAML lines) and Markdown body."""
    path = folder / name
    path.write_text(f"---\n{front}\n---\n{body}\n", encoding="utf-8")
    return path


def make_due(content: Path, zone: str = "Asia/Shanghai") -> Path:
    """Date the sample in `content` today (same file name, so the same slug), so that the
    schedule posts it: a digest is only posted by itself on its own day."""
    path = content / SAMPLE.name
    today = dt.datetime.now(ZoneInfo(zone)).date().isoformat()
    text = re.sub(
        r"^date: .*$", f"date: {today}", path.read_text(encoding="utf-8"), count=1, flags=re.M
    )
    path.write_text(text, encoding="utf-8")
    return path
