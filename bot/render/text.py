"""Text plus entities under construction: the one place tdlib's nesting rules are enforced.

Handlers build replies with it directly (`write`, `line`, `block`, `styled`, `link`,
`messages`); the Markdown and HTML walkers drive it with `open`/`close`. User text
written here needs no escaping, and whatever order styles are opened and closed in,
the entities that come out nest the way Telegram requires.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.render.links import is_valid_link
from bot.render.messages import ENTITY_LIMIT, Message, Span
from bot.render.split import split_text

# Entity types that may be split around a code span (tdlib: "splittable").
_SPLITTABLE = frozenset({"bold", "italic", "underline", "strikethrough", "spoiler"})
_VERBATIM = frozenset({"code", "pre"})
QUOTES = frozenset({"blockquote", "expandable_blockquote"})
# tdlib turns C0 controls into spaces and deletes U+2028..U+202E, which would shift offsets.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_DELETED_BY_TELEGRAM = re.compile(r"[\u2028-\u202e]")


@dataclass(slots=True)
class _Open:
    """An entity being built; `start` is None while suspended around a code span."""

    type: str
    start: int | None
    url: str | None = None
    language: str | None = None
    active: bool = True


@dataclass
class Builder:
    """Text and entities under construction (offsets in code points)."""

    parts: list[str] = field(default_factory=list)
    size: int = 0
    spans: list[Span] = field(default_factory=list)
    item_starts: list[int] = field(default_factory=list)
    stack: list[_Open] = field(default_factory=list)
    separator: str = ""
    # Written before the next text: a list bullet waiting for its item's first word.
    marker: str = ""
    # Continues every new line: the indentation of the list being written.
    indent: str = ""
    fresh: bool = True  # nothing written since the last separator: no new one needed

    def write(self, text: str) -> None:
        if not text:
            return
        self._flush()
        text = _DELETED_BY_TELEGRAM.sub("", _CONTROL.sub(" ", text))
        if self.indent and "\n" in text:
            text = text.replace("\n", "\n" + self.indent)
        self.parts.append(text)
        self.size += len(text)
        self.fresh = False

    def block(self, separator: str = "\n\n") -> None:
        """Ask for a separator before whatever is written next (none at the very start)."""
        if not self.fresh and len(separator) > len(self.separator):
            self.separator = separator

    def line(self, text: str) -> None:
        self.block("\n")
        self.write(text)

    def styled(self, kind: str, text: str) -> None:
        self.open(kind)
        self.write(text)
        self.close(kind)

    def link(self, text: str, url: str) -> None:
        """A text link, or plain text where Telegram would refuse the URL."""
        self.open_link(url)
        self.write(text)
        self.close("text_link")

    def mark_item(self) -> None:
        """Here is a good place to cut a long text (the start of an item)."""
        self.flush()
        self.item_starts.append(self.size)

    def flush(self) -> None:
        """Write out a pending separator or bullet now, e.g. before an entity starts."""
        self._flush()

    def _flush(self) -> None:
        pending = ""
        if self.separator and self.size:
            pending = self.separator + (self.indent if not self.marker else "")
        pending += self.marker
        self.separator = self.marker = ""
        if pending:
            self.parts.append(pending)
            self.size += len(pending)
            self.fresh = True

    def is_open(self, kind: str) -> bool:
        return any(o.type == kind and o.active for o in self.stack)

    @property
    def at_line_start(self) -> bool:
        """Nothing written on the current line yet (or a new block is pending)."""
        return not self.size or bool(self.separator or self.marker) or self.parts[-1][-1] == "\n"

    @property
    def last_char(self) -> str:
        return self.parts[-1][-1] if self.parts else ""

    def open(self, kind: str, url: str | None = None, language: str | None = None) -> None:
        self._flush()
        blocked = any(o.active and o.type in _VERBATIM for o in self.stack) or self.is_open(kind)
        if kind in QUOTES and any(self.is_open(q) for q in QUOTES):
            blocked = True  # blockquotes do not nest, whatever their kind
        if kind == "code" and self.is_open("text_link"):
            blocked = True  # a link may not contain code: keep the link, drop the code style
        if blocked:
            self.stack.append(_Open(kind, None, active=False))
            return
        if kind in _VERBATIM:  # code may sit only in a blockquote: split the others around it
            for entry in self.stack:
                if entry.active and entry.type in _SPLITTABLE | {"text_link"}:
                    self._emit(entry)
                    entry.start = None
        self.stack.append(_Open(kind, self.size, url, language))

    def open_link(self, url: str) -> None:
        """A link where Telegram accepts the URL; elsewhere its text stays plain."""
        if is_valid_link(url):
            self.open("text_link", url=url)
        else:  # an inactive entry, so that the matching close is still paired
            self.stack.append(_Open("text_link", None, active=False))

    def set_language(self, language: str) -> None:
        """Name the language of a pre block that has no text yet (`<pre><code class=…>`)."""
        top = self.stack[-1] if self.stack else None
        if top and top.type == "pre" and top.active and top.start == self.size:
            top.language = top.language or language

    def insert(self, fragment: Builder) -> None:
        """Write another builder's text and entities here, through this builder's nesting rules."""
        fragment.close_all()
        text = fragment.text
        ordered = sorted(fragment.spans, key=lambda s: (s.start, -s.end))
        bounds = sorted({0, len(text)} | {s.start for s in ordered} | {s.end for s in ordered})
        position = 0
        for bound in bounds:
            self.write(text[position:bound])
            position = bound
            for span in sorted(ordered, key=lambda s: -s.start):
                if span.end == bound and span.start < bound:
                    self.close(span.type)
            for span in ordered:
                if span.start == bound and span.end > bound:
                    self.open(span.type, span.url, span.language)

    def close(self, kind: str) -> None:
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index].type == kind:
                break
        else:
            return
        reopened = self.stack[index + 1 :]
        for entry in reversed(reopened):
            self._emit(entry)
        entry = self.stack[index]
        del self.stack[index:]
        self._emit(entry)
        if entry.active and entry.type in _VERBATIM:
            for other in self.stack:
                if other.active and other.start is None:
                    other.start = self.size
        for entry in reopened:
            entry.start = self.size if entry.active else None
            self.stack.append(entry)

    def close_all(self, *, keep: frozenset[str] = frozenset()) -> None:
        """Close every open entity from the top down to the first of a `keep` type."""
        while self.stack and self.stack[-1].type not in keep:
            self.close(self.stack[-1].type)

    def _emit(self, entry: _Open) -> None:
        if entry.active and entry.start is not None and self.size > entry.start:
            self.spans.append(Span(entry.type, entry.start, self.size, entry.url, entry.language))

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def joined(self, other: Builder) -> Builder:
        """This builder's content followed by another's, as a new builder."""
        combined = Builder(parts=[*self.parts], size=self.size, spans=[*self.spans])
        if other.size:
            combined.parts.append("\n\n")
            combined.size += 2
            shift = combined.size
            combined.parts.extend(other.parts)
            combined.size += other.size
            combined.spans += [span.shifted(shift) for span in other.spans]
        return combined

    def messages(self, limit: int, *, entity_limit: int = ENTITY_LIMIT) -> list[Message]:
        self.close_all()
        return split_text(self.text, self.spans, limit, self.item_starts, entity_limit=entity_limit)
