"""Digest → Telegram messages: plain text plus Bot API entities, split to Telegram's limits.

Pure: no I/O, no event loop. Messages are built as text plus `MessageEntity`-shaped
ranges rather than as HTML, so that no message can ever fail with "can't parse
entities"; every rule Telegram enforces on entities (nesting, URL shape, count,
offsets in UTF-16 code units) is honoured here by construction.

Layout: `messages` (what comes out), `text` (the builder), `markdown` (tokens → builder),
`split` (cutting to limits), `links` (URLs and hashtags); this module puts a digest
together from them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from markdown_it import MarkdownIt
from markdown_it.token import Token

from bot.digest import Digest, DigestError
from bot.render.links import hashtag, is_valid_link
from bot.render.markdown import MarkdownWalker, markdown_parser
from bot.render.messages import (
    CAPTION_LIMIT,
    ENTITY_LIMIT,
    TEXT_LIMIT,
    Entity,
    Message,
    Span,
    api_calls,
    utf16_length,
)
from bot.render.split import split_text
from bot.render.text import Builder

__all__ = [
    "CAPTION_LIMIT",
    "DEFAULT_MAX_MESSAGES",
    "ENTITY_LIMIT",
    "TEXT_LIMIT",
    "Builder",
    "Entity",
    "Message",
    "Rendering",
    "Span",
    "api_calls",
    "hashtag",
    "is_valid_link",
    "render_digest",
    "render_markdown",
    "split_text",
    "utf16_length",
]

DEFAULT_MAX_MESSAGES = 20


@dataclass(frozen=True, slots=True)
class Rendering:
    """The messages of one digest, and what was deliberately left out of them."""

    messages: tuple[Message, ...]
    dropped: tuple[str, ...] = ()


@cache
def _parser() -> MarkdownIt:
    return markdown_parser()


def render_digest(digest: Digest, *, max_messages: int = DEFAULT_MAX_MESSAGES) -> Rendering:
    """The cover, then one message per `##` section (split only when too long)."""
    dropped: list[str] = []
    messages = list(_cover_messages(digest))
    for section in _sections(_parser().parse(digest.body), digest.title):
        builder = Builder()
        MarkdownWalker(builder, dropped).walk(section)
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
    MarkdownWalker(builder).walk(_parser().parse(text))
    return builder.messages(limit)


def _cover_messages(digest: Digest) -> list[Message]:
    head = Builder()
    head.styled("bold", digest.title)
    head.line(" · ".join(filter(None, [digest.date.isoformat(), digest.category])))
    rest = Builder()
    MarkdownWalker(rest).walk(_parser().parse(digest.summary))
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
