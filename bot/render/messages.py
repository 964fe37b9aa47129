"""What the renderer produces: Bot API messages and entities, measured as Telegram measures them.

Kept apart from the builder and the splitter, which both need these types, so that
neither imports the other's module for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from telegram.constants import MessageLimit

TEXT_LIMIT = MessageLimit.MAX_TEXT_LENGTH
CAPTION_LIMIT = MessageLimit.CAPTION_LENGTH
ENTITY_LIMIT = MessageLimit.MESSAGE_ENTITIES


def utf16_length(text: str) -> int:
    """Telegram's unit for offsets, and a safe over-estimate for its length limits."""
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True, slots=True)
class Span:
    """An entity under construction: code-point offsets into the builder's text."""

    type: str
    start: int
    end: int
    url: str | None = None
    language: str | None = None

    def shifted(self, offset: int) -> Span:
        return Span(self.type, self.start + offset, self.end + offset, self.url, self.language)


@dataclass(frozen=True, slots=True)
class Entity:
    """A Bot API MessageEntity; offset and length in UTF-16 code units."""

    type: str
    offset: int
    length: int
    url: str | None = None
    language: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"type": self.type, "offset": self.offset, "length": self.length}
        if self.url is not None:
            data["url"] = self.url
        if self.language:
            data["language"] = self.language
        return data


@dataclass(frozen=True, slots=True)
class Message:
    """One outgoing message: text, or a photo when `photo` is set (the text is its caption)."""

    text: str
    entities: tuple[Entity, ...] = ()
    photo: str | None = None

    @property
    def method(self) -> str:
        return "sendPhoto" if self.photo else "sendMessage"

    @property
    def length(self) -> int:
        return utf16_length(self.text)

    @property
    def limit(self) -> int:
        return CAPTION_LIMIT if self.photo else TEXT_LIMIT

    def api_call(self) -> dict[str, Any]:
        """The Bot API call as JSON, without chat_id: the format `render --json` prints."""
        entities = [e.to_dict() for e in self.entities]
        if self.photo:
            return {
                "method": "sendPhoto",
                "photo": self.photo,
                "caption": self.text,
                "caption_entities": entities,
            }
        return {
            "method": "sendMessage",
            "text": self.text,
            "entities": entities,
            "link_preview_options": {"is_disabled": True},
        }


def api_calls(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """The calls that post a digest: one notification per digest, so later parts are silent."""
    calls = []
    for index, message in enumerate(messages):
        call = message.api_call()
        if index:
            call["disable_notification"] = True
        calls.append(call)
    return calls
