"""A whole digest in a chat, exactly as it was posted; in private, as members browse:
a new request stops the unfinished delivery, "typing…" shows while the parts arrive,
and ◀ older · archive · newer ▶ follow the last part."""

from __future__ import annotations

import logging
import math
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ChatAction
from telegram.error import TelegramError

from bot.digest import DigestError
from bot.handlers import views
from bot.handlers.replies import answer, language, say
from bot.release import for_members
from bot.render import api_calls
from bot.services import BotContext, Services
from bot.store import DigestEntry
from bot.telegram_calls import send_with_fallback

log = logging.getLogger(__name__)


async def full_digest(
    update: Update, context: BotContext, entry: DigestEntry, *, deep_link: bool = False
) -> None:
    """The whole digest in the member's private chat. Only machine-like use (more than
    `browsing.DIGESTS_PER_MINUTE` a minute) is slowed; a deep link always delivers."""
    user, chat = update.effective_user, update.effective_chat
    if chat is None or user is None:
        return
    services = context.services
    wait = services.browsing.digests.take(user.id, always=deep_link)
    if wait:
        await answer(update, context, "digests_too_fast", seconds=math.ceil(wait))
        return
    if update.callback_query is not None:
        await update.callback_query.answer()
    older, newer = await for_members(services).archive.neighbours(entry)
    keyboard = views.digest_navigation(language(update, context), older, newer)

    async def deliver() -> None:
        await send_digest(update, context, entry, keyboard=keyboard)

    # Beside the chat's queue (updates of one chat are handled in order), so that the
    # member's next request is read at once and can stop this delivery.
    context.application.create_task(
        services.browsing.deliveries.run((user.id, chat.id), deliver), update=update
    )


async def send_digest(
    update: Update,
    context: BotContext,
    entry: DigestEntry,
    *,
    keyboard: InlineKeyboardMarkup | None = None,
) -> None:
    """The digest as it was posted, in the update's chat and forum topic, `keyboard`
    under its last part, "typing…" shown while more parts are on their way."""
    chat = update.effective_chat
    message = update.effective_message
    if chat is None:
        return
    calls = await posted_calls(context.services, entry)
    if calls is None:
        await say(update, context, "digest_unreadable")
        return
    thread = message.message_thread_id if message and message.is_topic_message else None
    async with context.services.gate.shared(chat.id) as sent:  # after any publication
        for index, call in enumerate(calls):
            last = index == len(calls) - 1
            if not last:
                await _typing(context, chat.id, thread)
            markup = keyboard if last else None
            await sent(
                await send_with_fallback(
                    context.bot, call, chat.id, thread_id=thread, reply_markup=markup
                )
            )


async def posted_calls(services: Services, entry: DigestEntry) -> list[dict[str, Any]] | None:
    """The calls the ledger recorded when the digest went to the (first) group, so that
    members see exactly what was posted; rendered from the file if it was not posted."""
    first = services.settings.publish.targets[0]
    posted = await services.ledger.publication(entry.slug, first.chat, first.thread_id)
    if posted is not None and posted.done and posted.content_hash == entry.content_hash:
        return [part.payload for part in posted.parts]
    try:
        digest = await services.load_digest(entry.path)
    except DigestError as exc:
        log.warning("cannot show %s: %s", entry.slug, exc)
        return None
    return api_calls(services.render(digest).messages)


async def _typing(context: BotContext, chat_id: int, thread_id: int | None) -> None:
    """Show "typing…" until the next part arrives; it is a courtesy, so failing is fine."""
    try:
        await context.bot.send_chat_action(chat_id, ChatAction.TYPING, message_thread_id=thread_id)
    except TelegramError as exc:
        log.debug("no typing action in %s: %s", chat_id, exc)
