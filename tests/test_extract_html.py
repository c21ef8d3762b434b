"""HTML extraction: main text, page furniture, metadata, dates, links, bad input."""

from __future__ import annotations

import gzip
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newsloom.errors import ExtractionError
from newsloom.extract.html import extract_html

BODY = [
    "Harbour officials in Velmora closed the Quayside Bridge on Monday after inspectors found "
    "corrosion in two of its steel cables, diverting about 14,000 vehicles a day.",
    "The closure is expected to last three weeks, city engineer Dana Okafor told reporters at a "
    "briefing, adding that a ferry service would run every 20 minutes in the meantime.",
    "Shop owners on the east bank said they feared losing customers during the busiest weeks of "
    "the tourist season, and asked the council for a temporary cut in business rates.",
    "The bridge, opened in 1962, last had its cables replaced in 1998. A full inspection report "
    "will be published next month, the harbour authority said in a statement.",
]
TITLE = "Velmora shuts Quayside Bridge after cable corrosion found"
NAV = ["Home", "World", "Business", "Sport", "Weather"]


def page(
    *,
    head: str = "",
    body: list[str] | None = None,
    extra: str = "",
    lang: str = "en",
) -> str:
    paragraphs = "\n".join(f"<p>{p}</p>" for p in (BODY if body is None else body))
    nav = "".join(f'<li><a href="/{n.lower()}">{n}</a></li>' for n in NAV)
    return f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{TITLE} | Velmora Courier</title>
{head}</head>
<body>
<header><nav><ul>{nav}</ul></nav></header>
<main><article>
<h1>{TITLE}</h1>
{paragraphs}
{extra}
</article></main>
<footer><p>© 2026 Velmora Courier. All rights reserved.</p>
<ul><li><a href="/privacy">Privacy policy</a></li><li><a href="/terms">Terms of use</a></li></ul>
</footer>
</body></html>"""


def test_main_text_is_kept_and_navigation_and_footer_dropped() -> None:
    draft = extract_html(page(), url="https://courier.example/news/bridge")
    assert draft.paragraphs == BODY
    text = "\n".join(draft.paragraphs)
    for item in NAV:
        assert item not in draft.paragraphs
    assert "All rights reserved" not in text
    assert "Privacy policy" not in text


def test_title_is_read_and_not_repeated_in_the_text() -> None:
    draft = extract_html(page(head=f'<meta property="og:title" content="{TITLE}">'))
    assert draft.title == TITLE
    assert TITLE not in draft.paragraphs
    assert any(r.kind == "duplicate_title" for r in draft.repairs)


def test_headings_and_list_items_are_their_own_paragraphs() -> None:
    extra = (
        "<h2>What happens next</h2>"
        "<ul><li>Ferries every 20 minutes from the west pier until the bridge reopens</li>"
        "<li>Free parking at the east bank for residents with a permit</li></ul>"
    )
    draft = extract_html(page(extra=extra))
    assert "What happens next" in draft.paragraphs
    assert "Ferries every 20 minutes from the west pier until the bridge reopens" in (
        draft.paragraphs
    )
    assert all(p.strip() == p and p for p in draft.paragraphs)


def test_json_ld_publication_date_wins_with_its_source_and_offset() -> None:
    ld = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": TITLE,
        "datePublished": "2026-02-02T09:30:00+01:00",
        "dateModified": "2026-02-03T12:00:00+01:00",
    }
    head = f'<script type="application/ld+json">{json.dumps(ld)}</script>'
    draft = extract_html(page(head=head))
    assert draft.published == datetime(2026, 2, 2, 8, 30, tzinfo=UTC)
    assert draft.published.utcoffset() == timedelta(hours=1)
    assert draft.date_source == "json-ld:datePublished"


def test_meta_published_time_without_offset_is_taken_as_utc() -> None:
    head = '<meta property="article:published_time" content="2025-11-20T18:05:00">'
    draft = extract_html(page(head=head))
    assert draft.published == datetime(2025, 11, 20, 18, 5, tzinfo=UTC)
    assert draft.date_source == "meta:article:published_time"


def test_date_without_structured_markup_comes_from_htmldate() -> None:
    extra = '<p class="date">Published <time datetime="2024-06-11">June 11, 2024</time></p>'
    draft = extract_html(page(extra=extra), url="https://courier.example/news/bridge")
    assert draft.published is not None
    assert draft.published.date().isoformat() == "2024-06-11"
    assert draft.published.tzinfo is not None
    assert draft.date_source == "htmldate:original"


def test_no_date_anywhere_gives_none() -> None:
    draft = extract_html(page())
    assert draft.published is None
    assert draft.date_source is None


def test_canonical_url_is_made_absolute_against_the_page_url() -> None:
    head = '<link rel="canonical" href="/news/bridge-closed">'
    draft = extract_html(page(head=head), url="https://courier.example/amp/news/bridge?x=1")
    assert draft.canonical_url == "https://courier.example/news/bridge-closed"


def test_og_url_is_the_canonical_fallback() -> None:
    head = '<meta property="og:url" content="https://courier.example/news/bridge">'
    assert extract_html(page(head=head)).canonical_url == "https://courier.example/news/bridge"


def test_links_inside_the_article_are_kept_absolute_and_navigation_links_are_not() -> None:
    body = [
        *BODY[:2],
        'The inspection followed <a href="https://harbour.example/report.pdf">a report by the '
        'harbour authority</a>, first covered by <a href="/news/cables">our earlier story</a> '
        "in January, which found rust on several anchor points.",
        *BODY[2:],
    ]
    draft = extract_html(page(body=body), url="https://courier.example/news/bridge")
    hrefs = {link.href: link.text for link in draft.links}
    assert hrefs["https://harbour.example/report.pdf"] == "a report by the harbour authority"
    assert hrefs["https://courier.example/news/cables"] == "our earlier story"
    assert "https://courier.example/home" not in hrefs
    assert "https://courier.example/privacy" not in hrefs


def test_relative_links_follow_the_base_element() -> None:
    body = [
        *BODY[:2],
        'Engineers first flagged the problem in <a href="cables-2025">a survey last spring</a>, '
        "according to minutes of the harbour board published on its website.",
    ]
    head = '<base href="https://archive.courier.example/news/"><link rel="canonical" href="/x">'
    draft = extract_html(page(head=head, body=body), url="https://courier.example/news/bridge")
    assert [link.href for link in draft.links] == [
        "https://archive.courier.example/news/cables-2025"
    ]


def test_related_links_and_promo_lines_are_set_aside_as_chrome() -> None:
    teasers = "".join(
        f'<li><a href="/news/{i}">Other story number {i} about the harbour</a></li>'
        for i in range(4)
    )
    extra = (
        '<p>Read more: <a href="/news/ferries">Ferry timetable changes for the summer</a></p>'
        f"<h3>Related articles</h3><ul>{teasers}</ul>"
    )
    draft = extract_html(page(extra=extra))
    text = "\n".join(draft.paragraphs)
    assert "Ferry timetable changes" not in text
    assert "Other story number" not in text
    assert "Read more: Ferry timetable changes for the summer" in draft.chrome
    assert TITLE not in draft.chrome
    assert draft.paragraphs[-1] == BODY[-1]


def test_credit_and_teaser_lines_become_citations_not_text() -> None:
    extra = (
        "<p>Summary by Global Headlines Today</p>"
        '<p>Read more: <a href="https://gazette.example/bridge">Bridge to close for repairs</a>'
        " (Harbour Gazette)</p>"
    )
    draft = extract_html(page(extra=extra), url="https://courier.example/news/bridge")
    assert draft.paragraphs == BODY
    by_kind = {c.kind: c for c in draft.citations}
    assert by_kind["summary_by"].name == "Global Headlines Today"
    assert by_kind["link"].name == "Harbour Gazette"
    assert by_kind["link"].url == "https://gazette.example/bridge"


def test_authors_are_split_into_names() -> None:
    head = '<meta name="author" content="Mira Castell and Dana Okafor">'
    assert extract_html(page(head=head)).authors == ["Mira Castell", "Dana Okafor"]


def test_byline_in_the_page_gives_the_author_when_meta_tags_do_not() -> None:
    extra = '<p class="byline">By <a rel="author" href="/staff/mira">Mira Castell</a></p>'
    assert extract_html(page(extra=extra)).authors == ["Mira Castell"]


def test_language_site_name_and_description() -> None:
    head = (
        '<meta property="og:site_name" content="Velmora Courier">'
        '<meta name="description" content="The bridge will stay shut for three weeks.">'
    )
    draft = extract_html(page(head=head, lang="en-GB"))
    assert draft.language == "en"
    assert draft.site_name == "Velmora Courier"
    assert draft.description == "The bridge will stay shut for three weeks."


def test_fragment_without_html_wrapper_is_accepted() -> None:
    fragment = "".join(f"<p>{p}</p>" for p in BODY)
    assert extract_html(fragment).paragraphs == BODY


@pytest.mark.parametrize(
    "html",
    [
        "",
        "   \n",
        "<html><head><title>Nothing here</title></head><body></body></html>",
        "<html><body><script>var a = 1;</script><style>p {}</style></body></html>",
        "<html><body><nav><a href='/a'>Home</a> <a href='/b'>News</a></nav></body></html>",
    ],
    ids=["empty", "blank", "no-body", "script-only", "nav-only"],
)
def test_pages_without_main_text_raise_extraction_error(html: str) -> None:
    with pytest.raises(ExtractionError):
        extract_html(html, url="https://courier.example/empty")


@pytest.mark.parametrize(
    "html",
    [
        page().replace("</p>", "", 3).replace("</article>", ""),
        page().replace("<p>", "<p>\x00\x01", 2),
        page().replace("Harbour", "Harbour \ud800"),
        page(head='<script type="application/ld+json">{"datePublished": "tomorrow",</script>'),
        page(head='<link rel="canonical" href="http://[::1"><meta property="og:url" content="x">'),
        '<?xml version="1.0" encoding="utf-8"?>' + page(),
        "<div>" * 5000 + "".join(f"<p>{p}</p>" for p in BODY) + "</div>" * 5000,
        "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + "\x00\xff" * 500,
        "<html><body>" + "<p>" * 3000 + BODY[0],
    ],
    ids=[
        "unclosed",
        "nul-bytes",
        "lone-surrogate",
        "broken-json-ld",
        "bad-urls",
        "xml-declaration",
        "deep-nesting",
        "binary",
        "unclosed-p-storm",
    ],
)
def test_broken_input_gives_a_draft_or_extraction_error(html: str) -> None:
    try:
        draft = extract_html(html, url="https://courier.example/news/bridge")
    except ExtractionError:
        return
    assert all(isinstance(p, str) and p.strip() for p in draft.paragraphs)


def test_broken_markup_still_yields_the_article() -> None:
    broken = page().replace("</p>", "", 3).replace("</article>", "").replace("</main>", "")
    text = "\n".join(extract_html(broken).paragraphs)
    assert "Quayside Bridge" in text
    assert "tourist season" in text


def test_non_text_input_is_an_extraction_error() -> None:
    with pytest.raises(ExtractionError):
        extract_html(b"<html><body><p>bytes</p></body></html>")  # type: ignore[arg-type]


SHARED = Path(os.environ.get("NEWSLOOM_SHARED", Path(__file__).resolve().parents[2] / "shared"))
ZYTE = SHARED / "data" / "zyte_article_extraction_benchmark"


@pytest.mark.skipif(not ZYTE.is_dir(), reason="shared Zyte benchmark not available")
def test_real_pages_from_the_zyte_benchmark() -> None:
    truth = json.loads((ZYTE / "ground-truth.json").read_text(encoding="utf-8"))
    for key in sorted(truth)[:3]:
        html = gzip.decompress((ZYTE / "html" / f"{key}.html.gz").read_bytes()).decode("utf-8")
        draft = extract_html(html, url=truth[key]["url"])
        expected = truth[key]["articleBody"].split()
        words = " ".join(draft.paragraphs).split()
        # Most of the gold text's opening words are found in the extraction, in order.
        opening = " ".join(expected[:12])
        assert opening in " ".join(words), key
        assert draft.title
