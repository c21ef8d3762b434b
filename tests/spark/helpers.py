"""Run the single process and the Spark job on the same inputs and read both back."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from newsloom.batch import BatchOptions, BatchReport, run_batch
from newsloom.pipeline import IngestReport, Pipeline
from newsloom.settings import Settings
from newsloom.store import open_store

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("NEWSLOOM_SHARED", REPO.parent / "shared"))


@dataclass(slots=True)
class Outcome:
    """Per article id: duplicate group and story; plus provenance edges by story."""

    groups: dict[str, str]
    stories: dict[str, str]
    edges: set[tuple[str, str, str]]
    conflicts: int


def single_process(inputs: list[str], db: Path, *, analyse: bool) -> tuple[Outcome, IngestReport]:
    with open_store(f"sqlite:///{db}") as store:
        report = Pipeline(store, Settings(), analyse=analyse).ingest(inputs)
        ids = [a.id for a in store.iter_articles(limit=None)]
        groups = {}
        for article_id in ids:
            info = store.duplicates_of(article_id)
            assert info is not None
            groups[article_id] = info.group_id
        stories = store.stories_of(ids)
        edges: set[tuple[str, str, str]] = set()
        conflicts = 0
        for story_id in set(stories.values()):
            edges |= {
                (e.derived_id, e.source_id, e.relation) for e in store.story_provenance(story_id)
            }
            conflicts += len(store.story_conflicts(story_id))
    return Outcome(groups, stories, edges, conflicts), report


def spark_run(
    spark: Any, inputs: list[str], out: Path, *, analyse: bool
) -> tuple[Outcome, BatchReport]:
    report = run_batch(
        inputs, str(out), Settings(), BatchOptions(master="local[2]", partitions=2, analyse=analyse)
    )
    rows = spark.read.parquet(str(out / "articles")).select("id", "group_id", "story_id").collect()
    edges = {
        (r["derived_id"], r["source_id"], r["relation"])
        for r in spark.read.parquet(str(out / "provenance")).collect()
    }
    conflicts = spark.read.parquet(str(out / "conflicts")).count()
    outcome = Outcome(
        {r["id"]: r["group_id"] for r in rows},
        {r["id"]: r["story_id"] for r in rows},
        edges,
        conflicts,
    )
    return outcome, report


def partition(labels: dict[str, str]) -> set[frozenset[str]]:
    members: dict[str, set[str]] = {}
    for item, label in labels.items():
        members.setdefault(label, set()).add(item)
    return {frozenset(m) for m in members.values()}
