"""The intermediate record between a format-specific extractor and ``Article``.

HTML and text-mode extractors each fill a ``Draft``; ``extract.build`` then
applies the shared steps (mojibake repair, chrome removal, citations, read
time, identity) so both formats get identical treatment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from newsloom.types import Citation, Repair


@dataclass(slots=True)
class Link:
    """A hyperlink found inside the main content."""

    text: str
    href: str


@dataclass(slots=True)
class Draft:
    paragraphs: list[str]
    title: str | None = None
    authors: list[str] = field(default_factory=list)
    published: datetime | None = None
    date_source: str | None = None
    site_name: str | None = None
    language: str | None = None
    canonical_url: str | None = None
    description: str | None = None
    links: list[Link] = field(default_factory=list)
    # Lines the extractor set aside as page furniture (header, footer, sidebars);
    # metadata such as "6 mins read" or a date header may still be read from them.
    chrome: list[str] = field(default_factory=list)
    repairs: list[Repair] = field(default_factory=list)
    # Sources the extractor already recognised (reference lines, "Summary by").
    citations: list[Citation] = field(default_factory=list)
    stated_read_minutes: int | None = None
    stated_views: int | None = None
