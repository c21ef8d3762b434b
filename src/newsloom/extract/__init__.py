"""Page → Article: decode, repair, extract, then the steps every format shares.

``extract`` is the public entry point.  The format-specific extractors
(``html.extract_html``, ``text.extract_text``) fill a ``Draft``; ``build``
turns any draft into an ``Article`` with identity, citations, read time and
a record of every repair.
"""

from __future__ import annotations

import hashlib
import math
import re
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from newsloom.errors import ExtractionError
from newsloom.extract.citations import find_attributions, link_citations
from newsloom.extract.draft import Draft
from newsloom.extract.encoding import decode, repair_mojibake
from newsloom.read.sniff import is_html
from newsloom.settings import Settings
from newsloom.types import Article, Citation, Page, Repair

__all__ = ["article_id", "build", "canonicalise_url", "extract"]

_TRACKING = ("utm_", "fbclid", "gclid", "mc_cid", "mc_eid", "ocid", "cmpid")
_MAX_CHARS = 5_000_000
_AUTHOR_SEPARATORS = re.compile(r";|\s+and\s+|\s*&\s*")
# Control characters (NUL, escapes, C1) that pages and JSON records carry but
# no reader should get: stores, feeds and terminals choke on them.  Tab and
# newline are kept; the controls Python counts as whitespace (form feed, NEL)
# become a space so the words around them stay apart.  Lone surrogates cannot
# be written as UTF-8.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SURROGATES = re.compile("[\ud800-\udfff]")


def _control(match: re.Match[str]) -> str:
    return " " if match.group().isspace() else ""


def _printable(text: str) -> str:
    return _SURROGATES.sub("\ufffd", _CONTROLS.sub(_control, text))


def _printable_or_none(text: str | None) -> str | None:
    return (_printable(text).strip() or None) if text else None


def canonicalise_url(url: str | None) -> str | None:
    """Lower-case scheme and host, drop fragments, tracking parameters and default ports."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        port = parts.port  # raises on a port out of range or not a number
    except ValueError:
        return None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if port and port not in {80, 443}:
        host = f"{host}:{port}"
    query = urlencode(
        [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not k.lower().startswith(_TRACKING)
        ]
    )
    path = parts.path or "/"
    return urlunsplit((parts.scheme.lower(), host, path, query, ""))


def _normalised_text(paragraphs: list[str]) -> str:
    return " ".join(" ".join(paragraphs).casefold().split())


def article_id(canonical_url: str | None, paragraphs: list[str]) -> str:
    """Stable id: hash of the canonical URL, else of the normalised text."""
    key = f"url:{canonical_url}" if canonical_url else "text:" + _normalised_text(paragraphs)
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def _language(paragraphs: list[str]) -> str | None:
    sample = " ".join(paragraphs)[:3000]
    if len(sample.split()) < 5:
        return None
    import py3langid  # imported here: loading its model costs ~0.3 s

    language, _score = py3langid.classify(sample.replace("\n", " "))
    return language


def _unique_citations(citations: list[Citation]) -> list[Citation]:
    seen: set[tuple[str, str | None, str | None]] = set()
    out: list[Citation] = []
    for citation in citations:
        key = (citation.kind, (citation.name or "").casefold() or None, citation.url)
        if key not in seen:
            seen.add(key)
            out.append(citation)
    return out


def _repair_draft(draft: Draft) -> list[Repair]:
    """Run mojibake repair over every string field the extractor produced."""
    repairs: list[Repair] = []
    joined = "\n\u2029\n".join([draft.title or "", *draft.paragraphs, *draft.authors])
    fixed, found = repair_mojibake(joined)
    if found:
        parts = fixed.split("\n\u2029\n")
        draft.title = parts[0] or None
        draft.paragraphs = parts[1 : 1 + len(draft.paragraphs)]
        draft.authors = parts[1 + len(draft.paragraphs) :]
        repairs.extend(found)
    return repairs


def build(
    draft: Draft,
    *,
    url: str | None = None,
    raw: bytes = b"",
    fetched_at: datetime | None = None,
    source: str = "",
    meta: dict[str, str] | None = None,
    repairs: list[Repair] | None = None,
    settings: Settings | None = None,
) -> Article:
    """Finish a draft: repairs, metadata a source supplied, citations, identity, read time."""
    settings = settings or Settings()
    meta = meta or {}
    all_repairs = [*(repairs or []), *_repair_draft(draft), *draft.repairs]
    # After the mojibake repair, which reads C1 controls as damaged bytes.
    draft.paragraphs = [_printable(p) for p in draft.paragraphs]
    draft.title = _printable_or_none(draft.title)
    draft.authors = [a for a in map(_printable_or_none, draft.authors) if a]
    draft.site_name = _printable_or_none(draft.site_name)
    draft.description = _printable_or_none(draft.description)
    meta = {key: _printable(value) for key, value in meta.items()}

    # A structured source (JSONL, feed entry) states its title; trust it over a guess.
    title = meta.get("title") or draft.title
    # One space between words: the separators allow spaces on both sides, which
    # backtracks quadratically over a long run of spaces.
    stated = " ".join((meta.get("authors") or meta.get("author") or "").split())
    authors = draft.authors or [a.strip() for a in _AUTHOR_SEPARATORS.split(stated) if a.strip()]
    published, date_source = draft.published, draft.date_source
    if meta.get("published"):
        supplied = _parse_iso(meta["published"])
        if supplied is not None:
            published, date_source = supplied, meta.get("date_source", "source:published")

    paragraphs = [p for p in draft.paragraphs if p.strip()]
    if not paragraphs:
        raise ExtractionError("no article text", source or url)
    canonical = canonicalise_url(draft.canonical_url) or canonicalise_url(url)
    words = sum(len(p.split()) for p in paragraphs)
    citations = _unique_citations(
        [*draft.citations, *link_citations(draft.links, url), *find_attributions(paragraphs)]
    )
    return Article(
        id=article_id(canonical, paragraphs),
        url=url,
        canonical_url=canonical,
        site_name=meta.get("site_name") or draft.site_name,
        title=title,
        authors=authors,
        published=published,
        date_source=date_source,
        language=draft.language or _language(paragraphs),
        paragraphs=paragraphs,
        word_count=words,
        read_minutes=max(1, math.ceil(words / settings.words_per_minute)),
        stated_read_minutes=draft.stated_read_minutes,
        stated_views=draft.stated_views,
        citations=citations,
        repairs=all_repairs,
        fetched_at=fetched_at,
        raw_sha256=hashlib.sha256(raw).hexdigest() if raw else "",
        source=source,
        description=draft.description,
    )


def _parse_iso(value: str) -> datetime | None:
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        from newsloom.extract.dates import parse_date_line

        return parse_date_line(value)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def extract(
    data: Page | bytes | str,
    *,
    url: str | None = None,
    kind: str | None = None,
    settings: Settings | None = None,
) -> Article:
    """Extract a clean article from a page, raw bytes, or already-decoded text.

    ``kind`` is "html" or "text"; by default it is sniffed from the content.
    Raises ``ExtractionError`` (an ``InputError``) when no article is found.
    """
    if isinstance(data, Page):
        page = data
    elif isinstance(data, bytes):
        page = Page(source=url or "<bytes>", body=data, url=url)
    elif isinstance(data, str):
        page = Page(source=url or "<text>", body=b"", url=url)
        return _extract_decoded(data, page, [], kind, settings)
    else:
        raise TypeError(f"extract() takes a Page, bytes or str, not {type(data).__name__}")
    if url and not page.url:
        page.url = url
    text, repairs = decode(page.body, page.encoding)
    return _extract_decoded(text, page, repairs, kind or page.kind, settings)


def _extract_decoded(
    text: str, page: Page, repairs: list[Repair], kind: str | None, settings: Settings | None
) -> Article:
    if len(text) > _MAX_CHARS:
        raise ExtractionError(f"page too long to extract ({len(text):,} characters)", page.source)
    kind = kind or ("html" if is_html(text) else "text")
    try:
        if kind == "html":
            from newsloom.extract.html import extract_html

            draft = extract_html(text, url=page.url)
        else:
            from newsloom.extract.text import extract_text

            draft = extract_text(text, title=page.meta.get("title"))
    except ExtractionError as exc:
        exc.source = exc.source or page.source
        raise
    return build(
        draft,
        url=page.url,
        # surrogatepass: a str may hold lone surrogates, which still hash.
        raw=page.body or text.encode("utf-8", "surrogatepass"),
        fetched_at=page.fetched_at,
        source=page.source,
        meta=page.meta,
        repairs=repairs,
        settings=settings,
    )
