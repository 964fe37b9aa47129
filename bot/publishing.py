"""What is posted, when, and where: one path for the schedule, /publish and the CLI.

"Which digest is due", "publish to every target" and "correct every target" live here
and nowhere else; the publisher below them posts one digest to one target.
"""

from __future__ import annotations

import asyncio
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


# With `catch_up_hours = 0` a digest still goes out in the minute of its time: the daily
# job runs a few ms after it, and a bot started during that minute posts at start-up.
MIN_WINDOW = dt.timedelta(minutes=1)


def window_closes(publish: PublishSettings, day: dt.date) -> dt.datetime:
    """When a digest dated `day` that was not posted is no longer posted by itself."""
    return window_opens(publish, day) + max(publish.catch_up, MIN_WINDOW)


def due_days(publish: PublishSettings, now: dt.datetime) -> list[dt.date]:
    """The dates whose digests are due at `now`, newest first (the window may cross
    midnight, so yesterday's may still be due just after it)."""
    local = today(publish, now)
    span = (max(publish.catch_up, MIN_WINDOW) // dt.timedelta(days=1)) + 1
    days = [local - dt.timedelta(days=n) for n in range(span + 1)]
    return [d for d in days if window_opens(publish, d) <= now < window_closes(publish, d)]


def next_window(publish: PublishSettings, day: dt.date, now: dt.datetime) -> dt.datetime | None:
    """When a digest dated `day` would go out by itself, seen at `now`: now if it is due,
    its window's opening if that is ahead, None if its window has passed."""
    if now >= window_closes(publish, day):
        return None
    return max(now, window_opens(publish, day))


async def sync_index(
    store: Store, content: ContentSettings, reports: AdminReports | None = None
) -> SyncReport:
    """Bring the archive index up to date; broken files are logged, reported, skipped.
    A missing content folder changes nothing: the archive is served as it is, and the
    folder is taken up when it appears."""
    try:
        report = await store.sync_content(
            content.dir, max_bytes=content.max_bytes, settle_seconds=content.settle_seconds
        )
    except ContentMissing as exc:
        log.warning("%s; serving the archive as it is", exc)
        if reports is not None:
            await reports.report(
                "content folder",
                f"日报文件夹不存在 / the content folder is missing: {content.dir}",
                "Nothing is published until it appears; it is looked for every 5 minutes.",
            )
        return SyncReport()
    for path in report.unsettled:
        log.info("waiting for %s to stop changing", path.name)
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
    """The digest the schedule posts: the newest whose publishing window is open. An
    older one that was never posted stays for an admin to post by hand."""
    for day in due_days(publish, now or dt.datetime.now(dt.UTC)):
        entries = await archive.by_date(day)
        if entries:
            return entries[0]
    return None


async def posted_anywhere(services: Services, entry: DigestEntry) -> bool:
    """Whether this digest (by date and content, whatever its file name) has a
    publication, finished or not, in every target."""
    for target in services.settings.publish.targets:
        found = await services.ledger.publication(
            entry.slug,
            target.chat,
            target.thread_id,
            day=entry.date,
            content_hash=entry.content_hash,
        )
        if found is None:
            return False
    return True


async def never_posted(services: Services, now: dt.datetime | None = None) -> list[DigestEntry]:
    """Digests whose window has passed without a publication: never posted by
    themselves; /status, `check` and dry-run name the newest few."""
    publish = services.settings.publish
    now = now or dt.datetime.now(dt.UTC)
    found = []
    entries, _ = await services.archive.page(0, NEVER_POSTED_LOOKED_AT)
    for entry in entries:
        if next_window(publish, entry.date, now) is None and not await posted_anywhere(
            services, entry
        ):
            found.append(entry)
    return found[:NEVER_POSTED_SHOWN]


NEVER_POSTED_SHOWN = 3
NEVER_POSTED_LOOKED_AT = 12  # the newest files; an old backlog is not news


async def chosen_entry(
    archive: Archive,
    publish: PublishSettings,
    *,
    day: dt.date | None = None,
    slug: str | None = None,
) -> DigestEntry | None:
    """A digest asked for by hand: by slug, by date, else the one due now, else the
    newest dated today or earlier (the caller says when that one is not due)."""
    if slug is not None:
        return await archive.get(slug)
    if day is not None:
        entries = await archive.by_date(day)
        return entries[0] if entries else None
    return await due_entry(archive, publish) or await archive.latest(on_or_before=today(publish))


async def publish_everywhere(
    services: Services, digest: Digest, *, force: bool = False, by: str = "schedule"
) -> list[tuple[Target, Outcome]]:
    """Post a digest to every target that has not had it (all of them with `force`);
    `by` says who asked, for the log."""
    publisher = services.publisher
    return [
        (target, await publisher.publish(digest, target, force=force, by=by))
        for target in services.settings.publish.targets
    ]


async def correct_everywhere(services: Services, digest: Digest) -> list[tuple[Target, Correction]]:
    """Edit what was posted of a digest, in every target, to match its changed file."""
    publisher = services.publisher
    return [
        (target, await publisher.correct(digest, target))
        for target in services.settings.publish.targets
    ]


# A file that keeps changing longer than this waits for the next check (5 minutes).
SETTLE_PATIENCE = dt.timedelta(minutes=2)


async def until_settled(services: Services, report: SyncReport) -> None:
    """Files still being written are looked at again as soon as they may have settled,
    so a digest saved just before its time still goes out at its time."""
    waited = 0.0
    while report.unsettled and waited < SETTLE_PATIENCE.total_seconds():
        pause = report.settles_in + 0.05
        await asyncio.sleep(pause)
        waited += pause
        report = await sync(services)


async def publish_due(services: Services, now: dt.datetime) -> list[Outcome]:
    """Finish interrupted publications, then post the due digest (see `due_entry`) to
    each target that has not had it."""
    targets = services.settings.publish.targets
    try:
        report = await sync(services)
        outcomes = []
        stuck = []  # targets whose unfinished publication is unfinished: nothing new there
        for pending in await services.ledger.pending_publications():
            # A target taken out of the configuration is left alone.
            if any(t.same_as(pending.chat, pending.thread_id) for t in targets):
                outcome = await services.publisher.resume(pending)
                outcomes.append(outcome)
                if not outcome.done:
                    stuck.append((pending.chat, pending.thread_id))
    finally:
        services.gate.started()  # unfinished parts were looked for: replies may flow
    await until_settled(services, report)
    publish = services.settings.publish
    entry = await due_entry(services.archive, publish, now)
    if entry is None:
        log.debug("no digest due at %s", now.astimezone(publish.timezone))
        return outcomes
    digest = None
    for target in targets:
        if any(target.same_as(*key) for key in stuck):
            continue
        posted = await services.ledger.publication(
            entry.slug,
            target.chat,
            target.thread_id,
            day=entry.date,
            content_hash=entry.content_hash,
        )
        if posted is not None:
            continue  # done (perhaps under another file name), or pending and resumed above
        if digest is None:
            try:
                digest = await services.load_digest(entry.path)
            except DigestError as exc:  # changed on disk since the sync; the next sync says
                log.error("cannot publish: %s", exc)
                return outcomes
        outcomes.append(await services.publisher.publish(digest, target))
    return outcomes
