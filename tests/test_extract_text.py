"""Text-mode extraction on page dumps written for these tests."""

from __future__ import annotations

from datetime import date

import pytest

import newsloom
from newsloom.errors import ExtractionError
from newsloom.extract.text import extract_text

BODY = [
    "Harbour officials in Velmora closed the Quayside Bridge on Monday after inspectors found "
    "corrosion in two of its steel cables, diverting about 14,000 vehicles a day.",
    "The closure is expected to last three weeks, city engineer Dana Okafor told reporters at a "
    "briefing, adding that a ferry service would run every 20 minutes in the meantime.",
    "Shop owners on the east bank said they feared losing customers during the busiest weeks of "
    "the tourist season.",
]


def page(*lines: str) -> str:
    return "\n".join(lines) + "\n"


def test_header_weather_date_and_footer_are_removed() -> None:
    text = page(
        "-3 °C",
        "Velmora",
        "Monday, February 2, 2026",
        "",
        "Velmora shuts Quayside Bridge after cable corrosion found",
        "",
        *[f"{p}\n" for p in BODY],
        "Mira Castell",
        "Mira Castell",
        "Mira is a reporter covering city hall and transport for the Velmora Courier.",
        "",
        "Latest Posts",
        "",
        "Don't Miss",
        "Ferry timetable changes this weekend",
        "",
        "Stay in touch",
        "Subscribe to our newsletter for the latest news, offers and special announcements.",
    )
    draft = extract_text(text)
    assert draft.title == "Velmora shuts Quayside Bridge after cable corrosion found"
    assert draft.paragraphs == BODY
    assert draft.authors == ["Mira Castell"]
    assert draft.published is None  # the date beside the weather is the viewing day
    assert any(r.kind == "page_date" for r in draft.repairs)


def test_counters_dates_and_repeated_title_in_aggregator_layout() -> None:
    title = "Velmora shuts Quayside Bridge after cable corrosion found"
    text = page(
        "Feb 3, 2026",
        "4 mins read",
        "1,204 views",
        "4 mins read",
        "",
        title,
        "",
        title,
        "",
        "Summary by Coastline Daily",
        "",
        BODY[0],
        "",
        title,
        "",
        "Here's what to know",
        "",
        "  • " + BODY[1],
        "  • " + BODY[2],
    )
    article = newsloom.extract(text, kind="text")
    assert article.title == title
    assert title not in article.paragraphs
    assert article.published is not None and article.published.date() == date(2026, 2, 3)
    assert article.date_source == "text:header"
    assert article.stated_read_minutes == 4
    assert article.stated_views == 1204
    assert [c.name for c in article.citations if c.kind == "summary_by"] == ["Coastline Daily"]
    assert (
        BODY[1] in article.paragraphs and BODY[2] in article.paragraphs
    )  # bullets kept, marks gone
    dup = [r for r in article.repairs if r.kind == "duplicate_title"]
    assert dup and dup[0].count == 2


def test_hard_wrapped_paragraphs_are_joined() -> None:
    words = BODY[0].split()
    wrapped = []
    line = ""
    for word in words + BODY[1].split():
        if len(line) + len(word) > 60:
            wrapped.append(line.strip())
            line = ""
        line += " " + word
    wrapped.append(line.strip())
    draft = extract_text(page("A headline about the bridge", "", *wrapped))
    assert draft.paragraphs == [BODY[0] + " " + BODY[1]]


def test_byline_after_headline() -> None:
    draft = extract_text(page("Bridge reopens early", "By Dana Okafor and Lee Marsh", "", BODY[0]))
    assert draft.authors == ["Dana Okafor", "Lee Marsh"]
    assert draft.paragraphs == [BODY[0]]


def test_given_title_is_not_guessed() -> None:
    short_lead = "The bridge is shut."
    draft = extract_text(page(short_lead, "", BODY[0]), title="Bridge shut")
    assert draft.title == "Bridge shut"
    assert draft.paragraphs[0] == short_lead


@pytest.mark.parametrize("text", ["", "\n\n  \n", "Latest Posts\nStay in touch\n"])
def test_empty_pages_raise_extraction_error(text: str) -> None:
    with pytest.raises(ExtractionError):
        newsloom.extract(text, kind="text")


def test_read_time_is_computed_from_words() -> None:
    body = " ".join(["word"] * 700)
    article = newsloom.extract(page("A long report on bridges", "", body), kind="text")
    assert article.word_count == 700
    assert article.read_minutes == 4  # 700 words at 230 words per minute, rounded up
