"""`digest-bot demo`: the real bot, long polling a local Telegram sandbox, with a chat view.

Nothing needs a token or a network: the emulator plays Telegram (as strict as in the tests),
a throw-away database lives in a temporary folder, and the newest digest is posted at once so
the first screen shows a real publication.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import tempfile
import webbrowser
from collections.abc import Coroutine, Mapping
from pathlib import Path
from typing import Any

from bot.app import App, run
from bot.config import Settings, load_settings
from bot.publishing import publish_everywhere, sync, until_settled
from bot.sandbox.telegram_api import DEFAULT_FLOOD, TelegramEmulator
from bot.sandbox.web import ChatView, Person
from bot.services import services_of

GROUP = -1001234567890
GROUP_USERNAME = "ai_news_plus"
GROUP_TITLE = "AI 新闻 Plus"
DIGEST_TOPIC = 7
TOPICS = {DIGEST_TOPIC: "Daily digest"}
ADMIN = Person(1001, "Alice", "admin")
MEMBER = Person(2002, "小明", "member")
TOKEN = "7000000001:SANDBOX-demo-token_not-a-secret"
BOT_USERNAME = "ai_news_digest_bot"
BOT_NAME = "AI 日报 Bot"
EXIT_OK, EXIT_USAGE = 0, 2

log = logging.getLogger(__name__)


def main(config: Path | None, *, port: int, open_browser: bool) -> int:
    """The demo until Ctrl-C or SIGTERM; exit status 2 when the port is taken."""
    _quiet_logs()
    return asyncio.run(demo(config, port=port, open_browser=open_browser, env=os.environ))


async def demo(
    config: Path | None, *, port: int, open_browser: bool, env: Mapping[str, str]
) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        user = load_settings(config, env=env)  # only its content and ui sections are used
        emulator = sandbox()
        view = ChatView(emulator, [MEMBER, ADMIN])
        try:
            await view.start(port)
        except OSError:
            print(f"error: port {port} is in use; try digest-bot demo --port N", file=sys.stderr)
            return EXIT_USAGE
        try:
            await emulator.start()
            with tempfile.TemporaryDirectory(prefix="digest-bot-demo-") as folder:
                settings = demo_settings(user, emulator, Path(folder))

                async def ready(app: App) -> None:
                    print(f"Telegram sandbox: {view.url}  (Ctrl-C to stop)", flush=True)
                    if open_browser:
                        await asyncio.to_thread(webbrowser.open, view.url)
                    await _until_stopped(post_newest(app), stop)

                await run(settings, stop=stop, ready=ready)
        finally:
            await view.stop()
            await emulator.stop()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    print("sandbox stopped", flush=True)
    return EXIT_OK


def sandbox() -> TelegramEmulator:
    """The emulator seeded with the group (a forum with its digest topic), an admin and a
    member, and their private chats with the bot."""
    emulator = TelegramEmulator(
        TOKEN, bot_username=BOT_USERNAME, bot_name=BOT_NAME, flood=DEFAULT_FLOOD
    )
    emulator.add_chat(
        GROUP,
        type="supergroup",
        username=GROUP_USERNAME,
        title=GROUP_TITLE,
        is_forum=True,
        topics=TOPICS,
        admins=[ADMIN.id],
    )
    for person in (MEMBER, ADMIN):
        emulator.add_chat(person.id, type="private", first_name=person.name)
    return emulator


def demo_settings(user: Settings, emulator: TelegramEmulator, folder: Path) -> Settings:
    """The bot's settings: the sandbox as Telegram, a database in `folder`, and the user's
    content folder and ui choices."""
    content, ui = user.content, user.ui
    config = folder / "config.toml"
    config.write_text(
        f"""[telegram]
token = {json.dumps(emulator.token)}
api_base_url = {json.dumps(emulator.base_url)}
[publish]
chat = "@{GROUP_USERNAME}"
thread_id = {DIGEST_TOPIC}
[content]
dir = {json.dumps(str(content.dir.resolve()))}
max_bytes = {content.max_bytes}
max_messages = {content.max_messages}
[storage]
path = {json.dumps(str(folder / "demo.sqlite3"))}
[admins]
user_ids = [{ADMIN.id}]
[ui]
language = {json.dumps(ui.language)}
group_latest = {json.dumps(ui.group_latest)}
""",
        encoding="utf-8",
    )
    return load_settings(config, env={})


async def post_newest(app: App) -> None:
    """Posts the newest digest to every target now, whatever its date (the demo only),
    through the same path as /publish."""
    services = services_of(app)
    # A fresh clone's files are as new as the clone: wait until they count as whole.
    await until_settled(services, await sync(services))
    entry = await services.archive.latest()
    if entry is None:
        return
    await publish_everywhere(services, await services.load_digest(entry.path))


async def _until_stopped(work: Coroutine[Any, Any, None], stop: asyncio.Event) -> None:
    """Runs `work` unless Ctrl-C comes first, so stopping never waits for a publication."""
    task = asyncio.create_task(work)
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    for pending in (task, stopping):
        pending.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await stopping
    try:
        await task
    except asyncio.CancelledError:
        pass
    except Exception:  # the bot keeps serving; the failure is the demo's, not fatal
        log.exception("could not post the newest digest")


def _quiet_logs() -> None:
    """Warnings only: the terminal shows the address, not every request."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
