"""Backend-neutral conversions between stored rows and records.

The SQLite and PostgreSQL stores keep the same columns in the same order and
differ only in SQL and in how a value comes back (a ``sqlite3.Row`` or a
tuple; JSON as text or as an already decoded ``jsonb`` value).  The functions
here take rows by position and JSON already decoded, so each backend keeps
only its queries and connection handling and both build the same records.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from newsloom.cluster import EPOCH, Member, StoryState
from newsloom.errors import StoreError
from newsloom.store.base import (
    ArticleVersion,
    DuplicateInfo,
    Fingerprint,
    content_sha256,
    utc_text,
)
from newsloom.types import (
    Article,
    Conflict,
    ConflictSide,
    Passage,
    Provenance,
    Story,
    StoryMember,
)

__all__ = [
    "ARTICLE_COLUMNS",
    "DUPLICATE_COLUMNS",
    "MEMBER_COLUMNS",
    "STORY_COLUMNS",
    "UNDATED_DAY",
    "PreparedArticle",
    "article_page_queries",
    "article_version_from_row",
    "check_article_listing",
    "conflict_from_data",
    "conflict_row",
    "duplicate_info_from_row",
    "fingerprint_params",
    "keyset_pages",
    "member_from_row",
    "member_row",
    "parse_time",
    "passage_from_dict",
    "prepare_article",
    "prepare_batch",
    "provenance_from_row",
    "provenance_row",
    "side_from_dict",
    "story_from_row",
    "story_member_from_row",
    "story_state_from_row",
    "story_state_row",
    "utc_day",
]

# The columns of ``stories`` in the order ``story_state_from_row`` and
# ``story_state_row`` use.
STORY_COLUMNS = "id, title, first_seen, updated, size, centroid, terms, entities, keys, merged_into"


def parse_time(value: str | None) -> datetime | None:
    """A stored ISO time, or None for a missing (NULL or empty) one."""
    return datetime.fromisoformat(value) if value else None


def utc_day(moment: datetime) -> int:
    """UTC day number (days since 1970-01-01, floored); a naive time counts as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - EPOCH).days


# Undated stories (updated == EPOCH) are filed under day 0.
UNDATED_DAY = utc_day(EPOCH)


# -- stories ---------------------------------------------------------------


def story_state_from_row(row: Sequence[Any]) -> StoryState:
    """The clusterer's state of a story from a row of ``STORY_COLUMNS``."""
    return StoryState(
        id=row[0],
        title=row[1],
        first_seen=datetime.fromisoformat(row[2]),
        updated=datetime.fromisoformat(row[3]),
        size=row[4],
        # bytes(): PostgreSQL hands back a memoryview.
        centroid=np.frombuffer(bytes(row[5]), dtype=np.float32).copy(),
        terms=json.loads(row[6]),
        entities=Counter(json.loads(row[7])),
        keys=set(json.loads(row[8])),
        merged_into=row[9],
    )


def story_state_row(story: StoryState) -> tuple[object, ...]:
    """The values of ``STORY_COLUMNS`` that store ``story``."""
    return (
        story.id,
        story.title,
        story.first_seen.isoformat(),
        story.updated.isoformat(),
        story.size,
        np.asarray(story.centroid, dtype=np.float32).tobytes(),
        json.dumps(story.terms),
        json.dumps(dict(story.entities)),
        json.dumps(sorted(story.keys)),
        story.merged_into,
    )


# The columns of ``article_features`` in the order ``member_row`` uses.
MEMBER_COLUMNS = "article_id, title, published, embedding, terms, entities"


def member_row(member: Member) -> tuple[object, ...]:
    """The values of ``MEMBER_COLUMNS`` that store what a story keeps of a member."""
    return (
        member.article_id,
        member.title,
        member.published.isoformat() if member.published else None,
        np.asarray(member.embedding, dtype=np.float16).tobytes(),
        json.dumps(member.terms, separators=(",", ":")),
        json.dumps(list(member.entities)),
    )


def member_from_row(row: Sequence[Any]) -> Member:
    """A member from a row of ``MEMBER_COLUMNS``."""
    return Member(
        article_id=row[0],
        title=row[1],
        published=parse_time(row[2]),
        embedding=np.frombuffer(bytes(row[3]), dtype=np.float16).copy(),
        terms=json.loads(row[4]),
        entities=tuple(json.loads(row[5])),
    )


def story_from_row(
    row: Sequence[Any],
    article_ids: list[str],
    merged_from: list[str],
    splits: Sequence[tuple[str, str]] = (),
) -> Story:
    """A story from a row starting ``id, title, first_seen, updated``; ``splits``:
    (part, story) of the splits this story is either side of."""
    return Story(
        id=row[0],
        title=row[1],
        article_ids=article_ids,
        first_seen=parse_time(row[2]),
        updated=parse_time(row[3]),
        merged_from=merged_from,
        split_from=next((story for part, story in splits if part == row[0]), None),
        split_off=sorted(part for part, story in splits if story == row[0]),
    )


def story_member_from_row(row: Sequence[Any]) -> StoryMember:
    """A membership from ``article_id, story_id, decided_at, reasons``."""
    return StoryMember(row[0], row[1], parse_time(row[2]), json.loads(row[3]))


# -- analysis --------------------------------------------------------------


def passage_from_dict(data: Mapping[str, Any]) -> Passage:
    return Passage(
        a_start=data["a"]["start"],
        a_end=data["a"]["end"],
        b_start=data["b"]["start"],
        b_end=data["b"]["end"],
        a_text=data["a"]["text"],
        b_text=data["b"]["text"],
        score=float(data["score"]),
        kind=data["kind"],
    )


def side_from_dict(data: Mapping[str, Any]) -> ConflictSide:
    start, end = data.get("span") or (0, 0)
    return ConflictSide(data["article_id"], data["sentence"], int(start), int(end))


def provenance_row(story_id: str, edge: Provenance) -> tuple[object, ...]:
    """Values of ``story_id, derived_id, source_id, relation, score, attributed,
    directed, data`` (data as JSON text) that store ``edge``."""
    return (
        story_id,
        edge.derived_id,
        edge.source_id,
        edge.relation,
        float(edge.score),
        # A bool: SQLite stores it as 0/1, PostgreSQL as boolean.
        bool(edge.attributed),
        bool(edge.directed),
        json.dumps(
            {"spans": [p.to_dict() for p in edge.spans], "evidence": edge.evidence},
            ensure_ascii=False,
        ),
    )


def provenance_from_row(row: Sequence[Any], data: Mapping[str, Any]) -> Provenance:
    """An edge from ``derived_id, source_id, relation, score, attributed,
    directed`` and its decoded ``data``."""
    return Provenance(
        derived_id=row[0],
        source_id=row[1],
        relation=row[2],
        score=float(row[3]),
        attributed=bool(row[4]),
        directed=bool(row[5]),
        spans=[passage_from_dict(p) for p in data.get("spans", [])],
        evidence=data.get("evidence", {}),
    )


def conflict_row(story_id: str, seq: int, conflict: Conflict) -> tuple[object, ...]:
    """Values of ``story_id, seq, kind, a_article, b_article, confidence, data``."""
    return (
        story_id,
        seq,
        conflict.kind,
        conflict.a.article_id,
        conflict.b.article_id,
        float(conflict.confidence),
        json.dumps(conflict.to_dict(), ensure_ascii=False),
    )


def conflict_from_data(data: Mapping[str, Any], story_id: str) -> Conflict:
    return Conflict(
        kind=data["kind"],
        a=side_from_dict(data["a"]),
        b=side_from_dict(data["b"]),
        explanation=data["explanation"],
        confidence=float(data["confidence"]),
        story_id=story_id,
    )


# -- articles --------------------------------------------------------------


# The columns of ``articles`` that both backends write from a stored article
# (``id`` first: the upsert's conflict target, left out of its SET).
ARTICLE_COLUMNS: tuple[str, ...] = (
    "id",
    "url",
    "canonical_url",
    "site_name",
    "title",
    "published",
    "language",
    "word_count",
    "stored_at",
    "fetched_at",
    "raw_sha256",
    "content_sha256",
    "version",
    "data",
)


def article_version_from_row(row: Sequence[Any]) -> ArticleVersion:
    """A version from ``article_id, version, raw_sha256, content_sha256,
    fetched_at, stored_at``."""
    return ArticleVersion(
        article_id=row[0],
        version=row[1],
        raw_sha256=row[2],
        content_sha256=row[3],
        fetched_at=parse_time(row[4]),
        stored_at=datetime.fromisoformat(row[5]),
    )


def check_article_listing(order: str, limit: int | None, offset: int) -> None:
    """Refuse the arguments of ``iter_articles`` that neither backend takes."""
    if order not in ("published", "stored"):
        raise StoreError(f"unknown order {order!r}: use 'published' or 'stored'")
    if (limit is not None and limit < 0) or offset < 0:
        raise StoreError("limit and offset must not be negative")


def article_page_queries(order: str, newest_first: bool, mark: str) -> tuple[str, str]:
    """The queries of an article listing's first page and of the pages after it.

    Both select ``pk, sort_key, data``; the first takes ``(limit, offset)``,
    the others ``(sort_key, pk, limit)`` of the last row read.  ``mark`` is the
    backend's parameter marker (``?`` or ``%s``): the SQL is otherwise the same.
    Articles without a date go last in both directions: '' sorts before every
    ISO date, '~' after.
    """
    if order == "stored":
        key = "stored_at"
    else:
        key = "coalesce(published, '')" if newest_first else "coalesce(published, '~')"
    direction, compare = ("DESC", "<") if newest_first else ("ASC", ">")
    base = f"SELECT pk, {key} AS sort_key, data FROM articles"
    ordering = f"ORDER BY sort_key {direction}, pk {direction}"
    return (
        f"{base} {ordering} LIMIT {mark} OFFSET {mark}",
        f"{base} WHERE ({key}, pk) {compare} ({mark}, {mark}) {ordering} LIMIT {mark}",
    )


def keyset_pages(
    read_page: Callable[[tuple[Any, Any] | None, int], Sequence[Sequence[Any]]],
    limit: int | None,
    page_size: int,
) -> Iterator[Sequence[Any]]:
    """The rows of ``article_page_queries`` pages, read one page at a time.

    ``read_page(after, size)`` reads up to ``size`` rows after the ``(sort_key,
    pk)`` of the last row read (None for the first page).  Keyset pages, not
    OFFSET, so that a backend can let go of its connection between pages and
    rows inserted meanwhile do not shift the pages still to come.
    """
    remaining = limit
    after: tuple[Any, Any] | None = None
    while remaining is None or remaining > 0:
        size = page_size if remaining is None else min(page_size, remaining)
        page = read_page(after, size)
        yield from page
        if len(page) < size:
            return
        after = (page[-1][1], page[-1][0])
        if remaining is not None:
            remaining -= len(page)


# -- writing articles ------------------------------------------------------


@dataclass(slots=True, frozen=True)
class PreparedArticle:
    """An article turned into column values before any write starts."""

    id: str
    url: str | None
    canonical_url: str | None
    site_name: str | None
    title: str | None
    published: str | None
    language: str | None
    word_count: int
    fetched_at: str | None
    raw_sha256: str
    content_sha256: str
    data: str

    def values(self, *, stored_at: str, version: int) -> dict[str, Any]:
        """The ``ARTICLE_COLUMNS`` values that store this article."""
        return {
            "id": self.id,
            "url": self.url,
            "canonical_url": self.canonical_url,
            "site_name": self.site_name,
            "title": self.title,
            "published": self.published,
            "language": self.language,
            "word_count": self.word_count,
            "stored_at": stored_at,
            "fetched_at": self.fetched_at,
            "raw_sha256": self.raw_sha256,
            "content_sha256": self.content_sha256,
            "version": version,
            "data": self.data,
        }


def prepare_article(article: Article) -> PreparedArticle:
    if not isinstance(article, Article):
        raise TypeError(f"expected an Article, got {type(article).__name__}")
    if not isinstance(article.id, str) or not article.id.strip():
        raise ValueError("article id is empty")
    data = json.dumps(article.to_dict(), ensure_ascii=False, allow_nan=False)
    # Reading it back now means a row that could not be loaded later is
    # refused at write time instead of breaking every reader afterwards.
    Article.from_dict(json.loads(data))
    return PreparedArticle(
        id=article.id,
        url=article.url,
        canonical_url=article.canonical_url,
        site_name=article.site_name,
        title=article.title,
        published=utc_text(article.published),
        language=article.language,
        word_count=int(article.word_count),
        fetched_at=utc_text(article.fetched_at),
        raw_sha256=article.raw_sha256 or "",
        content_sha256=content_sha256(article),
        data=data,
    )


def prepare_batch(
    articles: Sequence[Article],
    where: str,
    check: Callable[[int, PreparedArticle], None] | None = None,
) -> dict[str, PreparedArticle]:
    """A batch's articles by id, prepared before any write starts.

    The last article of an id wins and keeps the first one's position.  An
    article that cannot be prepared, or that ``check`` (the backend's own
    limits) refuses, fails the whole batch before anything is written.
    """
    batch: dict[str, PreparedArticle] = {}
    for index, article in enumerate(articles):
        try:
            row = prepare_article(article)
        except Exception as exc:  # to_dict of foreign objects can raise anything
            label = getattr(article, "id", None)
            raise StoreError(
                f"{where}: article #{index} ({label!r}) cannot be stored, "
                f"nothing from this batch was written: {exc}"
            ) from exc
        if check is not None:
            check(index, row)
        batch[row.id] = row
    return batch


# -- duplicates ------------------------------------------------------------

# The columns of ``fingerprints`` that ``duplicate_info_from_row`` reads.
DUPLICATE_COLUMNS = "article_id, group_id, match, closest_id, similarity, exact_hash, reason"


def duplicate_info_from_row(row: Sequence[Any]) -> DuplicateInfo:
    """An article's place among duplicates from a row of ``DUPLICATE_COLUMNS``."""
    return DuplicateInfo(
        article_id=row[0],
        group_id=row[1],
        match=row[2],
        closest_id=row[3],
        similarity=row[4],
        exact_hash=row[5],
        reason=row[6],
    )


def fingerprint_params(fp: Fingerprint, content_sha256: str, now: str) -> dict[str, object]:
    """The named parameters both backends' fingerprint upserts take (SQLite adds
    its band keys)."""
    return {
        "id": fp.article_id,
        "content": content_sha256,
        "exact": fp.exact_hash,
        "signature": fp.signature,
        "words": int(fp.words),
        "reason": fp.reason,
        "now": now,
    }
