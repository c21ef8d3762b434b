"""Provenance, cross-checks and summaries, one story per task element.

Stories are independent once clustering is done, so each is analysed where
its articles land after a group-by, with ``analyse.analyse_story``: the same
function ``newsloom ingest`` calls through ``analyse_stored``.  A story whose
analysis raises is reported in ``errors`` and the job goes on, as
``analyse_pending`` does.

Stories differ in size, and a story's cost grows with the pairs of its
members, so hashing stories to as many partitions as cores leaves one core
idle while the other finishes the large stories.  ``plan_partitions`` deals
the stories, largest first, to the least loaded of a few partitions per core
(LPT scheduling), and Spark then hands the partitions to whichever core is
free.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from newsloom.analyse import StoryAnalysis, analyse_story
from newsloom.settings import Settings
from newsloom.types import Article, Failure

__all__ = ["StoryResult", "analyse_group", "plan_partitions", "story_cost"]

# Partitions per core: a few, so that a wrong cost estimate is evened out by
# Spark giving the next partition to whichever core is free.
PARTITIONS_PER_CORE = 4


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


def story_cost(members: int, max_articles: int) -> int:
    """Estimated work of analysing a story: its articles plus their pairs.

    ``analyse_story`` keeps at most ``max_articles`` members, embeds each once
    and compares them pairwise (provenance, cross-checks).  Text length
    matters as much (in bench/spark.py's 200-page WARC, stories of eight
    members took 0.2 to 3.4 s), but the driver knows only the member counts; the spare
    partitions per core even out what this estimate misses.
    """
    kept = min(members, max_articles)
    return kept + kept * (kept - 1) // 2


def plan_partitions(sizes: Mapping[str, int], width: int, max_articles: int) -> dict[str, int]:
    """Story id → partition, partitions about equally loaded by ``story_cost``."""
    count = max(1, min(len(sizes), width * PARTITIONS_PER_CORE))
    loads = [(0, index) for index in range(count)]
    plan: dict[str, int] = {}
    # Largest first; ties by id, so the plan does not depend on dict order.
    for story, members in sorted(
        sizes.items(), key=lambda kv: (-story_cost(kv[1], max_articles), kv[0])
    ):
        load, index = heapq.heappop(loads)
        plan[story] = index
        heapq.heappush(loads, (load + story_cost(members, max_articles), index))
    return plan
