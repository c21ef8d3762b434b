"""The Spark job and ``newsloom ingest`` agree: duplicate groups, stories, analysis."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import Any

import pytest
from helpers import SHARED, partition, single_process, spark_run

from clustering_metrics import bcubed
from newsloom.demo import corpus_path


def _natural(doc_id: str) -> tuple[int, str, int]:
    # As eval/stories.py orders ECB+: topic, corpus part, document number.
    match = re.match(r"(\d+)_(\d+)(\D+)", doc_id)
    if not match:
        return (0, doc_id, 0)
    return (int(match.group(1)), match.group(3), int(match.group(2)))


def test_demo_corpus_same_groups_stories_and_analysis(spark: Any, tmp_path: Path) -> None:
    inputs = [str(corpus_path())]
    single, single_report = single_process(inputs, tmp_path / "single.db", analyse=True)
    batch, batch_report = spark_run(spark, inputs, tmp_path / "out", analyse=True)

    assert set(batch.groups) == set(single.groups)
    # Groups are named after their earliest member, so the names agree too.
    assert batch.groups == single.groups
    assert any(g != a for a, g in single.groups.items()), "the demo has copies to find"
    assert (
        bcubed(list(batch.stories.values()), [single.stories[a] for a in batch.stories]).f1 >= 0.99
    )
    if partition(batch.stories) == partition(single.stories):
        # Same stories: per-story analysis must then be the same too.
        assert batch.edges == single.edges
        assert batch.conflicts == single.conflicts
    assert batch_report.errors == len(single_report.failures) == 0
    assert batch_report.articles == len(single.groups)


def _ecbplus_jsonl(target: Path) -> Path:
    source = SHARED / "data" / "ecbplus" / "ecbplus_docs.jsonl.gz"
    if not source.is_file():
        pytest.skip(f"ECB+ not found at {source}")
    with gzip.open(source, "rt", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    rows.sort(key=lambda r: (r["topic"], r["subtopic"], _natural(r["doc_id"])))
    with target.open("w", encoding="utf-8") as out:
        for row in rows:
            sentences = [s for s in row["sentences"] if s.strip()]
            if len(sentences) < 2:
                continue
            record = {
                "url": f"https://ecbplus.example/{row['doc_id']}",
                # No titles in ECB+: the first sentence is usually the headline.
                "title": sentences[0],
                "text": "\n\n".join(sentences[1:]),
            }
            out.write(json.dumps(record) + "\n")
    return target


def test_ecbplus_same_groups_and_stories(spark: Any, tmp_path: Path) -> None:
    inputs = [str(_ecbplus_jsonl(tmp_path / "ecbplus.jsonl"))]
    single, _ = single_process(inputs, tmp_path / "single.db", analyse=False)
    batch, report = spark_run(spark, inputs, tmp_path / "out", analyse=False)

    assert len(single.groups) > 700
    assert batch.groups == single.groups
    ids = sorted(single.stories)
    score = bcubed([batch.stories[i] for i in ids], [single.stories[i] for i in ids])
    assert score.f1 >= 0.99, score
    # Not one story for everything, nor one per article.
    assert 30 < len(partition(batch.stories)) < len(ids) / 2
    assert report.errors == 0
