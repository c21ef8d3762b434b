"""Page views in SQLite: counts per page and day, with nothing about the reader.

The web app counts a view by its page alone: no cookie is set, no address or
user agent is kept, so the table can be published as it is.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime

__all__ = ["VIEWS_SCHEMA", "SQLiteViewsMixin"]

VIEWS_SCHEMA: tuple[str, ...] = (
    """
    CREATE TABLE page_views (
        kind TEXT NOT NULL,
        item_id TEXT NOT NULL,
        day TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (kind, item_id, day)
    ) WITHOUT ROWID
    """,
)

Connect = Callable[[str], AbstractContextManager[sqlite3.Connection]]


class SQLiteViewsMixin:
    """View counts for ``SQLiteStore``."""

    _reading: Connect
    _transaction: Connect

    def count_view(self, kind: str, item_id: str, *, day: date | None = None) -> None:
        """Add one view of a page (``kind`` is e.g. ``article`` or ``story``)."""
        self.count_views({(kind, item_id): 1}, day=day)

    def count_views(
        self, counts: Mapping[tuple[str, str], int], *, day: date | None = None
    ) -> None:
        """Add ``count`` views to each ``(kind, item_id)`` page, in one transaction.

        The web app writes what it counted every few seconds: a statement per
        view made each write thousands of statements long (bench/load.py).
        """
        when = (day or datetime.now(UTC).date()).isoformat()
        # Key order: two writers taking the same rows in different orders deadlock.
        rows = [(kind, item_id, when, n) for (kind, item_id), n in sorted(counts.items()) if n > 0]
        if not rows:
            return
        with self._transaction("counting views") as conn:
            conn.executemany(
                "INSERT INTO page_views (kind, item_id, day, count) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (kind, item_id, day) DO UPDATE SET count = count + excluded.count",
                rows,
            )

    def views(self, kind: str, item_id: str) -> int:
        """All views a page ever had."""
        with self._reading("reading view counts") as conn:
            row = conn.execute(
                "SELECT COALESCE(SUM(count), 0) FROM page_views WHERE kind = ? AND item_id = ?",
                (kind, item_id),
            ).fetchone()
        return int(row[0])
