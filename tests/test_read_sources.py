from __future__ import annotations

import random
from pathlib import Path

import pytest

from newsloom.read import read_sources
from newsloom.read.fetch import Fetcher
from newsloom.settings import Settings
from newsloom.types import Failure, Page
from read_helpers import Reply, article_html, loopback_settings, serve

pytestmark = pytest.mark.network

LONG = "<p>" + " ".join(f"w{i}" for i in range(100)) + "</p>"


def feed_xml(entries: list[tuple[str, str]]) -> bytes:
    """RSS with one item per (link, description HTML)."""
    items = "".join(
        f"<item><title>T{i}</title><link>{link}</link>"
        f"<description><![CDATA[{content}]]></description></item>"
        for i, (link, content) in enumerate(entries)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>F</title>{items}</channel></rss>'
    ).encode()


def sitemap_xml(locs: list[str]) -> bytes:
    rows = "".join(f"<url><loc>{loc}</loc></url>" for loc in locs)
    return f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{rows}</urlset>'.encode()


def test_batch_with_bad_inputs_still_yields_good_pages(tmp_path: Path) -> None:
    good = tmp_path / "good.html"
    good.write_text(article_html("Good"))
    junk = tmp_path / "junk.bin"
    junk.write_bytes(random.Random(5).randbytes(2048))
    with serve(
        {
            "/story": Reply(
                body=article_html("Remote").encode(), headers={"Content-Type": "text/html"}
            )
        }
    ) as server:
        sources = [
            str(tmp_path / "missing.html"),
            str(junk),
            "ftp://example.com/x",
            "",
            server.url("/story"),  # loopback: refused with default settings
            str(good),
        ]
        items = list(read_sources(sources, Settings()))
    assert [type(i).__name__ for i in items] == ["Failure"] * 5 + ["Page"]
    assert items[-1].source == str(good)
    reasons = {i.source: (i.error, i.reason) for i in items if isinstance(i, Failure)}
    assert reasons[str(junk)] == ("UnsupportedInputError", "binary data, not a page")
    assert reasons["ftp://example.com/x"][0] == "BlockedURLError"
    assert reasons[server.url("/story")][0] == "BlockedURLError"
    assert server.seen == []


def test_url_page_and_feed_found_by_content() -> None:
    with serve({}) as server:
        server.routes["/story"] = Reply(
            body=article_html("S").encode(), headers={"Content-Type": "text/html; charset=utf-8"}
        )
        server.routes["/short"] = Reply(
            body=article_html("Short one").encode(), headers={"Content-Type": "text/html"}
        )
        # Served as text/html, but it is RSS: followed by content.
        rss = feed_xml([(server.url("/inline"), LONG), (server.url("/short"), "tiny")])
        server.routes["/news"] = Reply(body=rss, headers={"Content-Type": "text/html"})
        settings = loopback_settings(respect_robots=False)
        items = list(read_sources([server.url("/story"), server.url("/news")], settings))
    story, inline, short = items
    assert (
        isinstance(story, Page) and story.url == server.url("/story") and story.encoding == "utf-8"
    )
    assert (
        isinstance(inline, Page)
        and inline.url == server.url("/inline")
        and inline.meta["site_name"] == "F"
    )
    assert isinstance(short, Page) and b"Short one" in short.body and short.meta["title"] == "T1"
    assert server.hits("/inline") == []  # inline text was long enough: not fetched


def test_sitemap_flag_and_sitemap_by_content() -> None:
    with serve({}) as server:
        server.routes["/a"] = Reply(
            body=article_html("A").encode(), headers={"Content-Type": "text/html"}
        )
        server.routes["/map"] = Reply(
            body=sitemap_xml([server.url("/a")]), headers={"Content-Type": "text/plain"}
        )
        settings = loopback_settings(respect_robots=False)
        by_content = list(read_sources([server.url("/map")], settings))
        flagged = list(read_sources([server.url("/map")], settings, sitemap=True))
    for items in (by_content, flagged):
        assert [i.url for i in items] == [server.url("/a")]


def test_feed_flag_on_a_non_feed_reports_it() -> None:
    with serve(
        {"/page": Reply(body=article_html().encode(), headers={"Content-Type": "text/html"})}
    ) as server:
        items = list(
            read_sources([server.url("/page")], loopback_settings(respect_robots=False), feed=True)
        )
    assert len(items) == 1 and isinstance(items[0], Failure)
    assert "feed" in items[0].reason


def test_local_feed_flag_allows_fetching_entries(tmp_path: Path) -> None:
    with serve(
        {"/e": Reply(body=article_html("Entry").encode(), headers={"Content-Type": "text/html"})}
    ) as server:
        path = tmp_path / "feed.xml"
        path.write_bytes(feed_xml([(server.url("/e"), "teaser")]))
        settings = loopback_settings(respect_robots=False)
        without = list(read_sources([str(path)], settings))
        with_flag = list(read_sources([str(path)], settings, feed=True))
    assert isinstance(without[0], Failure) and "fetching is off" in without[0].reason
    assert isinstance(with_flag[0], Page) and b"Entry" in with_flag[0].body


def test_given_fetcher_is_used_and_left_open() -> None:
    with serve({"/a": Reply(body=b"hello there"), "/b": Reply(body=b"")}) as server:
        settings = loopback_settings(respect_robots=False)
        with Fetcher(settings) as fetcher:
            first = list(read_sources([server.url("/a")], settings, fetcher=fetcher))
            second = list(read_sources([server.url("/b")], settings, fetcher=fetcher))
    assert isinstance(first[0], Page) and first[0].kind == "text"
    assert isinstance(second[0], Failure) and second[0].reason == "empty response"
