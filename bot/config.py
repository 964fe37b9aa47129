"""Settings: a TOML file plus the environment, validated once into frozen, typed objects.

Every problem is a `ConfigError` naming the file and the key (`publish.time`), so a
mistyped setting stops the bot at start-up with a line that says what to fix, instead
of surfacing as a confusing failure at 08:00 the next morning.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import json
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

CONFIG_ENV = "DIGEST_BOT_CONFIG"
TOKEN_ENV = "DIGEST_BOT_TOKEN"
SECRET_ENV = "DIGEST_BOT_WEBHOOK_SECRET"
DEFAULT_CONFIG = Path("config.toml")

# The file's shape and its defaults, in one place; every key is optional.
DEFAULTS: dict[str, dict[str, Any]] = {
    "telegram": {
        "token": "",
        "api_base_url": "",
        "mode": "polling",
        "webhook_url": "",
        "webhook_listen": "127.0.0.1",
        "webhook_port": 8443,
        "webhook_secret": "",
    },
    "publish": {
        "chat": "@ai_news_plus",
        "thread_id": 0,
        "time": "08:00",
        "timezone": "Asia/Shanghai",
        "catch_up_hours": 6,
        "pin": False,
        "targets": [],
    },
    "content": {
        "dir": "content",
        "max_bytes": 1024 * 1024,
        "max_messages": 20,
        "drop_html": ["telegram-card"],
        "line_breaks": "auto",
        "settle_seconds": 10,
    },
    "storage": {"path": "data/digest-bot.sqlite3"},
    "admins": {"user_ids": []},
    "ui": {"language": "auto", "group_latest": "card"},
}

LANGUAGES = ("zh", "en", "auto")
MODES = ("polling", "webhook")
GROUP_LATEST_MODES = ("card", "full")
LINE_BREAK_MODES = ("auto", "keep", "join")
_CSS_CLASS = re.compile(r"-?[A-Za-z_][\w-]*")
MAX_CATCH_UP_HOURS = 24

_TOKEN_SHAPE = re.compile(r"\d+:[A-Za-z0-9_-]{20,}")
_TIME = re.compile(r"(\d{1,2}):(\d{2})")
_CHAT_ID = re.compile(r"-?\d+")
# Public usernames: 5-32 characters, a letter first, then letters, digits and underscores.
_USERNAME = re.compile(r"@[A-Za-z][A-Za-z0-9_]{3,30}[A-Za-z0-9]")
_SECRET_KEYS = frozenset({"telegram.token", "telegram.webhook_secret"})
# Telegram's rule for setWebhook's secret_token.
_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")

_T = TypeVar("_T")


class ConfigError(Exception):
    """A setting that cannot be used; `key` is the dotted name, or None for the file itself."""

    def __init__(self, key: str | None, problem: str, *, source: Path | str | None = None) -> None:
        parts = [str(p) for p in (source, key) if p is not None]
        super().__init__(": ".join([*parts, problem]))
        self.key = key
        self.problem = problem
        self.source = source


@dataclass(frozen=True, slots=True)
class Webhook:
    """Telegram posts updates to `url` (HTTPS, usually a reverse proxy in front of us);
    the bot listens on `listen:port` and refuses requests without the secret."""

    url: str
    listen: str
    port: int
    secret: str = dataclasses.field(repr=False)

    @property
    def path(self) -> str:
        return urlsplit(self.url).path.lstrip("/")


@dataclass(frozen=True, slots=True, repr=False)
class TelegramSettings:
    token: str
    api_base_url: str
    token_from_env: bool = False
    webhook: Webhook | None = None  # None: long polling

    def __repr__(self) -> str:
        # The token is a password: it must never reach a log line or a traceback.
        shown = "'***'" if self.token else "''"
        return (
            f"TelegramSettings(token={shown}, api_base_url={self.api_base_url!r}, "
            f"token_from_env={self.token_from_env!r}, webhook={self.webhook!r})"
        )


@dataclass(frozen=True, slots=True)
class Target:
    """Where a digest goes: a chat id or @username, and optionally a forum topic.
    Each target has a ledger of its own."""

    chat: int | str
    thread_id: int | None = None

    def __str__(self) -> str:
        return f"{self.chat}" + (f" (topic {self.thread_id})" if self.thread_id else "")

    def same_as(self, chat: int | str, thread_id: int | None) -> bool:
        """Usernames are case-insensitive; "no topic" is None or 0."""
        return (str(self.chat).lower(), self.thread_id or 0) == (str(chat).lower(), thread_id or 0)


@dataclass(frozen=True, slots=True)
class PublishSettings:
    targets: tuple[Target, ...]
    time: dt.time
    timezone: ZoneInfo
    catch_up: dt.timedelta
    pin: bool = False

    @property
    def chat(self) -> int | str:
        """The first target's chat: the one /latest and /status speak of first."""
        return self.targets[0].chat

    @property
    def thread_id(self) -> int | None:
        return self.targets[0].thread_id


@dataclass(frozen=True, slots=True)
class ContentSettings:
    dir: Path
    max_bytes: int
    max_messages: int
    # HTML blocks with one of these CSS classes are decoration, dropped on purpose.
    drop_html: tuple[str, ...] = ("telegram-card",)
    line_breaks: str = "auto"
    # A file is taken once its size and mtime have not changed for this long.
    settle_seconds: float = 10.0


@dataclass(frozen=True, slots=True)
class StorageSettings:
    path: Path


@dataclass(frozen=True, slots=True)
class AdminSettings:
    user_ids: frozenset[int]


@dataclass(frozen=True, slots=True)
class UiSettings:
    language: str
    group_latest: str


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the bot can be told; `source` is the file it came from, or None."""

    telegram: TelegramSettings
    publish: PublishSettings
    content: ContentSettings
    storage: StorageSettings
    admins: AdminSettings
    ui: UiSettings
    source: Path | None = None

    def require_token(self) -> str:
        """The bot token, checked; only commands that talk to Telegram need it."""
        token = self.telegram.token
        where = f" (from {TOKEN_ENV})" if self.telegram.token_from_env else ""
        if not token:
            raise ConfigError(
                "telegram.token",
                f"is not set: put it in config.toml or set {TOKEN_ENV}",
                source=self.source,
            )
        if not _TOKEN_SHAPE.fullmatch(token):
            raise ConfigError(
                "telegram.token",
                f"does not look like a bot token{where}: expected digits, a colon and "
                "the secret from @BotFather, like 123456:ABC-DEF...",
                source=self.source,
            )
        return token


def load_settings(path: Path | None = None, env: Mapping[str, str] = os.environ) -> Settings:
    """Read the settings: `path`, else $DIGEST_BOT_CONFIG, else ./config.toml if it exists."""
    named_by = ""
    if path is None and env.get(CONFIG_ENV):
        path, named_by = Path(env[CONFIG_ENV]), f" (named by {CONFIG_ENV})"
    if path is None:
        # Only the implicit default may be missing: a named file is expected to exist.
        path = DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None
    elif not path.is_file():
        what = "is a folder, not a config file" if path.is_dir() else "no such config file"
        raise ConfigError(None, f"{what}{named_by}", source=path)

    raw = _read_toml(path) if path is not None else {}
    base = path.resolve().parent if path is not None else Path.cwd()
    return _Parser(raw, source=path, base=base, env=env).settings()


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise ConfigError(
            None, f"cannot read the file ({exc.strerror or exc})", source=path
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            None, f"not UTF-8 text (invalid byte at offset {exc.start})", source=path
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message ends with "(at line N, column M)".
        raise ConfigError(None, f"invalid TOML: {exc}", source=path) from None


class _Parser:
    """Turns the raw TOML mapping into `Settings`, raising on the first bad key."""

    def __init__(
        self, raw: dict[str, Any], *, source: Path | None, base: Path, env: Mapping[str, str]
    ) -> None:
        self.raw = raw
        self.source = source
        self.base = base
        self.env = env

    def error(self, key: str | None, problem: str) -> ConfigError:
        return ConfigError(key, problem, source=self.source)

    def settings(self) -> Settings:
        self.check_known_keys()
        env_token = self.env.get(TOKEN_ENV, "").strip()
        file_token = self.get("telegram.token", self.text)
        return Settings(
            telegram=TelegramSettings(
                token=env_token or file_token.strip(),
                api_base_url=self.get("telegram.api_base_url", self.url),
                token_from_env=bool(env_token),
                webhook=self.webhook(),
            ),
            publish=PublishSettings(
                targets=self.targets(),
                time=self.get("publish.time", self.time),
                timezone=self.get("publish.timezone", self.zone),
                catch_up=dt.timedelta(hours=self.get("publish.catch_up_hours", self.hours)),
                pin=self.get("publish.pin", self.flag),
            ),
            content=ContentSettings(
                dir=self.get("content.dir", self.path),
                max_bytes=self.get("content.max_bytes", self.positive),
                max_messages=self.get("content.max_messages", self.positive),
                drop_html=self.get("content.drop_html", self.css_classes),
                line_breaks=self.get("content.line_breaks", self.choice(LINE_BREAK_MODES)),
                settle_seconds=self.get("content.settle_seconds", self.seconds),
            ),
            storage=StorageSettings(path=self.get("storage.path", self.path)),
            admins=AdminSettings(user_ids=self.get("admins.user_ids", self.user_ids)),
            ui=UiSettings(
                language=self.get("ui.language", self.choice(LANGUAGES)),
                group_latest=self.get("ui.group_latest", self.choice(GROUP_LATEST_MODES)),
            ),
            source=self.source.resolve() if self.source is not None else None,
        )

    def webhook(self) -> Webhook | None:
        if self.get("telegram.mode", self.choice(MODES)) == "polling":
            return None
        url = self.get("telegram.webhook_url", self.text).strip()
        parts = urlsplit(url)
        if parts.scheme != "https" or "." not in (parts.hostname or ""):
            raise self.error(
                "telegram.webhook_url",
                f"{self.show('telegram.webhook_url', url)} must be the public https:// URL "
                "that Telegram posts updates to",
            )
        secret = self.env.get(SECRET_ENV, "").strip() or self.get(
            "telegram.webhook_secret", self.text
        )
        if not _WEBHOOK_SECRET.fullmatch(secret):
            raise self.error(
                "telegram.webhook_secret",
                f"must be 1-256 characters of A-Z a-z 0-9 _ - (or set {SECRET_ENV})",
            )
        port = self.get("telegram.webhook_port", self.positive)
        if port > 65535:
            raise self.error("telegram.webhook_port", f"{port} is not a TCP port")
        listen = self.get("telegram.webhook_listen", self.text).strip()
        return Webhook(url=url, listen=listen, port=port, secret=secret)

    def targets(self) -> tuple[Target, ...]:
        """`[[publish.targets]]` tables, or else `publish.chat` and `publish.thread_id`."""
        raw = self.raw.get("publish", {})
        tables = raw.get("targets", [])
        if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
            raise self.error("publish.targets", "must be tables like [[publish.targets]]")
        if not tables:
            return (
                Target(
                    self.get("publish.chat", self.chat),
                    self.get("publish.thread_id", self.natural) or None,
                ),
            )
        for key in ("chat", "thread_id"):
            if key in raw:
                raise self.error(
                    f"publish.{key}", "set either this or [[publish.targets]], not both"
                )
        targets = []
        for number, table in enumerate(tables, 1):
            where = f"publish.targets[{number}]"
            for name in table:
                if name not in ("chat", "thread_id"):
                    raise self.error(f"{where}.{name}", "unknown key (known: chat, thread_id)")
            if "chat" not in table:
                raise self.error(f"{where}.chat", "is missing")
            targets.append(
                Target(
                    self.chat(f"{where}.chat", table["chat"]),
                    self.natural(f"{where}.thread_id", table.get("thread_id", 0)) or None,
                )
            )
        if len(set(targets)) != len(targets):
            raise self.error("publish.targets", "lists the same chat and topic twice")
        return tuple(targets)

    def check_known_keys(self) -> None:
        for section, table in self.raw.items():
            if section not in DEFAULTS:
                raise self.error(
                    section, "unknown section" + _suggest(section, DEFAULTS, list_all=True)
                )
            if not isinstance(table, dict):
                raise self.error(section, f"must be a table like [{section}]")
            for name in table:
                if name not in DEFAULTS[section]:
                    raise self.error(
                        f"{section}.{name}", "unknown key" + _suggest_key(section, name)
                    )

    def get(self, key: str, convert: Callable[[str, Any], _T]) -> _T:
        section, name = key.split(".")
        value = self.raw.get(section, {}).get(name, DEFAULTS[section][name])
        return convert(key, value)

    def show(self, key: str, value: object) -> str:
        if key in _SECRET_KEYS:
            return "the value"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str):
            text = json.dumps(value, ensure_ascii=False)
            return text if len(text) <= 60 else text[:57] + '..."'
        return str(value)

    def text(self, key: str, value: object) -> str:
        if not isinstance(value, str):
            raise self.error(key, f"{self.show(key, value)} is not text (put it in quotes)")
        return value

    def whole(self, key: str, value: object) -> int:
        # TOML booleans are Python ints; `true` is not a number here.
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"{self.show(key, value)} is not a whole number")
        return value

    def natural(self, key: str, value: object) -> int:
        number = self.whole(key, value)
        if number < 0:
            raise self.error(key, f"{number} is negative")
        return number

    def positive(self, key: str, value: object) -> int:
        number = self.whole(key, value)
        if number <= 0:
            raise self.error(key, f"{number} is not a positive number")
        return number

    def flag(self, key: str, value: object) -> bool:
        if not isinstance(value, bool):
            raise self.error(key, f"{self.show(key, value)} is not true or false")
        return value

    def seconds(self, key: str, value: object) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise self.error(key, f"{self.show(key, value)} is not a number of seconds")
        return float(value)

    def hours(self, key: str, value: object) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(key, f"{self.show(key, value)} is not a number of hours")
        if not 0 <= value <= MAX_CATCH_UP_HOURS:
            raise self.error(key, f"{value} is not between 0 and {MAX_CATCH_UP_HOURS}")
        return value

    def url(self, key: str, value: object) -> str:
        url = self.text(key, value).strip()
        if url and not re.fullmatch(r"https?://[^\s/]+(/\S*)?", url):
            raise self.error(
                key, f"{self.show(key, url)} is not an http(s) URL like http://127.0.0.1:8081/bot"
            )
        return url

    def chat(self, key: str, value: object) -> int | str:
        if isinstance(value, int) and not isinstance(value, bool) and value != 0:
            return value
        if isinstance(value, str):
            raw = value.strip()
            if _CHAT_ID.fullmatch(raw) and int(raw) != 0:
                return int(raw)
            if _USERNAME.fullmatch(raw):
                return raw
        raise self.error(
            key, f"{self.show(key, value)} is not a chat id like -1001234567890 or a @username"
        )

    def time(self, key: str, value: object) -> dt.time:
        # TOML's own local time (08:00:00) is accepted too.
        if isinstance(value, dt.time):
            return value.replace(microsecond=0)
        match = _TIME.fullmatch(value.strip()) if isinstance(value, str) else None
        if match is None or int(match[1]) > 23 or int(match[2]) > 59:
            raise self.error(key, f"{self.show(key, value)} is not a time like 08:00")
        return dt.time(int(match[1]), int(match[2]))

    def zone(self, key: str, value: object) -> ZoneInfo:
        name = self.text(key, value).strip()
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
        zones = {z: None for z in available_timezones()}
        raise self.error(
            key, f"{self.show(key, value)} is not a known time zone" + _suggest(name, zones)
        )

    def path(self, key: str, value: object) -> Path:
        raw = self.text(key, value).strip()
        if not raw:
            raise self.error(key, "is empty")
        return (self.base / Path(raw).expanduser()).resolve()

    def user_ids(self, key: str, value: object) -> frozenset[int]:
        if not isinstance(value, list):
            raise self.error(key, f"{self.show(key, value)} is not a list like [123456789]")
        ids = set()
        for i, item in enumerate(value):
            ids.add(self.positive(f"{key}[{i}]", item))
        return frozenset(ids)

    def css_classes(self, key: str, value: object) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise self.error(key, f'{self.show(key, value)} is not a list like ["telegram-card"]')
        names = []
        for i, item in enumerate(value):
            name = self.text(f"{key}[{i}]", item).strip()
            if not _CSS_CLASS.fullmatch(name):
                raise self.error(f"{key}[{i}]", f"{self.show(key, item)} is not a CSS class name")
            names.append(name)
        return tuple(names)

    def choice(self, options: tuple[str, ...]) -> Callable[[str, Any], str]:
        def convert(key: str, value: object) -> str:
            if value not in options:
                listed = ", ".join(f'"{o}"' for o in options)
                raise self.error(key, f"{self.show(key, value)} is not one of {listed}")
            return str(value)

        return convert


def _suggest_key(section: str, name: str) -> str:
    """The closest key in the same section, else the same name in another section."""
    own = difflib.get_close_matches(name, list(DEFAULTS[section]), n=1)
    if own:
        return f'; did you mean "{section}.{own[0]}"?'
    for other, table in DEFAULTS.items():
        if name in table:
            return f'; did you mean "{other}.{name}" (in [{other}])?'
    return f" (known: {', '.join(f'{section}.{k}' for k in DEFAULTS[section])})"


def _suggest(word: str, known: Mapping[str, object], *, list_all: bool = False) -> str:
    close = difflib.get_close_matches(word, list(known), n=1)
    if close:
        return f'; did you mean "{close[0]}"?'
    return f" (known: {', '.join(known)})" if list_all else ""
