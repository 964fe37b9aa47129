"""Full-text search over what members read: each digest's rendered messages, newest first.

Every word of a query must occur, in any order. Words of three characters or more use
FTS5's trigram index (so Chinese works without spaces); shorter ones, common in Chinese,
use the index of one- and two-character strings.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass

from bot.digest import Digest
from bot.render import render_digest
from bot.store.archive import (
    ENTRY_COLUMNS,
    DigestEntry,
    Released,
    check_window,
    entry_from_row,
    released_params,
    visible,
)
from bot.store.db import Database, fetch_all
from bot.store.schema import fold_ascii, gram_token

SNIPPET_CHARS = 60
# Trigram full-text search needs at least three characters; shorter words use the index
# of one- and two-character strings (`digests_grams`).
MIN_FTS_QUERY = 3
# Search counts matches up to this many and then says "100+": an exact count of a common
# word would cost as much as the search itself.
SEARCH_COUNT_CAP = 100
MAX_WORDS = 10
# Any digest renders within this many messages for the index; publishing has its own limit.
_ANY_LENGTH = 1 << 20
# The full-text rows of the digests with a given id or path (`{key}`), kept in step by
# sync.py in the writer's transaction: external-content and contentless FTS5 tables
# forget a row only when told the values it was indexed with.
FULL_TEXT_ADD = (
    "INSERT INTO digests_fts (rowid, rendered) SELECT ord, rendered FROM digests WHERE {key} = ?",
    "INSERT INTO digests_grams (rowid, grams)"
    " SELECT ord, search_grams(rendered) FROM digests WHERE {key} = ?",
)
FULL_TEXT_REMOVE = (
    "INSERT INTO digests_fts (digests_fts, rowid, rendered)"
    " SELECT 'delete', ord, rendered FROM digests WHERE {key} = ?",
    "INSERT INTO digests_grams (digests_grams, rowid, grams)"
    " SELECT 'delete', ord, search_grams(rendered) FROM digests WHERE {key} = ?",
)
_WORD_CHAR = re.compile(r"[0-9A-Za-z_\-.'+]")


def rendered_text(digest: Digest) -> str:
    """What members read of a digest, as searched: its messages' texts, in order."""
    messages = render_digest(digest, max_messages=_ANY_LENGTH).messages
    return "\n\n".join(message.text for message in messages)


@dataclass(frozen=True, slots=True)
class Snippet:
    """Text around the first match, in three pieces so callers can mark `match` their way.

    `before` and `after` carry a leading/trailing "…" where the text was cut; `match` is
    empty when the match could not be located (the snippet is then the text's start).
    """

    before: str
    match: str
    after: str

    def __str__(self) -> str:
        return self.before + self.match + self.after


@dataclass(frozen=True, slots=True)
class SearchHit:
    entry: DigestEntry
    snippet: Snippet


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One page of search hits, newest first.

    `total` is the number of matching digests when `total_is_exact`; otherwise counting
    stopped at SEARCH_COUNT_CAP, which `total` then is, and there are more (show "100+").
    `has_more` says whether another page follows this one, whatever the count.
    """

    hits: list[SearchHit]
    total: int
    total_is_exact: bool
    has_more: bool


class Search:
    """The search index, kept in step with the archive by sync.py; with `released`, only
    what members may see (`only`)."""

    def __init__(self, db: Database, released: Released | None = None) -> None:
        self._db = db
        self._released = released

    def only(self, released: Released) -> Search:
        """The same index as members see it."""
        return Search(self._db, released)

    async def find(self, query: str, offset: int, limit: int) -> SearchPage:
        """Digests whose rendered text holds every word of the query, newest first.

        The query is plain text, never FTS syntax: each word of three characters or more
        becomes a quoted trigram phrase, each shorter one (common in Chinese) a token of
        the `digests_grams` index, which matches as `LIKE '%word%'` would (ASCII case
        folded); a digest must match them all.
        """
        check_window(offset, limit)
        words = query_words(query)
        if not words:
            return SearchPage([], 0, total_is_exact=True, has_more=False)
        long = [w for w in words if len(w) >= MIN_FTS_QUERY]
        short = [w for w in words if len(w) < MIN_FTS_QUERY]
        phrases = " AND ".join('"' + w.replace('"', '""') + '"' for w in long)
        grams = " ".join('"' + gram_token(fold_ascii(w)) + '"' for w in short)
        seen = visible(self._released, "rowid", "ord")
        fts = f"SELECT rowid FROM digests_fts WHERE digests_fts MATCH :phrases AND {seen}"
        short_index = f"SELECT rowid FROM digests_grams WHERE digests_grams MATCH :grams AND {seen}"
        # Both kinds: each index answers alone and the sets meet (a `rowid IN` of one
        # would have FTS5 look every row of the other up one by one).
        matching = " INTERSECT ".join(([fts] if long else []) + ([short_index] if short else []))
        # Matches come newest first (rowid is `ord`), so this stops once the page, one
        # row past it (is there more?) and the count up to the cap are all in hand.
        wanted = max(SEARCH_COUNT_CAP, offset + limit) + 1
        params = released_params(self._released, wanted=wanted)
        if long:
            params["phrases"] = phrases
        if short:
            params["grams"] = grams
        async with self._db.read() as db:
            ords = [
                r[0]
                for r in await fetch_all(
                    db,
                    f"{matching} ORDER BY 1 DESC LIMIT :wanted",
                    params,
                )
            ]
            page = ords[offset : offset + limit]
            rows = await fetch_all(
                db,
                f"""
                SELECT {ENTRY_COLUMNS}, d.rendered FROM digests d
                WHERE d.ord IN (SELECT value FROM json_each(:ords)) ORDER BY d.ord DESC
                """,
                {"ords": json.dumps(page)},
            )
        hits = [SearchHit(entry_from_row(r), snippet(r["rendered"], words)) for r in rows]
        exact = len(ords) < wanted
        return SearchPage(
            hits,
            len(ords) if exact else SEARCH_COUNT_CAP,
            total_is_exact=exact,
            has_more=len(ords) > offset + limit,
        )


def query_words(query: str) -> list[str]:
    """A query's distinct words, at most MAX_WORDS; NUL (which would end an FTS query
    early) separates words like a space."""
    words = dict.fromkeys(query.replace("\0", " ").split())
    return list(words)[:MAX_WORDS]


def snippet(text: str, words: list[str]) -> Snippet:
    """About SNIPPET_CHARS characters of the line holding the first match of any word,
    cut between characters and never inside a Latin word, "…" where it was cut."""
    pattern = re.compile(
        "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)), re.IGNORECASE
    )
    found = pattern.search(text) if words else None
    if found is None:  # FTS5 and Python fold case a little differently: show the start
        end = _cut_before(text, min(len(text), SNIPPET_CHARS), len(text))
        head = " ".join(text[:end].split())
        return Snippet(head + ("…" if end < len(text) else ""), "", "")
    line_start = text.rfind("\n", 0, found.start()) + 1
    line_end = text.find("\n", found.end())
    line_end = len(text) if line_end < 0 else line_end
    room = max(SNIPPET_CHARS - len(found[0]), 0)
    start = max(found.start() - room // 3, line_start)
    end = min(found.end() + room - (found.start() - start), line_end)
    start = _cut_after(text, start, found.start())
    end = _cut_before(text, end, found.end())
    before, after = text[start : found.start()], text[found.end() : end]
    return Snippet(
        ("…" if start > line_start else "") + before.lstrip(),
        found[0],
        after.rstrip() + ("…" if end < line_end else ""),
    )


def _cut_after(text: str, start: int, limit: int) -> int:
    """Move a snippet's start forward, up to `limit`, off the middle of a word or of a
    character sequence (a combining mark, a variation selector, a joiner)."""
    while start < limit and start > 0 and _joined(text, start):
        start += 1
    return start


def _cut_before(text: str, end: int, limit: int) -> int:
    """Move a snippet's end back, down to `limit`, off the middle of a word or sequence."""
    while end > limit and end < len(text) and _joined(text, end):
        end -= 1
    return end


def _joined(text: str, at: int) -> bool:
    """Whether cutting `text` at `at` would split a Latin word or a composed character."""
    left, right = text[at - 1], text[at]
    if _WORD_CHAR.fullmatch(left) and _WORD_CHAR.fullmatch(right):
        return True
    return (
        unicodedata.combining(right) > 0
        or right in "\u200d\ufe0e\ufe0f"
        or left == "\u200d"
        or 0x1F3FB <= ord(right) <= 0x1F3FF
    )
