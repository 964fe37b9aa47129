"""Is the bot alive and well? Answered from outside the process, for Docker's HEALTHCHECK
(`digest-bot health`): the running bot writes a heartbeat file beside its database with
what it knows of its own update stream and database, and the ledger says how the last
publication went."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from telegram._utils.types import ODVInput
from telegram.request import BaseRequest, HTTPXRequest, RequestData

from bot.config import Settings
from bot.store import Store, StoreError

HEARTBEAT_EVERY = dt.timedelta(seconds=30)
STALE_AFTER = 3 * HEARTBEAT_EVERY
# Long polls end every few seconds; this long without a good one means updates stopped.
RECEIVE_WITHIN = dt.timedelta(seconds=90)
# A 409 this recent means another deployment polls with the same token.
CONFLICT_WITHIN = dt.timedelta(seconds=180)


@dataclass(slots=True)
class UpdatesWatch:
    """The bot's own view of its update stream: the last good getUpdates (or webhook
    update), and the last time Telegram said another instance was polling."""

    last_ok: dt.datetime | None = None
    last_failed: dt.datetime | None = None
    last_conflict: dt.datetime | None = None
    polling_since: dt.datetime | None = None
    # The first poll: the stream counts as good from there, so a failure in the first
    # seconds is not "unhealthy" until it has gone on for RECEIVE_WITHIN.
    first_poll: dt.datetime | None = None

    def started(self) -> None:
        """A long poll went out; it may take its whole timeout to answer."""
        self.polling_since = dt.datetime.now(dt.UTC)
        if self.first_poll is None:
            self.first_poll = self.polling_since

    def answered(self, status: int, now: dt.datetime | None = None) -> None:
        """Record Telegram's HTTP status for one getUpdates call (or a webhook update)."""
        at = now or dt.datetime.now(dt.UTC)
        self.polling_since = None
        if status == 200:
            self.last_ok = at
        elif status == 409:
            self.last_conflict = self.last_failed = at
        else:
            self.last_failed = at

    def failed(self) -> None:
        """The poll got no answer at all (a timeout, a dropped connection)."""
        self.polling_since = None
        self.last_failed = dt.datetime.now(dt.UTC)

    def good_as_of(self, now: dt.datetime) -> dt.datetime | None:
        """When the stream was last known good: a poll that answered (or the first poll,
        before any answered), or now if a poll is waiting for its answer and no failure
        came since the last good one."""
        recovered = self.last_failed is None or (
            self.last_ok is not None and self.last_ok >= self.last_failed
        )
        if self.polling_since is not None and recovered:
            return now
        return self.last_ok or self.first_poll

    def conflicting(self, now: dt.datetime) -> bool:
        return self.last_conflict is not None and now - self.last_conflict <= CONFLICT_WITHIN


def heartbeat_path(settings: Settings) -> Path:
    path = settings.storage.path
    return path.with_name(path.name + ".heartbeat")


def write_heartbeat(
    path: Path, *, watch: UpdatesWatch, database: str | None, now: dt.datetime
) -> None:
    """Atomically, so a reader never sees half a file."""
    record: dict[str, Any] = {
        "at": now.isoformat(),
        "pid": os.getpid(),
        "last_update_ok": _text(watch.good_as_of(now)),
        "conflict_at": _text(watch.last_conflict),
        "database": database,
    }
    scratch = path.with_name(path.name + ".tmp")
    scratch.write_text(json.dumps(record), encoding="utf-8")
    scratch.replace(path)


async def problems(settings: Settings, now: dt.datetime) -> list[str]:
    """What is wrong, in plain words; empty when the bot is healthy."""
    path = heartbeat_path(settings)
    try:
        beat = json.loads(path.read_text(encoding="utf-8"))
        age = now - dt.datetime.fromisoformat(beat["at"])
    except (OSError, ValueError, KeyError, TypeError):
        return [f"no heartbeat at {path}: the bot is not running"]
    if age > STALE_AFTER:  # what else the file says is out of date too
        return [f"no heartbeat for {int(age.total_seconds())} s: the bot is stuck or gone"]
    found = []
    last_ok = _time(beat.get("last_update_ok"))
    if last_ok is None:
        found.append("Telegram has not answered a poll for updates since the bot started")
    elif now - last_ok > RECEIVE_WITHIN:
        since = int((now - last_ok).total_seconds())
        found.append(f"no updates received from Telegram for {since} s: polling or webhook stopped")
    conflict = _time(beat.get("conflict_at"))
    if conflict is not None and now - conflict <= CONFLICT_WITHIN:
        found.append(
            "Telegram says another bot polls with this token (409 Conflict): "
            "two deployments would both post the digest"
        )
    if beat.get("database"):
        found.append(str(beat["database"]))
    found.extend(await _ledger_problems(settings))
    return found


async def _ledger_problems(settings: Settings) -> list[str]:
    if not settings.storage.path.is_file():
        return []
    try:
        async with await Store.open(settings.storage.path) as store:
            last = await store.ledger.last_publication()
    except (sqlite3.DatabaseError, StoreError) as exc:
        return [f"the database {settings.storage.path} cannot be read: {exc}"]
    if last is not None and not last.done and last.attempts:
        return [f"the last publication failed: {last.slug} → {last.chat}: {last.last_error}"]
    return []


def _text(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _time(value: object) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        return None


class WatchedRequest(HTTPXRequest):
    """The getUpdates connection, telling an UpdatesWatch how each long poll went."""

    def __init__(self, watch: UpdatesWatch, **options: Any) -> None:
        super().__init__(**options)
        self._watch = watch

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        self._watch.started()
        try:
            status, payload = await super().do_request(
                url,
                method,
                request_data,
                read_timeout=read_timeout,
                write_timeout=write_timeout,
                connect_timeout=connect_timeout,
                pool_timeout=pool_timeout,
            )
        except Exception:
            self._watch.failed()
            raise
        self._watch.answered(status)
        return status, payload
