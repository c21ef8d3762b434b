"""The two seed pages are the acceptance cases of extraction."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import newsloom
from newsloom.extract.encoding import repair_mojibake


def _long_lines(path: Path) -> list[str]:
    return [
        line.strip()
        for line in path.read_text(encoding="utf-8").splitlines()
        if len(line.split()) >= 8
    ]


def test_seed000_mojibake_is_repaired(seed000: Path) -> None:
    raw = seed000.read_text(encoding="utf-8")
    assert "โ" in raw and "ล" in raw  # the seed really is damaged
    article = newsloom.extract(seed000.read_bytes())
    text = article.text
    for broken in ("โ", "ล", "€"):
        assert broken not in text
    assert "Przemyśl" in text
    # Every quotation that opens also closes with a curly quote.
    assert text.count("“") == text.count("”")
    repaired = [p for p in article.paragraphs if p.startswith("“We hope")]
    assert repaired and repaired[0].count("”") == 1
    assert any(r.kind == "mojibake" for r in article.repairs)


def test_seed000_title_and_chrome(seed000: Path) -> None:
    article = newsloom.extract(seed000.read_bytes())
    headline = _long_lines(seed000)[0]
    assert article.title == headline
    text = article.text
    for chrome in ("Latest Posts", "Don't Miss", "Stay in touch", "New York\n", "2.1 C"):
        assert chrome not in text
    assert "esteemed journalist" not in text
    assert "January 11, 2025" not in text
    # The weather header's date is the day the page was saved, not a publication date.
    assert article.published is None
    assert article.authors == ["John Collins"]


def test_seed000_body_is_complete(seed000: Path) -> None:
    article = newsloom.extract(seed000.read_bytes())
    fixed, _ = repair_mojibake(seed000.read_text(encoding="utf-8"))
    lines = [line.strip() for line in fixed.splitlines() if len(line.split()) >= 8]
    body = [line for line in lines[1:] if "journalist" not in line and "latest news" not in line]
    assert len(body) >= 20
    for line in body:
        assert line in article.paragraphs, line[:60]


def test_seed004_metadata(seed004: Path) -> None:
    article = newsloom.extract(seed004.read_bytes())
    headline = _long_lines(seed004)[0]
    assert article.title == headline
    assert headline not in article.paragraphs
    assert article.published is not None and article.published.date() == date(2023, 3, 21)
    assert article.published.tzinfo is not None
    assert article.stated_read_minutes == 6
    assert article.stated_views == 27
    assert "mins read" not in article.text and "views" not in article.paragraphs[0]


def test_seed004_citations(seed004: Path) -> None:
    article = newsloom.extract(seed004.read_bytes())
    summary = [c for c in article.citations if c.kind == "summary_by"]
    assert [c.name for c in summary] == ["Global Headlines Today"]
    references = [c for c in article.citations if c.kind == "reference"]
    assert len(references) == 1
    ref = references[0]
    assert ref.url and "washingtonpost.com" in ref.url
    assert ref.date == "2023-03-21"
    assert ref.publisher == "The Washington Post"
    assert len(ref.authors) == 6 and ref.authors[0].startswith("Suliman")
    assert ref.title and ref.title.startswith("Live updates")
    # The reference line is a citation, not article text.
    assert not any(p.startswith("Suliman, A.") for p in article.paragraphs)
    names = {c.name for c in article.citations if c.kind == "attribution"}
    assert {"Reuters", "CCTV"} <= names


def test_seed_json_has_contract_fields(seed004: Path) -> None:
    data = newsloom.extract(seed004.read_bytes()).to_dict()
    for key in (
        "id", "url", "title", "authors", "published", "date_source", "site_name", "language",
        "text", "paragraphs", "word_count", "read_minutes", "stated_read_minutes",
        "stated_views", "citations", "repairs",
    ):  # fmt: skip
        assert key in data
    assert data["language"] == "en"
    assert data["read_minutes"] >= 1 and data["word_count"] > 500
