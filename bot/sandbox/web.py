"""The sandbox's chat view: a Telegram-like web client for the emulator's chats.

The browser gets the chats as JSON (long polling, so new messages and edits appear without a
reload) and renders every message from its text and entities in `static/app.js`; that one
renderer also draws `digest-bot preview --html`, so an admin sees what members will see.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import html
import json
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.render import Message
from bot.sandbox.telegram_api import JSON, SentMessage, TelegramEmulator

STATIC_FILES = {
    "index.html": "text/html",
    "app.js": "text/javascript",
    "style.css": "text/css",
}
LONG_POLL_SECONDS = 20.0
ANSWER_TIMEOUT_SECONDS = 10.0  # Telegram's clients give up on a callback answer about this soon
_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/<>])")


@dataclass(frozen=True, slots=True)
class Person:
    """Someone the view can write as: a member or an admin, each with a private chat."""

    id: int
    name: str
    role: str


def static_text(name: str) -> str:
    """One of the view's own files, shipped as package data."""
    return (resources.files("bot.sandbox") / "static" / name).read_text(encoding="utf-8")


class ChatView:
    """Serves the page and the JSON it reads; writes and presses go into the emulator as
    updates, exactly as Telegram would deliver them to the bot."""

    def __init__(self, emulator: TelegramEmulator, people: Iterable[Person]) -> None:
        self.emulator = emulator
        self.people = {person.id: person for person in people}
        self.url = ""
        self._version = 0
        self._pulse = asyncio.Event()
        self._answers: dict[str, JSON] = {}
        self._closing = False
        self._runner: web.AppRunner | None = None
        emulator.observe(self._on_event)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/", self._index)
        app.router.add_get("/static/{name}", self._static)
        app.router.add_get("/api/state", self._state)
        app.router.add_post("/api/send", self._send)
        app.router.add_post("/api/press", self._press)
        return app

    async def start(self, port: int = 0) -> None:
        """Listens on 127.0.0.1:port (0: a free one); OSError if the port is taken."""
        self._runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, "127.0.0.1", port).start()
        except OSError:
            await self._runner.cleanup()
            self._runner = None
            raise
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/"

    async def stop(self) -> None:
        """Answers the browser's pending long polls, then closes the server."""
        self._closing = True
        self._wake()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- what the page reads ---

    def state(self) -> JSON:
        """Every chat with its messages (both sides, oldest first) and who can write."""
        emulator = self.emulator
        bot = {"id": emulator.bot_id, "name": emulator.bot_name, "username": emulator.bot_username}
        chats = []
        for chat in emulator.chats():
            messages = [self._bot_message(m) for m in emulator.transcript(chat["id"])]
            messages += [self._user_message(m) for m in emulator.user_messages(chat["id"])]
            messages.sort(key=lambda m: m["id"])
            owner = self.people.get(chat["id"])
            chats.append(
                {
                    "id": chat["id"],
                    "type": chat["type"],
                    "title": chat.get("title") or (owner.name if owner else chat.get("first_name")),
                    "username": chat.get("username"),
                    "is_forum": chat.get("is_forum", False),
                    "topics": [{"id": t, "name": n} for t, n in sorted(chat["topics"].items())],
                    "messages": messages,
                }
            )
        people = [dataclasses.asdict(person) for person in self.people.values()]
        return {"version": self._version, "bot": bot, "people": people, "chats": chats}

    def _bot_message(self, message: SentMessage) -> JSON:
        keyboard = (message.reply_markup or {}).get("inline_keyboard", [])
        return {
            "id": message.message_id,
            "thread": message.thread_id,
            "from": {"id": self.emulator.bot_id, "name": self.emulator.bot_name, "is_bot": True},
            "date": message.date,
            "edited": message.edited,
            "text": message.text or "",
            "entities": message.entities,
            "photo": message.photo,
            "keyboard": keyboard,
            "reply_to": message.reply_to_message_id,
        }

    def _user_message(self, message: JSON) -> JSON:
        sender = message["from"]
        return {
            "id": message["message_id"],
            "thread": message.get("message_thread_id"),
            "from": {"id": sender["id"], "name": sender["first_name"], "is_bot": False},
            "date": message["date"],
            "edited": 0,
            "text": message.get("text", ""),
            "entities": message.get("entities", []),
            "photo": None,
            "keyboard": [],
            "reply_to": (message.get("reply_to_message") or {}).get("message_id"),
        }

    # --- handlers ---

    async def _index(self, request: web.Request) -> web.Response:
        return web.Response(text=static_text("index.html"), content_type="text/html")

    async def _static(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in STATIC_FILES or name == "index.html":
            raise web.HTTPNotFound()
        return web.Response(text=static_text(name), content_type=STATIC_FILES[name])

    async def _state(self, request: web.Request) -> web.Response:
        """The state once it is newer than `after` (a long poll of up to 20 s)."""
        try:
            after = int(request.query.get("after", "-1"))
        except ValueError:
            raise web.HTTPBadRequest(text="after must be a number") from None
        deadline = time.monotonic() + LONG_POLL_SECONDS
        while self._version <= after and not self._closing:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            pulse = self._pulse
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(pulse.wait(), remaining)
        return _json(self.state())

    async def _send(self, request: web.Request) -> web.Response:
        """A person writes in a chat or topic; a leading /command gets its bot_command entity."""
        body = await _body(request)
        chat_id, person, thread = self._where(body)
        text = str(body.get("text", "")).strip()
        if not text:
            return _error("the message is empty")
        write = self.emulator.command if _COMMAND.match(text) else self.emulator.message
        try:
            write(chat_id, person.id, text, thread_id=thread, first_name=person.name)
        except (KeyError, ValueError) as exc:
            return _error(str(exc))
        return _json({"ok": True})

    async def _press(self, request: web.Request) -> web.Response:
        """A callback button pressed: the bot's answerCallbackQuery (toast or alert), or
        {"answered": false} if it does not answer in time."""
        body = await _body(request)
        chat_id, person, _ = self._where(body)
        message_id, data = body.get("message_id"), body.get("data")
        if not isinstance(message_id, int) or not isinstance(data, str):
            return _error("message_id (a number) and data (a string) are needed")
        try:
            update_id = self.emulator.press(
                chat_id, person.id, message_id, data, first_name=person.name
            )
        except (KeyError, ValueError) as exc:
            return _error(str(exc))
        update = next(u for u in self.emulator.pending_updates if u["update_id"] == update_id)
        answer = await self._answer(update["callback_query"]["id"])
        if answer is None:
            return _json({"answered": False})
        return _json(
            {
                "answered": True,
                "text": answer.get("text") or "",
                "show_alert": bool(answer.get("show_alert")),
                "url": answer.get("url") or "",
            }
        )

    def _where(self, body: JSON) -> tuple[int, Person, int | None]:
        chat_id, user_id, thread = body.get("chat_id"), body.get("user_id"), body.get("thread_id")
        person = self.people.get(user_id) if isinstance(user_id, int) else None
        if not isinstance(chat_id, int) or person is None:
            raise web.HTTPBadRequest(text="chat_id and the user_id of a known person are needed")
        if chat_id > 0 and chat_id != person.id:
            raise web.HTTPBadRequest(text="only its own user writes in a private chat")
        if thread is not None and not isinstance(thread, int):
            raise web.HTTPBadRequest(text="thread_id must be a number or null")
        return chat_id, person, thread

    async def _answer(self, query_id: str) -> JSON | None:
        deadline = time.monotonic() + ANSWER_TIMEOUT_SECONDS
        while query_id not in self._answers and not self._closing:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            pulse = self._pulse
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(pulse.wait(), remaining)
        return self._answers.pop(query_id, None)

    # --- emulator events ---

    def _on_event(self, event: JSON) -> None:
        if event["event"] == "callback_answer":
            self._answers[str(event.get("callback_query_id"))] = event
        else:
            self._version += 1
        self._wake()

    def _wake(self) -> None:
        self._pulse.set()
        self._pulse = asyncio.Event()


def preview_page(messages: Sequence[Message], *, title: str, bot_name: str = "digest-bot") -> str:
    """One self-contained HTML file showing `messages` as the chat view draws them: the same
    CSS and script inlined, the messages as JSON (nothing is fetched but the cover image)."""
    now = int(time.time())
    shown = [
        {
            "id": number,
            "thread": None,
            "from": {"id": 0, "name": bot_name, "is_bot": True},
            "date": now,
            "edited": 0,
            "text": message.text,
            "entities": [entity.to_dict() for entity in message.entities],
            "photo": _photo_url(message.photo),
            "keyboard": [],
            "reply_to": None,
        }
        for number, message in enumerate(messages, 1)
    ]
    data = {"title": title, "bot": {"name": bot_name}, "messages": shown}
    return (
        '<!doctype html>\n<html lang="zh">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>\n{static_text('style.css')}</style>\n"
        '</head>\n<body class="preview">\n<div id="app"></div>\n'
        f'<script type="application/json" id="preview-data">{_script_json(data)}</script>\n'
        f"<script>\n{static_text('app.js')}</script>\n</body>\n</html>\n"
    )


def _photo_url(photo: str | None) -> str | None:
    """A local cover as a file: URL, which the page opened from disk can show."""
    if photo is None or re.match(r"(?i)https?://", photo):
        return photo
    return Path(photo).resolve().as_uri()


def _script_json(data: Any) -> str:
    """JSON that cannot end its <script> element early, whatever the messages say."""
    text = json.dumps(data, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


async def _body(request: web.Request) -> JSON:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise web.HTTPBadRequest(text="the body must be JSON") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="the body must be a JSON object")
    return body


def _json(data: Any) -> web.Response:
    return web.json_response(data, dumps=lambda d: json.dumps(d, ensure_ascii=False))


def _error(reason: str) -> web.Response:
    return web.json_response({"ok": False, "error": reason}, status=400)
