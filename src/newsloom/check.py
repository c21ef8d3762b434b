"""Cross-source fact checks: the same fact stated differently by two reports.

Two steps.  First, sentences of the two articles are paired when they report
the same thing: sentence embeddings (or, without an embedder, word overlap)
above a threshold, lifted by any passage the provenance step aligned.  Then
small rule sets compare the facts each pair states (``facts.py``): numbers
with their unit, durations, dates and weekdays, places, negation.  Names and
quotes are compared across the whole articles, because a misspelt name or a
reworded quote can sit in sentences that are otherwise unlike.

Precision comes first.  A rule refuses to compare two sentences that look
like different occasions (different weekdays or dates for the event, a first
count against a recount), tolerates hedges ("about", "more than"), rounding,
unit conversion and diacritics, and only flags when the two values cannot
both be true.  Within a story the same disagreement found through several
article pairs is reported once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import numpy as np
from rapidfuzz.distance import Levenshtein

from newsloom.facts import (
    DateRef,
    Place,
    Quantity,
    Quote,
    anchor_words,
    extract_dates,
    extract_places,
    extract_quantities,
    extract_quotes,
    fold,
    negation_count,
    negation_targets,
    phase_words,
    place_tokens,
)
from newsloom.features.embed import resolve_embedder
from newsloom.features.terms import tokenize
from newsloom.sentences import split_sentences
from newsloom.types import Article, Conflict, ConflictKind, ConflictSide, Passage, Provenance

__all__ = ["CheckParams", "Checker", "check_pair", "check_story"]


@dataclass(frozen=True, slots=True)
class CheckParams:
    """Thresholds of the checks; similarities are cosine on MiniLM sentence vectors."""

    # Sentence pairs below this are never compared at all.
    pair_similarity: float = 0.55
    # Per-kind floors: a place or a negation flip is only believable between
    # sentences that are near-rewrites of each other.
    number_similarity: float = 0.6
    duration_similarity: float = 0.5
    # Enough when both durations qualify the same noun ("two-day visit",
    # "three-day visit"): the noun says what lasted, the sentence may differ.
    headed_similarity: float = 0.4
    date_similarity: float = 0.7
    place_similarity: float = 0.8
    # Sentence vectors put a sentence and its negation only ~0.8 apart, so
    # the word-overlap floor below does most of the work for negation.
    negation_similarity: float = 0.75
    # Share of the smaller sentence's content words the other must contain.
    date_overlap: float = 0.6
    place_overlap: float = 0.5
    negation_overlap: float = 0.85
    # Each sentence is compared with at most this many partners.
    partners: int = 3
    # Two values in different units (km and miles) agree within this share.
    conversion_tolerance: float = 0.05
    # Unhedged rounding is only believed within this share of the value.
    rounding_tolerance: float = 0.1
    # Figures further apart than this factor are about different things
    # (a margin of nine against a total of 1,201), not a drifted figure.
    number_max_ratio: float = 3.0
    # Content words two quantities' surroundings must share (the unit aside).
    number_anchors: int = 2
    duration_anchors: int = 1
    # Quotes shorter than this (in words) are labels ("good friends"), not statements.
    quote_min_words: int = 5
    quote_overlap: float = 0.4
    quote_overlap_no_speaker: float = 0.6
    quote_min_run: int = 3
    # A name variant: at most this many edits and at least this similarity.
    name_max_edits: int = 2
    name_min_ratio: float = 0.6
    # A differing first name under one surname is often a relative: stricter.
    first_name_min_ratio: float = 0.8
    person_similarity: float = 0.45
    # When a passage aligned by provenance covers both sentences.
    passage_similarity: float = 0.9


DEFAULT_PARAMS = CheckParams()


# --- one article, analysed once ----------------------------------------------


@dataclass(slots=True)
class _Sentence:
    index: int
    text: str
    start: int
    end: int
    quantities: list[Quantity]
    dates: list[DateRef]
    places: list[Place]
    quotes: list[Quote]
    negations: int
    phases: frozenset[str]
    words: set[str]
    heads: set[str] = field(default_factory=set)
    speaker: str | None = None


@dataclass(slots=True)
class _Analysis:
    article: Article
    sentences: list[_Sentence]
    vectors: np.ndarray | None
    persons: dict[str, list[int]] = field(default_factory=dict)


def _analyse(article: Article, embed: Any, names: Any) -> _Analysis:
    """Split, extract facts, embed (``embed(texts)``) and find names (``names(texts)``)."""
    sentences: list[_Sentence] = []
    for i, s in enumerate(split_sentences(article.text)):
        sentences.append(
            _Sentence(
                index=i,
                text=s.text,
                start=s.start,
                end=s.end,
                quantities=extract_quantities(s.text),
                dates=extract_dates(s.text, article.published),
                places=extract_places(s.text),
                quotes=extract_quotes(s.text),
                negations=negation_count(s.text),
                phases=phase_words(s.text),
                words=set(tokenize(s.text)),
            )
        )
        sentences[-1].heads = {h for q in sentences[-1].quantities for h in _heads(s.text, q)}
    texts = [s.text for s in sentences]
    analysis = _Analysis(article, sentences, embed(texts))
    found = names(texts)
    if found is not None:
        _add_persons(analysis, found)
    return analysis


_HEAD_AFTER = re.compile(
    r"^(?:-long)?\s+(?:of\s+)?(?:the\s+|a\s+|an\s+)?([\w’'-]+)(?:\s+([\w’'-]+))?"
)


def _heads(text: str, q: Quantity) -> set[str]:
    """The noun a duration qualifies: "two-day visit", "48 hours of rain"."""
    if q.dimension != "time":
        return set()
    after = text[q.end :]
    if not q.compound and not re.match(r"^\s*of\b", after):
        return set()
    m = _HEAD_AFTER.match(after)
    if not m:
        return set()
    return set(tokenize(" ".join(w for w in m.groups() if w)))


_TITLES = re.compile(
    r"^(?:(?:mr|mrs|ms|miss|dr|prof|professor|sir|dame|lord|lady|councillor|cllr|president|"
    r"prime minister|minister|senator|sen|rep|gov|governor|judge|justice|chief|officer|"
    r"commander|group commander|captain|capt|sgt|sergeant|inspector|rev|reverend)\.?\s+)+",
    re.IGNORECASE,
)


def _clean_name(text: str) -> str:
    text = re.sub(r"['’]s?$", "", text.strip())
    text = _TITLES.sub("", text)
    return " ".join(text.split())


def _person_names(doc: Any) -> list[tuple[int, str]]:
    """(offset, cleaned name) of every PERSON entity in a spaCy doc."""
    out = []
    for ent in doc.ents:
        if ent.label_ != "PERSON":
            continue
        name = _clean_name(ent.text)
        if name and re.search(r"[^\W\d_]", name):
            out.append((ent.start_char, name))
    return out


def _add_persons(analysis: _Analysis, per_sentence: list[list[tuple[int, str]]]) -> None:
    """Person names per sentence, and who speaks in each quoting sentence."""
    last_person: str | None = None
    for sentence, names in zip(analysis.sentences, per_sentence, strict=True):
        for _, name in names:
            analysis.persons.setdefault(name, []).append(sentence.index)
        if sentence.quotes:
            outside = [
                n
                for start, n in names
                if not any(q.start <= start < q.end for q in sentence.quotes)
            ]
            sentence.speaker = outside[-1] if outside else last_person
        if names:
            last_person = names[-1][1]


# --- pairing -------------------------------------------------------------------


def _similarity(
    a: _Analysis, b: _Analysis, passages: Sequence[Passage], params: CheckParams
) -> np.ndarray:
    if a.vectors is not None and b.vectors is not None and len(a.sentences) and len(b.sentences):
        sims = np.asarray(a.vectors @ b.vectors.T, dtype=np.float32)
    else:
        sims = np.zeros((len(a.sentences), len(b.sentences)), dtype=np.float32)
        for i, sa in enumerate(a.sentences):
            for j, sb in enumerate(b.sentences):
                sims[i, j] = _lexical(sa.words, sb.words)
    # An aligned passage says the two sentences are the same text, but a
    # passage can span several sentences: the lift grows with the words the
    # two sentences share, so a passage does not pair unrelated neighbours.
    for p in passages:
        rows = [s.index for s in a.sentences if s.start < p.a_end and p.a_start < s.end]
        cols = [s.index for s in b.sentences if s.start < p.b_end and p.b_start < s.end]
        for i in rows:
            for j in cols:
                lexical = _lexical(a.sentences[i].words, b.sentences[j].words)
                sims[i, j] = max(sims[i, j], min(params.passage_similarity, 0.5 + lexical))
    return sims


def _lexical(a: set[str], b: set[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / (len(a) * len(b)) ** 0.5


def _containment(a: set[str], b: set[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


def _candidate_pairs(
    sims: np.ndarray, params: CheckParams, a: _Analysis | None = None, b: _Analysis | None = None
) -> list[tuple[int, int, float]]:
    """Sentence pairs worth comparing: above the floor and among each side's best partners.

    Sentences whose durations qualify the same noun are paired at a lower floor.
    """
    if sims.size == 0:
        return []
    keep: set[tuple[int, int]] = set()
    if a is not None and b is not None:
        timed_a = [s for s in a.sentences if s.heads]
        timed_b = [s for s in b.sentences if s.heads]
        for sa in timed_a:
            for sb in timed_b:
                if sims[sa.index, sb.index] >= params.headed_similarity and sa.heads & sb.heads:
                    keep.add((sa.index, sb.index))
    k = params.partners
    for i in range(sims.shape[0]):
        for j in np.argsort(-sims[i])[:k]:
            if sims[i, j] >= params.pair_similarity:
                keep.add((i, int(j)))
    for j in range(sims.shape[1]):
        for i in np.argsort(-sims[:, j])[:k]:
            if sims[i, j] >= params.pair_similarity:
                keep.add((int(i), j))
    return sorted((i, j, float(sims[i, j])) for i, j in keep)


# --- comparisons ---------------------------------------------------------------

_EVENT_ROLES = frozenset({"on", "last", "this", "next", "from"})


def _same_occasion(a: _Sentence, b: _Sentence) -> bool:
    """False when the two sentences plainly describe different occasions."""
    da = [d for d in a.dates if d.role in _EVENT_ROLES]
    db = [d for d in b.dates if d.role in _EVENT_ROLES]
    if da and db and not any(x.agrees(y) for x in da for y in db):
        return False
    early = {"first", "initial", "original", "earlier", "previous", "preliminary", "provisional"}
    late = {"re", "final", "revised", "updated", "latest", "second", "third"}
    if {"another", "separate"} & (a.phases ^ b.phases):
        return False
    # Only the stage words one sentence has and the other lacks tell stages apart.
    only_a, only_b = a.phases - b.phases, b.phases - a.phases
    return not ((only_a & early and only_b & late) or (only_a & late and only_b & early))


def _round_sig(value: float, digits: int) -> float:
    if value == 0:
        return 0.0
    return float(f"{value:.{max(digits, 1)}g}")


def _agree(qa: Quantity, qb: Quantity, params: CheckParams) -> bool:
    """Can both quantities be true of the same thing?"""
    converted = _written_unit(qa) != _written_unit(qb)
    tol = params.conversion_tolerance if converted else 0.005
    lo_a, hi_a = qa.low * (1 - tol), qa.high * (1 + tol)
    lo_b, hi_b = qb.low * (1 - tol), qb.high * (1 + tol)
    if lo_a <= hi_b and lo_b <= hi_a:
        return True
    if converted or not (qa.exact or qb.exact):
        return False
    # Rounding: the more precise figure rounds to the less precise one, and
    # not by much (1,480 is "1,500"; 15 is not "20").
    fine, coarse = (qa, qb) if qa.significant >= qb.significant else (qb, qa)
    return (
        coarse.significant < fine.significant
        and _round_sig(fine.value, coarse.significant) == coarse.value
        and abs(fine.value - coarse.value) <= params.rounding_tolerance * abs(fine.value)
    )


def _written_unit(q: Quantity) -> str:
    match = re.search(r"[a-zA-Z%]+\.?$", q.text)
    word = match.group().lower().rstrip(".") if match else ""
    return word[:-1] if word.endswith("s") and len(word) > 3 else word


def _quantity_conflicts(
    a: _Sentence, b: _Sentence, duration: bool, params: CheckParams
) -> list[tuple[Quantity, Quantity]]:
    """Pairs of quantities about the same thing that cannot both be true."""
    groups: dict[tuple[str, str], tuple[list[Quantity], list[Quantity]]] = {}
    for side, sentence in ((0, a), (1, b)):
        for q in sentence.quantities:
            if (q.dimension == "time") != duration:
                continue
            groups.setdefault((q.dimension, q.unit), ([], []))[side].append(q)
    out = []
    need = params.duration_anchors if duration else params.number_anchors
    for qas, qbs in groups.values():
        qas, qbs = _dedup_quantities(qas), _dedup_quantities(qbs)
        if not qas or not qbs or len(qas) != len(qbs):
            continue
        lone_a = [x for x in qas if not any(_agree(x, y, params) for y in qbs)]
        lone_b = [y for y in qbs if not any(_agree(x, y, params) for x in qas)]
        if len(lone_a) != 1 or len(lone_b) != 1:
            continue  # several values moved at once: more likely other things are counted
        qa, qb = lone_a[0], lone_b[0]
        if max(qa.value, qb.value) > params.number_max_ratio * max(min(qa.value, qb.value), 1e-9):
            continue
        if _local_phase(a.text, qa) != _local_phase(b.text, qb):
            continue  # "first costed at £7.8 million" is an earlier figure, not a rival one
        anchors_a = anchor_words(a.text, qa.start, qa.end) - _unit_words(qa)
        anchors_b = anchor_words(b.text, qb.start, qb.end) - _unit_words(qb)
        if len(anchors_a & anchors_b) >= need:
            out.append((qa, qb))
    return out


def _echoed(analysis: _Analysis, skip: _Sentence, q: Quantity, params: CheckParams) -> bool:
    """Does the article state the other report's figure in another sentence?

    Then it reports two occasions (a first count and a recount, a second
    incident with its own numbers) and the other report matches one of them.
    """
    for s in analysis.sentences:
        if s.index == skip.index:
            continue
        for other in s.quantities:
            if (other.dimension, other.unit) == (q.dimension, q.unit) and _agree(other, q, params):
                return True
    return False


def _local_phase(sentence: str, q: Quantity) -> frozenset[str]:
    return phase_words(sentence[max(0, q.start - 40) : q.start])


def _dedup_quantities(qs: list[Quantity]) -> list[Quantity]:
    seen: dict[tuple[float, float], Quantity] = {}
    for q in qs:
        seen.setdefault((q.low, q.high), q)
    return list(seen.values())


def _unit_words(q: Quantity) -> set[str]:
    return set(tokenize(q.text))


def _date_conflicts(a: _Sentence, b: _Sentence) -> list[tuple[DateRef, DateRef]]:
    out = []
    roles = {d.role for d in a.dates} & {d.role for d in b.dates}
    for role in sorted(roles):
        da = [d for d in a.dates if d.role == role]
        db = [d for d in b.dates if d.role == role]
        if len(da) != len(db):
            continue  # one report names more days: other events, not a moved one
        lone_a = [x for x in da if not any(x.agrees(y) for y in db)]
        lone_b = [y for y in db if not any(x.agrees(y) for x in da)]
        if len(lone_a) == 1 and len(lone_b) == 1:
            out.append((lone_a[0], lone_b[0]))
    return out


def _places_differ(a: _Sentence, b: _Sentence, params: CheckParams) -> tuple[str, str] | None:
    if not a.places or not b.places or len(a.places) != len(b.places):
        return None
    lone_a = [x for x in a.places if not any(_same_place(x, y, params) for y in b.places)]
    lone_b = [y for y in b.places if not any(_same_place(x, y, params) for x in a.places)]
    # Only one where-phrase moved, or the sentences may list different places.
    if len(lone_a) != 1 or len(lone_b) != 1:
        return None
    pa, pb = lone_a[0], lone_b[0]
    # The same action must happen there ("worked by hand in ..."): a factory
    # where tests ran and a park where tablets are made are two facts.
    if not set(tokenize(a.text[: pa.start])[-3:]) & set(tokenize(b.text[: pb.start])[-3:]):
        return None
    return pa.text, pb.text


def _same_place(x: Place, y: Place, params: CheckParams) -> bool:
    tx, ty = place_tokens(x.text), place_tokens(y.text)
    return not tx or not ty or _containment(tx, ty) >= params.place_overlap


# --- conflicts -----------------------------------------------------------------


@dataclass(slots=True)
class _Found:
    conflict: Conflict
    key: tuple[Any, ...]
    order: tuple[int, ...]


def _side(analysis: _Analysis, s: _Sentence) -> ConflictSide:
    return ConflictSide(analysis.article.id, s.text, s.start, s.end)


def _outlet(article: Article) -> str:
    """How an explanation names a source: its outlet, else its web host."""
    if article.site_name:
        return article.site_name
    url = article.canonical_url or article.url
    host = urlsplit(url).hostname if url else None
    return host.removeprefix("www.") if host else f"article {article.id[:12]}"


def _shown(sentence: _Sentence, q: Quantity) -> str:
    """The figure as a reader finds it: "two-day" is shown as "two-day recount"."""
    if not q.compound:
        return q.text
    m = re.match(r"(?:-long)?\s+[\w’'-]+", sentence.text[q.end :])
    return q.text + (m.group() if m else "")


def _make(
    kind: ConflictKind,
    a: _Analysis,
    sa: _Sentence,
    b: _Analysis,
    sb: _Sentence,
    explanation: str,
    confidence: float,
    values: Iterable[str],
    story_id: str | None,
) -> _Found:
    conflict = Conflict(
        kind=kind,
        a=_side(a, sa),
        b=_side(b, sb),
        explanation=explanation,
        confidence=round(max(0.0, min(1.0, confidence)), 3),
        story_id=story_id,
    )
    return _Found(conflict, (kind, frozenset(fold(v) for v in values)), (sa.index, sb.index))


def _quantity_explanation(kind: str, na: str, nb: str, sa: Any, sb: Any, qa: Any, qb: Any) -> str:
    if kind == "duration":
        return (
            f"{na} says {_shown(sa, qa)!r} where {nb} says {_shown(sb, qb)!r}: "
            f"the two reports disagree on how long it lasted."
        )
    return (
        f"{na} gives {_shown(sa, qa)!r} where {nb} gives {_shown(sb, qb)!r} "
        f"for the same {_unit_label(qa)}; both cannot be right."
    )


def _quantity_keys(kind: str, qa: Quantity, qb: Quantity) -> list[str]:
    """What makes two conflicts the same one (duplicates are reported once)."""
    if kind == "duration":
        return [f"t:{qa.low}-{qa.high}", f"t:{qb.low}-{qb.high}"]
    return [f"{qa.unit}:{qa.low}-{qa.high}", f"{qb.unit}:{qb.low}-{qb.high}"]


def _pair_conflicts(
    a: _Analysis, b: _Analysis, sims: np.ndarray, params: CheckParams, story_id: str | None
) -> list[_Found]:
    found: list[_Found] = []
    na, nb = _outlet(a.article), _outlet(b.article)
    for i, j, sim in _candidate_pairs(sims, params, a, b):
        sa, sb = a.sentences[i], b.sentences[j]
        occasion = _same_occasion(sa, sb)
        overlap = _containment(sa.words, sb.words)
        numbers = _quantity_conflicts(sa, sb, duration=False, params=params)
        durations = _quantity_conflicts(sa, sb, duration=True, params=params)
        headed = sim >= params.headed_similarity and bool(sa.heads & sb.heads)
        checks = (
            ("number", numbers, sim >= params.number_similarity),
            ("duration", durations, sim >= params.duration_similarity or headed),
        )
        for kind, pairs, similar in checks:
            if not (occasion and similar):
                continue
            for qa, qb in pairs:
                if _echoed(a, sa, qb, params) or _echoed(b, sb, qa, params):
                    continue
                found.append(
                    _make(
                        kind,
                        a,
                        sa,
                        b,
                        sb,
                        _quantity_explanation(kind, na, nb, sa, sb, qa, qb),
                        0.45 + 0.5 * sim,
                        _quantity_keys(kind, qa, qb),
                        story_id,
                    )
                )
        quantities_agree = not numbers and not durations
        if sim >= params.date_similarity and overlap >= params.date_overlap and quantities_agree:
            for da, db in _date_conflicts(sa, sb):
                found.append(
                    _make(
                        "date",
                        a,
                        sa,
                        b,
                        sb,
                        f"{na} gives the date as {da.label()} ({da.text!r}) where {nb} gives "
                        f"{db.label()} ({db.text!r}).",
                        0.4 + 0.5 * sim,
                        [da.label(), db.label()],
                        story_id,
                    )
                )
        if occasion and sim >= params.place_similarity and overlap >= params.place_overlap:
            places = _places_differ(sa, sb, params)
            if places:
                found.append(
                    _make(
                        "place",
                        a,
                        sa,
                        b,
                        sb,
                        f"{na} places it {places[0]!r} where {nb} says {places[1]!r}.",
                        0.3 + 0.5 * sim,
                        list(places),
                        story_id,
                    )
                )
        if (
            occasion
            and sim >= params.negation_similarity
            and (sa.negations == 0) != (sb.negations == 0)
            and overlap >= params.negation_overlap
            and _lexical(sa.words, sb.words) >= params.negation_overlap
            and _denies_shared(sa, sb)
            and quantities_agree
        ):
            negated = na if sa.negations else nb
            found.append(
                _make(
                    "negation",
                    a,
                    sa,
                    b,
                    sb,
                    f"The two sentences say the same thing except that {negated} negates it.",
                    0.3 + 0.5 * sim,
                    [sa.text, sb.text],
                    story_id,
                )
            )
    found.extend(_person_conflicts(a, b, sims, params, story_id))
    found.extend(_quote_conflicts(a, b, params, story_id))
    return found


def _denies_shared(a: _Sentence, b: _Sentence) -> bool:
    """The negated sentence denies something the other one states."""
    negated, plain = (a, b) if a.negations else (b, a)
    return bool(negation_targets(negated.text) & plain.words)


def _unit_label(q: Quantity) -> str:
    if q.dimension == "count":
        return f"count of {q.unit}"
    return {"money": "amount", "percent": "percentage"}.get(q.dimension, q.dimension)


# --- names ---------------------------------------------------------------------


def _name_variant(x: str, y: str, params: CheckParams) -> tuple[str, str] | None:
    """The differing tokens when two full names are spellings of one person."""
    tx, ty = fold(x).split(), fold(y).split()
    if (
        len(tx) < 2
        or len(tx) != len(ty)
        or [_undouble(t) for t in tx] == [_undouble(t) for t in ty]
    ):
        return None  # equal up to diacritics or doubled letters (Zelenskyy, Zelensky)
    diff = [(k, p, q) for k, (p, q) in enumerate(zip(tx, ty, strict=True)) if p != q]
    if len(diff) != 1:
        return None
    k, p, q = diff[0]
    if min(len(p), len(q)) < 4 or p[0] != q[0]:
        return None
    edits = Levenshtein.distance(p, q)
    ratio = 1 - edits / max(len(p), len(q))
    floor = params.name_min_ratio if k == len(tx) - 1 else params.first_name_min_ratio
    if edits > params.name_max_edits or ratio < floor:
        return None
    return p, q


def _undouble(word: str) -> str:
    return re.sub(r"(.)\1+", r"\1", word)


def _person_conflicts(
    a: _Analysis, b: _Analysis, sims: np.ndarray, params: CheckParams, story_id: str | None
) -> list[_Found]:
    found = []
    text_a, text_b = fold(a.article.text), fold(b.article.text)
    for name_a, rows in a.persons.items():
        for name_b, cols in b.persons.items():
            variant = _name_variant(name_a, name_b, params)
            if variant is None:
                continue
            # Both spellings in one article: two people, or the writer's own slip.
            if re.search(rf"\b{re.escape(variant[1])}\b", text_a) or re.search(
                rf"\b{re.escape(variant[0])}\b", text_b
            ):
                continue
            i, j = max(((r, c) for r in rows for c in cols), key=lambda rc: sims[rc[0], rc[1]])
            if sims[i, j] < params.person_similarity:
                continue
            found.append(
                _make(
                    "person",
                    a,
                    a.sentences[i],
                    b,
                    b.sentences[j],
                    f"{_outlet(a.article)} spells the name {name_a!r} where "
                    f"{_outlet(b.article)} spells it {name_b!r}.",
                    0.5 + 0.4 * float(sims[i, j]),
                    [f"name:{variant[0]}", f"name:{variant[1]}"],
                    story_id,
                )
            )
    return found


# --- quotes --------------------------------------------------------------------

_WORDS = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")


def _quote_words(text: str) -> list[str]:
    return _WORDS.findall(fold(text))


def _longest_run(x: list[str], y: list[str]) -> int:
    best = 0
    prev = [0] * (len(y) + 1)
    for i in range(1, len(x) + 1):
        cur = [0] * (len(y) + 1)
        for j in range(1, len(y) + 1):
            if x[i - 1] == y[j - 1]:
                cur[j] = prev[j - 1] + 1
                best = max(best, cur[j])
        prev = cur
    return best


def _contains(outer: list[str], inner: list[str]) -> bool:
    n = len(inner)
    return any(outer[k : k + n] == inner for k in range(len(outer) - n + 1))


def _same_speaker(x: str | None, y: str | None) -> bool | None:
    if not x or not y:
        return None
    return fold(x).split()[-1] == fold(y).split()[-1]


def _reworded(qa: Quote, qb: Quote, speakers: bool | None, params: CheckParams) -> bool:
    wa, wb = _quote_words(qa.text), _quote_words(qb.text)
    if min(len(wa), len(wb)) < params.quote_min_words or speakers is False:
        return False
    if wa == wb or _contains(wa, wb) or _contains(wb, wa):
        return False
    ca, cb = set(tokenize(qa.text)), set(tokenize(qb.text))
    need = params.quote_overlap if speakers else params.quote_overlap_no_speaker
    if _containment(ca, cb) < need or _longest_run(wa, wb) < params.quote_min_run:
        return False
    # Only function words or spellings ("spoilt"/"spoiled") differ: same words.
    return bool(_unmatched(ca, cb) or _unmatched(cb, ca))


def _unmatched(x: set[str], y: set[str]) -> set[str]:
    return {w for w in x - y if not any(Levenshtein.normalized_similarity(w, v) >= 0.75 for v in y)}


def _carried(words: list[str], others: list[tuple[_Sentence, Quote, list[str]]]) -> bool:
    return bool(words) and any(_contains(w, words) for _, _, w in others)


def _quote_conflicts(
    a: _Analysis, b: _Analysis, params: CheckParams, story_id: str | None
) -> list[_Found]:
    found = []
    quotes_a = [(s, q, _quote_words(q.text)) for s in a.sentences for q in s.quotes]
    quotes_b = [(s, q, _quote_words(q.text)) for s in b.sentences for q in s.quotes]
    # A quote the other article also carries word for word is accounted for:
    # it is not a rival version of any other quote there.
    open_a = [x for x in quotes_a if not _carried(x[2], quotes_b)]
    open_b = [x for x in quotes_b if not _carried(x[2], quotes_a)]
    for sa, qa, _ in open_a:
        for sb, qb, _ in open_b:
            speakers = _same_speaker(sa.speaker, sb.speaker)
            if not _reworded(qa, qb, speakers, params):
                continue
            who = sa.speaker or sb.speaker or "the speaker"
            found.append(
                _make(
                    "quote",
                    a,
                    sa,
                    b,
                    sb,
                    f"{_outlet(a.article)} quotes {who} as saying {qa.text!r}; "
                    f"{_outlet(b.article)} quotes the same statement as {qb.text!r}.",
                    0.55 if speakers else 0.45,
                    [qa.text, qb.text],
                    story_id,
                )
            )
    return found


# --- public API ----------------------------------------------------------------


class Checker:
    """Models and per-article analyses kept across many pairs.

    ``check_pair`` and ``check_story`` build one per call; a caller checking
    one article against many others (an evaluation, a growing story) keeps a
    ``Checker`` so each article is split, embedded and tagged only once.
    """

    def __init__(
        self, *, embedder: Any = None, params: CheckParams = DEFAULT_PARAMS, nlp: Any = None
    ) -> None:
        self.embedder = resolve_embedder(embedder)
        self.params = params
        if nlp is None:
            from newsloom.features.entities import get_nlp

            nlp = get_nlp()
        self.nlp = nlp or None
        self._cache: dict[tuple[str, int, datetime | None], _Analysis] = {}
        # Copies and rewrites repeat most sentences word for word: each
        # distinct sentence is embedded and tagged once.
        self._vectors: dict[str, np.ndarray] = {}
        self._names: dict[str, list[tuple[int, str]]] = {}

    def analyse(self, article: Article) -> _Analysis:
        key = (article.id, hash(article.text), article.published)
        if key not in self._cache:
            self._cache[key] = _analyse(article, self._embed, self._find_names)
        return self._cache[key]

    def _embed(self, texts: list[str]) -> np.ndarray | None:
        if not self.embedder:
            return None
        todo = sorted({t for t in texts if t not in self._vectors})
        if todo:
            self._vectors.update(zip(todo, self.embedder.embed(todo), strict=True))
        if not texts:
            return np.zeros((0, 1), dtype=np.float32)
        return np.stack([self._vectors[t] for t in texts])

    def _find_names(self, texts: list[str]) -> list[list[tuple[int, str]]] | None:
        if not self.nlp:
            return None
        todo = sorted({t for t in texts if t not in self._names})
        for text, doc in zip(todo, self.nlp.pipe(todo), strict=True):
            self._names[text] = _person_names(doc)
        return [self._names[t] for t in texts]

    def forget(self) -> None:
        """Drop the cached analyses, vectors and names."""
        self._cache.clear()
        self._vectors.clear()
        self._names.clear()

    def _found(
        self, a: Article, b: Article, passages: Sequence[Passage], story_id: str | None
    ) -> list[_Found]:
        aa, bb = self.analyse(a), self.analyse(b)
        sims = _similarity(aa, bb, passages, self.params)
        return _pair_conflicts(aa, bb, sims, self.params, story_id)

    def pair(
        self,
        a: Article,
        b: Article,
        *,
        passages: Sequence[Passage] = (),
        story_id: str | None = None,
    ) -> list[Conflict]:
        """See ``check_pair``."""
        return _unique(self._found(a, b, passages, story_id))

    def story(
        self,
        articles: Sequence[Article],
        *,
        provenance: Sequence[Provenance] = (),
        story_id: str | None = None,
    ) -> list[Conflict]:
        """See ``check_story``."""
        ids = {a.id for a in articles}
        duplicates = {
            p.derived_id for p in provenance if p.relation == "duplicate" and p.source_id in ids
        }
        kept = [a for a in articles if a.id not in duplicates]
        found: list[_Found] = []
        for x in range(len(kept)):
            for y in range(x + 1, len(kept)):
                a, b = kept[x], kept[y]
                found.extend(self._found(a, b, _passages_for(a, b, provenance), story_id))
        return _unique(found)


def _unique(found: Iterable[_Found]) -> list[Conflict]:
    """One conflict per disagreement: the most confident, in first-seen order."""
    best: dict[tuple[Any, ...], tuple[int, _Found]] = {}
    for n, f in enumerate(found):
        if f.key not in best:
            best[f.key] = (n, f)
        elif f.conflict.confidence > best[f.key][1].conflict.confidence:
            best[f.key] = (best[f.key][0], f)
    return [f.conflict for _, f in sorted(best.values(), key=lambda item: item[0])]


def check_pair(
    a: Article,
    b: Article,
    *,
    passages: Sequence[Passage] = (),
    story_id: str | None = None,
    embedder: Any = None,
    params: CheckParams = DEFAULT_PARAMS,
    nlp: Any = None,
) -> list[Conflict]:
    """Facts that ``a`` and ``b`` state differently; side ``a`` of each is from ``a``.

    ``passages`` (side a in ``a``) are text both share, e.g. from provenance;
    they pair sentences the embeddings might miss.  ``embedder=None`` loads the
    packaged sentence model, ``False`` pairs sentences by word overlap only;
    ``nlp=False`` skips spaCy (no name or speaker checks).
    """
    checker = Checker(embedder=embedder, params=params, nlp=nlp)
    return checker.pair(a, b, passages=passages, story_id=story_id)


def _passages_for(a: Article, b: Article, provenance: Sequence[Provenance]) -> list[Passage]:
    out: list[Passage] = []
    for p in provenance:
        if p.derived_id == a.id and p.source_id == b.id:
            out.extend(p.spans)
        elif p.derived_id == b.id and p.source_id == a.id:
            out.extend(
                Passage(s.b_start, s.b_end, s.a_start, s.a_end, s.b_text, s.a_text, s.score, s.kind)
                for s in p.spans
            )
    return out


def check_story(
    articles: Sequence[Article],
    *,
    provenance: Sequence[Provenance] = (),
    story_id: str | None = None,
    embedder: Any = None,
    params: CheckParams = DEFAULT_PARAMS,
    nlp: Any = None,
) -> list[Conflict]:
    """Conflicts between the articles of one story, each disagreement once.

    Articles that provenance marks as a ``duplicate`` of another article in the
    story are skipped: their source speaks for them.  Pairs are checked in the
    order the articles are given, so the output order is stable.
    """
    checker = Checker(embedder=embedder, params=params, nlp=nlp)
    return checker.story(articles, provenance=provenance, story_id=story_id)
