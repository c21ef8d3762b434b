"""Find the sources a page names: reference lines, "Summary by", attributions, links.

These feed provenance later: a derived page that names its source is
"attributed".  Each finder is a plain function over text the extractor has
already cleaned.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from urllib.parse import urlsplit

from newsloom.extract.dates import parse_date_line
from newsloom.extract.draft import Link
from newsloom.types import Citation

__all__ = [
    "find_attributions",
    "link_citations",
    "parse_read_more",
    "parse_reference",
    "parse_summary_by",
    "registered_host",
]

_SUMMARY_BY = re.compile(
    r"^\s*(?:AI\s+)?summary\s+(?:by|from)\s*:?\s+(?P<name>.{2,80}?)\s*\.?$", re.I
)

# An APA reference: "Authors. (2023, March 21). Title. Publisher. Retrieved …, from URL".
# Authors are optional (APA moves the title first when there are none).
_APA = re.compile(
    r"^(?P<authors>.*?)\s*\((?P<date>\d{4}(?:,\s*[A-Za-z]+\.?(?:\s+\d{1,2})?)?|n\.d\.)\)\.\s+"
    r"(?P<rest>.+)$"
)
_APA_AUTHOR = re.compile(
    r"(?P<last>[A-Z][\w'’\-]+(?:\s+[A-Z][\w'’\-]+)*),\s+(?P<initials>(?:[A-Z]\.\s?(?:-\s?[A-Z]\.\s?)?)+)"
)
_RETRIEVED = re.compile(
    r"\s*(?:Retrieved\s+(?P<retrieved>[^,]+,\s*\d{4}),?\s+from\s+)?(?P<url>(?:https?://|doi:|www\.)\S+?)[.)]?\s*$",
    re.I,
)

# A capitalised word; a period only inside it ("U.S"), never before a space.
# At most 60 characters: "X reported" is searched from every capital letter,
# and an unbounded word made a long run of capitals ("AAAA…") quadratic.
_WORD = r"(?:[A-Z](?:[\w&'’\-]|\.(?=\w)){0,59}|of|the|de|for|and)"
_NAME = rf"(?P<name>{_WORD}(?:\s+{_WORD}){{0,5}})"
_ACCORDING_TO = re.compile(rf"\baccording to\s+(?:the\s+)?{_NAME}", re.U)
_REPORTED = re.compile(rf"{_NAME}\s+(?:reported|first reported|has reported|had reported)\b", re.U)
# Syndication credits: "first published by the Harbour Gazette", "courtesy of X".
_CREDIT = re.compile(
    r"\b(?:(?:first|originally)\s+(?:published|appeared|ran)\s+(?:by|in|on)|"
    rf"republished\s+(?:from|with permission of)|courtesy of|reprinted from)\s+(?:the\s+)?{_NAME}",
    re.U,
)
_READ_MORE = re.compile(
    r"^(?:read more|read also|also read|see also|related)\s*:\s*(?P<title>.+?)\s*"
    r"\((?P<name>[^()]{2,60})\)\.?$",
    re.I,
)
_MAX_TEASER = 1000
# Capitalised words that start a clause rather than name a source.
_NOT_SOURCES = {
    "he", "she", "it", "they", "we", "i", "you", "the", "this", "that", "these",
    "those", "a", "an", "but", "and", "as", "media", "officials", "police",
}  # fmt: skip


def parse_read_more(line: str) -> Citation | None:
    """``Read more: <headline> (Outlet)`` → a link citation naming the outlet."""
    # A teaser is one headline long; the lazy title before optional spaces
    # backtracks quadratically over a long run of spaces, so long lines are not tried.
    if len(line) > _MAX_TEASER:
        return None
    match = _READ_MORE.match(line.strip())
    if not match:
        return None
    return Citation(
        kind="link", name=match.group("name").strip(), text=line.strip(), title=match.group("title")
    )


def parse_summary_by(line: str) -> Citation | None:
    """``Summary by Global Headlines Today`` → a ``summary_by`` citation."""
    match = _SUMMARY_BY.match(line)
    if not match:
        return None
    name = match.group("name").strip()
    if len(name.split()) > 8:
        return None
    return Citation(kind="summary_by", name=name, text=line.strip())


def _split_authors(text: str) -> list[str]:
    text = text.strip()
    authors = [
        f"{m.group('last')}, {m.group('initials').strip()}" for m in _APA_AUTHOR.finditer(text)
    ]
    if authors:
        return authors
    # Organisation as author, or names not in "Last, I." form.
    parts = re.split(r",\s*&\s*|\s*&\s*|,\s+and\s+|;\s*", text)
    return [p.strip().rstrip(".") for p in parts if p.strip().rstrip(".")]


def _split_title_publisher(rest: str) -> tuple[str, str | None]:
    """Split "Title. Publisher." where the title itself may contain periods.

    The publisher is the last sentence-like segment: titles end at ". " and
    publishers are short, so the last short segment wins.
    """
    rest = rest.strip().rstrip(".")
    pieces = re.split(r"(?<=[^\s.][^A-Z\s])\.\s+|(?<=[?!])\s+", rest)
    if len(pieces) >= 2 and len(pieces[-1].split()) <= 8:
        return ". ".join(pieces[:-1]).strip(), pieces[-1].strip()
    return rest, None


def parse_reference(line: str) -> Citation | None:
    """Parse an APA-style reference line; None if the line is not one."""
    text = " ".join(line.split())
    if len(text) > 1000 or len(text) < 20:
        return None
    match = _APA.match(text)
    if not match:
        return None
    rest = match.group("rest")
    url = None
    retrieved = _RETRIEVED.search(rest)
    if retrieved:
        url = retrieved.group("url")
        if url.startswith("www."):
            url = "https://" + url
        rest = rest[: retrieved.start()]
    title, publisher = _split_title_publisher(rest)
    if not title:
        return None
    date_text = match.group("date")
    parsed = parse_date_line(_apa_date_as_line(date_text))
    authors = _split_authors(match.group("authors"))
    if not url and not authors:
        return None
    name = publisher or _hostname(url)
    return Citation(
        kind="reference",
        name=name,
        url=url,
        text=text,
        authors=authors,
        date=parsed.date().isoformat() if parsed else date_text,
        title=title,
        publisher=publisher,
    )


def _apa_date_as_line(date_text: str) -> str:
    """APA writes "2023, March 21"; the date parser reads "March 21, 2023"."""
    parts = [p.strip() for p in date_text.split(",")]
    if len(parts) == 2 and parts[0].isdigit():
        return f"{parts[1]}, {parts[0]}"
    return date_text


def _clean_name(raw: str) -> str | None:
    words = raw.split()
    # Trailing function words belong to the sentence, not the name.
    while words and words[-1].lower() in {"of", "the", "de", "for", "and"}:
        words.pop()
    while words and words[0].lower() in _NOT_SOURCES:
        words.pop(0)
    if not words or not words[0][:1].isupper():
        return None
    return " ".join(words).rstrip(".,'’")


_SENTENCE_END = re.compile(r"[.!?][\"”’)]*\s+(?=[\"“‘(]?[A-Z0-9])")


def _sentence_ends(paragraph: str) -> list[int]:
    return [match.end() for match in _SENTENCE_END.finditer(paragraph)]


def _sentence_around(paragraph: str, position: int, ends: list[int]) -> str:
    """The sentence of ``paragraph`` holding ``position``; ``ends`` from ``_sentence_ends``.

    The ends are found once per paragraph: scanning from its start for every
    source named made a paragraph naming many sources quadratic.
    """
    index = bisect_right(ends, position)
    start = ends[index - 1] if index else 0
    stop = ends[index] if index < len(ends) else len(paragraph)
    return paragraph[start:stop].strip()


def find_attributions(paragraphs: list[str]) -> list[Citation]:
    """ "X reported" and "according to X" mentions, one citation per source name."""
    found: dict[str, Citation] = {}
    for paragraph in paragraphs:
        ends: list[int] | None = None
        for pattern in (_REPORTED, _ACCORDING_TO, _CREDIT):
            for match in pattern.finditer(paragraph):
                name = _clean_name(match.group("name"))
                if not name or name.lower() in found:
                    continue
                if ends is None:
                    ends = _sentence_ends(paragraph)
                found[name.lower()] = Citation(
                    kind="attribution",
                    name=name,
                    text=_sentence_around(paragraph, match.start(), ends),
                )
    return list(found.values())


def _hostname(url: str | None) -> str | None:
    """A URL's host name, or None (also for "http://[::1", a bracket left open)."""
    try:
        return urlsplit(url).hostname if url else None
    except ValueError:
        return None


def registered_host(url: str | None) -> str | None:
    """The outlet part of a URL's host ("bbc.co.uk", "washingtonpost.com"), or None."""
    host = (_hostname(url) or "").lower().removeprefix("www.")
    if not host:
        return None
    parts = host.split(".")
    # Good enough to tell outlets apart; public-suffix precision is not needed here.
    if len(parts) >= 3 and len(parts[-2]) <= 3 and len(parts[-1]) == 2:
        return ".".join(parts[-3:])
    return ".".join(parts[-2:])


def link_citations(links: list[Link], page_url: str | None) -> list[Citation]:
    """Links from the article body to other sites, one per target URL."""
    own = registered_host(page_url)
    seen: set[str] = set()
    out: list[Citation] = []
    for link in links:
        host = registered_host(link.href)
        if not host or host == own or link.href in seen:
            continue
        if not link.href.startswith(("http://", "https://")):
            continue
        seen.add(link.href)
        out.append(Citation(kind="link", name=host, url=link.href, text=link.text.strip()))
    return out
