"""What jobs and handlers work with, created once per running bot, and their typed context.

Handlers and jobs import this module, never `bot.app`: the composition root depends on
them, not the other way round.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telegram import Bot
from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot

from bot.browsing import Browsing
from bot.chat_gate import ChatGate
from bot.config import Settings
from bot.cooldown import Cooldowns
from bot.digest import Digest, load_digest
from bot.flood import Pacing
from bot.health import UpdatesWatch
from bot.publisher import Publisher, Retries
from bot.render import Rendering, render_with
from bot.reports import AdminReports
from bot.store import Archive, Ledger, Members, Search, Store

SERVICES_KEY = "services"


@dataclass(frozen=True, slots=True)
class Services:
    """The settings, the store and its views, the publisher, the reports and the members'
    limits; everything with state lives here, not in module globals."""

    settings: Settings
    store: Store
    publisher: Publisher
    reports: AdminReports
    # Replies wait here while a publication holds their chat (see chat_gate.py).
    gate: ChatGate
    cooldowns: Cooldowns = field(default_factory=Cooldowns)
    # Members' private browsing: the digest being delivered to each, and their pace.
    browsing: Browsing = field(default_factory=Browsing)
    # The time now, aware; injectable so tests can stand before or after a publish time.
    clock: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.UTC))
    # Slugs being published from a button now: a second press must not start a second round.
    in_flight: set[str] = field(default_factory=set)
    # How the update stream goes, for the heartbeat and `digest-bot health`.
    watch: UpdatesWatch = field(default_factory=UpdatesWatch)

    @classmethod
    def create(
        cls,
        settings: Settings,
        store: Store,
        bot: Bot,
        *,
        retries: Retries | None = None,
        watch: UpdatesWatch | None = None,
    ) -> Services:
        """The one wiring of publisher and reports, for the running bot and the CLI alike."""
        reports = AdminReports(bot, settings.admins.user_ids)
        ledger = store.ledger

        async def record_sent(chat: int | str, message_id: int, sequential: bool) -> None:
            await ledger.note_bot_message(chat, message_id, sequential=sequential)

        gate = ChatGate(record_sent)
        publisher = Publisher(
            bot,
            ledger,
            reports=reports,
            content=settings.content,
            retries=retries,
            gate=gate,
            pin=settings.publish.pin,
        )
        return cls(settings, store, publisher, reports, gate, watch=watch or UpdatesWatch())

    @property
    def archive(self) -> Archive:
        return self.store.archive

    @property
    def search(self) -> Search:
        return self.store.search

    @property
    def ledger(self) -> Ledger:
        return self.store.ledger

    @property
    def members(self) -> Members:
        return self.store.members

    def render(self, digest: Digest) -> Rendering:
        """The digest's messages with the configured `content.*` settings."""
        return render_with(digest, self.settings.content)

    async def load_digest(self, path: Path) -> Digest:
        """A digest file with the configured limits, read off the event loop."""
        content = self.settings.content
        return await asyncio.to_thread(
            load_digest, path, content_dir=content.dir, max_bytes=content.max_bytes
        )


class BotContext(CallbackContext[ExtBot[Pacing], dict[Any, Any], dict[Any, Any], dict[str, Any]]):
    """The context every handler and job gets: `context.services` is typed."""

    @property
    def services(self) -> Services:
        services: Services = self.bot_data[SERVICES_KEY]
        return services


def context_types() -> ContextTypes[BotContext, dict[Any, Any], dict[Any, Any], dict[str, Any]]:
    return ContextTypes(context=BotContext)


def attach(app: Application[Any, Any, Any, Any, Any, Any], services: Services) -> None:
    """Make `services` what `BotContext.services` returns for this application."""
    app.bot_data[SERVICES_KEY] = services


def services_of(app: Application[Any, Any, Any, Any, Any, Any]) -> Services:
    services: Services = app.bot_data[SERVICES_KEY]
    return services
