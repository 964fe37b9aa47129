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

from bot.config import ContentSettings
from bot.digest import Digest, DigestError
from bot.render.links import hashtag, is_valid_link
from bot.render.markdown import MarkdownWalker, markdown_parser, strip_heading_attributes
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
from bot.render.options import DEFAULT_DROP_HTML, LINE_BREAKS, RenderOptions, label
from bot.render.split import split_text
from bot.render.text import Builder

__all__ = [
    "CAPTION_LIMIT",
    "DEFAULT_DROP_HTML",
    "DEFAULT_MAX_MESSAGES",
    "ENTITY_LIMIT",
    "LINE_BREAKS",
    "TEXT_LIMIT",
    "Builder",
    "Entity",
    "Message",
    "RenderOptions",
    "Rendering",
    "Span",
    "api_calls",
    "append_markdown",
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
    """The messages of one digest; what was left out on purpose (`dropped`: notes), and
    visible text that could not be shown (`lost`: `check` is not OK while there is any)."""

    messages: tuple[Message, ...]
    dropped: tuple[str, ...] = ()
    lost: tuple[str, ...] = ()


@cache
def _parser() -> MarkdownIt:
    return markdown_parser()


def render_digest(
    digest: Digest,
    *,
    max_messages: int = DEFAULT_MAX_MESSAGES,
    drop_html: Iterable[str] = DEFAULT_DROP_HTML,
    line_breaks: str = "auto",
) -> Rendering:
    """The cover, then one message per `##` section (split only when too long, each later
    part headed by the section's heading and "（续）")."""
    options = RenderOptions(
        drop_html=frozenset(drop_html),
        line_breaks=line_breaks,
        language=digest.language,
        line_offset=digest.body_line_offset,
    )
    dropped: list[str] = []
    lost: list[str] = []
    messages = list(_cover_messages(digest, options))
    for section in _sections(_parser().parse(digest.body), digest.title):
        builder = Builder()
        walker = MarkdownWalker(builder, options, dropped, lost)
        walker.walk(section)
        walker.finish()
        messages.extend(_section_messages(builder, _heading(section), options.language))
    if len(messages) > max_messages:
        raise DigestError(
            digest.path,
            f"renders as {len(messages)} messages, over the limit of {max_messages} "
            f"(content.max_messages); set content.max_messages = {len(messages)} to post it",
        )
    return Rendering(tuple(messages), tuple(dropped), tuple(lost))


def render_with(digest: Digest, content: ContentSettings) -> Rendering:
    """A digest rendered as the configured `content.*` settings say: the one way the
    bot, the CLI and the previews render, so that all of them show the same messages."""
    return render_digest(
        digest,
        max_messages=content.max_messages,
        drop_html=content.drop_html,
        line_breaks=content.line_breaks,
    )


def render_markdown(
    text: str, *, limit: int = TEXT_LIMIT, options: RenderOptions | None = None
) -> list[Message]:
    """Any Markdown (and HTML in it) as text messages within `limit`."""
    builder = Builder()
    append_markdown(builder, text, options)
    return builder.messages(limit)


def append_markdown(builder: Builder, text: str, options: RenderOptions | None = None) -> None:
    """Markdown (a summary, say) written on at the end of a builder's text."""
    walker = MarkdownWalker(builder, options or RenderOptions())
    walker.walk(_parser().parse(text))
    walker.finish()


def _cover_messages(digest: Digest, options: RenderOptions) -> list[Message]:
    head = Builder()
    head.styled("bold", digest.title)
    head.line(" · ".join(filter(None, [digest.date.isoformat(), digest.category])))
    rest = Builder()
    append_markdown(
        rest, digest.summary, RenderOptions(options.drop_html, language=options.language)
    )
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


def _section_messages(builder: Builder, heading: str, language: str) -> list[Message]:
    """A section's messages; when it needs several, each later one says which section it
    continues, so a reader who opens it alone knows where they are."""
    messages = builder.messages(TEXT_LIMIT)
    if len(messages) < 2 or not heading:
        return messages
    prefix = Builder()
    prefix.open("underline")
    prefix.styled("bold", heading + label(language, "continued"))
    (head,) = prefix.messages(TEXT_LIMIT)
    joint = head.text + "\n\n"
    shift = utf16_length(joint)
    parts = split_text(
        builder.text,
        builder.spans,
        TEXT_LIMIT - shift,
        builder.item_starts,
        entity_limit=ENTITY_LIMIT - len(head.entities),
    )
    continued = [
        Message(
            joint + part.text,
            head.entities
            + tuple(
                Entity(e.type, e.offset + shift, e.length, e.url, e.language) for e in part.entities
            ),
        )
        for part in parts[1:]
    ]
    return [parts[0], *continued]


def _heading(section: list[Token]) -> str:
    """The text of the `##` heading a section starts with, if it does."""
    if len(section) >= 2 and section[0].type == "heading_open" and section[0].tag == "h2":
        return " ".join(strip_heading_attributes(_plain_inline(section[1])).split())
    return ""


def _plain_inline(token: Token) -> str:
    children = token.children or []
    return "".join(c.content for c in children if c.type in ("text", "code_inline")) or (
        token.content
    )


def _sections(tokens: list[Token], title: str) -> Iterable[list[Token]]:
    """Split at top-level `#` and `##`; the leading `#` that repeats the title is dropped,
    and a `#` heading with nothing under it joins the section that follows."""
    if (
        len(tokens) >= 3
        and tokens[0].type == "heading_open"
        and tokens[0].tag == "h1"
        and " ".join(strip_heading_attributes(_plain_inline(tokens[1])).split()) == title
    ):
        tokens = tokens[3:]
    current: list[Token] = []
    for token in tokens:
        starts = token.type == "heading_open" and token.tag in ("h1", "h2") and token.level == 0
        if starts and current and not _only_h1(current):
            yield current
            current = []
        current.append(token)
    if current:
        yield current


def _only_h1(tokens: list[Token]) -> bool:
    return all(t.tag == "h1" or t.type == "inline" for t in tokens)
