"""Digest files for tests: the bundled sample and small generated ones."""

from __future__ import annotations

from pathlib import Path

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
