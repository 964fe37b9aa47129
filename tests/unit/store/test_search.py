"""Full-text search: Chinese phrases, short queries, counting, order, scale."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import bot.store.ledger
import bot.store.schema
import bot.store.search
import bot.store.sync
from bot.store import DigestEntry, SearchPage, Store, StoreError
from tests.unit.store.conftest import found, fts_integrity, slugs, sync, write_digest

# --- search ---------------------------------------------------------------------------


@pytest.fixture
async def searchable(store: Store, content: Path) -> Store:
    write_digest(
        content,
        "2026-02-19-a.md",
        date="2026-02-19",
        title="谷歌发布 Gemini 3.1 Pro",
        body="**性能突破：** 推理能力翻倍。" + "填充文字" * 40 + "价格持平 50% 不变",
    )
    write_digest(
        content,
        "2026-02-20-b.md",
        date="2026-02-20",
        title="OpenAI 融资",
        summary="- OpenAI 融资超 1000 亿美元",
        body='英伟达 "quoted" 投资 OpenAI AND NEAR(x) 的 file_name 计划',
    )
    write_digest(content, "2026-02-21-c.md", date="2026-02-21", title="谷歌 again", body="无关")
    await sync(store, content)
    return store


async def test_search_chinese_phrase(searchable: Store) -> None:
    page = await searchable.search.find("推理能力", 0, 10)
    assert (page.total, page.total_is_exact, page.has_more) == (1, True, False)
    hit = page.hits[0]
    assert hit.entry.slug == "2026-02-19-a"
    assert hit.snippet.match == "推理能力"
    assert hit.snippet.before == "性能突破： "  # Markdown emphasis marks dropped
    assert str(hit.snippet).startswith("性能突破： 推理能力翻倍。填充文字")
    assert str(hit.snippet).endswith("…")
    assert len(str(hit.snippet)) <= bot.store.search.SNIPPET_CHARS + 2


async def test_search_snippet_is_cut_around_a_late_match(searchable: Store) -> None:
    snippet = (await searchable.search.find("价格持平", 0, 10)).hits[0].snippet
    assert snippet.before.startswith("…")
    assert snippet.match == "价格持平"
    assert snippet.after == " 50% 不变"
    assert len(str(snippet)) <= bot.store.search.SNIPPET_CHARS + 2
    # A short query is found through its own index, and the snippet still shows it.
    snippet = (await searchable.search.find("持平", 0, 10)).hits[0].snippet
    assert (snippet.match, snippet.after) == ("持平", " 50% 不变")


async def test_search_is_case_insensitive_and_newest_first(searchable: Store) -> None:
    page = await searchable.search.find("GEMINI 3.1", 0, 10)
    assert page.total == 1 and page.hits[0].snippet.match == "Gemini"
    page = await searchable.search.find("openai", 0, 10)
    assert page.total == 1 and page.hits[0].snippet.match == "OpenAI"
    # One- and two-character queries take the short-query index.
    assert found(await searchable.search.find("谷歌", 0, 10)) == (
        ["2026-02-21-c", "2026-02-19-a"],
        2,
        True,
    )
    page = await searchable.search.find("谷歌", 0, 1)
    assert (found(page), page.has_more) == ((["2026-02-21-c"], 2, True), True)
    page = await searchable.search.find("谷歌", 1, 1)
    assert (found(page), page.has_more) == ((["2026-02-19-a"], 2, True), False)
    assert found(await searchable.search.find("pR", 0, 10)) == (["2026-02-19-a"], 1, True)
    assert found(await searchable.search.find("G", 0, 10))[0] == ["2026-02-21-c", "2026-02-19-a"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('"quoted"', 1),
        ("AND NEAR(x)", 1),
        ("OpenAI AND", 1),
        ("(", 1),
        ("-", 3),  # every cover's date line
        ('"', 1),
        ('"q', 1),
        ("R(", 1),
        ('NVIDIA "', 0),
        ("a*", 0),
        ("*", 0),  # the Markdown of "**性能突破：**" is not what members read
        ("title:x", 0),
        (":", 0),
        ("^投资", 0),
        ("^", 0),
        ("OR", 0),
        ("NOT", 0),
        ("OpenAI\0", 1),
        ("Open\0AI", 1),  # as "Open AI": both words
        ("\0", 0),
    ],
)
async def test_search_input_is_never_fts_syntax(
    searchable: Store, query: str, expected: int
) -> None:
    """Each query is looked for as literal text: these counts are substring counts."""
    page = await searchable.search.find(query, 0, 10)
    assert page.total == expected == len(page.hits)


async def test_short_queries_are_not_like_patterns(searchable: Store) -> None:
    assert (await searchable.search.find("%", 0, 10)).total == 1  # only the "50%" digest
    assert (await searchable.search.find("_", 0, 10)).total == 1  # only the "file_name" digest
    assert (await searchable.search.find("0%", 0, 10)).total == 1
    assert (await searchable.search.find("e_", 0, 10)).total == 1
    assert (await searchable.search.find("\\", 0, 10)).total == 0
    assert (await searchable.search.find("%%", 0, 10)).total == 0
    assert (await searchable.search.find("__", 0, 10)).total == 0
    page = await searchable.search.find("%", 0, 10)
    assert page.hits[0].snippet.match == "%"


async def test_short_queries_stay_inside_one_field(store: Store, content: Path) -> None:
    write_digest(content, "a.md", title="标题甲", summary="乙摘要", body="丙\n丁")
    await sync(store, content)
    for query in ("甲", "甲乙", "题甲", "乙摘", "要", "丙", "丁"):
        assert (await store.search.find(query, 0, 10)).total == (query != "甲乙"), query
    assert (await store.search.find("丙\n丁", 0, 10)).total == 1  # two words, both there
    for query in ("要丙", "丙丁"):
        assert (await store.search.find(query, 0, 10)).total == 0, query


async def test_empty_and_unmatched_queries(searchable: Store) -> None:
    nothing = SearchPage([], 0, total_is_exact=True, has_more=False)
    assert await searchable.search.find("   ", 0, 10) == nothing
    assert await searchable.search.find("不存在的内容", 0, 10) == nothing
    assert await searchable.search.find("zq", 0, 10) == nothing
    assert await searchable.search.find("鲲", 0, 10) == nothing
    assert await searchable.search.find("谷歌", 5, 10) == SearchPage(
        [], 2, total_is_exact=True, has_more=False
    )


# Short queries are matched as `text LIKE '%query%'` matched them before they had an
# index: ASCII letters in either case, every other character as itself. NUL is left out:
# SQLite's LIKE stops at it.
TEXT = st.text(alphabet="aAbBzZ %_\\\n\t\u3000\xa0芯片ÄäÉé😀\u200b", max_size=12)


@given(fields=st.tuples(TEXT, TEXT, TEXT), query=TEXT.filter(lambda q: 0 < len(q) <= 2))
@settings(max_examples=500, deadline=None)
def test_short_query_tokens_match_as_like_did(fields: tuple[str, str, str], query: str) -> None:
    assume(query == " ".join(query.split()))  # as `search` tidies it
    pattern = "%" + re.sub(r"([\\%_])", r"\\\1", query) + "%"
    with sqlite3.connect(":memory:") as db:
        like = any(
            db.execute("SELECT ? LIKE ? ESCAPE '\\'", (field, pattern)).fetchone()[0]
            for field in fields
        )
    db.close()
    document = bot.store.schema.search_grams(*fields).split()
    token = bot.store.schema.gram_token(bot.store.schema.fold_ascii(query))
    assert (token in document) == like


def test_the_short_query_index_forgets_rows_given_tokens_in_any_order() -> None:
    """`_search_grams` lists tokens in set order, which changes from one process to the
    next; the index must still forget a row when told its tokens in another order."""
    (create,) = [s for s in bot.store.schema.MIGRATIONS[2] if "TABLE digests_grams" in s]
    tokens = bot.store.schema.search_grams("标题", "摘要 Summary", "正文 body").split()
    with sqlite3.connect(":memory:") as db:
        db.execute(create)
        db.execute(
            "CREATE VIRTUAL TABLE temp.terms USING fts5vocab (main, digests_grams, 'instance')"
        )
        db.execute("INSERT INTO digests_grams (rowid, grams) VALUES (7, ?)", (" ".join(tokens),))
        assert db.execute("SELECT count(*) FROM terms").fetchone()[0] == len(set(tokens)) > 20
        db.execute(
            "INSERT INTO digests_grams (digests_grams, rowid, grams) VALUES ('delete', 7, ?)",
            (" ".join(sorted(tokens, reverse=True)),),
        )
        assert db.execute("SELECT count(*) FROM terms").fetchone()[0] == 0
    db.close()


@pytest.fixture
async def crowded(store: Store, content: Path) -> Store:
    """101 digests with "芯片" and "新芯片", 100 with "模型" and "新模型"; files are named
    against date order (ids follow names), and some days have two digests."""
    for i in range(101):
        day = dt.date(2025, 1, 1) + dt.timedelta(days=i // 2)
        name = f"{1000 - i:04d}-{'ab'[i % 2]}.md"
        model = "新模型" if i else "旧的"
        write_digest(
            content, name, date=day.isoformat(), title=f"第 {i} 期", body=f"新芯片 {model}"
        )
    await sync(store, content)
    return store


def newest_first(entries: list[DigestEntry]) -> list[str]:
    return [e.slug for e in sorted(entries, key=lambda e: (e.date, e.slug), reverse=True)]


def counted(page: SearchPage) -> tuple[int, int, bool, bool]:
    return len(page.hits), page.total, page.total_is_exact, page.has_more


async def test_search_counts_up_to_the_cap(crowded: Store) -> None:
    assert bot.store.search.SEARCH_COUNT_CAP == 100
    for query in ("芯片", "新芯片"):  # 101 matches: "100+"
        assert counted(await crowded.search.find(query, 0, 10)) == (10, 100, False, True)
    for query in ("模型", "新模型"):  # exactly 100
        assert counted(await crowded.search.find(query, 0, 10)) == (10, 100, True, True)
        assert counted(await crowded.search.find(query, 90, 10)) == (10, 100, True, False)
    # Pages go on past the cap, and one that reaches the last match has counted them all.
    assert counted(await crowded.search.find("芯片", 90, 10)) == (10, 100, False, True)
    assert counted(await crowded.search.find("芯片", 99, 1)) == (1, 100, False, True)
    assert counted(await crowded.search.find("芯片", 100, 10)) == (1, 101, True, False)


async def test_search_pages_are_newest_first_whatever_the_file_order(crowded: Store) -> None:
    everything, _ = await crowded.archive.page(0, 200)
    expected = newest_first(everything)
    # The newest day has one digest; the next two, ordered by slug, the reverse of ids.
    assert expected[:3] == ["0900-a", "0902-a", "0901-b"]
    for query in ("芯片", "新芯片", "片", "第"):
        slugs_seen: list[str] = []
        for offset in range(0, 110, 7):
            slugs_seen += [h.entry.slug for h in (await crowded.search.find(query, offset, 7)).hits]
        assert slugs_seen == expected, query
    assert [h.entry.slug for h in (await crowded.search.find("模型", 0, 200)).hits] == [
        slug for slug in expected if slug != "1000-a"
    ]
    assert [h.entry.slug for h in (await crowded.search.find("旧的", 0, 5)).hits] == ["1000-a"]


async def test_search_order_survives_edits_within_a_day(
    store: Store, content: Path, tmp_path: Path
) -> None:
    """Digests of one day are ranked by slug in the full-text rowid: a newcomer that sorts
    first, or a gap a deletion left, moves the others."""
    db_path = tmp_path / "data" / "bot.sqlite3"

    def add(slug: str, date: str = "2026-02-21") -> Path:
        return write_digest(content, f"{slug}.md", date=date, body=f"{slug} 的芯片新闻")

    async def order() -> list[str]:
        await sync(store, content)
        expected = slugs((await store.archive.page(0, 50))[0])
        for query in ("芯片", "芯片新闻", "片"):
            assert [h.entry.slug for h in (await store.search.find(query, 0, 50)).hits] == expected
        fts_integrity(db_path)
        return expected

    add("later", "2026-02-22")
    add("earlier", "2026-02-20")
    add("m")
    assert await order() == ["later", "m", "earlier"]
    c = add("c")  # sorts before m, which moves up
    assert await order() == ["later", "m", "c", "earlier"]
    add("x")
    assert await order() == ["later", "x", "m", "c", "earlier"]
    c.unlink()
    assert await order() == ["later", "x", "m", "earlier"]
    add("z")  # m and x move down into the room c left
    assert await order() == ["later", "z", "x", "m", "earlier"]
    add("a")
    assert await order() == ["later", "z", "x", "m", "a", "earlier"]


async def test_a_day_has_room_for_a_bounded_number_of_digests(
    store: Store, content: Path, monkeypatch
) -> None:
    monkeypatch.setattr(bot.store.sync, "DAY_SLOTS", 2)
    write_digest(content, "a.md")
    write_digest(content, "b.md")
    await sync(store, content)
    write_digest(content, "c.md")
    with pytest.raises(StoreError, match="more than 2 digests are dated 2026-02-21"):
        await sync(store, content)
    assert await store.archive.count() == 2


async def test_queries_at_scale(store: Store, content: Path) -> None:
    """About 2,000 small digests through every query; timings live in bench/, not here."""
    tags = ["AI 日报", "OpenAI", "Nvidia", "融资", "模型"]
    start = dt.date(2020, 1, 1)
    for i in range(2000):
        day = start + dt.timedelta(days=i)
        write_digest(
            content,
            f"{day.isoformat()}-daily.md",
            date=day.isoformat(),
            title=f"第 {i} 期",
            tags=(tags[i % 5], tags[(i + 1) % 5]),
            summary=f"- 编号{i:05d} 的摘要",
            body=f"正文 {'谷歌' if i % 2 else '微软'} 发布 {i:05d} 号模型。",
        )
    report = await sync(store, content)
    assert report.added == 2000 and not report.failures
    assert await store.archive.count() == 2000

    entries, total = await store.archive.page(0, 10)
    assert total == 2000 and entries[0].date == start + dt.timedelta(days=1999)
    entries, total = await store.archive.page(1990, 10)
    assert len(entries) == 10 and entries[-1].date == start
    assert (await store.archive.page(0, 10, month="2021-02"))[1] == 28
    assert await store.archive.tags() == [(t, 800) for t in sorted(tags)]
    entries, total = await store.archive.with_tag("openai", 790, 20)
    assert total == 800 and len(entries) == 10
    assert entries[-1].date == start
    page = await store.search.find("号模型", 0, 10)
    assert (page.total, page.total_is_exact, len(page.hits)) == (100, False, 10)
    assert page.hits[0].entry.date == start + dt.timedelta(days=1999)
    page = await store.search.find("01234", 0, 10)
    assert page.total == 1 and page.hits[0].snippet.match == "01234"
    page = await store.search.find("谷歌", 990, 10)  # on every other day
    assert (len(page.hits), page.has_more) == (10, False)
    assert [h.entry.date for h in page.hits][-1] == start + dt.timedelta(days=1)
    newest, _ = await store.archive.page(0, 1)
    assert await store.archive.latest() == newest[0]
    assert await store.archive.latest(start) == (await store.archive.page(1999, 1))[0][0]
    assert (await sync(store, content)).unchanged == 2000


def test_snippets_stay_in_the_match_line_and_never_cut_a_word() -> None:
    from bot.store.search import snippet

    text = (
        "标题行\n"
        + "Alpha Bravo Charlie Delta Echo Foxtrot " * 3
        + "英伟达 Golf Hotel India\n下一行"
    )
    cut = snippet(text, ["英伟达"])
    assert cut.match == "英伟达"
    assert cut.before.startswith("…") and cut.before[1:].split(" ")[0] in text.split()
    assert "\n" not in str(cut) and "标题行" not in str(cut) and "下一行" not in str(cut)
    assert cut.after == " Golf Hotel India"
    emoji = "👍🏽" * 40 + "匹配"
    assert not snippet(emoji, ["匹配"]).before.lstrip("…").startswith("\U0001f3fd")
    assert snippet("无关的文字", ["xyz"]) == bot.store.search.Snippet("无关的文字", "", "")
