"""Provenance: who copied, rewrote, summarised or quoted whom within a story.

For a pair of articles :func:`trace_pair` aligns their sentences (see
``trace_align``), measures how much of each is covered by the other and how,
decides the direction (which one is derived) and then the relation:

* ``duplicate``: the derived text is the source's text, in order, word for word
  (site chrome around it allowed);
* ``near_copy``: the source's text with a few words or sentences changed, or
  its sentences shuffled;
* ``rewrite``: the source's structure throughout, with words swapped or
  clauses reordered in much of it (spinning, machine translation);
* ``summary``: the derived page takes only part of the source and is mostly
  made of it (an extract, an aggregator's summary);
* ``quotes``: the two share quoted speech and little else;
* ``independent``: nothing beyond what two reports of one event share anyway.

Direction comes from, strongest first: one page naming the other (its outlet,
domain, URL, title or journalists), publication dates, a page without a date
against a dated one (republishers drop dates), and which page holds more of
its own substance (a copy seldom adds).

:func:`trace_story` runs this over every related pair of a story and keeps a
tree: each derived article gets its closest source, with no cycles.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any
from urllib.parse import urlsplit

from rapidfuzz import fuzz, process

from newsloom.features.embed import resolve_embedder
from newsloom.sentences import split_sentences
from newsloom.trace_align import (
    AlignParams,
    EmbeddingCache,
    Prepared,
    align_prepared,
    normalize,
    prepare,
    word_grams,
)
from newsloom.types import Article, Passage, Provenance, Relation

__all__ = [
    "TraceParams",
    "align",
    "names_source",
    "trace_pair",
    "trace_story",
]


@dataclass(slots=True, frozen=True)
class TraceParams:
    """Tunables of provenance tracing; defaults tuned on the demo corpus and the
    ancestry set of ``eval/provenance_set.py`` (see docs/quality.md, "Provenance")."""

    align: AlignParams = field(default_factory=AlignParams)
    # Below this share of both texts covered, a pair is independent (or quotes).
    related_coverage: float = 0.2
    # The derived page must draw at least this share of its own text from the source.
    derived_coverage: float = 0.3
    # A copy covers at least this share of the source; less is a summary.
    copy_source_coverage: float = 0.75
    # Duplicate: this share of the source covered verbatim, in order.
    duplicate_verbatim: float = 0.98
    duplicate_other_way: float = 0.85
    duplicate_order: float = 0.95
    # Near copy vs rewrite: (2 x share of the aligned source's word 3-grams
    # the derived page lacks + share of aligned sentences not word for word) / 3.
    # A few edited sentences or a shuffle stay well below; spinning is above.
    rewrite_changed: float = 0.17
    # A summary is not longer than this many times its source.
    summary_length: float = 1.1
    # Shared quotations (in words) needed for a "quotes" relation when the
    # derived page credits the source; without credit, two reports quoting one
    # statement is normal, so much more is needed.
    quotes_min_words: int = 8
    quotes_uncredited_words: int = 40
    # Sentences (outside quotations) two related pages share at least.
    related_passages: int = 2
    # Substantive sentences (used for "who adds more") have at least this many words.
    substantive_words: int = 8
    # Coverage difference that counts as one page containing the other, and
    # the share of its substantive text the containing page must have unshared.
    containment_margin: float = 0.1
    own_material: float = 0.25
    # Publication times closer than this (hours) do not decide direction.
    date_margin_hours: float = 1.0
    # Article pairs sharing fewer content words than this are not aligned at all.
    prefilter_shared_tokens: int = 8


DEFAULT_PARAMS = TraceParams()


# --- alignment ---------------------------------------------------------------


def align(
    a: Article, b: Article, *, embedder: Any = None, params: TraceParams = DEFAULT_PARAMS
) -> list[Passage]:
    """Passages ``a`` and ``b`` share; side ``a`` of each passage is the first argument."""
    cache = EmbeddingCache(resolve_embedder(embedder))
    return align_prepared(prepare(a), prepare(b), params.align, cache)


# --- attribution ---------------------------------------------------------------

_GENERIC_NAME_WORDS = frozenset(
    [
        "news",
        "online",
        "today",
        "daily",
        "weekly",
        "the",
        "times",
        "post",
        "media",
        "group",
        "network",
        "radio",
        "tv",
        "live",
    ]
)
_SITE_SUFFIX = re.compile(r"\s*[:|\-–—]\s*(news|home|latest|online).*$", re.IGNORECASE)


def _domain(url: str | None) -> str | None:
    if not url:
        return None
    host = urlsplit(url if "//" in url else f"//{url}").hostname or ""
    host = host.lower().removeprefix("www.")
    return host or None


def _outlet_names(article: Article) -> list[str]:
    """Names an outlet goes by: "Tesk Valley Radio: News" -> "Tesk Valley Radio"."""
    names: list[str] = []
    if article.site_name:
        name = _SITE_SUFFIX.sub("", article.site_name).strip()
        names.append(name)
        if name.lower().startswith("the "):
            names.append(name[4:])
    return [n for n in names if len(n) >= 3]


def _short_name(name: str) -> str | None:
    """The word a paper calls itself by ("the Gazette"), when it is distinctive."""
    words = name.split()
    if len(words) < 2 or words[-1].lower() in _GENERIC_NAME_WORDS:
        return None
    return words[-1]


def _mention_patterns(source: Article) -> list[re.Pattern[str]]:
    """Ways a page names the source outlet: its name, "the <Short>", domain, URL."""
    patterns: list[re.Pattern[str]] = []
    for name in _outlet_names(source):
        patterns.append(re.compile(r"(?<!\w)" + re.escape(name) + r"(?!\w)"))
        short = _short_name(name)
        if short:
            # "told the Examiner": the capitalised short name after "the".
            patterns.append(re.compile(r"\b[Tt]he " + re.escape(short) + r"(?!\w)"))
    for url in {source.url, source.canonical_url} - {None}:
        patterns.append(re.compile(re.escape(url.rstrip("/"))))
    domain = _domain(source.canonical_url) or _domain(source.url)
    if domain:
        patterns.append(re.compile(r"(?<![\w.])" + re.escape(domain) + r"(?!\w)", re.IGNORECASE))
    return patterns


def _names_in_text(derived: Article, source: Article) -> bool:
    """The derived text names the source outside sentences copied from it (a
    copy of "seen by the Gazette" is the Gazette's words, not credit)."""
    patterns = _mention_patterns(source)
    if not patterns:
        return False
    source_sentences: list[str] | None = None
    for sentence in split_sentences(derived.text):
        if not any(p.search(sentence.text) for p in patterns):
            continue
        if source_sentences is None:
            source_sentences = [normalize(s.text) for s in split_sentences(source.text)]
        best = process.extractOne(
            normalize(sentence.text), source_sentences, scorer=fuzz.ratio, score_cutoff=90
        )
        if best is None:
            return True
    return False


def _same_name(a: str | None, b: str | None) -> bool:
    return bool(a and b) and normalize(a) == normalize(b)


def _citation_names_source(derived: Article, source: Article) -> bool:
    names = _outlet_names(source)
    domains = {d for d in (_domain(source.url), _domain(source.canonical_url)) if d}
    for citation in derived.citations:
        if _domain(citation.url) in domains:
            return True
        for value in (citation.name, citation.publisher):
            if any(_same_name(value, name) for name in names):
                return True
            if value and _domain(value) in domains:
                return True
        if citation.title and _same_name(citation.title, source.title):
            return True
    return False


def _byline_credits_source(derived: Article, source: Article) -> bool:
    """The derived page carries the source's own journalists' names."""
    theirs = {normalize(a) for a in source.authors if a.strip()}
    return bool(theirs) and bool(theirs & {normalize(a) for a in derived.authors})


def names_source(derived: Article, source: Article) -> bool:
    """Whether ``derived`` credits ``source``.

    Credit is a citation (link, reference line, "Summary by", "X reported")
    naming the source's outlet, domain, URL or title; the outlet, its domain
    or URL named in the text outside sentences copied from the source (so a
    copy of "seen by the Gazette" is not credit); or a byline with the
    source's own journalists.
    """
    return _credits(derived, source) or _byline_credits_source(derived, source)


def _credits(derived: Article, source: Article) -> bool:
    """Explicit credit: a citation, or the source named in the text."""
    if _citation_names_source(derived, source):
        return True
    return _names_in_text(derived, source)


# --- pair statistics ----------------------------------------------------------


def _covered(
    prepared: Prepared, spans: list[tuple[int, int]], min_words: int
) -> tuple[float, float]:
    """Share of sentence characters inside ``spans``: over all sentences, and
    over substantive ones (chrome and fragments are short)."""
    marks = sorted(spans)
    covered = total = covered_sub = total_sub = 0
    for s in prepared.sentences:
        length = s.end - s.start
        hit = 0
        for start, end in marks:
            if start >= s.end:
                break
            hit += max(0, min(end, s.end) - max(start, s.start))
        hit = min(hit, length)
        total += length
        covered += hit
        if s.words >= min_words:
            total_sub += length
            covered_sub += hit
    return covered / max(1, total), covered_sub / max(1, total_sub)


def _order(passages: list[Passage]) -> float:
    """Share of aligned sentences in the same order on both sides (longest
    increasing run of source positions over the derived order)."""
    seq = [p.b_start for p in sorted(passages, key=lambda p: p.a_start)]
    if len(seq) < 2:
        return 1.0
    tails: list[int] = []
    for value in seq:
        k = bisect.bisect_left(tails, value)
        if k == len(tails):
            tails.append(value)
        else:
            tails[k] = value
    return len(tails) / len(seq)


@dataclass(slots=True)
class _PairView:
    """Everything the relation and direction rules read, for one orientation."""

    a: Prepared
    b: Prepared
    passages: list[Passage]  # side a = self.a
    cov_a: float  # share of a's text aligned (any kind)
    cov_b: float
    sub_a: float  # same, over substantive sentences
    sub_b: float
    text_a: float  # share of a aligned outside quotations
    text_b: float
    verbatim_b: float  # share of b carried word for word
    changed: float  # share of the aligned source's word 3-grams a lacks
    sentences_changed: float  # share of aligned sentences not word for word
    order: float
    quote_words: int
    length_ratio: float  # len(a) / len(b)


def _view(a: Prepared, b: Prepared, passages: list[Passage], params: TraceParams) -> _PairView:
    words = params.substantive_words
    cov_a, sub_a = _covered(a, [(p.a_start, p.a_end) for p in passages], words)
    cov_b, sub_b = _covered(b, [(p.b_start, p.b_end) for p in passages], words)
    text = [p for p in passages if p.kind != "quote"]
    text_a, _ = _covered(a, [(p.a_start, p.a_end) for p in text], words)
    text_b, _ = _covered(b, [(p.b_start, p.b_end) for p in text], words)
    # Word for word: the source's 8-grams found in a, wherever the sentence and
    # paragraph breaks fall.
    long_grams = b.grams(8)
    shared = len(long_grams & a.grams(8))
    ways = sorted((shared / max(1, len(long_grams)), shared / max(1, len(a.grams(8)))))
    # Either way round (a copy inside site chrome contains all of the source,
    # whichever side direction picked), as long as the other way is close too.
    verbatim_b = ways[1] if ways[0] >= params.duplicate_other_way else ways[0]
    # Changed: the aligned source text's 3-grams that a does not have; spinning
    # breaks most of them, a few edited words or shuffled sentences very few.
    aligned_grams = {g for p in passages for g in word_grams(normalize(p.b_text).split(), 3)}
    changed = 1.0 - len(aligned_grams & a.grams(3)) / max(1, len(aligned_grams))
    quote_words = sum(len(normalize(p.a_text).split()) for p in passages if p.kind == "quote")
    return _PairView(
        a=a,
        b=b,
        passages=passages,
        cov_a=cov_a,
        cov_b=cov_b,
        sub_a=sub_a,
        sub_b=sub_b,
        text_a=text_a,
        text_b=text_b,
        verbatim_b=verbatim_b,
        changed=changed if aligned_grams else 0.0,
        sentences_changed=sum(p.kind in {"fuzzy", "paraphrase"} for p in passages)
        / max(1, sum(p.kind != "quote" or p.score < 0.999 for p in passages)),
        order=_order(passages),
        quote_words=quote_words,
        length_ratio=a.chars / max(1, b.chars),
    )


def _flip(passages: list[Passage]) -> list[Passage]:
    return sorted(
        (
            Passage(p.b_start, p.b_end, p.a_start, p.a_end, p.b_text, p.a_text, p.score, p.kind)
            for p in passages
        ),
        key=lambda p: p.a_start,
    )


# --- direction ------------------------------------------------------------------


def _day_only(when: datetime) -> bool:
    """Dates given without a time of day come out as midnight."""
    return when.timetz().replace(tzinfo=None) == time(0, 0)


def _date_vote(a: Article, b: Article, params: TraceParams) -> tuple[float, str | None]:
    """Positive when ``a`` looks derived (published later)."""
    if a.published and b.published:
        if _day_only(a.published) or _day_only(b.published):
            days = (a.published.date() - b.published.date()).days
            if days:
                return (2.0 if days > 0 else -2.0), "published on a later day"
            return 0.0, None
        hours = (a.published - b.published).total_seconds() / 3600
        if abs(hours) >= params.date_margin_hours:
            return (2.0 if hours > 0 else -2.0), "published later"
        return 0.0, None
    if b.published and not a.published:
        return 1.0, "undated against a dated page"
    if a.published and not b.published:
        return -1.0, "undated against a dated page"
    return 0.0, None


def _direction(view: _PairView, params: TraceParams) -> tuple[bool, list[str], dict[str, bool]]:
    """Whether ``view.a`` is the derived one, the reasons, and who names whom."""
    a, b = view.a.article, view.b.article
    votes: list[tuple[float, str, str]] = []  # (weight toward a derived, reason, which)
    # The byline test is symmetric (both pages carry the same names), so only
    # explicit credit decides direction.
    a_names = _credits(a, b)
    b_names = _credits(b, a)
    if a_names != b_names:
        votes.append((3.0 if a_names else -3.0, "names the other as its source", "naming"))
    weight, reason = _date_vote(a, b, params)
    if reason:
        votes.append((weight, reason, "date"))
    # A copy seldom adds: the page whose own substance is more covered by the
    # other is the derived one.
    # Only when the other page has real material of its own: site furniture
    # around a copy is not "more information".
    margin = view.sub_a - view.sub_b
    own = 1.0 - min(view.sub_a, view.sub_b)
    if abs(margin) >= params.containment_margin and own >= params.own_material:
        votes.append((1.5 if margin > 0 else -1.5, "adds less of its own", "content"))
    total = sum(w for w, _, _ in votes)
    if total == 0:
        # No evidence either way: the shorter page is more likely taken from
        # the longer; then the arrival order (ids are stable).
        if view.a.chars != view.b.chars:
            a_derived = view.a.chars < view.b.chars
            votes.append((0.0, "shorter (no other evidence)", "length"))
        else:
            a_derived = a.id > b.id
            votes.append((0.0, "no evidence of direction", "none"))
    else:
        a_derived = total > 0
    side = 1.0 if a_derived else -1.0
    reasons = [r for w, r, _ in votes if w * side > 0 or w == 0]
    return a_derived, reasons, {"a_names_b": a_names, "b_names_a": b_names}


# --- relation -------------------------------------------------------------------


def _relation(view: _PairView, params: TraceParams, *, credited: bool) -> Relation:
    """Relation of ``view.a`` (derived) to ``view.b`` (source)."""
    related = max(view.text_a, view.text_b) >= params.related_coverage
    weak = view.cov_a < params.derived_coverage and view.cov_b < params.copy_source_coverage
    few = sum(p.kind != "quote" for p in view.passages) < params.related_passages
    if not related or weak or few:
        needed = params.quotes_min_words if credited else params.quotes_uncredited_words
        return "quotes" if view.quote_words >= needed else "independent"
    if view.cov_b >= params.copy_source_coverage:
        if view.verbatim_b >= params.duplicate_verbatim and view.order >= params.duplicate_order:
            return "duplicate"
        return "rewrite" if _rewritten(view) >= params.rewrite_changed else "near_copy"
    if view.length_ratio <= params.summary_length:
        return "summary"
    # Takes part of the source but is longer: reworked with material of its own.
    return "rewrite" if _rewritten(view) >= params.rewrite_changed else "near_copy"


def _rewritten(view: _PairView) -> float:
    """How much of the shared text is reworded rather than carried over."""
    return (2 * view.changed + view.sentences_changed) / 3


def _score(view: _PairView, relation: Relation) -> float:
    """How strongly the pair is related: share of the derived page drawn from the source
    (for a summary) or of the source carried over (for copies)."""
    if relation == "independent":
        return max(view.cov_a, view.cov_b)
    if relation == "quotes":
        return min(1.0, view.quote_words / 50.0)
    if relation == "summary":
        return view.cov_a
    return (view.cov_a + view.cov_b) / 2


def _evidence(view: _PairView, reasons: list[str], naming: dict[str, bool]) -> dict[str, Any]:
    kinds: dict[str, int] = {}
    for p in view.passages:
        kinds[p.kind] = kinds.get(p.kind, 0) + 1
    return {
        "coverage_derived": round(view.cov_a, 4),
        "coverage_source": round(view.cov_b, 4),
        "verbatim_source": round(view.verbatim_b, 4),
        "changed_share": round(view.changed, 4),
        "sentences_changed": round(view.sentences_changed, 4),
        "order": round(view.order, 4),
        "length_ratio": round(view.length_ratio, 4),
        "quote_words": view.quote_words,
        "passages": kinds,
        "direction": reasons,
        "derived_names_source": naming["a_names_b"],
        "source_names_derived": naming["b_names_a"],
    }


def _trace_prepared(
    a: Prepared, b: Prepared, cache: EmbeddingCache, params: TraceParams
) -> Provenance:
    passages = align_prepared(a, b, params.align, cache)
    forward = _view(a, b, passages, params)
    a_derived, reasons, naming = _direction(forward, params)
    if a_derived:
        view = forward
    else:
        view = _view(b, a, _flip(passages), params)
        naming = {"a_names_b": naming["b_names_a"], "b_names_a": naming["a_names_b"]}
    relation = _relation(view, params, credited=naming["a_names_b"])
    derived, source = view.a.article, view.b.article
    directed = relation != "independent"
    if not directed:
        reasons = []
    return Provenance(
        derived_id=derived.id,
        source_id=source.id,
        relation=relation,
        score=_score(view, relation),
        attributed=directed and names_source(derived, source),
        spans=view.passages,
        directed=directed,
        evidence=_evidence(view, reasons, naming),
    )


def trace_pair(
    a: Article, b: Article, *, embedder: Any = None, params: TraceParams = DEFAULT_PARAMS
) -> Provenance:
    """The relation between two articles, with the derived one chosen by direction.

    For an ``independent`` pair ``directed`` is False and ``derived_id`` is simply
    the one the direction rules would call later.
    """
    cache = EmbeddingCache(resolve_embedder(embedder))
    return _trace_prepared(prepare(a), prepare(b), cache, params)


# --- story ------------------------------------------------------------------------


def _shared_tokens(a: Prepared, b: Prepared) -> int:
    return len(a.index.keys() & b.index.keys())


def trace_story(
    articles: Sequence[Article],
    *,
    embedder: Any = None,
    params: TraceParams = DEFAULT_PARAMS,
) -> list[Provenance]:
    """The provenance tree of one story: for each derived article one edge to its
    closest source (highest score), never a cycle.  Independent articles are
    roots and get no edge; pairs sharing almost no vocabulary are not aligned."""
    prepared = [prepare(article) for article in articles]
    cache = EmbeddingCache(resolve_embedder(embedder))
    edges: list[Provenance] = []
    for j in range(len(prepared)):
        for i in range(j):
            if _shared_tokens(prepared[i], prepared[j]) < params.prefilter_shared_tokens:
                continue
            result = _trace_prepared(prepared[i], prepared[j], cache, params)
            if result.directed:
                edges.append(result)
    return _tree(edges, {a.id: a.published for a in articles})


def _tree(edges: list[Provenance], published: dict[str, datetime | None]) -> list[Provenance]:
    """Strongest edges first; an article gets one parent and no cycle is closed."""
    rank = {"duplicate": 5, "near_copy": 4, "rewrite": 3, "summary": 2, "quotes": 1}
    parent: dict[str, str] = {}

    def reaches(start: str, target: str) -> bool:
        node: str | None = start
        while node is not None:
            if node == target:
                return True
            node = parent.get(node)
        return False

    kept: list[Provenance] = []

    # A derived page hangs under the source it credits, else its closest one;
    # among equal copies the earliest-published is taken as the source.
    def key(e: Provenance) -> tuple:
        when = published.get(e.source_id)
        stamp = when.timestamp() if when else float("inf")
        return (
            -rank[e.relation],
            not e.attributed,
            -round(e.score, 3),
            stamp,
            e.derived_id,
            e.source_id,
        )

    for edge in sorted(edges, key=key):
        if edge.derived_id in parent or reaches(edge.source_id, edge.derived_id):
            continue
        parent[edge.derived_id] = edge.source_id
        kept.append(edge)
    return kept
