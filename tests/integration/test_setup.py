"""A new operator's mistakes and a machine's surprises: each bad setup is one line and
exit status 2; a missing content folder, a replaced database, another instance polling
with the same token and a run of error pages are each noticed and said once."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import shutil
import signal
import socket
import sys
from pathlib import Path

from bot.app import build_app, serving
from bot.config import load_settings
from bot.health import RECEIVE_WITHIN, heartbeat_path, problems
from bot.publishing import publish_due
from bot.sandbox.telegram_api import TelegramEmulator
from bot.services import services_of
from bot.store import Store
from tests.helpers import ADMIN, BOT_FAST, GROUP, write_config
from tests.integration.test_cli import digest_bot
from tests.integration.test_webhook import webhook_config
from tests.samples import SAMPLE, make_due

QUIET = {"time": "23:59", "catch_up_hours": 0}


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    return lines[0]


async def test_a_folder_as_the_database_is_one_line(
    tmp_path: Path, emulator: TelegramEmulator, content: Path
) -> None:
    config = write_config(tmp_path, emulator, content)
    (tmp_path / "data" / "bot.sqlite3").mkdir(parents=True)
    status, _, err = await digest_bot("--config", config, "run")
    assert status == 2
    assert "storage.path" in one_error_line(err) and "is a folder" in err


async def test_a_corrupt_database_is_one_line_for_run_and_for_health(
    tmp_path: Path, emulator: TelegramEmulator, content: Path
) -> None:
    config = write_config(tmp_path, emulator, content)
    database = tmp_path / "data" / "bot.sqlite3"
    database.parent.mkdir()
    database.write_bytes(b"this is not a database, just a stray file" * 100)
    status, _, err = await digest_bot("--config", config, "run")
    assert status == 2
    assert "not a usable SQLite database" in one_error_line(err)
    beat = {"at": dt.datetime.now(dt.UTC).isoformat(), "last_update_ok": None}
    heartbeat_path(load_settings(config, env={})).write_text(json.dumps(beat))
    status, out, err = await digest_bot("--config", config, "health")
    assert status == 1 and err == ""
    assert any("cannot be read" in line for line in out.splitlines())


async def test_a_webhook_port_in_use_is_one_line(
    tmp_path: Path, emulator: TelegramEmulator, content: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = webhook_config(tmp_path, emulator, content, port)
        status, _, err = await digest_bot("--config", config, "run")
    assert status == 2
    assert f"telegram.webhook_port: 127.0.0.1:{port} is in use" in one_error_line(err)


async def test_a_missing_content_folder_does_not_stop_the_bot(
    tmp_path: Path, emulator: TelegramEmulator
) -> None:
    """The folder is not mounted yet: the bot starts, tells the admins once, answers
    members, and takes the folder up when it appears."""
    content = tmp_path / "not-yet"
    settings = load_settings(write_config(tmp_path, emulator, content), env={})
    async with (
        await Store.open(settings.storage.path) as store,
        serving(build_app(settings, store, flood=BOT_FAST)) as app,
    ):
        headline, _details = await emulator.wait_for(ADMIN, 2)
        assert "the content folder is missing" in (headline.text or "")
        emulator.command(ADMIN + 5, ADMIN + 5, "/latest")
        (answer,) = await emulator.wait_for(ADMIN + 5, 1)
        assert answer.text == "还没有日报。"
        content.mkdir()
        shutil.copy(SAMPLE, content)
        make_due(content)  # a digest for today: the schedule's to post
        await publish_due(services_of(app), dt.datetime.now(dt.UTC))
        await emulator.wait_for(GROUP, 6)
    assert len(emulator.transcript(ADMIN)) == 2  # said once, not at every check


async def test_a_deleted_database_is_noticed_at_the_next_heartbeat(
    tmp_path: Path, emulator: TelegramEmulator, content: Path
) -> None:
    settings = load_settings(write_config(tmp_path, emulator, content, **QUIET), env={})
    async with await Store.open(settings.storage.path) as store:
        app = build_app(settings, store, flood=BOT_FAST)
        async with serving(app):
            settings.storage.path.unlink()
            (heartbeat,) = app.job_queue.get_jobs_by_name("heartbeat")
            await heartbeat.run(app)
            (headline,) = await emulator.wait_for(ADMIN, 1)
            found = await problems(settings, dt.datetime.now(dt.UTC))
            emulator.command(ADMIN, ADMIN, "/status")
            _, status = await emulator.wait_for(ADMIN, 2)
    assert "the database is gone" in (headline.text or "")
    assert "was deleted while the bot runs" in (status.text or "").split("\n")[1]
    assert any("was deleted while the bot runs" in line for line in found)


async def test_another_instance_with_the_same_token_is_unhealthy_and_reported(
    tmp_path: Path, emulator: TelegramEmulator, content: Path
) -> None:
    settings = load_settings(write_config(tmp_path, emulator, content, **QUIET), env={})
    async with await Store.open(settings.storage.path) as store:
        app = build_app(settings, store, flood=BOT_FAST)
        async with serving(app):
            emulator.other_instance(True)
            (headline,) = await emulator.wait_for(ADMIN, 1, timeout=15)
            (heartbeat,) = app.job_queue.get_jobs_by_name("heartbeat")
            await heartbeat.run(app)
            found = await problems(settings, dt.datetime.now(dt.UTC))
            emulator.other_instance(False)
    assert "another instance polls with this token" in (headline.text or "")
    assert any("409 Conflict" in line for line in found)


async def test_polling_that_never_succeeds_is_unhealthy_after_90_s(
    tmp_path: Path, content: Path
) -> None:
    """Failing polls at start-up: fine for the first seconds (the bot is polling), then
    unhealthy once no poll has succeeded for 90 s since the first went out."""
    async with TelegramEmulator() as emulator:
        emulator.add_chat(GROUP, type="supergroup", username="ai_news_plus")
        settings = load_settings(write_config(tmp_path, emulator, content, **QUIET), env={})
        emulator.fail_next("getUpdates", "502", count=100)
        async with await Store.open(settings.storage.path) as store:
            app = build_app(settings, store, flood=BOT_FAST)
            async with serving(app):
                for _ in range(100):  # until a poll has failed
                    if any(r.method == "getUpdates" and r.status == 502 for r in emulator.requests):
                        break
                    await asyncio.sleep(0.05)
                watch = services_of(app).watch
                now = dt.datetime.now(dt.UTC)
                assert watch.first_poll is not None and watch.last_ok is None
                soon = watch.good_as_of(now)
                later = watch.good_as_of(now + dt.timedelta(seconds=95))
    assert soon is not None and now - soon < dt.timedelta(seconds=10)
    assert later is not None and now + dt.timedelta(seconds=95) - later > RECEIVE_WITHIN


async def test_a_poll_that_stopped_succeeding_is_unhealthy_after_90_s(
    tmp_path: Path, emulator: TelegramEmulator, content: Path
) -> None:
    """The heartbeat file is the contract between the bot and `health`."""
    settings = load_settings(write_config(tmp_path, emulator, content), env={})
    now = dt.datetime.now(dt.UTC)
    path = heartbeat_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    for seconds, healthy in ((85, True), (95, False)):
        last_ok = (now - dt.timedelta(seconds=seconds)).isoformat()
        path.write_text(json.dumps({"at": now.isoformat(), "last_update_ok": last_ok}))
        assert (await problems(settings, now) == []) is healthy


async def test_a_run_of_error_pages_is_a_few_quiet_lines(tmp_path: Path, content: Path) -> None:
    """Three 502s with an HTML body from getUpdates: a line, a count, no page, no traceback."""
    async with TelegramEmulator() as emulator:
        emulator.add_chat(GROUP, type="supergroup", username="ai_news_plus")
        config = write_config(tmp_path, emulator, content, **QUIET)
        emulator.fail_next("getUpdates", "502_html", count=3)
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "--config",
            str(config),
            "run",
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(300):  # until a poll succeeds again after the three failures
            await asyncio.sleep(0.1)
            if sum(1 for r in emulator.requests if r.method == "getUpdates") >= 5:
                break
        process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(process.communicate(), 30)
    log = err.decode()
    polling = [line for line in log.splitlines() if " bot.app: " in line and "running" not in line]
    polling = [line for line in polling if " is chat " not in line]
    assert "<html" not in log.lower() and "Traceback" not in log
    assert len(polling) == 2, log  # the first failure, then the count of the others
    assert "(the line above came 2 more times)" in polling[1]
    assert process.returncode == 0
