"""When members may see a digest: the one rule, for every command, button, deep link,
inline result and search. Admins' previews use the store without it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.config import Settings
from bot.publishing import window_opens
from bot.services import Services
from bot.store import Archive, Released, Search
from bot.store.ledger import chat_key


def released(settings: Settings, now: dt.datetime) -> Released:
    """Released: posted to the first publication target, or, if never posted, dated on a
    day whose publication window has opened (`window_opens(publish, day) <= now`)."""
    publish = settings.publish
    first = publish.targets[0]
    day = now.astimezone(publish.timezone).date()
    if window_opens(publish, day) > now:
        day -= dt.timedelta(days=1)  # today's window opens later; yesterday's has opened
    return Released(chat_key(first.chat), first.thread_id or 0, day)


@dataclass(frozen=True, slots=True)
class Shelf:
    """The archive and the search index as members see them, now."""

    archive: Archive
    search: Search


def for_members(services: Services) -> Shelf:
    rule = released(services.settings, services.clock())
    return Shelf(services.archive.only(rule), services.search.only(rule))
