"""When digests are posted: daily at the configured time, caught up after downtime, and
a heartbeat for `digest-bot health`. Scheduling only: what is posted is publishing.py's."""

from __future__ import annotations

import asyncio
import datetime as dt

from telegram.error import TelegramError
from telegram.ext import JobQueue

from bot.config import PublishSettings
from bot.health import HEARTBEAT_EVERY, RECEIVE_WITHIN, heartbeat_path, write_heartbeat
from bot.publishing import publish_due
from bot.services import BotContext

# How often to look again after the publish time, for a late file or a missed run.
CATCH_UP_INTERVAL = dt.timedelta(minutes=5)
START_DELAY = dt.timedelta(seconds=1)
DAILY_JOB = "daily-digest"


def schedule(job_queue: JobQueue[BotContext], publish: PublishSettings) -> None:
    """The daily run, plus a repeating check that also runs at start-up."""
    job_queue.run_daily(
        _publish,
        time=publish.time.replace(tzinfo=publish.timezone),
        name=DAILY_JOB,
        job_kwargs={
            "misfire_grace_time": int(publish.catch_up.total_seconds()) or None,
            "coalesce": True,
        },
    )
    # APScheduler cannot run a job "now" (first=0 is skipped), so the start-up run is 1 s in.
    job_queue.run_repeating(
        _publish, interval=CATCH_UP_INTERVAL, first=START_DELAY, name="catch-up"
    )
    job_queue.run_repeating(
        _heartbeat, interval=HEARTBEAT_EVERY, first=START_DELAY, name="heartbeat"
    )


async def _publish(context: BotContext) -> None:
    await publish_due(context.services, dt.datetime.now(dt.UTC))


async def _heartbeat(context: BotContext) -> None:
    """What `digest-bot health` reads: the update stream, and the database file itself."""
    services = context.services
    if services.settings.telegram.webhook is not None:
        await _check_webhook(context)
    database = services.store.db.file_problem()
    if database is not None:
        await services.reports.report(
            "database file", f"数据库文件出问题了 / the database is gone: {database}"
        )
    await asyncio.to_thread(
        write_heartbeat,
        heartbeat_path(services.settings),
        watch=services.watch,
        database=database,
        now=dt.datetime.now(dt.UTC),
    )


async def _check_webhook(context: BotContext) -> None:
    """In webhook mode a quiet group sends nothing for hours: ask Telegram instead whether
    it can deliver to us (the webhook is set, and its last delivery did not fail)."""
    try:
        info = await context.bot.get_webhook_info()
    except TelegramError:
        return
    failed = info.last_error_date is not None and (
        dt.datetime.now(dt.UTC) - info.last_error_date < RECEIVE_WITHIN
    )
    if info.url and not failed:
        context.services.watch.answered(200)
