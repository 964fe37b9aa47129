"""Commands for admins (`admins.user_ids`): /publish with a preview, and /status."""

from __future__ import annotations

import datetime as dt

from telegram import InlineKeyboardButton, Update
from telegram.ext import ContextTypes

from bot import __version__, keyboards
from bot.digest import DigestError
from bot.handlers.arguments import parse_day
from bot.handlers.replies import edit, is_private, language, reply, say, services_of
from bot.render import Builder, render_digest
from bot.store import DigestEntry
from bot.texts import text

MAX_FAILURES_SHOWN = 10
# Slugs being published from a button now: a second press must not start a second round.
_in_flight: set[str] = set()


async def publish(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/publish [YYYY-MM-DD | slug] [force | update]: a preview with publish (or edit)
    and cancel buttons."""
    if not _is_admin(update, context):
        await say(update, context, "not_admin")
        return
    if not is_private(update):
        await say(update, context, "publish_in_private")
        return
    args = context.args or []
    modes = [arg.lower() for arg in args if arg.lower() in (keyboards.FORCE, keyboards.UPDATE)]
    mode = modes[-1] if modes else keyboards.NEW
    names = [arg for arg in args if arg.lower() not in keyboards.PUBLISH_MODES]
    entry = await _chosen(context, names[0] if names else None) if len(names) <= 1 else None
    if entry is None:
        await say(update, context, "digest_not_found")
        return
    services = services_of(context)
    try:
        digest = await services.load_digest(entry.path)
        rendering = render_digest(digest, max_messages=services.settings.content.max_messages)
    except DigestError as exc:
        builder = Builder()
        builder.write(str(exc.reason))
        await reply(update, builder)
        return
    lang = language(update, context)
    targets = services.settings.publish.targets
    posted = [await services.store.publication(entry.slug, t.chat, t.thread_id) for t in targets]
    already = all(p is not None and p.done for p in posted)

    builder = Builder()
    builder.write(text(lang, "publish_preview", target=", ".join(map(str, targets))))
    builder.block()
    builder.styled("bold", digest.title)
    builder.line(f"{digest.date.isoformat()} · {entry.slug}")
    builder.block()
    builder.write(text(lang, "publish_parts", count=len(rendering.messages)))
    for number, message in enumerate(rendering.messages, 1):
        if message.photo:
            part = text(lang, "part_cover_photo")
        else:
            part = text(
                lang, "part_text", first=message.text.split("\n", 1)[0][:40], length=message.length
            )
        builder.line(f"{number}. {part}")
    for note in rendering.dropped:
        builder.line(f"⚠️ {note}")
    builder.block()
    if mode == keyboards.UPDATE:
        if not already:
            builder.write(text(lang, "not_published_yet"))
            await reply(update, builder)
            return
        builder.write(text(lang, "will_update"))
        go = "update_button"
    elif already and mode == keyboards.NEW:
        builder.write(text(lang, "already_published"))
        await reply(update, builder)
        return
    elif already:
        builder.write(text(lang, "will_force"))
        go = "force_button"
    else:
        go = "publish_button"
    rows = [
        [
            InlineKeyboardButton(
                text(lang, go),
                callback_data=keyboards.data(keyboards.PUBLISH, entry.slug, mode),
            ),
            InlineKeyboardButton(
                text(lang, "cancel_button"), callback_data=keyboards.data(keyboards.CANCEL)
            ),
        ]
    ]
    await reply(update, builder, keyboards.markup(rows))


async def status(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/status: schedule, last publication, index size, broken files, version."""
    if not _is_admin(update, context):
        await say(update, context, "not_admin")
        return
    services = services_of(context)
    settings, store = services.settings, services.store
    lang = language(update, context)
    publish_settings = settings.publish
    builder = Builder()
    builder.styled("bold", text(lang, "status_heading"))
    builder.line(text(lang, "status_version", version=__version__))
    builder.line(
        text(
            lang,
            "status_target",
            target=", ".join(map(str, settings.publish.targets)),
            time=publish_settings.time.strftime("%H:%M"),
            zone=publish_settings.timezone.key,
        )
    )
    jobs = context.job_queue.get_jobs_by_name("daily-digest") if context.job_queue else ()
    next_run = jobs[0].next_t if jobs else None
    if next_run is not None:
        local = next_run.astimezone(publish_settings.timezone)
        builder.line(text(lang, "status_next", when=local.strftime("%Y-%m-%d %H:%M %Z")))
    else:
        builder.line(text(lang, "status_none_scheduled"))
    builder.line(text(lang, "status_indexed", count=await store.count()))
    last = await store.last_publication()
    if last is None:
        builder.line(text(lang, "status_never"))
    else:
        sent = sum(1 for part in last.parts if part.message_id is not None)
        state = (
            text(lang, "state_done")
            if last.done
            else text(lang, "state_pending", attempts=last.attempts, error=last.last_error or "—")
        )
        builder.line(
            text(
                lang,
                "status_last",
                slug=last.slug,
                target=str(last.chat),
                state=state,
                parts=f"{sent}/{len(last.parts)}",
            )
        )
    failures = await store.failures()
    if failures:
        builder.block()
        builder.styled("bold", text(lang, "status_failures", count=len(failures)))
        for path, reason in failures[:MAX_FAILURES_SHOWN]:
            builder.line(f"• {path.name}: {reason}")
        if len(failures) > MAX_FAILURES_SHOWN:
            builder.line("…")
    await reply(update, builder)


async def publish_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The publish or cancel button under a /publish preview."""
    query = update.callback_query
    if query is None:
        return
    lang = language(update, context)
    press = keyboards.parse(query.data)
    if not _is_admin(update, context) or not is_private(update):
        await query.answer(text(lang, "not_admin"))
        return
    if press is None or press.kind not in (keyboards.PUBLISH, keyboards.CANCEL):
        await query.answer(text(lang, "stale_button"))
        return
    if press.kind == keyboards.CANCEL:
        await query.answer()
        await edit(query, _line(text(lang, "cancelled")))
        return
    services = services_of(context)
    entry = await services.store.get(press.value)
    if entry is None or press.value in _in_flight:
        await query.answer(text(lang, "stale_button" if entry is None else "publishing"))
        return
    await query.answer()
    _in_flight.add(entry.slug)
    try:
        await edit(query, _line(text(lang, "publishing")))
        result = await _publish_entry(context, entry, mode=press.mode, lang=lang)
    finally:
        _in_flight.discard(entry.slug)
    await edit(query, _line(result))


async def _publish_entry(context, entry: DigestEntry, *, mode: str, lang: str) -> str:
    services = services_of(context)
    try:
        digest = await services.load_digest(entry.path)
    except DigestError as exc:
        return text(lang, "publish_paused", error=exc.reason)
    targets = services.settings.publish.targets
    if mode == keyboards.UPDATE:
        corrections = [await services.publisher.correct(digest, t) for t in targets]
        refused = [c.refused for c in corrections if c.refused]
        if refused:
            return text(lang, "update_refused", reason="; ".join(refused))
        return text(lang, "updated", edited=sum(c.edited for c in corrections))
    outcomes = [
        await services.publisher.publish(digest, target, force=mode == keyboards.FORCE)
        for target in targets
    ]
    errors = [o.error for o in outcomes if o.error]
    if errors:
        return text(lang, "publish_paused", error="; ".join(errors))
    sent = sum(o.sent for o in outcomes)
    if sent == 0:
        return text(lang, "nothing_to_send")
    total = sum(len(o.publication.parts) for o in outcomes)
    return text(lang, "published", sent=sent, total=total)


async def _chosen(context, name: str | None) -> DigestEntry | None:
    """No argument: the newest digest due today; else a date or a slug."""
    services = services_of(context)
    store = services.store
    if name is None:
        today = dt.datetime.now(services.settings.publish.timezone).date()
        return await store.latest(on_or_before=today)
    day = parse_day(name)
    if day is not None:
        entries = await store.by_date(day)
        return entries[0] if entries else None
    if len(name) > 64:
        return None
    return await store.get(name)


def _is_admin(update: Update, context) -> bool:
    user = update.effective_user
    return user is not None and user.id in services_of(context).settings.admins.user_ids


def _line(value: str) -> Builder:
    builder = Builder()
    builder.write(value)
    return builder
