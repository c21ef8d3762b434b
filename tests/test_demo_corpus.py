"""The demo corpus and its ground truth agree with each other.

These tests read the corpus with lxml, feedparser and warcio only, never with
newsloom's own readers or extractor: the ground truth is what those are
measured against, so it must stand on its own.
"""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import ftfy
import lxml.html
import pytest
from warcio.archiveiterator import ArchiveIterator

from newsloom.demo import corpus_path, load_ground_truth, resource_path
from newsloom.demo.build_warc import PAGES as WARC_PAGES
from newsloom.demo.build_warc import build
from newsloom.demo.mojibake import PAGES as MOJIBAKE_PAGES
from newsloom.demo.mojibake import corrupt, cp874_mojibake, cp1252_mojibake, render
from newsloom.demo.reference import normalize, reference_text, reference_texts

RELATIONS = {"duplicate", "near_copy", "rewrite", "summary", "quotes", "independent"}
KINDS = {"number", "duration", "date", "place", "person", "quote"}
FORMATS = {"html", "text", "rss", "warc", "jsonl"}


@pytest.fixture(scope="module")
def truth() -> dict:
    return load_ground_truth()


@pytest.fixture(scope="module")
def corpus() -> Path:
    return corpus_path()


@pytest.fixture(scope="module")
def texts(truth: dict) -> dict[str, str]:
    return reference_texts(truth)


def docs_of(truth: dict, fmt: str) -> dict[str, dict]:
    return {k: d for k, d in truth["documents"].items() if d["format"] == fmt}


def html_tree(path: Path) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(path.read_bytes())


def clean_page(truth: dict, key: str) -> str:
    """The page as saved, except that mojibake pages are read from their clean source."""
    for page in truth["mojibake"]:
        if page["doc"] == key:
            folder, _, rest = page["source"].partition("/")
            return (resource_path(folder) / rest).read_text(encoding="utf-8")
    return (corpus_path() / key).read_text(encoding="utf-8")


# ---------------------------------------------------------------------------
# Package API
# ---------------------------------------------------------------------------


def test_corpus_path_is_a_folder_with_every_format(corpus: Path) -> None:
    assert corpus.is_dir()
    for sub in ("html", "text", "feeds", "archive", "jsonl"):
        assert (corpus / sub).is_dir(), sub


def test_script_inputs_stay_outside_the_corpus(corpus: Path) -> None:
    # The ingest walks corpus/; the clean mojibake sources and the WARC's
    # pages must not be read a second time from there.
    for folder in ("mojibake_src", "warc_src"):
        source = resource_path(folder)
        assert source.is_dir()
        assert corpus not in source.parents


def test_ground_truth_loads_as_plain_json(truth: dict) -> None:
    assert truth["version"] == 1
    for section in (
        "documents",
        "stories",
        "provenance",
        "conflicts",
        "non_conflicts",
        "mojibake",
        "chrome",
        "titles",
    ):
        assert section in truth, section
    # load_ground_truth hands out the parsed file, not a shared object to mutate.
    assert json.loads(json.dumps(truth)) == truth


# ---------------------------------------------------------------------------
# Documents and stories
# ---------------------------------------------------------------------------


def test_every_file_document_exists(truth: dict, corpus: Path) -> None:
    for key, doc in truth["documents"].items():
        if doc["format"] in ("html", "text"):
            assert (corpus / key).is_file(), key
            assert "container" not in doc
        else:
            assert key == doc["url"], "entries inside a container are keyed by URL"
            assert (corpus / doc["container"]).is_file(), doc["container"]


def test_every_corpus_file_is_documented(truth: dict, corpus: Path) -> None:
    documented = {k for k, d in truth["documents"].items() if d["format"] in ("html", "text")}
    documented |= {d["container"] for d in truth["documents"].values() if "container" in d}
    on_disk = {p.relative_to(corpus).as_posix() for p in corpus.rglob("*") if p.is_file()}
    assert on_disk == documented


def test_document_fields(truth: dict) -> None:
    assert len(truth["documents"]) >= 20
    ids = Counter(d["id"] for d in truth["documents"].values())
    assert max(ids.values()) == 1
    for key, doc in truth["documents"].items():
        assert doc["format"] in FORMATS, key
        assert doc["title"], key
        assert doc["outlet"], key
        host = urlsplit(doc["url"]).hostname or ""
        assert host == doc["domain"], key
        assert host.endswith(".example"), "every outlet is fictional"
        published = datetime.fromisoformat(doc["published"])
        assert published.tzinfo is not None, key
        assert published.year == 2026, key


def test_text_pages_show_their_publication_day(truth: dict) -> None:
    for key, doc in docs_of(truth, "text").items():
        assert doc["published_precision"] == "day"
        day = datetime.fromisoformat(doc["published"])
        shown = {f"{day:%B} {day.day}, {day.year}", f"{day:%b} {day.day}, {day.year}"}
        page = clean_page(truth, key)
        assert any(form in page for form in shown), key


def test_each_format_is_present(truth: dict) -> None:
    counts = Counter(d["format"] for d in truth["documents"].values())
    assert counts["rss"] >= 3
    assert counts["warc"] >= 3
    assert counts["jsonl"] >= 2
    assert counts["html"] >= 5
    assert counts["text"] >= 2


def test_stories_have_three_to_six_outlets(truth: dict) -> None:
    assert len(truth["stories"]) >= 4
    seen: set[str] = set()
    for story in truth["stories"]:
        members = story["documents"]
        assert members, story["id"]
        for key in members:
            assert truth["documents"][key]["story"] == story["id"]
        outlets = {truth["documents"][key]["outlet"] for key in members}
        assert 3 <= len(outlets) <= 6, story["id"]
        assert sorted(outlets) == story["outlets"]
        seen.update(members)
    assert seen == set(truth["documents"]), "every document belongs to one listed story"


def test_articles_are_250_to_600_words(truth: dict, texts: dict[str, str]) -> None:
    for key in truth["documents"]:
        words = len(texts[key].split())
        assert 250 <= words <= 600, (key, words)


# ---------------------------------------------------------------------------
# Planted cases
# ---------------------------------------------------------------------------


def test_provenance_edges(truth: dict) -> None:
    docs = truth["documents"]
    relations = Counter()
    for edge in truth["provenance"]:
        assert edge["relation"] in RELATIONS
        assert isinstance(edge["attributed"], bool)
        assert edge["derived"] != edge["source"]
        assert docs[edge["derived"]]["story"] == docs[edge["source"]]["story"]
        assert edge["notes"]
        relations[edge["relation"]] += 1
    for needed in ("duplicate", "rewrite", "summary", "independent"):
        assert relations[needed] >= 1, needed


def test_verbatim_copy_has_the_same_body(truth: dict, corpus: Path) -> None:
    (edge,) = [e for e in truth["provenance"] if e["relation"] == "duplicate"]

    def paragraphs(key: str) -> list[str]:
        (article,) = html_tree(corpus / key).xpath("//article")
        return [normalize(p.text_content()) for p in article.xpath(".//p")]

    # Body paragraphs are the long ones; standfirst, byline and dateline are short.
    body = [p for p in paragraphs(edge["source"]) if len(p.split()) >= 25]
    assert len(body) >= 8
    derived = paragraphs(edge["derived"])
    assert [p for p in derived if p in body] == body
    source_page = (corpus / edge["source"]).read_text(encoding="utf-8")
    derived_page = (corpus / edge["derived"]).read_text(encoding="utf-8")
    assert source_page != derived_page


def test_spun_copy_is_later_uncredited_and_drifted(truth: dict, texts: dict[str, str]) -> None:
    (edge,) = [e for e in truth["provenance"] if e["relation"] == "rewrite"]
    docs = truth["documents"]
    assert edge["attributed"] is False
    source, derived = docs[edge["source"]], docs[edge["derived"]]
    delay = datetime.fromisoformat(derived["published"]) - datetime.fromisoformat(
        source["published"]
    )
    assert 0 < delay.total_seconds() <= 2 * 86400
    assert source["outlet"] not in texts[edge["derived"]], "no credit to the source"
    assert source["authors"] != derived["authors"]
    drifted = [
        c
        for c in truth["conflicts"]
        if {c["a"]["doc"], c["b"]["doc"]} == {edge["source"], edge["derived"]}
    ]
    assert 2 <= len(drifted) <= 4
    assert {c["kind"] for c in drifted} >= {"duration", "place", "person"}


def test_summary_page_layout(truth: dict) -> None:
    (edge,) = [e for e in truth["provenance"] if e["relation"] == "summary"]
    assert edge["attributed"] is True
    source = truth["documents"][edge["source"]]
    page = (corpus_path() / edge["derived"]).read_text(encoding="utf-8")
    lines = [line.strip() for line in page.splitlines() if line.strip()]
    assert re.fullmatch(r"[A-Z][a-z]{2} \d{1,2}, 2026", lines[0])
    assert re.fullmatch(r"\d+ mins read", lines[1])
    assert re.fullmatch(r"[\d,]+ views", lines[2])
    assert lines.count(source["title"]) == 2
    assert any(line.startswith("Summary by ") for line in lines)
    assert "Here's what to know" in lines
    assert sum(line.startswith("• ") for line in lines) >= 3
    reference = lines[-1]
    assert reference.endswith(f"from {source['url']}")
    assert re.match(
        r"^[A-Z][a-z]+, [A-Z]\., & [A-Z][a-z]+, [A-Z]\. \(2026, [A-Z][a-z]+ \d+\)\. ", reference
    )
    assert f". {source['outlet']}. Retrieved " in reference


def test_conflict_sentences_occur_in_their_documents(truth: dict, texts: dict[str, str]) -> None:
    for section in ("conflicts", "non_conflicts"):
        for item in truth[section]:
            assert item["kind"] in KINDS
            assert item["a"]["doc"] != item["b"]["doc"]
            for side in ("a", "b"):
                ref = item[side]
                assert truth["documents"][ref["doc"]]["story"] == item["story"]
                assert normalize(ref["sentence"]) in normalize(texts[ref["doc"]]), (
                    section,
                    ref,
                )
            assert item["explanation" if section == "conflicts" else "why"]


def test_conflicts_cover_the_planted_kinds(truth: dict) -> None:
    kinds = {c["kind"] for c in truth["conflicts"]}
    assert kinds >= {"number", "duration", "place", "person", "quote", "date"}
    non = {c["kind"] for c in truth["non_conflicts"]}
    assert non >= {"number", "duration", "date"}


def test_mojibake_generators() -> None:
    assert cp1252_mojibake("“café”") == "â€œcafÃ©â€\x9d"
    # 0x9D is undefined in both code pages the Thai decoder uses: it is lost.
    assert cp874_mojibake("“café”") == "โ€œcafรฉโ€"
    assert cp874_mojibake("it’s — ok") == "itโ€™s โ€” ok"
    assert corrupt("plain ASCII", "cp874") == "plain ASCII"
    with pytest.raises(ValueError):
        corrupt("x", "latin-9")


def test_mojibake_pages_are_reproduced_exactly(truth: dict, corpus: Path) -> None:
    documented = {(m["doc"], m["kind"]) for m in truth["mojibake"]}
    assert documented == set(MOJIBAKE_PAGES)
    for relative_path, kind in MOJIBAKE_PAGES:
        assert render(relative_path, kind) == (corpus / relative_path).read_bytes(), relative_path


def test_mojibake_strings(truth: dict, corpus: Path) -> None:
    for page in truth["mojibake"]:
        broken = (corpus / page["doc"]).read_text(encoding="utf-8")
        clean = clean_page(truth, page["doc"])
        assert page["clean"] and page["broken"]
        for good in page["clean"]:
            assert good in clean, good
            assert good not in broken, good
        for bad in page["broken"]:
            assert bad in broken, bad
            assert bad not in clean, bad
        if page["kind"] == "cp1252":
            assert ftfy.fix_text(broken, uncurl_quotes=False) == clean
        else:
            assert "\x9d" not in broken
            assert ftfy.fix_text(broken, uncurl_quotes=False) != clean


def test_chrome_expectations(truth: dict) -> None:
    assert truth["chrome"]
    for page in truth["chrome"]:
        lines = {line.strip() for line in clean_page(truth, page["doc"]).splitlines()}
        for line in page["remove"]:
            assert line in lines, line
        for line in page["keep"]:
            assert line in lines or any(line in text for text in lines), line
        assert not set(page["remove"]) & set(page["keep"])


def test_chrome_page_has_the_saved_page_layout(truth: dict) -> None:
    for page in truth["chrome"]:
        lines = [x.strip() for x in clean_page(truth, page["doc"]).splitlines() if x.strip()]
        # Weather reading, place, and the day the page was saved.
        assert re.fullmatch(r"-?\d+(\.\d)? C", lines[0])
        assert re.fullmatch(r"[A-Z][a-z]+day, [A-Z][a-z]+ \d{1,2}, 2026", lines[2])
        last_body_line = max(i for i, line in enumerate(lines) if line in page["keep"])
        headings = [lines.index(h) for h in ("Latest Posts", "Don't Miss", "Stay in touch")]
        assert last_body_line < headings[0] < headings[1] < headings[2]
        assert lines[-1] in page["remove"], "a subscribe line closes the page"


def test_title_differs_from_headline(truth: dict, corpus: Path) -> None:
    assert truth["titles"]
    for item in truth["titles"]:
        tree = html_tree(corpus / item["doc"])
        assert tree.findtext(".//title") == item["html_title"]
        (h1,) = tree.xpath("//article//h1")
        assert h1.text_content().strip() == item["headline"]
        assert item["html_title"] != item["headline"]


# ---------------------------------------------------------------------------
# Formats
# ---------------------------------------------------------------------------


def test_html_pages_carry_realistic_metadata(truth: dict, corpus: Path) -> None:
    for key, doc in docs_of(truth, "html").items():
        tree = html_tree(corpus / key)
        assert tree.get("lang", "").startswith("en"), key

        def meta(attr: str, name: str, tree: lxml.html.HtmlElement = tree) -> str | None:
            values = tree.xpath(f"//meta[@{attr}='{name}']/@content")
            return values[0] if values else None

        assert meta("property", "og:site_name") == doc["outlet"], key
        assert meta("property", "article:published_time") == doc["published"], key
        assert meta("name", "author"), key
        assert tree.xpath("//link[@rel='canonical']/@href") == [doc["url"]], key
        assert tree.findtext(".//title"), key
        assert tree.xpath("//nav|//*[@id='nav']"), key
        assert tree.xpath("//footer|//*[@id='footer']"), key
        assert "Most read" in tree.text_content(), key
        assert "cookie" in tree.text_content().lower(), key
        article = tree.xpath("//article")
        assert len(article) == 1, key
        assert len(article[0].xpath(".//p")) >= 5, key
        if "html_title" not in doc:
            (h1,) = article[0].xpath(".//h1")
            assert h1.text_content().strip() == doc["title"], key


def test_rss_feed(truth: dict, corpus: Path) -> None:
    entries = docs_of(truth, "rss")
    (container,) = {d["container"] for d in entries.values()}
    feed = feedparser.parse((corpus / container).read_bytes())
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "rss20"
    assert {e.link for e in feed.entries} == set(entries)
    for entry in feed.entries:
        doc = entries[entry.link]
        assert entry.title == doc["title"]
        assert entry.author == doc["authors"][0]
        published = datetime(*entry.published_parsed[:6]).isoformat() + "+00:00"
        assert published == doc["published"]
        html = entry.content[0].value
        assert html.count("<p>") >= 5
        assert entry.content[0].type == "text/html"


def test_warc_has_exactly_the_documented_responses(truth: dict, corpus: Path) -> None:
    entries = docs_of(truth, "warc")
    (container,) = {d["container"] for d in entries.values()}
    types: list[str] = []
    responses: dict[str, bytes] = {}
    with (corpus / container).open("rb") as stream:
        for record in ArchiveIterator(stream):
            types.append(record.rec_type)
            if record.rec_type == "response":
                assert record.http_headers.get_statuscode() == "200"
                content_type = record.http_headers.get_header("Content-Type")
                assert content_type.startswith("text/html")
                url = record.rec_headers.get_header("WARC-Target-URI")
                responses[url] = record.content_stream().read()
    assert types[0] == "warcinfo"
    assert types.count("request") == 1
    assert types.count("response") == len(entries) >= 3
    assert set(responses) == set(entries)
    for url, body in responses.items():
        tree = lxml.html.fromstring(body)
        assert tree.xpath("//meta[@property='og:site_name']/@content") == [entries[url]["outlet"]]
        assert tree.xpath("//link[@rel='canonical']/@href") == [url]


def test_warc_is_rebuilt_byte_for_byte(truth: dict, corpus: Path) -> None:
    (container,) = {d["container"] for d in docs_of(truth, "warc").values()}
    committed = (corpus / container).read_bytes()
    rebuilt = build()
    # Compare the records first so a failure says whether the content changed
    # or only the compression did (a different zlib build).
    assert gzip.decompress(rebuilt) == gzip.decompress(committed)
    assert rebuilt == committed
    assert {p.url for p in WARC_PAGES} == set(docs_of(truth, "warc"))


def test_jsonl_entries(truth: dict, corpus: Path) -> None:
    entries = docs_of(truth, "jsonl")
    (container,) = {d["container"] for d in entries.values()}
    rows = [json.loads(line) for line in (corpus / container).read_text("utf-8").splitlines()]
    assert {row["url"] for row in rows} == set(entries)
    kinds = set()
    for row in rows:
        doc = entries[row["url"]]
        assert row["title"] == doc["title"]
        assert row["published"] == doc["published"]
        assert row["site_name"] == doc["outlet"]
        assert row["authors"] == doc["authors"]
        kinds.add("text" if "text" in row else "html")
    assert kinds == {"text", "html"}


def test_reference_text_of_a_container_entry(truth: dict) -> None:
    (key,) = [k for k, d in truth["documents"].items() if d["id"] == "tvr-flood"]
    text = reference_text(key, truth)
    assert text.startswith("Around 150 people had to leave their homes")
    assert "<p>" not in text
