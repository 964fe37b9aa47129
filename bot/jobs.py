"""When digests are posted: daily at the configured time, caught up after downtime, and
a heartbeat for `digest-bot health`. Scheduling only: what is posted is publishing.py's."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any, cast

from telegram.error import TelegramError
from telegram.ext import Application, JobQueue

from bot.config import PublishSettings
from bot.health import HEARTBEAT_EVERY, RECEIVE_WITHIN, heartbeat_path, write_heartbeat
from bot.publishing import publish_due
from bot.services import BotContext, services_of

# How often to look again after the publish time, for a late file or a missed run.
CATCH_UP_INTERVAL = dt.timedelta(minutes=5)
START_DELAY = dt.timedelta(seconds=1)
# Until the bot polls, the heartbeat is written this often, so `health` is OK at once.
STARTING_BEAT = 0.5
DAILY_JOB = "daily-digest"
# Run however late: jobs are due from when they were scheduled, and the start-up (a
# content sync of any length) may pass their first time; a late check is still wanted.
LATE_IS_FINE: dict[str, Any] = {"misfire_grace_time": None, "coalesce": True}


def schedule(job_queue: JobQueue[BotContext], publish: PublishSettings) -> None:
    """The daily run, plus a repeating check whose first run is the start-up check."""
    job_queue.run_daily(
        _publish,
        time=publish.time.replace(tzinfo=publish.timezone),
        name=DAILY_JOB,
        job_kwargs=LATE_IS_FINE,
    )
    # APScheduler cannot run a job "now" (first=0 is skipped), and a repeating job whose
    # first time passed before the queue started (a long start-up sync) jumps to its next
    # interval; a one-off job with no misfire limit runs as soon as the queue starts.
    job_queue.run_once(_publish, START_DELAY, name="start-up", job_kwargs=LATE_IS_FINE)
    job_queue.run_repeating(
        _publish, interval=CATCH_UP_INTERVAL, first=CATCH_UP_INTERVAL, name="catch-up"
    )
    job_queue.run_once(_heartbeat, START_DELAY, name="heartbeat-start", job_kwargs=LATE_IS_FINE)
    job_queue.run_repeating(
        _heartbeat, interval=HEARTBEAT_EVERY, first=HEARTBEAT_EVERY, name="heartbeat"
    )


async def beat_now(app: Application[Any, Any, Any, Any, Any, Any]) -> bool:
    """What `digest-bot health` reads: the update stream, and the database file itself;
    written first thing at start-up too, so `health` sees a live process at once.
    True when what it wrote shows the update stream good."""
    services = services_of(app)
    now = dt.datetime.now(dt.UTC)
    good = services.watch.good_as_of(now) is not None
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
        now=now,
    )
    return good


async def _publish(context: BotContext) -> None:
    await publish_due(context.services, dt.datetime.now(dt.UTC))


async def _heartbeat(context: BotContext) -> None:
    if context.services.settings.telegram.webhook is not None:
        await _check_webhook(context)
    good = await beat_now(context.application)
    updater = context.application.updater
    polling = context.services.settings.telegram.webhook is None
    # Starting: beat again soon, until what was written shows the bot polling.
    if updater is None or not updater.running or (polling and not good):
        job_queue = cast("JobQueue[BotContext]", context.job_queue)
        job_queue.run_once(_heartbeat, STARTING_BEAT, name="heartbeat-start")


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
