"""The Parquet tables a batch writes, and the conversions to and from rows.

Tables (one folder each under ``--out``):

* ``articles``: one row per article in stream order (``ord``), the article as
  JSON (``Article.to_dict``), its fingerprint and duplicate record, its story;
* ``stories``: one row per membership: final story, article, the decision's
  reasons (the same JSON ``newsloom show story`` prints);
* ``story_index``: the clusterer's state of every story (merged ones too) and
  the story's cited summary, so a store loaded from it keeps clustering;
* ``terms``: each article's title-and-lead terms (document frequencies);
* ``provenance`` and ``conflicts``: per story, as the store keeps them;
* ``errors``: input, record (offset, line or item), reason, error class.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import datetime
from typing import Any

import numpy as np

from newsloom.cluster import Decision, StoryState
from newsloom.store.base import DuplicateInfo, Fingerprint
from newsloom.types import Article, Conflict, ConflictSide, Failure, Passage, Provenance

__all__ = [
    "TABLES",
    "article_row",
    "conflict_from_row",
    "conflict_row",
    "decision_from_reasons",
    "error_row",
    "provenance_from_row",
    "provenance_row",
    "schemas",
    "state_from_row",
    "state_row",
]

TABLES = (
    "articles", "stories", "story_index", "members", "terms", "provenance", "conflicts", "errors",
)  # fmt: skip

# "file.warc.gz#1234" (WARC record offset), "file.jsonl:12" (line),
# "file.json[3]" (list item): the record part of a failure's source.
_RECORD = re.compile(r"^(?P<input>.+?)(?P<record>#\d+|:\d+|\[\d+\])$")


def schemas() -> dict[str, Any]:
    """Spark schemas of the tables (imported lazily: pyspark is optional)."""
    from pyspark.sql.types import (
        ArrayType,
        BinaryType,
        BooleanType,
        DoubleType,
        IntegerType,
        LongType,
        StringType,
        StructField,
        StructType,
    )

    def table(*fields: tuple[str, Any, bool]) -> StructType:
        return StructType([StructField(n, t, nullable) for n, t, nullable in fields])

    s, n = StringType(), True
    return {
        "articles": table(
            ("ord", LongType(), False), ("id", s, False), ("url", s, n), ("title", s, n),
            ("published", s, n), ("site_name", s, n), ("source", s, n), ("data", s, False),
            ("exact_hash", s, n), ("signature", BinaryType(), n),
            ("band_keys", ArrayType(LongType()), False), ("words", IntegerType(), False),
            ("fingerprint_reason", s, n), ("group_id", s, False), ("match", s, False),
            ("closest_id", s, n), ("similarity", DoubleType(), n), ("story_id", s, n),
        ),
        "stories": table(
            ("story_id", s, False), ("article_id", s, False), ("ord", LongType(), False),
            ("joined_story", s, False), ("new_story", BooleanType(), False),
            ("score", DoubleType(), False), ("reasons", s, False),
        ),
        "story_index": table(
            ("id", s, False), ("title", s, False), ("first_seen", s, False),
            ("updated", s, False), ("size", IntegerType(), False),
            ("centroid", BinaryType(), False), ("terms", s, False), ("entities", s, False),
            ("keys", ArrayType(s), False), ("merged_into", s, n), ("merge_seq", IntegerType(), n),
            ("merged_by", s, n), ("split_from", s, n), ("split_by", s, n),
            ("members", IntegerType(), False),
            ("analysed", BooleanType(), False), ("summary", s, n),
        ),
        # What live stories keep of their members (store.rows.MEMBER_COLUMNS).
        "members": table(
            ("ord", LongType(), False), ("story_id", s, False), ("article_id", s, False),
            ("title", s, False),
            ("published", s, n), ("embedding", BinaryType(), False), ("terms", s, False),
            ("entities", s, False),
        ),
        "terms": table(("ord", LongType(), False), ("article_id", s, False),
                       ("terms", ArrayType(s), False)),
        "provenance": table(
            ("story_id", s, False), ("derived_id", s, False), ("source_id", s, False),
            ("relation", s, False), ("score", DoubleType(), False),
            ("attributed", BooleanType(), False), ("directed", BooleanType(), False),
            ("data", s, False),
        ),
        "conflicts": table(
            ("story_id", s, False), ("seq", IntegerType(), False), ("kind", s, False),
            ("a_article", s, False), ("b_article", s, False),
            ("confidence", DoubleType(), False), ("data", s, False),
        ),
        "errors": table(("input", s, False), ("record", s, n), ("reason", s, False),
                        ("error", s, False), ("source", s, False)),
    }  # fmt: skip


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def article_row(
    order: int, article: Article, fp: Fingerprint, dup: DuplicateInfo, story_id: str | None
) -> tuple[Any, ...]:
    return (
        order, article.id, article.url, article.title, _iso(article.published),
        article.site_name, article.source, json.dumps(article.to_dict(), ensure_ascii=False),
        fp.exact_hash, fp.signature, [int(k) for k in fp.band_keys], int(fp.words), fp.reason,
        dup.group_id, dup.match, dup.closest_id, dup.similarity, story_id,
    )  # fmt: skip


def state_row(
    story: StoryState,
    merge: tuple[int, str] | None,
    split: tuple[str, str] | None,
    members: int,
    analysed: bool,
    summary: dict[str, Any] | None,
) -> tuple[Any, ...]:
    return (
        story.id, story.title, story.first_seen.isoformat(), story.updated.isoformat(),
        int(story.size), np.asarray(story.centroid, dtype=np.float32).tobytes(),
        json.dumps(story.terms), json.dumps(dict(story.entities)), sorted(story.keys),
        story.merged_into, merge[0] if merge else None, merge[1] if merge else None,
        split[0] if split else None, split[1] if split else None, members, analysed,
        json.dumps(summary, ensure_ascii=False) if summary is not None else None,
    )  # fmt: skip


def state_from_row(row: Any) -> StoryState:
    return StoryState(
        id=row["id"],
        title=row["title"],
        first_seen=datetime.fromisoformat(row["first_seen"]),
        updated=datetime.fromisoformat(row["updated"]),
        size=int(row["size"]),
        centroid=np.frombuffer(row["centroid"], dtype=np.float32).copy(),
        terms=json.loads(row["terms"]),
        entities=Counter(json.loads(row["entities"])),
        keys=set(row["keys"]),
        merged_into=row["merged_into"],
    )


def decision_from_reasons(article_id: str, story_id: str, reasons: dict[str, Any]) -> Decision:
    """The decision a membership row records (values as rounded in ``reasons``)."""
    return Decision(
        article_id=article_id,
        story_id=story_id,
        new_story=bool(reasons.get("new_story")),
        score=float(reasons.get("score", 0.0)),
        embedding=float(reasons.get("embedding_similarity", 0.0)),
        terms=float(reasons.get("term_similarity", 0.0)),
        entities=float(reasons.get("entity_overlap", 0.0)),
        shared_entities=tuple(reasons.get("shared_entities", ())),
        shared_terms=tuple(reasons.get("shared_terms", ())),
        merged=tuple(reasons.get("merged", ())),
        split=tuple(reasons.get("split", ())),
    )


def provenance_row(story_id: str, edge: Provenance) -> tuple[Any, ...]:
    data = {"spans": [p.to_dict() for p in edge.spans], "evidence": edge.evidence}
    return (
        story_id, edge.derived_id, edge.source_id, edge.relation, float(edge.score),
        bool(edge.attributed), bool(edge.directed), json.dumps(data, ensure_ascii=False),
    )  # fmt: skip


def _passage(data: dict[str, Any]) -> Passage:
    a, b = data["a"], data["b"]
    return Passage(
        a["start"], a["end"], b["start"], b["end"], a["text"], b["text"],
        float(data["score"]), data["kind"],
    )  # fmt: skip


def provenance_from_row(row: Any) -> Provenance:
    data = json.loads(row["data"])
    return Provenance(
        derived_id=row["derived_id"],
        source_id=row["source_id"],
        relation=row["relation"],
        score=float(row["score"]),
        attributed=bool(row["attributed"]),
        spans=[_passage(p) for p in data.get("spans", [])],
        directed=bool(row["directed"]),
        evidence=data.get("evidence", {}),
    )


def conflict_row(story_id: str, seq: int, conflict: Conflict) -> tuple[Any, ...]:
    return (
        story_id, seq, conflict.kind, conflict.a.article_id, conflict.b.article_id,
        float(conflict.confidence), json.dumps(conflict.to_dict(), ensure_ascii=False),
    )  # fmt: skip


def _side(data: dict[str, Any]) -> ConflictSide:
    start, end = data.get("span") or (0, 0)
    return ConflictSide(data["article_id"], data["sentence"], int(start), int(end))


def conflict_from_row(row: Any) -> Conflict:
    data = json.loads(row["data"])
    return Conflict(
        kind=data["kind"],
        a=_side(data["a"]),
        b=_side(data["b"]),
        explanation=data["explanation"],
        # to_dict rounds; the row keeps the full value.
        confidence=float(row["confidence"]),
        story_id=row["story_id"],
    )


def error_row(failure: Failure) -> tuple[str, str | None, str, str, str]:
    """(input, record, reason, error, source): ``source`` is the failure's own name."""
    match = _RECORD.match(failure.source)
    if match is None:
        return failure.source, None, failure.reason, failure.error, failure.source
    record = match.group("record").lstrip("#:").strip("[]")
    return match.group("input"), record, failure.reason, failure.error, failure.source
