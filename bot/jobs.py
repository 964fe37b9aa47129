"""When digests are posted: daily at the configured time, and caught up after downtime."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import TYPE_CHECKING

from telegram.ext import ContextTypes, JobQueue

from bot.config import ContentSettings
from bot.digest import DigestError
from bot.health import HEARTBEAT_EVERY, heartbeat_path, write_heartbeat
from bot.publisher import Outcome
from bot.reports import AdminReports
from bot.store import Store

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
    job_queue.run_repeating(
        _heartbeat, interval=HEARTBEAT_EVERY, first=START_DELAY, name="heartbeat", data=services
    )


async def _job(context: ContextTypes.DEFAULT_TYPE) -> None:
    services: Services = context.job.data  # type: ignore[union-attr,assignment]
    await publish_due(services, dt.datetime.now(dt.UTC))


async def _heartbeat(context: ContextTypes.DEFAULT_TYPE) -> None:
    services: Services = context.job.data  # type: ignore[union-attr,assignment]
    updater = context.application.updater
    await asyncio.to_thread(
        write_heartbeat,
        heartbeat_path(services.settings),
        receiving=updater is not None and updater.running,
        now=dt.datetime.now(dt.UTC),
    )


def in_window(now: dt.datetime, services: Services) -> bool:
    """From today's publish time until `catch_up_hours` later, in the configured zone."""
    publish = services.settings.publish
    local = now.astimezone(publish.timezone)
    start = dt.datetime.combine(local.date(), publish.time, tzinfo=publish.timezone)
    return start <= local <= start + publish.catch_up


async def publish_due(
    services: Services, now: dt.datetime, *, anytime: bool = False
) -> list[Outcome]:
    """Finish interrupted publications, then post the newest digest dated today or earlier
    to each target that has not had it. Outside the publish window only the first step
    runs, unless `anytime` (a publication asked for by hand)."""
    store, publisher, settings = services.store, services.publisher, services.settings
    targets = settings.publish.targets
    await sync(store, settings.content, services.reports)
    outcomes = []
    stuck = []  # targets whose unfinished publication is still unfinished: nothing new there
    for pending in await store.pending_publications():
        # A target taken out of the configuration is left alone.
        if any(t.same_as(pending.chat, pending.thread_id) for t in targets):
            outcome = await publisher.resume(pending)
            outcomes.append(outcome)
            if not outcome.done:
                stuck.append((pending.chat, pending.thread_id))
    if not (anytime or in_window(now, services)):
        return outcomes
    today = now.astimezone(settings.publish.timezone).date()
    entry = await store.latest(on_or_before=today)
    if entry is None:
        log.info("no digest dated %s or earlier", today)
        return outcomes
    digest = None
    for target in targets:
        if any(target.same_as(*key) for key in stuck):
            continue
        if await store.publication(entry.slug, target.chat, target.thread_id) is not None:
            continue  # done, or pending and resumed above
        if digest is None:
            try:
                digest = await services.load_digest(entry.path)
            except DigestError as exc:  # changed on disk since the sync; the next sync says
                log.error("cannot publish: %s", exc)
                return outcomes
        outcomes.append(await publisher.publish(digest, target))
    return outcomes


async def sync(store: Store, content: ContentSettings, reports: AdminReports | None = None) -> None:
    """Bring the archive index up to date; broken files are logged, reported, skipped."""
    report = await store.sync_content(content.dir, max_bytes=content.max_bytes)
    for path, reason in report.failures:
        log.error("skipping %s: %s", path, reason)
        if reports is not None:
            await reports.report(
                f"file {path}",
                f"日报文件无法读取 / a digest file does not load: {path.name}",
                reason,
            )
    if report.added or report.updated or report.removed:
        log.info(
            "content synced: %d added, %d updated, %d removed",
            report.added,
            report.updated,
            report.removed,
        )
