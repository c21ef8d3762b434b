"""The backend-neutral store contract.

Every backend (SQLite now, PostgreSQL later) implements ``Store``; callers
depend only on this module and ``open_store``, never on a backend's SQL.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from types import TracebackType
from typing import Literal, Protocol, runtime_checkable

from newsloom.types import (
    Article,
    Conflict,
    Failure,
    Provenance,
    Story,
    StoryMember,
    StoryStamp,
    StorySummary,
)

__all__ = [
    "ArticleVersion",
    "DuplicateInfo",
    "DuplicateMatch",
    "Fingerprint",
    "LshCandidate",
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
# How an article relates to the articles stored before it: no copy found, an
# exact copy (same normalised text) or a near copy (MinHash similarity).
DuplicateMatch = Literal["none", "exact", "near"]


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


@dataclass(slots=True, frozen=True)
class Fingerprint:
    """What duplicate detection keeps of one article's text.

    ``exact_hash`` is None when the text is empty; ``signature`` (MinHash
    values, bytes) and ``band_keys`` (one LSH key per band, band = position)
    are empty when the text is too short for near-duplicate detection.
    ``reason`` says why something is missing.
    """

    article_id: str
    exact_hash: str | None
    signature: bytes | None
    band_keys: tuple[int, ...]
    words: int
    reason: str | None = None


@dataclass(slots=True, frozen=True)
class LshCandidate:
    """A stored article sharing at least one LSH band key with a query."""

    article_id: str
    signature: bytes
    group_id: str


@dataclass(slots=True, frozen=True)
class DuplicateInfo:
    """An article's place among duplicates.

    ``group_id`` is the id of the earliest stored member of its duplicate
    group (its own id when it has no copies).  ``match`` says what was found
    among the articles stored before it; ``closest_id``/``similarity`` name
    its most similar stored copy (1.0 for an exact copy), and are updated when
    a closer copy arrives later.  ``reason`` explains a missing fingerprint.
    """

    article_id: str
    group_id: str
    match: DuplicateMatch = "none"
    closest_id: str | None = None
    similarity: float | None = None
    exact_hash: str | None = None
    reason: str | None = None


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

    def get_articles(self, article_ids: Sequence[str]) -> dict[str, Article]:
        """The latest versions of the articles with these full ids, by id; ids
        not stored are left out.  A page showing many articles asks once."""
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

    def transaction(self) -> AbstractContextManager[None]:
        """Group several writes into one all-or-nothing transaction.

        Writes inside (``put_articles``, fingerprints, …) join it instead of
        committing on their own; a nested ``transaction()`` is a savepoint.
        """
        ...

    # -- duplicates --------------------------------------------------------

    def put_fingerprints(self, fingerprints: Sequence[Fingerprint]) -> None:
        """Store fingerprints of stored articles, replacing earlier ones.

        A replaced article leaves its duplicate group (the group is re-rooted
        on its earliest remaining member) and starts as its own group.
        """
        ...

    def exact_matches(self, exact_hash: str, *, limit: int = 100) -> list[str]:
        """Ids of articles with this exact hash, earliest stored first."""
        ...

    def lsh_candidates(self, band_keys: Sequence[int], *, limit: int = 200) -> list[LshCandidate]:
        """Articles sharing a band key (``band_keys[i]`` is band i), earliest first."""
        ...

    def merge_groups(self, group_ids: Sequence[str]) -> str:
        """Union duplicate groups under the one whose root was stored first.

        Returns the surviving group id; an unknown id counts as a one-member
        group of an article not fingerprinted yet.
        """
        ...

    def set_duplicates(self, infos: Sequence[DuplicateInfo]) -> None:
        """Record group, match and closest copy of fingerprinted articles."""
        ...

    def offer_closest(self, offers: Sequence[tuple[str, str, float]]) -> None:
        """``(article_id, copy_id, similarity)``: keep the copy as the article's
        closest if it is more similar than the one recorded."""
        ...

    def duplicates_of(self, article_id: str) -> DuplicateInfo | None:
        """Duplicate record of an article (full id or unique prefix), None if
        it was never fingerprinted."""
        ...

    def duplicate_group(self, group_id: str) -> list[str]:
        """Member ids of a duplicate group, earliest stored first."""
        ...

    def articles_without_fingerprints(self, *, limit: int = 500) -> list[str]:
        """Stored articles whose current version has no fingerprint yet."""
        ...

    # -- stories -------------------------------------------------------------

    def get_story(self, story_id: str) -> Story | None:
        """A story by id or unique prefix; a merged-away id leads to its survivor."""
        ...

    def iter_stories(
        self, *, since: datetime | None = None, limit: int = 50, offset: int = 0
    ) -> list[Story]:
        """Live stories, most recently updated first."""
        ...

    def story_members(self, story_id: str) -> list[StoryMember]: ...

    def stories_of(self, article_ids: Sequence[str]) -> dict[str, str]: ...

    # -- story analysis: provenance and conflicts ---------------------------

    def stories_to_analyse(self, limit: int = 100) -> list[str]:
        """Live stories whose articles changed since their last analysis."""
        ...

    def put_story_analysis(
        self,
        story_id: str,
        provenance: Sequence[Provenance],
        conflicts: Sequence[Conflict],
        *,
        members: int,
        summary: StorySummary | None = None,
    ) -> None:
        """Replace a story's provenance edges, conflicts and summary in one transaction."""
        ...

    def story_provenance(self, story_id: str) -> list[Provenance]: ...

    def story_conflicts(self, story_id: str) -> list[Conflict]: ...

    def story_summary(self, story_id: str) -> StorySummary | None: ...

    def story_analysed_at(self, story_id: str) -> datetime | None: ...

    def story_stamp(self, story_id: str) -> StoryStamp | None:
        """The live story with exactly this id, as its pages depend on it
        (``StoryStamp``), in one read; None for a prefix, a merged-away id or
        no story (``get_story`` resolves those)."""
        ...

    # -- page views (no cookies, nothing about the reader) -------------------

    def count_view(self, kind: str, item_id: str, *, day: date | None = None) -> None: ...

    def count_views(
        self, counts: Mapping[tuple[str, str], int], *, day: date | None = None
    ) -> None:
        """Add ``count`` views to each ``(kind, item_id)`` page, in one transaction."""
        ...

    def views(self, kind: str, item_id: str) -> int: ...

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
