"""Clustering scores against gold groups: B-cubed and pairwise precision/recall/F1.

Both are computed from the contingency table of predicted cluster x gold
group, so they cost O(n) rather than O(n^2) pairs.

* B-cubed (Bagga & Baldwin 1998): for each item, precision is the share of its
  predicted cluster that shares its gold group, recall the share of its gold
  group that shares its predicted cluster; averaged over items.
* Pairwise: over all pairs of items, precision is the share of pairs put
  together that belong together, recall the share of pairs that belong
  together that were put together.  A clustering of singletons has no pairs,
  so its pairwise precision is reported as 1.0 (nothing wrongly joined).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

__all__ = ["Scores", "bcubed", "pairwise", "score"]


@dataclass(slots=True, frozen=True)
class Scores:
    precision: float
    recall: float

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


def _tables(
    predicted: Sequence[Hashable], gold: Sequence[Hashable]
) -> tuple[Counter[tuple[Hashable, Hashable]], Counter[Hashable], Counter[Hashable]]:
    if len(predicted) != len(gold):
        raise ValueError(f"{len(predicted)} predictions for {len(gold)} gold labels")
    cells = Counter(zip(predicted, gold, strict=True))
    return cells, Counter(predicted), Counter(gold)


def bcubed(predicted: Sequence[Hashable], gold: Sequence[Hashable]) -> Scores:
    """Item-averaged B-cubed precision and recall."""
    if not gold:
        return Scores(1.0, 1.0)
    cells, sizes_p, sizes_g = _tables(predicted, gold)
    # Each of the n items in cell (p, g) has precision n/|p| and recall n/|g|.
    precision = sum(n * n / sizes_p[p] for (p, _g), n in cells.items())
    recall = sum(n * n / sizes_g[g] for (_p, g), n in cells.items())
    return Scores(precision / len(gold), recall / len(gold))


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def pairwise(predicted: Sequence[Hashable], gold: Sequence[Hashable]) -> Scores:
    """Precision and recall over pairs of items."""
    cells, sizes_p, sizes_g = _tables(predicted, gold)
    together = sum(_pairs(n) for n in cells.values())
    joined = sum(_pairs(n) for n in sizes_p.values())
    belong = sum(_pairs(n) for n in sizes_g.values())
    return Scores(together / joined if joined else 1.0, together / belong if belong else 1.0)


def score(predicted: Sequence[Hashable], gold: Sequence[Hashable]) -> dict[str, float]:
    """Both measures as one flat row: b3_p, b3_r, b3_f1, pair_p, pair_r, pair_f1."""
    b3 = bcubed(predicted, gold)
    pw = pairwise(predicted, gold)
    return {
        "b3_p": b3.precision,
        "b3_r": b3.recall,
        "b3_f1": b3.f1,
        "pair_p": pw.precision,
        "pair_r": pw.recall,
        "pair_f1": pw.f1,
    }
