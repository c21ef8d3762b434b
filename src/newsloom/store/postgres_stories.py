"""Stories in PostgreSQL: the clusterer's index, memberships with reasons, merges.

``PostgresStoryIndex`` implements ``cluster.StoryIndex`` with the semantics
of ``SQLiteStoryIndex`` (write-behind for one batch, ``flush`` writes it in
one transaction, ``discard`` forgets it, keys filed by day), plus the
cross-process discipline described in ``store/postgres.py``: the batch's
transaction starts at its first read and holds ``STORIES_LOCK`` until
``flush`` commits, so every read a placement decision depends on sees the
stories other workers committed before.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

import psycopg

from newsloom.cluster import Member, StoryState, is_active
from newsloom.errors import PlacementConflictError
from newsloom.store.rows import (
    MEMBER_COLUMNS,
    STORY_COLUMNS,
    UNDATED_DAY,
    member_from_row,
    story_from_row,
    story_state_from_row,
    utc_day,
)
from newsloom.store.shared_reads import SharedStoryReads
from newsloom.store.story_batch import StoryBatch, StoryWrites
from newsloom.types import Story

if TYPE_CHECKING:
    from newsloom.store.postgres import PostgresStore

__all__ = ["PostgresStoryIndex", "PostgresStoryMixin"]


def _candidate_query(keys: list[str], cutoff: int, per_key: int) -> tuple[str, list[object]]:
    """Per story, the number of keys for which it is among the newest ``per_key``
    (see ``sqlite_stories._candidate_query``: the same ranking, same ties)."""
    probes = [
        "SELECT key, story_id, MAX(day) AS day, 0 AS part FROM story_key_days"
        " WHERE key = ANY(%s) AND day >= %s GROUP BY key, story_id"
    ]
    params: list[object] = [keys, cutoff]
    if cutoff > UNDATED_DAY:
        probes.append(
            "SELECT key, story_id, day, 1 AS part FROM story_key_days"
            " WHERE key = ANY(%s) AND day = %s"
        )
        params += [keys, UNDATED_DAY]
    query = (
        "SELECT story_id, COUNT(*) FROM ("
        " SELECT story_id, ROW_NUMBER() OVER"
        " (PARTITION BY key, part ORDER BY day DESC, story_id DESC) AS rank"
        f" FROM ({' UNION ALL '.join(probes)}) AS probes"
        ") AS ranked WHERE rank <= %s GROUP BY story_id"
    )
    return query, [*params, per_key]


class PostgresStoryIndex(StoryBatch):
    """``StoryIndex`` over PostgreSQL with write-behind for one locked batch."""

    def __init__(self, store: PostgresStore) -> None:
        super().__init__()
        self._store = store
        self._open = False  # a batch transaction holding STORIES_LOCK is open

    # -- the batch transaction ---------------------------------------------

    @contextmanager
    def _batch(self, action: str) -> Iterator[psycopg.Connection[Any]]:
        """The batch's connection, opening the transaction and taking the lock
        on first use; a database error becomes a ``StoreError``."""
        from newsloom.store.postgres import STORIES_LOCK

        store = self._store
        if not self._open:
            conn = store._begin(action)
            try:
                store._take(conn, STORIES_LOCK)
            except BaseException as exc:
                store._end(action, commit=False)
                if isinstance(exc, psycopg.Error):
                    raise store._error(action, exc) from exc
                raise
            self._open = True
            # Another worker may have changed any story or count since the
            # last batch: read everything afresh under the lock.
            self._stories.clear()
            self._filed_day.clear()
            self._df_cache.clear()
            self._documents = None
        try:
            yield store._connection()
        except psycopg.Error as exc:
            raise store._error(action, exc) from exc

    def _finish(self, action: str, *, commit: bool) -> None:
        if self._open:
            self._open = False
            self._store._end(action, commit=commit)

    # -- StoryIndex --------------------------------------------------------

    def get(self, story_id: str) -> StoryState | None:
        if story_id not in self._stories:
            self._load([story_id])
        return self._stories.get(story_id)

    def _load(self, story_ids: Sequence[str]) -> None:
        """Read the stories not cached yet, in one query."""
        missing = [i for i in dict.fromkeys(story_ids) if i not in self._stories]
        if not missing:
            return
        with self._batch("reading stories") as conn:
            rows = conn.execute(
                f"SELECT {STORY_COLUMNS} FROM stories WHERE id = ANY(%s)", (missing,)
            ).fetchall()
        for row in rows:
            self._cache(story_state_from_row(row))

    def _stored_members(self, story_ids: Sequence[str]) -> list[tuple[str, int, Member]]:
        columns = ", ".join(f"f.{c.strip()}" for c in MEMBER_COLUMNS.split(","))
        with self._batch("reading story members") as conn:
            rows = conn.execute(
                f"SELECT m.article_id, m.seq, {columns} FROM story_members AS m"
                " JOIN article_features AS f ON f.article_id = m.article_id"
                " WHERE m.story_id = ANY(%s)",
                (list(story_ids),),
            ).fetchall()
        return [(row[0], int(row[1]), member_from_row(row[2:])) for row in rows]

    def candidates(
        self, keys: Sequence[str], active_since: datetime, limit: int, per_key: int
    ) -> list[StoryState]:
        if not keys or limit <= 0:
            return []
        cutoff = utc_day(active_since)
        hits: Counter[str] = Counter()
        unique = list(dict.fromkeys(keys))
        with self._batch("finding candidate stories") as conn:
            # Keys are ranked independently, so chunks add up.
            for start in range(0, len(unique), 2000):
                query, params = _candidate_query(unique[start : start + 2000], cutoff, per_key)
                hits.update(dict(conn.execute(query, params).fetchall()))
        self._add_dirty_hits(hits, keys, active_since)
        out: list[StoryState] = []
        ranked = [story_id for story_id, _ in sorted(hits.items(), key=lambda kv: (-kv[1], kv[0]))]
        # Stories are read a chunk at a time in rank order: usually the first
        # chunk fills the list, in one query.
        for start in range(0, len(ranked), max(limit, 1)):
            chunk = ranked[start : start + max(limit, 1)]
            self._load(chunk)
            for story_id in chunk:
                story = self._stories.get(story_id)
                if story is not None and not story.merged_into and is_active(story, active_since):
                    out.append(story)
                if len(out) >= limit:
                    return out
        return out

    def document_frequencies(self, terms: Iterable[str]) -> tuple[dict[str, int], int]:
        terms = list(terms)
        with self._batch("reading term frequencies") as conn:
            missing = [t for t in dict.fromkeys(terms) if t not in self._df_cache]
            if missing:
                found = dict(
                    conn.execute(
                        "SELECT term, df FROM term_df WHERE term = ANY(%s)", (missing,)
                    ).fetchall()
                )
                for term in missing:
                    self._df_cache[term] = found.get(term, 0)
            if self._documents is None:
                row = conn.execute(
                    "SELECT value FROM cluster_counters WHERE name = 'documents'"
                ).fetchone()
                self._documents = int(row[0]) if row else 0
        df = {t: self._df_cache[t] + self._df_delta[t] for t in terms}
        return df, self._documents + self._documents_delta

    # -- batch -------------------------------------------------------------

    def flush(self) -> None:
        """Write the batch's stories, keys, memberships, merges and counts, and
        commit (releasing the lock)."""
        action = "saving stories"
        if not self._has_writes():
            self._finish(action, commit=True)
            return
        try:
            with self._batch(action) as conn:
                self._refuse_placed(conn)
                # Planned once the batch is open: opening it rereads the caches.
                writes = self._story_writes()
                self._write(conn, writes)
        except BaseException:
            self._finish(action, commit=False)
            raise
        self._finish(action, commit=True)
        self._flushed(writes.filed)

    def _refuse_placed(self, conn: psycopg.Connection[Any]) -> None:
        """Refuse the batch if another worker placed one of its articles after
        this worker checked (``stories_of``) and before it took the lock."""
        ids = [member[0] for member in self._members]
        if not ids:
            return
        taken = conn.execute(
            "SELECT article_id, story_id FROM story_members WHERE article_id = ANY(%s) LIMIT 3",
            (ids,),
        ).fetchall()
        if taken:
            shown = ", ".join(f"{a!r} (story {s!r})" for a, s in taken)
            raise PlacementConflictError(
                f"{self._store._where}: another worker placed {shown} while this batch was "
                "being clustered; the batch was not saved"
            )

    def _write(self, conn: psycopg.Connection[Any], writes: StoryWrites) -> None:
        rows, keys, unfiled, undated = writes.stories, writes.keys, writes.unfiled, writes.undated
        with conn.cursor() as cur:
            if rows:
                cur.executemany(
                    f"INSERT INTO stories ({STORY_COLUMNS})"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                    " ON CONFLICT (id) DO UPDATE SET title = excluded.title,"
                    " first_seen = excluded.first_seen, updated = excluded.updated,"
                    " size = excluded.size, centroid = excluded.centroid,"
                    " terms = excluded.terms, entities = excluded.entities,"
                    " keys = excluded.keys, merged_into = excluded.merged_into",
                    rows,
                )
            if unfiled:
                cur.execute("DELETE FROM story_key_days WHERE story_id = ANY(%s)", (unfiled,))
            if undated:
                cur.execute(
                    "DELETE FROM story_key_days WHERE story_id = ANY(%s) AND day = %s",
                    (undated, UNDATED_DAY),
                )
            if keys:
                cur.execute(
                    "INSERT INTO story_key_days (key, day, story_id)"
                    " SELECT * FROM unnest(%s::text[], %s::int[], %s::text[])"
                    " ON CONFLICT DO NOTHING",
                    ([k for k, _, _ in keys], [d for _, d, _ in keys], [i for _, _, i in keys]),
                )
            seq = cur.execute("SELECT COALESCE(MAX(seq), 0) FROM story_members").fetchone()[0]
            if self._members:
                cur.executemany(
                    "INSERT INTO story_members (article_id, story_id, seq, decided_at, reasons)"
                    " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (article_id) DO UPDATE SET"
                    " story_id = excluded.story_id, seq = excluded.seq,"
                    " decided_at = excluded.decided_at, reasons = excluded.reasons",
                    self._member_rows(seq),
                )
            # In order: a story absorbed by one that is absorbed later in the
            # batch moves twice, as in SQLite.
            for statement, values in self._member_statements("%s"):
                cur.execute(statement, values)
            if self._df_delta:
                terms = sorted(self._df_delta)
                cur.execute(
                    "INSERT INTO term_df (term, df)"
                    " SELECT * FROM unnest(%s::text[], %s::int[])"
                    " ON CONFLICT (term) DO UPDATE SET df = term_df.df + excluded.df",
                    (terms, [self._df_delta[t] for t in terms]),
                )
            cur.execute(
                "INSERT INTO cluster_counters (name, value) VALUES ('documents', %s)"
                " ON CONFLICT (name) DO UPDATE SET"
                " value = cluster_counters.value + excluded.value",
                (self._documents_delta,),
            )

    def discard(self) -> None:
        """Forget the unflushed batch (after a failure) and roll its transaction back."""
        try:
            self._finish("discarding a batch", commit=False)
        finally:
            self._forget()


class PostgresStoryMixin(SharedStoryReads):
    """Story reads and maintenance for ``PostgresStore``."""

    _MARK = "%s"

    # Provided by PostgresStore.
    _where: str
    _reading: Callable[[str], AbstractContextManager[psycopg.Connection[Any]]]
    _transaction: Callable[..., AbstractContextManager[psycopg.Connection[Any]]]

    def story_index(self) -> PostgresStoryIndex:
        return PostgresStoryIndex(self)

    def get_story(self, story_id: str) -> Story | None:
        """A story by id (or unique prefix); a merged-away id leads to its survivor."""
        if not isinstance(story_id, str) or "\x00" in story_id:
            return None
        query = "SELECT id, title, first_seen, updated, merged_into FROM stories WHERE id = %s"
        with self._reading("reading a story") as conn:
            # The full id (what pages link to) is one read; a prefix takes two.
            row = conn.execute(query, (story_id,)).fetchone()
            if row is None:
                rows = conn.execute(
                    "SELECT id FROM stories WHERE id >= %s AND id < %s LIMIT 2",
                    (story_id, story_id + "\uffff"),
                ).fetchall()
                if len(rows) != 1:
                    return None
                row = conn.execute(query, (rows[0][0],)).fetchone()
            if row is not None and row[4] is not None:  # merged away: show the survivor
                row = conn.execute(query, (self._final_story_id(conn, row[0]),)).fetchone()
            return self._story(conn, row) if row else None

    def iter_stories(
        self, *, since: datetime | None = None, limit: int = 50, offset: int = 0
    ) -> list[Story]:
        """Live stories, most recently updated first."""
        with self._reading("listing stories") as conn:
            rows = conn.execute(
                "SELECT id, title, first_seen, updated FROM stories"
                " WHERE merged_into IS NULL AND updated >= %s"
                " ORDER BY updated DESC, id LIMIT %s OFFSET %s",
                (since.isoformat() if since else "", limit, offset),
            ).fetchall()
            ids = [row[0] for row in rows]
            # Members and merges of the whole page in two queries, not two a story.
            members: dict[str, list[str]] = {i: [] for i in ids}
            for story_id, article_id in conn.execute(
                "SELECT story_id, article_id FROM story_members WHERE story_id = ANY(%s)"
                " ORDER BY story_id, seq",
                (ids,),
            ):
                members[story_id].append(article_id)
            merged: dict[str, list[str]] = {i: [] for i in ids}
            for into_id, absorbed in conn.execute(
                "SELECT into_id, absorbed FROM story_merges WHERE into_id = ANY(%s)"
                " ORDER BY absorbed",
                (ids,),
            ):
                merged[into_id].append(absorbed)
            splits: dict[str, list[tuple[str, str]]] = {i: [] for i in ids}
            for part, story in conn.execute(
                "SELECT part_id, story_id FROM story_splits"
                " WHERE part_id = ANY(%s) OR story_id = ANY(%s)",
                (ids, ids),
            ):
                for side in {part, story} & splits.keys():
                    splits[side].append((part, story))
        return [
            story_from_row(row, members[row[0]], merged[row[0]], splits[row[0]]) for row in rows
        ]

    def stories_of(self, article_ids: Sequence[str]) -> dict[str, str]:
        """Article id → story id, for the ids that have a story."""
        if not article_ids:
            return {}
        with self._reading("reading story members") as conn:
            rows = conn.execute(
                "SELECT article_id, story_id FROM story_members WHERE article_id = ANY(%s)",
                (list(article_ids),),
            ).fetchall()
        return dict(rows)

    def articles_without_story(self, limit: int = 1000) -> list[str]:
        """Stored articles no story has claimed yet, oldest stored first."""
        with self._reading("finding unclustered articles") as conn:
            return [
                r[0]
                for r in conn.execute(
                    "SELECT a.id FROM pending_story AS p JOIN articles AS a ON a.id = p.article_id"
                    " ORDER BY a.pk LIMIT %s",
                    (limit,),
                )
            ]

    def clear_stories(self) -> None:
        """Forget every story, for a rebuild from scratch."""
        from newsloom.store.postgres import STORIES_LOCK

        with self._transaction("clearing stories", lock=STORIES_LOCK) as conn:
            for table in (
                "stories", "story_key_days", "story_members", "story_merges", "term_df",
                "cluster_counters", "article_features", "story_splits",
            ):  # fmt: skip
                conn.execute(f"DELETE FROM {table}")
            conn.execute(
                "INSERT INTO pending_story (article_id) SELECT id FROM articles"
                " ON CONFLICT DO NOTHING"
            )
