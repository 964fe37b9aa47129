"""Rendering: every Markdown construct gets a deliberate Telegram form, within every limit."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from bot.digest import Digest, DigestError, load_digest
from bot.render import (
    CAPTION_LIMIT,
    ENTITY_LIMIT,
    TEXT_LIMIT,
    Entity,
    Message,
    api_calls,
    hashtag,
    is_valid_link,
    render_digest,
    render_markdown,
    utf16_length,
)
from bot.sandbox.telegram_api import message_problem
from tests.samples import SAMPLE


def assert_valid(message: Message) -> None:
    """The strict emulator's verdict on one message, without the HTTP round trip."""
    problem = message_problem(
        message.text, [e.to_dict() for e in message.entities], caption=bool(message.photo)
    )
    assert problem is None, f"{problem}\n{message}"


def spans(message: Message) -> list[tuple[str, str]]:
    """(type, covered text) for each entity, resolved through UTF-16 offsets."""
    units = message.text.encode("utf-16-le")
    return [
        (e.type, units[e.offset * 2 : (e.offset + e.length) * 2].decode("utf-16-le"))
        for e in message.entities
    ]


def one(markdown: str) -> Message:
    (message,) = render_markdown(markdown)
    assert_valid(message)
    return message


def digest(body: str, **fields) -> Digest:
    values = {"path": Path("t.md"), "slug": "t", "title": "标题", "date": dt.date(2026, 1, 2)}
    return Digest(**(values | {"body": body} | fields))


# -- the sample -------------------------------------------------------------------------


def test_sample_is_a_cover_and_five_sections() -> None:
    rendering = render_digest(load_digest(SAMPLE))
    cover, *sections = rendering.messages
    assert cover.photo and cover.photo.startswith("https://")
    assert [m.text.split("\n", 1)[0] for m in sections] == [
        "AI 模型升级与技术突破",
        "AI 资本战：千亿美元融资与战略布局",
        "AI 应用落地与行业动态",
        "AI 技术局限与挑战",
        "更多动态",
    ]
    for message in rendering.messages:
        assert_valid(message)
    assert "telegram-card" in rendering.dropped[0]


def test_sample_cover_caption() -> None:
    cover = render_digest(load_digest(SAMPLE)).messages[0]
    lines = cover.text.split("\n")
    assert lines[0] == "AI 军备竞赛升级：千亿融资频现，模型能力突破与局限并存"
    assert lines[1] == "2026-02-21 · AI 日报"
    assert lines[3] == "• 谷歌发布 Gemini 3.1 Pro，推理性能翻倍，定价持平"
    assert lines[-1] == "#AI #AI日报"
    assert spans(cover)[0] == ("bold", lines[0])


def test_sample_keeps_every_visible_word_in_order() -> None:
    digest = load_digest(SAMPLE)
    text = "\n".join(m.text for m in render_digest(digest).messages)
    body = digest.body.split('<div class="telegram-card">')[0]
    words = re.findall(r"[^\s#*>\-|`\[\]()]+", body)
    position = 0
    for word in words:
        found = text.find(word, position)
        assert found >= 0, word
        position = found + len(word)


# -- constructs -------------------------------------------------------------------------


def test_headings() -> None:
    message = one("## 章节\n\n### 条目\n\n#### 小节\n\n正文")
    assert message.text == "章节\n\n条目\n\n小节\n\n正文"
    assert spans(message) == [
        ("bold", "章节"),
        ("underline", "章节"),
        ("bold", "条目"),
        ("bold", "小节"),
    ]


def test_paragraphs_are_a_blank_line_apart_and_breaks_are_kept() -> None:
    assert one("一段\n续行\n\n二段  \n硬换行").text == "一段\n续行\n\n二段\n硬换行"


def test_bullet_lists_nest_with_indentation() -> None:
    message = one("- 甲\n- 乙\n  - 乙一\n    - 乙一一\n- 丙")
    assert message.text == "• 甲\n• 乙\n    • 乙一\n        • 乙一一\n• 丙"


def test_ordered_lists_keep_their_numbers() -> None:
    assert one("3. 三\n4. 四\n5. 五").text == "3. 三\n4. 四\n5. 五"
    assert one("1. one\n   - sub\n2. two").text == "1. one\n    • sub\n2. two"


def test_task_lists() -> None:
    assert one("- [ ] 待办\n- [x] 完成\n- [X] Done").text == "☐ 待办\n☑ 完成\n☑ Done"


def test_loose_list_items_stay_apart() -> None:
    assert one("- 甲\n\n- 乙").text == "• 甲\n\n• 乙"


def test_blockquotes_become_one_entity_and_nested_ones_flatten() -> None:
    message = one("前\n\n> 引用 **粗**\n> > 内层\n\n后")
    assert message.text == "前\n\n引用 粗\n\n内层\n\n后"
    assert ("blockquote", "引用 粗\n\n内层") in spans(message)
    assert ("bold", "粗") in spans(message)
    assert [t for t, _ in spans(message)].count("blockquote") == 1


def test_fenced_and_indented_code_are_pre() -> None:
    message = one("```python\nif a < b:\n    pass\n```\n\n    indented <x>\n\n后")
    assert message.text == "if a < b:\n    pass\n\nindented <x>\n\n后"
    assert message.entities[0] == Entity("pre", 0, 18, language="python")
    assert spans(message)[1] == ("pre", "indented <x>")


def test_inline_styles_and_nesting() -> None:
    message = one("**粗 *斜* 粗** ~~删~~ `代码` ***两者***")
    assert message.text == "粗 斜 粗 删 代码 两者"
    assert set(spans(message)) == {
        ("bold", "粗 斜 粗"),
        ("italic", "斜"),
        ("strikethrough", "删"),
        ("code", "代码"),
        ("italic", "两者"),
        ("bold", "两者"),
    }


def test_code_inside_bold_splits_the_bold() -> None:
    message = one("**前 `x` 后**")
    assert spans(message) == [("bold", "前 "), ("code", "x"), ("bold", " 后")]


def test_links_autolinks_and_images() -> None:
    message = one(
        "[官网](https://openai.com) <https://example.com/a> ![封面图](https://i.example.com/c.png)"
    )
    assert message.text == "官网 https://example.com/a 封面图"
    assert [(e.type, e.url) for e in message.entities] == [
        ("text_link", "https://openai.com"),
        ("text_link", "https://example.com/a"),
        ("text_link", "https://i.example.com/c.png"),
    ]


@pytest.mark.parametrize(
    "url", ["/relative", "#anchor", "mailto:a@b.com", "javascript:alert(1)", "http://localhost/x"]
)
def test_links_telegram_would_refuse_stay_plain_text(url: str) -> None:
    message = one(f"[文字]({url}) 后")
    assert message.text.startswith(("文字 后", "[文字]("))  # markdown-it keeps unsafe ones literal
    assert message.entities == ()


def test_code_inside_a_link_keeps_the_link() -> None:
    message = one("[`api`](https://example.com)")
    assert spans(message) == [("text_link", "api")]


def test_tables_as_monospace_block() -> None:
    message = one("| 名字 | 值 |\n|---|---|\n| 甲 | 1 |\n| abc | 22 |")
    assert message.text == "名字 │ 值\n─────┼───\n甲   │ 1\nabc  │ 22"
    assert message.entities[0].type == "pre"


def test_wide_tables_as_lines_per_row() -> None:
    wide = "| 模型 | 说明 |\n|---|---|\n| GPT | " + "很长的说明" * 10 + " |"
    message = one(wide)
    assert message.text == "GPT\n说明: " + "很长的说明" * 10
    assert spans(message)[0] == ("bold", "GPT")


def test_horizontal_rules_are_dropped() -> None:
    assert one("甲\n\n---\n\n乙").text == "甲\n\n乙"


def test_inline_html_with_a_telegram_equivalent() -> None:
    message = one(
        "<b>粗</b> <strong>强</strong> <i>斜</i> <em>强调</em> <u>下</u> <s>删</s> "
        '<del>去</del> <code>c</code> <a href="https://t.me/ai_news_plus">群</a> 换<br>行 '
        '<span class="x">留字</span>'
    )
    assert message.text == "粗 强 斜 强调 下 删 去 c 群 换\n行 留字"
    assert [t for t, _ in spans(message)] == [
        "bold",
        "bold",
        "italic",
        "italic",
        "underline",
        "strikethrough",
        "strikethrough",
        "code",
        "text_link",
    ]


def test_misnested_html_still_nests() -> None:
    message = one("<b>甲<i>乙</b>丙</i>")
    assert message.text == "甲乙丙"
    assert sorted(spans(message)) == [("bold", "甲乙"), ("italic", "丙"), ("italic", "乙")]


def test_unclosed_html_tag_ends_with_its_paragraph() -> None:
    message = one("<b>没有闭合\n\n下一段")
    assert spans(message) == [("bold", "没有闭合")]


def test_raw_html_blocks_are_rendered_and_only_drop_html_classes_dropped() -> None:
    body = '## 节\n\n正文\n\n<div>\n<p>卡片</p>\n</div>\n\n<div class="telegram-card">邀请</div>\n'
    rendering = render_digest(digest(body, body_line_offset=4))
    assert rendering.messages[1].text == "节\n\n正文\n\n卡片"
    assert rendering.dropped == (
        'line 13: <div class="telegram-card"> dropped (content.drop_html): 邀请',
    )
    assert rendering.lost == ()


def test_control_characters_cannot_shift_offsets() -> None:
    message = one("**甲\x0b乙**\u2028丙")
    assert message.text == "甲 乙丙"
    assert spans(message) == [("bold", "甲 乙")]


def test_hashtags() -> None:
    assert hashtag("AI 日报") == "#AI日报"
    assert hashtag("C++ / Rust") == "#Cpp_Rust"
    assert hashtag("!!!") == ""
    assert hashtag("C++") == "#Cpp"
    assert hashtag("C#") == "#Csharp"
    assert hashtag("mixed Case") == "#mixed_Case"
    assert hashtag("2026") == hashtag("__") == ""


@pytest.mark.parametrize(
    ("url", "valid"),
    [
        ("https://example.com", True),
        ("http://例子.中国/路径", True),
        ("tg://resolve?domain=ai_news_plus", True),
        ("https://example", False),
        ("https://exa mple.com", False),
        ("ftp://example.com", False),
        ("https://.com", False),
    ],
)
def test_link_validation(url: str, valid: bool) -> None:
    assert is_valid_link(url) is valid


# -- the digest's shape -----------------------------------------------------------------


def test_leading_title_heading_is_dropped_but_an_intro_is_kept() -> None:
    messages = render_digest(digest("# 标题\n\n导语\n\n## 一\n\n甲\n\n## 二\n\n乙")).messages
    assert [m.text for m in messages[1:]] == ["导语", "一\n\n甲", "二\n\n乙"]


def test_no_cover_image_gives_a_text_cover() -> None:
    cover = render_digest(digest("## 一\n\n甲", summary="- 要点", tags=("AI",))).messages[0]
    assert cover.photo is None
    assert cover.text == "标题\n2026-01-02\n\n• 要点\n\n#AI"


def test_long_summary_moves_out_of_the_caption() -> None:
    summary = "\n".join(f"- 第{i}条要点" + "很长" * 20 for i in range(30))
    d = digest("## 一\n\n甲", summary=summary, cover="https://example.com/c.png")
    photo, *rest = render_digest(d).messages
    assert photo.photo and photo.text == "标题\n2026-01-02"
    assert rest[0].text.startswith("• 第0条要点")
    for message in (photo, *rest):
        assert_valid(message)


def test_caption_exactly_at_the_limit_stays_a_caption() -> None:
    head = "标题\n2026-01-02\n\n"
    filler = "字" * (CAPTION_LIMIT - len(head))
    d = digest("## 一\n\n甲", summary=filler, cover="https://example.com/c.png")
    cover = render_digest(d).messages[0]
    assert cover.photo and cover.length == CAPTION_LIMIT
    d = digest("## 一\n\n甲", summary=filler + "字", cover="https://example.com/c.png")
    photo, summary, _ = render_digest(d).messages
    assert photo.text == "标题\n2026-01-02" and summary.text == filler + "字"


def test_too_many_messages_is_an_error() -> None:
    body = "\n\n".join(f"## 节{i}\n\n正文" for i in range(25))
    with pytest.raises(DigestError, match="renders as 26 messages, over the limit of 20"):
        render_digest(digest(body))
    assert len(render_digest(digest(body), max_messages=26).messages) == 26


def test_api_calls_format() -> None:
    calls = api_calls(render_digest(load_digest(SAMPLE)).messages)
    assert calls[0]["method"] == "sendPhoto"
    assert set(calls[0]) == {"method", "photo", "caption", "caption_entities"}
    assert calls[0]["caption_entities"][0] == {"type": "bold", "offset": 0, "length": 28}
    assert all(c["method"] == "sendMessage" for c in calls[1:])
    assert all(c["disable_notification"] is True for c in calls[1:])
    assert all(c["link_preview_options"] == {"is_disabled": True} for c in calls[1:])


# -- limits and splitting ---------------------------------------------------------------


def test_text_of_exactly_4096_units_is_one_message() -> None:
    (message,) = render_markdown("a" * TEXT_LIMIT)
    assert message.length == TEXT_LIMIT


def test_4097_units_split_in_two() -> None:
    first, second = render_markdown("a" * (TEXT_LIMIT + 1))
    assert (first.length, second.length) == (TEXT_LIMIT, 1)


def test_an_emoji_at_the_cut_is_never_halved() -> None:
    text = "a" * (TEXT_LIMIT - 1) + "😀" + "b"
    first, second = render_markdown(text)
    assert first.text == "a" * (TEXT_LIMIT - 1)
    assert second.text == "😀b"
    assert utf16_length(first.text) <= TEXT_LIMIT


def test_bold_crossing_a_cut_is_closed_and_reopened() -> None:
    text = "**" + "粗" * (TEXT_LIMIT + 10) + "**"
    first, second = render_markdown(text)
    assert first.entities == (Entity("bold", 0, TEXT_LIMIT),)
    assert second.entities == (Entity("bold", 0, 10),)


def test_pre_crossing_a_cut_keeps_its_language() -> None:
    code = "\n".join(f"line_{i} = {i}" for i in range(600))
    messages = render_markdown(f"```python\n{code}\n```")
    assert len(messages) > 1
    for message in messages:
        assert_valid(message)
        assert message.entities[0].type == "pre"
        assert message.entities[0].language == "python"
    assert "\n".join(m.text for m in messages) == code


@pytest.mark.parametrize(("count", "parts"), [(ENTITY_LIMIT, 1), (ENTITY_LIMIT + 1, 2)])
def test_entity_limit(count: int, parts: int) -> None:
    messages = render_markdown(" ".join(["**粗**"] * count))
    assert len(messages) == parts
    assert sum(len(m.entities) for m in messages) == count
    for message in messages:
        assert len(message.entities) <= ENTITY_LIMIT
        assert_valid(message)


def test_long_sections_split_at_item_boundaries_first() -> None:
    item = "### 条目{}\n\n" + "这是一句话。" * 100
    body = "## 节\n\n" + "\n\n".join(item.format(i) for i in range(8))
    messages = render_digest(digest(body)).messages[1:]
    assert len(messages) > 1
    for message in messages[1:]:
        assert message.text.startswith("节（续）\n\n条目")
        assert spans(message)[:2] == [("bold", "节（续）"), ("underline", "节（续）")]
        assert_valid(message)


def test_splits_fall_back_to_sentences_then_characters() -> None:
    sentences = "这是一个句子。" * 1000
    messages = render_markdown(sentences)
    assert all(m.text.endswith("。") for m in messages)
    assert "".join(m.text for m in messages) == sentences
    unbroken = "字" * 9000
    assert [m.length for m in render_markdown(unbroken)] == [4096, 4096, 808]
