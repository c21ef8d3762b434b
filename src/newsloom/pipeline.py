"""Wire the steps: read → extract → store → dedup → cluster → trace → check.

Each batch of articles is written in one transaction together with its
duplicate records, so an interruption loses at most the batch in flight and
never leaves half an article or an article without its fingerprint.  A page
that cannot be read or extracted becomes a ``Failure`` and the run goes on.
Once every batch is in, the stories the run touched are analysed (provenance
and cross-checks), each in its own transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from newsloom.dedup import Deduplicator, DedupResult
from newsloom.errors import InputError
from newsloom.extract import extract
from newsloom.settings import Settings
from newsloom.store.base import PutResult, Store
from newsloom.types import Article, Failure, Page

if TYPE_CHECKING:
    from newsloom.cluster import Featurizer

__all__ = ["IngestReport", "Pipeline", "extract_pages"]


@dataclass(slots=True)
class IngestReport:
    run_id: str
    pages: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    failures: list[Failure] = field(default_factory=list)
    article_ids: list[str] = field(default_factory=list)
    # Dedup: new or updated articles found to copy an article stored before
    # them, exactly or nearly; and those with no fingerprint (empty text).
    exact_duplicates: int = 0
    near_duplicates: int = 0
    unfingerprinted: int = 0
    stories_started: int = 0
    stories_joined: int = 0
    stories_merged: int = 0
    stories_analysed: int = 0
    provenance_edges: int = 0
    conflicts: int = 0

    @property
    def ok(self) -> bool:
        return not self.failures

    def count(self, results: list[PutResult]) -> None:
        for result in results:
            setattr(self, result.status, getattr(self, result.status) + 1)
            self.article_ids.append(result.article_id)

    def count_duplicates(self, result: DedupResult) -> None:
        self.exact_duplicates += result.exact
        self.near_duplicates += result.near
        self.unfingerprinted += result.skipped

    def to_dict(self) -> dict[str, object]:
        return {
            "run_id": self.run_id,
            "pages": self.pages,
            "new": self.new,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "exact_duplicates": self.exact_duplicates,
            "near_duplicates": self.near_duplicates,
            "unfingerprinted": self.unfingerprinted,
            "stories_started": self.stories_started,
            "stories_joined": self.stories_joined,
            "stories_merged": self.stories_merged,
            "stories_analysed": self.stories_analysed,
            "provenance_edges": self.provenance_edges,
            "conflicts": self.conflicts,
            "failures": [
                {"source": f.source, "reason": f.reason, "error": f.error} for f in self.failures
            ],
        }


def _failure(page: Page, exc: Exception) -> Failure:
    if isinstance(exc, InputError):
        reason = str(exc).removeprefix(f"{exc.source}: ") if exc.source else str(exc)
        return Failure(page.source, reason, type(exc).__name__)
    # Anything else is a bug in newsloom, but one page must not sink the batch.
    return Failure(page.source, f"internal error: {type(exc).__name__}: {exc}", "InternalError")


def extract_pages(
    items: Iterable[Page | Failure], settings: Settings
) -> Iterator[Article | Failure]:
    """Extract each page; pass reader failures through and turn errors into failures."""
    for item in items:
        if isinstance(item, Failure):
            yield item
            continue
        try:
            yield extract(item, settings=settings)
        except Exception as exc:  # reported per page, see _failure
            yield _failure(item, exc)


class Pipeline:
    """Ingest sources into a store.

    >>> with open_store("sqlite:///news.db") as store:  # doctest: +SKIP
    ...     report = Pipeline(store).ingest(["pages/"])
    """

    def __init__(
        self,
        store: Store,
        settings: Settings | None = None,
        *,
        stories: bool = True,
        analyse: bool = True,
        featurizer: Featurizer | None = None,
        embedder: Any = None,
    ) -> None:
        self.store = store
        self.settings = settings or Settings()
        self.stories = stories
        # Provenance and cross-checks need stories to work on.
        self.analyse = analyse and stories
        self._featurizer = featurizer
        self._embedder = embedder

    def analyse_stories(self, report: IngestReport) -> None:
        """Trace provenance and cross-check every story the store has queued.

        Runs after the articles and their stories are committed; a story whose
        analysis fails stays queued and the next run tries it again.
        """
        from newsloom.analyse import analyse_pending

        result = analyse_pending(
            self.store,
            max_articles=self.settings.analysis_max_articles,
            max_chars=self.settings.analysis_max_chars,
            embedder=self._embedder,
        )
        report.stories_analysed += result.stories
        report.provenance_edges += result.edges
        report.conflicts += result.conflicts
        report.failures.extend(result.failures)

    def place_in_stories(self, article_ids: list[str], report: IngestReport) -> None:
        """Give stored articles their story.

        Articles are already stored when this runs; if clustering fails they
        stay stored, the failure is reported, and the next run places them
        (``ingest_pages`` starts with ``place_unplaced``).
        """
        from newsloom.cluster import ClusterParams, cluster_stored

        if not article_ids:
            return
        params = ClusterParams(quiet_days=self.settings.story_quiet_days)
        try:
            decisions = cluster_stored(self.store, article_ids, params, featurizer=self._featurizer)
        except Exception as exc:  # models and storage alike: the articles are safe
            reason = f"story clustering failed: {type(exc).__name__}: {exc}"
            report.failures.append(Failure("stories", reason, "StoryError"))
            return
        for decision in decisions:
            if decision.new_story:
                report.stories_started += 1
            else:
                report.stories_joined += 1
            report.stories_merged += len(decision.merged)

    def place_unplaced(self, report: IngestReport) -> None:
        """Place every stored article that has no story yet, oldest stored first.

        A killed run leaves at most its last batch unplaced, but runs whose
        clustering failed can leave thousands; the store hands them out a page
        at a time, and re-reading the input cannot place them (their pages are
        "unchanged" by then), so this goes on until none is left.  It stops
        early when clustering fails again: the next run retries.
        """
        tried: set[str] = set()
        while True:
            page = [a for a in self.store.articles_without_story() if a not in tried]
            if not page:
                return
            tried.update(page)
            failed_before = len(report.failures)
            self.place_in_stories(page, report)
            if len(report.failures) > failed_before:
                return

    def _store_batch(self, batch: list[Article], report: IngestReport) -> None:
        # Articles and their duplicate records commit together (see dedup_batch).
        with self.store.transaction():
            results = self.store.put_articles(batch)
            self.dedup_batch(batch, results, report)
        report.count(results)
        if self.stories:
            self.place_in_stories([r.article_id for r in results if r.status == "new"], report)

    # -- dedup ---------------------------------------------------------------

    def dedup_batch(
        self, batch: list[Article], results: list[PutResult], report: IngestReport
    ) -> None:
        """Fingerprint the new and updated articles of a stored batch and link
        them to their exact and near copies.

        Call inside the batch's ``store.transaction()`` so articles and their
        duplicate records commit together.
        """
        # put_articles keeps the last article of a repeated id; so does this.
        latest = {article.id: article for article in batch}
        changed = [latest[r.article_id] for r in results if r.status != "unchanged"]
        report.count_duplicates(Deduplicator(self.store).add(changed))

    def dedup_catch_up(self, report: IngestReport) -> None:
        """Fingerprint stored articles that lack a fingerprint for their current
        version (stored before dedup existed, or by a bare ``put_articles``)."""
        report.count_duplicates(Deduplicator(self.store).catch_up())

    def ingest(
        self,
        sources: Iterable[str],
        *,
        feed: bool = False,
        sitemap: bool = False,
        batch_size: int = 50,
        on_item: Callable[[Article | Failure], None] | None = None,
    ) -> IngestReport:
        """Read, extract and store every page the sources yield."""
        from newsloom.read import read_sources

        pages = read_sources(sources, self.settings, feed=feed, sitemap=sitemap)
        return self.ingest_pages(pages, batch_size=batch_size, on_item=on_item)

    def ingest_pages(
        self,
        pages: Iterable[Page | Failure],
        *,
        batch_size: int = 50,
        on_item: Callable[[Article | Failure], None] | None = None,
    ) -> IngestReport:
        report = IngestReport(run_id=uuid.uuid4().hex[:12])
        self.dedup_catch_up(report)
        batch: list[Article] = []
        # Articles a crashed run stored but did not place come first.
        if self.stories:
            self.place_unplaced(report)
        try:
            for item in extract_pages(pages, self.settings):
                report.pages += 1
                if isinstance(item, Failure):
                    report.failures.append(item)
                else:
                    batch.append(item)
                if on_item is not None:
                    on_item(item)
                if len(batch) >= batch_size:
                    self._store_batch(batch, report)
                    batch = []
            if batch:
                self._store_batch(batch, report)
            if self.analyse:
                self.analyse_stories(report)
        finally:
            if report.failures:
                self.store.record_failures(report.failures, run_id=report.run_id)
        return report
