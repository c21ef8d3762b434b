"""Provenance, cross-checks and summaries, one story per task element.

Stories are independent once clustering is done, so each is analysed where
its articles land after a group-by, with ``analyse.analyse_story``: the same
function ``newsloom ingest`` calls through ``analyse_stored``.  A story whose
analysis raises is reported in ``errors`` and the job goes on, as
``analyse_pending`` does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from newsloom.analyse import StoryAnalysis, analyse_story
from newsloom.settings import Settings
from newsloom.types import Article, Failure

__all__ = ["StoryResult", "analyse_group"]


@dataclass(slots=True)
class StoryResult:
    story_id: str
    members: int
    analysis: StoryAnalysis | None
    failure: Failure | None = None


def analyse_group(
    story_id: str, members: Iterable[tuple[int, Article]], settings: Settings
) -> StoryResult:
    """Analyse one story's articles, given with their order."""
    # Members in stream order, as the store lists them (story_members.seq).
    articles = [article for _, article in sorted(members, key=lambda m: m[0])]
    try:
        analysis = analyse_story(
            articles,
            story_id=story_id,
            max_articles=settings.analysis_max_articles,
            max_chars=settings.analysis_max_chars,
        )
    except Exception as exc:  # one story must not stop the others
        reason = f"story analysis failed: {type(exc).__name__}: {exc}"
        return StoryResult(
            story_id, len(articles), None, Failure(f"story {story_id}", reason, "AnalysisError")
        )
    return StoryResult(story_id, len(articles), analysis)
