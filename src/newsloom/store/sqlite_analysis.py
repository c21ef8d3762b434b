"""Story analysis in SQLite: each story's provenance edges and conflicts.

A story is analysed as a whole (``trace_story`` then ``check_story``), so its
rows are replaced together in one transaction.  Triggers queue a story in
``pending_analysis`` whenever an article joins it, moves into it by a merge or
changes its text, so an ingest run only re-analyses the stories it touched and
a crash between clustering and analysis is repaired by the next run.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime

from newsloom.store.rows import (
    conflict_from_data,
    conflict_row,
    provenance_from_row,
    provenance_row,
)
from newsloom.store.shared_reads import SharedAnalysisReads
from newsloom.types import Conflict, Provenance, StorySummary

__all__ = ["ANALYSIS_SCHEMA", "SUMMARY_SCHEMA", "SQLiteAnalysisMixin"]

ANALYSIS_SCHEMA: tuple[str, ...] = (
    """
    CREATE TABLE provenance (
        story_id TEXT NOT NULL,
        derived_id TEXT NOT NULL,
        source_id TEXT NOT NULL,
        relation TEXT NOT NULL CHECK (relation IN
            ('duplicate', 'near_copy', 'rewrite', 'summary', 'quotes', 'independent')),
        score REAL NOT NULL,
        attributed INTEGER NOT NULL,
        directed INTEGER NOT NULL,
        data TEXT NOT NULL CHECK (json_valid(data)),
        PRIMARY KEY (story_id, derived_id, source_id)
    ) WITHOUT ROWID
    """,
    "CREATE INDEX provenance_derived ON provenance (derived_id)",
    "CREATE INDEX provenance_source ON provenance (source_id)",
    """
    CREATE TABLE conflicts (
        story_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        kind TEXT NOT NULL,
        a_article TEXT NOT NULL,
        b_article TEXT NOT NULL,
        confidence REAL NOT NULL,
        data TEXT NOT NULL CHECK (json_valid(data)),
        PRIMARY KEY (story_id, seq)
    ) WITHOUT ROWID
    """,
    "CREATE INDEX conflicts_a ON conflicts (a_article)",
    "CREATE INDEX conflicts_b ON conflicts (b_article)",
    """
    CREATE TABLE story_analysis (
        story_id TEXT PRIMARY KEY,
        members INTEGER NOT NULL,
        analysed_at TEXT NOT NULL
    ) WITHOUT ROWID
    """,
    "CREATE TABLE pending_analysis (story_id TEXT PRIMARY KEY) WITHOUT ROWID",
    # Every live story with two or more articles needs a first analysis.
    "INSERT INTO pending_analysis SELECT id FROM stories WHERE merged_into IS NULL AND size > 1",
    """
    CREATE TRIGGER story_members_pending_analysis AFTER INSERT ON story_members BEGIN
        INSERT OR IGNORE INTO pending_analysis (story_id) VALUES (new.story_id);
    END
    """,
    """
    CREATE TRIGGER story_members_moved_pending_analysis AFTER UPDATE OF story_id
    ON story_members WHEN new.story_id IS NOT old.story_id BEGIN
        INSERT OR IGNORE INTO pending_analysis (story_id) VALUES (new.story_id);
    END
    """,
    """
    CREATE TRIGGER articles_changed_pending_analysis AFTER UPDATE OF content_sha256
    ON articles WHEN new.content_sha256 IS NOT old.content_sha256 BEGIN
        INSERT OR IGNORE INTO pending_analysis (story_id)
        SELECT story_id FROM story_members WHERE article_id = new.id;
    END
    """,
    # A story merged away or deleted (recluster) takes its analysis with it.
    """
    CREATE TRIGGER stories_merged_drop_analysis AFTER UPDATE OF merged_into ON stories
    WHEN new.merged_into IS NOT NULL BEGIN
        DELETE FROM provenance WHERE story_id = new.id;
        DELETE FROM conflicts WHERE story_id = new.id;
        DELETE FROM story_analysis WHERE story_id = new.id;
        DELETE FROM pending_analysis WHERE story_id = new.id;
    END
    """,
    """
    CREATE TRIGGER stories_deleted_drop_analysis AFTER DELETE ON stories BEGIN
        DELETE FROM provenance WHERE story_id = old.id;
        DELETE FROM conflicts WHERE story_id = old.id;
        DELETE FROM story_analysis WHERE story_id = old.id;
        DELETE FROM pending_analysis WHERE story_id = old.id;
    END
    """,
)

# Migration 6: each story's cited summary, key points, timeline and per-article
# summaries, written by the same analysis step and gone with the story.
SUMMARY_SCHEMA: tuple[str, ...] = (
    """
    CREATE TABLE story_summaries (
        story_id TEXT PRIMARY KEY,
        data TEXT NOT NULL CHECK (json_valid(data)),
        updated_at TEXT NOT NULL
    ) WITHOUT ROWID
    """,
    # Stories analysed before summaries existed are summarised on the next run.
    "INSERT OR IGNORE INTO pending_analysis SELECT story_id FROM story_analysis",
    """
    CREATE TRIGGER stories_merged_drop_summary AFTER UPDATE OF merged_into ON stories
    WHEN new.merged_into IS NOT NULL BEGIN
        DELETE FROM story_summaries WHERE story_id = new.id;
    END
    """,
    """
    CREATE TRIGGER stories_deleted_drop_summary AFTER DELETE ON stories BEGIN
        DELETE FROM story_summaries WHERE story_id = old.id;
    END
    """,
)

Connect = Callable[[str], AbstractContextManager[sqlite3.Connection]]


class SQLiteAnalysisMixin(SharedAnalysisReads):
    """Provenance and conflict reads and writes for ``SQLiteStore``."""

    _MARK = "?"
    _reading: Connect
    _transaction: Connect

    def put_story_analysis(
        self,
        story_id: str,
        provenance: Sequence[Provenance],
        conflicts: Sequence[Conflict],
        *,
        members: int,
        summary: StorySummary | None = None,
    ) -> None:
        """Replace a story's provenance, conflicts and summary in one transaction."""
        now = datetime.now(UTC).isoformat()
        with self._transaction("saving a story analysis") as conn:
            conn.execute("DELETE FROM story_summaries WHERE story_id = ?", (story_id,))
            if summary is not None:
                conn.execute(
                    "INSERT INTO story_summaries (story_id, data, updated_at) VALUES (?,?,?)",
                    (story_id, json.dumps(summary.to_dict(), ensure_ascii=False), now),
                )
            conn.execute("DELETE FROM provenance WHERE story_id = ?", (story_id,))
            conn.execute("DELETE FROM conflicts WHERE story_id = ?", (story_id,))
            conn.executemany(
                "INSERT OR REPLACE INTO provenance (story_id, derived_id, source_id, relation,"
                " score, attributed, directed, data) VALUES (?,?,?,?,?,?,?,?)",
                [provenance_row(story_id, edge) for edge in provenance],
            )
            conn.executemany(
                "INSERT INTO conflicts (story_id, seq, kind, a_article, b_article, confidence,"
                " data) VALUES (?,?,?,?,?,?,?)",
                [conflict_row(story_id, seq, c) for seq, c in enumerate(conflicts)],
            )
            conn.execute(
                "INSERT OR REPLACE INTO story_analysis (story_id, members, analysed_at)"
                " VALUES (?,?,?)",
                (story_id, members, now),
            )
            conn.execute("DELETE FROM pending_analysis WHERE story_id = ?", (story_id,))

    def story_provenance(self, story_id: str) -> list[Provenance]:
        with self._reading("reading provenance") as conn:
            rows = conn.execute(
                "SELECT derived_id, source_id, relation, score, attributed, directed, data"
                " FROM provenance WHERE story_id = ? ORDER BY derived_id, source_id",
                (story_id,),
            ).fetchall()
        return [provenance_from_row(row, json.loads(row[6])) for row in rows]

    def story_conflicts(self, story_id: str) -> list[Conflict]:
        with self._reading("reading conflicts") as conn:
            rows = conn.execute(
                "SELECT data FROM conflicts WHERE story_id = ? ORDER BY seq", (story_id,)
            ).fetchall()
        return [conflict_from_data(json.loads(raw), story_id) for (raw,) in rows]

    def story_summary(self, story_id: str) -> StorySummary | None:
        """The story's cited summary from its last analysis, or None."""
        with self._reading("reading a story summary") as conn:
            row = conn.execute(
                "SELECT data FROM story_summaries WHERE story_id = ?", (story_id,)
            ).fetchone()
        return StorySummary.from_dict(json.loads(row[0])) if row else None
