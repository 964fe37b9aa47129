"""Loading and validating digest files: every bad input is a DigestError naming the file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.digest import DigestError, digest_paths, load_digest, slug_for, tag_key
from tests.samples import SAMPLE, write_digest


def test_sample_loads_with_every_field() -> None:
    digest = load_digest(SAMPLE)
    assert digest.title == "AI 军备竞赛升级：千亿融资频现，模型能力突破与局限并存"
    assert digest.date == dt.date(2026, 2, 21)
    assert digest.category == "AI 日报"
    assert digest.tags == ("AI", "AI 日报")
    assert "Nvidia" in digest.seo
    assert digest.cover == "https://ssl.aicode.cc/n8n/2026/02-20/23-32-00-hUT1w1vq.png"
    assert digest.cover_is_url
    assert digest.summary.startswith("- 谷歌发布 Gemini 3.1 Pro")
    assert digest.body.startswith("# AI 军备竞赛升级")
    assert digest.slug == "2026-02-21-ai-daily"
    assert len(digest.content_hash) == 64
    assert digest.warnings == ()


@pytest.mark.parametrize(
    "encode",
    [
        lambda text: text.encode(),
        lambda text: b"\xef\xbb\xbf" + text.encode(),
        lambda text: text.replace("\n", "\r\n").encode(),
        lambda text: b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode(),
    ],
    ids=["lf", "bom", "crlf", "bom-crlf"],
)
def test_bom_and_line_endings_load_the_same(tmp_path: Path, encode) -> None:
    text = SAMPLE.read_text(encoding="utf-8")
    path = tmp_path / "d.md"
    path.write_bytes(encode(text))
    digest = load_digest(path)
    reference = load_digest(SAMPLE)
    assert digest.body == reference.body
    assert digest.summary == reference.summary
    assert "\r" not in digest.body


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-02-21", dt.date(2026, 2, 21)),
        ("2026-02-21 08:30:00", dt.date(2026, 2, 21)),
        ("2026-02-21T23:30:00+08:00", dt.date(2026, 2, 21)),
        ("'2026-02-21'", dt.date(2026, 2, 21)),
        ("'2026-02-21T08:00:00Z'", dt.date(2026, 2, 21)),
    ],
)
def test_dates_in_every_accepted_form(tmp_path: Path, value: str, expected: dt.date) -> None:
    path = write_digest(tmp_path, front=f"title: T\ndate: {value}")
    assert load_digest(path).date == expected


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ('["AI", "AI 日报"]', ("AI", "AI 日报")),
        ('"AI, 大模型，AI 日报"', ("AI", "大模型", "AI 日报")),
        ('["AI", "ai", " AI "]', ("AI",)),
        ("[2026, 3.5]", ("2026", "3.5")),
    ],
)
def test_tags_as_list_or_comma_separated(tmp_path: Path, tags: str, expected: tuple) -> None:
    path = write_digest(tmp_path, front=f"title: T\ndate: 2026-01-01\ntags: {tags}")
    assert load_digest(path).tags == expected


def test_summary_as_list_becomes_bullets(tmp_path: Path) -> None:
    path = write_digest(tmp_path, front="title: T\ndate: 2026-01-01\nsummary: [一, 二]")
    assert load_digest(path).summary == "- 一\n- 二"


@pytest.mark.parametrize(
    ("front", "body", "reason"),
    [
        ("date: 2026-01-01", "x", "no 'title'"),
        ("title: ''\ndate: 2026-01-01", "x", "'title' is empty"),
        ("title: T", "x", "no 'date'"),
        ("title: T\ndate: yesterday", "x", "'date' 'yesterday' is not a date"),
        ("title: T\ndate: 2026-13-01", "x", "month must be in 1..12"),
        ("title: T\ndate: 2026-01-01", "   \n\n", "the body is empty"),
        ("title: [unclosed\ndate: 2026-01-01", "x", "invalid YAML front matter at line"),
        ("title: T\ndate: 2026-01-01\ntags: {a: 1}", "x", "'tags' must be a list"),
        ("- just\n- a list", "x", "front matter must be a mapping"),
        (f"title: {'长' * 300}\ndate: 2026-01-01", "x", "over the limit of 256"),
    ],
)
def test_bad_files_are_reported_with_path_and_reason(
    tmp_path: Path, front: str, body: str, reason: str
) -> None:
    path = write_digest(tmp_path, front=front, body=body)
    with pytest.raises(DigestError) as caught:
        load_digest(path)
    assert caught.value.path == path
    assert reason in caught.value.reason
    assert str(path) in str(caught.value)


def test_yaml_error_names_the_file_line(tmp_path: Path) -> None:
    path = write_digest(tmp_path, front="title: T\ndate: 2026-01-01\ntags: [a, b\nx: 1")
    with pytest.raises(DigestError, match=r"at line 5: "):
        load_digest(path)


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "gbk.md"
    path.write_bytes("---\ntitle: 中文\ndate: 2026-01-01\n---\n正文".encode("gbk"))
    with pytest.raises(DigestError, match="not UTF-8 text"):
        load_digest(path)


def test_unreadable_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(DigestError, match="cannot read the file"):
        load_digest(tmp_path / "missing.md")
    folder = tmp_path / "folder.md"
    folder.mkdir()
    with pytest.raises(DigestError, match="cannot read the file"):
        load_digest(folder)


def test_size_limit(tmp_path: Path) -> None:
    path = write_digest(tmp_path, front="title: T\ndate: 2026-01-01", body="字" * 400)
    size = path.stat().st_size
    assert load_digest(path, max_bytes=size).title == "T"
    with pytest.raises(DigestError, match="over the limit of"):
        load_digest(path, max_bytes=size - 1)


def test_cover_forms(tmp_path: Path) -> None:
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "c.png").write_bytes(b"\x89PNG")
    cases = {
        "img/c.png": str((tmp_path / "img" / "c.png").resolve()),
        "https://example.com/a.png": "https://example.com/a.png",
        "missing.png": None,
        "../outside.png": None,
        "ftp://example.com/a.png": None,
        "https://localhost/a.png": None,
        "/etc/passwd": None,
    }
    for raw, expected in cases.items():
        path = write_digest(tmp_path, front=f"title: T\ndate: 2026-01-01\ncoverImage: '{raw}'")
        digest = load_digest(path, content_dir=tmp_path)
        assert digest.cover == expected, raw
        assert bool(digest.warnings) == (expected is None), raw


def test_slugs_are_safe_for_deep_links() -> None:
    date = dt.date(2026, 2, 21)
    assert slug_for(Path("2026-02-21 AI Daily!.md"), date) == "2026-02-21-ai-daily"
    chinese = slug_for(Path("日报.md"), date)
    assert chinese.startswith("2026-02-21-") and chinese.isascii()
    assert len("d_" + slug_for(Path("x" * 200 + ".md"), date)) <= 64


def test_tag_key_ignores_case_and_spaces() -> None:
    assert tag_key("ai日报") == tag_key("AI 日报") == tag_key(" Ai\u3000日报 ")


def test_digest_paths_skip_hidden_and_other_files(tmp_path: Path) -> None:
    for name in ("b.md", "a.markdown", "notes.txt", ".hidden.md"):
        (tmp_path / name).write_text("x")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "x.md").write_text("x")
    assert [p.name for p in digest_paths(tmp_path)] == ["a.markdown", "b.md"]


def test_file_without_front_matter(tmp_path: Path) -> None:
    path = tmp_path / "plain.md"
    path.write_text("# Just Markdown\n\ntext\n", encoding="utf-8")
    with pytest.raises(DigestError, match="no YAML front matter"):
        load_digest(path)


# -- front matter of other generators ---------------------------------------------------


def test_date_from_the_file_name_when_the_front_matter_has_none(tmp_path: Path) -> None:
    path = write_digest(tmp_path, front="title: T", name="2026-01-27-ai-news.md")
    assert load_digest(path).date == dt.date(2026, 1, 27)


@pytest.mark.parametrize("key", ["publishDate", "pubDate"])
def test_publish_date_keys(tmp_path: Path, key: str) -> None:
    path = write_digest(tmp_path, front=f"title: T\n{key}: 2024-03-05")
    assert load_digest(path).date == dt.date(2024, 3, 5)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2024-4-09", dt.date(2024, 4, 9)), ("2024/4/9", dt.date(2024, 4, 9)), ("25-12-2024", None)],
)
def test_unambiguous_unpadded_dates(tmp_path: Path, value: str, expected: dt.date | None) -> None:
    path = write_digest(tmp_path, front=f"title: T\ndate: '{value}'")
    assert load_digest(path).date == (expected or dt.date(2024, 12, 25))


def test_ambiguous_date_is_an_error_that_says_why(tmp_path: Path) -> None:
    path = write_digest(tmp_path, front="title: T\ndate: '09-11-2024'")
    with pytest.raises(DigestError, match=r"ambiguous.*month-day or day-month.*year first"):
        load_digest(path)


def test_description_is_the_summary(tmp_path: Path) -> None:
    path = write_digest(tmp_path, front="title: T\ndate: 2026-01-01\ndescription: 一句话")
    assert load_digest(path).summary == "一句话"


@pytest.mark.parametrize(
    "line",
    [
        "image: https://e.com/c.png",
        "cover: https://e.com/c.png",
        "cover: {image: 'https://e.com/c.png', alt: x}",
        "featured_image: https://e.com/c.png",
        "thumbnail: https://e.com/c.png",
    ],
)
def test_cover_keys_of_other_generators(tmp_path: Path, line: str) -> None:
    path = write_digest(tmp_path, front=f"title: T\ndate: 2026-01-01\n{line}")
    assert load_digest(path).cover == "https://e.com/c.png"


def test_cover_warning_cites_the_file_line(tmp_path: Path) -> None:
    path = write_digest(tmp_path, front="title: T\ndate: 2026-01-01\nimage: missing.png")
    (warning,) = load_digest(path, content_dir=tmp_path).warnings
    assert warning.startswith("line 4: image 'missing.png' does not exist")


@pytest.mark.parametrize(
    ("front", "body", "language"),
    [
        ("lang: en-US", "中文正文", "en"),
        ("language: zh-CN", "English body", "zh"),
        ("", "谷歌发布 Gemini 3.1 Pro，推理性能翻倍", "zh"),
        ("", "Google ships Gemini 3.1 Pro with 中文 support", "en"),
    ],
)
def test_language_from_front_matter_or_text(
    tmp_path: Path, front: str, body: str, language: str
) -> None:
    path = write_digest(tmp_path, front=f"title: T\ndate: 2026-01-01\n{front}", body=body)
    assert load_digest(path).language == language


def test_body_line_offset_maps_body_lines_to_file_lines(tmp_path: Path) -> None:
    path = write_digest(tmp_path, front="title: T\ndate: 2026-01-01", body="\n\n第一行")
    digest = load_digest(path)
    assert digest.body == "第一行"
    assert path.read_text().split("\n")[digest.file_line(1) - 1] == "第一行"


def test_mdx_import_and_export_lines_are_blanked(tmp_path: Path) -> None:
    body = (
        "import Tabs from '@theme/Tabs';\nimport {\n  A,\n} from 'x';\n\n正文\n\n"
        "```js\nimport kept from 'y';\n```\n\nexport const meta = {};\n"
    )
    path = write_digest(tmp_path, body=body, name="d.mdx")
    digest = load_digest(path)
    assert "Tabs" not in digest.body and "meta" not in digest.body
    assert "import kept from 'y';" in digest.body
    assert path.read_text().split("\n")[digest.file_line(1) - 1] == "正文"


def test_digest_paths_include_mdx_and_skip_leftovers(tmp_path: Path) -> None:
    names = ["a.md", "b.mdx", "a.md~", "#a.md#", "a.md.tmp", "a.md.part", "c.tmp.md"]
    names += ["a.md.crdownload", ".a.md.swp", "d.swp.md", "e~.md"]
    for name in names:
        (tmp_path / name).write_text("x")
    (tmp_path / "#autosave#").mkdir()
    (tmp_path / "#autosave#" / "x.md").write_text("x")
    assert [p.name for p in digest_paths(tmp_path)] == ["a.md", "b.mdx"]
