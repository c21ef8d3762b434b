"""Near-duplicate detection quality on a copy set built from real articles.

The copy set (``dedup_copies.py``) takes originals from ECB+, NeuS AllSides and
BASIL and makes exact, chrome-added, few-sentences-changed and rewritten
copies; the other articles of each original's topic/story/event come along as
unrelated same-topic articles.  Everything goes through a fresh store with
``newsloom.dedup.Deduplicator`` in one shuffled arrival order.

Scored per article that the detector links to a copy (``match`` exact or near,
or a later copy offered as its closest):

- precision: the linked copy (``closest_id``) is of the same family;
- recall per copy kind: the copy is linked to its family (by ``closest_id``)
  and, stricter, lands in its original's duplicate group.

Near copies are ``exact``, ``chrome`` and ``few_changed``; ``rewrite`` is
reported separately (recognising heavy rewrites is provenance's job).

Usage: ``.venv/bin/python eval/dedup.py [--originals N] [--seed S] [--sweep]``
"""

from __future__ import annotations

import argparse
import platform
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from common import data_dir, print_table
from dedup_copies import COPY_KINDS, NEAR_KINDS, EvalDoc, build_copy_set
from newsloom.dedup import DedupConfig, Deduplicator
from newsloom.store import open_store
from newsloom.types import Article


@dataclass(slots=True)
class Outcome:
    """What the detector said about every document of one run."""

    closest: dict[str, str | None]
    group: dict[str, str]
    seconds: float


def to_article(doc: EvalDoc) -> Article:
    paragraphs = [p for p in doc.text.split("\n\n") if p.strip()]
    return Article(
        id=doc.key,
        url=None,
        canonical_url=None,
        site_name=doc.source,
        title=None,
        authors=[],
        published=None,
        date_source=None,
        language="en",
        paragraphs=paragraphs,
        word_count=len(doc.text.split()),
        read_minutes=1,
    )


def run(docs: Sequence[EvalDoc], config: DedupConfig, batch: int = 50) -> Outcome:
    with open_store("sqlite://:memory:") as store:
        dedup = Deduplicator(store, config)
        start = time.perf_counter()
        for index in range(0, len(docs), batch):
            articles = [to_article(d) for d in docs[index : index + batch]]
            with store.transaction():
                store.put_articles(articles)
                dedup.add(articles)
        seconds = time.perf_counter() - start
        closest: dict[str, str | None] = {}
        group: dict[str, str] = {}
        for doc in docs:
            info = store.duplicates_of(doc.key)
            assert info is not None
            closest[doc.key] = info.closest_id
            group[doc.key] = info.group_id
    return Outcome(closest, group, seconds)


def score(docs: Sequence[EvalDoc], outcome: Outcome) -> dict[str, object]:
    family = {d.key: d.family for d in docs}
    flagged = [d for d in docs if outcome.closest[d.key] is not None]
    wrong = [d for d in flagged if family[outcome.closest[d.key] or ""] != d.family]
    linked: Counter[str] = Counter()
    grouped: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for doc in docs:
        if doc.kind not in COPY_KINDS:
            continue
        total[doc.kind] += 1
        partner = outcome.closest[doc.key]
        linked[doc.kind] += partner is not None and family[partner] == doc.family
        grouped[doc.kind] += outcome.group[doc.key] == outcome.group[doc.key.split("~")[0]]
    unrelated = [d for d in docs if d.kind == "unrelated"]
    return {
        "flagged": len(flagged),
        "wrong": wrong,
        "precision": 1 - len(wrong) / len(flagged) if flagged else 1.0,
        "linked": linked,
        "grouped": grouped,
        "total": total,
        "unrelated": len(unrelated),
        "unrelated_flagged": sum(1 for d in wrong if d.kind == "unrelated"),
    }


def near_recall(result: dict[str, object], key: str) -> float:
    hits: Counter[str] = result[key]  # type: ignore[assignment]
    total: Counter[str] = result["total"]  # type: ignore[assignment]
    return sum(hits[k] for k in NEAR_KINDS) / max(1, sum(total[k] for k in NEAR_KINDS))


def report(docs: Sequence[EvalDoc], config: DedupConfig, outcome: Outcome) -> None:
    result = score(docs, outcome)
    total: Counter[str] = result["total"]  # type: ignore[assignment]
    linked: Counter[str] = result["linked"]  # type: ignore[assignment]
    grouped: Counter[str] = result["grouped"]  # type: ignore[assignment]
    kinds = Counter(d.kind for d in docs)
    print(
        f"copy set: {len(docs)} articles: "
        + ", ".join(f"{kinds[k]} {k}" for k in ("original", *COPY_KINDS, "unrelated"))
    )
    print(
        f"config: {config.shingle_words}-word shingles, {config.num_perm} permutations, "
        f"{config.bands} bands × {config.rows} rows, near threshold {config.near_threshold}"
    )
    print()
    rows = [
        [kind, total[kind], linked[kind] / total[kind], grouped[kind] / total[kind]]
        for kind in COPY_KINDS
    ]
    print_table(["copy kind", "copies", "recall (closest copy)", "recall (same group)"], rows)
    print_table(
        ["measure", "value"],
        [
            ["precision (closest copy is of the same family)", result["precision"]],
            ["articles linked to a copy", result["flagged"]],
            ["wrong links", len(result["wrong"])],  # type: ignore[arg-type]
            [
                "unrelated same-topic articles wrongly linked",
                f"{result['unrelated_flagged']} of {result['unrelated']}",
            ],
            ["recall on near copies (exact, chrome, few_changed)", near_recall(result, "linked")],
            ["recall on near copies, same group", near_recall(result, "grouped")],
            ["rewrite recall (reported apart)", linked["rewrite"] / max(1, total["rewrite"])],
            ["articles per second (store + dedup)", round(len(docs) / outcome.seconds, 1)],
        ],
    )
    for doc in result["wrong"][:10]:  # type: ignore[index]
        print(f"  wrong: {doc.key} ({doc.kind}) -> {outcome.closest[doc.key]}")


def sweep(docs: Sequence[EvalDoc]) -> None:
    """Precision and near-copy recall across shingle sizes, thresholds and bandings."""
    rows = []
    for words in (3, 4, 5):
        for bands, rows_per_band in ((32, 4), (16, 8)):
            for threshold in (0.4, 0.5, 0.6, 0.7):
                config = DedupConfig(
                    shingle_words=words,
                    bands=bands,
                    rows=rows_per_band,
                    near_threshold=threshold,
                )
                result = score(docs, run(docs, config))
                linked: Counter[str] = result["linked"]  # type: ignore[assignment]
                total: Counter[str] = result["total"]  # type: ignore[assignment]
                rows.append(
                    [
                        words,
                        f"{bands}×{rows_per_band}",
                        threshold,
                        result["precision"],
                        near_recall(result, "linked"),
                        *(linked[k] / total[k] for k in COPY_KINDS),
                    ]
                )
    print_table(["shingle", "bands", "threshold", "precision", "near recall", *COPY_KINDS], rows)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--originals", type=int, default=600)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--sweep", action="store_true", help="compare settings too")
    args = parser.parse_args(argv)

    for name in ("ecbplus", "neus_allsides", "basil"):
        data = data_dir(name).parent  # exits with a clear message if one is missing
    docs, data_copies = build_copy_set(data, originals=args.originals, seed=args.seed)
    print(f"# Duplicates — {date.today().isoformat()}, Python {platform.python_version()}")
    print()
    print(
        f"{data_copies} article(s) of the data are copies of another article of their "
        "topic (true 5-shingle Jaccard >= 0.5) and share its family"
    )
    config = DedupConfig()
    report(docs, config, run(docs, config))
    if args.sweep:
        sweep(docs)


if __name__ == "__main__":
    main()
