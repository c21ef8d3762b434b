"""Stories in SQLite: the clusterer's index, memberships with reasons, merges.

``SQLiteStoryIndex`` implements ``cluster.StoryIndex`` over the store.  It
reads through to the database and keeps the writes of one batch in memory
until ``flush``, which writes them in one transaction: a crash mid-batch
leaves the stories as they were before the batch, and the articles of that
batch are clustered again on the next run (``articles_without_story``).

Candidate lookup goes through ``story_key_days (key, day, story_id)``: a
story's keys are filed under each UTC day on which it was last updated at a
flush, so only stories active since the cut-off day are read for each key and
the cost of placing an article does not grow with the number of quiet stories.
A story that gains articles on the day it already has rows for writes only
its new keys; a flush used to delete and re-insert every key of a changed
story because the exact ``updated`` time was part of the key (migration 7,
bench/growth.py).  The exact time is still checked on the story itself.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime

from newsloom.cluster import Member, StoryState, is_active
from newsloom.store.rows import (
    MEMBER_COLUMNS,
    STORY_COLUMNS,
    UNDATED_DAY,
    member_from_row,
    story_state_from_row,
)
from newsloom.store.rows import utc_day as _day
from newsloom.store.shared_reads import SharedStoryReads
from newsloom.store.story_batch import StoryBatch
from newsloom.types import Story

__all__ = [
    "MEMBER_FEATURES_SCHEMA",
    "STORY_KEY_DAYS_SCHEMA",
    "STORY_SCHEMA",
    "SQLiteStoryIndex",
    "SQLiteStoryMixin",
]

_MEMBER_SELECT = ", ".join(f"f.{c.strip()}" for c in MEMBER_COLUMNS.split(","))

STORY_SCHEMA: tuple[str, ...] = (
    """
    CREATE TABLE stories (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        first_seen TEXT NOT NULL,
        updated TEXT NOT NULL,
        size INTEGER NOT NULL,
        centroid BLOB NOT NULL,
        terms TEXT NOT NULL,
        entities TEXT NOT NULL,
        keys TEXT NOT NULL,
        merged_into TEXT
    )
    """,
    "CREATE INDEX stories_updated ON stories (updated)",
    """
    CREATE TABLE story_keys (
        key TEXT NOT NULL,
        updated TEXT NOT NULL,
        story_id TEXT NOT NULL,
        PRIMARY KEY (key, updated, story_id)
    ) WITHOUT ROWID
    """,
    "CREATE INDEX story_keys_story ON story_keys (story_id)",
    """
    CREATE TABLE story_members (
        article_id TEXT PRIMARY KEY,
        story_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        decided_at TEXT,
        reasons TEXT NOT NULL
    )
    """,
    "CREATE INDEX story_members_story ON story_members (story_id, seq)",
    """
    CREATE TABLE story_merges (
        absorbed TEXT PRIMARY KEY,
        into_id TEXT NOT NULL,
        article_id TEXT NOT NULL
    )
    """,
    "CREATE TABLE term_df (term TEXT PRIMARY KEY, df INTEGER NOT NULL) WITHOUT ROWID",
    "CREATE TABLE cluster_counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
)

# SQL for the UTC day number (days since 1970-01-01, floored) of an ISO time.
_SQL_DAY = (
    "((CAST(strftime('%s', {0}) AS INTEGER)"
    " - ((CAST(strftime('%s', {0}) AS INTEGER) % 86400) + 86400) % 86400) / 86400)"
)

# Migration 7: story keys filed by the day of the story's last update instead
# of its exact time, so that a flush adds rows only for new keys or a new day.
# IF NOT EXISTS throughout, so a file rebuilt by hand at an older version from
# a newer one (as tests do) migrates too.
STORY_KEY_DAYS_SCHEMA: tuple[str, ...] = (
    """
    CREATE TABLE IF NOT EXISTS story_key_days (
        key TEXT NOT NULL,
        day INTEGER NOT NULL,
        story_id TEXT NOT NULL,
        PRIMARY KEY (key, day, story_id)
    ) WITHOUT ROWID
    """,
    "CREATE INDEX IF NOT EXISTS story_key_days_story ON story_key_days (story_id)",
    """
    CREATE TABLE IF NOT EXISTS story_keys (
        key TEXT NOT NULL, updated TEXT NOT NULL, story_id TEXT NOT NULL,
        PRIMARY KEY (key, updated, story_id)
    ) WITHOUT ROWID
    """,
    "INSERT OR IGNORE INTO story_key_days (key, day, story_id)"
    f" SELECT key, {_SQL_DAY.format('updated')}, story_id FROM story_keys",
    "DROP TABLE story_keys",
)

# Migration 9: what a story keeps of each member (so that it can split again
# when a join shows it holds two groups), and the splits.  Stories made before
# have no member rows and are not tested for a split.  IF NOT EXISTS as in 7.
# article_features is a rowid table: its rows (about 2 KB) are far above the
# twentieth of a page that suits WITHOUT ROWID, which stored them in overflow
# pages at 4.7 KB a row (bench/growth.py, 5k articles).
MEMBER_FEATURES_SCHEMA: tuple[str, ...] = (
    """
    CREATE TABLE IF NOT EXISTS article_features (
        article_id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        published TEXT,
        embedding BLOB NOT NULL,
        terms TEXT NOT NULL,
        entities TEXT NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS story_splits (
        part_id TEXT PRIMARY KEY,
        story_id TEXT NOT NULL,
        article_id TEXT NOT NULL
    ) WITHOUT ROWID
    """,
    "CREATE INDEX IF NOT EXISTS story_splits_story ON story_splits (story_id)",
)

Connect = Callable[[str], AbstractContextManager[sqlite3.Connection]]


def _candidate_query(keys: list[str], cutoff: int, per_key: int) -> tuple[str, list[object]]:
    """SQL counting, per story, the keys for which it is among the newest ``per_key``.

    Per key, two range probes (stories updated since the cut-off day, and
    undated stories) rather than an OR, which would make SQLite read every row
    of the key, quiet stories too; each keeps its newest ``per_key`` stories.  A
    story has rows for each day it was flushed on, so it is ranked by its newest
    row and counts once per key.  Stories of the cut-off day that went quiet
    earlier that day are dropped by the caller by their exact ``updated``.
    """
    marks = ",".join("?" * len(keys))
    probes = [
        f"SELECT key, story_id, MAX(day) AS day, 0 AS part FROM story_key_days"
        f" WHERE key IN ({marks}) AND day >= ? GROUP BY key, story_id"
    ]
    params: list[object] = [*keys, cutoff]
    if cutoff > UNDATED_DAY:
        probes.append(
            f"SELECT key, story_id, day, 1 AS part FROM story_key_days"
            f" WHERE key IN ({marks}) AND day = ?"
        )
        params += [*keys, UNDATED_DAY]
    query = (
        "SELECT story_id, COUNT(*) FROM ("
        " SELECT story_id, ROW_NUMBER() OVER"
        " (PARTITION BY key, part ORDER BY day DESC, story_id DESC) AS rank"
        f" FROM ({' UNION ALL '.join(probes)})"
        ") WHERE rank <= ? GROUP BY story_id"
    )
    return query, [*params, per_key]


class SQLiteStoryIndex(StoryBatch):
    """``StoryIndex`` over SQLite with write-behind for one batch."""

    def __init__(self, reading: Connect, transaction: Connect) -> None:
        super().__init__()
        self._reading = reading
        self._transaction = transaction

    # -- StoryIndex --------------------------------------------------------

    def get(self, story_id: str) -> StoryState | None:
        if story_id in self._stories:
            return self._stories[story_id]
        with self._reading("reading a story") as conn:
            row = conn.execute(
                f"SELECT {STORY_COLUMNS} FROM stories WHERE id = ?", (story_id,)
            ).fetchone()
        if row is None:
            return None
        story = story_state_from_row(row)
        self._cache(story)
        return story

    def candidates(
        self, keys: Sequence[str], active_since: datetime, limit: int, per_key: int
    ) -> list[StoryState]:
        if not keys or limit <= 0:
            return []
        cutoff = _day(active_since)
        hits: Counter[str] = Counter()
        unique = list(dict.fromkeys(keys))
        with self._reading("finding candidate stories") as conn:
            # Keys are ranked independently, so chunks (bounding the number of
            # SQL variables for a page with thousands of entities) add up.
            for start in range(0, len(unique), 2000):
                hits.update(
                    dict(
                        conn.execute(
                            *_candidate_query(unique[start : start + 2000], cutoff, per_key)
                        ).fetchall()
                    )
                )
        self._add_dirty_hits(hits, keys, active_since)
        out: list[StoryState] = []
        for story_id, _ in sorted(hits.items(), key=lambda kv: (-kv[1], kv[0])):
            story = self.get(story_id)
            if story is not None and not story.merged_into and is_active(story, active_since):
                out.append(story)
            if len(out) >= limit:
                break
        return out

    def _stored_members(self, story_ids: Sequence[str]) -> list[tuple[str, int, Member]]:
        marks = ",".join("?" * len(story_ids))
        with self._reading("reading story members") as conn:
            rows = conn.execute(
                f"SELECT m.article_id, m.seq, {_MEMBER_SELECT} FROM story_members AS m"
                " JOIN article_features AS f ON f.article_id = m.article_id"
                f" WHERE m.story_id IN ({marks})",
                list(story_ids),
            ).fetchall()
        return [(row[0], row[1], member_from_row(row[2:])) for row in rows]

    def document_frequencies(self, terms: Iterable[str]) -> tuple[dict[str, int], int]:
        terms = list(terms)
        missing = [t for t in terms if t not in self._df_cache]
        with self._reading("reading term frequencies") as conn:
            for start in range(0, len(missing), 500):
                chunk = missing[start : start + 500]
                marks = ",".join("?" * len(chunk))
                found = dict(
                    conn.execute(f"SELECT term, df FROM term_df WHERE term IN ({marks})", chunk)
                )
                for term in chunk:
                    self._df_cache[term] = found.get(term, 0)
            if self._documents is None:
                row = conn.execute(
                    "SELECT value FROM cluster_counters WHERE name = 'documents'"
                ).fetchone()
                self._documents = row[0] if row else 0
        df = {t: self._df_cache[t] + self._df_delta[t] for t in terms}
        return df, self._documents + self._documents_delta

    # -- batch -------------------------------------------------------------

    def flush(self) -> None:
        """Write the batch's stories, keys, memberships, merges and counts at once."""
        if not self._has_writes():
            return
        writes = self._story_writes()
        with self._transaction("saving stories") as conn:
            conn.executemany(
                f"INSERT INTO stories ({STORY_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)"
                " ON CONFLICT (id) DO UPDATE SET title=excluded.title,"
                " first_seen=excluded.first_seen, updated=excluded.updated,"
                " size=excluded.size, centroid=excluded.centroid, terms=excluded.terms,"
                " entities=excluded.entities, keys=excluded.keys,"
                " merged_into=excluded.merged_into",
                writes.stories,
            )
            conn.executemany(
                "DELETE FROM story_key_days WHERE story_id = ?", [(i,) for i in writes.unfiled]
            )
            conn.executemany(
                "DELETE FROM story_key_days WHERE story_id = ? AND day = ?",
                [(i, UNDATED_DAY) for i in writes.undated],
            )
            conn.executemany(
                "INSERT OR IGNORE INTO story_key_days (key, day, story_id) VALUES (?,?,?)",
                writes.keys,
            )
            seq = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM story_members").fetchone()[0]
            conn.executemany(
                "INSERT OR REPLACE INTO story_members (article_id, story_id, seq, decided_at,"
                " reasons) VALUES (?,?,?,?,?)",
                self._member_rows(seq),
            )
            # In order: a story absorbed by one absorbed later in the batch moves twice.
            for statement, values in self._member_statements("?"):
                conn.execute(statement, values)
            conn.executemany(
                "INSERT INTO term_df (term, df) VALUES (?, ?)"
                " ON CONFLICT (term) DO UPDATE SET df = df + excluded.df",
                sorted(self._df_delta.items()),
            )
            conn.execute(
                "INSERT INTO cluster_counters (name, value) VALUES ('documents', ?)"
                " ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
                (self._documents_delta,),
            )
        self._flushed(writes.filed)
        # Keep memory bounded across a long ingest: reread stories when needed.
        if len(self._stories) > 5000:
            self._stories.clear()
            self._filed_day.clear()
        if len(self._df_cache) > 200_000:
            self._df_cache.clear()

    def discard(self) -> None:
        """Forget the unflushed batch (after a failure), so nothing half-done is written."""
        self._forget()


class SQLiteStoryMixin(SharedStoryReads):
    """Story reads and maintenance for ``SQLiteStore``."""

    _MARK = "?"
    _reading: Connect
    _transaction: Connect

    def story_index(self) -> SQLiteStoryIndex:
        return SQLiteStoryIndex(self._reading, self._transaction)

    def get_story(self, story_id: str) -> Story | None:
        """A story by id (or unique prefix); a merged-away id leads to its survivor."""
        with self._reading("reading a story") as conn:
            rows = conn.execute(
                "SELECT id FROM stories WHERE id >= ? AND id < ? LIMIT 2",
                (story_id, story_id + "\uffff"),
            ).fetchall()
            if len(rows) != 1 and not any(r[0] == story_id for r in rows):
                return None
            found = story_id if any(r[0] == story_id for r in rows) else rows[0][0]
            final = self._final_story_id(conn, found)
            row = conn.execute("SELECT * FROM stories WHERE id = ?", (final,)).fetchone()
            return self._story(conn, row) if row else None

    def iter_stories(
        self, *, since: datetime | None = None, limit: int = 50, offset: int = 0
    ) -> list[Story]:
        """Live stories, most recently updated first."""
        with self._reading("listing stories") as conn:
            rows = conn.execute(
                "SELECT * FROM stories WHERE merged_into IS NULL AND updated >= ?"
                " ORDER BY updated DESC, id LIMIT ? OFFSET ?",
                (since.isoformat() if since else "", limit, offset),
            ).fetchall()
            return [self._story(conn, row) for row in rows]

    def stories_of(self, article_ids: Sequence[str]) -> dict[str, str]:
        """Article id → story id, for the ids that have a story."""
        out: dict[str, str] = {}
        with self._reading("reading story members") as conn:
            for start in range(0, len(article_ids), 500):
                chunk = list(article_ids[start : start + 500])
                marks = ",".join("?" * len(chunk))
                out.update(
                    conn.execute(
                        f"SELECT article_id, story_id FROM story_members"
                        f" WHERE article_id IN ({marks})",
                        chunk,
                    ).fetchall()
                )
        return out

    def articles_without_story(self, limit: int = 1000) -> list[str]:
        """Stored articles no story has claimed yet, oldest stored first."""
        with self._reading("finding unclustered articles") as conn:
            return [
                r[0]
                for r in conn.execute(
                    # CROSS JOIN: the queue drives the loop (see articles_without_fingerprints).
                    "SELECT a.id FROM pending_story p CROSS JOIN articles a ON a.id = p.article_id"
                    " ORDER BY a.pk LIMIT ?",
                    (limit,),
                )
            ]

    def clear_stories(self) -> None:
        """Forget every story, for a rebuild from scratch."""
        with self._transaction("clearing stories") as conn:
            for table in (
                "stories", "story_key_days", "story_members", "story_merges", "term_df",
                "cluster_counters", "article_features", "story_splits",
            ):  # fmt: skip
                conn.execute(f"DELETE FROM {table}")
            conn.execute("INSERT OR IGNORE INTO pending_story SELECT id FROM articles")
