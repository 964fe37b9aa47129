"""The database's shape: append-only migrations, and the SQL function they rely on.

Each migration is a list of statements run in one transaction that also bumps
`PRAGMA user_version`; never edit a released one, append a new one.
"""

from __future__ import annotations

MIGRATIONS: list[tuple[str, ...]] = [
    # 1: the archive index.
    (
        """
        CREATE TABLE digests (
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL UNIQUE,
            slug TEXT NOT NULL UNIQUE,
            date TEXT NOT NULL,
            title TEXT NOT NULL,
            category TEXT NOT NULL DEFAULT '',
            tags TEXT NOT NULL DEFAULT '[]',
            summary TEXT NOT NULL DEFAULT '',
            cover TEXT,
            content_hash TEXT NOT NULL,
            mtime_ns INTEGER NOT NULL,
            size INTEGER NOT NULL,
            body TEXT NOT NULL,
            indexed_at TEXT NOT NULL
        )
        """,
        "CREATE INDEX digests_by_date ON digests (date, slug)",
        """
        CREATE TABLE digest_tags (
            digest_id INTEGER NOT NULL REFERENCES digests (id) ON DELETE CASCADE,
            tag TEXT NOT NULL,
            tag_key TEXT NOT NULL,
            PRIMARY KEY (digest_id, tag_key)
        ) WITHOUT ROWID
        """,
        "CREATE INDEX digest_tags_by_key ON digest_tags (tag_key, tag)",
        """
        CREATE TABLE load_failures (
            path TEXT PRIMARY KEY,
            reason TEXT NOT NULL,
            mtime_ns INTEGER NOT NULL,
            size INTEGER NOT NULL,
            seen_at TEXT NOT NULL,
            -- Set when the file is valid but its slug is taken: such files are retried on
            -- every sync, since the other file may have gone.
            slug TEXT
        )
        """,
        # Kept in step by this module in the same transactions, not by triggers: FTS5
        # flushes its pending index at every trigger's savepoint, which made a sync 3x
        # slower.
        """
        CREATE VIRTUAL TABLE digests_fts USING fts5 (
            title, summary, body,
            content = 'digests', content_rowid = 'id', tokenize = 'trigram'
        )
        """,
    ),
    # 2: the publication ledger.
    (
        """
        CREATE TABLE publications (
            id INTEGER PRIMARY KEY,
            slug TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            chat TEXT NOT NULL,
            thread_id INTEGER NOT NULL DEFAULT 0,
            round INTEGER NOT NULL CHECK (round >= 1),
            state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done')),
            part_count INTEGER NOT NULL CHECK (part_count >= 1),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            finished_at TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            UNIQUE (slug, chat, thread_id, round)
        )
        """,
        "CREATE INDEX publications_by_chat ON publications (chat, thread_id, slug)",
        "CREATE INDEX publications_by_update ON publications (updated_at)",
        "CREATE INDEX publications_pending ON publications (state) WHERE state = 'pending'",
        """
        CREATE TABLE publication_parts (
            publication_id INTEGER NOT NULL REFERENCES publications (id) ON DELETE CASCADE,
            idx INTEGER NOT NULL CHECK (idx >= 0),
            payload TEXT NOT NULL,
            message_id INTEGER,
            sent_at TEXT,
            PRIMARY KEY (publication_id, idx)
        ) WITHOUT ROWID
        """,
    ),
    # 3: search pages cost a page, not every match.
    (
        # `ord` sorts as (date, slug) does: the day's number (Python's date.toordinal())
        # times 1024 (`DAY_SLOTS` in sync.py), plus the rank by slug among that day's digests. It is
        # the rowid of both full-text tables, so FTS5 hands out matches newest first, and
        # a page of a common word stops as soon as it is full.
        "ALTER TABLE digests ADD COLUMN ord INTEGER",
        """
        UPDATE digests SET ord = CAST(julianday(date) - 1721424.5 AS INTEGER) * 1024 + (
            SELECT count(*) FROM digests e WHERE e.date = digests.date AND e.slug < digests.slug
        )
        """,
        "CREATE UNIQUE INDEX digests_by_ord ON digests (ord)",
        "DROP TABLE digests_fts",
        """
        CREATE VIRTUAL TABLE digests_fts USING fts5 (
            title, summary, body,
            content = 'digests', content_rowid = 'ord', tokenize = 'trigram'
        )
        """,
        "INSERT INTO digests_fts (digests_fts) VALUES ('rebuild')",
        # One- and two-character queries used to scan every body with LIKE. This index
        # lists, for each digest, every distinct one- and two-character string of its
        # title, summary and body (see `search_grams`), so such a query is one token.
        # Contentless, to keep no second copy of the text: a row is forgotten by passing
        # `search_grams` of the same fields again, so that function must never change
        # without a new migration that rebuilds this table.
        """
        CREATE VIRTUAL TABLE digests_grams USING fts5 (
            grams, content = '', detail = 'none', columnsize = 0, tokenize = 'ascii'
        )
        """,
        """
        INSERT INTO digests_grams (rowid, grams)
        SELECT ord, search_grams(title, summary, body) FROM digests
        """,
    ),
    # 4 (members): search what members read, and remember who has talked to the bot.
    (
        # The full-text tables index the rendered messages (`rendered`: what members
        # read, no Markdown) instead of title, summary and body. Rendering needs Python:
        # until the next sync (the bot syncs before it serves) an entry is searched by
        # its Markdown, and the emptied content_hash makes that sync index it again.
        "ALTER TABLE digests ADD COLUMN rendered TEXT NOT NULL DEFAULT ''",
        """
        UPDATE digests SET rendered = title || char(10) || summary || char(10) || body,
                           content_hash = '', mtime_ns = -1
        """,
        "DROP TABLE digests_fts",
        """
        CREATE VIRTUAL TABLE digests_fts USING fts5 (
            rendered, content = 'digests', content_rowid = 'ord', tokenize = 'trigram'
        )
        """,
        "INSERT INTO digests_fts (digests_fts) VALUES ('rebuild')",
        "DROP TABLE digests_grams",
        """
        CREATE VIRTUAL TABLE digests_grams USING fts5 (
            grams, content = '', detail = 'none', columnsize = 0, tokenize = 'ascii'
        )
        """,
        "INSERT INTO digests_grams (rowid, grams) SELECT ord, search_grams(rendered) FROM digests",
        # Members who have started the bot in private, so that a first contact is greeted.
        """
        CREATE TABLE members (
            user_id INTEGER PRIMARY KEY,
            first_seen TEXT NOT NULL
        )
        """,
    ),
    # 5: publishing — identity by date and content, attempts that may have reached
    # Telegram, and the highest bot message id known per chat (see ledger.py).
    (
        "ALTER TABLE publications ADD COLUMN digest_date TEXT",
        """
        UPDATE publications SET digest_date = (
            SELECT d.date FROM digests d WHERE d.slug = publications.slug
        )
        """,
        "CREATE INDEX publications_by_day ON publications (chat, thread_id, digest_date)",
        # The payload as it was last sent (a fallback may differ from `payload`), when
        # that send started, and the chat id it went to: set before the request leaves.
        "ALTER TABLE publication_parts ADD COLUMN attempt TEXT",
        "ALTER TABLE publication_parts ADD COLUMN attempt_started_at TEXT",
        "ALTER TABLE publication_parts ADD COLUMN attempt_chat TEXT",
        # The bot message ids between which an unconfirmed attempt can have landed.
        "ALTER TABLE publication_parts ADD COLUMN probe_after INTEGER",
        "ALTER TABLE publication_parts ADD COLUMN probe_before INTEGER",
        """
        CREATE TABLE chat_anchors (
            chat TEXT PRIMARY KEY,
            message_id INTEGER NOT NULL,
            -- 1 for supergroups and channels, whose message ids count up per chat.
            sequential INTEGER NOT NULL DEFAULT 0,
            updated_at TEXT NOT NULL
        ) WITHOUT ROWID
        """,
    ),
]
SCHEMA_VERSION = len(MIGRATIONS)


def search_grams(*fields: str) -> str:
    """A digest's `digests_grams` document: the tokens of the distinct one- and
    two-character strings of its fields (migration 3: title, summary, body; since 4: the
    rendered text), case folded as LIKE folds. The SQL function `search_grams`."""
    # Each run of white space becomes one space, and strings holding it are left out: no
    # query holds white space (`search` splits it away). The space between fields keeps
    # a string from spanning two of them.
    text = " ".join(fold_ascii("\n".join(fields)).split())
    grams = set(text)
    grams.update(map(str.__add__, text, text[1:]))
    # In no particular order: with detail = 'none' a token's place does not matter.
    return " ".join([gram_token(g) for g in grams if " " not in g])


def gram_token(gram: str) -> str:
    """A string as one token of FTS5's ascii tokenizer (letters and digits only), which
    also keeps user input from ever being read as query syntax."""
    return gram.encode().hex()


def fold_ascii(text: str) -> str:
    """A-Z to a-z and nothing else, as SQLite's LIKE compares."""
    return text.encode().lower().decode()
