"""Cutting built text into messages within Telegram's length and entity limits."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate

from bot.render.messages import ENTITY_LIMIT, Entity, Message, Span, utf16_length

# Characters Telegram trims from the ends of a message, or treats as "no text at all".
_TRIMMED = frozenset("\u180e\u2800\ufffc")
_INVISIBLE = frozenset("\u200b\u200c\u200d\u200e\u200f\ufeff\u00a0")
_SENTENCE_END = re.compile(r"[。！？!?…]+[」』”’）)\]】]*|\.(?=\s)")


def split_text(
    text: str,
    spans: Sequence[Span],
    limit: int,
    item_starts: Sequence[int] = (),
    *,
    entity_limit: int = ENTITY_LIMIT,
) -> list[Message]:
    """Cut text (spans in code-point offsets) into messages of at most `limit` UTF-16 units
    and `entity_limit` entities, preferring item, paragraph, line, sentence, word boundaries.

    An entity crossing a cut is closed at the cut and reopened in the next part.
    """
    units = _Units(text)
    ordered = sorted(spans, key=lambda s: (s.start, -s.end))
    starts = sorted(item_starts)
    messages: list[Message] = []
    start = _skip_blank(text, 0)
    while start < len(text):
        end = _cut(text, units, ordered, starts, start, limit, entity_limit)
        stop = end
        while stop > start and _is_blank_char(text[stop - 1]):
            stop -= 1
        if _has_visible(text, start, stop):
            messages.append(_message(text, units, ordered, start, stop))
        start = _skip_blank(text, end)
    return messages


class _Units:
    """Code-point index ↔ UTF-16 offset, cheap when the text has no astral characters."""

    def __init__(self, text: str) -> None:
        self.prefix: list[int] | None = None
        if utf16_length(text) != len(text):
            self.prefix = [0, *accumulate(2 if ord(c) > 0xFFFF else 1 for c in text)]

    def at(self, index: int) -> int:
        return index if self.prefix is None else self.prefix[index]

    def furthest(self, start: int, budget: int) -> int:
        """The largest index whose distance from `start` is at most `budget` units."""
        if self.prefix is None:
            return start + budget
        return bisect_right(self.prefix, self.prefix[start] + budget) - 1


def _cut(
    text: str,
    units: _Units,
    spans: Sequence[Span],
    item_starts: Sequence[int],
    start: int,
    limit: int,
    entity_limit: int,
) -> int:
    hard = min(len(text), units.furthest(start, limit))
    clipped = sorted(max(s.start, start) for s in spans if s.end > start and s.start < len(text))
    if len(clipped) > entity_limit:
        hard = min(hard, clipped[entity_limit])
    if hard >= len(text):
        return len(text)
    hard = max(hard, start + 1)
    minimum = start + min(limit // 8, hard - start)

    i = bisect_right(item_starts, hard) - 1
    if i >= 0 and item_starts[i] > minimum:
        return item_starts[i]
    for needle in ("\n\n", "\n"):
        at = text.rfind(needle, start, hard)
        if at > minimum:
            return at
    window = text[start:hard]
    last_sentence = None
    for match in _SENTENCE_END.finditer(window):
        last_sentence = match.end()
    if last_sentence:
        return start + last_sentence
    space = window.rfind(" ")
    if space > 0:
        return start + space
    return hard


def _message(text: str, units: _Units, spans: Sequence[Span], start: int, stop: int) -> Message:
    base = units.at(start)
    out = []
    for span in spans:
        if span.start >= stop:
            break
        if span.end <= start:
            continue
        s, e = max(span.start, start), min(span.end, stop)
        if e > s:
            offset = units.at(s) - base
            length = units.at(e) - base - offset
            out.append(Entity(span.type, offset, length, span.url, span.language))
    return Message(text[start:stop], tuple(out))


def _is_blank_char(char: str) -> bool:
    return char.isspace() or char in _TRIMMED


def _skip_blank(text: str, index: int) -> int:
    while index < len(text) and _is_blank_char(text[index]):
        index += 1
    return index


def _has_visible(text: str, start: int, stop: int) -> bool:
    """Telegram refuses a message of only blank and zero-width characters."""
    return any(not _is_blank_char(c) and c not in _INVISIBLE for c in text[start:stop])
