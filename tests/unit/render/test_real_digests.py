"""Digests as their authors wrote them (issue 12): HTML, table cells, attributes, breaks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.digest import Digest, DigestError
from bot.render import Message, RenderOptions, render_digest, render_markdown
from tests.unit.test_render import assert_valid, spans


def one(source: str, **options: object) -> Message:
    (message,) = render_markdown(source, options=RenderOptions(**options))  # type: ignore[arg-type]
    assert_valid(message)
    return message


def links(message: Message) -> list[tuple[str, str | None]]:
    return [
        (text, e.url)
        for e, (_, text) in zip(message.entities, spans(message), strict=True)
        if e.type == "text_link"
    ]


def digest(body: str, **fields: object) -> Digest:
    values = {"path": Path("t.md"), "slug": "t", "title": "标题", "date": dt.date(2026, 1, 2)}
    return Digest(**(values | {"body": body} | fields))  # type: ignore[arg-type]


# -- HTML blocks ---------------------------------------------------------------------------


def test_html_paragraphs_and_breaks() -> None:
    message = one("<div>\n  <p>第一段</p>\n  <section>第二段<br>换行</section>\n</div>")
    assert message.text == "第一段\n\n第二段\n换行"


def test_html_lists_with_links() -> None:
    message = one(
        '<ul>\n<li><a href="https://a.example.com">甲</a> 说明</li>\n<li>乙\n<ol><li>一'
        "<li>二</ol></ul>"
    )
    assert message.text == "• 甲 说明\n• 乙\n    1. 一\n    2. 二"
    assert links(message) == [("甲", "https://a.example.com")]


def test_html_styles() -> None:
    message = one(
        "<p><b>粗</b> <strong>强</strong> <i>斜</i> <em>调</em> <u>下</u> "
        "<s>删</s> <del>去</del> <code>c</code></p>"
    )
    assert message.text == "粗 强 斜 调 下 删 去 c"
    assert [t for t, _ in spans(message)] == [
        "bold",
        "bold",
        "italic",
        "italic",
        "underline",
        "strikethrough",
        "strikethrough",
        "code",
    ]


def test_html_pre_keeps_whitespace_and_language() -> None:
    message = one('<pre><code class="language-python">if a &lt; b:\n    pass\n</code></pre>')
    assert message.text == "if a < b:\n    pass"
    assert message.entities[0].type == "pre" and message.entities[0].language == "python"


@pytest.mark.parametrize("level", range(1, 7))
def test_html_headings_are_bold_lines(level: int) -> None:
    message = one(f"<h{level}>标题</h{level}>\n<p>正文</p>")
    assert message.text == "标题\n\n正文"
    assert ("bold", "标题") in spans(message)


def test_html_images_are_links_with_alt_text_labelled_in_the_language() -> None:
    message = one(
        '<p><img src="https://i.example.com/a.png" alt="图表"> '
        '<img src="https://i.example.com/b.png"></p>'
    )
    assert message.text == "图表 图片"
    assert one('<img src="https://i.example.com/b.png">', language="en").text == "image"
    assert one("![](https://i.example.com/b.png)", language="en").text == "image"


def test_html_video_and_audio_are_links() -> None:
    message = one(
        '<video controls><source src="https://v.example.com/a.mp4">不支持</video>\n'
        '<audio src="https://v.example.com/a.mp3"></audio>'
    )
    assert links(message) == [
        ("视频", "https://v.example.com/a.mp4"),
        ("音频", "https://v.example.com/a.mp3"),
    ]


def test_html_blockquote_and_nested_quotes_flatten() -> None:
    message = one("<blockquote>外<blockquote>内</blockquote></blockquote>")
    assert [t for t, _ in spans(message)] == ["blockquote"]


def test_details_is_bold_summary_and_expandable_body_around_markdown() -> None:
    message = one("<details>\n<summary>展开</summary>\n\n**正文** 内容\n\n</details>\n\n后")
    assert message.text == "展开\n正文 内容\n\n后"
    assert spans(message) == [
        ("bold", "展开"),
        ("expandable_blockquote", "正文 内容"),
        ("bold", "正文"),
    ]


def test_details_inside_blockquote_does_not_nest_quotes() -> None:
    message = one("> <details><summary>S</summary>body</details>")
    assert [t for t, _ in spans(message)].count("blockquote") == 1
    assert "expandable_blockquote" not in [t for t, _ in spans(message)]


def test_comments_scripts_styles_frames_are_dropped_silently() -> None:
    rendering = render_digest(
        digest(
            "## 节\n\n<!-- 注释 -->\n\n<script>x()</script>\n\n<style>p{}</style>\n\n"
            '<iframe src="https://e.com">框</iframe>\n\n<p>留下</p>'
        )
    )
    assert rendering.messages[1].text == "节\n\n留下"
    assert rendering.dropped == rendering.lost == ()


def test_svg_text_is_reported_lost_with_its_file_line() -> None:
    rendering = render_digest(
        digest("## 节\n\n<svg><text>图中字</text></svg>", body_line_offset=10)
    )
    assert rendering.lost == ("line 13: text in <svg> not shown: 图中字",)


def test_drop_html_classes_are_configurable() -> None:
    body = '## 节\n\n<div class="ad banner">广告</div>\n\n<div class="telegram-card">卡</div>'
    rendering = render_digest(digest(body), drop_html=["ad"])
    assert rendering.messages[1].text == "节\n\n卡"
    assert rendering.dropped == ('line 3: <div class="ad"> dropped (content.drop_html): 广告',)


def test_drop_html_spanning_markdown_blocks_drops_them_too() -> None:
    body = '## 节\n\n<div class="telegram-card">\n\n**加入我们**\n\n</div>\n\n后'
    rendering = render_digest(digest(body))
    assert rendering.messages[1].text == "节\n\n后"


def test_html_tables_use_the_markdown_layouts() -> None:
    narrow = one("<table><tr><th>名</th><th>值</th></tr><tr><td>甲</td><td>1</td></tr></table>")
    assert narrow.text == "名 │ 值\n───┼───\n甲 │ 1"
    wide = one(
        '<table><tr><th>项目</th><th>说明</th></tr><tr><td><a href="https://g.example.com">'
        "repo</a></td><td><b>快</b></td></tr></table>"
    )
    assert wide.text == "repo\n说明: 快"
    assert spans(wide) == [("text_link", "repo"), ("bold", "repo"), ("bold", "快")]


# -- Markdown --------------------------------------------------------------------------


def test_table_cells_keep_links_and_formatting() -> None:
    message = one("| 仓库 | 星 |\n|---|---|\n| [a/b](https://github.com/a/b) | **9k** |")
    assert message.text == "a/b\n星: 9k"
    assert ("text_link", "a/b") in spans(message) and ("bold", "9k") in spans(message)
    assert message.entities[0].url == "https://github.com/a/b"


def test_narrow_table_with_code_stays_a_block() -> None:
    message = one("| a | b |\n|---|---|\n| `x` | 1 |")
    assert [e.type for e in message.entities] == ["pre"]


@pytest.mark.parametrize("suffix", [" {#id}", " {.class}", " {#id .a key=v}"])
def test_heading_attributes_are_stripped(suffix: str) -> None:
    assert one(f"## 标题{suffix}\n\n正文").text == "标题\n\n正文"


WRAPPED = (
    "Most English blogs wrap their prose at about seventy-two columns, so a\n"
    "paragraph arrives as several lines of similar width that were never meant\n"
    "as line breaks by the author of the text."
)


def test_line_breaks_auto_joins_hard_wrapped_prose_and_keeps_short_lines() -> None:
    assert "\n" not in one(WRAPPED).text
    assert one("第一行\n第二行\n第三行").text == "第一行\n第二行\n第三行"


def test_line_breaks_join_and_keep() -> None:
    assert one("中文\n换行 and\nLatin", line_breaks="join").text == "中文换行 and Latin"
    assert one(WRAPPED, line_breaks="keep").text == WRAPPED


def test_body_h1_that_is_not_the_title_joins_the_next_message() -> None:
    messages = render_digest(digest("# 另一个标题\n\n## 一\n\n甲\n\n# 第二部分\n\n## 二\n\n乙"))
    assert [m.text for m in messages.messages[1:]] == [
        "另一个标题\n\n一\n\n甲",
        "第二部分\n\n二\n\n乙",
    ]


def test_continued_sections_in_english() -> None:
    body = "## Part\n\n" + "\n\n".join(f"### Item {i}\n\n" + "A sentence. " * 60 for i in range(8))
    messages = render_digest(digest(body, language="en")).messages[2:]
    assert messages and all(m.text.startswith("Part (cont.)\n\n") for m in messages)
    for message in messages:
        assert_valid(message)


def test_message_cap_error_names_the_setting_and_the_count() -> None:
    body = "\n\n".join(f"## 节{i}\n\n正文" for i in range(25))
    with pytest.raises(DigestError, match=r"content\.max_messages.*= 26"):
        render_digest(digest(body))
