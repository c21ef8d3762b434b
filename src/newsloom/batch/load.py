"""``newsloom load``: put a batch's Parquet output into a store.

Everything goes through the ``Store`` protocol (and the story index the store
hands out), so any backend ``open_store`` knows can be loaded.  Articles are
put in the batch's stream order, so "earliest stored" in the store means
what it meant in the batch: duplicate groups and later ingests agree.

Load into a store that does not hold these articles yet: stories already in
the store are not merged with the batch's.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from newsloom.batch.session import spark_session
from newsloom.batch.tables import (
    TABLES,
    conflict_from_row,
    decision_from_reasons,
    provenance_from_row,
    state_from_row,
)
from newsloom.cluster import StoryState
from newsloom.errors import InputError
from newsloom.store.base import DuplicateInfo, Fingerprint, Store
from newsloom.store.rows import member_from_row
from newsloom.types import Article, Conflict, Failure, Provenance, StorySummary

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["LoadReport", "load_output"]

_CHUNK = 500


@dataclass(slots=True)
class LoadReport:
    run_id: str
    articles: int = 0
    stories: int = 0
    memberships: int = 0
    analysed: int = 0
    errors: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}  # type: ignore[attr-defined]


def _rows(spark: SparkSession, out: str, table: str, order: str | None = None) -> Iterator[Any]:
    frame = spark.read.parquet(os.path.join(out, table))
    if order is not None:
        frame = frame.orderBy(order)
    return frame.toLocalIterator()


def _check(out: str) -> None:
    missing = [t for t in TABLES if not os.path.isdir(os.path.join(out, t))]
    if "://" not in out and missing:
        raise InputError(
            f"{out}: not a newsloom batch output (missing {', '.join(missing)})", source=None
        )


def load_output(
    out: str,
    store: Store,
    *,
    master: str | None = "local[1]",
    on_article: Callable[[], None] | None = None,
) -> LoadReport:
    """Load the tables under ``out`` into ``store``; returns what was loaded."""
    _check(out)
    spark = spark_session(master)
    report = LoadReport(run_id=uuid.uuid4().hex[:12])
    _load_articles(spark, out, store, report, on_article)
    _load_stories(spark, out, store, report)
    _load_analysis(spark, out, store, report)
    failures = [Failure(r["source"], r["reason"], r["error"]) for r in _rows(spark, out, "errors")]
    if failures:
        store.record_failures(failures, run_id=report.run_id)
    report.errors = len(failures)
    return report


def _fingerprint(row: Any) -> Fingerprint:
    return Fingerprint(
        row["id"],
        row["exact_hash"],
        bytes(row["signature"]) if row["signature"] is not None else None,
        tuple(int(k) for k in row["band_keys"]),
        int(row["words"]),
        row["fingerprint_reason"],
    )


def _duplicate(row: Any) -> DuplicateInfo:
    return DuplicateInfo(
        row["id"],
        row["group_id"],
        match=row["match"],
        closest_id=row["closest_id"],
        similarity=row["similarity"],
        exact_hash=row["exact_hash"],
        reason=row["fingerprint_reason"],
    )


def _load_articles(
    spark: SparkSession,
    out: str,
    store: Store,
    report: LoadReport,
    on_article: Callable[[], None] | None,
) -> None:
    batch: list[Any] = []

    def flush() -> None:
        with store.transaction():
            store.put_articles([Article.from_dict(json.loads(r["data"])) for r in batch])
            store.put_fingerprints([_fingerprint(r) for r in batch])
        report.articles += len(batch)
        batch.clear()

    for row in _rows(spark, out, "articles", "ord"):
        batch.append(row)
        if on_article is not None:
            on_article()
        if len(batch) >= _CHUNK:
            flush()
    if batch:
        flush()
    # Groups and closest copies after every article is in: a closest copy
    # may come later in the stream.
    infos: list[DuplicateInfo] = []
    for row in _rows(spark, out, "articles", "ord"):
        infos.append(_duplicate(row))
        if len(infos) >= _CHUNK:
            store.set_duplicates(infos)
            infos = []
    store.set_duplicates(infos)


def _load_stories(spark: SparkSession, out: str, store: Store, report: LoadReport) -> None:
    opener = getattr(store, "story_index", None)
    if opener is None:
        raise InputError(f"{store.url}: this store cannot hold stories")
    index = opener()
    states: dict[str, StoryState] = {}
    merges: list[tuple[int, str, str, str]] = []
    splits: list[tuple[str, str, str]] = []
    for row in _rows(spark, out, "story_index"):
        state = state_from_row(row)
        states[state.id] = state
        if row["split_from"] is not None:
            splits.append((row["split_from"], state.id, row["split_by"]))
        if state.merged_into is not None:
            merges.append((row["merge_seq"], state.id, state.merged_into, row["merged_by"]))
        else:
            report.stories += 1
    try:
        for state in states.values():
            index.save(state, sorted(state.keys))
        for _seq, absorbed, into, article_id in sorted(merges):
            index.merge(states[absorbed], states[into], article_id)
        # Memberships are loaded where the run left them: splits only recorded.
        for story, part, article_id in sorted(splits):
            index.split(states[story], states[part], (), article_id)
        for row in _rows(spark, out, "terms", "ord"):
            index.count_document(row["terms"])
        decided = datetime.now(UTC)
        pending = 0
        for row in _rows(spark, out, "stories", "ord"):
            reasons = json.loads(row["reasons"])
            decision = decision_from_reasons(row["article_id"], row["story_id"], reasons)
            index.record(decision, decided)
            report.memberships += 1
            pending += 1
            if pending >= 5000:
                index.flush()
                pending = 0
        for row in _rows(spark, out, "members", "ord"):
            index.keep_member(row["story_id"], member_from_row(row[2:]))
            pending += 1
            if pending >= 5000:
                index.flush()
                pending = 0
        index.flush()
    except BaseException:
        index.discard()
        raise


def _load_analysis(spark: SparkSession, out: str, store: Store, report: LoadReport) -> None:
    provenance: dict[str, list[Provenance]] = {}
    for row in _rows(spark, out, "provenance"):
        provenance.setdefault(row["story_id"], []).append(provenance_from_row(row))
    conflicts: dict[str, list[Conflict]] = {}
    for row in _rows(spark, out, "conflicts", "seq"):
        conflicts.setdefault(row["story_id"], []).append(conflict_from_row(row))
    for row in _rows(spark, out, "story_index"):
        if not row["analysed"] or row["merged_into"] is not None:
            continue
        summary = StorySummary.from_dict(json.loads(row["summary"])) if row["summary"] else None
        store.put_story_analysis(
            row["id"],
            provenance.get(row["id"], []),
            conflicts.get(row["id"], []),
            members=int(row["members"]),
            summary=summary,
        )
        report.analysed += 1
