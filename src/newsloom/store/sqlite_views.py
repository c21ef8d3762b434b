"""Page views in SQLite: counts per page and day, with nothing about the reader.

The web app counts a view by its page alone: no cookie is set, no address or
user agent is kept, so the table can be published as it is.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager

from newsloom.store.shared_reads import SharedViewCounts

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


class SQLiteViewsMixin(SharedViewCounts):
    """View counts for ``SQLiteStore``."""

    _MARK = "?"

    _reading: Connect
    _transaction: Connect
