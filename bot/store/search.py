"""Full-text search over titles, summaries and bodies, newest first.

Three characters or more use FTS5's trigram index (so Chinese works without spaces);
shorter queries, common in Chinese, use the index of one- and two-character strings.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

from bot.store.archive import ENTRY_COLUMNS, DigestEntry, check_window, entry_from_row
from bot.store.db import Database, fetch_all
from bot.store.schema import fold_ascii, gram_token

SNIPPET_CHARS = 60
# Trigram full-text search needs at least three characters; shorter queries use the index
# of one- and two-character strings (`digests_grams`).
MIN_FTS_QUERY = 3
# Search counts matches up to this many and then says "100+": an exact count of a common
# word would cost as much as the search itself.
SEARCH_COUNT_CAP = 100
_MARKUP = re.compile(r"[*#`]+")


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
    """The search index, kept in step with the archive by sync.py."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def find(self, query: str, offset: int, limit: int) -> SearchPage:
        """Digests whose title, summary or body contain the text, newest first.

        The query is plain text, never FTS syntax: three characters or more become one
        quoted trigram phrase; shorter ones (common in Chinese) one token of the
        `digests_grams` index, which matches as `LIKE '%text%'` did (ASCII case folded).
        """
        check_window(offset, limit)
        # NUL would end the query early for FTS5's parser, so it separates words like a space.
        text = " ".join(query.replace("\0", " ").split())
        if not text:
            return SearchPage([], 0, total_is_exact=True, has_more=False)
        if len(text) >= MIN_FTS_QUERY:
            index, arg = "digests_fts", '"' + text.replace('"', '""') + '"'
        else:
            index, arg = "digests_grams", '"' + gram_token(fold_ascii(text)) + '"'
        # Matches come newest first (rowid is `ord`), so this stops once the page, one
        # row past it (is there more?) and the count up to the cap are all in hand.
        wanted = max(SEARCH_COUNT_CAP, offset + limit) + 1
        async with self._db.read() as db:
            ords = [
                r[0]
                for r in await fetch_all(
                    db,
                    f"SELECT rowid FROM {index} WHERE {index} MATCH :q"
                    " ORDER BY rowid DESC LIMIT :wanted",
                    {"q": arg, "wanted": wanted},
                )
            ]
            page = ords[offset : offset + limit]
            rows = await fetch_all(
                db,
                f"""
                SELECT {ENTRY_COLUMNS}, d.body FROM digests d
                WHERE d.ord IN (SELECT value FROM json_each(:ords)) ORDER BY d.ord DESC
                """,
                {"ords": json.dumps(page)},
            )
        hits = [
            SearchHit(entry_from_row(r), _snippet((r["title"], r["summary"], r["body"]), text))
            for r in rows
        ]
        exact = len(ords) < wanted
        return SearchPage(
            hits,
            len(ords) if exact else SEARCH_COUNT_CAP,
            total_is_exact=exact,
            has_more=len(ords) > offset + limit,
        )


def _snippet(texts: Iterable[str], query: str) -> Snippet:
    """About SNIPPET_CHARS characters around the first case-insensitive match, with the
    Markdown emphasis/heading marks dropped and white space collapsed."""
    pattern = re.compile(re.escape(query), re.IGNORECASE)
    texts = [t for t in texts if t]
    for text in texts:
        found = pattern.search(text)
        if found is None:
            continue
        room = max(SNIPPET_CHARS - len(found[0]), 0)
        start = max(found.start() - room // 3, 0)
        end = min(found.end() + room - (found.start() - start), len(text))
        before = ("…" if start > 0 else "") + _plain(text[start : found.start()])
        after = _plain(text[found.end() : end]) + ("…" if end < len(text) else "")
        return Snippet(before.lstrip(), " ".join(found[0].split()), after.rstrip())
    # FTS5 and Python fold case a little differently; show the start rather than nothing.
    text = texts[-1] if texts else ""
    head = _plain(text[:SNIPPET_CHARS]).strip()
    return Snippet(head + ("…" if len(text) > SNIPPET_CHARS else ""), "", "")


def _plain(text: str) -> str:
    return re.sub(r"\s+", " ", _MARKUP.sub("", text))
