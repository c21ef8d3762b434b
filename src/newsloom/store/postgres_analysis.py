"""Story analysis and page views in PostgreSQL.

Provenance edges, conflicts and the summary of a story are replaced together
in one transaction; triggers (``postgres_schema``) queue a story in
``pending_analysis`` when an article joins it, moves into it by a merge or
changes its text, as in SQLite.  Page views are counts per page and day, with
nothing about the reader.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

import psycopg

from newsloom.store.rows import (
    conflict_from_data,
    conflict_row,
    provenance_from_row,
    provenance_row,
)
from newsloom.store.shared_reads import SharedAnalysisReads, SharedViewCounts
from newsloom.types import Conflict, Provenance, StorySummary

__all__ = ["PostgresAnalysisMixin"]


class PostgresAnalysisMixin(SharedAnalysisReads, SharedViewCounts):
    """Provenance, conflicts, summaries and view counts for ``PostgresStore``."""

    _MARK = "%s"

    # Provided by PostgresStore.
    _where: str
    _reading: Callable[[str], AbstractContextManager[psycopg.Connection[Any]]]
    _transaction: Callable[..., AbstractContextManager[psycopg.Connection[Any]]]

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
        from newsloom.store.postgres import ANALYSIS_LOCK_CLASS

        now = datetime.now(UTC).isoformat()
        with self._transaction("saving a story analysis") as conn:
            # Two workers analysing one story write one after the other.
            conn.execute(
                "SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (ANALYSIS_LOCK_CLASS, story_id)
            )
            conn.execute("DELETE FROM story_summaries WHERE story_id = %s", (story_id,))
            if summary is not None:
                conn.execute(
                    "INSERT INTO story_summaries (story_id, data, updated_at)"
                    " VALUES (%s, %s::jsonb, %s)",
                    (story_id, json.dumps(summary.to_dict(), ensure_ascii=False), now),
                )
            conn.execute("DELETE FROM provenance WHERE story_id = %s", (story_id,))
            conn.execute("DELETE FROM conflicts WHERE story_id = %s", (story_id,))
            with conn.cursor() as cur:
                if provenance:
                    cur.executemany(
                        "INSERT INTO provenance (story_id, derived_id, source_id, relation,"
                        " score, attributed, directed, data)"
                        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s::jsonb)"
                        " ON CONFLICT (story_id, derived_id, source_id) DO UPDATE SET"
                        " relation = excluded.relation, score = excluded.score,"
                        " attributed = excluded.attributed, directed = excluded.directed,"
                        " data = excluded.data",
                        [provenance_row(story_id, edge) for edge in provenance],
                    )
                if conflicts:
                    cur.executemany(
                        "INSERT INTO conflicts (story_id, seq, kind, a_article, b_article,"
                        " confidence, data) VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb)",
                        [conflict_row(story_id, seq, c) for seq, c in enumerate(conflicts)],
                    )
            conn.execute(
                "INSERT INTO story_analysis (story_id, members, analysed_at) VALUES (%s, %s, %s)"
                " ON CONFLICT (story_id) DO UPDATE SET members = excluded.members,"
                " analysed_at = excluded.analysed_at",
                (story_id, members, now),
            )
            conn.execute("DELETE FROM pending_analysis WHERE story_id = %s", (story_id,))

    def story_provenance(self, story_id: str) -> list[Provenance]:
        with self._reading("reading provenance") as conn:
            rows = conn.execute(
                "SELECT derived_id, source_id, relation, score, attributed, directed, data"
                " FROM provenance WHERE story_id = %s ORDER BY derived_id, source_id",
                (story_id,),
            ).fetchall()
        # data is jsonb: psycopg hands it back decoded.
        return [provenance_from_row(row, row[6]) for row in rows]

    def story_conflicts(self, story_id: str) -> list[Conflict]:
        with self._reading("reading conflicts") as conn:
            rows = conn.execute(
                "SELECT data FROM conflicts WHERE story_id = %s ORDER BY seq", (story_id,)
            ).fetchall()
        return [conflict_from_data(data, story_id) for (data,) in rows]

    def story_summary(self, story_id: str) -> StorySummary | None:
        """The story's cited summary from its last analysis, or None."""
        with self._reading("reading a story summary") as conn:
            row = conn.execute(
                "SELECT data FROM story_summaries WHERE story_id = %s", (story_id,)
            ).fetchone()
        return StorySummary.from_dict(row[0]) if row else None
