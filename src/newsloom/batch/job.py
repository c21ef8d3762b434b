"""``newsloom batch``: read → extract → dedup → cluster → analyse on Spark, to Parquet.

The steps and their results are those of ``Pipeline.ingest``; see the module
docs of ``inputs`` (order), ``duplicates`` (LSH as a shuffle), ``stories``
(the sequential clusterer on the driver) and ``analysis`` (per story).
A page, record or story that fails becomes a row of ``errors``; the job goes on.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from newsloom.batch.analysis import StoryResult, analyse_group, plan_partitions
from newsloom.batch.duplicates import find_links, fingerprint_rows, group_duplicates
from newsloom.batch.inputs import InputFile, list_inputs, read_local, read_spooled
from newsloom.batch.progress import watch
from newsloom.batch.session import spark_session
from newsloom.batch.stories import Clustering, cluster_in_order, features_of_partition
from newsloom.batch.tables import (
    article_row,
    conflict_row,
    error_row,
    provenance_row,
    schemas,
    state_row,
)
from newsloom.cluster import ClusterParams, Featurizer
from newsloom.dedup import DedupConfig
from newsloom.pipeline import extract_pages
from newsloom.settings import Settings
from newsloom.store.base import DuplicateInfo, Fingerprint
from newsloom.store.rows import member_row
from newsloom.types import Article, Failure, Page

if TYPE_CHECKING:
    from pyspark import RDD, SparkContext
    from pyspark.sql import SparkSession

__all__ = ["BatchOptions", "BatchReport", "run_batch"]

Show = Callable[[str], None]


@dataclass(slots=True)
class BatchOptions:
    master: str | None = None
    # Shuffle width and the number of read/extract tasks; default: the cores Spark has.
    partitions: int | None = None
    stories: bool = True
    # Provenance and cross-checks need stories.
    analyse: bool = True
    dedup: DedupConfig = field(default_factory=DedupConfig)
    # None: the packaged models, loaded once per executor worker.
    featurizer: Featurizer | None = None


@dataclass(slots=True)
class BatchReport:
    out: str
    files: int = 0
    records: int = 0
    articles: int = 0
    exact_duplicates: int = 0
    near_duplicates: int = 0
    stories: int = 0
    stories_merged: int = 0
    stories_analysed: int = 0
    provenance_edges: int = 0
    conflicts: int = 0
    errors: int = 0
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}  # type: ignore[attr-defined]


def _read_file_safely(
    item: InputFile, settings: Settings, part: int = 0, parts: int = 1
) -> Iterator[tuple[int, Page | Failure]]:
    # read_file turns bad input into Failures; this catches newsloom's own bugs
    # so that one file cannot fail the job.  With parts > 1, only every
    # parts-th record (from the part-th on) is kept: see read_slices.
    count = 0
    try:
        for result in read_local(item, settings):
            if count % parts == part:
                yield result
            count += 1
    except Exception as exc:
        # Every part of the file meets the same error at the same record;
        # the part that owns that position reports it, once.
        if count % parts == part:
            reason = f"internal error: {type(exc).__name__}: {exc}"
            yield item.base | count, Failure(item.location, reason, "InternalError")


def _read_spooled_safely(
    item: InputFile, body: bytes, settings: Settings
) -> Iterator[tuple[int, Page | Failure]]:
    count = 0
    try:
        for result in read_spooled(item, body, settings):
            count += 1
            yield result
    except Exception as exc:
        reason = f"internal error: {type(exc).__name__}: {exc}"
        yield item.base | count, Failure(item.location, reason, "InternalError")


def _extract(item: tuple[int, Page | Failure], settings: Settings) -> tuple[int, Article | Failure]:
    order, page = item
    return order, next(extract_pages([page], settings))


def _latest(a: tuple[int, Article], b: tuple[int, Article]) -> tuple[int, Article]:
    # An id read twice: stored where first seen, with the last version's
    # content (put_articles keeps the last of a repeated id).
    first = min(a[0], b[0])
    last = a[1] if a[0] > b[0] else b[1]
    return first, last


def _read(sc: SparkContext, files: list[InputFile], settings: Settings, width: int) -> RDD:
    parts: list[RDD] = []
    local = [f for f in files if f.local]
    remote = {f.location: f for f in files if not f.local}
    if local:
        slices = read_slices(local, width)
        parts.append(
            sc.parallelize(slices, max(1, min(len(slices), width * 4))).flatMap(
                lambda s: _read_file_safely(s[0], settings, s[1], s[2])
            )
        )
    if remote:
        by_name = sc.broadcast(remote)
        blobs = sc.binaryFiles(",".join(remote), minPartitions=width)
        pages = blobs.filter(lambda kv: kv[0] in by_name.value).flatMap(
            lambda kv: _read_spooled_safely(by_name.value[kv[0]], kv[1], settings)
        )
        if len(remote) < width:
            # Fewer remote files than cores (one big WARC): spread the pages
            # before the costly extraction, at the price of shuffling their bytes.
            pages = pages.repartition(width)
        parts.append(pages)
    return parts[0] if len(parts) == 1 else sc.union(parts)


def read_slices(files: list[InputFile], width: int) -> list[tuple[InputFile, int, int]]:
    """(file, part, parts): who reads what, so that every core has records to extract.

    With fewer local files than cores (one big WARC), each file is read by
    ``ceil(width / files)`` tasks, each keeping every n-th record.  Each task
    decompresses and parses the whole file, but that is cheap next to
    extraction (about 0.5 ms against 18 ms a page in bench/spark.py's WARC),
    and unlike a repartition no page is pickled, shuffled and read back.
    """
    parts = -(-width // len(files)) if files and len(files) < width else 1
    return [(item, part, parts) for item in files for part in range(parts)]


def run_batch(
    inputs: list[str],
    out: str,
    settings: Settings,
    options: BatchOptions | None = None,
    *,
    show: Show | None = None,
) -> BatchReport:
    """Process ``inputs`` on Spark and write the Parquet tables under ``out``."""
    from pyspark import StorageLevel

    options = options or BatchOptions()
    say: Show = show or (lambda _text: None)
    started = time.perf_counter()
    spark = spark_session(options.master, partitions=options.partitions)
    sc = spark.sparkContext
    width = options.partitions or sc.defaultParallelism
    report = BatchReport(out=out)
    # Starting the JVM is a fixed cost that more cores do not shrink: timed apart.
    report.timings["start"] = time.perf_counter() - started
    with watch(sc, say):
        mark = time.perf_counter()
        say("listing inputs")
        files, listing_failures = list_inputs(sc, [str(i) for i in inputs])
        report.files = len(files)
        extracted = (
            _read(sc, files, settings, width)
            .map(lambda item: _extract(item, settings))
            .persist(StorageLevel.MEMORY_AND_DISK)
        )
        say("reading and extracting")
        report.records = extracted.count()
        report.timings["read_extract"] = time.perf_counter() - mark

        config = options.dedup
        mark = time.perf_counter()
        articles = (
            extracted.filter(lambda item: isinstance(item[1], Article))
            .map(lambda item: (item[1].id, item))
            .reduceByKey(_latest)
            .values()
            .mapPartitions(lambda items: _with_fingerprints(items, config))
            .persist(StorageLevel.MEMORY_AND_DISK)
        )
        report.articles = articles.count()
        say("finding duplicates")
        duplicates = _dedup(spark, articles, config)
        report.exact_duplicates = sum(d.match == "exact" for d in duplicates.values())
        report.near_duplicates = sum(d.match == "near" for d in duplicates.values())
        report.timings["dedup"] = time.perf_counter() - mark

        clustering: Clustering | None = None
        features = None
        if options.stories:
            mark = time.perf_counter()
            featurizer = options.featurizer
            features = articles.map(lambda t: (t[0], t[1])).mapPartitions(
                lambda items: features_of_partition(items, featurizer)
            )
            features = features.persist(StorageLevel.MEMORY_AND_DISK)
            say("clustering stories")
            clustering = cluster_in_order(features, _params(settings))
            report.stories = len(clustering.live_stories())
            report.stories_merged = len(clustering.index.merges)
            report.timings["stories"] = time.perf_counter() - mark

        story_of = clustering.story_of() if clustering else {}
        results: RDD | None = None
        if clustering is not None and options.analyse:
            mark = time.perf_counter()
            say("analysing stories")
            story_bc = sc.broadcast(story_of)
            plan = plan_partitions(
                Counter(story_of.values()), width, settings.analysis_max_articles
            )
            plan_bc = sc.broadcast(plan)
            results = (
                articles.map(lambda t: (story_bc.value[t[1].id], (t[0], t[1])))
                .groupByKey(
                    numPartitions=max(plan.values(), default=0) + 1,
                    partitionFunc=lambda story: plan_bc.value[story],
                )
                .map(lambda kv: analyse_group(kv[0], kv[1], settings))
                .persist(StorageLevel.MEMORY_AND_DISK)
            )
            results.count()
            report.timings["analyse"] = time.perf_counter() - mark

        mark = time.perf_counter()
        say("writing tables")
        _write_all(
            spark, out, articles, duplicates, story_of, clustering, features, results,
            extracted, listing_failures, report,
        )  # fmt: skip
        report.timings["write"] = time.perf_counter() - mark
        for rdd in (extracted, articles, features, results):
            if rdd is not None:
                rdd.unpersist()
    report.seconds = time.perf_counter() - started
    return report


def _params(settings: Settings) -> ClusterParams:
    return ClusterParams(quiet_days=settings.story_quiet_days)


def _with_fingerprints(
    items: Iterator[tuple[int, Article]], config: DedupConfig
) -> Iterator[tuple[int, Article, Fingerprint]]:
    pairs = list(items)
    for (order, article), (_, _, fp) in zip(pairs, fingerprint_rows(pairs, config), strict=True):
        yield order, article, fp


def _dedup(spark: SparkSession, articles: RDD, config: DedupConfig) -> dict[int, DuplicateInfo]:
    """Duplicate records of the articles that have a copy, by order."""
    links = find_links(spark, articles.map(lambda t: (t[0], t[1].id, t[2])), config)
    if not links:
        return {}
    linked = spark.sparkContext.broadcast({n for link in links for n in (link.later, link.earlier)})
    found = articles.filter(lambda t: t[0] in linked.value).map(lambda t: (t[0], (t[1].id, t[2])))
    known = dict(found.collect())
    ids = {order: pair[0] for order, pair in known.items()}
    fps = {order: pair[1] for order, pair in known.items()}
    return group_duplicates(ids, fps, links)


def _write_all(
    spark: SparkSession,
    out: str,
    articles: RDD,
    duplicates: dict[int, DuplicateInfo],
    story_of: dict[str, str],
    clustering: Clustering | None,
    features: RDD | None,
    results: RDD | None,
    extracted: RDD,
    listing_failures: list[Failure],
    report: BatchReport,
) -> None:
    sc = spark.sparkContext
    tables = schemas()

    def write(name: str, rows: RDD | list[tuple[Any, ...]]) -> None:
        frame = spark.createDataFrame(rows, tables[name])
        frame.write.mode("overwrite").parquet(os.path.join(out, name))

    dup_bc = sc.broadcast(duplicates)
    story_bc = sc.broadcast(story_of)

    def row(item: tuple[int, Article, Fingerprint]) -> tuple[Any, ...]:
        order, article, fp = item
        dup = dup_bc.value.get(order) or DuplicateInfo(
            article.id, article.id, exact_hash=fp.exact_hash, reason=fp.reason
        )
        return article_row(order, article, fp, dup, story_bc.value.get(article.id))

    write("articles", articles.map(row))

    summaries: dict[str, Any] = {}
    failures = list(listing_failures)
    if results is not None:
        write("provenance", results.flatMap(_provenance_rows))
        write("conflicts", results.flatMap(_conflict_rows))
        for story_id, summary, failure in results.map(_summary_or_failure).collect():
            if failure is not None:
                failures.append(failure)
            else:
                summaries[story_id] = summary
                report.stories_analysed += 1
        counts = results.map(_counts).fold((0, 0), lambda a, b: (a[0] + b[0], a[1] + b[1]))
        report.provenance_edges, report.conflicts = counts
    else:
        write("provenance", [])
        write("conflicts", [])

    members: dict[str, int] = {}
    for story in story_of.values():
        members[story] = members.get(story, 0) + 1
    membership: list[tuple[Any, ...]] = []
    states: list[tuple[Any, ...]] = []
    kept: list[tuple[Any, ...]] = []
    if clustering is not None:
        for order, decision in clustering.decisions:
            reasons = decision.reasons()
            membership.append(
                (
                    story_of[decision.article_id], decision.article_id, order,
                    decision.story_id, decision.new_story, float(decision.score),
                    _json(reasons),
                )
            )  # fmt: skip
        merges = {
            absorbed: (seq, article_id)
            for seq, (absorbed, _into, article_id) in enumerate(clustering.index.merges)
        }
        splits = {part: (story, article) for story, part, article in clustering.index.splits}
        order_of = {decision.article_id: order for order, decision in clustering.decisions}
        for story_id, story_members in clustering.index.kept.items():
            kept += [(order_of[m.article_id], story_id, *member_row(m)) for m in story_members]
        for story in clustering.index.stories.values():
            states.append(
                state_row(
                    story,
                    merges.get(story.id),
                    splits.get(story.id),
                    members.get(story.id, 0),
                    story.id in summaries,
                    summaries.get(story.id),
                )
            )
    write("stories", sc.parallelize(membership, _slices(membership)))
    write("story_index", sc.parallelize(states, _slices(states)))
    write("members", sc.parallelize(kept, _slices(kept)))
    if features is not None:
        write("terms", features.map(lambda kv: (kv[0], kv[1].article_id, list(kv[1].counts))))
    else:
        write("terms", [])

    bad = extracted.filter(lambda item: isinstance(item[1], Failure)).map(lambda i: i[1])
    errors = bad.union(sc.parallelize(failures, _slices(failures))).map(error_row)
    errors = errors.persist()
    report.errors = errors.count()
    write("errors", errors)
    errors.unpersist()


def _slices(rows: list[Any]) -> int:
    return max(1, min(64, len(rows) // 20_000 + 1))


def _json(data: Any) -> str:
    import json

    return json.dumps(data, ensure_ascii=False)


def _provenance_rows(result: StoryResult) -> list[tuple[Any, ...]]:
    if result.analysis is None:
        return []
    return [provenance_row(result.story_id, edge) for edge in result.analysis.provenance]


def _conflict_rows(result: StoryResult) -> list[tuple[Any, ...]]:
    if result.analysis is None:
        return []
    return [
        conflict_row(result.story_id, seq, conflict)
        for seq, conflict in enumerate(result.analysis.conflicts)
    ]


def _summary_or_failure(result: StoryResult) -> tuple[str, Any, Failure | None]:
    if result.analysis is None:
        return result.story_id, None, result.failure
    summary = result.analysis.summary
    return result.story_id, summary.to_dict() if summary is not None else None, None


def _counts(result: StoryResult) -> tuple[int, int]:
    if result.analysis is None:
        return 0, 0
    edges = sum(e.relation != "independent" for e in result.analysis.provenance)
    return edges, len(result.analysis.conflicts)
