"""Posting a digest to a chat: in order, exactly once, resumable after any crash.

The ledger in the store is the source of truth. A publication's Bot API calls are
rendered once and stored; each part is marked sent, with its message id, only after
Telegram confirmed it. A restart resumes at the first unconfirmed part, so the only
possible duplicate is a part that was in flight when the process died.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from telegram import Bot, InlineKeyboardMarkup, LinkPreviewOptions, Message, MessageEntity
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError

from bot.config import Target
from bot.digest import Digest
from bot.flood import retry_seconds
from bot.render import api_calls, render_digest
from bot.store import Publication, Store

if TYPE_CHECKING:
    from bot.reports import AdminReports

log = logging.getLogger(__name__)

# Errors about the chat itself: resending anything in any form cannot help.
_CHAT_ERRORS = (
    "chat not found",
    "thread not found",
    "topic_closed",
    "topic closed",
    "not enough rights",
    "have no rights",
    "chat_write_forbidden",
    "need administrator rights",
)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one call to `publish` or `resume` achieved."""

    publication: Publication
    sent: int
    error: str | None = None

    @property
    def done(self) -> bool:
        return self.publication.done


@dataclass(frozen=True, slots=True)
class Retries:
    """How long a part keeps trying through network faults before the publication pauses."""

    attempts: int = 8
    first_delay: float = 1.0
    max_delay: float = 60.0
    read_timeout: float = 30.0  # Telegram fetches a cover URL before it answers

    def delay(self, attempt: int) -> float:
        return min(self.first_delay * 2 ** (attempt - 1), self.max_delay)


@dataclass(frozen=True, slots=True)
class Correction:
    """What `correct` did: messages edited in place, or why it could not edit."""

    edited: int = 0
    unchanged: int = 0
    refused: str | None = None  # the reason; nothing was changed in the chat


class DeliveryError(Exception):
    """A part that could not be delivered now; the publication stays pending."""


class Publisher:
    """Sends rendered digests through an ExtBot whose rate limiter paces every request."""

    def __init__(
        self,
        bot: Bot,
        store: Store,
        *,
        reports: AdminReports | None = None,
        max_messages: int = 20,
        retries: Retries | None = None,
    ) -> None:
        self.bot = bot
        self.store = store
        self.reports = reports
        self.max_messages = max_messages
        self.retries = retries or Retries()
        # Jobs, /publish and the CLI may ask at once; one publication at a time per process.
        self._lock = asyncio.Lock()

    async def publish(self, digest: Digest, target: Target, *, force: bool = False) -> Outcome:
        """Post a digest unless the ledger says it was posted; `force` starts a new round."""
        rendering = render_digest(digest, max_messages=self.max_messages)
        async with self._lock:
            publication = await self.store.start_publication(
                digest.slug,
                digest.content_hash,
                target.chat,
                target.thread_id,
                api_calls(rendering.messages),
                force=force,
            )
            return await self._resume(publication)

    async def correct(self, digest: Digest, target: Target) -> Correction:
        """Edit the posted messages to match the file, when it still renders as the same
        number and kinds of messages; otherwise change nothing and say why."""
        calls = api_calls(render_digest(digest, max_messages=self.max_messages).messages)
        async with self._lock:
            posted = await self.store.publication(digest.slug, target.chat, target.thread_id)
            if posted is None or not posted.done:
                return Correction(refused="it has not been published there completely")
            old = [part.payload for part in posted.parts]
            if len(old) != len(calls):
                return Correction(refused=f"it is now {len(calls)} messages, not {len(old)}")
            if [_shape(c) for c in old] != [_shape(c) for c in calls]:
                return Correction(refused="its cover image or message layout changed")
            edited = 0
            for part, call in zip(posted.parts, calls, strict=True):
                if _content(part.payload) == _content(call):
                    continue
                assert part.message_id is not None
                try:
                    await self._edit(call, target, part.message_id)
                except BadRequest as exc:
                    if "not modified" not in exc.message.lower():
                        return Correction(edited, refused=self._describe(exc))
                edited += 1
                log.info("corrected %s part %d in %s", digest.slug, part.idx + 1, target)
            await self.store.record_correction(posted.id, digest.content_hash, calls)
            return Correction(edited, len(calls) - edited)

    async def _edit(self, call: dict[str, Any], target: Target, message_id: int) -> None:
        photo = call["method"] == "sendPhoto"
        text = call["caption" if photo else "text"]
        entities = ptb_entities(call.get("caption_entities" if photo else "entities"))
        if photo:
            try:
                await self.bot.edit_message_caption(
                    chat_id=target.chat,
                    message_id=message_id,
                    caption=text,
                    caption_entities=entities,
                )
                return
            except BadRequest as exc:  # the cover went out as text when the image was refused
                if "no caption" not in exc.message.lower():
                    raise
        await self.bot.edit_message_text(
            chat_id=target.chat,
            message_id=message_id,
            text=text,
            entities=entities,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        )

    async def resume(self, publication: Publication) -> Outcome:
        """Send the parts Telegram has not confirmed yet, in order."""
        async with self._lock:
            latest = await self.store.publication(
                publication.slug, publication.chat, publication.thread_id
            )
            return await self._resume(latest or publication)

    async def _resume(self, publication: Publication) -> Outcome:
        target = Target(publication.chat, publication.thread_id)
        sent = 0
        for part in publication.parts:
            if part.message_id is not None:
                continue
            try:
                message = await self._deliver(part.payload, target)
            except DeliveryError as exc:
                reason = f"part {part.idx + 1}/{len(publication.parts)}: {exc}"
                await self.store.mark_attempt_failed(publication.id, reason)
                log.error("publication of %s to %s paused: %s", publication.slug, target, reason)
                if self.reports is not None:
                    await self.reports.report(
                        f"publication {publication.slug} {target}",
                        f"日报发布暂停 / publication paused: {publication.slug} → {target}\n"
                        "会自动重试 / it will be retried automatically.",
                        reason,
                    )
                latest = await self.store.publication(
                    publication.slug, publication.chat, publication.thread_id
                )
                return Outcome(latest or publication, sent, reason)
            publication = await self.store.mark_part_sent(
                publication.id, part.idx, message.message_id
            )
            sent += 1
            log.info(
                "posted %s part %d/%d to %s as message %d",
                publication.slug,
                part.idx + 1,
                len(publication.parts),
                target,
                message.message_id,
            )
        return Outcome(publication, sent)

    async def _deliver(self, payload: dict[str, Any], target: Target) -> Message:
        """One part, through flood waits and network faults, degrading its form if refused."""
        failures = 0
        while True:
            try:
                return await self._send(payload, target)
            except RetryAfter as exc:  # the flood control already waited and retried; again
                await asyncio.sleep(retry_seconds(exc.retry_after))
            except BadRequest as exc:
                fallback = _fallback(payload, exc)
                if fallback is None:
                    raise DeliveryError(self._describe(exc)) from exc
                log.warning(
                    "Telegram refused a %s (%s): resending as %s",
                    payload["method"],
                    exc.message,
                    fallback["method"],
                )
                payload = fallback
            except NetworkError as exc:  # timeouts, dropped connections, 5xx
                failures += 1
                if failures >= self.retries.attempts:
                    raise DeliveryError(f"network: {self._describe(exc)}") from exc
                delay = self.retries.delay(failures)
                log.warning("network fault (%s): retrying in %.0f s", exc.message, delay)
                await asyncio.sleep(delay)
            except TelegramError as exc:  # Forbidden, an invalid token, ...
                raise DeliveryError(self._describe(exc)) from exc

    def _describe(self, error: TelegramError) -> str:
        """An error's text for the ledger and the admins; a URL in it may carry the token."""
        return error.message.replace(self.bot.token, "<token>")

    async def _send(self, payload: dict[str, Any], target: Target) -> Message:
        return await send_call(
            self.bot,
            payload,
            target.chat,
            thread_id=target.thread_id,
            read_timeout=self.retries.read_timeout,
        )


async def send_call(
    bot: Bot,
    payload: dict[str, Any],
    chat_id: int | str,
    *,
    thread_id: int | None = None,
    reply_markup: InlineKeyboardMarkup | None = None,
    read_timeout: float | None = None,
) -> Message:
    """Make one call in the `render --json` format; the one place that maps it onto PTB."""
    common: dict[str, Any] = {
        "chat_id": chat_id,
        "message_thread_id": thread_id,
        "disable_notification": payload.get("disable_notification", False),
        "reply_markup": reply_markup,
    }
    if read_timeout is not None:
        common["read_timeout"] = read_timeout
    if payload["method"] == "sendPhoto":
        photo = payload["photo"]
        return await bot.send_photo(
            photo=photo if photo.startswith(("http://", "https://")) else Path(photo),
            caption=payload["caption"],
            caption_entities=ptb_entities(payload.get("caption_entities")),
            **common,
        )
    return await bot.send_message(
        text=payload["text"],
        entities=ptb_entities(payload.get("entities")),
        link_preview_options=LinkPreviewOptions(is_disabled=True),
        **common,
    )


def _shape(call: dict[str, Any]) -> tuple[str, str | None]:
    """What an edit cannot change: the kind of message and its photo."""
    return call["method"], call.get("photo")


def _content(call: dict[str, Any]) -> tuple[object, ...]:
    return tuple(call.get(key) for key in ("text", "entities", "caption", "caption_entities"))


def ptb_entities(raw: list[dict[str, Any]] | None) -> list[MessageEntity] | None:
    """Entities in the `render --json` form as python-telegram-bot objects."""
    return [MessageEntity(**entity) for entity in raw] if raw else None


async def send_with_fallback(
    bot: Bot,
    payload: dict[str, Any],
    chat_id: int | str,
    *,
    thread_id: int | None = None,
    reply_markup: InlineKeyboardMarkup | None = None,
) -> Message:
    """One call, once, in a simpler form if Telegram refuses it (for replies to users)."""
    try:
        return await send_call(
            bot, payload, chat_id, thread_id=thread_id, reply_markup=reply_markup
        )
    except BadRequest as exc:
        simpler = _fallback(payload, exc)
        if simpler is None:
            raise
        return await send_call(
            bot, simpler, chat_id, thread_id=thread_id, reply_markup=reply_markup
        )


def _fallback(payload: dict[str, Any], error: BadRequest) -> dict[str, Any] | None:
    """A simpler form of a refused part: a photo becomes a text cover, text becomes plain."""
    message = error.message.lower()
    if any(reason in message for reason in _CHAT_ERRORS):
        return None
    base = {k: v for k, v in payload.items() if k == "disable_notification"}
    if payload["method"] == "sendPhoto":  # a refused cover image must not hold the digest back
        return {
            "method": "sendMessage",
            "text": payload["caption"],
            "entities": payload.get("caption_entities", []),
            **base,
        }
    if payload.get("entities"):
        return {"method": "sendMessage", "text": payload["text"], "entities": [], **base}
    return None
