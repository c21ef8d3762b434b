"""Exact and near-duplicate detection.

Exact copies share the hash of their normalised text (NFKC, casefolded,
every run of punctuation and whitespace made one space), so copies that
differ only in quotes, dashes, spacing or case match.  Near copies are found
with MinHash (datasketch) over word shingles of the same normalised text and
LSH banding: the band keys live in the store's indexed table, so finding the
candidates for a new article is a fixed number of index probes however large
the store is, and a restart rebuilds nothing.  Candidates are verified with the
signatures' Jaccard estimate.

Duplicate groups are the union of exact and near matches; a group is named
after its earliest stored member.  Only the first ``max_words`` words feed the
shingles, which bounds the work on a huge page; the exact hash covers the
whole text.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import islice

import numpy as np
from datasketch import MinHash

from newsloom.store.base import DuplicateInfo, Fingerprint, LshCandidate, Store
from newsloom.types import Article

__all__ = [
    "DedupConfig",
    "DedupResult",
    "Deduplicator",
    "Fingerprinter",
    "exact_hash",
    "normalize",
    "signature_similarity",
]

# Everything that is not a letter or digit separates words; "_" counts as
# punctuation too (\w includes it).
_SEPARATORS = re.compile(r"[\W_]+")
_WORD = re.compile(r"\S+")
# datasketch >= 2 needs the scheme named to rebuild a MinHash from stored
# permutations; naming it also keeps stored signatures comparable if the
# library's default changes.
_SCHEME = "affine32"


@dataclass(slots=True, frozen=True)
class DedupConfig:
    """Tuning of duplicate detection (the defaults are the measured ones, see
    docs/quality.md "Duplicates").

    Changing ``num_perm``, ``bands``, ``rows``, ``shingle_words`` or ``seed``
    changes signatures and band keys: fingerprints stored with other values
    no longer match, so a store keeps one setting for its lifetime.
    """

    num_perm: int = 128
    bands: int = 32
    rows: int = 4
    shingle_words: int = 4
    near_threshold: float = 0.5
    # Shingles come from the first max_words words: a 10 MB page costs what a
    # long article costs.
    max_words: int = 20_000
    # Below this many words a text has too few shingles for a meaningful
    # similarity; it still gets an exact hash.
    min_words: int = 10
    # Bound on candidates read per article, so a flooded bucket (thousands
    # of copies of one wire story) cannot make one lookup slow.
    max_candidates: int = 200
    seed: int = 1

    def __post_init__(self) -> None:
        if self.bands * self.rows != self.num_perm:
            raise ValueError(
                f"bands × rows must equal num_perm ({self.bands} × {self.rows} != {self.num_perm})"
            )
        if not 0.0 < self.near_threshold <= 1.0:
            raise ValueError("near_threshold must be in (0, 1]")
        if self.shingle_words < 1 or self.max_words < self.shingle_words:
            raise ValueError("shingle_words must be >= 1 and <= max_words")


def normalize(text: str) -> str:
    """Casefolded words separated by single spaces: what exact copies share."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _SEPARATORS.sub(" ", folded).strip()


def exact_hash(normalized: str) -> str:
    """16 bytes of SHA-256, hex: collision-safe for any realistic store."""
    return hashlib.sha256(normalized.encode("utf-8")).hexdigest()[:32]


def signature_similarity(a: bytes, b: bytes) -> float:
    """Jaccard estimate of two stored signatures: the share of equal MinHash values."""
    left = np.frombuffer(a, dtype=np.uint32)
    right = np.frombuffer(b, dtype=np.uint32)
    if left.size == 0 or left.size != right.size:
        return 0.0
    return float(np.count_nonzero(left == right)) / left.size


def _band_key(values: np.ndarray) -> int:
    digest = hashlib.blake2b(values.tobytes(), digest_size=8).digest()
    # Signed, so it fits an SQL BIGINT / SQLite INTEGER.
    return int.from_bytes(digest, "big", signed=True)


class Fingerprinter:
    """Text → ``Fingerprint``; holds the MinHash permutations so they are made once."""

    def __init__(self, config: DedupConfig | None = None) -> None:
        self.config = config or DedupConfig()
        template = MinHash(num_perm=self.config.num_perm, seed=self.config.seed, scheme=_SCHEME)
        self._permutations = template.permutations

    def shingles(self, normalized: str) -> list[bytes]:
        """Word k-grams of the first ``max_words`` words, as UTF-8 bytes."""
        k = self.config.shingle_words
        words = [m.group() for m in islice(_WORD.finditer(normalized), self.config.max_words)]
        if len(words) <= k:
            return [" ".join(words).encode("utf-8")] if words else []
        return [" ".join(words[i : i + k]).encode("utf-8") for i in range(len(words) - k + 1)]

    def signature(self, shingles: Sequence[bytes]) -> np.ndarray:
        minhash = MinHash(
            num_perm=self.config.num_perm,
            seed=self.config.seed,
            permutations=self._permutations,
            scheme=_SCHEME,
        )
        minhash.update_batch(list(dict.fromkeys(shingles)))
        return np.asarray(minhash.hashvalues, dtype=np.uint32)

    def band_keys(self, signature: np.ndarray) -> tuple[int, ...]:
        rows = self.config.rows
        return tuple(
            _band_key(signature[band * rows : (band + 1) * rows])
            for band in range(self.config.bands)
        )

    def fingerprint(self, article_id: str, text: str | None) -> Fingerprint:
        normalized = normalize(text) if isinstance(text, str) else ""
        if not normalized:
            return Fingerprint(article_id, None, None, (), 0, reason="no text to fingerprint")
        words = min(self.config.max_words, _count_words(normalized, self.config.max_words))
        digest = exact_hash(normalized)
        if words < self.config.min_words:
            return Fingerprint(
                article_id,
                digest,
                None,
                (),
                words,
                reason=(
                    f"{words} word(s): too short for near-duplicate detection "
                    f"(needs {self.config.min_words}); exact copies only"
                ),
            )
        signature = self.signature(self.shingles(normalized))
        return Fingerprint(
            article_id, digest, signature.tobytes(), self.band_keys(signature), words
        )


def _count_words(normalized: str, cap: int) -> int:
    return sum(1 for _ in islice(_WORD.finditer(normalized), cap))


@dataclass(slots=True)
class DedupResult:
    """What one ``Deduplicator.add`` call found."""

    infos: list[DuplicateInfo] = field(default_factory=list)

    @property
    def exact(self) -> int:
        return sum(1 for info in self.infos if info.match == "exact")

    @property
    def near(self) -> int:
        return sum(1 for info in self.infos if info.match == "near")

    @property
    def skipped(self) -> int:
        """Articles without a usable fingerprint (their ``reason`` says why)."""
        return sum(1 for info in self.infos if info.exact_hash is None)


class Deduplicator:
    """Fingerprint stored articles and link each to its copies already stored.

    Articles must be in the store (``put_articles``) before ``add``; every
    write joins the caller's ``store.transaction()`` when there is one.
    """

    def __init__(self, store: Store, config: DedupConfig | None = None) -> None:
        self.store = store
        self.config = config or DedupConfig()
        self.fingerprinter = Fingerprinter(self.config)

    def add(self, articles: Iterable[Article]) -> DedupResult:
        """Fingerprint each article (replacing an earlier fingerprint) and
        record its group and closest copy, in order, so copies inside one
        batch find each other."""
        result = DedupResult()
        for article in articles:
            result.infos.append(self._add_one(article.id, article.text))
        return result

    def catch_up(self, *, chunk: int = 200) -> DedupResult:
        """Fingerprint stored articles that have none for their current
        version (stored before dedup existed, or by a writer that skipped it)."""
        result = DedupResult()
        while True:
            ids = self.store.articles_without_fingerprints(limit=chunk)
            if not ids:
                return result
            with self.store.transaction():
                for article_id in ids:
                    article = self.store.get_article(article_id)
                    text = article.text if article is not None else ""
                    result.infos.append(self._add_one(article_id, text))

    def _add_one(self, article_id: str, text: str) -> DuplicateInfo:
        fp = self.fingerprinter.fingerprint(article_id, text)
        self.store.put_fingerprints([fp])
        if fp.exact_hash is None:
            return DuplicateInfo(article_id, article_id, reason=fp.reason)
        exact = [i for i in self.store.exact_matches(fp.exact_hash) if i != article_id]
        if exact:
            info = self._link_exact(fp, exact)
        elif fp.signature is not None:
            info = self._link_near(fp)
        else:
            info = DuplicateInfo(article_id, article_id, exact_hash=fp.exact_hash, reason=fp.reason)
        self.store.set_duplicates([info])
        return info

    def _link_exact(self, fp: Fingerprint, exact: list[str]) -> DuplicateInfo:
        # An exact copy joins the group of the earliest copy, which already
        # holds that text's near copies, so no LSH lookup is needed.
        first = self.store.duplicates_of(exact[0])
        groups = [fp.article_id, first.group_id if first else exact[0]]
        group = self.store.merge_groups(groups)
        self.store.offer_closest([(other, fp.article_id, 1.0) for other in exact])
        return DuplicateInfo(
            fp.article_id,
            group,
            match="exact",
            closest_id=exact[0],
            similarity=1.0,
            exact_hash=fp.exact_hash,
            reason=fp.reason,
        )

    def _link_near(self, fp: Fingerprint) -> DuplicateInfo:
        assert fp.signature is not None  # checked by the caller
        near = self._verified(
            fp, self.store.lsh_candidates(fp.band_keys, limit=self.config.max_candidates)
        )
        if not near:
            return DuplicateInfo(fp.article_id, fp.article_id, exact_hash=fp.exact_hash)
        group = self.store.merge_groups([fp.article_id, *(c.group_id for c, _ in near)])
        self.store.offer_closest([(c.article_id, fp.article_id, sim) for c, sim in near])
        # Candidates come earliest first and max() keeps the first of equals,
        # so ties go to the earliest stored copy.
        closest, similarity = max(near, key=lambda pair: pair[1])
        return DuplicateInfo(
            fp.article_id,
            group,
            match="near",
            closest_id=closest.article_id,
            similarity=similarity,
            exact_hash=fp.exact_hash,
        )

    def _verified(
        self, fp: Fingerprint, candidates: list[LshCandidate]
    ) -> list[tuple[LshCandidate, float]]:
        assert fp.signature is not None
        scored = (
            (c, signature_similarity(fp.signature, c.signature))
            for c in candidates
            if c.article_id != fp.article_id
        )
        return [(c, round(sim, 4)) for c, sim in scored if sim >= self.config.near_threshold]
