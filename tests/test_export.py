"""newsloom export (jsonl, markdown, atom, html) and the daily digest."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import feedparser
import pytest
from markdown_it import MarkdownIt

from newsloom.digest import daily_digest, md_escape
from newsloom.errors import InputError
from newsloom.export import export
from test_feeds import BRIDGE, FLOOD, HOSTILE, T0, build_store, save_summary

# CommonMark with raw HTML allowed: what a careless renderer would do.
MD = MarkdownIt("commonmark")


@pytest.fixture
def stores(tmp_path: Path):
    store, bridge, flood = build_store(tmp_path / "news.db")
    with store:
        yield store, bridge, flood


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _safe_html(markdown: str) -> str:
    html = MD.render(markdown)
    assert "<script" not in html and "<b>" not in html and "<i>" not in html
    return html


# -- jsonl ---------------------------------------------------------------------


def test_jsonl_has_one_object_per_story_with_articles_provenance_conflicts_summary(
    stores, tmp_path: Path
) -> None:
    store, bridge, flood = stores
    save_summary(store, bridge)
    seen: list[str] = []
    report = export(store, tmp_path / "out", "jsonl", on_item=seen.append)
    assert (report.stories, report.articles) == (2, 5)
    assert seen == [bridge, flood]
    stories = _lines(tmp_path / "out" / "stories.jsonl")
    assert [s["id"] for s in stories] == [bridge, flood]
    first = stories[0]
    assert first["title"] == "Kestrel Bridge closed" and first["size"] == 3
    relation = {
        a["id"]: (a["relation"], a["source_id"], a["attributed"]) for a in first["articles"]
    }
    assert relation[BRIDGE[1].id] == ("near_copy", BRIDGE[0].id, False)
    assert relation[BRIDGE[0].id][0] == "original"
    assert first["provenance"][0]["derived_id"] == BRIDGE[1].id
    assert first["tree"][0]["derived"][0]["article_id"] == BRIDGE[1].id
    (conflict,) = first["conflicts"]
    assert conflict["a"]["sentence"].endswith("ten weeks.") and "six" in conflict["b"]["sentence"]
    assert [s["article_id"] for s in first["summary"]["summary"]] == [BRIDGE[0].id, BRIDGE[2].id]
    assert stories[1]["summary"] is None and stories[1]["conflicts"] == []
    articles = _lines(tmp_path / "out" / "articles.jsonl")
    assert {a["id"] for a in articles} == {a.id for a in [*BRIDGE, *FLOOD]}
    assert all(a["text"] for a in articles)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["format"] == "jsonl" and manifest["stories"] == 2


def test_since_exports_only_stories_updated_from_then(stores, tmp_path: Path) -> None:
    store, bridge, _ = stores
    report = export(store, tmp_path / "out", "jsonl", since=T0 + timedelta(hours=4))
    assert report.stories == 1
    assert [s["id"] for s in _lines(tmp_path / "out" / "stories.jsonl")] == [bridge]
    articles = _lines(tmp_path / "out" / "articles.jsonl")
    assert [a["id"] for a in articles] == [a.id for a in BRIDGE]


# -- markdown ------------------------------------------------------------------


def test_markdown_writes_an_index_a_file_per_story_and_escapes_page_text(
    stores, tmp_path: Path
) -> None:
    store, bridge, flood = stores
    save_summary(store, bridge)
    out = tmp_path / "md"
    report = export(store, out, "markdown")
    assert report.stories == 2 and report.articles == 5
    index = (out / "index.md").read_text()
    links = re.findall(r"\]\(([^)]+)\)", index)
    assert links == [f"stories/{bridge}.md", f"stories/{flood}.md"]
    assert all((out / link).is_file() for link in links)
    _safe_html(index)

    page = (out / "stories" / f"{bridge}.md").read_text()
    html = _safe_html(page)
    assert "## Summary" in page and "## What to know" in page and "## Timeline" in page
    assert "The bridge &amp; &lt;its&gt; bearings: ten weeks." in html
    # Citations link to the article files, which exist.
    cited = re.findall(r'href="([^"]+)"', html)
    local = [c for c in cited if not c.startswith("http")]
    assert f"../articles/{BRIDGE[0].id}.md" in local
    assert all((out / "stories" / c).resolve().is_file() for c in local)
    # The hostile copy is listed under its source, uncredited, with no javascript: link.
    assert "javascript" not in " ".join(cited)
    assert re.search(r"\n  - .*near copy of Marrowby Post \(\*\*uncredited\*\*\)", page)
    assert "## Conflicts" in page and "ten weeks against six weeks" in page
    assert "&lt;i&gt;six&lt;/i&gt;" in html

    flood_page = (out / "stories" / f"{flood}.md").read_text()
    assert "## Lead" in flood_page and "The River Pell burst its banks" in flood_page
    _safe_html(flood_page)
    assert (out / "articles" / f"{FLOOD[1].id}.md").is_file()


def test_md_escape_keeps_text_from_becoming_markup() -> None:
    for hostile in (HOSTILE, "[click](javascript:alert(1))", "![img](http://x/y.png)", "# head"):
        html = MD.render(f"- {md_escape(hostile)}")
        assert "<a " not in html and "<img" not in html and "<h1" not in html
        assert "<script" not in html
    assert md_escape("line\nbreak\r\n- item") == "line break - item"
    assert MD.render(md_escape("1. not a list")).startswith("<p>")


# -- atom ----------------------------------------------------------------------


def test_atom_writes_the_site_feed_and_one_feed_per_story(stores, tmp_path: Path) -> None:
    store, bridge, flood = stores
    report = export(store, tmp_path / "atom", "atom", base_url="https://news.example")
    assert report.stories == 2 and report.files == 4  # two feeds per story set + manifest
    site = feedparser.parse((tmp_path / "atom" / "feed.atom").read_bytes())
    assert site.bozo == 0 and len(site.entries) == 2
    for story_id, size in ((bridge, 3), (flood, 2)):
        feed = feedparser.parse((tmp_path / "atom" / "story" / story_id / "feed.atom").read_bytes())
        assert feed.bozo == 0 and len(feed.entries) == size
        assert feed.feed.link == f"https://news.example/story/{story_id}"


# -- writing safely ------------------------------------------------------------


def test_a_failed_export_leaves_nothing_and_keeps_the_previous_one(stores, tmp_path: Path) -> None:
    store, _, _ = stores
    out = tmp_path / "out"

    def boom(story_id: str) -> None:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        export(store, out, "markdown", on_item=boom)
    assert not out.exists() and list(tmp_path.glob(".out*")) == []

    export(store, out, "markdown")
    before = (out / "index.md").read_text()
    with pytest.raises(RuntimeError):
        export(store, out, "jsonl", on_item=boom)
    assert (out / "index.md").read_text() == before and not (out / "stories.jsonl").exists()

    export(store, out, "jsonl")  # a finished export replaces the earlier one
    assert (out / "stories.jsonl").is_file() and not (out / "index.md").exists()
    assert list(tmp_path.glob(".out*")) == []


def test_export_refuses_a_directory_it_did_not_write(stores, tmp_path: Path) -> None:
    store, _, _ = stores
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    with pytest.raises(InputError, match="not a newsloom export"):
        export(store, mine, "jsonl")
    assert (mine / "thesis.tex").read_text() == "years of work"
    with pytest.raises(InputError, match="unknown export format"):
        export(store, tmp_path / "x", "pdf")  # type: ignore[arg-type]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert export(store, empty, "atom").stories == 2


# -- the daily digest ----------------------------------------------------------


def test_digest_lists_the_days_stories_with_summary_sources_and_conflicts(stores) -> None:
    store, bridge, _ = stores
    save_summary(store, bridge)
    text = daily_digest(store, date(2026, 3, 2))
    assert text.startswith("# newsloom digest: 2026-03-02")
    assert "2 stories updated on 2026-03-02 (UTC), from 5 reports." in text
    # Most recently updated first, each as a section.
    assert text.index("## Kestrel Bridge closed") < text.index("## Pell floods")
    assert "- Marrowby council closed Kestrel Bridge on Monday. (Marrowby Post)" in text
    assert "### Lead" in text  # the flood story has no summary yet
    assert "ten weeks against six weeks" in text and "uncredited" in text
    _safe_html(text)


def test_digest_days_follow_the_time_zone(stores) -> None:
    store, _, _ = stores
    # Bridge updated 13:00 UTC (= 02:00 on the 3rd in Auckland), flood 10:00 UTC (23:00 on the 2nd).
    auckland = ZoneInfo("Pacific/Auckland")
    second = daily_digest(store, date(2026, 3, 2), tz=auckland)
    third = daily_digest(store, date(2026, 3, 3), tz=auckland)
    assert "## Pell floods" in second and "Kestrel" not in second
    assert "## Kestrel Bridge closed" in third and "Pell" not in third
    assert "(Pacific/Auckland)" in third


def test_an_empty_day_says_so(stores) -> None:
    store, _, _ = stores
    text = daily_digest(store, date(2026, 3, 5))
    assert "No stories were updated on 2026-03-05 (UTC)." in text
    assert "##" not in text


# -- html: a static copy of the web app ---------------------------------------


@pytest.fixture
def web() -> None:
    pytest.importorskip("newsloom.web")  # written alongside; the other formats need none of it


def _local_links(root: Path) -> list[tuple[Path, str]]:
    """(file, link) for every link in the site's HTML files that is not off-site."""
    import lxml.html

    links = []
    for page in root.rglob("*.html"):
        doc = lxml.html.document_fromstring(page.read_bytes())
        assert doc.xpath("//script") == [], page
        for _el, _attr, link, _pos in doc.iterlinks():
            if not link.startswith(("http://", "https://", "#")):
                links.append((page, link))
    return links


def test_html_is_a_static_site_with_relative_links_that_all_resolve(
    stores, web, tmp_path: Path
) -> None:
    store, bridge, flood = stores
    save_summary(store, bridge)
    seen: list[str] = []
    out = tmp_path / "site"
    report = export(store, out, "html", on_item=seen.append)
    assert report.missing == []
    assert sorted(seen) == sorted([bridge, flood]) and report.articles == 5
    for name in ("index.html", "stories.html", "static/style.css", "feed.atom", "index.json"):
        assert (out / name).is_file(), name
    assert (out / "story" / f"{bridge}.html").is_file()
    assert (out / "story" / bridge / "feed.atom").is_file()
    assert all((out / "article" / f"{a.id}.html").is_file() for a in [*BRIDGE, *FLOOD])
    links = _local_links(out)
    assert links, "the pages link to each other"
    for page, link in links:
        assert not link.startswith("/"), (page, link)  # file:// would resolve it to the disk root
        target = (page.parent / link.split("#")[0]).resolve()
        assert target.is_file() and target.is_relative_to(out), (page, link)
    story_page = (out / "story" / f"{bridge}.html").read_text()
    assert "&lt;script&gt;" in story_page or "Tom &amp; Jerry" in story_page
    assert "<form" not in story_page  # search needs the server
    # Rendering through the app counted no view in the store itself.
    assert store.views("story", bridge) == 0


def test_html_with_base_url_sends_search_to_the_server(stores, web, tmp_path: Path) -> None:
    store, bridge, _ = stores
    out = tmp_path / "site"
    export(store, out, "html", base_url="https://news.example")
    page = (out / "story" / f"{bridge}.html").read_text()
    assert 'action="https://news.example/search"' in page
    feed = feedparser.parse((out / "feed.atom").read_bytes())
    assert feed.entries[0].link.startswith("https://news.example/story/")


def test_html_since_keeps_only_the_exported_stories(stores, web, tmp_path: Path) -> None:
    store, bridge, flood = stores
    out = tmp_path / "site"
    report = export(store, out, "html", since=T0 + timedelta(hours=4))
    assert report.stories == 1
    assert (out / "story" / f"{bridge}.html").is_file()
    assert not (out / "story" / f"{flood}.html").exists()
    assert not (out / "article" / f"{FLOOD[0].id}.html").exists()
    for page, link in _local_links(out):
        assert (page.parent / link.split("#")[0]).resolve().is_file(), (page, link)


def test_html_includes_the_pagination_pages(web, tmp_path: Path) -> None:
    from newsloom.cluster import cluster_stored
    from newsloom.store import open_store
    from test_feeds import FAKE, _article

    articles = [
        _article(
            f"{i:02d}",
            f"Story number {i}",
            " ".join(f"topic{i}word{j}" for j in range(30)) + ".",
            i,
        )
        for i in range(25)
    ]
    with open_store(f"sqlite:///{tmp_path / 'many.db'}") as store:
        store.put_articles(articles)
        cluster_stored(store, [a.id for a in articles], featurizer=FAKE)
        assert store.count_stories() == 25
        report = export(store, tmp_path / "site", "html")
    assert report.stories == 25 and report.missing == []
    first = (tmp_path / "site" / "stories.html").read_text()
    assert 'href="stories-page-2.html"' in first
    second = (tmp_path / "site" / "stories-page-2.html").read_text()
    assert "Story number 0" in second and 'href="stories.html"' in second


def test_html_needs_a_store_in_a_file(web, tmp_path: Path) -> None:
    from newsloom.store import open_store

    with open_store("sqlite://:memory:") as store, pytest.raises(InputError, match="file"):
        export(store, tmp_path / "site", "html")
    assert not (tmp_path / "site").exists() and list(tmp_path.iterdir()) == []


# -- the demo corpus, end to end ----------------------------------------------


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory):
    from newsloom.demo import corpus_path
    from newsloom.pipeline import Pipeline
    from newsloom.store import open_store

    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'news.db'}"
    with open_store(url) as store:
        assert Pipeline(store).ingest([str(corpus_path())]).failures == []
        yield store


def test_the_demo_exports_in_every_format(demo_store, tmp_path: Path) -> None:
    from newsloom.demo import load_ground_truth

    stories = len(load_ground_truth()["stories"])
    articles = demo_store.count_articles()
    for fmt in ("jsonl", "markdown", "atom"):
        report = export(demo_store, tmp_path / fmt, fmt)
        assert report.stories == stories, fmt
    records = _lines(tmp_path / "jsonl" / "stories.jsonl")
    assert len(_lines(tmp_path / "jsonl" / "articles.jsonl")) == articles
    assert sum(len(r["conflicts"]) for r in records) > 0
    for record in records:
        if record["summary"] is not None:  # every summary sentence cites a member article
            cited = {s["article_id"] for s in record["summary"]["summary"]}
            assert cited <= set(record["article_ids"])
    assert len(list((tmp_path / "markdown" / "stories").glob("*.md"))) == stories
    for feed_file in (tmp_path / "atom").rglob("*.atom"):
        assert feedparser.parse(feed_file.read_bytes()).bozo == 0, feed_file
    pytest.importorskip("newsloom.web")
    site = export(demo_store, tmp_path / "html", "html")
    assert site.stories == stories and site.articles == articles and site.missing == []
    for page, link in _local_links(tmp_path / "html"):
        assert (page.parent / link.split("#")[0]).resolve().is_file(), (page, link)


def test_the_demo_digest_of_its_busiest_day(demo_store) -> None:
    latest = demo_store.iter_stories(limit=1)[0]
    text = daily_digest(demo_store, latest.updated.date(), base_url="https://news.example/")
    assert f"## [{md_escape(latest.title)}](https://news.example/story/{latest.id})" in text
    assert "](https://news.example/article/" in text
    assert "### Conflicts" in text or not demo_store.story_conflicts(latest.id)
    html = _safe_html(text)
    assert 'href="https://news.example/story/' in html


def test_since_compares_real_times_whatever_the_offset(stores, tmp_path: Path) -> None:
    store, bridge, _ = stores
    # 14:30 at UTC+2 is 12:30 UTC: after the flood story (10:00), before the bridge (13:00).
    since = datetime(2026, 3, 2, 14, 30, tzinfo=timezone(timedelta(hours=2)))
    assert export(store, tmp_path / "a", "jsonl", since=since).stories == 1
    assert [s["id"] for s in _lines(tmp_path / "a" / "stories.jsonl")] == [bridge]
    naive = datetime(2026, 3, 2, 9, 30)  # taken as UTC: both stories
    assert export(store, tmp_path / "b", "jsonl", since=naive).stories == 2
