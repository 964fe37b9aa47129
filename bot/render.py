"""Digest → Telegram messages: plain text plus Bot API entities, split to Telegram's limits.

Pure: no I/O, no event loop. Messages are built as text plus `MessageEntity`-shaped
ranges rather than as HTML, so that no message can ever fail with "can't parse
entities"; every rule Telegram enforces on entities (nesting, URL shape, count,
offsets in UTF-16 code units) is honoured here by construction.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any
from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from markdown_it.token import Token
from telegram.constants import MessageLimit

from bot.digest import Digest, DigestError

TEXT_LIMIT = MessageLimit.MAX_TEXT_LENGTH
CAPTION_LIMIT = MessageLimit.CAPTION_LENGTH
ENTITY_LIMIT = MessageLimit.MESSAGE_ENTITIES
DEFAULT_MAX_MESSAGES = 20

# Entity types that may be split around a code span (tdlib: "splittable").
_SPLITTABLE = frozenset({"bold", "italic", "underline", "strikethrough", "spoiler"})
_VERBATIM = frozenset({"code", "pre"})
_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "del": "strikethrough",
    "strike": "strikethrough",
    "code": "code",
    "tg-spoiler": "spoiler",
    "a": "text_link",
}
_HTML_TAG = re.compile(r"<\s*(/?)\s*([a-zA-Z][a-zA-Z0-9-]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>")
_HREF = re.compile(r"""\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.IGNORECASE)
# tdlib turns C0 controls into spaces and deletes U+2028..U+202E, which would shift offsets.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_DELETED_BY_TELEGRAM = re.compile(r"[\u2028-\u202e]")
_TRIMMED = frozenset("\u180e\u2800\ufffc")
_INVISIBLE = frozenset("\u200b\u200c\u200d\u200e\u200f\ufeff\u00a0")
_SENTENCE_END = re.compile(r"[。！？!?…]+[」』”’）)\]】]*|\.(?=\s)")
_TASK = re.compile(r"^\[([ xX])\]\s+")
_HASHTAG_UNSAFE = re.compile(r"\W+")

_markdown = MarkdownIt("commonmark").enable(["table", "strikethrough"])


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


@dataclass(frozen=True, slots=True)
class Rendering:
    """The messages of one digest, and what was deliberately left out of them."""

    messages: tuple[Message, ...]
    dropped: tuple[str, ...] = ()


def api_calls(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """The calls that post a digest: one notification per digest, so later parts are silent."""
    calls = []
    for index, message in enumerate(messages):
        call = message.api_call()
        if index:
            call["disable_notification"] = True
        calls.append(call)
    return calls


def utf16_length(text: str) -> int:
    """Telegram's unit for offsets, and a safe over-estimate for its length limits."""
    return len(text.encode("utf-16-le")) // 2


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


def render_digest(digest: Digest, *, max_messages: int = DEFAULT_MAX_MESSAGES) -> Rendering:
    """The cover, then one message per `##` section (split only when too long)."""
    dropped: list[str] = []
    messages = list(_cover_messages(digest))
    for section in _sections(_markdown.parse(digest.body), digest.title):
        builder = Builder(dropped)
        builder.blocks(section)
        messages.extend(builder.messages(TEXT_LIMIT))
    if len(messages) > max_messages:
        raise DigestError(
            digest.path,
            f"renders as {len(messages)} messages, over the limit of {max_messages}",
        )
    return Rendering(tuple(messages), tuple(dropped))


def render_markdown(text: str, *, limit: int = TEXT_LIMIT) -> list[Message]:
    """Any Markdown as text messages within `limit`."""
    builder = Builder()
    builder.markdown(text)
    return builder.messages(limit)


def _cover_messages(digest: Digest) -> list[Message]:
    head = Builder()
    head.styled("bold", digest.title)
    head.line(" · ".join(filter(None, [digest.date.isoformat(), digest.category])))
    rest = Builder()
    rest.markdown(digest.summary)
    tags = " ".join(filter(None, (hashtag(t) for t in digest.tags)))
    if tags:
        rest.block()
        rest.write(tags)

    full = head.joined(rest)
    if not digest.cover:
        return full.messages(TEXT_LIMIT)
    caption = full.messages(CAPTION_LIMIT)
    if len(caption) == 1:
        return [Message(caption[0].text, caption[0].entities, photo=digest.cover)]
    (title,) = head.messages(CAPTION_LIMIT)
    return [Message(title.text, title.entities, photo=digest.cover), *rest.messages(TEXT_LIMIT)]


def _sections(tokens: list[Token], title: str) -> Iterable[list[Token]]:
    """Split at top-level `##`; the leading `#` that repeats the title is dropped."""
    if (
        len(tokens) >= 3
        and tokens[0].type == "heading_open"
        and tokens[0].tag == "h1"
        and " ".join(tokens[1].content.split()) == title
    ):
        tokens = tokens[3:]
    current: list[Token] = []
    for token in tokens:
        if token.type == "heading_open" and token.tag == "h2" and token.level == 0 and current:
            yield current
            current = []
        current.append(token)
    if current:
        yield current


@dataclass(slots=True)
class _Open:
    """An entity being built; `start` is None while suspended around a code span."""

    type: str
    start: int | None
    url: str | None = None
    language: str | None = None
    active: bool = True


@dataclass(slots=True)
class _ListState:
    ordered: bool
    number: int


@dataclass
class Builder:
    """Text and entities under construction (offsets in code points), from markdown-it
    tokens or written directly; user text written here needs no escaping."""

    dropped: list[str] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)
    size: int = 0
    entities: list[tuple[str, int, int, str | None, str | None]] = field(default_factory=list)
    item_starts: list[int] = field(default_factory=list)
    stack: list[_Open] = field(default_factory=list)
    lists: list[_ListState] = field(default_factory=list)
    table: list[list[str]] | None = None
    separator: str = ""
    marker: str = ""
    fresh: bool = True  # nothing written since the last separator: no new one needed

    # -- low-level text and entities -------------------------------------------------

    def write(self, text: str) -> None:
        if not text:
            return
        self._flush()
        text = _DELETED_BY_TELEGRAM.sub("", _CONTROL.sub(" ", text))
        indent = self._indent()
        if indent and "\n" in text:
            text = text.replace("\n", "\n" + indent)
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
        self._open_link(url)
        self.write(text)
        self.close("text_link")

    def markdown(self, text: str) -> None:
        self.blocks(_markdown.parse(text))

    def _flush(self) -> None:
        pending = ""
        if self.separator and self.size:
            pending = self.separator + (self._indent() if not self.marker else "")
        pending += self.marker
        self.separator = self.marker = ""
        if pending:
            self.parts.append(pending)
            self.size += len(pending)
            self.fresh = True

    def _indent(self) -> str:
        return "    " * len(self.lists)

    def open(self, kind: str, url: str | None = None, language: str | None = None) -> None:
        self._flush()
        blocked = any(o.active and o.type in _VERBATIM for o in self.stack) or any(
            o.type == kind and o.active for o in self.stack
        )
        if kind == "code" and any(o.type == "text_link" and o.active for o in self.stack):
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

    def _emit(self, entry: _Open) -> None:
        if entry.active and entry.start is not None and self.size > entry.start:
            self.entities.append((entry.type, entry.start, self.size, entry.url, entry.language))

    # -- markdown-it tokens -----------------------------------------------------------

    def blocks(self, tokens: list[Token]) -> None:
        for token in tokens:
            handler = getattr(self, f"_on_{token.type}", None)
            if handler is not None:
                handler(token)

    def _on_heading_open(self, token: Token) -> None:
        self.block()
        self._flush()
        if token.tag in ("h1", "h2"):
            self.open("underline")
        else:
            self.item_starts.append(self.size)
        self.open("bold")

    def _on_heading_close(self, token: Token) -> None:
        self.close("bold")
        self.close("underline")
        self.block()

    def _on_paragraph_open(self, token: Token) -> None:
        if not (self.marker and token.hidden):  # items of a loose list stay a blank line apart
            self.block()

    def _on_inline(self, token: Token) -> None:
        children = token.children or []
        if self.marker and children and children[0].type == "text":
            task = _TASK.match(children[0].content)
            if task:
                self.marker = self.marker.replace("• ", "☑ " if task[1] in "xX" else "☐ ")
                children = [_replace_content(children[0], children[0].content[task.end() :])]
                children += (token.children or [])[1:]
        self._inline(children)
        self._close_html_tags()

    def _on_bullet_list_open(self, token: Token) -> None:
        self.block("\n")
        self.lists.append(_ListState(ordered=False, number=0))

    def _on_ordered_list_open(self, token: Token) -> None:
        self.block("\n")
        start = int(token.attrGet("start") or 1)
        self.lists.append(_ListState(ordered=True, number=start))

    def _on_bullet_list_close(self, token: Token) -> None:
        self.lists.pop()
        self.block("\n" if self.lists else "\n\n")

    _on_ordered_list_close = _on_bullet_list_close

    def _on_list_item_open(self, token: Token) -> None:
        state = self.lists[-1]
        self.block("\n")
        indent = "    " * (len(self.lists) - 1)
        bullet = f"{state.number}. " if state.ordered else "• "
        if state.ordered:
            state.number += 1
        self.marker = indent + bullet

    def _on_list_item_close(self, token: Token) -> None:
        if self.marker:  # an empty item still shows its bullet
            self._flush()

    def _on_blockquote_open(self, token: Token) -> None:
        self.block()
        self.open("blockquote")

    def _on_blockquote_close(self, token: Token) -> None:
        self.close("blockquote")
        self.block()

    def _on_fence(self, token: Token) -> None:
        language = token.info.strip().split(maxsplit=1)[0] if token.info.strip() else None
        self._code_block(token.content, language)

    def _on_code_block(self, token: Token) -> None:
        self._code_block(token.content, None)

    def _code_block(self, content: str, language: str | None) -> None:
        content = content.rstrip("\n")
        if not content.strip():
            return
        if not self.marker:
            self.block()
        self.open("pre", language=language)
        self.write(content)
        self.close("pre")
        self.block()

    def _on_hr(self, token: Token) -> None:
        self.block()

    def _on_html_block(self, token: Token) -> None:
        preview = " ".join(token.content.split())
        line = (token.map[0] + 1) if token.map else 0
        self.dropped.append(f"raw HTML block at body line {line}: {preview[:60]}")

    def _on_table_open(self, token: Token) -> None:
        self.block()
        self.table = []

    def _on_tr_open(self, token: Token) -> None:
        assert self.table is not None
        self.table.append([])

    def _on_th_open(self, token: Token) -> None:
        assert self.table is not None
        self.table[-1].append("")

    _on_td_open = _on_th_open

    def _on_table_close(self, token: Token) -> None:
        rows, self.table = self.table or [], None
        self._write_table(rows)
        self.block()

    def _write_table(self, rows: list[list[str]]) -> None:
        width = len(rows[0]) if rows else 0
        rows = [(row + [""] * width)[:width] for row in rows]
        widths = [max(_display_width(row[c]) for row in rows) for c in range(width)]
        if sum(widths) + 3 * (width - 1) <= 40:
            lines = [" │ ".join(map(_pad, row, widths)).rstrip() for row in rows]
            lines.insert(1, "─┼─".join("─" * w for w in widths))
            self.open("pre")
            self.write("\n".join(lines))
            self.close("pre")
            return
        header, *body = rows
        for row in body:
            self.block()
            self.styled("bold", row[0])
            for name, cell in zip(header[1:], row[1:], strict=True):
                if cell:
                    self.line(f"{name}: {cell}" if name else cell)

    # -- inline tokens ----------------------------------------------------------------

    def _inline(self, children: list[Token]) -> None:
        if self.table is not None:
            self.table[-1][-1] += _plain(children)
            return
        for child in children:
            kind = child.type
            if kind == "text":
                self.write(child.content)
            elif kind in ("softbreak", "hardbreak"):
                self.write("\n")
            elif kind == "code_inline":
                self.styled("code", child.content)
            elif kind in ("strong_open", "em_open", "s_open"):
                self.open(_INLINE_STYLE[kind])
            elif kind in ("strong_close", "em_close", "s_close"):
                self.close(_INLINE_STYLE[kind.replace("_close", "_open")])
            elif kind == "link_open":
                href = str(child.attrGet("href") or "")
                self._open_link(href)
            elif kind == "link_close":
                self.close("text_link")
            elif kind == "image":
                self.link(_plain(child.children or []) or "图片", str(child.attrGet("src") or ""))
            elif kind == "html_inline":
                self._html_tag(child.content)

    def _open_link(self, href: str) -> None:
        if is_valid_link(href):
            self.open("text_link", url=href)
        else:  # plain text: an unpaired close is ignored
            self.stack.append(_Open("text_link", None, active=False))

    def _html_tag(self, raw: str) -> None:
        match = _HTML_TAG.fullmatch(raw.strip())
        if not match:
            return  # comments, processing instructions: nothing to show
        closing, name, attrs = match[1], match[2].lower(), match[3]
        if name == "br":
            self.write("\n")
            return
        kind = _HTML_TAGS.get(name)
        if name == "span" and "tg-spoiler" in attrs:
            kind = "spoiler"
        if kind is None:
            return
        if closing:
            self.close(kind)
        elif kind == "text_link":
            href = _HREF.search(attrs)
            self._open_link(next((g for g in href.groups() if g is not None), "") if href else "")
        else:
            self.open(kind)

    def _close_html_tags(self) -> None:
        """Raw inline tags left open at the end of a paragraph end there."""
        while self.stack and self.stack[-1].type != "blockquote":
            self.close(self.stack[-1].type)

    # -- output -----------------------------------------------------------------------

    def joined(self, other: Builder) -> Builder:
        """This builder's content followed by another's, as a new builder."""
        combined = Builder(self.dropped)
        combined.parts = [*self.parts]
        combined.size = self.size
        combined.entities = [*self.entities]
        if other.size:
            combined.parts.append("\n\n")
            combined.size += 2
            shift = combined.size
            combined.parts.extend(other.parts)
            combined.size += other.size
            combined.entities += [
                (kind, s + shift, e + shift, url, lang) for kind, s, e, url, lang in other.entities
            ]
        return combined

    def messages(self, limit: int) -> list[Message]:
        while self.stack:
            self.close(self.stack[-1].type)
        return split_text("".join(self.parts), self.entities, limit, self.item_starts)


_INLINE_STYLE = {"strong_open": "bold", "em_open": "italic", "s_open": "strikethrough"}


def _replace_content(token: Token, content: str) -> Token:
    clone = token.copy()
    clone.content = content
    return clone


def _plain(children: list[Token]) -> str:
    out = []
    for child in children:
        if child.type in ("text", "code_inline"):
            out.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            out.append(" ")
        elif child.type == "image":
            out.append(_plain(child.children or []))
    return "".join(out)


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _display_width(text))


# -- splitting ---------------------------------------------------------------------------

_ITEM, _PARAGRAPH, _LINE = 0, 1, 2


def split_text(
    text: str,
    entities: Sequence[tuple[str, int, int, str | None, str | None]],
    limit: int,
    item_starts: Sequence[int] = (),
) -> list[Message]:
    """Cut text (entities in code-point offsets) into messages of at most `limit` UTF-16 units
    and `ENTITY_LIMIT` entities, preferring item, paragraph, line, sentence, word boundaries.

    An entity crossing a cut is closed at the cut and reopened in the next part.
    """
    units = _Units(text)
    ordered = sorted(entities, key=lambda e: (e[1], -e[2]))
    starts = sorted(item_starts)
    messages: list[Message] = []
    start = _skip_blank(text, 0)
    while start < len(text):
        end = _cut(text, units, ordered, starts, start, limit)
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


def _cut(text, units, entities, item_starts, start, limit) -> int:
    hard = min(len(text), units.furthest(start, limit))
    clipped = sorted(max(s, start) for _, s, e, _, _ in entities if e > start and s < len(text))
    if len(clipped) > ENTITY_LIMIT:
        hard = min(hard, clipped[ENTITY_LIMIT])
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


def _message(text, units, entities, start, stop) -> Message:
    base = units.at(start)
    out = []
    for kind, s, e, url, language in entities:
        if s >= stop:
            break
        if e <= start:
            continue
        s, e = max(s, start), min(e, stop)
        if e > s:
            offset = units.at(s) - base
            out.append(Entity(kind, offset, units.at(e) - base - offset, url, language))
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
