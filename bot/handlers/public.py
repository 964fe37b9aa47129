"""Commands for everyone: /start, /help, /latest, /archive, /tag, /search, and their buttons.

Each handler parses its arguments, asks the store, picks a view and replies.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable

from telegram import Update

from bot import keyboards
from bot.digest import tag_key
from bot.handlers import views
from bot.handlers.arguments import echo, parse_day, parse_month, words
from bot.handlers.guards import is_admin
from bot.handlers.replies import answer, deliver, is_private, language, reply, say, send_digest
from bot.publishing import today
from bot.services import BotContext
from bot.store import DigestEntry
from bot.texts import text

MAX_QUERY = 100


async def start(update: Update, context: BotContext) -> None:
    """/start, or a deep link `/start d_<slug>` that opens one digest here."""
    payload = context.args[0] if context.args else ""
    if payload.startswith(keyboards.DEEP_LINK) and is_private(update):
        slug = payload.removeprefix(keyboards.DEEP_LINK)
        entry = await context.services.archive.get(slug)
        if entry is None:
            await say(update, context, "digest_not_found")
            return
        await _full_digest(update, context, entry)
        return
    await help_command(update, context)


async def help_command(update: Update, context: BotContext) -> None:
    """What the bot does and its commands."""
    # The admins' commands are listed to them in private only: in a group, they are noise.
    admin = is_private(update) and is_admin(update, context.services.settings)
    await reply(update, views.help_view(language(update, context), admin=admin))


async def latest(update: Update, context: BotContext) -> None:
    """The newest digest: in full in private, as a cover card in a group."""
    services = context.services
    entry = await services.archive.latest(on_or_before=today(services.settings.publish))
    if entry is None:
        await say(update, context, "no_digest")
        return
    await _show(update, context, entry)


async def archive(update: Update, context: BotContext) -> None:
    """/archive, /archive YYYY-MM (a month's page), /archive YYYY-MM-DD (that digest)."""
    argument = words(context.args)
    if not argument:
        await _archive_page(update, context, 0, "")
        return
    day = parse_day(argument)
    if day is not None:
        entries = await context.services.archive.by_date(day)
        if not entries:
            await say(update, context, "archive_empty", when=day.isoformat())
            return
        await _show(update, context, entries[0])
        return
    month = parse_month(argument)
    if month is None:
        await say(update, context, "bad_date")
        return
    await _archive_page(update, context, 0, month)


async def tag(update: Update, context: BotContext) -> None:
    """/tag lists the tags; /tag name lists the digests that carry it."""
    name = await _argument(update, context)
    if name is None:
        return
    if not name.lstrip("#"):
        await _tags_page(update, context, 0)
        return
    await _tag_page(update, context, 0, name.lstrip("#"))


async def search(update: Update, context: BotContext) -> None:
    """/search words: titles, summaries and bodies, newest first."""
    query = await _argument(update, context)
    if query is None:
        return
    if not query:
        await say(update, context, "search_usage")
        return
    await _search_page(update, context, 0, query)


async def unknown(update: Update, context: BotContext) -> None:
    """A hint in private chats; groups stay quiet (the command may be for another bot)."""
    await say(update, context, "unknown_command")


async def button(update: Update, context: BotContext) -> None:
    """Paging and opening digests; anything stale or forged gets a polite answer."""
    query = update.callback_query
    if query is None:
        return
    press = keyboards.parse(query.data)
    if press is None or press.kind not in _BUTTONS:
        await query.answer(text(language(update, context), "stale_button"))
        return
    await _BUTTONS[press.kind](update, context, press)


# -- pages -----------------------------------------------------------------------------


async def _archive_page(update: Update, context: BotContext, page: int, month: str) -> None:
    lang = language(update, context)
    entries, total = await context.services.archive.page(
        page * views.PAGE_SIZE, views.PAGE_SIZE, month=month or None
    )
    if total == 0:
        await answer(update, context, "archive_empty", when=month or "—")
        return
    title = text(lang, "archive_month_heading" if month else "archive_heading", month=month)
    await _list(update, context, title, entries, page, total, keyboards.ARCHIVE, month)


async def _tag_page(update: Update, context: BotContext, page: int, name: str) -> None:
    entries, total = await context.services.archive.with_tag(
        name, page * views.PAGE_SIZE, views.PAGE_SIZE
    )
    if total == 0:
        await answer(update, context, "tag_none", tag=echo(name))
        return
    shown = next((t for t in entries[0].tags if tag_key(t) == tag_key(name)), name)
    title = text(language(update, context), "tag_heading", tag=f"#{shown}")
    token = keyboards.tag_token(name)
    await _list(update, context, title, entries, page, total, keyboards.TAG, token)


async def _tags_page(update: Update, context: BotContext, page: int) -> None:
    tags = await context.services.archive.tags()
    if not tags:
        await answer(update, context, "tags_empty")
        return
    await deliver(update, views.tags_view(language(update, context), tags, page))


async def _search_page(update: Update, context: BotContext, page: int, query: str) -> None:
    found = await context.services.search.find(query, page * views.PAGE_SIZE, views.PAGE_SIZE)
    if not found.hits:
        key = "search_none" if page == 0 else "stale_button"
        await answer(update, context, key, query=echo(query))
        return
    view = views.search_view(
        language(update, context),
        query,
        found,
        page,
        shown_query=echo(query),
        deep_link=_deep_link(update, context),
    )
    await deliver(update, view)


async def _list(
    update: Update,
    context: BotContext,
    title: str,
    entries: list[DigestEntry],
    page: int,
    total: int,
    kind: str,
    value: str,
) -> None:
    if not entries:  # a page past the end: a button from before the archive shrank
        await answer(update, context, "stale_button")
        return
    view = views.digest_list(
        language(update, context),
        title,
        entries,
        page=page,
        total=total,
        kind=kind,
        value=value,
        deep_link=_deep_link(update, context),
    )
    await deliver(update, view)


# -- showing a digest ------------------------------------------------------------------


async def _show(update: Update, context: BotContext, entry: DigestEntry) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    if is_private(update):
        await _full_digest(update, context, entry)
        return
    services = context.services
    full = services.settings.ui.group_latest == "full"
    if full and not services.cooldowns.group_full_digests.wait(chat.id):
        await send_digest(update, context, entry)
        return
    card = views.card_keyboard(language(update, context), context.bot.username, entry.slug)
    await send_digest(update, context, entry, card=card)


async def _full_digest(update: Update, context: BotContext, entry: DigestEntry) -> None:
    user, chat = update.effective_user, update.effective_chat
    if chat is None:
        return
    wait = context.services.cooldowns.full_digests.wait((user.id if user else 0, chat.id))
    if wait:
        await answer(update, context, "full_cooldown", seconds=math.ceil(wait))
        return
    if update.callback_query is not None:
        await update.callback_query.answer()
    await send_digest(update, context, entry)


async def _open_pressed(update: Update, context: BotContext, press: keyboards.Press) -> None:
    entry = await context.services.archive.get(press.value)
    if entry is None:
        await answer(update, context, "digest_not_found")
        return
    await _full_digest(update, context, entry)


async def _archive_pressed(update: Update, context: BotContext, press: keyboards.Press) -> None:
    month = press.value if press.value and parse_month(press.value) == press.value else ""
    await _archive_page(update, context, press.page, month)


async def _tag_pressed(update: Update, context: BotContext, press: keyboards.Press) -> None:
    name = press.value
    if name.startswith("#"):  # a long tag travels as a hash of its key
        tags = await context.services.archive.tags()
        name = next((t for t, _ in tags if keyboards.tag_token(t) == press.value), "")
    if not name:
        await answer(update, context, "stale_button")
        return
    await _tag_page(update, context, press.page, name)


async def _tags_pressed(update: Update, context: BotContext, press: keyboards.Press) -> None:
    await _tags_page(update, context, press.page)


async def _search_pressed(update: Update, context: BotContext, press: keyboards.Press) -> None:
    query = words([press.value])[:MAX_QUERY]
    if not query:
        await answer(update, context, "stale_button")
        return
    await _search_page(update, context, press.page, query)


_Pressed = Callable[[Update, BotContext, keyboards.Press], Awaitable[None]]
_BUTTONS: dict[str, _Pressed] = {
    keyboards.ARCHIVE: _archive_pressed,
    keyboards.TAG: _tag_pressed,
    keyboards.TAGS: _tags_pressed,
    keyboards.SEARCH: _search_pressed,
    keyboards.OPEN: _open_pressed,
}


# -- helpers ---------------------------------------------------------------------------


async def _argument(update: Update, context: BotContext) -> str | None:
    """The command's text argument, or None once the member was told it is too long."""
    value = words(context.args)
    if len(value) > MAX_QUERY:
        await say(update, context, "too_long", limit=MAX_QUERY)
        return None
    return value


def _deep_link(update: Update, context: BotContext) -> str | None:
    """From a group, digest buttons open the private chat instead of posting in the group."""
    return None if is_private(update) else context.bot.username
