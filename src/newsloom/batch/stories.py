"""Story clustering: features on the executors, the online clusterer on the driver.

``OnlineClusterer`` is sequential by design (each decision depends on every
earlier one), so it runs once, on the driver, over the articles in the order
the single process would see them.  What makes clustering slow is computing
features (sentence embeddings, spaCy entities, tokens); that part depends on
no other article and runs in parallel (``cluster.raw_features``).  The only
order-dependent part of a feature, the TF-IDF weights (document frequencies
counted so far), is replayed on the driver (``cluster.weigh_features``).

The trade-off: the driver's loop bounds the throughput of this step (a few
thousand articles a second, index work only) and the driver must hold the
live story index; in exchange the stories are the ones ``newsloom ingest``
would make, not an approximation.  Features stream to the driver one
partition at a time (``toLocalIterator``), in order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from newsloom.cluster import (
    ClusterParams,
    Decision,
    Featurizer,
    MemoryStoryIndex,
    OnlineClusterer,
    RawFeatures,
    StoryState,
    default_featurizer,
    final_story,
    raw_features,
    weigh_features,
)
from newsloom.types import Article

if TYPE_CHECKING:
    from pyspark import RDD

__all__ = ["Clustering", "cluster_in_order", "features_of_partition"]

# The single process embeds 64 articles at a time (cluster_stored); the same
# batch size keeps padding, and so the vectors, alike.
_BATCH = 64

_featurizer: Featurizer | None = None


def _worker_featurizer() -> Featurizer:
    # Models load once per Python worker and stay (spark.python.worker.reuse).
    global _featurizer
    if _featurizer is None:
        _featurizer = default_featurizer()
    return _featurizer


def features_of_partition(
    items: Iterable[tuple[int, Article]], featurizer: Featurizer | None = None
) -> Iterator[tuple[int, RawFeatures]]:
    """Raw features of a partition's articles, in batches of the single process's size."""
    chosen = featurizer or _worker_featurizer()
    batch: list[tuple[int, Article]] = []

    def flush() -> Iterator[tuple[int, RawFeatures]]:
        found = raw_features([a for _, a in batch], chosen)
        yield from zip((o for o, _ in batch), found, strict=True)
        batch.clear()

    for item in items:
        batch.append(item)
        if len(batch) >= _BATCH:
            yield from flush()
    if batch:
        yield from flush()


@dataclass(slots=True)
class Clustering:
    """The driver's result: decisions in order, the final index, story of each article."""

    index: MemoryStoryIndex
    decisions: list[tuple[int, Decision]] = field(default_factory=list)

    def story_of(self) -> dict[str, str]:
        """Article id → the story it ends in (after merges)."""
        placed = self.index.story_of_article
        return {
            d.article_id: final_story(self.index, placed.get(d.article_id, d.story_id))
            for _, d in self.decisions
        }

    def live_stories(self) -> list[StoryState]:
        return [s for s in self.index.stories.values() if not s.merged_into]


def cluster_in_order(
    features: RDD,
    params: ClusterParams,
    *,
    on_article: Callable[[], None] | None = None,
) -> Clustering:
    """Run the online clusterer over ``(order, RawFeatures)`` sorted by order."""
    index = MemoryStoryIndex()
    clusterer = OnlineClusterer(index, params)
    result = Clustering(index)
    ordered = features.sortByKey()
    for order, raw in ordered.toLocalIterator(prefetchPartitions=True):
        decision = clusterer.add(weigh_features(raw, index))
        result.decisions.append((order, decision))
        if on_article is not None:
            on_article()
    return result
