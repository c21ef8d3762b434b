"""Cited extractive summaries of a story: summary, key points, timeline.

Every sentence a summary shows is quoted from one article, with the
character span it occupies in that article's ``text``, so a reader can always
click through to where it was said.  Nothing is rewritten.

How a story summary is built:

1. **Copies collapse into their source.**  A provenance edge other than
   ``independent`` means the derived page took its text from the source.  Its
   sentences that the source already has (aligned passages, or a sentence very
   close to one of the source's) are dropped, so a copy only contributes what
   it adds and the summary cites the original.
2. **Scoring.**  Each candidate sentence gets a weighted sum of its
   centrality (cosine to the story centroid, each source group weighing the
   same), its support (how closely the *other* sources say the same thing:
   what several outlets agree on is what a neutral summary keeps), its
   closeness to a headline, and a lead bonus (news puts the main fact first).
3. **Selection** greedily takes the best sentence that is not redundant with
   one already taken (cosine under a threshold) until a word budget is met.
4. **Ordering** by time and topic: the best sentence opens, then sentences in
   order of publication and position, except that a sentence on the topic of
   the one just placed is pulled forward so related sentences stay together.

Vectors come from the packaged sentence embedder; ``embedder=False`` uses
TF-IDF vectors instead (fast and model-free, used by tests).  The defaults
were tuned on the NeuS/AllSides training split (see ``eval/summaries.py
--tune`` and docs/quality.md, "Summaries").
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np

from newsloom.facts import extract_dates
from newsloom.features.embed import resolve_embedder
from newsloom.features.terms import DocumentFrequencies, tokenize
from newsloom.sentences import Sentence, split_sentences
from newsloom.types import Article, Provenance, StorySummary, SummarySentence

__all__ = [
    "DEFAULT",
    "SummaryParams",
    "sentence_when",
    "summarize_article",
    "summarize_story",
]


@dataclass(slots=True, frozen=True)
class SummaryParams:
    """Tunables of story summaries (defaults tuned on NeuS train, see module doc)."""

    # Summary length: sentences are added until this many words are reached
    # (NeuS human summaries: median 55 words, mean 67).
    max_words: int = 60
    max_sentences: int = 8
    # Score weights.
    w_centrality: float = 1.0
    w_support: float = 1.0
    w_title: float = 0.5
    w_lead: float = 0.6
    # Concept coverage (ICSI-style): the weight of the not yet covered content
    # words and word pairs a sentence adds, a concept weighing by how many
    # sources use it (only concepts that at least two use count).
    w_coverage: float = 3.0
    # Two sentences closer than this (cosine) say the same thing; TF-IDF
    # cosines run lower than embedding ones for the same paraphrase.
    redundancy: float = 0.8
    redundancy_tfidf: float = 0.5
    # A copy's sentence this close to one of its source's is the source's.
    copy_novelty: float = 0.85
    copy_novelty_tfidf: float = 0.6
    # Candidate sentences: word range, and how much of a story is read.
    min_words: int = 5
    max_words_sentence: int = 80
    max_articles: int = 40
    max_sentences_per_article: int = 40
    # Topic ordering: a sentence this close to the last one placed follows it.
    topic_link: float = 0.6
    topic_link_tfidf: float = 0.3
    # Key points: short, distinct, important.
    key_points_min: int = 3
    key_points_max: int = 5
    key_point_words: int = 40
    key_point_distinct: float = 0.7
    key_point_distinct_tfidf: float = 0.35
    # Timeline entries at most, and per day (the day's most important event).
    timeline_max: int = 10
    timeline_per_day: int = 1


DEFAULT = SummaryParams()

_LATE = datetime.max.replace(tzinfo=UTC)
_SPACE = re.compile(r"\s+")
_WORDS = re.compile(r"\w+")


@dataclass(slots=True)
class _Candidate:
    """One sentence that may be quoted: where it is and what it scores."""

    article: Article
    sentence: Sentence
    index: int  # position among the article's sentences
    group: str  # the original (root of the copy chain) it belongs to
    words: int
    score: float = 0.0
    parts: dict[str, float] = field(default_factory=dict)
    concepts: frozenset[str] = frozenset()

    @property
    def key(self) -> tuple:
        when = self.article.published or _LATE
        return (when, self.article.id, self.sentence.start)

    def cite(self, when: datetime | None = None) -> SummarySentence:
        s = self.sentence
        return SummarySentence(s.text, self.article.id, s.start, s.end, when)


# --- vectors -------------------------------------------------------------------


class _Space:
    """Unit vectors for sentences and headlines, from embeddings or TF-IDF."""

    def __init__(self, texts: Sequence[str], embedder: Any) -> None:
        # The package's embedder convention: None = packaged model (lazy), False = none.
        model = resolve_embedder(embedder)
        self.tfidf = model is None
        if not texts:
            self.matrix = np.zeros((0, 1), dtype=np.float32)
        elif model is None:
            self.matrix = _tfidf_matrix(texts)
        else:
            self.matrix = _unit(np.asarray(model.embed(list(texts)), dtype=np.float32))

    def threshold(self, params: SummaryParams, name: str) -> float:
        return float(getattr(params, f"{name}_tfidf" if self.tfidf else name))


def _unit(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)


def _tfidf_matrix(texts: Sequence[str]) -> np.ndarray:
    """Sublinear TF-IDF rows over the texts' own vocabulary, L2-normalised."""
    tokens = [tokenize(t) for t in texts]
    df = DocumentFrequencies()
    for row in tokens:
        df.add(row)
    vocab = {term: i for i, term in enumerate(sorted(df.counts))}
    matrix = np.zeros((len(texts), max(len(vocab), 1)), dtype=np.float32)
    for r, row in enumerate(tokens):
        for term in set(row):
            tf = 1.0 + np.log(row.count(term))
            matrix[r, vocab[term]] = tf * df.idf(term)
    return _unit(matrix)


# --- copies --------------------------------------------------------------------


def _parents(articles: Sequence[Article], provenance: Sequence[Provenance]) -> dict[str, str]:
    """derived id -> source id for directed copy edges whose two ends are present."""
    present = {a.id for a in articles}
    parent: dict[str, str] = {}
    ordered = sorted(provenance, key=lambda e: (e.derived_id, e.source_id))
    for edge in ordered:
        if edge.relation == "independent" or not edge.directed:
            continue
        ends_present = edge.derived_id in present and edge.source_id in present
        if ends_present and edge.derived_id != edge.source_id and edge.derived_id not in parent:
            parent[edge.derived_id] = edge.source_id
    return parent


def _ancestors(article_id: str, parent: dict[str, str]) -> list[str]:
    """The copy chain above ``article_id``, nearest first; a cycle is cut."""
    chain: list[str] = []
    node = parent.get(article_id)
    while node is not None and node != article_id and node not in chain:
        chain.append(node)
        node = parent.get(node)
    return chain


def _copied_spans(article_id: str, provenance: Sequence[Provenance]) -> list[tuple[int, int]]:
    """Character ranges of ``article_id`` aligned with a source it copied."""
    spans: list[tuple[int, int]] = []
    for edge in provenance:
        if edge.derived_id == article_id and edge.directed and edge.relation != "independent":
            spans.extend((p.a_start, p.a_end) for p in edge.spans)
    return spans


def _overlaps(sentence: Sentence, spans: list[tuple[int, int]]) -> bool:
    """Whether half or more of the sentence lies in the aligned spans."""
    length = max(sentence.end - sentence.start, 1)
    covered = sum(
        max(0, min(sentence.end, end) - max(sentence.start, start)) for start, end in spans
    )
    return covered * 2 >= length


# --- candidates ----------------------------------------------------------------


def _fold(text: str) -> str:
    return " ".join(_WORDS.findall(text.lower()))


def _is_prose(sentence: Sentence, article: Article, params: SummaryParams) -> bool:
    """A sentence worth quoting: long enough, not a heading or the title again."""
    text = sentence.text.strip()
    words = len(text.split())
    if words < params.min_words or words > params.max_words_sentence:
        return False
    if not any(c.islower() for c in text):
        return False  # headings and shouted chrome
    # A line with no end punctuation is a heading, caption or list label.
    if text[-1] not in ".!?…\"”’')]:":
        return False
    return not (article.title and _fold(text) == _fold(article.title))


def _article_candidates(article: Article, group: str, params: SummaryParams) -> list[_Candidate]:
    out: list[_Candidate] = []
    for index, sentence in enumerate(split_sentences(article.text)):
        if index >= params.max_sentences_per_article:
            break
        if _is_prose(sentence, article, params):
            words = len(sentence.text.split())
            concepts = _concepts(sentence.text)
            out.append(_Candidate(article, sentence, index, group, words, concepts=concepts))
    return out


def _story_articles(articles: Sequence[Article], limit: int) -> list[Article]:
    """Distinct articles, earliest first (originals usually are), at most ``limit``."""
    seen: dict[str, Article] = {}
    for article in articles:
        seen.setdefault(article.id, article)
    ordered = sorted(seen.values(), key=lambda a: (a.published or _LATE, a.id))
    return ordered[: max(limit, 1)]


# --- scoring -------------------------------------------------------------------


def _score(cands: list[_Candidate], vectors: np.ndarray, titles: np.ndarray, p: SummaryParams):
    """Fill each candidate's score from centrality, support, headline and lead."""
    groups = sorted({c.group for c in cands})
    members = {g: [i for i, c in enumerate(cands) if c.group == g] for g in groups}
    # Each source group weighs the same in the centroid, however long it is.
    centroid = np.zeros(vectors.shape[1], dtype=np.float32)
    for rows in members.values():
        mean = vectors[rows].mean(axis=0)
        centroid += mean / max(float(np.linalg.norm(mean)), 1e-12)
    centroid /= max(float(np.linalg.norm(centroid)), 1e-12)
    sims = vectors @ vectors.T
    for i, cand in enumerate(cands):
        others = [g for g in groups if g != cand.group]
        support = float(np.mean([sims[i, members[g]].max() for g in others])) if others else 0.0
        title = float((titles @ vectors[i]).max()) if len(titles) else 0.0
        parts = {
            "centrality": float(vectors[i] @ centroid),
            "support": support,
            "title": title,
            "lead": 1.0 / (1.0 + cand.index),
        }
        cand.parts = parts
        cand.score = (
            p.w_centrality * parts["centrality"]
            + p.w_support * parts["support"]
            + p.w_title * parts["title"]
            + p.w_lead * parts["lead"]
        )
    return sims


def _concepts(text: str) -> frozenset[str]:
    """Content-word stems and adjacent stem pairs: the units ROUGE-1/2 reward."""
    tokens = tokenize(text)
    return frozenset(tokens) | frozenset(f"{a} {b}" for a, b in itertools.pairwise(tokens))


def _concept_weights(cands: list[_Candidate], titles: dict[str, str]) -> dict[str, float]:
    """How many sources (copy groups) use each concept, counting their headlines;
    with one source, how many of its sentences do.  Concepts used once weigh 0."""
    multi = _groups(cands) > 1
    users: dict[str, set[str]] = {}
    for i, cand in enumerate(cands):
        for concept in cand.concepts:
            users.setdefault(concept, set()).add(cand.group if multi else f"sentence {i}")
    for group, title in titles.items():
        for concept in _concepts(title):
            users.setdefault(concept, set()).add(group if multi else "title")
    return {c: float(len(u)) for c, u in users.items() if len(u) >= 2}


def _groups(cands: list[_Candidate]) -> int:
    return len({c.group for c in cands})


def _gain(cand: _Candidate, weights: dict[str, float], covered: set[str]) -> float:
    return sum(weights.get(c, 0.0) for c in cand.concepts if c not in covered)


def _ranking(cands: list[_Candidate]) -> list[int]:
    """Candidate indices best first; ties go to the earlier report and position."""
    return sorted(range(len(cands)), key=lambda i: (-round(cands[i].score, 9), cands[i].key))


def _select(
    cands: list[_Candidate],
    sims: np.ndarray,
    weights: dict[str, float],
    p: SummaryParams,
    limits: tuple[int, int],
    distinct: float,
) -> list[int]:
    """Greedy: the best score plus coverage of new concepts, never a sentence
    redundant with one taken, until the word or sentence limit is reached."""
    limit_words, limit_count = limits
    scale = max((_gain(c, weights, set()) for c in cands), default=0.0) or 1.0
    chosen: list[int] = []
    covered: set[str] = set()
    words = 0
    while words < limit_words and len(chosen) < limit_count:
        best: tuple | None = None
        for i, cand in enumerate(cands):
            if i in chosen or any(sims[i, j] >= distinct for j in chosen):
                continue
            value = cand.score + p.w_coverage * _gain(cand, weights, covered) / scale
            key = (-round(value, 9), cand.key)
            if best is None or key < best[0]:
                best = (key, i)
        if best is None:
            break
        chosen.append(best[1])
        covered |= cands[best[1]].concepts
        words += cands[best[1]].words
    return chosen


def _earliest_wording(cands: list[_Candidate], i: int) -> int:
    """The earliest report of the very same sentence (the same words), so a
    word-for-word copy never takes the citation from what it copied."""
    folded = _fold(cands[i].sentence.text)
    same = [j for j, c in enumerate(cands) if _fold(c.sentence.text) == folded]
    return min(same, key=lambda j: cands[j].key)


def _order(cands: list[_Candidate], chosen: list[int], sims: np.ndarray, link: float) -> list[int]:
    """Time and topic: the best first, then by time, topic neighbours kept together."""
    if not chosen:
        return []
    placed = [chosen[0]]
    rest = sorted(chosen[1:], key=lambda i: (cands[i].key, cands[i].index))
    while rest:
        last = placed[-1]
        near = [i for i in rest if sims[last, i] >= link]
        pick = max(near, key=lambda i: (sims[last, i], -rest.index(i))) if near else rest[0]
        placed.append(pick)
        rest.remove(pick)
    return placed


# --- key points ----------------------------------------------------------------


def _key_points(cands: list[_Candidate], sims: np.ndarray, p: SummaryParams, distinct: float):
    """3-5 short, distinct, highly ranked sentences (longer ones only to reach 3)."""
    ranking = _ranking(cands)
    chosen: list[int] = []
    for word_cap in (p.key_point_words, p.max_words_sentence):
        for i in ranking:
            if len(chosen) >= (p.key_points_max if word_cap == p.key_point_words else 3):
                break
            if i in chosen or cands[i].words > word_cap:
                continue
            if any(sims[i, j] >= distinct for j in chosen):
                continue
            chosen.append(i)
        if len(chosen) >= p.key_points_min:
            break
    return [cands[_earliest_wording(cands, i)].cite() for i in chosen]


# --- timeline ------------------------------------------------------------------

_FUTURE = re.compile(
    r"\b(will|would|shall|is due|are due|is to|are to|expects?|expected to|going to|plans? to|"
    r"is set to|are set to|scheduled|planned|from now)\b",
    re.IGNORECASE,
)
# Past tense: the common irregular verbs of news prose, and "-ed" forms.
_PAST = re.compile(
    r"\b(was|were|had|did|said|told|won|lost|found|took|made|came|went|began|ended|met|"
    r"held|gave|saw|left|fell|rose|hit|put|kept|led|ran|spoke|wrote|became|\w{3,}ed)\b",
    re.IGNORECASE,
)
_RELATIVE = re.compile(r"\b(yesterday|today|tonight|tomorrow|last night|this morning)\b", re.I)
_RELATIVE_DAYS = {
    "yesterday": -1,
    "last night": -1,
    "today": 0,
    "tonight": 0,
    "this morning": 0,
    "tomorrow": 1,
}
_CLOCK = re.compile(
    r"\b(?P<h>[01]?\d)(?:[.:](?P<m>[0-5]\d))?\s*(?P<ap>am|pm|a\.m\.|p\.m\.)"
    r"|\b(?P<h24>[01]\d|2[0-3]):(?P<m24>[0-5]\d)\b",
    re.IGNORECASE,
)
# Roles that name the day something happens (not a deadline or a start).
_EVENT_ROLES = ("on", "last", "this", "next")


def _weekday_day(published: date, weekday: int, role: str, sentence: str) -> date:
    """A bare weekday resolved against publication by tense: ahead for the
    future ("will", "until", "next"), back for the past ("said", "-ed"), else
    the nearer of the two (news names days within a few of its own)."""
    ahead = (weekday - published.weekday()) % 7
    back = (published.weekday() - weekday) % 7
    if role == "next":
        return published + timedelta(days=ahead or 7)
    if role in {"until", "till", "from", "by"} or _FUTURE.search(sentence):
        return published + timedelta(days=ahead)
    if _PAST.search(sentence) or back <= ahead:
        return published - timedelta(days=back)
    return published + timedelta(days=ahead)


def _clock(sentence: str) -> time | None:
    match = _CLOCK.search(sentence)
    if not match:
        return None
    if match.group("h24"):
        return time(int(match.group("h24")), int(match.group("m24")))
    hour = int(match.group("h")) % 12
    if match.group("ap").lower().startswith("p"):
        hour += 12
    return time(hour, int(match.group("m") or 0))


def sentence_when(sentence: str, published: datetime | None) -> datetime | None:
    """When the event of ``sentence`` happened, if it names a day we can resolve.

    Calendar dates and weekdays come from :func:`newsloom.facts.extract_dates`
    (resolved against ``published``); here a bare weekday is placed before or
    after publication by tense, "yesterday"/"today"/"tomorrow" are resolved,
    and a clock time ("4.40pm") in the sentence sets the hour.
    """
    base = published.date() if published else None
    refs = extract_dates(sentence, published)
    refs.sort(key=lambda r: (r.role not in _EVENT_ROLES, r.start))
    day: date | None = None
    for ref in refs:
        if ref.day is not None:
            day = ref.day
        elif ref.weekday is not None and base is not None:
            day = _weekday_day(base, ref.weekday, ref.role, sentence)
        if day is not None:
            break
    if day is None and base is not None:
        relative = _RELATIVE.search(sentence)
        if relative:
            day = base + timedelta(days=_RELATIVE_DAYS[relative.group(1).lower()])
    if day is None:
        return None
    tz = published.tzinfo if published and published.tzinfo else UTC
    return datetime.combine(day, _clock(sentence) or time(0, 0), tzinfo=tz)


def _timeline(
    cands: list[_Candidate], sims: np.ndarray, p: SummaryParams, distinct: float
) -> list[SummarySentence]:
    """Dated sentences, the most important distinct ones, in time order."""
    dated: dict[int, datetime] = {}
    for i, cand in enumerate(cands):
        when = sentence_when(cand.sentence.text, cand.article.published)
        if when is not None:
            dated[i] = when
    chosen: list[int] = []
    for i in _ranking(cands):
        if len(chosen) >= p.timeline_max:
            break
        if i not in dated:
            continue
        # The same event on the same day is told once.
        same_day = [j for j in chosen if dated[j].date() == dated[i].date()]
        if len(same_day) >= p.timeline_per_day or any(sims[i, j] >= distinct for j in same_day):
            continue
        chosen.append(i)
    chosen.sort(key=lambda i: (dated[i], cands[i].key))
    return [cands[i].cite(dated[i]) for i in chosen]


def _publication_timeline(cands: list[_Candidate]) -> list[SummarySentence]:
    """Fallback when no sentence is dated: each report's lead at its publication."""
    leads: dict[str, _Candidate] = {}
    for cand in cands:
        if cand.article.published is None:
            continue
        current = leads.get(cand.article.id)
        if current is None or cand.index < current.index:
            leads[cand.article.id] = cand
    ordered = sorted(leads.values(), key=lambda c: c.key)
    return [c.cite(c.article.published) for c in ordered]


# --- public ----------------------------------------------------------------------


def _candidates(
    articles: list[Article], provenance: Sequence[Provenance], params: SummaryParams
) -> tuple[list[_Candidate], dict[str, list[str]]]:
    """Every article's prose sentences, with the copy chain of each article."""
    parent = _parents(articles, provenance)
    chains = {a.id: _ancestors(a.id, parent) for a in articles}
    # A summary or a duplicate of a page in the story adds nothing of its own:
    # an aggregator's condensed wording of the source is still the source's news.
    condensed = {
        e.derived_id
        for e in provenance
        if e.directed and e.relation in ("summary", "duplicate") and e.derived_id in parent
    }
    cands: list[_Candidate] = []
    for article in articles:
        if article.id in condensed:
            continue
        root = chains[article.id][-1] if chains[article.id] else article.id
        found = _article_candidates(article, root, params)
        if chains[article.id]:
            spans = _copied_spans(article.id, provenance)
            found = [c for c in found if not _overlaps(c.sentence, spans)]
        cands.extend(found)
    return cands, chains


def _drop_copied(
    cands: list[_Candidate], chains: dict[str, list[str]], space: _Space, params: SummaryParams
) -> list[int]:
    """Indices kept: a copy's sentence close to one its sources have is theirs."""
    sims = space.matrix[: len(cands)] @ space.matrix[: len(cands)].T
    limit = space.threshold(params, "copy_novelty")
    rows: dict[str, list[int]] = {}
    for i, cand in enumerate(cands):
        rows.setdefault(cand.article.id, []).append(i)
    kept: list[int] = []
    for i, cand in enumerate(cands):
        sources = [j for a in chains[cand.article.id] for j in rows.get(a, [])]
        if sources and float(sims[i, sources].max()) >= limit:
            continue
        kept.append(i)
    return kept


def summarize_story(
    articles: Sequence[Article],
    *,
    provenance: Sequence[Provenance] = (),
    story_id: str = "",
    embedder: Any = None,
    params: SummaryParams = DEFAULT,
) -> StorySummary:
    """The cited summary, key points, timeline and per-article summaries of a story.

    ``provenance`` (from :func:`newsloom.trace.trace_story`) lets copies
    collapse into their sources; without it, a sentence reported word for word
    by several pages is cited to the earliest.  ``embedder=None`` loads the
    packaged model on first use, ``False`` uses TF-IDF vectors, anything with
    ``embed(list[str])`` is used as is.  The output depends only on the input.
    """
    chosen = _story_articles(articles, params.max_articles)
    per_article = {a.id: summarize_article(a) for a in sorted(chosen, key=lambda a: a.id)}
    cands, chains = _candidates(chosen, provenance, params)
    copies = {a for a, chain in chains.items() if chain}
    titles = {a.id: a.title for a in chosen if a.title and a.id not in copies}
    if not cands:
        return StorySummary(story_id, articles=per_article)
    space = _Space([c.sentence.text for c in cands] + list(titles.values()), embedder)
    kept = _drop_copied(cands, chains, space, params)
    cands = [cands[i] for i in kept]
    vectors = space.matrix[kept]
    sims = _score(cands, vectors, space.matrix[len(space.matrix) - len(titles) :], params)
    weights = _concept_weights(cands, titles)
    distinct = space.threshold(params, "redundancy")
    limits = (params.max_words, params.max_sentences)
    picked = _select(cands, sims, weights, params, limits, distinct)
    ordered = _order(cands, picked, sims, space.threshold(params, "topic_link"))
    summary = [cands[_earliest_wording(cands, i)].cite() for i in ordered]
    points = _key_points(cands, sims, params, space.threshold(params, "key_point_distinct"))
    timeline = _timeline(cands, sims, params, distinct) or _publication_timeline(cands)
    return StorySummary(story_id, summary, points, timeline, per_article)


def summarize_article(article: Article, *, max_sentences: int = 3) -> list[SummarySentence]:
    """A one-paragraph "Summary by newsloom" of one article, in its own order.

    TF-IDF centrality within the article, closeness to its headline and a
    lead bonus pick up to ``max_sentences`` distinct sentences.
    """
    params = DEFAULT
    cands = _article_candidates(article, article.id, params)
    if not cands:
        # Very short pages: any sentence with words beats an empty summary.
        loose = SummaryParams(min_words=1, max_words_sentence=10_000)
        cands = [c for c in _article_candidates(article, article.id, loose) if c.words]
    if not cands or max_sentences <= 0:
        return []
    titles = {article.id: article.title} if article.title else {}
    space = _Space([c.sentence.text for c in cands] + list(titles.values()), False)
    vectors = space.matrix[: len(cands)]
    sims = _score(cands, vectors, space.matrix[len(cands) :], params)
    weights = _concept_weights(cands, titles)
    picked = _select(cands, sims, weights, params, (10**9, max_sentences), params.redundancy_tfidf)
    picked.sort(key=lambda i: cands[i].sentence.start)
    return [cands[i].cite() for i in picked]
