"""Which sources an article credits, read from the citations extraction found.

"Summary by X" names who wrote a summary, not where its facts came from, so
it is not a credit; references, links to other outlets and attributions
("according to X", "X reported") are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from newsloom.extract.citations import registered_host
from newsloom.types import Article

__all__ = ["Credit", "credits"]

_CREDIT_KINDS = ("reference", "link", "attribution")


@dataclass(slots=True, frozen=True)
class Credit:
    """One source an article names: an outlet, a URL or both."""

    kind: str
    name: str | None
    url: str | None
    domain: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "url": self.url, "domain": self.domain}

    def label(self) -> str:
        name = self.name or self.domain or self.url or "?"
        if self.domain and self.domain.lower() not in name.lower():
            return f"{name} ({self.domain})"
        return name


def credits(article: Article) -> list[Credit]:
    """The sources an article names, once each, in the order the page names them."""
    own = registered_host(article.url)
    seen: set[tuple[str | None, str | None]] = set()
    out: list[Credit] = []
    for citation in article.citations:
        if citation.kind not in _CREDIT_KINDS:
            continue
        domain = registered_host(citation.url)
        if domain is not None and domain == own:
            continue  # a link to the page's own site credits nobody
        name = citation.publisher or citation.name
        key = ((name or "").lower() or None, domain)
        if key in seen:
            continue
        seen.add(key)
        out.append(Credit(citation.kind, name, citation.url, domain))
    return out
