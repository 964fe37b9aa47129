"""Commands for admins (`admins.user_ids`), in their private chat: /publish with a
preview, and /status. Who may use them is decided where they are registered."""

from __future__ import annotations

import datetime as dt

from telegram import CallbackQuery, Update

from bot import __version__, keyboards
from bot.digest import DigestError
from bot.handlers import views
from bot.handlers.arguments import parse_day
from bot.handlers.guards import is_admin
from bot.handlers.replies import edit, is_private, language, reply
from bot.jobs import DAILY_JOB
from bot.publishing import (
    chosen_entry,
    correct_everywhere,
    never_posted,
    next_window,
    publish_everywhere,
    today,
)
from bot.services import BotContext
from bot.store import DigestEntry
from bot.texts import text

MAX_SLUG = 64


async def publish(update: Update, context: BotContext) -> None:
    """/publish [YYYY-MM-DD | slug] [force | update]: a preview with publish (or edit)
    and cancel buttons."""
    services = context.services
    args = context.args or []
    modes = [arg.lower() for arg in args if arg.lower() in (keyboards.FORCE, keyboards.UPDATE)]
    mode = modes[-1] if modes else keyboards.NEW
    names = [arg for arg in args if arg.lower() not in keyboards.PUBLISH_MODES]
    entry = await _chosen(context, names[0] if names else None) if len(names) <= 1 else None
    lang = language(update, context)
    if entry is None:
        await reply(update, context, await _not_found(context, lang, names))
        return
    try:
        digest = await services.load_digest(entry.path)
        rendering = services.render(digest)
    except DigestError as exc:
        await reply(update, context, _unloadable(lang, exc))
        return
    publish_settings = services.settings.publish
    targets = publish_settings.targets
    posted = [
        await services.ledger.publication(
            entry.slug, t.chat, t.thread_id, day=entry.date, content_hash=entry.content_hash
        )
        for t in targets
    ]
    unfinished = [p for p in posted if p is not None and not p.done]
    now = dt.datetime.now(dt.UTC)
    facts = views.PublishFacts(
        entry=entry,
        title=digest.title,
        rendering=rendering,
        targets=", ".join(map(str, targets)),
        mode=mode,
        already=all(p is not None and p.done for p in posted),
        sent=frozenset(
            part.idx for part in (unfinished[0].parts if unfinished else ()) if part.message_id
        ),
        future=entry.date > today(publish_settings, now),
        overdue=next_window(publish_settings, entry.date, now) is None,
        notes=len(digest.warnings) + len(rendering.dropped),
        changed=any(p is not None and p.content_hash != digest.content_hash for p in posted),
    )
    await reply(update, context, views.publish_preview(lang, facts))


async def status(update: Update, context: BotContext) -> None:
    """/status: schedule, last publication, index size, broken files, version."""
    services = context.services
    publish_settings = services.settings.publish
    jobs = context.job_queue.get_jobs_by_name(DAILY_JOB) if context.job_queue else ()
    next_run = jobs[0].next_t if jobs else None
    failures = await services.archive.failures()
    never = await never_posted(services)
    facts = views.StatusFacts(
        version=__version__,
        targets=", ".join(map(str, publish_settings.targets)),
        time=publish_settings.time.strftime("%H:%M"),
        zone=publish_settings.timezone.key,
        next_run=(
            next_run.astimezone(publish_settings.timezone).strftime("%Y-%m-%d %H:%M %Z")
            if next_run is not None
            else None
        ),
        indexed=await services.archive.count(),
        last=await services.ledger.last_publication(),
        failures=[(path.name, reason) for path, reason in failures],
        never_posted=[(e.date.isoformat(), e.path.name) for e in never],
        database=services.store.db.file_problem(),
    )
    await reply(update, context, views.status_view(language(update, context), facts))


async def in_private_only(update: Update, context: BotContext) -> None:
    """An admin command in a group: a pointer to the private chat, nothing more."""
    await reply(update, context, views.said(language(update, context), "publish_in_private"))


async def not_admin(update: Update, context: BotContext) -> None:
    await reply(update, context, views.said(language(update, context), "not_admin"))


async def publish_pressed(update: Update, context: BotContext) -> None:
    """The publish or cancel button under a /publish preview."""
    query = update.callback_query
    if query is None:
        return
    lang = language(update, context)
    press = keyboards.parse(query.data)
    if not is_admin(update, context.services.settings) or not is_private(update):
        await query.answer(text(lang, "not_admin"))
        return
    if press is None or press.kind not in (keyboards.PUBLISH, keyboards.CANCEL):
        await query.answer(text(lang, "stale_button"))
        return
    if press.kind == keyboards.CANCEL:
        await query.answer()
        await edit(query, context, views.said(lang, "cancelled"))
        return
    services = context.services
    entry = await services.archive.get(press.value)
    if entry is None or press.value in services.in_flight:
        await query.answer(text(lang, "stale_button" if entry is None else "publishing"))
        return
    services.in_flight.add(entry.slug)  # before any await: a second press may be next
    try:
        await query.answer()
        await edit(query, context, views.said(lang, "publishing"))
    except BaseException:
        services.in_flight.discard(entry.slug)
        raise
    # Publishing takes minutes at Telegram's pace: it runs beside the chat's queue, so the
    # admin's next press or command is answered meanwhile.
    context.application.create_task(
        _publish_and_tell(query, context, entry, mode=press.mode, lang=lang, by=_who(update)),
        update=update,
    )


async def _publish_and_tell(
    query: CallbackQuery,
    context: BotContext,
    entry: DigestEntry,
    *,
    mode: str,
    lang: str,
    by: str,
) -> None:
    try:
        result = await _publish_entry(context, entry, mode=mode, lang=lang, by=by)
    finally:
        context.services.in_flight.discard(entry.slug)
    await edit(query, context, result)


def _who(update: Update) -> str:
    """Who pressed, for the log: the admin's id and name."""
    user = update.effective_user
    return f"admin {user.id} ({user.full_name})" if user else "an admin"


async def _publish_entry(
    context: BotContext, entry: DigestEntry, *, mode: str, lang: str, by: str
) -> views.View:
    services = context.services
    try:
        digest = await services.load_digest(entry.path)
    except DigestError as exc:
        return _unloadable(lang, exc)
    if mode == keyboards.UPDATE:
        corrections = [c for _, c in await correct_everywhere(services, digest)]
        refused = [text(lang, f"refused_{c.why}", **dict(c.details)) for c in corrections if c.why]
        if refused:
            return views.said(lang, "update_refused", reason="; ".join(refused))
        return views.said(lang, "updated", edited=sum(c.edited for c in corrections))
    force = mode == keyboards.FORCE
    outcomes = await publish_everywhere(services, digest, force=force, by=by)
    for _, outcome in outcomes:
        if outcome.error:
            reason = outcome.publication.last_error or outcome.error
            return views.paused_view(lang, outcome.publication, reason.split(": ", 1)[-1])
    sent = sum(o.sent for _, o in outcomes)
    if sent == 0:
        return views.said(lang, "nothing_to_send")
    total = sum(len(o.publication.parts) for _, o in outcomes)
    target, first = outcomes[0]
    cover = first.publication.parts[0].message_id
    return views.published_view(
        lang,
        digest.title,
        sent=sent,
        total=total,
        cover_url=views.message_link(target.chat, cover) if cover is not None else None,
    )


def _unloadable(lang: str, error: DigestError) -> views.View:
    """Why a digest cannot be posted: its file does not load (not "not found")."""
    return views.unloadable(lang, error.path.name, error.reason)


async def _not_found(context: BotContext, lang: str, names: list[str]) -> views.View:
    """Not in the index: perhaps because its file does not load, which says why."""
    failures = await context.services.archive.failures()
    wanted = names[0] if len(names) == 1 else None
    for path, reason in failures:
        if wanted is not None and (path.stem == wanted or path.name.startswith(wanted)):
            return views.unloadable(lang, path.name, reason)
    return views.said(lang, "digest_not_found")


async def _chosen(context: BotContext, name: str | None) -> DigestEntry | None:
    """No argument: the digest due now; else a date or a slug."""
    archive, publish = context.services.archive, context.services.settings.publish
    if name is None:
        return await chosen_entry(archive, publish)
    day = parse_day(name)
    if day is not None:
        return await chosen_entry(archive, publish, day=day)
    if len(name) > MAX_SLUG:
        return None
    return await chosen_entry(archive, publish, slug=name)
