"""Provenance quality: relation, direction and attribution on the ancestry set.

Builds the set with ``eval/provenance_set.py`` from ``../shared/data`` (ECB+
originals and their derived pages, independent ECB+ and NeuS pairs), runs
``newsloom.trace.trace_pair`` on every pair and a TF-IDF cosine baseline in the
same run, and prints Markdown tables: relation accuracy overall and per relation,
the confusion matrix, direction accuracy per dating scenario, attribution
accuracy, and time per pair.

The baseline is the usual reuse detector: the TF-IDF cosine of the two texts,
cut into relation bands at thresholds chosen on this very set by grid search
(which flatters it), and the later-published page (else the shorter) as derived.

    .venv/bin/python eval/provenance.py [--originals 80] [--independent 160] [--seed 7]
        [--no-embed] [--errors 10]
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import random
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import print_table, shared_dir
from newsloom.features.terms import DocumentFrequencies, cosine, tfidf, tokenize
from newsloom.trace import trace_pair
from newsloom.types import Article
from provenance_set import Pair, build_provenance_set

RELATIONS = ("duplicate", "near_copy", "rewrite", "summary", "quotes", "independent")


def _tfidf_baseline(pairs: list[Pair]) -> tuple[list[tuple[str, str]], dict[str, float], float]:
    """Predicted (relation, derived id) per pair, the fitted bands, seconds."""
    start = time.perf_counter()
    df = DocumentFrequencies()
    seen: set[str] = set()
    for pair in pairs:
        for article in (pair.derived, pair.source):
            if article.id not in seen:
                seen.add(article.id)
                df.add(tokenize(article.text))
    sims = [
        cosine(tfidf(tokenize(p.derived.text), df), tfidf(tokenize(p.source.text), df))
        for p in pairs
    ]
    bands = _fit_bands(sims, [p.relation for p in pairs])
    out = [
        (_band(s, bands), _later_or_shorter(p.derived, p.source))
        for s, p in zip(sims, pairs, strict=True)
    ]
    return out, bands, time.perf_counter() - start


# Bands from most to least similar; "quotes" has no band (cosine cannot see it).
_BAND_ORDER = ("duplicate", "near_copy", "rewrite", "summary")


def _band(similarity: float, bands: dict[str, float]) -> str:
    for relation in _BAND_ORDER:
        if similarity >= bands[relation]:
            return relation
    return "independent"


def _fit_bands(sims: list[float], gold: list[str]) -> dict[str, float]:
    """Decreasing thresholds maximising accuracy (coarse grid, then greedy)."""
    grid = [round(0.3 + 0.05 * k, 2) for k in range(14)]  # 0.30 .. 0.95
    grid.append(0.99)
    best: tuple[int, dict[str, float]] = (-1, {})
    for combo in itertools.combinations(sorted(grid, reverse=True), 4):
        bands = dict(zip(_BAND_ORDER, combo, strict=True))
        hits = sum(_band(s, bands) == g for s, g in zip(sims, gold, strict=True))
        if hits > best[0]:
            best = (hits, bands)
    return best[1]


def _later_or_shorter(a: Article, b: Article) -> str:
    if a.published and b.published and a.published != b.published:
        return a.id if a.published > b.published else b.id
    if a.published and not b.published:
        return b.id
    if b.published and not a.published:
        return a.id
    return a.id if len(a.text) <= len(b.text) else b.id


def _newsloom(
    pairs: list[Pair], embedder: object, seed: int
) -> tuple[list[tuple[str, str, bool, bool]], float]:
    """Predicted (relation, derived id, attributed); each pair is passed in a
    seeded random order, and under opaque ids, so neither argument order nor
    the set's ids (a derived page's id is its original's id plus a suffix, so
    it sorts after it) can leak the answer.  Real article ids are hashes of
    the URL."""
    rng = random.Random(seed)
    out = []
    start = time.perf_counter()
    for pair in pairs:
        a, b = (pair.derived, pair.source) if rng.random() < 0.5 else (pair.source, pair.derived)
        names = {_opaque(a.id, seed): a.id, _opaque(b.id, seed): b.id}
        result = trace_pair(
            replace(a, id=_opaque(a.id, seed)),
            replace(b, id=_opaque(b.id, seed)),
            embedder=embedder,
        )
        undecided = any("undecided" in r for r in result.evidence.get("direction", []))
        out.append((result.relation, names[result.derived_id], result.attributed, undecided))
    return out, time.perf_counter() - start


def _opaque(article_id: str, seed: int) -> str:
    return hashlib.sha256(f"{seed}:{article_id}".encode()).hexdigest()[:16]


def _relation_rows(pairs: list[Pair], systems: dict[str, list[str]]) -> list[list[object]]:
    rows: list[list[object]] = []
    for relation in RELATIONS:
        idx = [k for k, p in enumerate(pairs) if p.relation == relation]
        if not idx:
            continue
        row: list[object] = [relation, len(idx)]
        for predictions in systems.values():
            row.append(sum(predictions[k] == relation for k in idx) / len(idx))
        rows.append(row)
    total: list[object] = ["all (accuracy)", len(pairs)]
    for predictions in systems.values():
        total.append(
            sum(p == g.relation for p, g in zip(predictions, pairs, strict=True)) / len(pairs)
        )
    rows.append(total)
    return rows


def _confusion(pairs: list[Pair], predictions: list[str]) -> None:
    counts = Counter((p.relation, q) for p, q in zip(pairs, predictions, strict=True))
    present = [r for r in RELATIONS if any(p.relation == r for p in pairs)]
    print_table(
        ["gold \\ predicted", *RELATIONS],
        [[g, *(counts[(g, r)] for r in RELATIONS)] for g in present],
    )


def _direction_rows(pairs: list[Pair], systems: dict[str, list[str]]) -> list[list[object]]:
    directed = [k for k, p in enumerate(pairs) if p.relation != "independent"]
    rows: list[list[object]] = []
    for dating in ("later", "undated", "same_day", None):
        idx = [k for k in directed if dating is None or pairs[k].dating == dating]
        if not idx:
            continue
        row: list[object] = [dating or "all", len(idx)]
        for derived in systems.values():
            row.append(sum(derived[k] == pairs[k].derived.id for k in idx) / len(idx))
        rows.append(row)
    return rows


def _undecided_rows(
    pairs: list[Pair], ours: list[tuple[str, str, bool, bool]]
) -> list[list[object]]:
    directed = [k for k, p in enumerate(pairs) if p.relation != "independent"]
    rows: list[list[object]] = []
    for dating in ("later", "undated", "same_day", None):
        idx = [k for k in directed if dating is None or pairs[k].dating == dating]
        decided = [k for k in idx if not ours[k][3]]
        right = sum(ours[k][1] == pairs[k].derived.id for k in decided)
        rows.append(
            [dating or "all", len(idx), len(idx) - len(decided), right / max(1, len(decided))]
        )
    return rows


def _share_right(pairs: list[Pair], derived: list[str], idx: list[int]) -> float:
    if not idx or pairs[idx[0]].relation == "independent":
        return float("nan")
    return sum(derived[k] == pairs[k].derived.id for k in idx) / len(idx)


def _kind_rows(pairs: list[Pair], relations: list[str], derived: list[str]) -> list[list[object]]:
    rows: list[list[object]] = []
    for kind in dict.fromkeys(p.kind for p in pairs):
        idx = [k for k, p in enumerate(pairs) if p.kind == kind]
        same_day = [k for k in idx if pairs[k].dating == "same_day"]
        rows.append(
            [
                kind,
                pairs[idx[0]].relation,
                len(idx),
                sum(relations[k] == pairs[k].relation for k in idx) / len(idx),
                _share_right(pairs, derived, idx),
                f"{_share_right(pairs, derived, same_day):.3f} ({len(same_day)})",
            ]
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--originals", type=int, default=80)
    parser.add_argument("--independent", type=int, default=160)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-embed", action="store_true", help="trace without the embedding model")
    parser.add_argument("--errors", type=int, default=0, help="print this many misclassified pairs")
    args = parser.parse_args()

    data = shared_dir() / "data"
    pairs = build_provenance_set(
        data, originals=args.originals, independent=args.independent, seed=args.seed
    )
    kinds = dict(Counter(p.kind for p in pairs))
    print(f"ancestry set: {len(pairs)} pairs ({kinds}), seed {args.seed}\n")
    embedder: object = False
    if not args.no_embed:
        from newsloom.features.embed import get_embedder

        embedder = get_embedder()
        embedder.embed(["warm-up"])  # type: ignore[attr-defined]
    ours, ours_seconds = _newsloom(pairs, embedder, args.seed)
    base, bands, base_seconds = _tfidf_baseline(pairs)
    relations = {"newsloom": [r for r, _, _, _ in ours], "tfidf-cosine": [r for r, _ in base]}
    derived = {"newsloom": [d for _, d, _, _ in ours], "tfidf-cosine": [d for _, d in base]}

    print("### Relation (share of gold pairs predicted right)\n")
    print_table(["relation", "pairs", *relations], _relation_rows(pairs, relations))
    print(f"TF-IDF bands fitted on this set: {bands}\n")
    print("### Direction (directed gold pairs; derived page chosen right)\n")
    print_table(["dating", "pairs", *derived], _direction_rows(pairs, derived))
    print("newsloom, where its evidence says 'undecided' (the pick is then arbitrary):\n")
    print_table(
        ["dating", "pairs", "undecided", "accuracy where decided"],
        _undecided_rows(pairs, ours),
    )
    print("### newsloom by derivation\n")
    print_table(
        ["kind", "relation", "pairs", "relation acc", "direction acc", "direction, same day"],
        _kind_rows(pairs, relations["newsloom"], derived["newsloom"]),
    )
    print("### Confusion, newsloom\n")
    _confusion(pairs, relations["newsloom"])
    print("### Confusion, tfidf-cosine\n")
    _confusion(pairs, relations["tfidf-cosine"])
    directed = [k for k, p in enumerate(pairs) if p.relation != "independent"]
    attributed = sum(ours[k][2] == pairs[k].attributed for k in directed) / max(1, len(directed))
    print(f"attribution accuracy (newsloom, directed gold pairs): {attributed:.3f}")
    print(
        f"time per pair: newsloom {1000 * ours_seconds / len(pairs):.1f} ms"
        f"{' (no embeddings)' if args.no_embed else ''}, "
        f"tfidf-cosine {1000 * base_seconds / len(pairs):.2f} ms (grid search included)"
    )
    _print_errors(pairs, ours, args.errors)


def _print_errors(pairs: list[Pair], ours: list[tuple[str, str, bool, bool]], limit: int) -> None:
    shown = 0
    for pair, (relation, who, attributed, _) in zip(pairs, ours, strict=True):
        if shown >= limit:
            break
        directed = pair.relation != "independent"
        wrong_dir = directed and who != pair.derived.id
        wrong_credit = directed and attributed != pair.attributed
        if relation != pair.relation or wrong_dir or wrong_credit:
            shown += 1
            verdict = "wrong" if wrong_dir else "ok"
            print(
                f"- {pair.key} [{pair.kind}/{pair.dating}]: got {relation}, direction "
                f"{verdict}, attributed {attributed} (gold {pair.attributed})"
            )


if __name__ == "__main__":
    main()
