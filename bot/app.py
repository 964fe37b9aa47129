"""The composition root: settings and store in, a running python-telegram-bot Application out."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from telegram import Update
from telegram.error import Conflict, TelegramError
from telegram.ext import Application, ApplicationBuilder, Defaults, ExtBot, TypeHandler

from bot.chat_order import PerChatOrder
from bot.config import Settings
from bot.flood import FloodControl, FloodLimits, Pacing
from bot.handlers import register, set_commands
from bot.health import UpdatesWatch, WatchedRequest
from bot.instance import InstanceLock
from bot.jobs import beat_now, schedule
from bot.publisher import Retries
from bot.publishing import sync
from bot.services import BotContext, Services, attach, context_types, services_of
from bot.store import Store

log = logging.getLogger(__name__)

App = Application[Any, Any, Any, Any, Any, Any]
RECEIVED = -3  # before the guards: every update counts as received


def build_bot(settings: Settings, *, flood: FloodLimits | None = None) -> ExtBot[Pacing]:
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
    watch = UpdatesWatch()
    app = (
        ApplicationBuilder()
        .token(settings.require_token())
        .base_url(base_url)
        .base_file_url(file_url)
        .context_types(context_types())
        .rate_limiter(FloodControl(flood))
        # A long poll torn down mid-flight can keep PTB's single getUpdates connection
        # checked out, silently stopping the bot from receiving updates; leave headroom.
        .get_updates_request(WatchedRequest(watch, connection_pool_size=4))
        # Concurrent across chats, in order within one: a busy group never holds up others.
        .concurrent_updates(PerChatOrder())
        .defaults(Defaults(allow_sending_without_reply=True))
        .build()
    )
    attach(app, Services.create(settings, store, app.bot, retries=retries, watch=watch))
    assert app.job_queue is not None, "python-telegram-bot[job-queue] is required"
    schedule(app.job_queue, settings.publish)
    if settings.telegram.webhook is not None:  # an update posted to us is one received
        app.add_handler(TypeHandler(Update, _received), group=RECEIVED)
    register(app, settings)
    return app


async def _received(update: Update, context: BotContext) -> None:
    context.services.watch.answered(200)


async def run(
    settings: Settings,
    *,
    stop: asyncio.Event | None = None,
    ready: Callable[[App], Awaitable[None]] | None = None,
) -> None:
    """Poll for updates and run the jobs until SIGINT/SIGTERM (or `stop`) arrives; `ready`
    is awaited once the application is serving (the demo posts its first digest there)."""
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
            await app.updater.start_polling(
                allowed_updates=Update.ALL_TYPES, error_callback=_polling_failed(app)
            )
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
            if app.updater.running:
                await app.updater.stop()
            await app.stop()


def _polling_failed(app: App) -> Callable[[TelegramError], None]:
    """One line per failed long poll (the log collapses repeats), never the traceback or
    the body of an error page; another instance polling with this token is reported."""
    services = services_of(app)

    def failed(error: TelegramError) -> None:
        if isinstance(error, Conflict):
            log.error("another bot is polling with this token: %s", error.message)
            app.create_task(
                services.reports.report(
                    "conflict",
                    "另一个程序正在用同一个令牌运行 / another instance polls with this token: "
                    "both would post every digest. Stop one of them.",
                )
            )
            return
        # PTB quotes an unparsable answer (an HTML error page) in the message: cut it off.
        reason = error.message.split(". Parsing the server response")[0][:200]
        log.warning("polling for updates failed: %s: %s", type(error).__name__, reason)

    return failed


async def _prepare(app: App) -> None:
    """Start-up work before updates flow (PTB calls post_init only from run_polling)."""
    services = services_of(app)
    await beat_now(app)  # `health` sees the process from its first second
    await _resolve_targets(app, services.settings)
    await sync(services)
    await set_commands(app, services.settings)


async def _resolve_targets(app: App, settings: Settings) -> None:
    """Learn the ids of targets given as @username, so that posts to the name and replies
    to the id are counted in one flood budget (Telegram counts the chat, not the name)."""
    flood = app.bot.rate_limiter
    if not isinstance(flood, FloodControl):
        return
    for target in settings.publish.targets:
        if isinstance(target.chat, str):
            try:
                chat = await app.bot.get_chat(target.chat)
            except TelegramError as exc:  # the publication will say so, and report it
                log.warning("cannot look up %s: %s", target.chat, exc.message)
                continue
            flood.alias(target.chat, chat.id)
            log.info("%s is chat %d", target.chat, chat.id)


def _api_urls(settings: Settings) -> tuple[str, str]:
    """The Bot API's base URL and its file URL; a local Bot API server serves both."""
    base = settings.telegram.api_base_url or "https://api.telegram.org/bot"
    root = base.removesuffix("/bot")
    return base, f"{root}/file/bot"
