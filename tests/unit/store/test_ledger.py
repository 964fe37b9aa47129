"""The publication ledger: rounds, parts in order, survival across kills."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import signal
from pathlib import Path

import pytest

import bot.store.ledger
import bot.store.schema
import bot.store.search
import bot.store.sync
from bot.store import LedgerError, Store
from tests.unit.store.conftest import run_child, write_digest

# --- publication ledger -----------------------------------------------------------------

PAYLOADS = [
    {"method": "sendPhoto", "photo": "https://x/y.png", "caption": "封面"},
    {"method": "sendMessage", "text": "第一部分", "entities": [{"type": "bold", "offset": 0}]},
    {"method": "sendMessage", "text": "第二部分"},
]


async def test_start_publication_creates_a_pending_round(store: Store) -> None:
    publication = await store.ledger.start_publication("s", "hash1", -1001, 5, PAYLOADS)
    assert (publication.slug, publication.chat, publication.thread_id) == ("s", -1001, 5)
    assert (publication.round, publication.state, publication.content_hash) == (
        1,
        "pending",
        "hash1",
    )
    assert [p.payload for p in publication.parts] == PAYLOADS
    assert [p.idx for p in publication.parts] == [0, 1, 2]
    assert publication.next_part == publication.parts[0]
    assert not publication.done
    assert (publication.attempts, publication.last_error, publication.finished_at) == (
        0,
        None,
        None,
    )


async def test_start_publication_returns_the_existing_round(store: Store) -> None:
    first = await store.ledger.start_publication("s", "hash1", "@Chan_nel", None, PAYLOADS)
    again = await store.ledger.start_publication("s", "hash2", "@chan_nel", 0, [{"other": True}])
    assert again == first  # same key (usernames ignore case, 0 is no topic); payloads ignored
    assert again.chat == "@chan_nel"


async def test_chat_ids_as_text_and_int_are_the_same_chat(store: Store) -> None:
    first = await store.ledger.start_publication("s", "h", -100123, None, PAYLOADS)
    assert await store.ledger.start_publication("s", "h", "-100123", None, PAYLOADS) == first
    assert (await store.ledger.publication("s", "-100123", 0)) == first
    other_topic = await store.ledger.start_publication("s", "h", -100123, 9, PAYLOADS)
    assert other_topic.id != first.id and other_topic.round == 1


async def test_forcing_starts_a_new_round(store: Store) -> None:
    first = await store.ledger.start_publication("s", "hash1", -1, None, PAYLOADS)
    for i, _ in enumerate(PAYLOADS):
        await store.ledger.mark_part_sent(first.id, i, 100 + i)
    second = await store.ledger.start_publication("s", "hash2", -1, None, PAYLOADS[:1], force=True)
    assert (second.round, second.state, second.content_hash) == (2, "pending", "hash2")
    assert len(second.parts) == 1
    latest = await store.ledger.publication("s", -1, None)
    assert latest == second


async def test_parts_are_marked_in_order_until_done(store: Store) -> None:
    publication = await store.ledger.start_publication("s", "h", -1, None, PAYLOADS)
    with pytest.raises(LedgerError, match=r"part 0 of publication \d+ must be sent before part 1"):
        await store.ledger.mark_part_sent(publication.id, 1, 11)
    publication = await store.ledger.mark_part_sent(publication.id, 0, 10)
    assert publication.next_part is not None and publication.next_part.idx == 1
    assert publication.parts[0].message_id == 10
    assert publication.state == "pending"
    assert await store.ledger.mark_part_sent(publication.id, 0, 10) == publication  # a replay
    with pytest.raises(LedgerError, match="already sent as message 10"):
        await store.ledger.mark_part_sent(publication.id, 0, 99)
    await store.ledger.mark_part_sent(publication.id, 1, 11)
    publication = await store.ledger.mark_part_sent(publication.id, 2, 12)
    assert publication.done and publication.next_part is None
    assert publication.finished_at is not None
    assert [p.message_id for p in publication.parts] == [10, 11, 12]


async def test_marking_unknown_parts_fails(store: Store) -> None:
    publication = await store.ledger.start_publication("s", "h", -1, None, PAYLOADS)
    with pytest.raises(LedgerError, match="has no part 3"):
        await store.ledger.mark_part_sent(publication.id, 3, 1)
    with pytest.raises(LedgerError, match="no publication 999"):
        await store.ledger.mark_part_sent(999, 0, 1)
    with pytest.raises(LedgerError, match="no publication 999"):
        await store.ledger.mark_attempt_failed(999, "x")
    with pytest.raises(TypeError):
        await store.ledger.mark_part_sent(publication.id, 0, "1")  # type: ignore[arg-type]


async def test_failed_attempts_are_counted(store: Store) -> None:
    publication = await store.ledger.start_publication("s", "h", -1, None, PAYLOADS)
    await store.ledger.mark_attempt_failed(publication.id, "Flood control exceeded")
    await store.ledger.mark_attempt_failed(publication.id, "x" * 5000)
    publication = await store.ledger.publication("s", -1, None)
    assert publication is not None
    assert publication.attempts == 2
    assert publication.last_error == "x" * bot.store.ledger.MAX_ERROR_CHARS
    assert publication.state == "pending"


async def test_pending_last_and_published(store: Store) -> None:
    a = await store.ledger.start_publication("a", "h", -1, None, PAYLOADS[:1])
    b = await store.ledger.start_publication("b", "h", -1, None, PAYLOADS)
    c = await store.ledger.start_publication("c", "h", -2, 3, PAYLOADS)
    await store.ledger.mark_part_sent(a.id, 0, 1)  # a is done
    await store.ledger.mark_part_sent(c.id, 0, 2)  # c half sent
    b2 = await store.ledger.start_publication("b", "h", -1, None, PAYLOADS, force=True)
    assert [p.id for p in await store.ledger.pending_publications()] == [c.id, b2.id]
    assert b.id not in [p.id for p in await store.ledger.pending_publications()]  # superseded

    last = await store.ledger.last_publication()
    assert last is not None and last.id == b2.id
    await store.ledger.mark_attempt_failed(c.id, "boom")
    last = await store.ledger.last_publication()
    assert last is not None and last.id == c.id

    assert await store.ledger.published_slugs(-1, None) == {"a", "b"}
    assert await store.ledger.published_slugs(-2, 3) == {"c"}
    assert await store.ledger.published_slugs(-2, None) == set()


async def test_empty_and_unserialisable_payloads_are_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="at least one part"):
        await store.ledger.start_publication("s", "h", -1, None, [])
    with pytest.raises(TypeError):
        await store.ledger.start_publication("s", "h", -1, None, [{"x": object()}])
    assert await store.ledger.publication("s", -1, None) is None
    assert await store.ledger.last_publication() is None
    with pytest.raises(ValueError, match="not a chat id"):
        await store.ledger.start_publication("s", "h", "chat", None, PAYLOADS)


async def test_a_half_sent_publication_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    async with await Store.open(path) as store:
        publication = await store.ledger.start_publication("s", "h", -1, None, PAYLOADS)
        await store.ledger.mark_part_sent(publication.id, 0, 500)
    async with await Store.open(path) as store:
        (resumed,) = await store.ledger.pending_publications()
        assert resumed.id == publication.id
        assert resumed.next_part is not None and resumed.next_part.idx == 1
        assert resumed.next_part.payload == PAYLOADS[1]
        assert resumed.parts[0].message_id == 500


@pytest.mark.parametrize("k", [0, 1])
async def test_a_killed_process_loses_nothing(tmp_path: Path, k: int) -> None:
    path = tmp_path / "bot.sqlite3"
    child = await run_child(
        "import asyncio, json, sys\n"
        "from pathlib import Path\n"
        "from bot.store import Store\n"
        "async def main():\n"
        "    store = await Store.open(Path(sys.argv[1]))\n"
        "    payloads = json.loads(sys.argv[3])\n"
        "    p = await store.ledger.start_publication('s', 'h', -1, None, payloads)\n"
        "    for i in range(int(sys.argv[2]) + 1):\n"
        "        await store.ledger.mark_part_sent(p.id, i, 1000 + i)\n"
        "    print('marked', flush=True)\n"
        "    sys.stdin.read()\n"
        "asyncio.run(main())\n",
        str(path),
        str(k),
        json.dumps(PAYLOADS),
    )
    assert child.stdout is not None
    try:
        assert await asyncio.wait_for(child.stdout.readline(), 30) == b"marked\n"
    finally:
        child.send_signal(signal.SIGKILL)
        await child.wait()
    assert child.returncode == -signal.SIGKILL
    async with await Store.open(path) as store:
        (publication,) = await store.ledger.pending_publications()
        assert publication.next_part is not None and publication.next_part.idx == k + 1
        assert [p.message_id for p in publication.parts[: k + 1]] == [
            1000 + i for i in range(k + 1)
        ]
        assert [p.payload for p in publication.parts] == PAYLOADS
        done = publication
        for i in range(k + 1, len(PAYLOADS)):
            done = await store.ledger.mark_part_sent(publication.id, i, 2000 + i)
        assert done.done


# --- identity by date and content --------------------------------------------------------


async def test_a_renamed_digest_is_the_same_publication_and_the_slug_follows(
    store: Store, content: Path
) -> None:
    day = dt.date(2026, 2, 21)
    write_digest(content, "new-name.md", body="正文")
    await store.sync_content(content, max_bytes=10_000)
    first = await store.ledger.start_publication("old-name", "h1", -100, None, PAYLOADS, day=day)
    # Same date and content under a new name: recognised, and renamed in the ledger.
    again = await store.ledger.start_publication("new-name", "h1", -100, None, PAYLOADS, day=day)
    assert again.id == first.id and again.slug == "new-name"
    assert await store.ledger.publication("old-name", -100, None) is None
    # Other content on that date while the posted file is still indexed: a new digest.
    other = await store.ledger.start_publication("other", "h2", -100, None, PAYLOADS, day=day)
    assert other.id != first.id


async def test_a_renamed_and_changed_digest_counts_as_posted_once_the_old_file_is_gone(
    store: Store,
) -> None:
    day = dt.date(2026, 2, 21)
    first = await store.ledger.start_publication("a", "h1", -100, None, PAYLOADS, day=day)
    found = await store.ledger.publication("b", -100, None, day=day, content_hash="h2")
    assert found is not None and found.id == first.id and found.slug == "b"
    assert await store.ledger.publication("c", -100, None, day=day + dt.timedelta(1)) is None


# --- attempts and anchors ----------------------------------------------------------------


async def test_an_attempt_is_recorded_before_the_send_and_bounded_by_later_messages(
    store: Store,
) -> None:
    ledger = store.ledger
    publication = await ledger.start_publication("s", "h", "@chan", None, PAYLOADS)
    await ledger.mark_part_sent(publication.id, 0, 40, chat=-100, sequential=True)
    await ledger.start_attempt(publication.id, 1, {"method": "sendMessage", "text": "x"}, -100)
    await ledger.note_bot_message(-100, 45, sequential=True)  # a reply after the attempt
    await ledger.note_bot_message(-100, 43, sequential=True)
    part = (await ledger.publication("s", "@chan", None)).parts[1]  # type: ignore[union-attr]
    assert part.attempt is not None
    assert (part.attempt.after, part.attempt.before) == (40, 43)
    assert part.attempt.payload == {"method": "sendMessage", "text": "x"}
    anchor = await ledger.anchor(-100)
    assert anchor is not None and (anchor.message_id, anchor.sequential) == (45, True)
    done = await ledger.mark_part_sent(publication.id, 1, 41, chat=-100, sequential=True)
    assert done.parts[1].attempt is None and done.parts[1].message_id == 41


async def test_a_cleared_attempt_is_no_longer_looked_for(store: Store) -> None:
    ledger = store.ledger
    publication = await ledger.start_publication("s", "h", -100, None, PAYLOADS)
    await ledger.start_attempt(publication.id, 0, PAYLOADS[0], -100)
    assert (await ledger.publication("s", -100, None)).parts[0].attempt is not None  # type: ignore[union-attr]
    await ledger.clear_attempt(publication.id, 0)
    assert (await ledger.publication("s", -100, None)).parts[0].attempt is None  # type: ignore[union-attr]


async def test_migration_4_dates_the_publications_of_indexed_digests(tmp_path: Path) -> None:
    """An upgraded ledger knows each posted digest's date, so a rename is recognised."""
    import sqlite3

    path = tmp_path / "bot.sqlite3"
    with sqlite3.connect(path, isolation_level=None) as db:
        db.create_function("search_grams", 3, bot.store.schema.search_grams)
        for migration in bot.store.schema.MIGRATIONS[:3]:
            for statement in migration:
                db.execute(statement)
        db.execute("PRAGMA user_version = 3")
        db.execute(
            """
            INSERT INTO digests (path, slug, date, title, content_hash, mtime_ns, size, body,
                                 indexed_at, ord)
            VALUES ('/c/a.md', 'a', '2026-02-21', 'T', 'h', 1, 2, 'b', 'now', 1)
            """
        )
        db.execute(
            """
            INSERT INTO publications (slug, content_hash, chat, round, state, part_count,
                                      created_at, updated_at)
            VALUES ('a', 'h', '-100', 1, 'done', 1, '2026-02-21T00:00:00+00:00',
                    '2026-02-21T00:00:00+00:00')
            """
        )
    db.close()
    async with await Store.open(path) as store:
        found = await store.ledger.publication(
            "renamed", -100, None, day=dt.date(2026, 2, 21), content_hash="h"
        )
    assert found is not None and found.digest_date == dt.date(2026, 2, 21)
    assert found.slug == "renamed"
