"""Exact and near duplicates as Spark shuffles, with the single process's groups.

``newsloom.dedup.Deduplicator`` takes articles one at a time: an article with
an earlier exact copy joins that copy's group; otherwise its LSH candidates
(the ``max_candidates`` earliest earlier articles sharing a band key) are
verified by signature similarity and their groups merged.  A group is named
after its earliest member.  Here the same links are found in bulk:

* exact: a window over ``exact_hash`` in stream order links every later
  member to the first;
* near: (band, key) exploded per article and grouped; inside a bucket each
  member pairs with the earlier members ranked within ``max_candidates``
  (the earliest candidates overall always are), the pairs of one article are
  cut to its ``max_candidates`` earliest, and verified with the same
  threshold on the share of equal MinHash values.  Articles with an earlier
  exact copy make no near links, as in the single process.

The verified links (a handful per duplicate) go to the driver, where a
union-find rooted at the earliest member names the groups and each article's
closest copy is picked as ``offer_closest`` would have left it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from newsloom.dedup import DedupConfig, Fingerprinter
from newsloom.store.base import DuplicateInfo, Fingerprint
from newsloom.types import Article

if TYPE_CHECKING:
    from pyspark import RDD
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["Link", "find_links", "fingerprint_rows", "group_duplicates"]


@dataclass(slots=True, frozen=True)
class Link:
    """A verified copy: ``later`` found ``earlier`` (by order) with this similarity."""

    later: int
    earlier: int
    similarity: float
    exact: bool


_fingerprinters: dict[DedupConfig, Fingerprinter] = {}


def _fingerprinter(config: DedupConfig) -> Fingerprinter:
    # One per Python worker: building the permutations is not free.
    if config not in _fingerprinters:
        _fingerprinters[config] = Fingerprinter(config)
    return _fingerprinters[config]


def fingerprint_rows(
    articles: Iterable[tuple[int, Article]], config: DedupConfig
) -> Iterable[tuple[int, str, Fingerprint]]:
    fingerprinter = _fingerprinter(config)
    for order, article in articles:
        yield order, article.id, fingerprinter.fingerprint(article.id, article.text)


def _fingerprint_frame(spark: SparkSession, fingerprints: RDD) -> DataFrame:
    import numpy as np
    from pyspark.sql.types import ArrayType, LongType, StringType, StructField, StructType

    schema = StructType(
        [
            StructField("ord", LongType(), False),
            StructField("exact_hash", StringType(), True),
            StructField("sig", ArrayType(LongType()), True),
            StructField("bands", ArrayType(LongType()), False),
        ]
    )

    def row(item: tuple[int, str, Fingerprint]) -> tuple[object, ...]:
        order, _, fp = item
        sig = np.frombuffer(fp.signature, dtype=np.uint32).tolist() if fp.signature else None
        return order, fp.exact_hash, sig, list(fp.band_keys)

    return spark.createDataFrame(fingerprints.map(row), schema)


def find_links(spark: SparkSession, fingerprints: RDD, config: DedupConfig) -> list[Link]:
    """Every exact and verified near link, collected to the driver."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    # Cached: the frame is read four times below, and each read would otherwise
    # go back through Python workers, unpickling every article again.
    fp = _fingerprint_frame(spark, fingerprints).cache()
    by_hash = Window.partitionBy("exact_hash").orderBy("ord")
    exact = (
        fp.where(F.col("exact_hash").isNotNull())
        .select("ord", F.first("ord").over(by_hash).alias("first"))
        .where(F.col("ord") != F.col("first"))
    )
    exact.cache()
    limit = config.max_candidates
    bands = fp.where(F.col("sig").isNotNull()).select(
        "ord", F.posexplode("bands").alias("band", "key")
    )
    in_bucket = Window.partitionBy("band", "key").orderBy("ord")
    ranked = bands.withColumn("rank", F.row_number().over(in_bucket))
    later, earlier = ranked.alias("l"), ranked.alias("e")
    pairs = (
        later.join(
            earlier,
            (F.col("l.band") == F.col("e.band"))
            & (F.col("l.key") == F.col("e.key"))
            & (F.col("e.rank") <= limit)
            & (F.col("e.ord") < F.col("l.ord")),
        )
        .select(F.col("l.ord").alias("later"), F.col("e.ord").alias("earlier"))
        .distinct()
    )
    # The lookup reads the earliest max_candidates candidates of an article.
    per_article = Window.partitionBy("later").orderBy("earlier")
    pairs = pairs.withColumn("n", F.row_number().over(per_article)).where(F.col("n") <= limit)
    # An article with an earlier exact copy never looks for near ones.
    pairs = pairs.join(exact.select(F.col("ord").alias("later")), "later", "left_anti")
    sigs_l = fp.select(F.col("ord").alias("later"), F.col("sig").alias("sig_l"))
    sigs_e = fp.select(F.col("ord").alias("earlier"), F.col("sig").alias("sig_e"))
    equal = F.aggregate(
        F.zip_with("sig_l", "sig_e", lambda x, y: F.when(x == y, 1).otherwise(0)),
        F.lit(0),
        lambda acc, v: acc + v,
    )
    size = F.size("sig_l").cast("double")
    near = (
        pairs.join(sigs_l, "later")
        .join(sigs_e, "earlier")
        .where(F.size("sig_l") == F.size("sig_e"))
        .select("later", "earlier", (equal.cast("double") / size).alias("similarity"))
        .where(F.col("similarity") >= F.lit(config.near_threshold))
    )
    links = [Link(r["ord"], r["first"], 1.0, True) for r in exact.collect()]
    links += [
        Link(r["later"], r["earlier"], round(r["similarity"], 4), False) for r in near.collect()
    ]
    exact.unpersist()
    fp.unpersist()
    return links


def group_duplicates(
    ids: dict[int, str], fingerprints: dict[int, Fingerprint], links: list[Link]
) -> dict[int, DuplicateInfo]:
    """Each linked article's group, match and closest copy, by order.

    Articles absent from the result are their own one-member group with no
    match (``DuplicateInfo(id, id, exact_hash=…)``).
    """
    parent: dict[int, int] = {}

    def root(node: int) -> int:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for link in links:
        a, b = root(link.later), root(link.earlier)
        if a != b:
            # The earliest member names the group.
            parent[max(a, b)] = min(a, b)
    exact_of = {link.later: link.earlier for link in links if link.exact}
    near_of = {link.later for link in links if not link.exact}
    # Closest copy: the most similar linked article, the earliest of equals
    # (what the in-order offers of the single process leave behind).
    best: dict[int, tuple[float, int]] = {}
    for link in links:
        for node, other in ((link.later, link.earlier), (link.earlier, link.later)):
            current = best.get(node)
            if current is None or (link.similarity, -other) > (current[0], -current[1]):
                best[node] = (link.similarity, other)
    out: dict[int, DuplicateInfo] = {}
    for node in parent:
        fp = fingerprints[node]
        match = "exact" if node in exact_of else "near" if node in near_of else "none"
        closest = best.get(node)
        out[node] = DuplicateInfo(
            ids[node],
            ids[root(node)],
            match=match,
            closest_id=ids[closest[1]] if closest else None,
            similarity=closest[0] if closest else None,
            exact_hash=fp.exact_hash,
            reason=fp.reason,
        )
    return out
