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
from typing import Any

from telegram import Bot, Message
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError

from bot.config import Target
from bot.digest import Digest
from bot.flood import retry_seconds
from bot.logs import redact
from bot.render import api_calls, render_digest
from bot.reports import AdminReports
from bot.store.ledger import Ledger, Publication
from bot.telegram_calls import edit_call, fallback, send_call

log = logging.getLogger(__name__)


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
    refused: str | None = None  # the reason; nothing was changed in the chat


class DeliveryError(Exception):
    """A part that could not be delivered now; the publication stays pending."""


class Publisher:
    """Sends rendered digests through an ExtBot whose rate limiter paces every request."""

    def __init__(
        self,
        bot: Bot,
        ledger: Ledger,
        *,
        reports: AdminReports | None = None,
        max_messages: int = 20,
        retries: Retries | None = None,
    ) -> None:
        self.bot = bot
        self.ledger = ledger
        self.reports = reports
        self.max_messages = max_messages
        self.retries = retries or Retries()
        # Jobs, /publish and the CLI may ask at once; one publication at a time per process.
        self._lock = asyncio.Lock()

    async def publish(self, digest: Digest, target: Target, *, force: bool = False) -> Outcome:
        """Post a digest unless the ledger says it was posted; `force` starts a new round."""
        rendering = render_digest(digest, max_messages=self.max_messages)
        async with self._lock:
            publication = await self.ledger.start_publication(
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
            posted = await self.ledger.publication(digest.slug, target.chat, target.thread_id)
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
                    await edit_call(self.bot, call, target.chat, part.message_id)
                except BadRequest as exc:
                    if "not modified" not in exc.message.lower():
                        return Correction(edited, refused=self._describe(exc))
                edited += 1
                log.info("corrected %s part %d in %s", digest.slug, part.idx + 1, target)
            await self.ledger.record_correction(posted.id, digest.content_hash, calls)
            return Correction(edited, len(calls) - edited)

    async def resume(self, publication: Publication) -> Outcome:
        """Send the parts Telegram has not confirmed yet, in order."""
        async with self._lock:
            latest = await self.ledger.publication(
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
        return redact(error.message, self.bot.token)

    async def _send(self, payload: dict[str, Any], target: Target) -> Message:
        return await send_call(
            self.bot,
            payload,
            target.chat,
            thread_id=target.thread_id,
            read_timeout=self.retries.read_timeout,
        )


def _shape(call: dict[str, Any]) -> tuple[str, str | None]:
    """What an edit cannot change: the kind of message and its photo."""
    return call["method"], call.get("photo")


def _content(call: dict[str, Any]) -> tuple[object, ...]:
    return tuple(call.get(key) for key in ("text", "entities", "caption", "caption_entities"))
