"""Commands for everyone: /start, /help, /latest, /archive, /tag, /search, and their buttons."""

from __future__ import annotations

import datetime as dt
import math

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot import keyboards
from bot.cooldown import Cooldown
from bot.digest import tag_key
from bot.handlers.arguments import echo, parse_day, parse_month, words
from bot.handlers.replies import (
    edit,
    is_private,
    language,
    reply,
    say,
    send_digest,
    services_of,
)
from bot.render import Builder
from bot.store import DigestEntry
from bot.texts import text

PAGE_SIZE = 8
TAGS_PER_PAGE = 20
MAX_QUERY = 100

# One full digest per user per minute; one command per user per few seconds in a group.
full_digests = Cooldown(60)
group_commands = Cooldown(5)
# With `ui.group_latest = "full"`, a whole digest in a group at most every 10 minutes;
# in between, the card.
group_full_digests = Cooldown(600)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start, or a deep link `/start d_<slug>` that opens one digest here."""
    payload = context.args[0] if context.args else ""
    if payload.startswith(keyboards.DEEP_LINK) and is_private(update):
        entry = await services_of(context).store.get(payload.removeprefix(keyboards.DEEP_LINK))
        if entry is None:
            await say(update, context, "digest_not_found")
            return
        await _full_digest(update, context, entry)
        return
    await help_command(update, context)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """What the bot does and its commands."""
    if await _group_cooling_down(update):
        return
    lang = language(update, context)
    builder = Builder()
    builder.write(text(lang, "about"))
    builder.block()
    builder.styled("bold", text(lang, "commands_heading"))
    for command, argument in PUBLIC_COMMANDS:
        usage = f"/{command}" + (f" {text(lang, argument)}" if argument else "")
        builder.line(f"{usage} — {text(lang, 'cmd_' + command)}")
    if update.effective_user and update.effective_user.id in _admins(context):
        builder.block()
        builder.styled("bold", text(lang, "admin_heading"))
        builder.line(f"/publish {text(lang, 'arg_publish')} — {text(lang, 'cmd_publish')}")
        builder.line(f"/status — {text(lang, 'cmd_status')}")
    await reply(update, builder)


async def latest(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The newest digest: in full in private, as a cover card in a group."""
    if await _group_cooling_down(update):
        return
    services = services_of(context)
    today = dt.datetime.now(services.settings.publish.timezone).date()
    entry = await services.store.latest(on_or_before=today)
    if entry is None:
        await say(update, context, "no_digest")
        return
    await _show(update, context, entry)


async def archive(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/archive, /archive YYYY-MM (a month's page), /archive YYYY-MM-DD (that digest)."""
    if await _group_cooling_down(update):
        return
    argument = words(context.args)
    if not argument:
        await _archive_page(update, context, 0, "")
        return
    day = parse_day(argument)
    if day is not None:
        entries = await services_of(context).store.by_date(day)
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


async def tag(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/tag lists the tags; /tag name lists the digests that carry it."""
    if await _group_cooling_down(update):
        return
    name = await _argument(update, context)
    if name is None:
        return
    if not name.lstrip("#"):
        await _tags_page(update, context, 0)
        return
    await _tag_page(update, context, 0, name.lstrip("#"))


async def search(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/search words: titles, summaries and bodies, newest first."""
    if await _group_cooling_down(update):
        return
    query = await _argument(update, context)
    if query is None:
        return
    if not query:
        await say(update, context, "search_usage")
        return
    await _search_page(update, context, 0, query)


async def unknown(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A hint in private chats; groups stay quiet (the command may be for another bot)."""
    await say(update, context, "unknown_command")


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Paging and opening digests; anything stale or forged gets a polite answer."""
    query = update.callback_query
    if query is None:
        return
    press = keyboards.parse(query.data)
    lang = language(update, context)
    if press is None or press.kind not in _BUTTONS:
        await query.answer(text(lang, "stale_button"))
        return
    await _BUTTONS[press.kind](update, context, press)


# -- pages -----------------------------------------------------------------------------


async def _archive_page(update: Update, context, page: int, month: str) -> None:
    lang = language(update, context)
    entries, total = await services_of(context).store.page(
        page * PAGE_SIZE, PAGE_SIZE, month=month or None
    )
    if total == 0:
        await _answer(update, context, "archive_empty", when=month or "—")
        return
    title = (
        text(lang, "archive_month_heading", month=month) if month else text(lang, "archive_heading")
    )
    await _list(update, context, title, entries, page, total, keyboards.ARCHIVE, month)


async def _tag_page(update: Update, context, page: int, name: str) -> None:
    store = services_of(context).store
    entries, total = await store.with_tag(name, page * PAGE_SIZE, PAGE_SIZE)
    if total == 0:
        await _answer(update, context, "tag_none", tag=echo(name))
        return
    shown = next((t for t in entries[0].tags if tag_key(t) == tag_key(name)), name)
    lang = language(update, context)
    title = text(lang, "tag_heading", tag=f"#{shown}")
    await _list(
        update, context, title, entries, page, total, keyboards.TAG, keyboards.tag_token(name)
    )


async def _tags_page(update: Update, context, page: int) -> None:
    lang = language(update, context)
    tags = await services_of(context).store.tags()
    if not tags:
        await _answer(update, context, "tags_empty")
        return
    pages = math.ceil(len(tags) / TAGS_PER_PAGE)
    page = min(page, pages - 1)
    shown = tags[page * TAGS_PER_PAGE : (page + 1) * TAGS_PER_PAGE]
    builder = Builder()
    builder.styled("bold", text(lang, "tags_heading", count=len(tags)))
    buttons = [
        InlineKeyboardButton(
            keyboards.button_text(f"{name} ({count})"),
            callback_data=keyboards.data(keyboards.TAG, 0, keyboards.tag_token(name)),
        )
        for name, count in shown
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append(
        keyboards.pager(keyboards.TAGS, page, pages, "", text(lang, "previous"), text(lang, "next"))
    )
    await _deliver(update, builder, keyboards.markup(rows))


async def _search_page(update: Update, context, page: int, query: str) -> None:
    lang = language(update, context)
    found = await services_of(context).store.search(query, page * PAGE_SIZE, PAGE_SIZE)
    if not found.hits:
        key = "search_none" if page == 0 else "stale_button"
        await _answer(update, context, key, query=echo(query))
        return
    builder = Builder()
    builder.styled("bold", text(lang, "search_heading", query=echo(query)))
    if found.total_is_exact:
        pages = math.ceil(found.total / PAGE_SIZE)
        builder.line(text(lang, "page", page=page + 1, pages=pages, total=found.total))
    else:  # counting stopped early: a page count would be a guess
        pages = page + 2 if found.has_more else page + 1
        builder.line(text(lang, "page_of_many", page=page + 1, total=found.total))
    hits = found.hits
    for hit in hits:
        builder.block()
        builder.styled("bold", f"{hit.entry.date.isoformat()} {hit.entry.title}")
        builder.line(hit.snippet.before)
        builder.styled("bold", hit.snippet.match)
        builder.write(hit.snippet.after)
    entries = [hit.entry for hit in hits]
    rows = keyboards.digest_buttons(entries, bot_username=_deep_link(update, context))
    if keyboards.fits(keyboards.SEARCH, pages, query):
        rows.append(
            keyboards.pager(
                keyboards.SEARCH, page, pages, query, text(lang, "previous"), text(lang, "next")
            )
        )
    elif pages > 1:
        builder.block()
        builder.write(text(lang, "more_results"))
    await _deliver(update, builder, keyboards.markup(rows))


async def _list(update, context, title, entries, page, total, kind, value) -> None:
    if not entries:  # a page past the end: a button from before the archive shrank
        await _answer(update, context, "stale_button")
        return
    lang = language(update, context)
    pages = math.ceil(total / PAGE_SIZE)
    builder = Builder()
    builder.styled("bold", title)
    builder.line(text(lang, "page", page=page + 1, pages=pages, total=total))
    builder.block()
    for entry in entries:
        builder.line(f"{entry.date.isoformat()}  {entry.title}")
    rows = keyboards.digest_buttons(entries, bot_username=_deep_link(update, context))
    rows.append(
        keyboards.pager(kind, page, pages, value, text(lang, "previous"), text(lang, "next"))
    )
    await _deliver(update, builder, keyboards.markup(rows))


async def _deliver(update: Update, builder: Builder, markup: InlineKeyboardMarkup | None) -> None:
    """A fresh reply to a command, or the same message edited for a button press."""
    if update.callback_query is not None:
        await update.callback_query.answer()
        await edit(update.callback_query, builder, markup)
    else:
        await reply(update, builder, markup)


async def _answer(update: Update, context, key: str, **values) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer(text(language(update, context), key, **values)[:200])
    else:
        await say(update, context, key, **values)


# -- showing a digest ------------------------------------------------------------------


async def _show(update: Update, context, entry: DigestEntry) -> None:
    if is_private(update):
        await _full_digest(update, context, entry)
        return
    full = services_of(context).settings.ui.group_latest == "full"
    if full and update.effective_chat and not group_full_digests.wait(update.effective_chat.id):
        await send_digest(update, context, entry)
        return
    lang = language(update, context)
    card = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    text(lang, "read_in_full"),
                    url=keyboards.open_url(context.bot.username, entry.slug),
                )
            ]
        ]
    )
    await send_digest(update, context, entry, card=card)


async def _full_digest(update: Update, context, entry: DigestEntry) -> None:
    user = update.effective_user
    wait = full_digests.wait((user.id if user else 0, update.effective_chat.id))
    if wait:
        await _answer(update, context, "full_cooldown", seconds=math.ceil(wait))
        return
    if update.callback_query is not None:
        await update.callback_query.answer()
    await send_digest(update, context, entry)


async def _open_pressed(update: Update, context, press: keyboards.Press) -> None:
    entry = await services_of(context).store.get(press.value)
    if entry is None:
        await _answer(update, context, "digest_not_found")
        return
    await _full_digest(update, context, entry)


async def _archive_pressed(update: Update, context, press: keyboards.Press) -> None:
    month = press.value if press.value and parse_month(press.value) == press.value else ""
    await _archive_page(update, context, press.page, month)


async def _tag_pressed(update: Update, context, press: keyboards.Press) -> None:
    name = press.value
    if name.startswith("#"):  # a long tag travels as a hash of its key
        tags = await services_of(context).store.tags()
        name = next((t for t, _ in tags if keyboards.tag_token(t) == press.value), "")
    if not name:
        await _answer(update, context, "stale_button")
        return
    await _tag_page(update, context, press.page, name)


async def _tags_pressed(update: Update, context, press: keyboards.Press) -> None:
    await _tags_page(update, context, press.page)


async def _search_pressed(update: Update, context, press: keyboards.Press) -> None:
    query = words([press.value])[:MAX_QUERY]
    if not query:
        await _answer(update, context, "stale_button")
        return
    await _search_page(update, context, press.page, query)


_BUTTONS = {
    keyboards.ARCHIVE: _archive_pressed,
    keyboards.TAG: _tag_pressed,
    keyboards.TAGS: _tags_pressed,
    keyboards.SEARCH: _search_pressed,
    keyboards.OPEN: _open_pressed,
}

PUBLIC_COMMANDS = [
    ("latest", None),
    ("archive", "arg_archive"),
    ("tag", "arg_tag"),
    ("search", "arg_search"),
    ("help", None),
]


# -- helpers ---------------------------------------------------------------------------


async def _argument(update: Update, context) -> str | None:
    """The command's text argument, or None once the member was told it is too long."""
    value = words(context.args)
    if len(value) > MAX_QUERY:
        await say(update, context, "too_long", limit=MAX_QUERY)
        return None
    return value


async def _group_cooling_down(update: Update) -> bool:
    """In a group, a member's commands beyond one per few seconds are ignored silently."""
    if is_private(update) or update.effective_user is None:
        return False
    return group_commands.wait((update.effective_user.id, update.effective_chat.id)) > 0


def _admins(context) -> frozenset[int]:
    return services_of(context).settings.admins.user_ids


def _deep_link(update: Update, context) -> str | None:
    """From a group, digest buttons open the private chat instead of posting in the group."""
    return None if is_private(update) else context.bot.username
