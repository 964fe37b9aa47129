"""What a member of the group sees: the digest arrives once, in order, whatever happens."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.app import build_app, serving
from bot.config import Settings, load_settings
from bot.digest import load_digest, parse_digest
from bot.flood import FloodLimits as BotFloodLimits
from bot.instance import AlreadyRunning, InstanceLock
from bot.logs import RedactingFormatter
from bot.publisher import Retries
from bot.publishing import publish_due
from bot.render import Message, render_digest
from bot.sandbox.telegram_api import SentMessage, TelegramEmulator
from bot.services import services_of
from bot.store import Store
from bot.telegram_calls import CHAT_ERRORS
from tests.helpers import ADMIN, BOT_FAST, GROUP, MEMBER, write_config
from tests.integration.test_cli import digest_bot
from tests.samples import SAMPLE, make_due, write_digest

QUICK_RETRIES = Retries(attempts=6, first_delay=0.05, read_timeout=1.0)
SHANGHAI = dt.timezone(dt.timedelta(hours=8))
TODAY = dt.datetime.now(SHANGHAI).date()


@pytest.fixture(autouse=True)
def due(content: Path) -> Path:
    """The sample, dated today: the schedule posts only a digest whose day it is."""
    return make_due(content)


def expected_messages() -> list[Message]:
    """The sample as it is posted today (its date is today's)."""
    data = SAMPLE.read_bytes().replace(b"date: 2026-02-21", f"date: {TODAY}".encode())
    return list(render_digest(parse_digest(data, SAMPLE, content_dir=SAMPLE.parent)).messages)


def assert_transcript_is(sent: list[SentMessage], expected: list[Message]) -> None:
    """Each posted message is exactly the rendered one: kind, text and entities."""
    assert [(m.method, m.text) for m in sent] == [(e.method, e.text) for e in expected]
    assert [m.entities for m in sent] == [[x.to_dict() for x in e.entities] for e in expected]
    assert [m.disable_notification for m in sent] == [False] + [True] * (len(expected) - 1)


def app_for(settings: Settings, store: Store, flood: BotFloodLimits | None = BOT_FAST):
    return build_app(settings, store, flood=flood, retries=QUICK_RETRIES)


async def test_scheduled_job_posts_the_sample_once_in_order_at_real_limits(
    tmp_path: Path, content: Path
) -> None:
    async with TelegramEmulator() as emu:  # Telegram's real flood limits
        emu.add_chat(GROUP, type="supergroup", username="ai_news_plus")
        settings = load_settings(write_config(tmp_path, emu, content), env={})
        async with await Store.open(settings.storage.path) as store:
            started = time.monotonic()
            async with serving(build_app(settings, store)):
                sent = await emu.wait_for(GROUP, 6, timeout=20)
                elapsed = time.monotonic() - started
                await asyncio.sleep(0.5)
            assert_transcript_is(emu.transcript(GROUP), expected_messages())
            assert sent[0].photo == load_digest(SAMPLE).cover
            assert all(m.link_preview_options == {"is_disabled": True} for m in sent[1:])
            assert emu.violations == []
            assert elapsed < 5 * 1.2 + 2  # paced at 1 message/s, not slower than needed
            publication = await store.ledger.publication(
                load_digest(SAMPLE).slug, "@ai_news_plus", None
            )
            assert publication is not None and publication.done
            assert [p.message_id for p in publication.parts] == [m.message_id for m in sent]


async def test_restart_after_a_full_publication_posts_nothing(
    settings: Settings, store: Store, emulator: TelegramEmulator
) -> None:
    async with serving(app_for(settings, store)):
        await emulator.wait_for(GROUP, 6)
    async with serving(app_for(settings, store)) as app:
        services = services_of(app)
        assert await publish_due(services, dt.datetime.now(dt.UTC)) == []
        await asyncio.sleep(0.5)
    assert len(emulator.transcript(GROUP)) == 6
    sends = [r for r in emulator.requests if r.method in ("sendMessage", "sendPhoto")]
    assert len(sends) == 6


def _start_bot(config: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_BOT_")}
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config), "run"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


async def test_sigkill_between_parts_then_restart_completes_in_order(
    tmp_path: Path, content: Path
) -> None:
    async with TelegramEmulator() as emu:
        emu.add_chat(GROUP, type="supergroup", username="ai_news_plus")
        config = write_config(tmp_path, emu, content)
        first = _start_bot(config)
        try:
            await emu.wait_for(GROUP, 2, timeout=30)
        finally:
            first.send_signal(signal.SIGKILL)
            output, _ = first.communicate(timeout=10)
        assert 2 <= len(emu.transcript(GROUP)) < 6, "killed too late to prove anything"
        second = _start_bot(config)
        try:
            await emu.wait_for(GROUP, 6, timeout=30)
            await asyncio.sleep(1.5)
        finally:
            second.send_signal(signal.SIGTERM)
            output2, _ = second.communicate(timeout=20)
        assert second.returncode == 0, output2
        expected = [m.text for m in expected_messages()]
        # The part in flight at the kill was looked for, not sent again: no duplicate.
        assert [m.text for m in emu.transcript(GROUP)] == expected
        assert emu.edits(GROUP) == []
        assert emu.token not in output + output2
        assert emu.violations == []


async def test_flood_storm_and_flaky_network_lose_nothing(
    settings: Settings, store: Store, emulator: TelegramEmulator
) -> None:
    emulator.fail_next("sendMessage", "429", count=3, retry_after=1)
    emulator.fail_next("sendPhoto", "500")
    emulator.fail_next("sendMessage", "502")
    emulator.fail_next("sendMessage", "drop")
    emulator.fail_next("sendMessage", "timeout")
    async with serving(app_for(settings, store)):
        await emulator.wait_for(GROUP, 6, timeout=30)
        await asyncio.sleep(0.3)
    assert_transcript_is(emulator.transcript(GROUP), expected_messages())
    assert [v for v in emulator.violations if "retry_after" in v] == []
    statuses = [r.status for r in emulator.requests if r.method == "sendMessage"]
    assert statuses.count(429) == 3


@pytest.mark.parametrize(
    ("method", "kind"),
    [
        ("sendPhoto", "lost_reply"),
        ("sendPhoto", "500_after"),
        ("sendMessage", "lost_reply"),
        ("sendMessage", "500_after"),
    ],
)
async def test_a_send_telegram_processed_without_answering_is_found_not_repeated(
    settings: Settings,
    store: Store,
    emulator: TelegramEmulator,
    content: Path,
    method: str,
    kind: str,
) -> None:
    """The cover (anchored on yesterday's digest) or a section (on the part before it)
    reached the group, the answer did not: the part is found by an edit that changes
    nothing, and nothing is sent twice or lost."""
    yesterday = write_digest(
        content,
        front=f"title: 昨日日报\ndate: {TODAY - dt.timedelta(days=1)}",
        body="## 节\n\n昨天的内容",
        name="yesterday.md",
    )
    app = app_for(settings, store)
    services = services_of(app)
    async with app:
        await services.publisher.publish(load_digest(yesterday), settings.publish.targets[0])
        before = len(emulator.transcript(GROUP))
        emulator.fail_next(method, kind)
        (outcome,) = await publish_due(services, dt.datetime.now(dt.UTC))
    assert outcome.done and outcome.error is None
    assert_transcript_is(emulator.transcript(GROUP)[before:], expected_messages())
    assert emulator.edits(GROUP) == []
    posted = [m.message_id for m in emulator.transcript(GROUP)[before:]]
    assert [p.message_id for p in outcome.publication.parts] == posted


async def test_a_lost_answer_for_the_first_post_in_a_chat_costs_one_duplicate_at_most(
    settings: Settings, store: Store, emulator: TelegramEmulator
) -> None:
    """The floor: a chat whose message ids the bot has never seen gives no anchor."""
    emulator.fail_next("sendPhoto", "lost_reply")
    app = app_for(settings, store)
    async with app:
        (outcome,) = await publish_due(services_of(app), dt.datetime.now(dt.UTC))
    texts = [m.text for m in emulator.transcript(GROUP)]
    expected = [m.text for m in expected_messages()]
    assert outcome.done and texts == expected[:1] + expected
    assert emulator.edits(GROUP) == []


async def test_refused_cover_image_becomes_a_text_cover(
    settings: Settings, store: Store, emulator: TelegramEmulator
) -> None:
    cover = load_digest(SAMPLE).cover or ""
    emulator.refuse_photo(cover, "Bad Request: failed to get HTTP URL content")
    async with serving(app_for(settings, store)):
        sent = await emulator.wait_for(GROUP, 6)
    cover, *sections = expected_messages()
    assert sent[0].method == "sendMessage" and sent[0].photo is None
    assert sent[0].text == cover.text
    assert [m.text for m in sent[1:]] == [m.text for m in sections]


async def test_broken_file_is_skipped_and_the_good_one_published(
    settings: Settings, store: Store, emulator: TelegramEmulator, content: Path
) -> None:
    write_digest(content, front="title: [broken\ndate: 2026-02-22", name="2026-02-22-broken.md")
    async with serving(app_for(settings, store)):
        await emulator.wait_for(GROUP, 6)
    failures = await store.archive.failures()
    assert [path.name for path, _ in failures] == ["2026-02-22-broken.md"]
    assert "invalid YAML front matter" in failures[0][1]


async def test_chat_that_refuses_pauses_the_publication_and_tells_the_admins(
    tmp_path: Path, emulator: TelegramEmulator, content: Path
) -> None:
    settings = load_settings(
        write_config(tmp_path, emulator, content, chat="@no_such_group"), env={}
    )
    async with await Store.open(settings.storage.path) as store:
        async with serving(app_for(settings, store)) as app:
            headline, details = await emulator.wait_for(ADMIN, 2)
            # The next check fails the same way: the same problem is not reported again.
            await publish_due(services_of(app), dt.datetime.now(dt.UTC))
        assert headline.text.startswith("⚠️ digest-bot\n日报发布暂停 / publication paused:")
        assert "@no_such_group" in (headline.text or "")
        assert "chat not found" in (details.text or "").lower()
        assert details.entities[0]["type"] == "pre"
        (pending,) = await store.ledger.pending_publications()
        assert pending.attempts == 2 and "chat not found" in (pending.last_error or "").lower()
    assert len(emulator.transcript(ADMIN)) == 2


# -- the schedule -----------------------------------------------------------------------


def at(hour: int, minute: int = 0, days: int = 0) -> dt.datetime:
    """A time on the sample's day (today), `days` later."""
    day = TODAY + dt.timedelta(days=days)
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


async def test_missed_schedule_catches_up_once_within_the_window(
    tmp_path: Path, emulator: TelegramEmulator, content: Path
) -> None:
    settings = load_settings(
        write_config(tmp_path, emulator, content, time="08:00", catch_up_hours=6), env={}
    )
    async with await Store.open(settings.storage.path) as store:
        app = app_for(settings, store)
        services = services_of(app)
        async with app:
            assert await publish_due(services, at(7, 59)) == []  # before the time
            assert await publish_due(services, at(14, 1)) == []  # window over
            (outcome,) = await publish_due(services, at(9, 30))  # down at 08:00, up at 09:30
            assert outcome.done and outcome.sent == 6
            assert await publish_due(services, at(9, 35)) == []
    assert len(emulator.transcript(GROUP)) == 6


async def test_future_dated_digest_waits_for_its_day(
    tmp_path: Path, emulator: TelegramEmulator, content: Path
) -> None:
    write_digest(
        content,
        front=f"title: 明日日报\ndate: {TODAY + dt.timedelta(days=1)}",
        body="## 节\n\n明天的内容",
        name="2026-02-22-tomorrow.md",
    )
    settings = load_settings(write_config(tmp_path, emulator, content, time="08:00"), env={})
    async with await Store.open(settings.storage.path) as store:
        app = app_for(settings, store)
        async with app:
            services = services_of(app)
            (today,) = await publish_due(services, at(8, 0))
            assert today.publication.slug == "2026-02-21-ai-daily"
            assert await publish_due(services, at(23, 59)) == []
            (tomorrow,) = await publish_due(services, at(8, 0, days=1))
            assert tomorrow.publication.slug == "2026-02-22-tomorrow"
    texts = [m.text for m in emulator.transcript(GROUP)]
    assert texts[-1] == "节\n\n明天的内容"


async def test_second_instance_refuses_to_start(settings: Settings) -> None:
    with InstanceLock.acquire(settings.storage.path):
        with pytest.raises(AlreadyRunning):
            InstanceLock.acquire(settings.storage.path)
        second = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "--config",
            str(settings.source),
            "run",
            stderr=asyncio.subprocess.PIPE,
        )
        _, stderr = await asyncio.wait_for(second.communicate(), 30)
    assert second.returncode == 1
    assert "already running" in stderr.decode()
    assert "Traceback" not in stderr.decode()


async def test_one_digest_to_several_targets_each_with_its_own_ledger(
    tmp_path: Path, emulator: TelegramEmulator, content: Path
) -> None:
    forum, topic = -1009876543210, 7
    emulator.add_chat(forum, type="supergroup", is_forum=True, topics=[topic])
    config = write_config(tmp_path, emulator, content)
    text = config.read_text(encoding="utf-8").replace('chat = "@ai_news_plus"\n', "")
    text += (
        '\n[[publish.targets]]\nchat = "@ai_news_plus"\n'
        f"[[publish.targets]]\nchat = {forum}\nthread_id = {topic}\n"
    )
    config.write_text(text, encoding="utf-8")
    settings = load_settings(config, env={})
    async with await Store.open(settings.storage.path) as store:
        async with serving(app_for(settings, store)):
            await emulator.wait_for(GROUP, 6)
            in_topic = await emulator.wait_for(forum, 6)
        assert all(m.thread_id == topic for m in in_topic)
        assert [m.text for m in in_topic] == [m.text for m in emulator.transcript(GROUP)]
        slug = load_digest(SAMPLE).slug
        first = await store.ledger.publication(slug, "@ai_news_plus", None)
        second = await store.ledger.publication(slug, forum, topic)
        assert first and second and first.done and second.done and first.id != second.id
        async with serving(app_for(settings, store)) as app:
            assert await publish_due(services_of(app), dt.datetime.now(dt.UTC)) == []
    assert len(emulator.transcript(forum)) == 6


@pytest.mark.parametrize("reason", CHAT_ERRORS)
async def test_every_chat_error_pauses_instead_of_degrading(
    settings: Settings, store: Store, emulator: TelegramEmulator, reason: str
) -> None:
    """A refusal about the chat itself (gone, no rights, closed topic) is not "fixed" by
    resending the cover as text: the publication pauses and nothing reaches the group."""
    emulator.refuse_photo(load_digest(SAMPLE).cover or "", f"Bad Request: {reason}")
    async with serving(app_for(settings, store)):
        await emulator.wait_for(ADMIN, 2)
    assert emulator.transcript(GROUP) == []
    (pending,) = await store.ledger.pending_publications()
    assert reason in (pending.last_error or "").lower()


async def test_a_refusal_about_the_message_degrades_instead_of_pausing(
    settings: Settings, store: Store, emulator: TelegramEmulator
) -> None:
    """The other side of the list above: an error not about the chat is not a chat error."""
    emulator.refuse_photo(load_digest(SAMPLE).cover or "", "Bad Request: wrong type of the web")
    async with serving(app_for(settings, store)):
        sent = await emulator.wait_for(GROUP, 6)
    assert sent[0].method == "sendMessage"
    assert await store.ledger.pending_publications() == []


async def test_the_token_never_reaches_the_ledger_the_admins_or_the_log(
    settings: Settings,
    store: Store,
    emulator: TelegramEmulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Telegram's errors may quote a URL with the token in it (a file URL, say)."""
    leaky = f"Bad Request: not enough rights: {emulator.base_url}{emulator.token}/sendPhoto"
    emulator.refuse_photo(load_digest(SAMPLE).cover or "", leaky)
    with caplog.at_level(logging.INFO):
        async with serving(app_for(settings, store)):
            headline, details = await emulator.wait_for(ADMIN, 2)
    (pending,) = await store.ledger.pending_publications()
    assert "<token>" in (pending.last_error or "")
    # Our own log lines never carry it; the formatter hides it in the libraries' ones too.
    ours = [logging.Formatter().format(r) for r in caplog.records if r.name.startswith("bot.")]
    everything = [RedactingFormatter(emulator.token).format(r) for r in caplog.records]
    seen = [pending.last_error or "", headline.text or "", details.text or "", *ours, *everything]
    assert all(emulator.token.lower() not in text.lower() for text in seen)
    assert "<token>" in details.text


async def test_the_content_settings_reach_the_group_and_the_members(
    tmp_path: Path, emulator: TelegramEmulator, content: Path
) -> None:
    """`content.drop_html = []` keeps the sample's invitation card: in the post, in what a
    member is sent, and in `render` — one rendering everywhere."""
    make_due(content)
    config = write_config(tmp_path, emulator, content, content_keys="drop_html = []")
    settings = load_settings(config, env={})
    card = "欢迎加入我们的 Telegram 群组"
    async with (
        await Store.open(settings.storage.path) as store,
        serving(app_for(settings, store)),
    ):
        posted = await emulator.wait_for(GROUP, 6)
        emulator.command(MEMBER, MEMBER, "/latest")
        sent = await emulator.wait_for(MEMBER, 6)
    assert card in (posted[-1].text or "") and card in (sent[-1].text or "")
    status, out, _ = await digest_bot("--config", config, "render", content / SAMPLE.name)
    assert status == 0 and card in out
