"""Page metadata read straight from the parsed HTML tree.

Small, cheap readers for what the markup states: the publication timestamp
in JSON-LD or ``<meta>`` tags, the canonical URL, the declared language,
author lists, and trafilatura's byline rules without their cost.  Dates in
running text are left to htmldate.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml.etree import XPath
from lxml.html import HtmlElement
from trafilatura.json_metadata import normalize_authors

__all__ = [
    "byline_author",
    "canonical_url",
    "declared_language",
    "http_url",
    "split_authors",
    "structured_dates",
]

# Meta names that state when a page was first published, most specific first.
# Modification dates are left out on purpose: the record wants the first edition.
_META_PUBLISHED = (
    "article:published_time",
    "og:article:published_time",
    "og:published_time",
    "datepublished",
    "parsely-pub-date",
    "sailthru.date",
    "article.published",
    "publishdate",
    "publish-date",
    "pubdate",
    "dc.date.issued",
    "dcterms.issued",
    "citation_publication_date",
    "dc.date",
    "dcterms.date",
    "date",
)
_META_RANK = {name: rank for rank, name in enumerate(_META_PUBLISHED)}
_LD_KEYS = ("datePublished", "dateCreated")
# Where JSON-LD nests the described item (Yoast and friends put everything in @graph).
_LD_NESTED = ("@graph", "mainEntity", "mainEntityOfPage")
_LD_MAX_CHARS = 2_000_000
_LD_REGEX = re.compile(r'"datePublished"\s*:\s*"([^"]{8,40})"')
_EARLIEST = date(1990, 1, 1)


def _parse_timestamp(value: str) -> datetime | None:
    """An ISO 8601 timestamp; naive ones are taken as UTC.  Other layouts are left to htmldate."""
    text = value.strip()
    if not 10 <= len(text) <= 40 or not text[:4].isdigit():
        return None
    # Python before 3.12 rejects more than six fractional digits.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        try:
            stamp = datetime.fromisoformat(text[:10])
        except ValueError:
            return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    # A date after tomorrow or before the web's news era is a template default, not a publication.
    latest = datetime.now(UTC).date() + timedelta(days=1)
    if not _EARLIEST <= stamp.date() <= latest:
        return None
    return stamp


def _ld_objects(data: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    if depth > 6:
        return
    if isinstance(data, list):
        for item in data:
            yield from _ld_objects(item, depth + 1)
    elif isinstance(data, dict):
        yield data
        for key in _LD_NESTED:
            if key in data:
                yield from _ld_objects(data[key], depth + 1)


def _json_ld_dates(tree: HtmlElement) -> Iterator[tuple[datetime, str]]:
    for script in tree.iterfind('.//script[@type="application/ld+json"]'):
        text = script.text or ""
        if "datePublished" not in text and "dateCreated" not in text:
            continue
        if len(text) > _LD_MAX_CHARS:
            continue
        try:
            data = json.loads(text)
        except ValueError:
            # Sites often ship JSON-LD with stray commas or raw newlines; the key is still readable.
            match = _LD_REGEX.search(text)
            stamp = _parse_timestamp(match.group(1)) if match else None
            if stamp:
                yield stamp, "json-ld:datePublished"
            continue
        for item in _ld_objects(data):
            for key in _LD_KEYS:
                value = item.get(key)
                if isinstance(value, str) and (stamp := _parse_timestamp(value)):
                    yield stamp, f"json-ld:{key}"


def _meta_dates(tree: HtmlElement) -> list[tuple[datetime, str]]:
    found: dict[str, datetime] = {}
    for element in tree.iterfind(".//meta[@content]"):
        name = (
            element.get("property") or element.get("name") or element.get("itemprop") or ""
        ).strip()
        key = name.lower()
        if key in _META_RANK and key not in found:
            stamp = _parse_timestamp(element.get("content") or "")
            if stamp:
                found[key] = stamp
    return [(found[key], f"meta:{key}") for key in sorted(found, key=_META_RANK.__getitem__)]


def structured_dates(tree: HtmlElement) -> list[tuple[datetime, str]]:
    """Publication timestamps the markup states, best source first, with where each came from."""
    dates = list(_json_ld_dates(tree))
    dates.extend(_meta_dates(tree))
    for element in tree.iterfind('.//time[@itemprop="datePublished"]'):
        stamp = _parse_timestamp(element.get("datetime") or "")
        if stamp:
            dates.append((stamp, "time:datePublished"))
            break
    return dates


_SPACE = re.compile(r"\s")


def http_url(candidate: str | None, base: str | None) -> str | None:
    """An absolute http(s) URL for ``candidate`` resolved against ``base``, or None."""
    if not candidate:
        return None
    href = candidate.strip()
    if not href or _SPACE.search(href):
        return None
    try:
        absolute = urljoin(base, href) if base else href
        parts = urlsplit(absolute)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return absolute


def canonical_url(tree: HtmlElement, base: str | None) -> str | None:
    """``<link rel=canonical>``, else ``og:url``, made absolute against the page URL."""
    for element in tree.iterfind(".//link[@href]"):
        rel = (element.get("rel") or "").lower().split()
        if "canonical" in rel and (found := http_url(element.get("href"), base)):
            return found
    for element in tree.iterfind(".//meta[@content]"):
        if (element.get("property") or element.get("name") or "").lower() == "og:url" and (
            found := http_url(element.get("content"), base)
        ):
            return found
    return None


_LANG = re.compile(r"^([a-zA-Z]{2})(?:[-_][a-zA-Z0-9]+)*$")


def _language_code(value: str | None) -> str | None:
    match = _LANG.match((value or "").strip())
    return match.group(1).lower() if match else None


def declared_language(tree: HtmlElement) -> str | None:
    """The two-letter language the page declares: ``<html lang>``, then meta tags."""
    if code := _language_code(tree.get("lang") or tree.get("xml:lang")):
        return code
    for element in tree.iterfind(".//meta[@content]"):
        key = (
            element.get("http-equiv") or element.get("property") or element.get("name") or ""
        ).lower()
        if key in ("content-language", "og:locale", "language", "dc.language") and (
            code := _language_code(element.get("content", "").split(",")[0])
        ):
            return code
    return None


_AND = re.compile(r"\s+(?:and|&|und|et)\s+", re.I)
_AUTHOR_NOISE = re.compile(r"^(?:by|von|par|por|di)\s+", re.I)


def split_authors(value: str | None) -> list[str]:
    """``"A; B"``, ``"A and B"``, ``"A, B"`` as separate names, in order, without repeats.

    A comma splits only when every part is a full name: ``"Doe, Jane"`` is one person.
    """
    if not value:
        return []
    # One space between words: the separators allow spaces on both sides, which
    # backtracks quadratically over a long run of spaces.
    value = " ".join(value.split())
    names: list[str] = []
    for chunk in re.split(r"\s*[;|]\s*", value):
        parts = [
            p for p in (_AUTHOR_NOISE.sub("", part.strip()) for part in _AND.split(chunk)) if p
        ]
        for part in parts:
            pieces = [p.strip() for p in part.split(",") if p.strip()]
            if len(pieces) > 1 and all(len(p.split()) >= 2 for p in pieces):
                names.extend(pieces)
            else:
                names.append(part.strip(" ,"))
    unique: list[str] = []
    seen: set[str] = set()  # a list lookup made thousands of names quadratic
    for name in names:
        if name and name not in seen and len(name) <= 100:
            seen.add(name)
            unique.append(name)
    return unique


# trafilatura's byline rules (metadata.AUTHOR_XPATHS and AUTHOR_DISCARD_XPATHS)
# applied in one pass over the elements that carry attributes.  As XPaths with
# dozens of predicates they cost about 5 ms a page, a third of a whole
# trafilatura run; the same tests in Python cost a fraction of that.
_WITH_ATTRIBUTES = XPath(
    "//*[@class or @id or @itemprop or @rel or @data-testid or @data-component]|//author"
    "|//time|//figure"
)
_TIER1_TAGS = frozenset({"a", "address", "div", "link", "p", "span", "strong"})
_TIER2_TAGS = frozenset({"a", "div", "h3", "h4", "p", "span"})
_DISCARD_TAGS = frozenset({"a", "div", "section", "span"})
_TIER1_CLASS = re.compile(r"author-?name|AuthorName|authorName")
_TIER2_ID = re.compile(r"author|zuozhe|bianji|xiaobian")
_TIER2_CLASS = re.compile(
    r"author|channel-name|zuozhe|bianji|xiaobian|submitted-by|posted-by|journalist-name"
)
_TIER3_ID = re.compile(r"[Aa]uthor")
_TIER3_CLASS = re.compile(r"[Aa]uthor|screenname|writer|[Bb]yline")
_DISCARD_ID = re.compile(r"^comments|comment-?list|ProductReviews")
_DISCARD_CLASS = re.compile(
    r"^[Cc]omments|commentlist|comments-list|sidebar|is-hidden|quote|embedly-instagram|"
    r"article-(?:share|support)|print|category|meta-date|meta-reviewer"
)


def _author_tier(tag: str, get: Any) -> int:
    """1, 2 or 3 for the first of trafilatura's byline rules the element meets, else 0."""
    if tag == "author":
        return 1
    cls = get("class") or ""
    ident = get("id") or ""
    itemprop = get("itemprop") or ""
    if tag in _TIER1_TAGS and (
        get("rel") == "author"
        or ident == "author"
        or cls == "author"
        or itemprop == "author name"
        or get("data-testid") in ("AuthorCard", "AuthorURL")
        or _TIER1_CLASS.search(cls)
    ):
        return 1
    if tag in _TIER2_TAGS and (
        cls in ("byline", "username", "byl", "BBL")
        or "author" in itemprop
        or _TIER2_ID.search(ident)
        or _TIER2_CLASS.search(cls)
    ):
        return 2
    if (
        "Byline" in (get("data-component") or "")
        or "author" in itemprop
        or _TIER3_ID.search(ident)
        or _TIER3_CLASS.search(cls)
    ):
        return 3
    return 0


def _discarded(tag: str, get: Any) -> bool:
    if tag in ("time", "figure"):
        return True
    if "Figure" in (get("data-component") or ""):
        return tag in _DISCARD_TAGS
    if tag not in _DISCARD_TAGS:
        return False
    cls = get("class") or ""
    ident = get("id") or ""
    return (
        ident == "comments"
        or cls in ("comments", "title", "date")
        or bool(_DISCARD_ID.search(ident))
        or bool(_DISCARD_CLASS.search(cls))
    )


def _texts_outside(element: HtmlElement, discard: set[HtmlElement]) -> Iterator[str]:
    if isinstance(element.text, str):
        yield element.text
    for child in element:
        if child not in discard:
            yield from _texts_outside(child, discard)
        if child.tail:
            yield child.tail


def byline_author(tree: HtmlElement) -> str | None:
    """trafilatura's byline search, without its deep copy of the tree and its slow XPaths.

    Matches inside comments, sidebars, dates and figures are skipped and their
    text left out, as trafilatura does by pruning a copy of the page.
    """
    tiers: tuple[list[HtmlElement], ...] = ([], [], [])
    discard: set[HtmlElement] = set()
    for element in _WITH_ATTRIBUTES(tree):
        tag = element.tag
        if not isinstance(tag, str):
            continue
        get = element.attrib.get
        if _discarded(tag, get):
            discard.add(element)
        tier = _author_tier(tag, get)
        if tier:
            tiers[tier - 1].append(element)
    for candidates in tiers:
        for element in candidates:
            if element in discard or any(a in discard for a in element.iterancestors()):
                continue
            content = " ".join(" ".join(_texts_outside(element, discard)).split())
            if 2 < len(content) < 120:
                return normalize_authors(None, content)
    return None
