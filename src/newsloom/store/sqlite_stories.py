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

import json
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime

import numpy as np

from newsloom.cluster import EPOCH, Decision, StoryState, is_active
from newsloom.types import Story, StoryMember

__all__ = ["STORY_KEY_DAYS_SCHEMA", "STORY_SCHEMA", "SQLiteStoryIndex", "SQLiteStoryMixin"]

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

Connect = Callable[[str], AbstractContextManager[sqlite3.Connection]]


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _day(moment: datetime) -> int:
    """UTC day number (days since 1970-01-01, floored); a naive time counts as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - EPOCH).days


# Undated stories (updated == EPOCH) are filed under day 0.
_UNDATED_DAY = _day(EPOCH)


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
    if cutoff > _UNDATED_DAY:
        probes.append(
            f"SELECT key, story_id, day, 1 AS part FROM story_key_days"
            f" WHERE key IN ({marks}) AND day = ?"
        )
        params += [*keys, _UNDATED_DAY]
    query = (
        "SELECT story_id, COUNT(*) FROM ("
        " SELECT story_id, ROW_NUMBER() OVER"
        " (PARTITION BY key, part ORDER BY day DESC, story_id DESC) AS rank"
        f" FROM ({' UNION ALL '.join(probes)})"
        ") WHERE rank <= ? GROUP BY story_id"
    )
    return query, [*params, per_key]


def _story_from_row(row: sqlite3.Row) -> StoryState:
    return StoryState(
        id=row["id"],
        title=row["title"],
        first_seen=datetime.fromisoformat(row["first_seen"]),
        updated=datetime.fromisoformat(row["updated"]),
        size=row["size"],
        centroid=np.frombuffer(row["centroid"], dtype=np.float32).copy(),
        terms=json.loads(row["terms"]),
        entities=Counter(json.loads(row["entities"])),
        keys=set(json.loads(row["keys"])),
        merged_into=row["merged_into"],
    )


class SQLiteStoryIndex:
    """``StoryIndex`` over SQLite with write-behind for one batch."""

    def __init__(self, reading: Connect, transaction: Connect) -> None:
        self._reading = reading
        self._transaction = transaction
        self._stories: dict[str, StoryState] = {}
        self._dirty: set[str] = set()  # stories changed in this batch
        # Keys added to each story since the last flush.
        self._added: dict[str, set[str]] = {}
        # The day under which story_key_days holds every key of a stored story
        # (the day of its stored ``updated``).
        self._filed_day: dict[str, int] = {}
        self._merges: list[tuple[str, str, str]] = []
        self._members: list[tuple[str, str, str | None, str]] = []
        self._df_delta: Counter[str] = Counter()
        self._documents_delta = 0
        self._df_cache: dict[str, int] = {}
        self._documents: int | None = None

    # -- StoryIndex --------------------------------------------------------

    def get(self, story_id: str) -> StoryState | None:
        if story_id in self._stories:
            return self._stories[story_id]
        with self._reading("reading a story") as conn:
            row = conn.execute("SELECT * FROM stories WHERE id = ?", (story_id,)).fetchone()
        if row is None:
            return None
        story = _story_from_row(row)
        self._stories[story_id] = story
        if not story.merged_into:
            self._filed_day[story_id] = _day(story.updated)
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
        # Stories changed in this batch are not in the table yet.
        wanted = set(keys)
        for story_id, story in self._stories.items():
            if story_id in self._dirty and is_active(story, active_since):
                overlap = len(wanted & story.keys)
                if overlap:
                    hits[story_id] = max(hits[story_id], overlap)
        out: list[StoryState] = []
        for story_id, _ in sorted(hits.items(), key=lambda kv: (-kv[1], kv[0])):
            story = self.get(story_id)
            if story is not None and not story.merged_into and is_active(story, active_since):
                out.append(story)
            if len(out) >= limit:
                break
        return out

    def save(self, story: StoryState, added_keys: Iterable[str]) -> None:
        self._stories[story.id] = story
        self._added.setdefault(story.id, set()).update(added_keys)
        self._dirty.add(story.id)

    def merge(self, absorbed: StoryState, into: StoryState, article_id: str) -> None:
        absorbed.merged_into = into.id
        self.save(absorbed, ())
        self._merges.append((absorbed.id, into.id, article_id))

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

    def count_document(self, terms: Iterable[str]) -> None:
        self._df_delta.update(set(terms))
        self._documents_delta += 1

    # -- batch -------------------------------------------------------------

    def record(self, decision: Decision, decided_at: datetime | None) -> None:
        self._members.append(
            (
                decision.article_id,
                decision.story_id,
                decided_at.isoformat() if decided_at else None,
                json.dumps(decision.reasons()),
            )
        )

    def flush(self) -> None:
        """Write the batch's stories, keys, memberships, merges and counts at once."""
        if not (self._dirty or self._members or self._df_delta):
            return
        filed: dict[str, int | None] = {}
        with self._transaction("saving stories") as conn:
            for story_id in sorted(self._dirty):
                story = self._stories[story_id]
                updated = story.updated.isoformat()
                conn.execute(
                    "INSERT INTO stories (id, title, first_seen, updated, size, centroid, terms,"
                    " entities, keys, merged_into) VALUES (?,?,?,?,?,?,?,?,?,?)"
                    " ON CONFLICT (id) DO UPDATE SET title=excluded.title,"
                    " first_seen=excluded.first_seen, updated=excluded.updated,"
                    " size=excluded.size, centroid=excluded.centroid, terms=excluded.terms,"
                    " entities=excluded.entities, keys=excluded.keys,"
                    " merged_into=excluded.merged_into",
                    (
                        story.id,
                        story.title,
                        story.first_seen.isoformat(),
                        updated,
                        story.size,
                        np.asarray(story.centroid, dtype=np.float32).tobytes(),
                        json.dumps(story.terms),
                        json.dumps(dict(story.entities)),
                        json.dumps(sorted(story.keys)),
                        story.merged_into,
                    ),
                )
                # Keys are filed under the day of the story's last update, so
                # lookups skip quiet stories.  Rows of earlier days stay (the
                # lookup reads the newest first and checks the exact time): only
                # a new day or new keys cost writes.
                if story.merged_into:
                    conn.execute("DELETE FROM story_key_days WHERE story_id = ?", (story.id,))
                    filed[story.id] = None
                    continue
                day = _day(story.updated)
                before = self._filed_day.get(story.id)
                if before == day:
                    new_keys = sorted(self._added.get(story.id, set()) & story.keys)
                else:
                    new_keys = sorted(story.keys)
                    if before == _UNDATED_DAY:
                        # Keep the undated bucket to stories that are undated.
                        conn.execute(
                            "DELETE FROM story_key_days WHERE story_id = ? AND day = ?",
                            (story.id, _UNDATED_DAY),
                        )
                conn.executemany(
                    "INSERT OR IGNORE INTO story_key_days (key, day, story_id) VALUES (?,?,?)",
                    [(key, day, story.id) for key in new_keys],
                )
                filed[story.id] = day
            seq = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM story_members").fetchone()[0]
            conn.executemany(
                "INSERT OR REPLACE INTO story_members (article_id, story_id, seq, decided_at,"
                " reasons) VALUES (?,?,?,?,?)",
                [(a, s, seq + i + 1, d, r) for i, (a, s, d, r) in enumerate(self._members)],
            )
            for absorbed, into, article_id in self._merges:
                conn.execute(
                    "INSERT OR REPLACE INTO story_merges (absorbed, into_id, article_id)"
                    " VALUES (?,?,?)",
                    (absorbed, into, article_id),
                )
                conn.execute(
                    "UPDATE story_members SET story_id = ? WHERE story_id = ?", (into, absorbed)
                )
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
        for story_id, filed_day in filed.items():
            if filed_day is None:
                self._filed_day.pop(story_id, None)
            else:
                self._filed_day[story_id] = filed_day
        self._added.clear()
        for term, delta in self._df_delta.items():
            self._df_cache[term] = self._df_cache.get(term, 0) + delta
        if self._documents is not None:
            self._documents += self._documents_delta
        self._dirty.clear()
        self._merges.clear()
        self._members.clear()
        self._df_delta.clear()
        self._documents_delta = 0
        # Keep memory bounded across a long ingest: reread stories when needed.
        if len(self._stories) > 5000:
            self._stories.clear()
            self._filed_day.clear()
        if len(self._df_cache) > 200_000:
            self._df_cache.clear()

    def discard(self) -> None:
        """Forget the unflushed batch (after a failure), so nothing half-done is written."""
        self._stories.clear()
        self._dirty.clear()
        self._added.clear()
        self._filed_day.clear()
        self._merges.clear()
        self._members.clear()
        self._df_delta.clear()
        self._documents_delta = 0
        self._documents = None


class SQLiteStoryMixin:
    """Story reads and maintenance for ``SQLiteStore``."""

    _reading: Connect
    _transaction: Connect

    def story_index(self) -> SQLiteStoryIndex:
        return SQLiteStoryIndex(self._reading, self._transaction)

    def _final_story_id(self, conn: sqlite3.Connection, story_id: str) -> str:
        seen: set[str] = set()
        while story_id not in seen:
            seen.add(story_id)
            row = conn.execute(
                "SELECT into_id FROM story_merges WHERE absorbed = ?", (story_id,)
            ).fetchone()
            if row is None:
                break
            story_id = row[0]
        return story_id

    def _story(self, conn: sqlite3.Connection, row: sqlite3.Row) -> Story:
        ids = [
            r[0]
            for r in conn.execute(
                "SELECT article_id FROM story_members WHERE story_id = ? ORDER BY seq",
                (row["id"],),
            )
        ]
        merged = [
            r[0]
            for r in conn.execute(
                "SELECT absorbed FROM story_merges WHERE into_id = ? ORDER BY absorbed",
                (row["id"],),
            )
        ]
        return Story(
            id=row["id"],
            title=row["title"],
            article_ids=ids,
            first_seen=_time(row["first_seen"]),
            updated=_time(row["updated"]),
            merged_from=merged,
        )

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

    def count_stories(self) -> int:
        with self._reading("counting stories") as conn:
            row = conn.execute("SELECT COUNT(*) FROM stories WHERE merged_into IS NULL").fetchone()
            return int(row[0])

    def story_members(self, story_id: str) -> list[StoryMember]:
        with self._reading("reading story members") as conn:
            rows = conn.execute(
                "SELECT article_id, story_id, decided_at, reasons FROM story_members"
                " WHERE story_id = ? ORDER BY seq",
                (story_id,),
            ).fetchall()
        return [StoryMember(r[0], r[1], _time(r[2]), json.loads(r[3])) for r in rows]

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
                "cluster_counters",
            ):  # fmt: skip
                conn.execute(f"DELETE FROM {table}")
            conn.execute("INSERT OR IGNORE INTO pending_story SELECT id FROM articles")

    def iter_article_ids(self) -> Iterator[str]:
        """Every stored article id in the order they were first stored."""
        with self._reading("listing articles") as conn:
            ids = [r[0] for r in conn.execute("SELECT id FROM articles ORDER BY pk")]
        yield from ids
