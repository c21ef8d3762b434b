"""Records passed between pipeline steps.

Slotted dataclasses with no behaviour beyond small derived values; every step
takes and yields these, so they are the contract between modules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

PageKind = Literal["html", "text"]


@dataclass(slots=True)
class Page:
    """Raw bytes of one document plus where and when they came from.

    ``source`` is a human-readable location (path, URL, ``archive.warc.gz#1234``);
    ``url`` is the document's web address when known.  ``kind`` is set by the
    reader when it knows the format; ``None`` lets extraction sniff it.
    ``meta`` carries fields a structured source already provides (JSONL title,
    published date, site name, HTTP content type) so extraction can prefer them.
    """

    source: str
    body: bytes
    url: str | None = None
    kind: PageKind | None = None
    fetched_at: datetime | None = None
    encoding: str | None = None
    meta: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True, frozen=True)
class Failure:
    """One input that could not be read or extracted; the batch goes on."""

    source: str
    reason: str
    error: str = "InputError"


@dataclass(slots=True)
class Citation:
    """A source the page names.

    ``kind`` is one of ``link`` (a hyperlink to another outlet), ``reference``
    (a bibliography-style line, e.g. APA), ``summary_by`` ("Summary by X"),
    ``attribution`` ("X reported", "according to X").
    """

    kind: str
    name: str | None = None
    url: str | None = None
    text: str = ""
    authors: list[str] = field(default_factory=list)
    date: str | None = None
    title: str | None = None
    publisher: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "name": self.name,
            "url": self.url,
            "text": self.text,
        }
        if self.kind == "reference":
            out.update(
                authors=list(self.authors),
                date=self.date,
                title=self.title,
                publisher=self.publisher,
            )
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Citation:
        return cls(
            kind=data["kind"],
            name=data.get("name"),
            url=data.get("url"),
            text=data.get("text", ""),
            authors=list(data.get("authors") or []),
            date=data.get("date"),
            title=data.get("title"),
            publisher=data.get("publisher"),
        )


@dataclass(slots=True, frozen=True)
class Repair:
    """One fix extraction applied to the page, so nothing changes silently."""

    kind: str
    detail: str
    count: int = 1

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "detail": self.detail, "count": self.count}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Repair:
        return cls(kind=data["kind"], detail=data["detail"], count=int(data.get("count", 1)))


@dataclass(slots=True)
class Article:
    """A clean article extracted from one page."""

    id: str
    url: str | None
    canonical_url: str | None
    site_name: str | None
    title: str | None
    authors: list[str]
    published: datetime | None
    date_source: str | None
    language: str | None
    paragraphs: list[str]
    word_count: int
    read_minutes: int
    stated_read_minutes: int | None = None
    stated_views: int | None = None
    citations: list[Citation] = field(default_factory=list)
    repairs: list[Repair] = field(default_factory=list)
    fetched_at: datetime | None = None
    raw_sha256: str = ""
    source: str = ""
    description: str | None = None

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "canonical_url": self.canonical_url,
            "site_name": self.site_name,
            "title": self.title,
            "authors": list(self.authors),
            "published": self.published.isoformat() if self.published else None,
            "date_source": self.date_source,
            "language": self.language,
            "description": self.description,
            "text": self.text,
            "paragraphs": list(self.paragraphs),
            "word_count": self.word_count,
            "read_minutes": self.read_minutes,
            "stated_read_minutes": self.stated_read_minutes,
            "stated_views": self.stated_views,
            "citations": [c.to_dict() for c in self.citations],
            "repairs": [r.to_dict() for r in self.repairs],
            "fetched_at": self.fetched_at.isoformat() if self.fetched_at else None,
            "raw_sha256": self.raw_sha256,
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Article:
        """Inverse of ``to_dict`` (``text`` is derived, so it is ignored)."""

        def when(value: str | None) -> datetime | None:
            return datetime.fromisoformat(value) if value else None

        return cls(
            id=data["id"],
            url=data.get("url"),
            canonical_url=data.get("canonical_url"),
            site_name=data.get("site_name"),
            title=data.get("title"),
            authors=list(data.get("authors") or []),
            published=when(data.get("published")),
            date_source=data.get("date_source"),
            language=data.get("language"),
            paragraphs=list(data.get("paragraphs") or []),
            word_count=int(data.get("word_count") or 0),
            read_minutes=int(data.get("read_minutes") or 0),
            stated_read_minutes=data.get("stated_read_minutes"),
            stated_views=data.get("stated_views"),
            citations=[Citation.from_dict(c) for c in data.get("citations") or []],
            repairs=[Repair.from_dict(r) for r in data.get("repairs") or []],
            fetched_at=when(data.get("fetched_at")),
            raw_sha256=data.get("raw_sha256", ""),
            source=data.get("source", ""),
            description=data.get("description"),
        )


@dataclass(slots=True)
class StoryMember:
    """One article's place in a story and why it is there."""

    article_id: str
    story_id: str
    decided_at: datetime | None
    reasons: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "article_id": self.article_id,
            "story_id": self.story_id,
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "reasons": dict(self.reasons),
        }


@dataclass(slots=True)
class Story:
    """A group of articles about one event; summaries arrive in a later step."""

    id: str
    title: str
    article_ids: list[str]
    first_seen: datetime | None
    updated: datetime | None
    merged_from: list[str] = field(default_factory=list)
    # The story this one was split off, and the stories split off this one.
    split_from: str | None = None
    split_off: list[str] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.article_ids)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "article_ids": list(self.article_ids),
            "size": self.size,
            "first_seen": self.first_seen.isoformat() if self.first_seen else None,
            "updated": self.updated.isoformat() if self.updated else None,
            "merged_from": list(self.merged_from),
            "split_from": self.split_from,
            "split_off": list(self.split_off),
        }


@dataclass(slots=True, frozen=True)
class StoryStamp:
    """What a story page depends on, read in one query: a page kept for a
    stamp is still right while the stamp is the same.

    ``size`` and ``last_seq`` (the newest membership's sequence number) change
    whenever an article joins or leaves; ``analysed_at`` when a new analysis
    is saved.  ``views`` is the page's stored view count.
    """

    id: str
    title: str
    updated: datetime | None
    size: int
    last_seq: int
    analysed_at: datetime | None
    views: int


Relation = Literal["duplicate", "near_copy", "rewrite", "summary", "quotes", "independent"]
ConflictKind = Literal["number", "duration", "date", "place", "person", "quote", "negation"]


@dataclass(slots=True, frozen=True)
class Passage:
    """Text two articles share: character spans into each one's ``Article.text``.

    ``kind`` says how the match was found: ``verbatim`` (same words),
    ``fuzzy`` (a few words changed), ``paraphrase`` (same meaning, other
    words, found by embeddings) or ``quote`` (only quoted speech is shared).
    """

    a_start: int
    a_end: int
    b_start: int
    b_end: int
    a_text: str
    b_text: str
    score: float
    kind: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": {"start": self.a_start, "end": self.a_end, "text": self.a_text},
            "b": {"start": self.b_start, "end": self.b_end, "text": self.b_text},
            "score": round(self.score, 4),
            "kind": self.kind,
        }


@dataclass(slots=True)
class Provenance:
    """How ``derived_id`` relates to ``source_id``.

    For ``independent`` pairs there is no direction: ``source_id`` is only the
    earlier of the two and ``directed`` is False.  ``spans`` are passages with
    side ``a`` in the derived article and side ``b`` in the source.
    """

    derived_id: str
    source_id: str
    relation: Relation
    score: float
    attributed: bool
    spans: list[Passage] = field(default_factory=list)
    directed: bool = True
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "derived_id": self.derived_id,
            "source_id": self.source_id,
            "relation": self.relation,
            "score": round(self.score, 4),
            "attributed": self.attributed,
            "directed": self.directed,
            "spans": [p.to_dict() for p in self.spans],
            "evidence": dict(self.evidence),
        }


@dataclass(slots=True, frozen=True)
class ConflictSide:
    """One side of a conflict: the full sentence as it reads in the clean text."""

    article_id: str
    sentence: str
    start: int = 0
    end: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "article_id": self.article_id,
            "sentence": self.sentence,
            "span": [self.start, self.end],
        }


@dataclass(slots=True)
class Conflict:
    """A fact two sources state differently."""

    kind: ConflictKind
    a: ConflictSide
    b: ConflictSide
    explanation: str
    confidence: float
    story_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "a": self.a.to_dict(),
            "b": self.b.to_dict(),
            "explanation": self.explanation,
            "confidence": round(self.confidence, 3),
            "story_id": self.story_id,
        }


@dataclass(slots=True, frozen=True)
class SummarySentence:
    """One sentence of a summary: its text and exactly where it comes from.

    ``start``/``end`` are character offsets into the cited article's ``text``,
    so ``article.text[start:end]`` is the sentence (extractive summaries only
    ever quote); ``when`` is set for timeline entries.
    """

    text: str
    article_id: str
    start: int
    end: int
    when: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "text": self.text,
            "article_id": self.article_id,
            "span": [self.start, self.end],
        }
        if self.when is not None:
            out["when"] = self.when.isoformat()
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SummarySentence:
        start, end = data.get("span") or (0, 0)
        when = data.get("when")
        return cls(
            text=data["text"],
            article_id=data["article_id"],
            start=int(start),
            end=int(end),
            when=datetime.fromisoformat(when) if when else None,
        )


@dataclass(slots=True)
class StorySummary:
    """What a reader sees first on a story page: every sentence cites its article."""

    story_id: str
    summary: list[SummarySentence] = field(default_factory=list)
    key_points: list[SummarySentence] = field(default_factory=list)
    timeline: list[SummarySentence] = field(default_factory=list)
    # One short "Summary by newsloom" paragraph per article, keyed by article id.
    articles: dict[str, list[SummarySentence]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "story_id": self.story_id,
            "summary": [s.to_dict() for s in self.summary],
            "key_points": [s.to_dict() for s in self.key_points],
            "timeline": [s.to_dict() for s in self.timeline],
            "articles": {k: [s.to_dict() for s in v] for k, v in self.articles.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StorySummary:
        def many(items: Any) -> list[SummarySentence]:
            return [SummarySentence.from_dict(i) for i in items or []]

        return cls(
            story_id=data["story_id"],
            summary=many(data.get("summary")),
            key_points=many(data.get("key_points")),
            timeline=many(data.get("timeline")),
            articles={k: many(v) for k, v in (data.get("articles") or {}).items()},
        )
