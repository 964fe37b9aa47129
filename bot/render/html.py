"""Raw HTML in a digest → the builder, with the stdlib's forgiving `html.parser`.

Authors put link lists, tables, `<pre>` blocks and `<details>` in HTML; their text
is the digest's content and is rendered, not dropped. Only decoration goes: blocks
whose class is in `content.drop_html` (noted), and what a browser does not show
either (comments, scripts, styles, frames). HTML may open in one Markdown block and
close in a later one (`<details>` around Markdown), so the walker keeps its open
elements between the pieces it is fed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Protocol

from markdown_it.token import Token

from bot.render.options import RenderOptions
from bot.render.text import Builder

_STYLES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "cite": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "del": "strikethrough",
    "strike": "strikethrough",
    "code": "code",
    "kbd": "code",
    "samp": "code",
    "tt": "code",
    "tg-spoiler": "spoiler",
}


def _names(words: str) -> frozenset[str]:
    return frozenset(words.split())


_PARAGRAPHS = _names(
    "p div section article header footer main aside nav figure figcaption center address"
    " hgroup form fieldset legend dl"
)
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
# Shown by no browser, or embedded content that has no text of its own: dropped silently.
_HIDDEN = _names("script style template iframe head title noembed object canvas")
_VOID = _names("area base br col embed hr img input link meta param source track wbr")
_MEDIA = frozenset({"video", "audio"})
_SPACES = re.compile(r"\s+")
_LANGUAGE_CLASS = re.compile(r"\b(?:language|lang)-([\w+#.-]+)")


class Blocks(Protocol):
    """What the HTML walker needs of the Markdown walker: one place for lists and tables."""

    builder: Builder
    options: RenderOptions
    dropped: list[str]
    lost: list[str]

    def file_line(self, body_line: int | None = None) -> int: ...
    def open_list(self, ordered: bool, start: int = 1) -> None: ...
    def close_list(self) -> None: ...
    def open_item(self) -> None: ...
    def close_item(self) -> None: ...
    def open_heading(self, level: int) -> None: ...
    def close_heading(self) -> None: ...
    def open_table(self) -> None: ...
    def open_row(self) -> None: ...
    def open_cell(self, header: bool = True) -> None: ...
    def close_table(self) -> None: ...
    def media(self, kind: str, text: str, url: str) -> None: ...


@dataclass(slots=True)
class _Element:
    tag: str
    action: str  # what closing it does: "style", "link", "block", "list", ...
    kind: str = ""


@dataclass(slots=True)
class _Skip:
    """An element whose content is not shown: why, where, and the text it held."""

    tag: str
    depth: int
    line: int
    reason: str  # "hidden", "dropped" (content.drop_html), "lost", "media"
    opening: str = ""
    text: str = ""


class HtmlWalker(HTMLParser):
    """Feeds HTML pieces into the blocks walker's builder."""

    def __init__(self, blocks: Blocks) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks = blocks
        self.open_elements: list[_Element] = []
        self.skip: _Skip | None = None
        self.pre_depth = 0
        self.pre_fresh = False
        self.space = False  # a collapsed space waits for the next word
        self.base_line = 0
        self.fed_lines = 1
        self.media_linked = False

    @property
    def builder(self) -> Builder:
        return self.blocks.builder

    @property
    def dropping(self) -> bool:
        return self.skip is not None and self.skip.reason == "dropped"

    # -- feeding ---------------------------------------------------------------------------

    def feed_block(self, html: str, body_line: int) -> None:
        self._feed(html if html.endswith("\n") else html + "\n", body_line)

    def feed_inline(self, html: str, body_line: int) -> None:
        self._feed(html, body_line)

    def _feed(self, html: str, body_line: int) -> None:
        self.base_line, self.fed_lines = body_line, self.getpos()[0]
        self.feed(html)
        self.goahead(True)  # a tag cut off at the end of a piece is not waited for

    def drop_token(self, token: Token) -> None:
        """Markdown between the tags of a dropped block is dropped with it."""
        if self.skip is not None and token.type in ("inline", "fence", "code_block", "text"):
            self.skip.text += " " + token.content

    def end_inline(self) -> None:
        """Inline tags left open at the end of a paragraph end there (the builder closed them)."""
        while self.open_elements and self.open_elements[-1].action in ("style", "link", "span"):
            self.open_elements.pop()

    def close(self) -> None:
        """The end of a message: whatever is still open ends here."""
        self.goahead(True)
        if self.skip is not None:
            self._end_skip()
        while self.open_elements:
            self._close_element(self.open_elements.pop())

    def _line(self) -> int:
        return self.blocks.file_line(self.base_line + self.getpos()[0] - self.fed_lines)

    # -- parser events -----------------------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if self.skip is not None:
            if tag == self.skip.tag and tag not in _VOID:
                self.skip.depth += 1
            elif self.skip.reason == "media" and tag == "source":
                self._media_source(attributes)
            return
        classes = set(attributes.get("class", "").split())
        if classes & self.blocks.options.drop_html:
            shown = " ".join(sorted(classes & self.blocks.options.drop_html))
            self._start_skip(tag, "dropped", f'<{tag} class="{shown}">')
            return
        if tag in _HIDDEN:
            self._start_skip(tag, "hidden")
            return
        if tag == "svg":
            self._start_skip(tag, "lost", "<svg>")
            return
        self._start(tag, attributes)
        if tag in _VOID:
            self._end(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if self.skip is not None:
            if tag == self.skip.tag:
                self.skip.depth -= 1
                if self.skip.depth == 0:
                    self._end_skip()
            return
        if tag not in _VOID:
            self._end(tag)

    def handle_data(self, data: str) -> None:
        if self.skip is not None:
            self.skip.text += data
            return
        b = self.builder
        if self.pre_depth:
            if self.pre_fresh and data.startswith("\n"):  # as browsers do after <pre>
                data = data[1:]
            self.pre_fresh = False
            b.write(data)
            return
        text = _SPACES.sub(" ", data)
        if text.startswith(" "):
            self.space, text = True, text[1:]
        if not text:
            return
        trailing = text.endswith(" ")
        self._write_space()
        b.write(text.rstrip(" "))
        self.space = trailing

    # -- elements ----------------------------------------------------------------------

    def _write_space(self) -> None:
        if self.space and not self.builder.at_line_start:
            self.builder.write(" ")
        self.space = False

    def _start(self, tag: str, attributes: dict[str, str]) -> None:
        blocks, b = self.blocks, self.builder
        kind = _STYLES.get(tag)
        if tag == "span" and "tg-spoiler" in attributes.get("class", "").split():
            kind = "spoiler"
        if kind is not None:
            self._write_space()
            if kind == "code" and self.pre_depth:
                language = _LANGUAGE_CLASS.search(attributes.get("class", ""))
                if language:
                    b.set_language(language[1])
            b.open(kind)
            self.open_elements.append(_Element(tag, "style", kind))
        elif tag == "a":
            self._write_space()
            b.open_link(attributes.get("href", "").strip())
            self.open_elements.append(_Element(tag, "link"))
        elif tag == "br":
            self.space = False
            b.write("\n")
        elif tag == "hr":
            self.space = False
            b.block()
        elif tag == "img":
            self._write_space()
            blocks.media("image", attributes.get("alt", ""), attributes.get("src", "").strip())
        elif tag in _MEDIA:
            self._start_skip(tag, "media")
            self.media_linked = False
            self._media_source(attributes)
        elif tag in ("ul", "ol", "menu"):
            self.space = False
            start = attributes.get("start", "1")
            blocks.open_list(tag == "ol", int(start) if start.isdigit() else 1)
            self.open_elements.append(_Element(tag, "list"))
        elif tag == "li":
            self._close_implied("li", stop=("ul", "ol", "menu"))
            self.space = False
            blocks.open_item()
            self.open_elements.append(_Element(tag, "item"))
        elif tag in _HEADINGS:
            self.space = False
            blocks.open_heading(_HEADINGS[tag])
            self.open_elements.append(_Element(tag, "heading"))
        elif tag == "pre":
            self.space = False
            b.block()
            language = _LANGUAGE_CLASS.search(attributes.get("class", ""))
            b.open("pre", language=language[1] if language else None)
            self.pre_depth += 1
            self.pre_fresh = True
            self.open_elements.append(_Element(tag, "pre"))
        elif tag == "blockquote":
            self.space = False
            b.block()
            b.open("blockquote")
            self.open_elements.append(_Element(tag, "quote", "blockquote"))
        elif tag == "details":
            self.space = False
            b.block()
            self.open_elements.append(_Element(tag, "quote", "expandable_blockquote"))
        elif tag == "summary":
            self.space = False
            b.block()
            b.open("bold")
            self.open_elements.append(_Element(tag, "summary"))
        elif tag == "table":
            self.space = False
            blocks.open_table()
            self.open_elements.append(_Element(tag, "table"))
        elif tag == "tr":
            self._close_implied("tr", stop=("table",))
            blocks.open_row()
            self.open_elements.append(_Element(tag, "row"))
        elif tag in ("td", "th"):
            self._close_implied("td", "th", stop=("tr", "table"))
            self.space = False
            blocks.open_cell(header=tag == "th")
            self.open_elements.append(_Element(tag, "cell"))
        elif tag in ("dt", "dd"):
            self._close_implied("dt", "dd", stop=("dl",))
            self.space = False
            b.block("\n")
            if tag == "dt":
                b.open("bold")
            self.open_elements.append(_Element(tag, "term" if tag == "dt" else "block"))
        elif tag in _PARAGRAPHS:
            if tag == "p":
                self._close_implied("p", stop=tuple(_PARAGRAPHS - {"p"}))
            self.space = False
            b.block()
            self.open_elements.append(_Element(tag, "block"))
        else:  # any other element: its text is kept as it is
            self.open_elements.append(_Element(tag, "span"))

    def _end(self, tag: str) -> None:
        if tag in _VOID:
            return
        for index in range(len(self.open_elements) - 1, -1, -1):
            element = self.open_elements[index]
            if element.tag != tag:
                continue
            if element.action in ("style", "link", "span"):
                # Inline: close only this one, so misnested tags still nest.
                del self.open_elements[index]
                self._close_element(element)
            else:
                # Structure: whatever was left open inside it ends with it.
                while len(self.open_elements) > index:
                    self._close_element(self.open_elements.pop())
            return

    def _close_implied(self, *tags: str, stop: tuple[str, ...]) -> None:
        """HTML lets `<li>`, `<td>`, `<tr>`, `<p>` end where the next one starts."""
        for index in range(len(self.open_elements) - 1, -1, -1):
            tag = self.open_elements[index].tag
            if tag in stop:
                return
            if tag in tags:
                while len(self.open_elements) > index:
                    self._close_element(self.open_elements.pop())
                return

    def _close_element(self, element: _Element) -> None:
        blocks, b = self.blocks, self.builder
        action = element.action
        if action == "style":
            b.close(element.kind)
        elif action == "link":
            b.close("text_link")
        elif action == "list":
            blocks.close_list()
        elif action == "item":
            blocks.close_item()
        elif action == "heading":
            blocks.close_heading()
        elif action == "pre":
            b.close("pre")
            self.pre_depth -= 1
            b.block()
        elif action == "quote":
            b.close(element.kind)
            b.block()
        elif action == "summary":
            b.close("bold")
            b.block("\n")
            b.open("expandable_blockquote")  # closed by the </details> that holds it
        elif action == "table":
            blocks.close_table()
        elif action == "term":
            b.close("bold")
        elif action == "block":
            b.block()
        if action not in ("style", "link", "span"):
            self.space = False

    # -- content that is not shown -------------------------------------------------------

    def _start_skip(self, tag: str, reason: str, opening: str = "") -> None:
        self.skip = _Skip(tag, 1, self._line(), reason, opening)

    def _end_skip(self) -> None:
        skip, self.skip = self.skip, None
        if skip is None:
            return
        text = " ".join(skip.text.split())
        if skip.reason == "dropped":
            self.blocks.dropped.append(
                f"line {skip.line}: {skip.opening} dropped (content.drop_html): {text[:60]}"
            )
        elif skip.reason == "lost" and text:
            self.blocks.lost.append(
                f"line {skip.line}: text in {skip.opening} not shown: {text[:60]}"
            )

    def _media_source(self, attributes: dict[str, str]) -> None:
        src = attributes.get("src", "").strip()
        if src and not self.media_linked and self.skip is not None:
            self.media_linked = True
            self._write_space()
            self.blocks.media(self.skip.tag, attributes.get("title", ""), src)
