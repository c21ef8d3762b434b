"""Reference, "Summary by", attribution and link citations."""

from __future__ import annotations

from newsloom.extract.citations import (
    find_attributions,
    link_citations,
    parse_read_more,
    parse_reference,
    parse_summary_by,
)
from newsloom.extract.draft import Link


def test_apa_reference_with_several_authors_and_retrieval_line() -> None:
    line = (
        "Okafor, D., Marsh, L. K., & van Dijk, R. (2026, February 3). Live updates: Velmora "
        "bridge closed. The Velmora Courier. Retrieved February 4, 2026, from "
        "https://www.velmoracourier.example/news/2026/02/03/bridge-closed/"
    )
    ref = parse_reference(line)
    assert ref is not None
    assert ref.kind == "reference"
    assert ref.authors == ["Okafor, D.", "Marsh, L. K.", "van Dijk, R."] or ref.authors[:2] == [
        "Okafor, D.",
        "Marsh, L. K.",
    ]
    assert ref.date == "2026-02-03"
    assert ref.title == "Live updates: Velmora bridge closed"
    assert ref.publisher == "The Velmora Courier"
    assert ref.name == "The Velmora Courier"
    assert ref.url == "https://www.velmoracourier.example/news/2026/02/03/bridge-closed/"


def test_apa_reference_with_organisation_author_and_year_only() -> None:
    ref = parse_reference(
        "Velmora Port Authority. (2025). Annual safety report. https://port.example/report.pdf"
    )
    assert ref is not None
    assert ref.authors == ["Velmora Port Authority"]
    assert ref.date == "2025"
    assert ref.url == "https://port.example/report.pdf"


def test_ordinary_sentences_are_not_references() -> None:
    for line in (
        "The council met (briefly) on Tuesday. Nothing was decided.",
        "Officials said the bridge (built in 1961) would reopen.",
        "",
    ):
        assert parse_reference(line) is None


def test_summary_by() -> None:
    cited = parse_summary_by("Summary by Coastline Daily")
    assert cited is not None and cited.name == "Coastline Daily"
    assert (
        parse_summary_by("A summary by the committee was published on Friday and widely read.")
        is None
    )


def test_attributions_name_the_source_and_keep_the_sentence() -> None:
    paragraphs = [
        "The ferry will run every 20 minutes, according to the Velmora Port Authority. "
        "Tolls are suspended.",
        "Repairs could cost 2 million euros, Harbour Radio reported on Tuesday.",
        "He said the plan had been agreed. They reported no injuries.",
    ]
    found = {c.name: c.text for c in find_attributions(paragraphs)}
    assert set(found) == {"Velmora Port Authority", "Harbour Radio"}
    assert found["Harbour Radio"] == paragraphs[1]
    assert found["Velmora Port Authority"].endswith("Velmora Port Authority.")


def test_links_to_other_sites_only() -> None:
    links = [
        Link("our earlier story", "https://www.courier.example/news/1"),
        Link("the port notice", "https://port.example/notice"),
        Link("the port notice again", "https://port.example/notice"),
        Link("mail", "mailto:desk@courier.example"),
    ]
    cited = link_citations(links, "https://courier.example/news/2")
    assert [(c.name, c.url) for c in cited] == [("port.example", "https://port.example/notice")]


def test_syndication_credit_and_read_more_teaser() -> None:
    paragraphs = [
        "This report was first published by the Harbour Gazette and is shared under licence.",
        "Photographs courtesy of Tesk Valley Radio.",
    ]
    names = [c.name for c in find_attributions(paragraphs)]
    assert names == ["Harbour Gazette", "Tesk Valley Radio"]
    teaser = parse_read_more("Read more: Ferry saved after petition (Velmora Courier)")
    assert teaser is not None and teaser.name == "Velmora Courier" and teaser.kind == "link"
    assert parse_read_more("Read more: our earlier coverage") is None
