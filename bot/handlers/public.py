"""Commands for everyone: /start, /help, /latest, /archive, /tag, /search, plain text in
private, and their buttons.

Each handler parses its arguments, asks the store as members see it (`for_members`:
released digests only), picks a view and replies.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from telegram import Chat, InlineKeyboardButton, Update

from bot import keyboards
from bot.config import Target
from bot.handlers import views
from bot.handlers.arguments import MAX_QUERY, echo, parse_day, parse_month, words
from bot.handlers.delivery import full_digest, send_digest
from bot.handlers.guards import is_admin
from bot.handlers.replies import answer, deliver, is_private, language, reply, say
from bot.publishing import today
from bot.release import for_members
from bot.services import BotContext
from bot.store import DigestEntry
from bot.store.archive import tag_matches
from bot.texts import EN, text

# Words of a title a search example can be: a Latin word, or a run of Chinese characters.
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*[A-Za-z0-9+]")
_HAN_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")


async def start(update: Update, context: BotContext) -> None:
    """/start, or a deep link `/start d_<slug>` that opens one digest here; a member's
    first contact also gets a one-line welcome."""
    user = update.effective_user
    first = False
    if is_private(update) and user is not None:
        first = await context.services.members.first_contact(user.id)
    payload = context.args[0] if context.args else ""
    if not (payload.startswith(keyboards.DEEP_LINK) and is_private(update)):
        await help_command(update, context)
        return
    entry = await for_members(context.services).archive.get(
        payload.removeprefix(keyboards.DEEP_LINK)
    )
    if entry is None:
        await say(update, context, "digest_not_found")
        return
    if first:
        await say(update, context, "welcome")
    await full_digest(update, context, entry, deep_link=True)


async def help_command(update: Update, context: BotContext) -> None:
    """What the bot does and its commands."""
    # The admins' commands are listed to them in private only: in a group, they are noise.
    admin = is_private(update) and is_admin(update, context.services.settings)
    lang = language(update, context)
    view = views.help_view(
        lang, admin=admin, bot_username=context.bot.username, private=is_private(update)
    )
    await reply(update, context, view)


async def latest(update: Update, context: BotContext) -> None:
    """The newest released digest: in full in private, as a short reply in a group."""
    entry = await for_members(context.services).archive.latest()
    if entry is None:
        await say(update, context, "no_digest")
        return
    await _show(update, context, entry)


async def archive(update: Update, context: BotContext) -> None:
    """/archive, /archive 2026-02 (or 2026/2, 2026年2月: a month's page), /archive
    2026-02-21 (that digest)."""
    argument = words(context.args)
    if not argument:
        await _archive_page(update, context, 0, "")
        return
    day = parse_day(argument)
    if day is not None:
        entries = await for_members(context.services).archive.by_date(day)
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
    """/tag lists the tags; /tag name (or #name, as in the covers) lists its digests."""
    name = await _argument(update, context)
    if name is None:
        return
    if not name.lstrip("#"):
        await _tags_page(update, context, 0)
        return
    await _tag_page(update, context, 0, name)


async def search(update: Update, context: BotContext) -> None:
    """/search words: every word, in any order, in what members read; newest first."""
    query = await _argument(update, context)
    if query is None:
        return
    if not query:
        await _search_usage(update, context)
        return
    await _search_page(update, context, 0, query)


async def text_search(update: Update, context: BotContext) -> None:
    """Plain text in private is a search, with a hint that it works that way."""
    message = update.effective_message
    query = words([message.text]) if message and message.text else ""
    if not query:
        return
    if len(query) > MAX_QUERY:
        await say(update, context, "too_long", limit=MAX_QUERY)
        return
    await _search_page(update, context, 0, query, hint=True)


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


async def _archive_page(
    update: Update, context: BotContext, page: int, month: str, *, fresh: bool = False
) -> None:
    lang = language(update, context)
    entries, total = await for_members(context.services).archive.page(
        page * views.PAGE_SIZE, views.PAGE_SIZE, month=month or None
    )
    if total == 0:
        await answer(update, context, "archive_empty", when=month or "—")
        return
    title = text(lang, "archive_month_heading" if month else "archive_heading", month=month)
    await _list(update, context, title, entries, page, total, keyboards.ARCHIVE, month, fresh=fresh)


async def _tag_page(update: Update, context: BotContext, page: int, name: str) -> None:
    lang = language(update, context)
    entries, total = await for_members(context.services).archive.with_tag(
        name, page * views.PAGE_SIZE, views.PAGE_SIZE
    )
    if total == 0:
        await answer(update, context, "tag_none", tag=echo(name))
        return
    tags = entries[0].tags if entries else ()
    shown = next((t for t in tags if tag_matches(t, name)), name)
    title = text(lang, "tag_heading", tag="#" + shown.lstrip("#"))
    token = keyboards.tag_token(name.lstrip("#"))
    back = views.back_to_tags(lang)
    await _list(update, context, title, entries, page, total, keyboards.TAG, token, back=back)


async def _tags_page(update: Update, context: BotContext, page: int) -> None:
    tags = await for_members(context.services).archive.tags()
    if not tags:
        await answer(update, context, "tags_empty")
        return
    await deliver(update, context, views.tags_view(language(update, context), tags, page))


async def _search_page(
    update: Update, context: BotContext, page: int, query: str, *, hint: bool = False
) -> None:
    lang = language(update, context)
    found = await for_members(context.services).search.find(
        query, page * views.PAGE_SIZE, views.PAGE_SIZE
    )
    if not found.hits:
        if page > 0:
            await answer(update, context, "stale_button")
        elif update.callback_query is not None:
            await answer(update, context, "search_none", query=echo(query))
        else:
            await reply(update, context, views.search_none(lang, echo(query), hint=hint))
        return
    view = views.search_view(
        lang,
        query,
        found,
        page,
        shown_query=echo(query),
        deep_link=_deep_link(update, context),
        this_year=_this_year(context),
        hint=hint,
    )
    await deliver(update, context, view)


async def _search_usage(update: Update, context: BotContext) -> None:
    """How to search, with an example the archive holds: a word of the newest title."""
    entry = await for_members(context.services).archive.latest()
    example = _example_word(entry.title, language(update, context)) if entry else None
    if example is None:
        await say(update, context, "search_usage")
    else:
        await say(update, context, "search_usage_example", example=example)


async def _list(
    update: Update,
    context: BotContext,
    title: str,
    entries: list[DigestEntry],
    page: int,
    total: int,
    kind: str,
    value: str,
    *,
    back: InlineKeyboardButton | None = None,
    fresh: bool = False,
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
        this_year=_this_year(context),
        back=back,
    )
    if fresh and update.callback_query is not None:  # under a digest: a new message
        await update.callback_query.answer()
        await reply(update, context, view)
        return
    await deliver(update, context, view)


# -- showing a digest ------------------------------------------------------------------


async def _show(update: Update, context: BotContext, entry: DigestEntry) -> None:
    """In private the whole digest; in a group a short reply with the 📖 deep link (or,
    with `ui.group_latest = "full"`, the whole digest at most every few minutes)."""
    chat = update.effective_chat
    if chat is None:
        return
    if is_private(update):
        await full_digest(update, context, entry)
        return
    services = context.services
    full = services.settings.ui.group_latest == "full"
    if full and not services.cooldowns.group_full_digests.wait(chat.id):
        await send_digest(update, context, entry)
        return
    cover = await _cover_url(context, chat, entry)
    lang = language(update, context)
    await reply(update, context, views.digest_in_group(lang, entry, cover, context.bot.username))


async def _cover_url(context: BotContext, chat: Chat, entry: DigestEntry) -> str | None:
    """A link to the digest's cover as posted in this group, if the ledger has it."""
    targets = [t for t in context.services.settings.publish.targets if _is_chat(t, chat)]
    for target in targets:
        posted = await context.services.ledger.publication(
            entry.slug, target.chat, target.thread_id
        )
        sent = posted.parts[0].message_id if posted and posted.parts else None
        if sent is not None:
            return message_link(chat, sent)
    return None


def _is_chat(target: Target, chat: Chat) -> bool:
    name = str(target.chat).lower()
    return name == str(chat.id) or (
        chat.username is not None and name == f"@{chat.username.lower()}"
    )


def message_link(chat: Chat, message_id: int) -> str | None:
    """`https://t.me/<username>/<id>`, or `https://t.me/c/<id>/<id>` in a private
    supergroup; basic groups have no message links."""
    if chat.username:
        return f"https://t.me/{chat.username}/{message_id}"
    internal = str(chat.id)
    if internal.startswith("-100"):
        return f"https://t.me/c/{internal.removeprefix('-100')}/{message_id}"
    return None


async def _open_pressed(update: Update, context: BotContext, press: keyboards.Press) -> None:
    entry = await for_members(context.services).archive.get(press.value)
    if entry is None:
        await answer(update, context, "digest_not_found")
        return
    await full_digest(update, context, entry)


async def _archive_pressed(update: Update, context: BotContext, press: keyboards.Press) -> None:
    month = press.value if press.value and parse_month(press.value) == press.value else ""
    await _archive_page(update, context, press.page, month)


async def _archive_new_pressed(update: Update, context: BotContext, press: keyboards.Press) -> None:
    await _archive_page(update, context, 0, "", fresh=True)


async def _tag_pressed(update: Update, context: BotContext, press: keyboards.Press) -> None:
    name = press.value
    if name.startswith("#"):  # a long tag travels as a hash of its key
        tags = await for_members(context.services).archive.tags()
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
    keyboards.ARCHIVE_NEW: _archive_new_pressed,
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


def _this_year(context: BotContext) -> int:
    """The current year where the digests are dated: labels omit it."""
    services = context.services
    return today(services.settings.publish, services.clock()).year


def _example_word(title: str, lang: str) -> str | None:
    """A word of a title to show as a search example: for English readers a Latin word
    if there is one, else the first few Chinese characters."""
    latin = _LATIN_WORD.findall(title)
    han = [run[:4] for run in _HAN_RUN.findall(title)]
    ordered = [*latin, *han] if lang == EN else [*han, *latin]
    return ordered[0] if ordered else None
