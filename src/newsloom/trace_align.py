"""Sentence and quotation alignment between two articles (helpers of ``trace``).

An article is prepared once (sentences, normalised forms, content-word sets,
quotations) so a story of many articles pays the cost of splitting only once
per article.  Aligning a pair then goes from cheap to dear:

1. candidate sentence pairs share enough content words (an inverted index, so
   unrelated sentences are never compared);
2. equal normalised text is ``verbatim``; a high character ratio or
   word-order-free ratio is ``fuzzy`` (a few words changed, clauses moved);
3. only the remaining candidates with a fair word overlap are embedded, and a
   high cosine makes them ``paraphrase`` (synonyms swapped, words reordered);
4. pairs are kept one-to-one, best first; a pair whose shared words sit inside
   quotation marks is a ``quote``, and quotations the two articles share inside
   otherwise different sentences are aligned on their own.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz import fuzz

from newsloom.extract.chrome import (
    is_breadcrumb,
    is_footer_heading,
    is_inline_chrome,
    is_subscribe_line,
    is_weather,
    parse_stated_minutes,
    parse_stated_views,
)
from newsloom.features.embed import SupportsEmbed
from newsloom.features.terms import tokenize
from newsloom.sentences import split_sentences
from newsloom.types import Article, Passage

__all__ = [
    "AlignParams",
    "EmbeddingCache",
    "Prepared",
    "Quote",
    "SentenceInfo",
    "align_prepared",
    "is_furniture",
    "normalize",
    "prepare",
    "word_grams",
]


@dataclass(slots=True, frozen=True)
class AlignParams:
    """Thresholds of the sentence aligner (tuned on the demo and eval/provenance_set.py)."""

    # Sentences with fewer words are chrome or fragments ("Advertisement").
    min_words: int = 5
    # Share of content words two sentences must have in common (Dice) to be compared.
    candidate_dice: float = 0.3
    # rapidfuzz ratio (0-100) on normalised text for a "fuzzy" match ...
    fuzzy_ratio: float = 80.0
    # ... or the word-order-free ratio, which survives moved clauses.
    fuzzy_sort_ratio: float = 85.0
    # Paraphrase: content-word Dice and embedding cosine both at least this.
    paraphrase_dice: float = 0.4
    paraphrase_cosine: float = 0.87
    # Without an embedder a paraphrase needs this much word overlap instead.
    paraphrase_dice_no_model: float = 0.6
    # Quotations shorter than this (in words) are too common to show reuse.
    quote_min_words: int = 6
    quote_ratio: float = 90.0
    # A sentence pair is a "quote" match when quoted text is at least this
    # share of each sentence and the words outside the quotes differ.
    quote_share: float = 0.5
    quote_outside_ratio: float = 70.0


_QUOTE_FOLD = str.maketrans(
    {
        "“": '"',
        "”": '"',
        "„": '"',
        "«": '"',
        "»": '"',
        "‘": "'",
        "’": "'",
        "‚": "'",
        "–": "-",
        "—": "-",
    }
)
_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)
# Double quotations in the forms news text uses: curly, straight, and the
# ``...'' of tokenised corpora.
_QUOTATION = re.compile(r"“([^”]{3,}?)”|\"([^\"]{3,}?)\"|``(.{3,}?)''")


def normalize(text: str) -> str:
    """Lower-case words separated by single spaces: what "the same words" means."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTE_FOLD).lower()
    return _NON_WORD.sub(" ", text).strip()


@dataclass(slots=True, frozen=True)
class Quote:
    """Quoted speech inside one sentence: span into the article text."""

    start: int
    end: int
    norm: str
    words: int


@dataclass(slots=True)
class SentenceInfo:
    text: str
    start: int
    end: int
    norm: str
    words: int
    tokens: frozenset[str]
    quotes: list[Quote]
    # Share of the sentence's characters inside quotation marks.
    quoted_share: float
    # Normalised text with the quotations removed.
    outside: str
    # A line of site furniture (menu, share bar, copyright): not the page's own text.
    furniture: bool = False


@dataclass(slots=True)
class Prepared:
    """One article split and normalised for alignment."""

    article: Article
    text: str
    sentences: list[SentenceInfo]
    quotations: list[Quote] = field(default_factory=list)
    index: dict[str, list[int]] = field(default_factory=dict)
    by_norm: dict[str, list[int]] = field(default_factory=dict)

    _grams: dict[int, frozenset[tuple[str, ...]]] = field(default_factory=dict)

    def grams(self, n: int) -> frozenset[tuple[str, ...]]:
        """Word ``n``-grams of the whole text, across sentence and paragraph
        breaks (so re-paragraphing does not hide a verbatim copy), leaving out
        lines of site furniture (a copy inside another site's menus and share
        bar still carries all of the source and nothing else of substance)."""
        if n not in self._grams:
            words = " ".join(s.norm for s in self.sentences if not s.furniture).split()
            self._grams[n] = frozenset(word_grams(words, n))
        return self._grams[n]

    @property
    def chars(self) -> int:
        return sum(s.end - s.start for s in self.sentences if s.words >= 1)


def word_grams(words: Sequence[str], n: int) -> list[tuple[str, ...]]:
    """Consecutive ``n``-word tuples (the whole sequence when it is shorter)."""
    if len(words) < n:
        return [tuple(words)] if words else []
    return [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]


def is_furniture(line: str) -> bool:
    """A line of site furniture (menu, share bar, newsletter box, copyright,
    "Read more:" teaser), by the extractor's own vocabulary (``extract.chrome``):
    not the page's own reporting, so it counts for neither side of a pair."""
    return (
        is_inline_chrome(line)
        or is_subscribe_line(line)
        or is_footer_heading(line)
        or is_breadcrumb(line)
        or is_weather(line)
        or parse_stated_minutes(line) is not None
        or parse_stated_views(line) is not None
    )


def _quotations(text: str) -> list[Quote]:
    """Quotations of a whole paragraph: a quote may run over several sentences."""
    out = []
    position = 0
    for paragraph in text.split("\n"):
        for match in _QUOTATION.finditer(paragraph):
            group = next(g for g in range(1, 4) if match.group(g) is not None)
            norm = normalize(match.group(group))
            if norm:
                start, end = position + match.start(group), position + match.end(group)
                out.append(Quote(start, end, norm, len(norm.split())))
        position += len(paragraph) + 1
    return out


def _outside(text: str, start: int, quotes: list[Quote]) -> str:
    """The sentence with its quoted parts blanked out."""
    chars = list(text)
    for quote in quotes:
        for k in range(max(quote.start, start), min(quote.end, start + len(text))):
            chars[k - start] = " "
    return "".join(chars)


def prepare(article: Article) -> Prepared:
    """Split ``article.text`` into sentences and index their content words."""
    text = article.text
    quotations = _quotations(text)
    infos: list[SentenceInfo] = []
    for sentence in split_sentences(text):
        norm = normalize(sentence.text)
        quotes = [q for q in quotations if q.start < sentence.end and q.end > sentence.start]
        quoted = sum(min(q.end, sentence.end) - max(q.start, sentence.start) for q in quotes)
        outside = _outside(sentence.text, sentence.start, quotes)
        infos.append(
            SentenceInfo(
                text=sentence.text,
                start=sentence.start,
                end=sentence.end,
                norm=norm,
                words=len(norm.split()),
                tokens=frozenset(tokenize(sentence.text)),
                quotes=quotes,
                quoted_share=quoted / max(1, len(sentence.text)),
                outside=normalize(outside),
                furniture=is_furniture(sentence.text),
            )
        )
    prepared = Prepared(article, text, infos, quotations)
    for i, info in enumerate(infos):
        for token in info.tokens:
            prepared.index.setdefault(token, []).append(i)
        prepared.by_norm.setdefault(info.norm, []).append(i)
    return prepared


class EmbeddingCache:
    """Sentence vectors computed at most once per text across a story."""

    def __init__(self, embedder: SupportsEmbed | None) -> None:
        self.embedder = embedder
        self._vectors: dict[str, np.ndarray] = {}
        self.calls = 0

    def vectors(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if missing and self.embedder is not None:
            self.calls += 1
            for text, vector in zip(missing, self.embedder.embed(missing), strict=True):
                self._vectors[text] = np.asarray(vector, dtype=np.float32)
        return {t: self._vectors[t] for t in texts if t in self._vectors}


@dataclass(slots=True)
class _Match:
    i: int
    j: int
    score: float
    kind: str


def _candidates(a: Prepared, b: Prepared, params: AlignParams) -> dict[tuple[int, int], float]:
    """Sentence pairs sharing enough content words, with their Dice overlap."""
    out: dict[tuple[int, int], float] = {}
    for i, sa in enumerate(a.sentences):
        if sa.words < params.min_words or not sa.tokens:
            continue
        shared: Counter[int] = Counter()
        for token in sa.tokens:
            shared.update(b.index.get(token, ()))
        for j, count in shared.items():
            sb = b.sentences[j]
            if sb.words < params.min_words:
                continue
            dice = 2.0 * count / (len(sa.tokens) + len(sb.tokens))
            if dice >= params.candidate_dice:
                out[(i, j)] = dice
    return out


def _score_pairs(
    a: Prepared,
    b: Prepared,
    params: AlignParams,
    cache: EmbeddingCache | None,
) -> list[_Match]:
    matches: list[_Match] = []
    for i, sa in enumerate(a.sentences):
        if sa.words >= params.min_words:
            matches.extend(_Match(i, j, 1.0, "verbatim") for j in b.by_norm.get(sa.norm, ()))
    exact = {(m.i, m.j) for m in matches}
    undecided: list[tuple[int, int, float]] = []
    for (i, j), dice in _candidates(a, b, params).items():
        if (i, j) in exact:
            continue
        sa, sb = a.sentences[i], b.sentences[j]
        ratio = fuzz.ratio(sa.norm, sb.norm)
        sort_ratio = fuzz.token_sort_ratio(sa.norm, sb.norm)
        if ratio >= params.fuzzy_ratio or sort_ratio >= params.fuzzy_sort_ratio:
            matches.append(_Match(i, j, max(ratio, sort_ratio) / 100.0, "fuzzy"))
        elif dice >= params.paraphrase_dice:
            undecided.append((i, j, dice))
    if cache is not None and cache.embedder is not None and undecided:
        texts = [a.sentences[i].text for i, _, _ in undecided]
        texts += [b.sentences[j].text for _, j, _ in undecided]
        vectors = cache.vectors(texts)
        for i, j, _dice in undecided:
            cos = float(vectors[a.sentences[i].text] @ vectors[b.sentences[j].text])
            if cos >= params.paraphrase_cosine:
                matches.append(_Match(i, j, cos, "paraphrase"))
    else:
        matches.extend(
            _Match(i, j, dice, "paraphrase")
            for i, j, dice in undecided
            if dice >= params.paraphrase_dice_no_model
        )
    return matches


def _one_to_one(matches: list[_Match]) -> list[_Match]:
    """Best match first; each sentence on either side is used once."""
    rank = {"verbatim": 3, "fuzzy": 2, "paraphrase": 1}
    used_a: set[int] = set()
    used_b: set[int] = set()
    kept: list[_Match] = []
    # Among equal scores prefer the pair nearest the diagonal, so repeated
    # sentences (a title printed twice) pair in order.
    for m in sorted(matches, key=lambda m: (-rank[m.kind], -m.score, abs(m.i - m.j), m.i)):
        if m.i in used_a or m.j in used_b:
            continue
        used_a.add(m.i)
        used_b.add(m.j)
        kept.append(m)
    return sorted(kept, key=lambda m: m.i)


def _quoted_text(sentence: SentenceInfo) -> str:
    """The quoted words of a sentence, clipped to it, normalised."""
    parts = []
    for quote in sentence.quotes:
        lo = max(quote.start, sentence.start) - sentence.start
        hi = min(quote.end, sentence.end) - sentence.start
        parts.append(sentence.text[lo:hi])
    return normalize(" ".join(parts))


def _is_quote_match(sa: SentenceInfo, sb: SentenceInfo, params: AlignParams) -> bool:
    """The two sentences share quoted words and little besides."""
    if not sa.quotes or not sb.quotes:
        return False
    if min(sa.quoted_share, sb.quoted_share) < params.quote_share:
        return False
    if fuzz.ratio(_quoted_text(sa), _quoted_text(sb)) < params.quote_ratio:
        return False
    if len(sa.outside.split()) < 3 and len(sb.outside.split()) < 3:
        return True
    return fuzz.ratio(sa.outside, sb.outside) < params.quote_outside_ratio


def _free_quotes(p: Prepared, used: set[int], min_words: int) -> list[Quote]:
    """Quotations not already inside an aligned sentence."""
    taken = [(p.sentences[i].start, p.sentences[i].end) for i in used]
    return [
        q
        for q in p.quotations
        if q.words >= min_words and not any(s <= q.start and q.end <= e for s, e in taken)
    ]


def _quote_passages(
    a: Prepared, b: Prepared, used_a: set[int], used_b: set[int], params: AlignParams
) -> list[Passage]:
    """Quotations both articles carry inside sentences that did not align."""
    b_quotes = _free_quotes(b, used_b, params.quote_min_words)
    out: list[Passage] = []
    taken: set[int] = set()
    for qa in _free_quotes(a, used_a, params.quote_min_words):
        best, best_score = -1, 0.0
        for k, qb in enumerate(b_quotes):
            if k in taken:
                continue
            # partial_ratio: one quotation cut from the other ("...," she said. "...").
            score = max(fuzz.ratio(qa.norm, qb.norm), fuzz.partial_ratio(qa.norm, qb.norm))
            if score > best_score:
                best, best_score = k, score
        if best >= 0 and best_score >= params.quote_ratio:
            taken.add(best)
            qb = b_quotes[best]
            out.append(
                Passage(
                    qa.start,
                    qa.end,
                    qb.start,
                    qb.end,
                    a.text[qa.start : qa.end],
                    b.text[qb.start : qb.end],
                    best_score / 100.0,
                    "quote",
                )
            )
    return out


def align_prepared(
    a: Prepared,
    b: Prepared,
    params: AlignParams,
    cache: EmbeddingCache | None = None,
) -> list[Passage]:
    """Aligned passages, side ``a`` first, in the order they appear in ``a``."""
    kept = _one_to_one(_score_pairs(a, b, params, cache))
    passages: list[Passage] = []
    for m in kept:
        sa, sb = a.sentences[m.i], b.sentences[m.j]
        kind = "quote" if _is_quote_match(sa, sb, params) else m.kind
        passages.append(
            Passage(sa.start, sa.end, sb.start, sb.end, sa.text, sb.text, m.score, kind)
        )
    used_a = {m.i for m in kept}
    used_b = {m.j for m in kept}
    passages.extend(_quote_passages(a, b, used_a, used_b, params))
    return sorted(passages, key=lambda p: p.a_start)
