"""Inline mode: `@bot words` in any chat lists the matching released digests; choosing
one posts a card whose 📖 button opens the whole digest in private (a deep link)."""

from __future__ import annotations

from telegram import InlineQueryResultArticle, InputTextMessageContent, Update

from bot.handlers import views
from bot.handlers.arguments import MAX_QUERY, words
from bot.handlers.replies import entities_of
from bot.release import for_members
from bot.render import TEXT_LIMIT, Builder, append_markdown
from bot.services import BotContext
from bot.store import DigestEntry
from bot.telegram_calls import NO_PREVIEW
from bot.texts import language_of

RESULTS_PER_PAGE = 20  # Telegram takes at most 50 a page
MAX_OFFSET = 1000  # how far a client may page; past it, nothing
# Short, so a newly released digest shows up soon; the same for everyone (is_personal off).
CACHE_SECONDS = 30
_PRIVATE_CHAT_TYPES = ("private", "sender")


async def inline_query(update: Update, context: BotContext) -> None:
    """Matching digests (the newest when the query is empty), a page at a time."""
    query = update.inline_query
    if query is None:
        return
    services = context.services
    offset = _offset(query.offset)
    text = words([query.query])[:MAX_QUERY]
    shelf = for_members(services)
    if offset is None:
        entries, more = [], False
    elif text:
        found = await shelf.search.find(text, offset, RESULTS_PER_PAGE)
        entries, more = [hit.entry for hit in found.hits], found.has_more
    else:
        entries, total = await shelf.archive.page(offset, RESULTS_PER_PAGE)
        more = offset + RESULTS_PER_PAGE < total
    # The card goes into the chat the query was typed in: a group's language there.
    private = query.chat_type in _PRIVATE_CHAT_TYPES
    lang = language_of(query.from_user, services.settings.ui.language, private=private)
    results = [_result(lang, entry, context.bot.username) for entry in entries]
    following = str((offset or 0) + RESULTS_PER_PAGE) if more else None
    await query.answer(results, cache_time=CACHE_SECONDS, is_personal=False, next_offset=following)


def _result(lang: str, entry: DigestEntry, bot_username: str) -> InlineQueryResultArticle:
    (card, *_) = views.digest_card(lang, entry).messages(TEXT_LIMIT)
    return InlineQueryResultArticle(
        id=entry.slug,  # slugs fit the 64 bytes of a result id (and of a deep link)
        title=entry.title,
        description=_description(entry),
        input_message_content=InputTextMessageContent(
            card.text, entities=entities_of(card), link_preview_options=NO_PREVIEW
        ),
        reply_markup=views.card_keyboard(lang, bot_username, entry.slug),
        # Telegram fetches a thumbnail by URL; a cover in a local file has none to give.
        thumbnail_url=entry.cover if entry.cover and _is_web(entry.cover) else None,
    )


def _is_web(url: str) -> bool:
    return url.startswith(("https://", "http://"))


def _description(entry: DigestEntry) -> str:
    """The date and the summary's first point, as plain text for the result list."""
    summary = Builder()
    append_markdown(summary, entry.summary)
    plain = "\n".join(message.text for message in summary.messages(TEXT_LIMIT))
    lines = [line.strip("•· ") for line in plain.splitlines() if line.strip()]
    return " · ".join([entry.date.isoformat(), *lines[:1]])


def _offset(raw: str) -> int | None:
    """The page a client asks for: the offset we gave it, or None for anything else."""
    if not raw:
        return 0
    if not raw.isdigit() or len(raw) > 6:
        return None
    value = int(raw)
    return value if value <= MAX_OFFSET and value % RESULTS_PER_PAGE == 0 else None
