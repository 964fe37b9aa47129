"""markdown-it tokens → a `Builder`: every Markdown construct gets a deliberate Telegram form."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from markdown_it import MarkdownIt
from markdown_it.token import Token

from bot.render.cjk import cjk_friendly_emphasis
from bot.render.text import Builder

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
_TASK = re.compile(r"^\[([ xX])\]\s+")
_INLINE_STYLE = {"strong_open": "bold", "em_open": "italic", "s_open": "strikethrough"}


def markdown_parser() -> MarkdownIt:
    """CommonMark with the GFM tables and strikethrough that digests use, CJK-friendly."""
    return MarkdownIt("commonmark").enable(["table", "strikethrough"]).use(cjk_friendly_emphasis)


@dataclass(slots=True)
class _ListState:
    ordered: bool
    number: int


@dataclass
class MarkdownWalker:
    """Writes markdown-it block tokens into a builder; notes what it leaves out."""

    builder: Builder
    dropped: list[str] = field(default_factory=list)
    lists: list[_ListState] = field(default_factory=list)
    table: list[list[str]] | None = None

    def walk(self, tokens: list[Token]) -> None:
        for token in tokens:
            handler = getattr(self, f"_on_{token.type}", None)
            if handler is not None:
                handler(token)

    def _set_indent(self) -> None:
        self.builder.indent = "    " * len(self.lists)

    def _on_heading_open(self, token: Token) -> None:
        b = self.builder
        b.block()
        b.flush()
        if token.tag in ("h1", "h2"):
            b.open("underline")
        else:
            b.mark_item()
        b.open("bold")

    def _on_heading_close(self, token: Token) -> None:
        self.builder.close("bold")
        self.builder.close("underline")
        self.builder.block()

    def _on_paragraph_open(self, token: Token) -> None:
        if not (self.builder.marker and token.hidden):  # items of a loose list stay apart
            self.builder.block()

    def _on_inline(self, token: Token) -> None:
        b = self.builder
        children = token.children or []
        if b.marker and children and children[0].type == "text":
            task = _TASK.match(children[0].content)
            if task:
                b.marker = b.marker.replace("• ", "☑ " if task[1] in "xX" else "☐ ")
                children = [_replace_content(children[0], children[0].content[task.end() :])]
                children += (token.children or [])[1:]
        self._inline(children)
        b.close_all(keep=frozenset({"blockquote"}))  # raw inline tags end with the paragraph

    def _on_bullet_list_open(self, token: Token) -> None:
        self.builder.block("\n")
        self.lists.append(_ListState(ordered=False, number=0))
        self._set_indent()

    def _on_ordered_list_open(self, token: Token) -> None:
        self.builder.block("\n")
        start = int(token.attrGet("start") or 1)
        self.lists.append(_ListState(ordered=True, number=start))
        self._set_indent()

    def _on_bullet_list_close(self, token: Token) -> None:
        self.lists.pop()
        self._set_indent()
        self.builder.block("\n" if self.lists else "\n\n")

    _on_ordered_list_close = _on_bullet_list_close

    def _on_list_item_open(self, token: Token) -> None:
        state = self.lists[-1]
        self.builder.block("\n")
        indent = "    " * (len(self.lists) - 1)
        bullet = f"{state.number}. " if state.ordered else "• "
        if state.ordered:
            state.number += 1
        self.builder.marker = indent + bullet

    def _on_list_item_close(self, token: Token) -> None:
        if self.builder.marker:  # an empty item still shows its bullet
            self.builder.flush()

    def _on_blockquote_open(self, token: Token) -> None:
        self.builder.block()
        self.builder.open("blockquote")

    def _on_blockquote_close(self, token: Token) -> None:
        self.builder.close("blockquote")
        self.builder.block()

    def _on_fence(self, token: Token) -> None:
        language = token.info.strip().split(maxsplit=1)[0] if token.info.strip() else None
        self._code_block(token.content, language)

    def _on_code_block(self, token: Token) -> None:
        self._code_block(token.content, None)

    def _code_block(self, content: str, language: str | None) -> None:
        b = self.builder
        content = content.rstrip("\n")
        if not content.strip():
            return
        if not b.marker:
            b.block()
        b.open("pre", language=language)
        b.write(content)
        b.close("pre")
        b.block()

    def _on_hr(self, token: Token) -> None:
        self.builder.block()

    def _on_html_block(self, token: Token) -> None:
        preview = " ".join(token.content.split())
        line = (token.map[0] + 1) if token.map else 0
        self.dropped.append(f"raw HTML block at body line {line}: {preview[:60]}")

    def _on_table_open(self, token: Token) -> None:
        self.builder.block()
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
        self.builder.block()

    def _write_table(self, rows: list[list[str]]) -> None:
        b = self.builder
        width = len(rows[0]) if rows else 0
        rows = [(row + [""] * width)[:width] for row in rows]
        widths = [max(_display_width(row[c]) for row in rows) for c in range(width)]
        if sum(widths) + 3 * (width - 1) <= 40:
            lines = [" │ ".join(map(_pad, row, widths)).rstrip() for row in rows]
            lines.insert(1, "─┼─".join("─" * w for w in widths))
            b.open("pre")
            b.write("\n".join(lines))
            b.close("pre")
            return
        header, *body = rows
        for row in body:
            b.block()
            b.styled("bold", row[0])
            for name, cell in zip(header[1:], row[1:], strict=True):
                if cell:
                    b.line(f"{name}: {cell}" if name else cell)

    def _inline(self, children: list[Token]) -> None:
        if self.table is not None:
            self.table[-1][-1] += _plain(children)
            return
        b = self.builder
        for child in children:
            kind = child.type
            if kind == "text":
                b.write(child.content)
            elif kind in ("softbreak", "hardbreak"):
                b.write("\n")
            elif kind == "code_inline":
                b.styled("code", child.content)
            elif kind in ("strong_open", "em_open", "s_open"):
                b.open(_INLINE_STYLE[kind])
            elif kind in ("strong_close", "em_close", "s_close"):
                b.close(_INLINE_STYLE[kind.replace("_close", "_open")])
            elif kind == "link_open":
                b.open_link(str(child.attrGet("href") or ""))
            elif kind == "link_close":
                b.close("text_link")
            elif kind == "image":
                b.link(_plain(child.children or []) or "图片", str(child.attrGet("src") or ""))
            elif kind == "html_inline":
                self._html_tag(child.content)

    def _html_tag(self, raw: str) -> None:
        b = self.builder
        match = _HTML_TAG.fullmatch(raw.strip())
        if not match:
            return  # comments, processing instructions: nothing to show
        closing, name, attrs = match[1], match[2].lower(), match[3]
        if name == "br":
            b.write("\n")
            return
        kind = _HTML_TAGS.get(name)
        if name == "span" and "tg-spoiler" in attrs:
            kind = "spoiler"
        if kind is None:
            return
        if closing:
            b.close(kind)
        elif kind == "text_link":
            href = _HREF.search(attrs)
            b.open_link(next((g for g in href.groups() if g is not None), "") if href else "")
        else:
            b.open(kind)


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
