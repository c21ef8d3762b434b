"""Analyse stories: who copied whom (``trace``), which facts disagree (``check``)
and what the story says, with every sentence cited (``summarize``).

This step runs after clustering.  It reads the stories the store has queued
(an article joined, moved in by a merge, or changed), traces provenance and
cross-checks each one as a whole, and replaces the story's stored analysis in
one transaction.  A story that fails is reported and stays queued for the next
run; the others go on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from newsloom.store.base import Store
from newsloom.types import Article, Conflict, Failure, Provenance, StorySummary

__all__ = [
    "AnalysisReport",
    "StoryAnalysis",
    "analyse_pending",
    "analyse_stored",
    "analyse_story",
    "bounded",
    "pick_articles",
    "provenance_tree",
]

_LATE = datetime.max.replace(tzinfo=UTC)


@dataclass(slots=True)
class StoryAnalysis:
    """The provenance tree, conflicts and cited summary of one story."""

    provenance: list[Provenance] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    analysed: int = 0  # articles analysed (a large story is capped)
    summary: StorySummary | None = None


@dataclass(slots=True)
class AnalysisReport:
    stories: int = 0
    edges: int = 0
    conflicts: int = 0
    failures: list[Failure] = field(default_factory=list)


def bounded(article: Article, max_chars: int) -> Article:
    """The article cut to whole paragraphs within ``max_chars`` of text.

    Every pair of sentences may be compared, so a 4 MB page would stall a
    story; the cut keeps a prefix, so spans into it are spans into the full
    text as well.
    """
    if len(article.text) <= max_chars:
        return article
    kept: list[str] = []
    used = 0
    for paragraph in article.paragraphs:
        used += len(paragraph) + (2 if kept else 0)
        if used > max_chars:
            break
        kept.append(paragraph)
    if not kept:  # one giant paragraph: keep its head
        kept = [article.paragraphs[0][:max_chars]]
    return replace(article, paragraphs=kept)


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
    max_chars: int = 50_000,
) -> StoryAnalysis:
    """Trace provenance, cross-check and summarize the articles of one story."""
    from newsloom.check import check_story
    from newsloom.summarize import summarize_story
    from newsloom.trace import trace_story

    chosen = [bounded(a, max_chars) for a in pick_articles(articles, max_articles)]
    if not chosen:
        return StoryAnalysis()
    provenance = trace_story(chosen, embedder=embedder) if len(chosen) > 1 else []
    conflicts = (
        check_story(chosen, provenance=provenance, story_id=story_id, embedder=embedder)
        if len(chosen) > 1
        else []
    )
    summary = summarize_story(
        chosen, provenance=provenance, story_id=story_id or "", embedder=embedder
    )
    return StoryAnalysis(provenance, conflicts, len(chosen), summary)


def analyse_stored(
    store: Store,
    story_id: str,
    *,
    max_articles: int = 60,
    max_chars: int = 50_000,
    embedder: Any = None,
) -> StoryAnalysis | None:
    """Analyse one stored story and save the result; None if there is no such story."""
    story = store.get_story(story_id)
    if story is None:
        return None
    articles = [a for i in story.article_ids if (a := store.get_article(i))]
    result = analyse_story(
        articles,
        story_id=story.id,
        embedder=embedder,
        max_articles=max_articles,
        max_chars=max_chars,
    )
    store.put_story_analysis(
        story.id,
        result.provenance,
        result.conflicts,
        members=len(articles),
        summary=result.summary,
    )
    return result


def analyse_pending(
    store: Store,
    *,
    max_articles: int = 60,
    max_chars: int = 50_000,
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
            try:
                result = analyse_stored(
                    store,
                    story_id,
                    embedder=embedder,
                    max_articles=max_articles,
                    max_chars=max_chars,
                )
            except Exception as exc:  # one story must not stop the others; it stays queued
                failed.add(story_id)
                reason = f"story analysis failed: {type(exc).__name__}: {exc}"
                report.failures.append(Failure(f"story {story_id}", reason, "AnalysisError"))
                continue
            if result is None:
                continue
            report.stories += 1
            report.edges += sum(e.relation != "independent" for e in result.provenance)
            report.conflicts += len(result.conflicts)
            if on_story is not None:
                on_story(story_id)


def provenance_tree(
    article_ids: Sequence[str], edges: Sequence[Provenance]
) -> list[dict[str, Any]]:
    """The story's articles as a forest: originals at the roots, what copies them below.

    Each node is ``{"article_id", "relation", "source_id", "attributed",
    "score", "derived": [nodes]}``; a root's relation is ``original`` when
    something derives from it and ``independent`` otherwise.
    """
    parent = {e.derived_id: e for e in edges if e.directed and e.relation != "independent"}
    children: dict[str, list[str]] = {}
    for edge in parent.values():
        children.setdefault(edge.source_id, []).append(edge.derived_id)
    placed: set[str] = set()

    def node(article_id: str) -> dict[str, Any]:
        placed.add(article_id)
        edge = parent.get(article_id)
        below = [node(c) for c in children.get(article_id, []) if c not in placed]
        root = "original" if below else "independent"
        return {
            "article_id": article_id,
            "relation": edge.relation if edge is not None else root,
            "source_id": edge.source_id if edge else None,
            "attributed": edge.attributed if edge else None,
            "score": round(edge.score, 4) if edge else None,
            "derived": below,
        }

    ordered = list(dict.fromkeys(article_ids))
    roots = [node(i) for i in ordered if i not in parent]
    # A cycle would leave articles unplaced; show them as roots rather than lose them.
    roots += [node(i) for i in ordered if i not in placed]
    return roots
