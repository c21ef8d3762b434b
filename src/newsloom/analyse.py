"""Analyse stories: who copied whom (``trace``) and which facts disagree (``check``).

This step runs after clustering.  It reads the stories the store has queued
(an article joined, moved in by a merge, or changed), traces provenance and
cross-checks each one as a whole, and replaces the story's stored analysis in
one transaction.  A story that fails is reported and stays queued for the next
run; the others go on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from newsloom.store.base import Store
from newsloom.types import Article, Conflict, Failure, Provenance

__all__ = ["AnalysisReport", "StoryAnalysis", "analyse_pending", "analyse_story", "pick_articles"]

_LATE = datetime.max.replace(tzinfo=UTC)


@dataclass(slots=True)
class StoryAnalysis:
    """The provenance tree and conflicts of one story."""

    provenance: list[Provenance] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    analysed: int = 0  # articles analysed (a large story is capped)


@dataclass(slots=True)
class AnalysisReport:
    stories: int = 0
    edges: int = 0
    conflicts: int = 0
    failures: list[Failure] = field(default_factory=list)


def pick_articles(articles: Sequence[Article], limit: int) -> list[Article]:
    """The ``limit`` earliest-published articles (undated last), in a stable order.

    Originals are usually published first, so a capped analysis keeps them.
    """
    ordered = sorted(articles, key=lambda a: (a.published or _LATE, a.id))
    return ordered[: max(limit, 0)]


def analyse_story(
    articles: Sequence[Article],
    *,
    story_id: str | None = None,
    embedder: Any = None,
    max_articles: int = 60,
) -> StoryAnalysis:
    """Trace provenance and cross-check the articles of one story."""
    from newsloom.check import check_story
    from newsloom.trace import trace_story

    chosen = pick_articles(articles, max_articles)
    if len(chosen) < 2:
        return StoryAnalysis(analysed=len(chosen))
    provenance = trace_story(chosen, embedder=embedder)
    conflicts = check_story(chosen, provenance=provenance, story_id=story_id, embedder=embedder)
    return StoryAnalysis(provenance, conflicts, len(chosen))


def analyse_pending(
    store: Store,
    *,
    max_articles: int = 60,
    embedder: Any = None,
    batch: int = 100,
    on_story: Callable[[str], None] | None = None,
) -> AnalysisReport:
    """Analyse every story the store has queued, one transaction per story."""
    report = AnalysisReport()
    failed: set[str] = set()
    while True:
        queued = [s for s in store.stories_to_analyse(limit=batch + len(failed)) if s not in failed]
        if not queued:
            return report
        for story_id in queued[:batch]:
            story = store.get_story(story_id)
            if story is None:
                continue
            articles = [a for i in story.article_ids if (a := store.get_article(i))]
            try:
                result = analyse_story(
                    articles, story_id=story.id, embedder=embedder, max_articles=max_articles
                )
                store.put_story_analysis(
                    story.id, result.provenance, result.conflicts, members=len(articles)
                )
            except Exception as exc:  # one story must not stop the others; it stays queued
                failed.add(story_id)
                reason = f"story analysis failed: {type(exc).__name__}: {exc}"
                report.failures.append(Failure(f"story {story_id}", reason, "AnalysisError"))
                continue
            report.stories += 1
            report.edges += sum(e.relation != "independent" for e in result.provenance)
            report.conflicts += len(result.conflicts)
            if on_story is not None:
                on_story(story_id)
