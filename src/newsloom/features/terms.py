"""Word tokens, online document frequencies and sparse TF-IDF vectors.

Used over an article's title and lead: the words a story is told with
(names, places, the event's nouns) repeat across outlets, and their TF-IDF
cosine is a cheap signal that needs no model.  The top-weighted terms also
serve as keys of an inverted index that proposes candidate stories.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "STOPWORDS",
    "DocumentFrequencies",
    "cosine",
    "stem",
    "tfidf",
    "tokenize",
    "top_terms",
]

# Function words and the verbs of reporting ("said", "told"), which every
# article has and which therefore say nothing about which story it tells.
_STOPWORD_TEXT = """
    a about above after again against all almost also although am among an and another any
    are around as at be became because been before being below between both but by can
    could did do does doing done down during each either else even ever every few for from
    further had has have having he her here hers herself him himself his how however i if in
    into is it its itself just least less like made make many may me might more most much
    must my myself near neither no nor not now of off on once one only or other others our
    ours ourselves out over own per perhaps quite rather same several she should since so
    some such than that the their theirs them themselves then there these they this those
    though through thus to too under until up upon us very via was we were what whatever
    when where whether which while who whom whose why will with within without would yet you
    your yours yourself yourselves
    said says say saying told tell tells according reported reports report reporting added
    asked stated news new also just like get got go going gone went come came take took
    year years day days time week weeks month months today yesterday tomorrow monday tuesday
    wednesday thursday friday saturday sunday mr mrs ms dr
"""
STOPWORDS: frozenset[str] = frozenset(_STOPWORD_TEXT.split())

# Letters and digits, with inner apostrophes, periods of initialisms (u.s.)
# and hyphens kept so "u.s." and "covid-19" stay one token.
_WORD = re.compile(r"[^\W_]+(?:['’.\-][^\W_]+)*", re.UNICODE)

# Longest suffix first; each keeps a stem of at least three letters.  This is
# deliberately lighter than Porter: it folds plurals and verb endings
# ("protests", "protested", "protesting" -> "protest"; "charges", "charged",
# "charge" -> "charg") so the forms of one word share a TF-IDF dimension.
_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("ational", "ate"),
    ("ization", "ize"),
    ("fulness", "ful"),
    ("iveness", "ive"),
    ("ingly", ""),
    ("edly", ""),
    ("ies", "y"),
    ("ied", "y"),
    ("ing", ""),
    ("ed", ""),
    ("s", ""),
)


def stem(word: str) -> str:
    """Strip one common English suffix, then a final "e", when enough remains."""
    if len(word) <= 4 or not word.isalpha() or word.endswith(("ss", "us", "is")):
        return word
    for suffix, replacement in _SUFFIXES:
        if word.endswith(suffix):
            base = word[: -len(suffix)] + replacement
            if len(base) < 3:
                return word
            if suffix in {"ing", "ed"} and base[-1] == base[-2] and base[-1] not in "lsz":
                # "stopped" -> "stop", "running" -> "run"; "killed" keeps its "ll".
                base = base[:-1]
            word = base
            break
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]
    return word


def tokenize(text: str, *, stemming: bool = True) -> list[str]:
    """Lower-case word tokens without stopwords, one-letter words or bare numbers."""
    out: list[str] = []
    for match in _WORD.finditer(text.lower()):
        word = match.group().replace("’", "'").strip("'.-")
        if word.endswith("'s"):
            word = word[:-2]
        if len(word) < 2 or word in STOPWORDS or word.isdigit():
            continue
        out.append(stem(word) if stemming else word)
    return out


@dataclass(slots=True)
class DocumentFrequencies:
    """How many documents contain each term, counted as documents arrive."""

    documents: int = 0
    counts: Counter[str] = field(default_factory=Counter)

    def add(self, tokens: Iterable[str]) -> None:
        """Count one document (repeated tokens count once)."""
        self.documents += 1
        self.counts.update(set(tokens))

    def remove(self, tokens: Iterable[str]) -> None:
        """Undo :meth:`add` for a document that is deleted."""
        if self.documents <= 0:
            return
        self.documents -= 1
        for term in set(tokens):
            left = self.counts.get(term, 0) - 1
            if left > 0:
                self.counts[term] = left
            else:
                self.counts.pop(term, None)

    def __getitem__(self, term: str) -> int:
        return self.counts.get(term, 0)

    def idf(self, term: str) -> float:
        """Smoothed inverse document frequency; unseen terms weigh most."""
        return math.log((1 + self.documents) / (1 + self.counts.get(term, 0))) + 1.0

    def to_dict(self) -> dict[str, Any]:
        return {"documents": self.documents, "counts": dict(self.counts)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DocumentFrequencies:
        counts = Counter({str(k): int(v) for k, v in (data.get("counts") or {}).items()})
        return cls(documents=int(data.get("documents", 0)), counts=counts)


def tfidf(tokens: Iterable[str], df: DocumentFrequencies) -> dict[str, float]:
    """L2-normalised TF-IDF with sublinear term frequency (1 + log tf).

    Sublinear tf keeps a name repeated five times in a lead from drowning the
    other words; this matches scikit-learn's ``sublinear_tf=True`` with smoothed idf.
    """
    counts = Counter(tokens)
    weights = {term: (1.0 + math.log(n)) * df.idf(term) for term, n in counts.items()}
    norm = math.sqrt(sum(w * w for w in weights.values()))
    if norm == 0.0:
        return {}
    return {term: w / norm for term, w in weights.items()}


def cosine(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """Cosine of two sparse vectors (already normalised ones give their dot product)."""
    if len(a) > len(b):
        a, b = b, a
    # The clusterer calls this for every candidate story of every article: a
    # list and math.hypot run about twice as fast as generator sums.
    get = b.get
    dot = sum([w * get(t, 0.0) for t, w in a.items()])
    if dot == 0.0:
        return 0.0
    na, nb = math.hypot(*a.values()), math.hypot(*b.values())
    return dot / (na * nb) if na and nb else 0.0


def top_terms(vec: Mapping[str, float], k: int) -> list[str]:
    """The ``k`` heaviest terms, ties broken alphabetically so keys are stable."""
    return [t for t, _ in sorted(vec.items(), key=lambda item: (-item[1], item[0]))[:k]]
