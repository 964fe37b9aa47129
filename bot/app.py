"""The composition root: settings and store in, a running python-telegram-bot Application out."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, Defaults, ExtBot

from bot.config import Settings
from bot.digest import Digest, load_digest
from bot.flood import FloodControl, FloodLimits
from bot.handlers import register, set_commands
from bot.jobs import schedule, sync
from bot.publisher import Publisher, Retries
from bot.reports import AdminReports
from bot.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Services:
    """What jobs and handlers work with; created once per process."""

    settings: Settings
    store: Store
    publisher: Publisher
    reports: AdminReports

    async def load_digest(self, path: Path) -> Digest:
        """A digest file with the configured limits, read off the event loop."""
        content = self.settings.content
        return await asyncio.to_thread(
            load_digest, path, content_dir=content.dir, max_bytes=content.max_bytes
        )


def build_bot(settings: Settings, *, flood: FloodLimits | None = None) -> ExtBot:
    """A bot for one-off work (the CLI's publish), paced like the running bot."""
    base_url, file_url = _api_urls(settings)
    return ExtBot(
        settings.require_token(),
        base_url=base_url,
        base_file_url=file_url,
        rate_limiter=FloodControl(flood),
    )


def build_app(
    settings: Settings,
    store: Store,
    *,
    flood: FloodLimits | None = None,
    retries: Retries | None = None,
) -> Application:
    builder = (
        ApplicationBuilder()
        .token(settings.require_token())
        .rate_limiter(FloodControl(flood))
        # A long poll torn down mid-flight can keep PTB's single getUpdates connection
        # checked out, silently stopping the bot from receiving updates; leave headroom.
        .get_updates_connection_pool_size(4)
        # A slow answer (a full digest is paced at 1 message/s) must not hold up others.
        .concurrent_updates(16)
        .defaults(Defaults(allow_sending_without_reply=True))
    )
    base_url, file_url = _api_urls(settings)
    builder = builder.base_url(base_url).base_file_url(file_url)
    app = builder.build()
    reports = AdminReports(app.bot, settings.admins.user_ids)
    publisher = Publisher(
        app.bot,
        store,
        reports=reports,
        max_messages=settings.content.max_messages,
        retries=retries,
    )
    services = Services(settings, store, publisher, reports)
    app.bot_data["services"] = services
    assert app.job_queue is not None, "python-telegram-bot[job-queue] is required"
    schedule(app.job_queue, services)
    register(app)
    return app


async def run(
    settings: Settings,
    *,
    stop: asyncio.Event | None = None,
    ready: Callable[[Application], Awaitable[None]] | None = None,
) -> None:
    """Poll for updates and run the jobs until SIGINT/SIGTERM (or `stop`) arrives; `ready`
    is awaited once the application is serving (the demo posts its first digest there)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    store = await Store.open(settings.storage.path, exclusive=True)
    try:
        async with serving(build_app(settings, store)) as app:
            targets = ", ".join(map(str, settings.publish.targets))
            log.info("running as @%s; posting to %s", app.bot.username, targets)
            if ready is not None:
                await ready(app)
            await stop.wait()
    finally:
        await store.close()


@asynccontextmanager
async def serving(app: Application) -> AsyncIterator[Application]:
    """An application receiving updates (long polling or a webhook, as configured) and
    running its jobs for the duration of the block."""
    webhook = app.bot_data["services"].settings.telegram.webhook
    async with app:
        await _prepare(app)
        await app.start()
        assert app.updater is not None
        if webhook is None:
            await app.updater.start_polling(allowed_updates=Update.ALL_TYPES)
        else:  # start_webhook also calls setWebhook with the URL and the secret
            await app.updater.start_webhook(
                listen=webhook.listen,
                port=webhook.port,
                url_path=webhook.path,
                webhook_url=webhook.url,
                secret_token=webhook.secret,
                allowed_updates=Update.ALL_TYPES,
            )
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()


async def _prepare(app: Application) -> None:
    """Start-up work before updates flow (PTB calls post_init only from run_polling)."""
    services: Services = app.bot_data["services"]
    await sync(services.store, services.settings.content, services.reports)
    await set_commands(app, services.settings)


def _api_urls(settings: Settings) -> tuple[str, str]:
    """The Bot API's base URL and its file URL; a local Bot API server serves both."""
    base = settings.telegram.api_base_url or "https://api.telegram.org/bot"
    root = base.removesuffix("/bot")
    return base, f"{root}/file/bot"
