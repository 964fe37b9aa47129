"""markdown-it tokens → a `Builder`: every Markdown construct gets a deliberate Telegram form."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from markdown_it import MarkdownIt
from markdown_it.token import Token

from bot.render.cjk import cjk_friendly_emphasis
from bot.render.html import HtmlWalker
from bot.render.options import RenderOptions, label
from bot.render.text import QUOTES, Builder

_TASK = re.compile(r"^\[([ xX])\]\s+")
# Hugo / Docusaurus / Pandoc heading attributes: `## Title {#id .class key=value}`.
_ATTRIBUTE = r"(?:[#.][\w:-]+|[\w-]+=\S+)"
_HEADING_ATTRIBUTES = re.compile(rf"\s*\{{\s*{_ATTRIBUTE}(?:\s+{_ATTRIBUTE})*\s*\}}\s*$")
_INLINE_STYLE = {"strong_open": "bold", "em_open": "italic", "s_open": "strikethrough"}
# A table wider than this (in monospace cells) reads better as lines than as a block.
_NARROW_TABLE = 40
# Entities a monospace table block cannot hold (pre contains no other entity).
_FORMATTING = frozenset({"bold", "italic", "underline", "strikethrough", "spoiler", "text_link"})


def markdown_parser() -> MarkdownIt:
    """CommonMark with the GFM tables and strikethrough that digests use, CJK-friendly."""
    parser = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    return parser.use(cjk_friendly_emphasis)


def strip_heading_attributes(text: str) -> str:
    return _HEADING_ATTRIBUTES.sub("", text)


@dataclass(slots=True)
class _ListState:
    ordered: bool
    number: int


@dataclass(slots=True)
class _Table:
    outer: Builder
    rows: list[list[Builder]] = field(default_factory=list)
    header: bool = True  # the first row names the columns (HTML: only when it is all <th>)


@dataclass
class MarkdownWalker:
    """Writes markdown-it block tokens (and the HTML among them) into a builder.

    `dropped` notes what was left out on purpose (`content.drop_html`); `lost` notes
    visible text that could not be shown, so that `check` can say so.
    """

    builder: Builder
    options: RenderOptions = field(default_factory=RenderOptions)
    dropped: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    lists: list[_ListState] = field(default_factory=list)
    table: _Table | None = None
    in_heading: bool = False
    html: HtmlWalker | None = None
    line: int = 0  # the body line of the block being walked

    def walk(self, tokens: list[Token]) -> None:
        for token in tokens:
            if token.map:
                self.line = token.map[0] + 1
            if self.html is not None and self.html.dropping and token.type != "html_block":
                self.html.drop_token(token)
                continue
            handler = getattr(self, f"_on_{token.type}", None)
            if handler is not None:
                handler(token)

    def finish(self) -> None:
        """End of a message's tokens: HTML left open ends here."""
        if self.html is not None:
            self.html.close()
            self.html = None
        self.builder.close_all()

    def file_line(self, body_line: int | None = None) -> int:
        return (body_line if body_line is not None else self.line) + self.options.line_offset

    def _html(self) -> HtmlWalker:
        if self.html is None:
            self.html = HtmlWalker(self)
        return self.html

    # -- blocks, also driven by the HTML walker ------------------------------------------

    def open_list(self, ordered: bool, start: int = 1) -> None:
        self.builder.block("\n")
        self.lists.append(_ListState(ordered=ordered, number=start))
        self._set_indent()

    def close_list(self) -> None:
        if self.lists:
            self.lists.pop()
        self._set_indent()
        self.builder.block("\n" if self.lists else "\n\n")

    def open_item(self) -> None:
        if not self.lists:  # an <li> outside any list still reads as an item
            self.open_list(ordered=False)
        state = self.lists[-1]
        self.builder.block("\n")
        indent = "    " * (len(self.lists) - 1)
        bullet = f"{state.number}. " if state.ordered else "• "
        if state.ordered:
            state.number += 1
        self.builder.marker = indent + bullet

    def close_item(self) -> None:
        if self.builder.marker:  # an empty item still shows its bullet
            self.builder.flush()

    def open_heading(self, level: int) -> None:
        b = self.builder
        b.block()
        b.flush()
        if level <= 2:
            b.open("underline")
        else:
            b.mark_item()
        b.open("bold")

    def close_heading(self) -> None:
        self.builder.close("bold")
        self.builder.close("underline")
        self.builder.block()

    def open_table(self) -> None:
        if self.table is None:
            self.builder.block()
            self.table = _Table(self.builder)

    def open_row(self) -> None:
        if self.table is not None:
            self.table.rows.append([])

    def open_cell(self, header: bool = True) -> None:
        if self.table is None:
            return
        if not self.table.rows:
            self.table.rows.append([])
        if len(self.table.rows) == 1 and not header:
            self.table.header = False
        self.builder = Builder()
        self.table.rows[-1].append(self.builder)

    def close_table(self) -> None:
        if self.table is None:
            return
        table, self.table = self.table, None
        self.builder = table.outer
        self._write_table(table.rows, table.header)
        self.builder.block()

    def code_block(self, content: str, language: str | None) -> None:
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

    def media(self, kind: str, text: str, url: str) -> None:
        """An image, video or audio as a link with its text, labelled when it has none."""
        self.builder.link(" ".join(text.split()) or label(self.options.language, kind), url)

    # -- markdown-it tokens --------------------------------------------------------------

    def _set_indent(self) -> None:
        self.builder.indent = "    " * len(self.lists)

    def _on_heading_open(self, token: Token) -> None:
        self.open_heading(int(token.tag[1]))
        self.in_heading = True

    def _on_heading_close(self, token: Token) -> None:
        self.in_heading = False
        self.close_heading()

    def _on_paragraph_open(self, token: Token) -> None:
        if not (self.builder.marker and token.hidden):  # items of a loose list stay apart
            self.builder.block()

    def _on_inline(self, token: Token) -> None:
        b = self.builder
        children = list(token.children or [])
        if b.marker and children and children[0].type == "text":
            task = _TASK.match(children[0].content)
            if task:
                b.marker = b.marker.replace("• ", "☑ " if task[1] in "xX" else "☐ ")
                children[0] = _replace_content(children[0], children[0].content[task.end() :])
        if self.in_heading and children and children[-1].type == "text":
            children[-1] = _replace_content(
                children[-1], strip_heading_attributes(children[-1].content)
            )
        self._inline(children, _joins_lines(token.content, self.options.line_breaks))
        if self.html is not None:
            self.html.end_inline()
        self.builder.close_all(keep=QUOTES | {"pre"})  # raw inline tags end with the paragraph

    def _on_bullet_list_open(self, token: Token) -> None:
        self.open_list(ordered=False)

    def _on_ordered_list_open(self, token: Token) -> None:
        self.open_list(ordered=True, start=int(token.attrGet("start") or 1))

    def _on_bullet_list_close(self, token: Token) -> None:
        self.close_list()

    _on_ordered_list_close = _on_bullet_list_close

    def _on_list_item_open(self, token: Token) -> None:
        self.open_item()

    def _on_list_item_close(self, token: Token) -> None:
        self.close_item()

    def _on_blockquote_open(self, token: Token) -> None:
        self.builder.block()
        self.builder.open("blockquote")

    def _on_blockquote_close(self, token: Token) -> None:
        self.builder.close("blockquote")
        self.builder.block()

    def _on_fence(self, token: Token) -> None:
        language = token.info.strip().split(maxsplit=1)[0] if token.info.strip() else None
        self.code_block(token.content, language)

    def _on_code_block(self, token: Token) -> None:
        self.code_block(token.content, None)

    def _on_hr(self, token: Token) -> None:
        self.builder.block()

    def _on_html_block(self, token: Token) -> None:
        self._html().feed_block(token.content, self.line)

    def _on_table_open(self, token: Token) -> None:
        self.open_table()

    def _on_tr_open(self, token: Token) -> None:
        self.open_row()

    def _on_th_open(self, token: Token) -> None:
        self.open_cell()

    _on_td_open = _on_th_open

    def _on_table_close(self, token: Token) -> None:
        self.close_table()

    def _write_table(self, rows: list[list[Builder]], has_header: bool) -> None:
        """Narrow plain tables as a monospace block; others (or any with links or
        formatting, which a pre block cannot hold) as a bold line per row with
        `header: value` lines."""
        rows = [row for row in rows if row]
        if not rows:
            return
        b = self.builder
        for row in rows:
            for cell in row:
                cell.close_all()
        width = max(len(row) for row in rows)
        rows = [row + [Builder() for _ in range(width - len(row))] for row in rows]
        plain = [[" ".join(cell.text.split()) for cell in row] for row in rows]
        widths = [max(_display_width(row[c]) for row in plain) for c in range(width)]
        formatted = any(s.type in _FORMATTING for row in rows for cell in row for s in cell.spans)
        if not formatted and sum(widths) + 3 * (width - 1) <= _NARROW_TABLE:
            lines = [" │ ".join(map(_pad, row, widths)).rstrip() for row in plain]
            if len(lines) > 1 and has_header:
                lines.insert(1, "─┼─".join("─" * w for w in widths))
            b.open("pre")
            b.write("\n".join(lines))
            b.close("pre")
            return
        body, names = rows[1:], plain[0]
        if not has_header or not body or width == 1:  # no column names to show values by
            body, names = rows, [""] * width
        for row in body:
            b.block()
            b.open("bold")
            b.insert(row[0])
            b.close("bold")
            for name, cell in zip(names[1:], row[1:], strict=True):
                if cell.text.strip():
                    b.block("\n")
                    if name:
                        b.write(f"{name}: ")
                    b.insert(cell)

    def _inline(self, children: list[Token], join: bool) -> None:
        b = self.builder
        for index, child in enumerate(children):
            kind = child.type
            if self.html is not None and self.html.skip is not None and kind != "html_inline":
                self.html.drop_token(child)  # text between inline tags that are not shown
                continue
            if kind == "text":
                b.write(child.content)
            elif kind == "softbreak":
                b.write(_soft_break(b.last_char, _next_char(children, index)) if join else "\n")
            elif kind == "hardbreak":
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
                self.media("image", _plain(child.children or []), str(child.attrGet("src") or ""))
            elif kind == "html_inline":
                self._html().feed_inline(child.content, self.line)
                b = self.builder  # an inline <td> may have switched to a cell


def _joins_lines(paragraph: str, mode: str) -> bool:
    """Whether a paragraph's soft breaks are joined: always, never, or when hard-wrapped
    (most lines long and of similar width), keeping deliberately short lines."""
    if mode != "auto":
        return mode == "join"
    widths = [_display_width(line.strip()) for line in paragraph.split("\n")]
    if len(widths) < 2:
        return False
    wrapped = widths[:-1]  # the last line of a wrapped paragraph is as short as it likes
    longest = max(wrapped)
    similar = sum(w >= 0.7 * longest for w in wrapped)
    return longest >= 50 and similar >= 0.75 * len(wrapped)


def _soft_break(before: str, after: str) -> str:
    """A joined line break: a space between words, nothing next to CJK characters."""
    if not before or not after or before.isspace() or after.isspace():
        return ""
    if _is_wide(before) or _is_wide(after):
        return ""
    return " "


def _next_char(children: list[Token], index: int) -> str:
    for child in children[index + 1 :]:
        if child.type in ("text", "code_inline") and child.content:
            return child.content[0]
        if child.type in ("softbreak", "hardbreak"):
            return "\n"
    return ""


def _is_wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in "WF"


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
    return sum(2 if _is_wide(c) else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _display_width(text))
