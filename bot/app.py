"""The composition root: settings and store in, a running python-telegram-bot Application out."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, Defaults, ExtBot

from bot.config import Settings
from bot.flood import FloodControl, FloodLimits
from bot.handlers import register, set_commands
from bot.instance import InstanceLock
from bot.jobs import beat_now, schedule
from bot.publisher import Retries
from bot.publishing import sync
from bot.services import Services, attach, context_types, services_of
from bot.store import Store

log = logging.getLogger(__name__)

App = Application[Any, Any, Any, Any, Any, Any]


def build_bot(settings: Settings, *, flood: FloodLimits | None = None) -> ExtBot[None]:
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
) -> App:
    """Every handler and job wired to one set of services; nothing is started yet."""
    base_url, file_url = _api_urls(settings)
    app = (
        ApplicationBuilder()
        .token(settings.require_token())
        .base_url(base_url)
        .base_file_url(file_url)
        .context_types(context_types())
        .rate_limiter(FloodControl(flood))
        # A long poll torn down mid-flight can keep PTB's single getUpdates connection
        # checked out, silently stopping the bot from receiving updates; leave headroom.
        .get_updates_connection_pool_size(4)
        # A slow answer (a full digest is paced at 1 message/s) must not hold up others.
        .concurrent_updates(16)
        .defaults(Defaults(allow_sending_without_reply=True))
        .build()
    )
    attach(app, Services.create(settings, store, app.bot, retries=retries))
    assert app.job_queue is not None, "python-telegram-bot[job-queue] is required"
    schedule(app.job_queue, settings.publish)
    register(app, settings)
    return app


async def run(
    settings: Settings,
    *,
    stop: asyncio.Event | None = None,
    ready: Callable[[App], Awaitable[None]] | None = None,
) -> None:
    """Poll for updates and run the jobs until SIGINT/SIGTERM (or `stop`) arrives;
    `ready` is awaited once the bot is serving."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    with InstanceLock.acquire(settings.storage.path):
        async with (
            await Store.open(settings.storage.path) as store,
            serving(build_app(settings, store)) as app,
        ):
            targets = ", ".join(map(str, settings.publish.targets))
            log.info("running as @%s; posting to %s", app.bot.username, targets)
            if ready is not None:
                await ready(app)
            await stop.wait()


@asynccontextmanager
async def serving(app: App) -> AsyncIterator[App]:
    """An application receiving updates (long polling or a webhook, as configured) and
    running its jobs for the duration of the block."""
    webhook = services_of(app).settings.telegram.webhook
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


async def _prepare(app: App) -> None:
    """Start-up work before updates flow (PTB calls post_init only from run_polling)."""
    services = services_of(app)
    await beat_now(app)  # publishing's: `health` sees the process from its first second
    await sync(services)
    await set_commands(app, services.settings)


def _api_urls(settings: Settings) -> tuple[str, str]:
    """The Bot API's base URL and its file URL; a local Bot API server serves both."""
    base = settings.telegram.api_base_url or "https://api.telegram.org/bot"
    root = base.removesuffix("/bot")
    return base, f"{root}/file/bot"
