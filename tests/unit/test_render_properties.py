"""Property tests: random Markdown always renders to valid messages that keep every word."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.render import ENTITY_LIMIT, render_markdown, utf16_length
from tests.unit.test_render import assert_valid

# Words mix scripts and astral characters but carry no Markdown syntax of their own.
WORD = st.text(alphabet="abcXYZ019中文字测试😀🎉é", min_size=1, max_size=6)
STYLES = [
    "{}",
    "**{}**",
    "*{}*",
    "~~{}~~",
    "`{}`",
    "[{}](https://example.com/x)",
    "<b>{}</b>",
    "<u>{}</u>",
    "***{}***",
    "**a `{}` b**",
]


@st.composite
def inline(draw: st.DrawFn) -> tuple[str, list[str]]:
    parts, expected = [], []
    for word in draw(st.lists(WORD, min_size=1, max_size=8)):
        style = draw(st.sampled_from(STYLES))
        parts.append(style.format(word))
        expected += ["a", word, "b"] if style.startswith("**a") else [word]
    return " ".join(parts), expected


@st.composite
def block(draw: st.DrawFn) -> tuple[str, list[str]]:
    kind = draw(st.sampled_from(["p", "h", "ul", "ol", "quote", "code", "table", "hr"]))
    text, words = draw(inline())
    if kind == "h":
        return "#" * draw(st.integers(2, 6)) + " " + text, words
    if kind == "ul":
        depth = draw(st.integers(0, 2))
        return f"- x\n{'  ' * depth}- {text}", ["x", *words]
    if kind == "ol":
        start = draw(st.integers(1, 99))
        return f"{start}. {text}", words
    if kind == "quote":
        return f"> {text}\n> > {text}", words + words
    if kind == "code":
        plain = draw(st.lists(WORD, min_size=1, max_size=6))
        return "```\n" + "\n".join(plain) + "\n```", plain
    if kind == "table":
        cells = draw(st.lists(WORD, min_size=4, max_size=4))
        return f"| {cells[0]} | {cells[1]} |\n|---|---|\n| {cells[2]} | {cells[3]} |", cells
    if kind == "hr":
        return "---", []
    return text, words


@st.composite
def document(draw: st.DrawFn) -> tuple[str, list[str]]:
    blocks = draw(st.lists(block(), min_size=1, max_size=12))
    # Repeat the document so that some examples need several messages.
    times = draw(st.sampled_from([1, 1, 40, 150]))
    markdown = "\n\n".join(b for b, _ in blocks * times)
    words = [w for _, ws in blocks * times for w in ws]
    return markdown, words


def assert_words_in_order(text: str, words: list[str]) -> None:
    position = 0
    for word in words:
        found = text.find(word, position)
        assert found >= 0, f"{word!r} lost after position {position}"
        position = found + len(word)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document(), st.sampled_from([4096, 1024, 200]))
def test_random_markdown_renders_valid_messages_with_every_word(doc, limit: int) -> None:
    markdown, words = doc
    messages = render_markdown(markdown, limit=limit)
    for message in messages:
        assert utf16_length(message.text) <= limit
        assert len(message.entities) <= ENTITY_LIMIT
        assert message.text == message.text.strip()
        assert_valid(message)
    assert_words_in_order("\n".join(m.text for m in messages), words)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=3000))
def test_any_text_at_all_renders_valid_messages(markdown: str) -> None:
    for message in render_markdown(markdown):
        assert utf16_length(message.text) <= 4096
        assert_valid(message)


# -- HTML as authors write it ----------------------------------------------------------

URL = st.builds(
    "https://{}.example.com/{}".format,
    st.text(alphabet="abcxyz", min_size=1, max_size=5),
    st.text(alphabet="abc019", max_size=5),
)


@st.composite
def html_inline(draw: st.DrawFn) -> tuple[str, list[str], list[str]]:
    """(HTML, visible words, link URLs)."""
    parts, words, urls = [], [], []
    for word in draw(st.lists(WORD, min_size=1, max_size=4)):
        kind = draw(st.sampled_from(["text", "b", "a", "code"]))
        if kind == "a":
            url = draw(URL)
            parts.append(f'<a href="{url}">{word}</a>')
            urls.append(url)
        elif kind in ("b", "code"):
            parts.append(f"<{kind}>{word}</{kind}>")
        else:
            parts.append(word)
        words.append(word)
    return " ".join(parts), words, urls


@st.composite
def html_block(draw: st.DrawFn) -> tuple[str, list[str], list[str]]:
    kind = draw(st.sampled_from(["ul", "ol", "table", "p"]))
    cells = draw(st.lists(html_inline(), min_size=1, max_size=6))
    words = [w for _, ws, _ in cells for w in ws]
    urls = [u for _, _, us in cells for u in us]
    if kind in ("ul", "ol"):
        items = "\n".join(f"<li>{html}</li>" for html, _, _ in cells)
        return f"<{kind}>\n{items}\n</{kind}>", words, urls
    if kind == "table":
        columns = draw(st.integers(1, 3))
        rows = [cells[i : i + columns] for i in range(0, len(cells), columns)]
        body = "\n".join(
            "<tr>" + "".join(f"<td>{html}</td>" for html, _, _ in row) + "</tr>" for row in rows
        )
        return f"<table>\n{body}\n</table>", words, urls
    return "<p>" + " ".join(html for html, _, _ in cells) + "</p>", words, urls


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(html_block(), min_size=1, max_size=6))
def test_html_lists_tables_and_links_keep_their_text_and_urls(blocks) -> None:
    source = "\n\n".join(html for html, _, _ in blocks)
    messages = render_markdown(source)
    for message in messages:
        assert_valid(message)
    text = "\n".join(m.text for m in messages)
    for _, words, _ in blocks:
        for word in words:
            assert word in text, (word, source)
    linked = {e.url for m in messages for e in m.entities if e.type == "text_link"}
    assert {u for _, _, urls in blocks for u in urls} <= linked
