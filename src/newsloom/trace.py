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
import difflib
import itertools
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from functools import lru_cache
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
    # Weak textual clues, heard only below dates and "adds less of its own"
    # (their sum stays under the weakest date vote): the words an edit put in
    # are rarer in general English than the words it took out (mean Zipf
    # difference at least ``rarer_words_margin``), and of two orders of the
    # same sentences the original reads better.
    rarer_words_weight: float = 0.45
    rarer_words_margin: float = 0.1
    reading_order_weight: float = 0.45
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
    return _site_names(article.site_name)


def _site_names(site_name: str | None) -> list[str]:
    names: list[str] = []
    if site_name:
        name = _SITE_SUFFIX.sub("", site_name).strip()
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


def _mention_pattern(source: Article) -> re.Pattern[str] | None:
    """Ways a page names the source outlet: its name, "the <Short>", domain, URL
    (one pattern, so a sentence is searched once per pair)."""
    return _mention_regex(source.site_name, source.url, source.canonical_url)


@lru_cache(maxsize=256)
def _mention_regex(
    site_name: str | None, url: str | None, canonical_url: str | None
) -> re.Pattern[str] | None:
    ways: list[str] = []
    for name in _site_names(site_name):
        ways.append(r"(?<!\w)" + re.escape(name) + r"(?!\w)")
        short = _short_name(name)
        if short:
            # "told the Examiner": the capitalised short name after "the".
            ways.append(r"\b[Tt]he " + re.escape(short) + r"(?!\w)")
    for address in sorted({url, canonical_url} - {None}):
        ways.append(re.escape(address.rstrip("/")))
    domain = _domain(canonical_url) or _domain(url)
    if domain:
        ways.append(r"(?i:(?<![\w.])" + re.escape(domain) + r"(?!\w))")
    return re.compile("|".join(f"(?:{w})" for w in ways)) if ways else None


@lru_cache(maxsize=256)
def _sentence_texts(text: str) -> tuple[str, ...]:
    # A story's every pair asks for the same articles' sentences.
    return tuple(s.text for s in split_sentences(text))


@lru_cache(maxsize=256)
def _normalized_sentences(text: str) -> tuple[str, ...]:
    return tuple(normalize(s) for s in _sentence_texts(text))


def _names_in_text(derived: Article, source: Article) -> bool:
    """The derived text names the source outside sentences copied from it (a
    copy of "seen by the Gazette" is the Gazette's words, not credit)."""
    pattern = _mention_pattern(source)
    if pattern is None:
        return False
    source_sentences: tuple[str, ...] | None = None
    for sentence in _sentence_texts(derived.text):
        if not pattern.search(sentence):
            continue
        if source_sentences is None:
            source_sentences = _normalized_sentences(source.text)
        best = process.extractOne(
            normalize(sentence), source_sentences, scorer=fuzz.ratio, score_cutoff=90
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
    over substantive ones (chrome and fragments are short; longer furniture
    lines such as a newsletter box are left out by name)."""
    marks = sorted(spans)
    covered = total = covered_sub = total_sub = 0
    # One sweep: spans are taken in as sentences reach them and dropped once
    # they end before a sentence starts (rescanning every span for every
    # sentence was a fifth of a 31-copy story's analysis).
    taken = 0
    open_spans: list[tuple[int, int]] = []
    for s in sorted(prepared.sentences, key=lambda s: s.start):
        length = s.end - s.start
        while taken < len(marks) and marks[taken][0] < s.end:
            open_spans.append(marks[taken])
            taken += 1
        open_spans = [(start, end) for start, end in open_spans if end > s.start]
        hit = 0
        for start, end in open_spans:
            hit += max(0, min(end, s.end) - max(start, s.start))
        hit = min(hit, length)
        total += length
        covered += hit
        if s.words >= min_words and not s.furniture:
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


@lru_cache(maxsize=8192)
def _text_grams(text: str) -> tuple[tuple[str, ...], ...]:
    # The same sentences are aligned again in every pair of a story.
    return tuple(word_grams(normalize(text).split(), 3))


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
    aligned_grams = {g for p in passages for g in _text_grams(p.b_text)}
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


# Textual clues, for pages whose dates cannot tell.  Both read word frequencies
# in general English from ``wordfreq`` (Zipf scale: 7 for "the", 3 for words
# seen once in a million words of text).


@lru_cache(maxsize=1 << 16)
def _zipf(word: str) -> float:
    from wordfreq import zipf_frequency  # imported here: its tables load on first use

    return zipf_frequency(word, "en")


_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


def _replaced_words(passages: list[Passage]) -> tuple[list[str], list[str]]:
    """Words each side has where the other has different words, in aligned
    sentences that were edited: word-level diff "replace" blocks of the fuzzy
    and paraphrase passages.  Only lower-case alphabetic words count (names and
    numbers are facts, not wording), and a word found on both sides of a block
    was moved, not replaced."""
    ours: list[str] = []
    theirs: list[str] = []
    for p in passages:
        if p.kind not in {"fuzzy", "paraphrase"}:
            continue
        words_a, words_b = _WORD.findall(p.a_text), _WORD.findall(p.b_text)
        matcher = difflib.SequenceMatcher(
            None, [w.lower() for w in words_a], [w.lower() for w in words_b], autojunk=False
        )
        for op, i1, i2, j1, j2 in matcher.get_opcodes():
            if op != "replace":
                continue
            got_a = [w for w in words_a[i1:i2] if w.isalpha() and w.islower()]
            got_b = [w for w in words_b[j1:j2] if w.isalpha() and w.islower()]
            ours += [w for w in got_a if w not in got_b]
            theirs += [w for w in got_b if w not in got_a]
    return ours, theirs


def _rarer_words(passages: list[Passage]) -> float:
    """How much rarer (in mean Zipf) the words ``a`` put in are than the ones
    ``b`` has in their place; positive when ``a`` looks edited.  A spinner or
    an editor swaps plain words for less common ones (said -> stated, police ->
    law enforcement, people -> persons); the reverse edit is rare."""
    ours, theirs = _replaced_words(passages)
    if not ours or not theirs:
        return 0.0
    return statistics.fmean(map(_zipf, theirs)) - statistics.fmean(map(_zipf, ours))


def _content_words(text: str) -> frozenset[str]:
    """Words that carry the topic: not numbers, rarer than everyday words."""
    return frozenset(w for w in normalize(text).split() if w.isalpha() and _zipf(w) < 6.0)


_FULL_NAME = re.compile(r"\b([A-Z][a-z]+)\s+((?:[A-Z]\.\s+)?[A-Z][a-z]+(?:-[A-Z][a-z]+)?)\b")


def _early_surnames(texts: list[str]) -> int:
    """Surnames used on their own before the full name first appears: news
    style names a person in full at first mention and by surname after, so a
    text whose sentences were moved about breaks this where its source did not."""
    first_full: dict[str, int] = {}
    for k, text in enumerate(texts):
        for match in _FULL_NAME.finditer(text):
            if _zipf(match.group(1).lower()) >= 6.0:  # "The", "In", "After": not a first name
                continue
            first_full.setdefault(match.group(2).split()[-1], k)
    faults = 0
    for surname, first in first_full.items():
        pattern = re.compile(r"(?<![\w-])" + re.escape(surname) + r"(?![\w-])")
        for text in texts[:first]:
            for match in pattern.finditer(text):
                before = text[: match.start()].split()
                if not (before and before[-1][:1].isupper() and before[-1].isalpha()):
                    faults += 1
                    break
    return faults


def _reading_order(passages: list[Passage]) -> int:
    """Which of two orders of the same sentences reads like the original, from
    three discourse cues; positive when ``a``'s order reads worse.

    * first mention: surnames used before the full name (fewer in the original);
    * continuity: adjacent sentences share topic words (entity-based coherence:
      an article moves from one sentence to a related one, a shuffle does not);
    * the lead: a news article opens with the sentence that sums it up, the one
      sharing most topic words with the rest.

    Each cue votes -1, 0 or +1; 0 when both pages have the same order."""
    text = [p for p in passages if p.kind != "quote"]
    if len(text) < 3:
        return 0
    in_a = sorted(range(len(text)), key=lambda k: text[k].a_start)
    in_b = sorted(range(len(text)), key=lambda k: text[k].b_start)
    if in_a == in_b:
        return 0
    bags = [_content_words(p.a_text) | _content_words(p.b_text) for p in text]

    def continuity(order: list[int]) -> float:
        return statistics.fmean(
            len(bags[x] & bags[y]) / max(1, min(len(bags[x]), len(bags[y])))
            for x, y in itertools.pairwise(order)
        )

    def centrality(k: int) -> float:
        shared = sum(len(bags[k] & bags[j]) for j in range(len(text)) if j != k)
        return shared / max(1, len(bags[k])) ** 0.5

    def sign(x: float) -> int:
        return (x > 0) - (x < 0)

    faults_a = _early_surnames([text[k].a_text for k in in_a])
    faults_b = _early_surnames([text[k].b_text for k in in_b])
    return (
        sign(faults_a - faults_b)
        + sign(continuity(in_b) - continuity(in_a))
        + sign(centrality(in_b[0]) - centrality(in_a[0]))
    )


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
    if not votes:
        # Weak clues in the text, only when nothing above has spoken.
        rarer = _rarer_words(view.passages)
        if abs(rarer) >= params.rarer_words_margin:
            side = 1.0 if rarer > 0 else -1.0
            votes.append(
                (
                    side * params.rarer_words_weight,
                    "puts rarer words in place of plain ones",
                    "words",
                )
            )
        order = _reading_order(view.passages)
        if order:
            side = 1.0 if order > 0 else -1.0
            votes.append(
                (side * params.reading_order_weight, "its sentence order reads worse", "order")
            )
    total = sum(w for w, _, _ in votes)
    if total == 0:
        # No evidence either way: say so, and pick by id (a hash of the URL,
        # so arbitrary but stable).
        a_derived = a.id > b.id
        votes = [(0.0, "undecided (no evidence of direction)", "none")]
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
