"""How a body is rendered, and the few words the renderer writes itself."""

from __future__ import annotations

from dataclasses import dataclass

LINE_BREAKS = ("auto", "keep", "join")
DEFAULT_DROP_HTML = frozenset({"telegram-card"})
LABELS = {
    "zh": {"image": "图片", "video": "视频", "audio": "音频", "continued": "（续）"},
    "en": {"image": "image", "video": "video", "audio": "audio", "continued": " (cont.)"},
}


@dataclass(frozen=True, slots=True)
class RenderOptions:
    """The `content.*` settings that shape rendering, and what is known of the digest."""

    drop_html: frozenset[str] = DEFAULT_DROP_HTML
    line_breaks: str = "auto"
    language: str = "zh"
    # File lines before the body, so that notes cite the line an author can open.
    line_offset: int = 0


def label(language: str, name: str) -> str:
    """A word the renderer adds itself, in the digest's language (English for any but zh)."""
    return LABELS.get(language, LABELS["en"])[name]
