"""When digests are posted: daily at the configured time, caught up after downtime, and
a heartbeat for `digest-bot health`. Scheduling only: what is posted is publishing.py's."""

from __future__ import annotations

import asyncio
import datetime as dt

from telegram.ext import JobQueue

from bot.config import PublishSettings
from bot.health import HEARTBEAT_EVERY, heartbeat_path, write_heartbeat
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
    updater = context.application.updater
    await asyncio.to_thread(
        write_heartbeat,
        heartbeat_path(context.services.settings),
        receiving=updater is not None and updater.running,
        now=dt.datetime.now(dt.UTC),
    )
