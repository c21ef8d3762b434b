"""APA references for the article page: "cite the original".

The original is the page an article copies when provenance says it is
derived, else the reference the page itself prints (the seed aggregator cites
The Washington Post that way), else the article itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from newsloom.types import Article, Citation

__all__ = ["Apa", "apa_author", "apa_of_article", "apa_of_reference"]

_INITIALS = re.compile(r"^[^,]+,\s*(?:[A-Z]\.\s?-?)+$")
# Name particles stay with the surname: "Ludwig van Beethoven" -> "van Beethoven, L."
_PARTICLES = {"van", "von", "de", "der", "den", "da", "di", "del", "la", "le", "du", "st."}


@dataclass(slots=True, frozen=True)
class Apa:
    """One reference, in parts so that HTML can set the title in italics."""

    authors: str  # "Collins, J., & Paskell, G." or "" when nobody is named
    when: str  # "(2023, March 21)" or "(n.d.)"
    title: str
    site: str
    url: str | None

    @property
    def text(self) -> str:
        title = f"{self.title}." if self.title else ""
        # APA: with no author the title takes the author's place.
        head = [self.authors, f"{self.when}.", title] if self.authors else [title, f"{self.when}."]
        tail = [f"{self.site}." if self.site else "", self.url or ""]
        return " ".join(p for p in [*head, *tail] if p)

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "authors": self.authors,
            "when": self.when,
            "title": self.title,
            "site": self.site,
            "url": self.url,
        }


def apa_author(name: str) -> str:
    """ "John Collins" -> "Collins, J."; names already in APA form are kept."""
    name = " ".join(name.split())
    if _INITIALS.match(name):
        return name
    words = name.split(" ")
    if len(words) == 1:
        return name  # an organisation or a single name
    cut = len(words) - 1
    while cut > 1 and words[cut - 1].lower() in _PARTICLES:
        cut -= 1
    initials = " ".join(f"{w[0].upper()}." for w in words[:cut] if w[:1].isalpha())
    return f"{' '.join(words[cut:])}, {initials}".rstrip(", ")


def _join_authors(names: list[str], *, formatted: bool = False) -> str:
    names = [n.strip() if formatted else apa_author(n) for n in names if n.strip()]
    if not names:
        return ""
    if len(names) == 1:
        return names[0]
    if len(names) > 20:  # APA 7: the first 19, an ellipsis, the last
        names = [*names[:19], "…", names[-1]]
        return ", ".join(names)
    return ", ".join(names[:-1]) + ", & " + names[-1]


def _when(value: date | datetime | str | None) -> str:
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return f"({value})"
    if value is None:
        return "(n.d.)"
    return f"({value.year}, {value:%B} {value.day})"


def apa_of_article(article: Article, url: str | None) -> Apa:
    """A stored article as an APA reference (``url`` already checked as safe)."""
    return Apa(
        authors=_join_authors(list(article.authors)),
        when=_when(article.published),
        title=(article.title or "Untitled").strip().rstrip("."),
        site=(article.site_name or "").strip(),
        url=url,
    )


def apa_of_reference(citation: Citation, url: str | None) -> Apa:
    """A reference line the page prints, re-set from its parsed parts."""
    return Apa(
        # Parsed from an APA line: already "Last, I." each.
        authors=_join_authors(list(citation.authors), formatted=True),
        when=_when(citation.date),
        title=(citation.title or citation.name or "Untitled").strip().rstrip("."),
        site=(citation.publisher or "").strip(),
        url=url,
    )
