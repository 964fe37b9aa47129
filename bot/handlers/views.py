"""What the bot says, as pure functions: data in, text (a `Builder`) and a keyboard out.

No Telegram calls and no database here, so every reply can be read and tested on its
own; handlers fetch the data, pick a view and send it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import keyboards
from bot.render import Builder, Rendering, append_markdown
from bot.store import DigestEntry, Publication, SearchPage
from bot.texts import text

PAGE_SIZE = 8
TAGS_PER_PAGE = 20
MAX_FAILURES_SHOWN = 10
# (command, the texts.py key of its argument) in menu order.
PUBLIC_COMMANDS: tuple[tuple[str, str | None], ...] = (
    ("latest", None),
    ("archive", "arg_archive"),
    ("tag", "arg_tag"),
    ("search", "arg_search"),
    ("help", None),
)
ADMIN_COMMANDS = ("publish", "status")


@dataclass(frozen=True, slots=True)
class View:
    """A reply: its text with entities, and the keyboard that goes under it."""

    body: Builder
    keyboard: InlineKeyboardMarkup | None = None


def line(value: str) -> View:
    body = Builder()
    body.write(value)
    return View(body)


def said(lang: str, key: str, **values: object) -> View:
    """A one-line answer from texts.py."""
    return line(text(lang, key, **values))


def help_view(lang: str, *, admin: bool, bot_username: str, private: bool) -> View:
    body = Builder()
    body.write(text(lang, "about"))
    body.block()
    body.styled("bold", text(lang, "commands_heading"))
    for command, argument in PUBLIC_COMMANDS:
        usage = f"/{command}" + (f" {text(lang, argument)}" if argument else "")
        body.line(f"{usage} — {text(lang, 'cmd_' + command)}")
    body.block()
    if private:
        body.line(text(lang, "help_text_search"))
    body.line(text(lang, "help_inline", bot=bot_username))
    if admin:
        body.block()
        body.styled("bold", text(lang, "admin_heading"))
        body.line(f"/publish {text(lang, 'arg_publish')} — {text(lang, 'cmd_publish')}")
        body.line(f"/status — {text(lang, 'cmd_status')}")
    return View(body)


def digest_list(
    lang: str,
    title: str,
    entries: Sequence[DigestEntry],
    *,
    page: int,
    total: int,
    kind: str,
    value: str,
    deep_link: str | None,
    this_year: int,
    back: InlineKeyboardButton | None = None,
) -> View:
    """A page of digests (archive, month, tag) with ◀ ▶ paging: each digest once, as the
    button that opens it (its date and title), rather than a line and a button."""
    pages = math.ceil(total / PAGE_SIZE)
    body = Builder()
    body.styled("bold", title)
    body.line(text(lang, "page", page=page + 1, pages=pages, total=total))
    rows = keyboards.digest_buttons(list(entries), bot_username=deep_link, this_year=this_year)
    rows.append(_pager(lang, kind, page, pages, value))
    if back is not None:
        rows.append([back])
    return View(body, keyboards.markup(rows))


def back_to_tags(lang: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text(lang, "back_to_tags"), callback_data=keyboards.data(keyboards.TAGS, 0, "")
    )


def tags_view(lang: str, tags: Sequence[tuple[str, int]], page: int) -> View:
    """One page of tags as buttons, two a row, most used first."""
    pages = math.ceil(len(tags) / TAGS_PER_PAGE)
    page = min(page, pages - 1)
    shown = tags[page * TAGS_PER_PAGE : (page + 1) * TAGS_PER_PAGE]
    body = Builder()
    body.styled("bold", text(lang, "tags_heading", count=len(tags)))
    buttons = [
        InlineKeyboardButton(
            keyboards.button_text(f"{name} ({count})"),
            callback_data=keyboards.data(keyboards.TAG, 0, keyboards.tag_token(name)),
        )
        for name, count in shown
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append(_pager(lang, keyboards.TAGS, page, pages, ""))
    return View(body, keyboards.markup(rows))


def search_view(
    lang: str,
    query: str,
    found: SearchPage,
    page: int,
    *,
    shown_query: str,
    deep_link: str | None,
    this_year: int,
    hint: bool = False,
) -> View:
    """Hits with a snippet each, the match in bold; paging while the query fits a button."""
    body = Builder()
    body.styled("bold", text(lang, "search_heading", query=shown_query))
    if found.total_is_exact:
        pages = math.ceil(found.total / PAGE_SIZE)
        body.line(text(lang, "page", page=page + 1, pages=pages, total=found.total))
    else:  # counting stopped early: a page count would be a guess
        pages = page + 2 if found.has_more else page + 1
        body.line(text(lang, "page_of_many", page=page + 1, total=found.total))
    for hit in found.hits:
        body.block()
        body.styled("bold", f"{hit.entry.date.isoformat()} {hit.entry.title}")
        body.line(hit.snippet.before)
        body.styled("bold", hit.snippet.match)
        body.write(hit.snippet.after)
    rows = keyboards.digest_buttons(
        [hit.entry for hit in found.hits], bot_username=deep_link, this_year=this_year
    )
    if keyboards.fits(keyboards.SEARCH, pages, query):
        rows.append(_pager(lang, keyboards.SEARCH, page, pages, query))
    elif pages > 1:
        body.block()
        body.write(text(lang, "more_results"))
    if hint:
        body.block()
        body.styled("italic", text(lang, "text_search_hint"))
    return View(body, keyboards.markup(rows))


def search_none(lang: str, shown_query: str, *, hint: bool) -> View:
    body = Builder()
    body.write(text(lang, "search_none", query=shown_query))
    if hint:
        body.line(text(lang, "text_search_hint"))
    return View(body)


def card_keyboard(lang: str, bot_username: str, slug: str) -> InlineKeyboardMarkup:
    """The 📖 button under a digest's card: a deep link into the private chat."""
    url = keyboards.open_url(bot_username, slug)
    return InlineKeyboardMarkup([[InlineKeyboardButton(text(lang, "read_in_full"), url=url)]])


def digest_in_group(
    lang: str, entry: DigestEntry, cover_url: str | None, bot_username: str
) -> View:
    """/latest (or a day of /archive) in a group: one short reply, not the photo again —
    the title, the date, a link to the cover posted in this group, and the 📖 button."""
    body = Builder()
    body.styled("bold", entry.title)
    body.line(entry.date.isoformat())
    if cover_url is not None:
        body.write(" · ")
        body.link(text(lang, "posted_here"), cover_url)
    return View(body, card_keyboard(lang, bot_username, entry.slug))


def digest_card(lang: str, entry: DigestEntry) -> Builder:
    """A digest shared through inline mode: its title, date and summary, in one message."""
    body = Builder()
    body.styled("bold", entry.title)
    body.line(" · ".join(filter(None, (entry.date.isoformat(), entry.category))))
    if entry.summary:
        body.block()
        append_markdown(body, entry.summary)
    return body


def digest_navigation(
    lang: str, older: DigestEntry | None, newer: DigestEntry | None
) -> InlineKeyboardMarkup:
    """Under a full digest in private: ◀ the older issue · the archive · the newer one ▶."""
    row = []
    if older is not None:
        row.append(keyboards.digest_button(text(lang, "previous_digest"), older, None))
    archive = keyboards.data(keyboards.ARCHIVE_NEW)
    row.append(InlineKeyboardButton(text(lang, "archive_button"), callback_data=archive))
    if newer is not None:
        row.append(keyboards.digest_button(text(lang, "next_digest"), newer, None))
    return InlineKeyboardMarkup([row])


@dataclass(frozen=True, slots=True)
class PublishFacts:
    """What the /publish preview shows, gathered by the handler."""

    entry: DigestEntry
    title: str
    rendering: Rendering
    targets: str
    mode: str
    already: bool  # posted completely to every target
    sent: frozenset[int] = frozenset()  # parts already in the chat of an unfinished round
    future: bool = False  # dated after today
    overdue: bool = False  # its window has passed, so the schedule will not post it
    notes: int = 0  # warnings about the file (cover, dropped HTML)
    changed: bool = False  # posted, and the file changed since: a correction, not a post


def publish_preview(lang: str, facts: PublishFacts) -> View:
    """Every message that will be posted, with its length, and the buttons that post it;
    without buttons when there is nothing to do in that mode."""
    entry, rendering, mode = facts.entry, facts.rendering, facts.mode
    body = Builder()
    body.write(text(lang, "publish_preview", target=facts.targets))
    body.block()
    body.styled("bold", facts.title)
    body.line(f"{entry.date.isoformat()} · {entry.slug}")
    body.line(text(lang, "preview_file"))
    body.styled("code", entry.path.name)  # as code, so Telegram makes no link of "x.md"
    body.block()
    body.write(text(lang, "publish_parts", count=len(rendering.messages)))
    for number, message in enumerate(rendering.messages, 1):
        if message.photo:
            part = text(lang, "part_cover_photo")
        else:
            first = message.text.split("\n", 1)[0][:40]
            part = text(lang, "part_text", first=first, length=message.length)
        mark = "✅ " if number - 1 in facts.sent else ""
        body.line(f"{mark}{number}. {part}")
    if facts.notes:
        body.line(text(lang, "preview_notes", count=facts.notes))
    day = entry.date.isoformat()
    if facts.future:
        body.block()
        body.write(text(lang, "future_date", day=day))
    elif facts.overdue and not facts.already and not facts.sent:
        body.block()
        body.write(text(lang, "not_due_old", day=day))
    body.block()
    cancel = InlineKeyboardButton(
        text(lang, "cancel_button"), callback_data=keyboards.data(keyboards.CANCEL)
    )
    if mode == keyboards.UPDATE:
        if not facts.already:
            body.write(text(lang, "not_published_yet"))
            return View(body)
        body.write(text(lang, "will_update"))
        return View(body, InlineKeyboardMarkup([[_go(lang, "update_button", entry, mode), cancel]]))
    if facts.sent and not facts.already:  # resume, not repeat: the default sends the rest
        missing = len(rendering.messages) - len(facts.sent)
        body.write(
            text(lang, "partly_published", sent=len(facts.sent), total=len(rendering.messages))
        )
        resume = InlineKeyboardButton(
            text(lang, "resume_button", count=missing),
            callback_data=keyboards.data(keyboards.PUBLISH, entry.slug, keyboards.NEW),
        )
        restart = _go(lang, "restart_button", entry, keyboards.FORCE)
        return View(body, InlineKeyboardMarkup([[resume], [restart, cancel]]))
    if facts.already and mode == keyboards.NEW:
        body.write(text(lang, "already_published"))
        if facts.changed:
            body.line(text(lang, "changed_since", day=day))
        return View(body)
    if facts.already:
        body.write(text(lang, "will_force"))
        return View(body, InlineKeyboardMarkup([[_go(lang, "force_button", entry, mode), cancel]]))
    return View(body, InlineKeyboardMarkup([[_go(lang, "publish_button", entry, mode), cancel]]))


def _go(lang: str, key: str, entry: DigestEntry, mode: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text(lang, key), callback_data=keyboards.data(keyboards.PUBLISH, entry.slug, mode)
    )


def published_view(lang: str, title: str, *, sent: int, total: int, cover_url: str | None) -> View:
    """After publishing: which digest, how much went out now, and a link to its cover."""
    body = Builder()
    body.write(text(lang, "published", sent=sent, total=total))
    body.line(text(lang, "published_title", title=title))
    if cover_url is not None:
        body.line(text(lang, "cover_link"))
        body.link(cover_url, cover_url)
    return View(body)


def paused_view(lang: str, publication: Publication, reason: str) -> View:
    """A publication that stopped: how far it got, and Telegram's reason quoted as code."""
    body = Builder()
    part = publication.next_part
    body.write(
        text(
            lang,
            "paused_at",
            sent=publication.sent_count,
            total=len(publication.parts),
            part=part.idx + 1 if part else len(publication.parts),
        )
    )
    body.line("")
    body.styled("code", reason)
    body.line(text(lang, "paused_retry"))
    return View(body)


def unloadable(lang: str, name: str, reason: str) -> View:
    """Why a digest cannot be posted: its file (as code: no link of "x.md") and reason."""
    body = Builder()
    body.write(text(lang, "digest_unloadable"))
    body.styled("code", name)
    body.write(f": {reason}")
    return View(body)


def message_link(chat: int | str, message_id: int, *, username: str | None = None) -> str | None:
    """A t.me link to a message: by the chat's @username, or for a private supergroup or
    channel by its internal id (the -100… id without the -100)."""
    name = username or (chat[1:] if isinstance(chat, str) and chat.startswith("@") else None)
    if name:
        return f"https://t.me/{name}/{message_id}"
    digits = str(chat)
    if digits.startswith("-100") and digits[4:].isdigit():
        return f"https://t.me/c/{digits[4:]}/{message_id}"
    return None  # basic groups and private chats have no message links


@dataclass(frozen=True, slots=True)
class StatusFacts:
    """What /status reports, gathered by the handler."""

    version: str
    targets: str
    time: str
    zone: str
    next_run: str | None
    indexed: int
    last: Publication | None
    failures: Sequence[tuple[str, str]]
    never_posted: Sequence[tuple[str, str]] = ()  # (date, file name): past, never posted
    database: str | None = None  # the database file deleted or replaced under the bot


def status_view(lang: str, facts: StatusFacts) -> View:
    body = Builder()
    body.styled("bold", text(lang, "status_heading"))
    if facts.database is not None:
        body.line(text(lang, "status_database", problem=facts.database))
    body.line(text(lang, "status_version", version=facts.version))
    body.line(text(lang, "status_target", target=facts.targets, time=facts.time, zone=facts.zone))
    if facts.next_run is not None:
        body.line(text(lang, "status_next", when=facts.next_run))
    else:
        body.line(text(lang, "status_none_scheduled"))
    body.line(text(lang, "status_indexed", count=facts.indexed))
    last = facts.last
    if last is None:
        body.line(text(lang, "status_never"))
    else:
        sent = sum(1 for part in last.parts if part.message_id is not None)
        state = (
            text(lang, "state_done")
            if last.done
            else text(lang, "state_pending", attempts=last.attempts, error=last.last_error or "—")
        )
        body.line(
            text(
                lang,
                "status_last",
                slug=last.slug,
                target=str(last.chat),
                state=state,
                parts=f"{sent}/{len(last.parts)}",
            )
        )
    if facts.never_posted:
        body.block()
        body.styled("bold", text(lang, "status_never_posted"))
        for day, name in facts.never_posted:
            body.line(f"• {day} ")
            body.styled("code", name)
    if facts.failures:
        body.block()
        body.styled("bold", text(lang, "status_failures", count=len(facts.failures)))
        for name, reason in facts.failures[:MAX_FAILURES_SHOWN]:
            body.line("• ")
            body.styled("code", name)
            body.write(f": {reason}")
        if len(facts.failures) > MAX_FAILURES_SHOWN:
            body.line("…")
    return View(body)


def _pager(lang: str, kind: str, page: int, pages: int, value: str) -> list[InlineKeyboardButton]:
    return keyboards.pager(kind, page, pages, value, text(lang, "previous"), text(lang, "next"))
