"""Reports to the admins' private chats: a failed publication, a digest file that does not
load, an unhandled error. Two parts, like python-telegram-bot's rules-bot: what happened,
then the details; at most one report per problem per hour, so a broken file or a dead
chat does not turn into a message every five minutes."""

from __future__ import annotations

import logging

from telegram import Bot
from telegram.error import BadRequest, TelegramError

from bot.cooldown import Cooldown
from bot.logs import redact
from bot.render import TEXT_LIMIT, Builder
from bot.telegram_calls import send_call

log = logging.getLogger(__name__)

REPEAT_AFTER = 3600.0
DETAILS = 3500  # the end of a traceback says the most
SHORT_DETAILS = 1000  # the fallback when Telegram refuses the full details


class AdminReports:
    """Short reports to every admin, each problem at most once per `REPEAT_AFTER`."""

    def __init__(
        self, bot: Bot, admins: frozenset[int], *, cooldown: Cooldown | None = None
    ) -> None:
        self.bot = bot
        self.admins = admins
        self.cooldown = Cooldown(REPEAT_AFTER) if cooldown is None else cooldown

    async def report(self, problem: str, headline: str, details: str = "") -> None:
        """Tell every admin, unless the same `problem` was reported within the hour."""
        if not self.admins or self.cooldown.wait(problem):
            return
        safe_details = redact(details, self.bot.token)[-DETAILS:]
        for admin in sorted(self.admins):
            try:
                await self._send(admin, headline, safe_details)
            except TelegramError as exc:  # e.g. the admin never opened a chat with the bot
                log.warning("could not report to admin %s: %s", admin, exc.message)

    async def _send(self, admin: int, headline: str, details: str) -> None:
        head = Builder()
        head.styled("bold", "⚠️ digest-bot")
        head.line(redact(headline, self.bot.token))
        await self._post(admin, head)
        if not details:
            return
        body = Builder()
        body.styled("pre", details)
        try:
            await self._post(admin, body)
        except BadRequest:
            short = Builder()
            short.write(details[-SHORT_DETAILS:])
            await self._post(admin, short)

    async def _post(self, admin: int, builder: Builder) -> None:
        first = builder.messages(TEXT_LIMIT)[0]
        await send_call(self.bot, first.api_call(), admin)
