"""What is posted, when, and where: one path for the schedule, /publish and the CLI.

"Which digest is due", "publish to every target" and "correct every target" live here
and nowhere else; the publisher below them posts one digest to one target.
"""

from __future__ import annotations

import datetime as dt
import logging

from bot.config import ContentSettings, PublishSettings, Target
from bot.digest import Digest, DigestError
from bot.publisher import Correction, Outcome
from bot.reports import AdminReports
from bot.services import Services
from bot.store import Archive, ContentMissing, DigestEntry, Store, SyncReport

log = logging.getLogger(__name__)


def today(publish: PublishSettings, now: dt.datetime | None = None) -> dt.date:
    """The day in the publishing time zone: the day a digest is dated for."""
    return (now or dt.datetime.now(dt.UTC)).astimezone(publish.timezone).date()


def window_opens(publish: PublishSettings, day: dt.date) -> dt.datetime:
    """When a digest dated `day` may first be posted: `publish.time` on that day."""
    return dt.datetime.combine(day, publish.time, tzinfo=publish.timezone)


def in_window(publish: PublishSettings, now: dt.datetime) -> bool:
    """From today's publish time until `catch_up_hours` later, in the configured zone."""
    local = now.astimezone(publish.timezone)
    start = window_opens(publish, local.date())
    return start <= local <= start + publish.catch_up


async def sync_index(
    store: Store, content: ContentSettings, reports: AdminReports | None = None
) -> SyncReport:
    """Bring the archive index up to date; broken files are logged, reported, skipped.
    A missing content folder changes nothing: the archive is served as it is, and the
    folder is taken up when it appears."""
    try:
        report = await store.sync_content(content.dir, max_bytes=content.max_bytes)
    except ContentMissing as exc:
        log.warning("%s; serving the archive as it is", exc)
        if reports is not None:
            await reports.report(
                "content folder",
                f"日报文件夹不存在 / the content folder is missing: {content.dir}",
                "Nothing is published until it appears; it is looked for every 5 minutes.",
            )
        return SyncReport()
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
    return report


async def sync(services: Services) -> SyncReport:
    """The running bot's sync: failures are reported to the admins."""
    return await sync_index(services.store, services.settings.content, services.reports)


async def due_entry(
    archive: Archive, publish: PublishSettings, now: dt.datetime | None = None
) -> DigestEntry | None:
    """The digest the schedule posts: the newest dated today or earlier."""
    return await archive.latest(on_or_before=today(publish, now))


async def chosen_entry(
    archive: Archive,
    publish: PublishSettings,
    *,
    day: dt.date | None = None,
    slug: str | None = None,
) -> DigestEntry | None:
    """A digest asked for by hand: by slug, by date, else the one due now."""
    if slug is not None:
        return await archive.get(slug)
    if day is not None:
        entries = await archive.by_date(day)
        return entries[0] if entries else None
    return await due_entry(archive, publish)


async def publish_everywhere(
    services: Services, digest: Digest, *, force: bool = False
) -> list[tuple[Target, Outcome]]:
    """Post a digest to every target that has not had it (all of them with `force`)."""
    publisher = services.publisher
    return [
        (target, await publisher.publish(digest, target, force=force))
        for target in services.settings.publish.targets
    ]


async def correct_everywhere(services: Services, digest: Digest) -> list[tuple[Target, Correction]]:
    """Edit what was posted of a digest, in every target, to match its changed file."""
    publisher = services.publisher
    return [
        (target, await publisher.correct(digest, target))
        for target in services.settings.publish.targets
    ]


async def publish_due(
    services: Services, now: dt.datetime, *, anytime: bool = False
) -> list[Outcome]:
    """Finish interrupted publications, then post the due digest to each target that has
    not had it. Outside the publish window only the first step runs, unless `anytime`."""
    targets = services.settings.publish.targets
    await sync(services)
    outcomes = []
    stuck = []  # targets whose unfinished publication is still unfinished: nothing new there
    for pending in await services.ledger.pending_publications():
        # A target taken out of the configuration is left alone.
        if any(t.same_as(pending.chat, pending.thread_id) for t in targets):
            outcome = await services.publisher.resume(pending)
            outcomes.append(outcome)
            if not outcome.done:
                stuck.append((pending.chat, pending.thread_id))
    if not (anytime or in_window(services.settings.publish, now)):
        return outcomes
    entry = await due_entry(services.archive, services.settings.publish, now)
    if entry is None:
        log.info("no digest dated %s or earlier", today(services.settings.publish, now))
        return outcomes
    digest = None
    for target in targets:
        if any(target.same_as(*key) for key in stuck):
            continue
        if await services.ledger.publication(entry.slug, target.chat, target.thread_id):
            continue  # done, or pending and resumed above
        if digest is None:
            try:
                digest = await services.load_digest(entry.path)
            except DigestError as exc:  # changed on disk since the sync; the next sync says
                log.error("cannot publish: %s", exc)
                return outcomes
        outcomes.append(await services.publisher.publish(digest, target))
    return outcomes
