"""Where articles live: the ``Store`` protocol and ``open_store``.

``open_store`` picks the backend from a URL, so callers (pipeline, CLI, web)
never import a backend module themselves.
"""

from __future__ import annotations

import os
import re

from newsloom.errors import StoreError
from newsloom.settings import Settings, load_settings
from newsloom.store.base import ArticleVersion, PutResult, SearchHit, Store
from newsloom.store.sqlite import SQLiteStore

__all__ = [
    "ArticleVersion",
    "PutResult",
    "SQLiteStore",
    "SearchHit",
    "Store",
    "open_store",
]

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*)://(.*)", re.DOTALL)


def open_store(
    url: str | os.PathLike[str] | None = None, *, settings: Settings | None = None
) -> Store:
    """Open (creating and migrating if needed) the store at ``url``.

    Accepted: ``sqlite:///relative.db``, ``sqlite:////absolute.db``,
    ``sqlite://:memory:``, a bare file path, or a PostgreSQL URL
    (``postgresql://user@host:port/db``, also ``postgres://``).  Without ``url`` the
    ``store`` setting is used (``NEWSLOOM_STORE``, default ``sqlite:///newsloom.db``).
    """
    if url is None:
        url = (settings or load_settings()).store
    target = os.fspath(url)
    if not isinstance(target, str) or not target.strip():
        raise StoreError("the store URL is empty")

    match = _SCHEME.fullmatch(target)
    if match is None:
        return SQLiteStore(target)
    scheme, rest = match.group(1).lower(), match.group(2)
    if scheme in {"postgresql", "postgres"} or scheme.startswith("postgresql+"):
        # Imported here so that SQLite users never load psycopg.
        from newsloom.store.postgres import PostgresStore

        return PostgresStore(target)
    if scheme != "sqlite":
        raise StoreError(
            f"unknown store URL scheme {scheme!r} in {target!r}: use sqlite:///path.db "
            "or postgresql://user@host/db"
        )
    if rest in {"", ":memory:", "/:memory:"}:
        return SQLiteStore(None, url="sqlite://:memory:")
    if not rest.startswith("/") or rest == "/":
        raise StoreError(
            f"cannot read {target!r}: write sqlite:///relative/path.db "
            "or sqlite:////absolute/path.db"
        )
    # sqlite:///a.db -> "a.db" (relative); sqlite:////a.db -> "/a.db" (absolute).
    return SQLiteStore(rest[1:], url=target)
