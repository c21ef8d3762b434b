"""Build Article records for tests: only what a test cares about is spelled out."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from newsloom.types import Article

DEFAULT_PARAGRAPHS = (
    "The city council voted on Tuesday to fund a new bridge over the river.",
    "Construction should start next spring, officials said.",
)


def make_article(
    article_id: str = "a1",
    *,
    title: str | None = "Council approves new bridge",
    paragraphs: list[str] | None = None,
    published: datetime | None = None,
    **changes: object,
) -> Article:
    """An English article with no URL, site or byline unless ``changes`` gives them."""
    paragraphs = list(DEFAULT_PARAGRAPHS) if paragraphs is None else paragraphs
    article = Article(
        id=article_id,
        url=None,
        canonical_url=None,
        site_name=None,
        title=title,
        authors=[],
        published=published,
        date_source=None,
        language="en",
        paragraphs=paragraphs,
        word_count=sum(len(p.split()) for p in paragraphs),
        read_minutes=1,
    )
    return replace(article, **changes) if changes else article
