"""Checks of what the settings point at, before the bot starts: a bad setup ends in one
line naming the key (exit status 2), never in a traceback forty lines later."""

from __future__ import annotations

import errno
import socket
import sqlite3
from pathlib import Path

from bot.config import ConfigError, Settings


def check(settings: Settings) -> None:
    """Raise ConfigError for a setup the bot cannot run with."""
    source = settings.source
    database = settings.storage.path
    if database.is_dir():
        raise ConfigError(
            "storage.path", f"{database} is a folder; name a database file in it", source=source
        )
    if database.parent.exists() and not database.parent.is_dir():
        raise ConfigError(
            "storage.path", f"{database.parent} is a file, not a folder", source=source
        )
    webhook = settings.telegram.webhook
    if webhook is not None:
        _check_port_free(webhook.listen, webhook.port, source)


def database_error(settings: Settings, error: sqlite3.DatabaseError) -> ConfigError:
    """A database file SQLite cannot use, said as the setting to look at."""
    path = settings.storage.path
    return ConfigError(
        "storage.path",
        f"{path} is not a usable SQLite database ({error}); move it away to start afresh",
        source=settings.source,
    )


def _check_port_free(host: str, port: int, source: Path | None) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            problem = "is in use by another program" if exc.errno == errno.EADDRINUSE else exc
            raise ConfigError(
                "telegram.webhook_port",
                f"{host}:{port} {problem}",
                source=source,
            ) from None
