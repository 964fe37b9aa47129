"""Archive queries: entries, pages, months, tags, newest first."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.store import DigestEntry, Released, Store
from tests.unit.store.conftest import slugs, sync, write_digest

# --- archive queries --------------------------------------------------------------------


@pytest.fixture
async def filled(store: Store, content: Path) -> Store:
    write_digest(content, "2026-01-31-x.md", date="2026-01-31", tags=("AI 日报", "OpenAI"))
    write_digest(content, "2026-02-01-a.md", date="2026-02-01", tags=("ai日报",))
    write_digest(content, "2026-02-01-b.md", date="2026-02-01", tags=("AI日报", "Nvidia"))
    write_digest(content, "2026-02-21-c.md", date="2026-02-21", tags=("AI 日报", "OpenAI"))
    write_digest(content, "2026-03-01-d.md", date="2026-03-01", tags=("nvidia",))
    await sync(store, content)
    return store


async def test_get_returns_the_indexed_fields(store: Store, content: Path) -> None:
    path = write_digest(
        content,
        "2026-02-21-ai-daily.md",
        title="标题",
        tags=("AI", "AI 日报"),
        summary="- 一\n- 二",
    )
    await sync(store, content)
    entry = await store.archive.get("2026-02-21-ai-daily")
    assert entry == DigestEntry(
        slug="2026-02-21-ai-daily",
        path=path.resolve(),
        date=dt.date(2026, 2, 21),
        title="标题",
        category="",
        tags=("AI", "AI 日报"),
        summary="- 一\n- 二",
        cover=None,
        content_hash=entry.content_hash,
    )
    assert len(entry.content_hash) == 64
    assert await store.archive.get("nope") is None


async def test_by_date_and_latest(filled: Store) -> None:
    assert slugs(await filled.archive.by_date(dt.date(2026, 2, 1))) == [
        "2026-02-01-b",
        "2026-02-01-a",
    ]
    assert await filled.archive.by_date(dt.date(2020, 1, 1)) == []
    latest = await filled.archive.latest()
    assert latest is not None and latest.slug == "2026-03-01-d"
    before = await filled.archive.latest(dt.date(2026, 2, 20))
    assert before is not None and before.slug == "2026-02-01-b"
    assert await filled.archive.latest(dt.date(2000, 1, 1)) is None


async def test_page_is_newest_first_with_a_total(filled: Store) -> None:
    entries, total = await filled.archive.page(0, 2)
    assert total == 5
    assert slugs(entries) == ["2026-03-01-d", "2026-02-21-c"]
    entries, total = await filled.archive.page(2, 10)
    assert slugs(entries) == ["2026-02-01-b", "2026-02-01-a", "2026-01-31-x"]
    assert (await filled.archive.page(5, 10)) == ([], 5)


async def test_page_by_month(filled: Store) -> None:
    entries, total = await filled.archive.page(0, 10, month="2026-02")
    assert total == 3
    assert slugs(entries) == ["2026-02-21-c", "2026-02-01-b", "2026-02-01-a"]
    assert (await filled.archive.page(0, 10, month="2025-12")) == ([], 0)
    for bad in ("2026-13", "2026-2", "feb", "2026-02' OR 1=1 --"):
        with pytest.raises(ValueError, match="is not a month"):
            await filled.archive.page(0, 10, month=bad)


async def test_december_includes_the_31st(store: Store, content: Path) -> None:
    write_digest(content, "a.md", date="2025-12-31")
    write_digest(content, "b.md", date="2026-01-01")
    await sync(store, content)
    assert slugs((await store.archive.page(0, 10, month="2025-12"))[0]) == ["a"]


async def test_bad_page_windows_are_refused(filled: Store) -> None:
    for offset, limit in ((-1, 5), (0, 0)):
        with pytest.raises(ValueError):
            await filled.archive.page(offset, limit)
        with pytest.raises(ValueError):
            await filled.archive.with_tag("AI", offset, limit)
        with pytest.raises(ValueError):
            await filled.search.find("AI", offset, limit)


async def test_tags_group_spellings_and_count(filled: Store) -> None:
    assert await filled.archive.tags() == [("AI 日报", 4), ("Nvidia", 2), ("OpenAI", 2)]


async def test_with_tag_matches_any_spelling(filled: Store) -> None:
    entries, total = await filled.archive.with_tag("ai日报", 0, 10)
    assert total == 4
    assert slugs(entries) == ["2026-02-21-c", "2026-02-01-b", "2026-02-01-a", "2026-01-31-x"]
    entries, total = await filled.archive.with_tag(" NVIDIA ", 1, 1)
    assert (slugs(entries), total) == (["2026-02-01-b"], 2)
    assert await filled.archive.with_tag("nothing", 0, 10) == ([], 0)


# --- what members may see ---------------------------------------------------------------


@pytest.fixture
async def dated(store: Store, content: Path) -> Store:
    """Three digests around the release day 2026-02-21; they share the tag and a word."""
    for slug, date in (("a", "2026-02-20"), ("b", "2026-02-21"), ("c", "2026-02-22")):
        write_digest(content, f"{slug}.md", date=date, tags=("AI",), body="共同的正文。")
    write_digest(content, "z.md", date="2099-01-01", tags=("AI", "未来"), body="共同的正文。")
    await sync(store, content)
    return store


RULE = Released("@group", 0, dt.date(2026, 2, 21))


async def _seen(store: Store, rule: Released) -> dict[str, object]:
    """What every query shows with the rule."""
    archive, search = store.archive.only(rule), store.search.only(rule)
    entry = await store.archive.get("b")
    assert entry is not None
    older, newer = await archive.neighbours(entry)
    latest = await archive.latest()
    return {
        "get": [s for s in "abcz" if await archive.get(s)],
        "by_date": slugs(await archive.by_date(dt.date(2099, 1, 1))),
        "latest": latest.slug if latest else None,
        "page": (slugs((await archive.page(0, 10))[0]), (await archive.page(0, 10))[1]),
        "tags": await archive.tags(),
        "with_tag": (await archive.with_tag("AI", 0, 10))[1],
        "newer": newer.slug if newer else None,
        "older": older.slug if older else None,
        "search": (await search.find("共同的正文", 0, 10)).total,
        "short": (await search.find("共同", 0, 10)).total,
    }


async def test_members_see_digests_whose_window_opened(dated: Store) -> None:
    assert await _seen(dated, RULE) == {
        "get": ["a", "b"],
        "by_date": [],
        "latest": "b",
        "page": (["b", "a"], 2),
        "tags": [("AI", 2)],
        "with_tag": 2,
        "newer": None,
        "older": "a",
        "search": 2,
        "short": 2,
    }
    assert (await dated.archive.page(0, 10))[1] == 4  # without the rule: everything


async def test_a_digest_posted_to_the_first_target_is_released_early(dated: Store) -> None:
    ledger = dated.ledger
    elsewhere = await ledger.start_publication("z", "h", "@other", None, [{"a": 1}])
    await ledger.mark_part_sent(elsewhere.id, 0, 1)
    started = await ledger.start_publication("z", "h", "@group", None, [{"a": 1}, {"b": 2}])
    assert (await _seen(dated, RULE))["get"] == ["a", "b"]  # not in the group yet
    await ledger.mark_part_sent(started.id, 0, 5)  # the cover is in the group
    seen = await _seen(dated, RULE)
    assert seen["get"] == ["a", "b", "z"] and seen["latest"] == "z"
    assert ("未来", 1) in seen["tags"] and seen["search"] == 3 and seen["newer"] == "z"
    topic = Released("@group", 7, RULE.through)  # another topic of that chat: not posted
    assert (await _seen(dated, topic))["get"] == ["a", "b"]
