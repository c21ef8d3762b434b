"""Reads whose SQL is the same in SQLite and PostgreSQL but for the parameter marker.

Each backend's mixin sets ``_MARK`` to its parameter marker (``?`` for sqlite3,
``%s`` for psycopg) and provides ``_reading``; the queries here are written
once, with the parameter marker put in where a parameter goes.  Reads whose SQL really differs
(prefix lookups, ``IN`` lists against ``= ANY``, the batched PostgreSQL
story list) stay in the backends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime
from typing import Any, ClassVar

from newsloom.store.base import ArticleVersion, Order
from newsloom.store.rows import (
    article_page_queries,
    article_version_from_row,
    check_article_listing,
    keyset_pages,
    parse_time,
    story_from_row,
    story_member_from_row,
)
from newsloom.types import Article, Failure, Story, StoryMember, StoryStamp

__all__ = ["SharedAnalysisReads", "SharedArticleReads", "SharedStoryReads", "SharedViewCounts"]


class SharedStoryReads:
    """Story reads shared by ``SQLiteStoryMixin`` and ``PostgresStoryMixin``."""

    _MARK: ClassVar[str]
    _reading: Callable[[str], AbstractContextManager[Any]]

    def _final_story_id(self, conn: Any, story_id: str) -> str:
        """The story a (possibly merged-away) id ends at, following merges."""
        m = self._MARK
        seen: set[str] = set()
        while story_id not in seen:
            seen.add(story_id)
            row = conn.execute(
                f"SELECT into_id FROM story_merges WHERE absorbed = {m}", (story_id,)
            ).fetchone()
            if row is None:
                break
            story_id = row[0]
        return story_id

    def _story(self, conn: Any, row: Sequence[Any]) -> Story:
        """A story from a row starting ``id, title, first_seen, updated``, with
        its members and the stories merged into it."""
        m = self._MARK
        ids = [
            r[0]
            for r in conn.execute(
                f"SELECT article_id FROM story_members WHERE story_id = {m} ORDER BY seq",
                (row[0],),
            )
        ]
        merged = [
            r[0]
            for r in conn.execute(
                f"SELECT absorbed FROM story_merges WHERE into_id = {m} ORDER BY absorbed",
                (row[0],),
            )
        ]
        splits = conn.execute(
            f"SELECT part_id, story_id FROM story_splits WHERE part_id = {m} OR story_id = {m}",
            (row[0], row[0]),
        ).fetchall()
        return story_from_row(row, ids, merged, [(r[0], r[1]) for r in splits])

    def story_stamp(self, story_id: str) -> StoryStamp | None:
        """The live story with exactly this id, as its pages depend on it, in one read.

        A story page asked for a thousand times a minute needed five queries
        each time just to learn that nothing had changed (story, members,
        merges, analysis time, views); this is one.
        """
        if not isinstance(story_id, str) or "\x00" in story_id:
            return None
        m = self._MARK
        with self._reading("reading a story") as conn:
            row = conn.execute(
                f"""
                SELECT s.id, s.title, s.updated,
                    (SELECT COUNT(*) FROM story_members WHERE story_id = s.id),
                    (SELECT COALESCE(MAX(seq), 0) FROM story_members WHERE story_id = s.id),
                    (SELECT analysed_at FROM story_analysis WHERE story_id = s.id),
                    (SELECT COALESCE(SUM(count), 0) FROM page_views
                     WHERE kind = 'story' AND item_id = s.id)
                FROM stories AS s WHERE s.id = {m} AND s.merged_into IS NULL
                """,
                (story_id,),
            ).fetchone()
        if row is None:
            return None
        return StoryStamp(
            id=row[0],
            title=row[1],
            updated=parse_time(row[2]),
            size=int(row[3]),
            last_seq=int(row[4]),
            analysed_at=parse_time(row[5]),
            views=int(row[6]),
        )

    def count_stories(self) -> int:
        with self._reading("counting stories") as conn:
            row = conn.execute("SELECT COUNT(*) FROM stories WHERE merged_into IS NULL").fetchone()
            return int(row[0])

    def story_members(self, story_id: str) -> list[StoryMember]:
        with self._reading("reading story members") as conn:
            rows = conn.execute(
                "SELECT article_id, story_id, decided_at, reasons FROM story_members"
                f" WHERE story_id = {self._MARK} ORDER BY seq",
                (story_id,),
            ).fetchall()
        return [story_member_from_row(r) for r in rows]


class SharedAnalysisReads:
    """Analysis reads shared by ``SQLiteAnalysisMixin`` and ``PostgresAnalysisMixin``."""

    _MARK: ClassVar[str]
    _reading: Callable[[str], AbstractContextManager[Any]]

    def stories_to_analyse(self, limit: int = 100) -> list[str]:
        """Live stories whose articles changed since their last analysis."""
        with self._reading("finding stories to analyse") as conn:
            return [
                r[0]
                for r in conn.execute(
                    "SELECT p.story_id FROM pending_analysis AS p"
                    " JOIN stories AS s ON s.id = p.story_id AND s.merged_into IS NULL"
                    f" ORDER BY p.story_id LIMIT {self._MARK}",
                    (limit,),
                )
            ]

    def story_analysed_at(self, story_id: str) -> datetime | None:
        """When the story was last analysed, or None if it never was."""
        with self._reading("reading a story analysis") as conn:
            row = conn.execute(
                f"SELECT analysed_at FROM story_analysis WHERE story_id = {self._MARK}",
                (story_id,),
            ).fetchone()
        return datetime.fromisoformat(row[0]) if row else None


class SharedArticleReads:
    """Article, failure and duplicate-group reads shared by ``SQLiteStore`` and
    ``PostgresStore``; ``_resolve_id`` (an id or unique prefix to a full id) is
    the backend's."""

    _MARK: ClassVar[str]
    _reading: Callable[[str], AbstractContextManager[Any]]
    _resolve_id: Callable[[Any, str], str | None]
    _load: Callable[[Any], Article]
    # Rows per ``iter_articles`` page: each backend returns its module's
    # ``PAGE_SIZE``, read at each call so that tests can make pages small.
    _page_size: Callable[[], int]

    def iter_articles(
        self,
        *,
        limit: int | None = None,
        offset: int = 0,
        order: Order = "stored",
        newest_first: bool = True,
    ) -> Iterator[Article]:
        check_article_listing(order, limit, offset)
        return self._iter_articles(limit, offset, order, newest_first)

    def _iter_articles(
        self, limit: int | None, offset: int, order: Order, newest_first: bool
    ) -> Iterator[Article]:
        first, after_last = article_page_queries(order, newest_first, self._MARK)

        def read_page(after: tuple[Any, Any] | None, size: int) -> list[Any]:
            # A connection (and SQLite's lock) is held for one page at a time.
            with self._reading("listing articles") as conn:
                if after is None:
                    return conn.execute(first, (size, offset)).fetchall()
                return conn.execute(after_last, (*after, size)).fetchall()

        for row in keyset_pages(read_page, limit, self._page_size()):
            yield self._load(row[2])

    def count_articles(self) -> int:
        with self._reading("counting articles") as conn:
            return int(conn.execute("SELECT count(*) FROM articles").fetchone()[0])

    def iter_article_ids(self) -> Iterator[str]:
        """Every stored article id in the order they were first stored."""
        with self._reading("listing articles") as conn:
            ids = [r[0] for r in conn.execute("SELECT id FROM articles ORDER BY pk")]
        yield from ids

    def versions(self, article_id: str) -> list[ArticleVersion]:
        with self._reading("listing versions") as conn:
            full_id = self._resolve_id(conn, article_id)
            if full_id is None:
                return []
            rows = conn.execute(
                "SELECT article_id, version, raw_sha256, content_sha256, fetched_at, stored_at"
                f" FROM article_versions WHERE article_id = {self._MARK} ORDER BY version",
                (full_id,),
            ).fetchall()
        return [article_version_from_row(row) for row in rows]

    def failures(self, *, run_id: str | None = None) -> list[Failure]:
        with self._reading("listing failures") as conn:
            if run_id is None:
                rows = conn.execute("SELECT source, reason, error FROM failures ORDER BY pk")
            else:
                rows = conn.execute(
                    "SELECT source, reason, error FROM failures"
                    f" WHERE run_id = {self._MARK} ORDER BY pk",
                    (run_id,),
                )
            return [Failure(row[0], row[1], row[2]) for row in rows]

    def duplicate_group(self, group_id: str) -> list[str]:
        with self._reading("listing a duplicate group") as conn:
            rows = conn.execute(
                "SELECT f.article_id FROM fingerprints AS f JOIN articles AS a"
                f" ON a.id = f.article_id WHERE f.group_id = {self._MARK} ORDER BY a.pk",
                (group_id,),
            ).fetchall()
        return [row[0] for row in rows]


class SharedViewCounts:
    """Page-view counts for ``SQLiteViewsMixin`` and ``PostgresAnalysisMixin``
    (with the one write in this module: its SQL too differs only in the
    parameter marker)."""

    _MARK: ClassVar[str]
    _reading: Callable[[str], AbstractContextManager[Any]]
    _transaction: Callable[[str], AbstractContextManager[Any]]

    def views(self, kind: str, item_id: str) -> int:
        """All views a page ever had."""
        m = self._MARK
        with self._reading("reading view counts") as conn:
            row = conn.execute(
                "SELECT COALESCE(SUM(count), 0) FROM page_views"
                f" WHERE kind = {m} AND item_id = {m}",
                (kind, item_id),
            ).fetchone()
        return int(row[0])

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
        m = self._MARK
        with self._transaction("counting views") as conn:
            conn.cursor().executemany(
                f"INSERT INTO page_views (kind, item_id, day, count) VALUES ({m}, {m}, {m}, {m})"
                " ON CONFLICT (kind, item_id, day)"
                " DO UPDATE SET count = page_views.count + excluded.count",
                rows,
            )
