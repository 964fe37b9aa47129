"""Commands for admins (`admins.user_ids`), in their private chat: /publish with a
preview, and /status. Who may use them is decided where they are registered."""

from __future__ import annotations

from telegram import CallbackQuery, Update

from bot import __version__, keyboards
from bot.digest import DigestError
from bot.handlers import views
from bot.handlers.arguments import parse_day
from bot.handlers.guards import is_admin
from bot.handlers.replies import edit, is_private, language, reply
from bot.jobs import DAILY_JOB
from bot.publishing import chosen_entry, correct_everywhere, publish_everywhere
from bot.render import render_digest
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
        await reply(update, views.said(lang, "digest_not_found"))
        return
    try:
        digest = await services.load_digest(entry.path)
        rendering = render_digest(digest, max_messages=services.settings.content.max_messages)
    except DigestError as exc:
        await reply(update, views.line(exc.reason))
        return
    targets = services.settings.publish.targets
    posted = [await services.ledger.publication(entry.slug, t.chat, t.thread_id) for t in targets]
    view = views.publish_preview(
        lang,
        entry,
        digest.title,
        rendering,
        targets=", ".join(map(str, targets)),
        mode=mode,
        already=all(p is not None and p.done for p in posted),
    )
    await reply(update, view)


async def status(update: Update, context: BotContext) -> None:
    """/status: schedule, last publication, index size, broken files, version."""
    services = context.services
    publish_settings = services.settings.publish
    jobs = context.job_queue.get_jobs_by_name(DAILY_JOB) if context.job_queue else ()
    next_run = jobs[0].next_t if jobs else None
    failures = await services.archive.failures()
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
    )
    await reply(update, views.status_view(language(update, context), facts))


async def in_private_only(update: Update, context: BotContext) -> None:
    """An admin command in a group: a pointer to the private chat, nothing more."""
    await reply(update, views.said(language(update, context), "publish_in_private"))


async def not_admin(update: Update, context: BotContext) -> None:
    await reply(update, views.said(language(update, context), "not_admin"))


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
        await edit(query, views.said(lang, "cancelled"))
        return
    services = context.services
    entry = await services.archive.get(press.value)
    if entry is None or press.value in services.in_flight:
        await query.answer(text(lang, "stale_button" if entry is None else "publishing"))
        return
    services.in_flight.add(entry.slug)  # before any await: a second press may be next
    try:
        await query.answer()
        await edit(query, views.said(lang, "publishing"))
    except BaseException:
        services.in_flight.discard(entry.slug)
        raise
    # Publishing takes minutes at Telegram's pace: it runs beside the chat's queue, so the
    # admin's next press or command is answered meanwhile.
    context.application.create_task(
        _publish_and_tell(query, context, entry, mode=press.mode, lang=lang), update=update
    )


async def _publish_and_tell(
    query: CallbackQuery, context: BotContext, entry: DigestEntry, *, mode: str, lang: str
) -> None:
    try:
        result = await _publish_entry(context, entry, mode=mode, lang=lang)
    finally:
        context.services.in_flight.discard(entry.slug)
    await edit(query, views.line(result))


async def _publish_entry(context: BotContext, entry: DigestEntry, *, mode: str, lang: str) -> str:
    services = context.services
    try:
        digest = await services.load_digest(entry.path)
    except DigestError as exc:
        return text(lang, "publish_paused", error=exc.reason)
    if mode == keyboards.UPDATE:
        corrections = [c for _, c in await correct_everywhere(services, digest)]
        refused = [c.refused for c in corrections if c.refused]
        if refused:
            return text(lang, "update_refused", reason="; ".join(refused))
        return text(lang, "updated", edited=sum(c.edited for c in corrections))
    force = mode == keyboards.FORCE
    outcomes = [o for _, o in await publish_everywhere(services, digest, force=force)]
    errors = [o.error for o in outcomes if o.error]
    if errors:
        return text(lang, "publish_paused", error="; ".join(errors))
    sent = sum(o.sent for o in outcomes)
    if sent == 0:
        return text(lang, "nothing_to_send")
    total = sum(len(o.publication.parts) for o in outcomes)
    return text(lang, "published", sent=sent, total=total)


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
