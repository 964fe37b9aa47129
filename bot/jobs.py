"""When digests are posted: daily at the configured time, and caught up after downtime."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import TYPE_CHECKING

from telegram.ext import ContextTypes, JobQueue

from bot.config import Settings
from bot.digest import DigestError, load_digest
from bot.publisher import Outcome, Target

if TYPE_CHECKING:
    from bot.app import Services

log = logging.getLogger(__name__)

# How often to look again after the publish time, for a late file or a missed run.
CATCH_UP_INTERVAL = dt.timedelta(minutes=5)
START_DELAY = dt.timedelta(seconds=1)


def schedule(job_queue: JobQueue, services: Services) -> None:
    """The daily run, plus a repeating check that also runs at start-up."""
    publish = services.settings.publish
    job_queue.run_daily(
        _job,
        time=publish.time.replace(tzinfo=publish.timezone),
        name="daily-digest",
        data=services,
        job_kwargs={
            "misfire_grace_time": int(publish.catch_up.total_seconds()) or None,
            "coalesce": True,
        },
    )
    # APScheduler cannot run a job "now" (first=0 is skipped), so the start-up run is 1 s in.
    job_queue.run_repeating(
        _job, interval=CATCH_UP_INTERVAL, first=START_DELAY, name="catch-up", data=services
    )


async def _job(context: ContextTypes.DEFAULT_TYPE) -> None:
    services: Services = context.job.data  # type: ignore[union-attr,assignment]
    await publish_due(services, dt.datetime.now(dt.UTC))


def target_of(settings: Settings) -> Target:
    return Target(settings.publish.chat, settings.publish.thread_id)


def in_window(now: dt.datetime, services: Services) -> bool:
    """From today's publish time until `catch_up_hours` later, in the configured zone."""
    publish = services.settings.publish
    local = now.astimezone(publish.timezone)
    start = dt.datetime.combine(local.date(), publish.time, tzinfo=publish.timezone)
    return start <= local <= start + publish.catch_up


async def publish_due(
    services: Services, now: dt.datetime, *, anytime: bool = False
) -> Outcome | None:
    """Finish interrupted publications, then post the newest digest dated today or earlier
    if it has not been posted. Outside the publish window only the first step runs,
    unless `anytime` (a publication asked for by hand)."""
    store, publisher = services.store, services.publisher
    target = target_of(services.settings)
    await sync(services)
    for pending in await store.pending_publications():
        if Target(pending.chat, pending.thread_id) == target:
            outcome = await publisher.resume(pending)
            if not outcome.done:
                return outcome
    if not (anytime or in_window(now, services)):
        return None
    today = now.astimezone(services.settings.publish.timezone).date()
    entry = await store.latest(on_or_before=today)
    if entry is None:
        log.info("no digest dated %s or earlier", today)
        return None
    existing = await store.publication(entry.slug, target.chat, target.thread_id)
    if existing is not None and existing.done:
        return None
    try:
        digest = await asyncio.to_thread(
            load_digest,
            entry.path,
            content_dir=services.settings.content.dir,
            max_bytes=services.settings.content.max_bytes,
        )
    except DigestError as exc:  # changed on disk since the sync; the next sync records it
        log.error("cannot publish: %s", exc)
        return None
    return await publisher.publish(digest, target)


async def sync(services: Services) -> None:
    """Bring the archive index up to date; broken files are logged and skipped."""
    content = services.settings.content
    report = await services.store.sync_content(content.dir, max_bytes=content.max_bytes)
    for path, reason in report.failures:
        log.error("skipping %s: %s", path, reason)
    if report.added or report.updated or report.removed:
        log.info(
            "content synced: %d added, %d updated, %d removed",
            report.added,
            report.updated,
            report.removed,
        )
