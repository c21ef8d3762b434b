"""The backend-neutral store contract.

Every backend (SQLite now, PostgreSQL later) implements ``Store``; callers
depend only on this module and ``open_store``, never on a backend's SQL.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Literal, Protocol, runtime_checkable

from newsloom.types import Article, Failure

__all__ = [
    "ArticleVersion",
    "Order",
    "PutResult",
    "PutStatus",
    "SearchHit",
    "Store",
    "content_sha256",
    "utc_text",
]

PutStatus = Literal["new", "updated", "unchanged"]
Order = Literal["published", "stored"]


@dataclass(slots=True, frozen=True)
class PutResult:
    """What ``put_articles`` did with one article id."""

    article_id: str
    status: PutStatus
    version: int


@dataclass(slots=True, frozen=True)
class SearchHit:
    """One full-text match: ``score`` is higher for better matches; ``snippet``
    is plain text with the matched words wrapped in ``[`` and ``]``."""

    article: Article
    score: float
    snippet: str


@dataclass(slots=True, frozen=True)
class ArticleVersion:
    """One stored version of an article (version 1 is the first one seen)."""

    article_id: str
    version: int
    raw_sha256: str
    content_sha256: str
    fetched_at: datetime | None
    stored_at: datetime


@runtime_checkable
class Store(Protocol):
    """Where articles, their versions and ingest failures live."""

    url: str

    def put_articles(self, articles: Sequence[Article]) -> list[PutResult]:
        """Store a batch in one transaction: all of it or none of it.

        Returns one result per distinct id, in order of first appearance; when
        an id repeats inside the batch the last article with that id wins.
        """
        ...

    def get_article(self, article_id: str) -> Article | None:
        """The latest version of an article, by full id or a unique prefix (>= 6 chars)."""
        ...

    def iter_articles(
        self,
        *,
        limit: int | None = None,
        offset: int = 0,
        order: Order = "stored",
        newest_first: bool = True,
    ) -> Iterator[Article]: ...

    def count_articles(self) -> int: ...

    def search(self, query: str, *, limit: int = 20, offset: int = 0) -> list[SearchHit]:
        """Full-text search over title and text; every word must match."""
        ...

    def versions(self, article_id: str) -> list[ArticleVersion]:
        """Every stored version of an article, oldest first ([] if unknown)."""
        ...

    def record_failures(self, failures: Sequence[Failure], *, run_id: str) -> None: ...

    def failures(self, *, run_id: str | None = None) -> list[Failure]: ...

    def schema_version(self) -> int: ...

    def close(self) -> None: ...

    def __enter__(self) -> Store: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


def content_sha256(article: Article) -> str:
    """Hash of what a reader sees: title, paragraphs, authors and published date.

    Fetch time, raw bytes and derived figures stay out so that re-fetching an
    unchanged page is recognised as the same version.
    """
    payload = {
        "title": article.title,
        "paragraphs": list(article.paragraphs),
        "authors": list(article.authors),
        "published": article.published.isoformat() if article.published else None,
    }
    blob = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def utc_text(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a fixed width, so text order equals time order.

    Naive datetimes are taken to be UTC already.
    """
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")
