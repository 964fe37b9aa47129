"""Posting a digest to a chat: in order, exactly once, resumable after any crash.

The ledger in the store is the source of truth. A publication's Bot API calls are
rendered once and stored; each part is marked sent, with its message id, only after
Telegram confirmed it. A restart resumes at the first unconfirmed part.

A part whose send may have reached Telegram without an answer (a timeout, a dropped
connection, a 5xx, a crash after the request left) is looked for before it is sent
again: in a supergroup or channel message ids count up, and nothing else of the bot's
is sent to the chat while a publication holds it (chat_gate.py), so the part can only
be at an id just after the last bot message known there. An edit that changes nothing
answers "message is not modified" exactly when that id holds the bot's message with
exactly that text or caption, and changes nothing; any other answer means "not here".
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from telegram import Bot, Message
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError

from bot.chat_gate import SEQUENTIAL_CHATS, ChatGate
from bot.config import ContentSettings, Target
from bot.digest import Digest
from bot.flood import retry_seconds
from bot.logs import redact
from bot.render import api_calls, render_with
from bot.reports import AdminReports
from bot.store.ledger import Attempt, Ledger, Part, Publication
from bot.telegram_calls import NO_PREVIEW, edit_call, fallback, ptb_entities, send_call

log = logging.getLogger(__name__)

# How many ids after the last known bot message a lost part is looked for at, and after
# how many ids in a row that hold nothing the looking stops (the end of the chat).
PROBE_WINDOW = 20
PROBE_MISSING_RUN = 3


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
        return float(min(self.first_delay * 2 ** (attempt - 1), self.max_delay))


@dataclass(frozen=True, slots=True)
class Correction:
    """What `correct` did: messages edited in place, or why it could not edit."""

    edited: int = 0
    unchanged: int = 0
    refused: str | None = None  # the reason, in English (the CLI, the log)
    # The same reason for texts.py: the key of `refused_<why>` and its values.
    why: str | None = None
    details: tuple[tuple[str, object], ...] = ()


class DeliveryError(Exception):
    """A part that could not be delivered now; the publication stays pending."""


class Publisher:
    """Sends rendered digests through an ExtBot whose rate limiter paces every request."""

    def __init__(
        self,
        bot: Bot,
        ledger: Ledger,
        *,
        content: ContentSettings,
        reports: AdminReports | None = None,
        retries: Retries | None = None,
        gate: ChatGate | None = None,
        pin: bool = False,
    ) -> None:
        self.bot = bot
        self.ledger = ledger
        self.reports = reports
        # How digests are rendered: the configured content settings, as everywhere else.
        self.content = content
        self.retries = retries or Retries()
        self.gate = gate or ChatGate()
        self.pin = pin
        # Jobs, /publish and the CLI may ask at once; one publication at a time per process.
        self._lock = asyncio.Lock()
        # @username → the chat's id, as replies (and so the gate and the ledger) know it.
        self._chat_ids: dict[str, int | str] = {}
        self._pin_refused: set[str] = set()

    async def publish(
        self, digest: Digest, target: Target, *, force: bool = False, by: str = "schedule"
    ) -> Outcome:
        """Post a digest unless the ledger says it was posted; `force` starts a new round."""
        rendering = render_with(digest, self.content)
        async with self._lock:
            chat = await self._chat_id(target)
            async with self.gate.exclusive(chat):
                publication = await self.ledger.start_publication(
                    digest.slug,
                    digest.content_hash,
                    target.chat,
                    target.thread_id,
                    api_calls(rendering.messages),
                    force=force,
                    day=digest.date,
                )
                log.info(
                    "publishing %s to %s (round %d, asked by %s)",
                    digest.slug,
                    target,
                    publication.round,
                    by,
                )
                return await self._resume(publication, chat)

    async def correct(self, digest: Digest, target: Target) -> Correction:
        """Edit the posted messages to match the file, when it still renders as the same
        number and kinds of messages; otherwise change nothing and say why."""
        calls = api_calls(render_with(digest, self.content).messages)
        async with self._lock, self.gate.exclusive(await self._chat_id(target)):
            posted = await self.ledger.publication(
                digest.slug,
                target.chat,
                target.thread_id,
                day=digest.date,
                content_hash=digest.content_hash,
            )
            if posted is None or not posted.done:
                return Correction(
                    refused="it has not been published there completely", why="incomplete"
                )
            old = [part.payload for part in posted.parts]
            if len(old) != len(calls):
                return Correction(
                    refused=f"it is now {len(calls)} messages, not {len(old)}",
                    why="count",
                    details=(("now", len(calls)), ("before", len(old))),
                )
            if [_shape(c) for c in old] != [_shape(c) for c in calls]:
                return Correction(refused="its cover image or message layout changed", why="layout")
            edited = 0
            for part, call in zip(posted.parts, calls, strict=True):
                if _content(part.payload) == _content(call):
                    continue
                assert part.message_id is not None
                try:
                    await edit_call(self.bot, call, target.chat, part.message_id)
                except BadRequest as exc:
                    if "not modified" not in exc.message.lower():
                        reason = self._describe(exc)
                        return Correction(
                            edited, refused=reason, why="telegram", details=(("error", reason),)
                        )
                edited += 1
                log.info("corrected %s part %d in %s", digest.slug, part.idx + 1, target)
            await self.ledger.record_correction(posted.id, digest.content_hash, calls)
            return Correction(edited, len(calls) - edited)

    async def resume(self, publication: Publication) -> Outcome:
        """Send the parts Telegram has not confirmed yet, in order."""
        target = Target(publication.chat, publication.thread_id)
        async with self._lock:
            chat = await self._chat_id(target)
            async with self.gate.exclusive(chat):
                latest = await self.ledger.publication(
                    publication.slug, publication.chat, publication.thread_id
                )
                log.info("resuming %s in %s", publication.slug, target)
                return await self._resume(latest or publication, chat)

    async def _resume(self, publication: Publication, chat: int | str) -> Outcome:
        """Holding the chat's gate: send what is missing, in order."""
        target = Target(publication.chat, publication.thread_id)
        sent = 0
        for part in publication.parts:
            if part.message_id is not None:
                continue
            try:
                message_id, sequential = await self._deliver(publication, part, target, chat)
            except DeliveryError as exc:
                reason = f"part {part.idx + 1}/{len(publication.parts)}: {exc}"
                await self.ledger.mark_attempt_failed(publication.id, reason)
                log.error("publication of %s to %s paused: %s", publication.slug, target, reason)
                if self.reports is not None:
                    await self.reports.report(
                        f"publication {publication.slug} {target}",
                        f"日报发布暂停 / publication paused: {publication.slug} → {target}\n"
                        "会自动重试 / it will be retried automatically.",
                        reason,
                    )
                latest = await self.ledger.publication(
                    publication.slug, publication.chat, publication.thread_id
                )
                return Outcome(latest or publication, sent, reason)
            publication = await self.ledger.mark_part_sent(
                publication.id, part.idx, message_id, chat=chat, sequential=sequential
            )
            sent += 1
            log.info(
                "posted %s part %d/%d to %s as message %d",
                publication.slug,
                part.idx + 1,
                len(publication.parts),
                target,
                message_id,
            )
        if publication.done and sent and self.pin:
            await self._pin(publication, chat)
        return Outcome(publication, sent)

    async def _deliver(
        self, publication: Publication, part: Part, target: Target, chat: int | str
    ) -> tuple[int, bool]:
        """One part, through flood waits and network faults, degrading its form if refused;
        never twice: a send that may have arrived is looked for before the next one.
        Returns its message id and whether ids count up in that chat."""
        if part.attempt is not None:  # sent before a crash or a pause, never confirmed
            found = await self._look_for(part.attempt, chat)
            if found is not None:
                return found, True
        payload = part.payload
        failures = 0
        while True:
            await self.ledger.start_attempt(publication.id, part.idx, payload, chat)
            try:
                message = await self._send(payload, target)
                return message.message_id, message.chat.type in SEQUENTIAL_CHATS
            except RetryAfter as exc:  # the flood control already waited and retried; again
                await self.ledger.clear_attempt(publication.id, part.idx)
                await asyncio.sleep(retry_seconds(exc.retry_after))
            except BadRequest as exc:
                await self.ledger.clear_attempt(publication.id, part.idx)
                simpler = fallback(payload, exc)
                if simpler is None:
                    raise DeliveryError(self._describe(exc)) from exc
                log.warning(
                    "Telegram refused a %s (%s): resending as %s",
                    payload["method"],
                    exc.message,
                    simpler["method"],
                )
                payload = simpler
            except NetworkError as exc:  # timeouts, dropped connections, 5xx
                # Telegram may have processed it: look before sending it again.
                attempt = await self._attempt_of(publication, part.idx)
                found = await self._look_for(attempt, chat) if attempt else None
                if found is not None:
                    return found, True
                failures += 1
                if failures >= self.retries.attempts:
                    raise DeliveryError(f"network: {self._describe(exc)}") from exc
                delay = self.retries.delay(failures)
                log.warning("network fault (%s): retrying in %.0f s", exc.message, delay)
                await asyncio.sleep(delay)
            except TelegramError as exc:  # Forbidden, an invalid token, ...
                await self.ledger.clear_attempt(publication.id, part.idx)
                raise DeliveryError(self._describe(exc)) from exc

    async def _attempt_of(self, publication: Publication, idx: int) -> Attempt | None:
        latest = await self.ledger.publication(
            publication.slug, publication.chat, publication.thread_id
        )
        if latest is None or latest.id != publication.id:
            return None
        return latest.parts[idx].attempt

    async def _look_for(self, attempt: Attempt, chat: int | str) -> int | None:
        """The id of the message an unanswered send created, if it is in the chat.

        Only in chats whose ids count up (supergroups, channels), only between the bot's
        last known message before the send and the first one after it, and only with an
        edit carrying exactly the attempted text: it changes nothing and sends nothing.
        """
        anchor = await self.ledger.anchor(chat)
        if attempt.after is None or anchor is None or not anchor.sequential:
            return None  # the floor: private chats, basic groups, a chat never posted to
        last = attempt.after + PROBE_WINDOW
        if attempt.before is not None:
            last = min(last, attempt.before - 1)
        missing = 0
        message_id = attempt.after + 1
        while message_id <= last and missing < PROBE_MISSING_RUN:
            try:
                await _probe(self.bot, attempt.payload, chat, message_id)
            except RetryAfter as exc:
                await asyncio.sleep(retry_seconds(exc.retry_after))
                continue
            except BadRequest as exc:
                answer = exc.message.lower()
                if "not modified" in answer:
                    log.info("found an unconfirmed part in %s as message %d", chat, message_id)
                    return message_id
                # Not found: deleted, or past the end of the chat; anything else: a
                # member's message, a service message or another kind of message.
                missing = missing + 1 if "not found" in answer else 0
            except NetworkError as exc:
                # Sending again now could duplicate the part: pause and look again later.
                raise DeliveryError(f"network: {self._describe(exc)}") from exc
            else:  # cannot happen while the gate holds the chat; said loudly if it does
                log.error("a probe edited message %d in %s", message_id, chat)
                return message_id
            message_id += 1
        return None

    async def _chat_id(self, target: Target) -> int | str:
        """The chat's id as Telegram gives it in updates: the gate's and anchors' key."""
        chat = target.chat
        if isinstance(chat, int) or not chat.startswith("@"):
            return int(chat)
        key = chat.lower()
        if key not in self._chat_ids:
            try:
                self._chat_ids[key] = (await self.bot.get_chat(chat)).id
            except TelegramError as exc:  # the send will say what is wrong with the chat
                log.warning("cannot look up %s: %s", chat, self._describe(exc))
                return key
        return self._chat_ids[key]

    async def _pin(self, publication: Publication, chat: int | str) -> None:
        """Pin the new cover silently and unpin the previous one; never fatal."""
        cover = publication.parts[0].message_id
        assert cover is not None
        try:
            await self.bot.pin_chat_message(chat, cover, disable_notification=True)
            previous = await self.ledger.previous_cover(publication)
            if previous is not None and previous != cover:
                await self.bot.unpin_chat_message(chat, previous)
        except TelegramError as exc:
            reason = self._describe(exc)
            log.warning("cannot pin the cover of %s in %s: %s", publication.slug, chat, reason)
            key = str(chat)
            if self.reports is not None and key not in self._pin_refused:
                self._pin_refused.add(key)
                await self.reports.report(
                    f"pin {key}",
                    f"无法置顶日报封面 / cannot pin the digest's cover: {publication.chat}\n"
                    "请给机器人置顶消息的权限，或设 publish.pin = false / give the bot the "
                    "right to pin messages, or set publish.pin = false.",
                    reason,
                )

    def _describe(self, error: TelegramError) -> str:
        """An error's text for the ledger and the admins; a URL in it may carry the token."""
        return redact(error.message, self.bot.token)

    async def _send(self, payload: dict[str, Any], target: Target) -> Message:
        return await send_call(
            self.bot,
            payload,
            target.chat,
            thread_id=target.thread_id,
            read_timeout=self.retries.read_timeout,
        )


async def _probe(bot: Bot, call: dict[str, Any], chat: int | str, message_id: int) -> None:
    """An edit to exactly what `call` sent, in the form it was sent: a photo's caption or
    a message's text, with its entities (and, for text, the same link preview)."""
    if call["method"] == "sendPhoto":
        await bot.edit_message_caption(
            chat_id=chat,
            message_id=message_id,
            caption=call["caption"],
            caption_entities=ptb_entities(call.get("caption_entities")),
        )
        return
    await bot.edit_message_text(
        chat_id=chat,
        message_id=message_id,
        text=call["text"],
        entities=ptb_entities(call.get("entities")),
        link_preview_options=NO_PREVIEW,
    )


def _shape(call: dict[str, Any]) -> tuple[str, str | None]:
    """What an edit cannot change: the kind of message and its photo."""
    return call["method"], call.get("photo")


def _content(call: dict[str, Any]) -> tuple[object, ...]:
    return tuple(call.get(key) for key in ("text", "entities", "caption", "caption_entities"))
