"""Is the bot alive and well? Answered from outside the process, for Docker's HEALTHCHECK
(`digest-bot health`): the running bot writes a heartbeat file beside its database, and
the ledger says how the last publication went."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

from bot.config import Settings
from bot.store import Store

HEARTBEAT_EVERY = dt.timedelta(seconds=60)
STALE_AFTER = 3 * HEARTBEAT_EVERY


def heartbeat_path(settings: Settings) -> Path:
    path = settings.storage.path
    return path.with_name(path.name + ".heartbeat")


def write_heartbeat(path: Path, *, receiving: bool, now: dt.datetime) -> None:
    """Atomically, so a reader never sees half a file."""
    record = {"at": now.isoformat(), "pid": os.getpid(), "receiving": receiving}
    scratch = path.with_name(path.name + ".tmp")
    scratch.write_text(json.dumps(record), encoding="utf-8")
    scratch.replace(path)


async def problems(settings: Settings, now: dt.datetime) -> list[str]:
    """What is wrong, in plain words; empty when the bot is healthy."""
    found = []
    path = heartbeat_path(settings)
    try:
        beat = json.loads(path.read_text(encoding="utf-8"))
        age = now - dt.datetime.fromisoformat(beat["at"])
    except (OSError, ValueError, KeyError, TypeError):
        return [f"no heartbeat at {path}: the bot is not running"]
    if age > STALE_AFTER:
        found.append(f"no heartbeat for {int(age.total_seconds())} s: the bot is stuck or gone")
    if not beat.get("receiving"):
        found.append("the bot is not receiving updates (polling or webhook stopped)")
    if settings.storage.path.exists():
        async with await Store.open(settings.storage.path) as store:
            last = await store.ledger.last_publication()
        if last is not None and not last.done and last.attempts:
            found.append(
                f"the last publication failed: {last.slug} → {last.chat}: {last.last_error}"
            )
    return found
