"""Extraction of the whole demo corpus against its ground truth."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from newsloom.demo import corpus_path, load_ground_truth
from newsloom.pipeline import extract_pages
from newsloom.read import read_sources
from newsloom.settings import Settings
from newsloom.types import Article, Failure

TRUTH = load_ground_truth()


@pytest.fixture(scope="module")
def extracted() -> dict[str, Article]:
    corpus = corpus_path()
    by_key: dict[str, Article] = {}
    failures: list[Failure] = []
    for item in extract_pages(read_sources([str(corpus)], Settings()), Settings()):
        if isinstance(item, Failure):
            failures.append(item)
            continue
        source = Path(item.source.split("#")[0])
        key = source.relative_to(corpus).as_posix() if source.is_absolute() else item.source
        by_key[key] = item
        if item.url:
            by_key[item.url] = item
    assert failures == []
    return by_key


def _doc(extracted: dict[str, Article], key: str) -> Article:
    assert key in extracted, f"{key} was not extracted"
    return extracted[key]


@pytest.mark.parametrize("key", sorted(TRUTH["documents"]))
def test_title_date_and_authors(extracted: dict[str, Article], key: str) -> None:
    truth = TRUTH["documents"][key]
    article = _doc(extracted, key)
    assert article.title == truth["title"]
    if truth.get("published_shown") is False:
        assert article.published is None  # only a page date beside the weather
    elif truth.get("published"):
        expected = datetime.fromisoformat(truth["published"])
        assert article.published is not None, "no publication date"
        if truth.get("published_precision") == "day":
            assert article.published.date() == expected.date()
        else:
            assert article.published == expected
    if truth.get("authors"):
        assert article.authors == truth["authors"]


@pytest.mark.parametrize("case", TRUTH["mojibake"], ids=lambda c: c["kind"])
def test_mojibake_pages_are_repaired(extracted: dict[str, Article], case: dict) -> None:
    article = _doc(extracted, case["doc"])
    text = "\n".join([article.title or "", *article.paragraphs])
    for clean in case["clean"]:
        if clean.startswith("©"):
            continue  # footer line, removed with the page furniture
        assert clean in text
    for broken in case["broken"]:
        assert broken not in text
    assert any(r.kind == "mojibake" for r in article.repairs)


@pytest.mark.parametrize("case", TRUTH["chrome"], ids=lambda c: c["doc"].split("/")[1])
def test_chrome_is_removed_and_body_kept(extracted: dict[str, Article], case: dict) -> None:
    article = _doc(extracted, case["doc"])
    for line in case["remove"]:
        assert line not in article.paragraphs
        assert line != article.title
    kept = [article.title, *article.paragraphs]
    for line in case["keep"]:
        assert line in kept


def test_summary_page_cites_its_source(extracted: dict[str, Article]) -> None:
    summaries = [e for e in TRUTH["provenance"] if e["relation"] == "summary" and e["attributed"]]
    assert summaries
    for edge in summaries:
        article = _doc(extracted, edge["derived"])
        source = TRUTH["documents"][edge["source"]]
        named = {(c.name or "").casefold() for c in article.citations}
        urls = " ".join(c.url or "" for c in article.citations)
        assert source["outlet"].casefold() in named or source["domain"] in urls
