"""Markdown and text rendering of articles."""

from __future__ import annotations

from datetime import UTC, datetime

from newsloom.formats import article_markdown, article_text, byline
from newsloom.types import Article, Citation


def _article(**changes: object) -> Article:
    fields: dict[str, object] = {
        "id": "abc123",
        "url": "https://courier.example/a",
        "canonical_url": "https://courier.example/a",
        "site_name": "Velmora Courier",
        "title": "Bridge shut",
        "authors": ["Dana Okafor", "Lee Marsh"],
        "published": datetime(2026, 2, 3, tzinfo=UTC),
        "date_source": "meta",
        "language": "en",
        "paragraphs": ["First paragraph.", "Second paragraph."],
        "word_count": 4,
        "read_minutes": 1,
        "citations": [Citation(kind="summary_by", name="Coastline Daily")],
    }
    fields.update(changes)
    return Article(**fields)  # type: ignore[arg-type]


def test_byline_lists_known_parts() -> None:
    assert (
        byline(_article())
        == "By Dana Okafor and Lee Marsh · Velmora Courier · 2026-02-03 · 1 min read"
    )
    assert byline(_article(authors=[], site_name=None, published=None)) == "1 min read"


def test_text_is_title_and_paragraphs() -> None:
    assert article_text(_article()) == "Bridge shut\n\nFirst paragraph.\n\nSecond paragraph.\n"


def test_markdown_escapes_page_text() -> None:
    hostile = _article(
        title="[click](javascript:alert(1))",
        paragraphs=["<script>alert(1)</script> and *bold* and # heading"],
    )
    md = article_markdown(hostile)
    assert "](javascript" not in md.replace("\\]", "")
    assert "<script>" not in md
    assert "\\*bold\\*" in md
    assert "Summary by: Coastline Daily" in md


def test_markdown_original_link_cannot_be_broken_out_of() -> None:
    hostile = _article(url='https://news.example/a?q=1><img src=x onerror="alert(1)">&b=2')
    md = article_markdown(hostile)
    line = next(x for x in md.splitlines() if x.startswith("Original: "))
    # One autolink, no markup after it: the angle brackets and quotes are escaped.
    assert line == (
        "Original: <https://news.example/a?q=1%3E%3Cimg%20src=x%20onerror=%22alert(1)%22%3E&b=2>"
    )
    plain = article_markdown(_article(url="javascript:alert(1)//<b>"))
    assert "<javascript" not in plain and "<b>" not in plain
