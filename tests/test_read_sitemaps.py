from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from newsloom.read.fetch import Fetcher
from newsloom.read.sitemaps import MAX_DEPTH, pages_from_sitemap, parse_sitemap
from newsloom.settings import Settings
from newsloom.types import Failure, Page
from read_helpers import LoopbackServer, Reply, article_html, loopback_settings, serve

pytestmark = pytest.mark.network

NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
NEWS_NS = 'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"'


def urlset(locs: list[str], news: bool = False) -> bytes:
    rows = []
    for loc in locs:
        extra = ""
        if news:
            extra = (
                "<news:news><news:publication><news:name>The Ledger</news:name>"
                "<news:language>en</news:language></news:publication>"
                "<news:publication_date>2024-03-01T08:00:00Z</news:publication_date>"
                f"<news:title>Headline for {loc.rsplit('/', 1)[-1]}</news:title></news:news>"
            )
        rows.append(f"<url><loc>{loc}</loc><lastmod>2024-03-01</lastmod>{extra}</url>")
    return f'<?xml version="1.0"?><urlset {NS} {NEWS_NS}>{"".join(rows)}</urlset>'.encode()


def index(locs: list[str]) -> bytes:
    rows = "".join(f"<sitemap><loc>{loc}</loc></sitemap>" for loc in locs)
    return f'<?xml version="1.0"?><sitemapindex {NS}>{rows}</sitemapindex>'.encode()


def page_routes(paths: list[str]) -> dict[str, Reply]:
    return {
        p: Reply(body=article_html(p).encode(), headers={"Content-Type": "text/html"})
        for p in paths
    }


def read(server: LoopbackServer, body: bytes, **overrides: object) -> list[Page | Failure]:
    settings = loopback_settings(respect_robots=False, **overrides)
    with Fetcher(settings) as fetcher:
        return list(pages_from_sitemap(body, server.url("/sitemap.xml"), settings, fetcher))


def test_news_sitemap_pages_carry_news_meta() -> None:
    with serve(page_routes(["/a", "/b"])) as server:
        body = urlset([server.url("/a"), server.url("/b")], news=True)
        pages = read(server, body)
    assert [p.url for p in pages] == [server.url("/a"), server.url("/b")]
    first = pages[0]
    assert isinstance(first, Page)
    assert first.meta["published"] == "2024-03-01T08:00:00Z"
    assert first.meta["title"] == "Headline for a"
    assert first.meta["site_name"] == "The Ledger"
    assert first.meta["lastmod"] == "2024-03-01"


def test_index_recursion_and_gzip_child() -> None:
    with serve(page_routes(["/p1", "/p2", "/p3"])) as server:
        server.routes["/s1.xml"] = Reply(body=urlset([server.url("/p1"), server.url("/p2")]))
        server.routes["/s2.xml.gz"] = Reply(
            body=gzip.compress(urlset([server.url("/p3"), server.url("/p1")])),
            headers={"Content-Type": "application/gzip"},
        )
        pages = read(server, index([server.url("/s1.xml"), server.url("/s2.xml.gz")]))
    # /p1 is listed twice and fetched once.
    assert [p.url for p in pages] == [server.url(p) for p in ("/p1", "/p2", "/p3")]
    assert all(isinstance(p, Page) for p in pages)


def test_index_depth_limit() -> None:
    with serve(page_routes(["/deep"])) as server:
        # Index chain: root -> i1 -> i2 -> i3 -> i4 (too deep) -> urlset.
        for level in range(1, MAX_DEPTH + 2):
            server.routes[f"/i{level}.xml"] = Reply(body=index([server.url(f"/i{level + 1}.xml")]))
        server.routes[f"/i{MAX_DEPTH + 2}.xml"] = Reply(body=urlset([server.url("/deep")]))
        items = read(server, index([server.url("/i1.xml")]))
    assert len(items) == 1
    assert isinstance(items[0], Failure)
    assert "deeper than 3" in items[0].reason
    assert server.hits("/deep") == []


def test_url_cap_across_the_walk() -> None:
    paths = [f"/n{i}" for i in range(6)]
    with serve(page_routes(paths)) as server:
        server.routes["/s1.xml"] = Reply(body=urlset([server.url(p) for p in paths[:3]]))
        server.routes["/s2.xml"] = Reply(body=urlset([server.url(p) for p in paths[3:]]))
        items = read(
            server, index([server.url("/s1.xml"), server.url("/s2.xml")]), max_sitemap_urls=4
        )
    assert [type(i).__name__ for i in items] == ["Page"] * 4 + ["Failure"]
    assert "limit of 4" in items[-1].reason
    assert len([s for s in server.seen if s.path.startswith("/n")]) == 4


def test_without_fetcher_one_failure() -> None:
    items = list(
        pages_from_sitemap(
            urlset(["https://a.example/1", "https://a.example/2"]), "s.xml", Settings(), None
        )
    )
    assert len(items) == 1 and isinstance(items[0], Failure)
    assert "2 URLs" in items[0].reason and "fetching is off" in items[0].reason


def test_not_a_sitemap() -> None:
    items = list(pages_from_sitemap(b"<rss><channel/></rss>", "x.xml", Settings(), None))
    assert len(items) == 1 and isinstance(items[0], Failure)
    assert "not a sitemap" in items[0].reason


def test_external_entities_are_not_resolved(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    body = f"""<?xml version="1.0"?>
<!DOCTYPE urlset [<!ENTITY xxe SYSTEM "file://{secret}">
<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<urlset {NS}><url><loc>https://a.example/&xxe;</loc></url>
<url><loc>https://a.example/&b;</loc></url></urlset>""".encode()
    kind, entries = parse_sitemap(body)
    assert kind == "urlset"
    locs = " ".join(e.loc for e in entries)
    assert "TOPSECRET" not in locs
    assert "aaaaaaaaaa" not in locs


@pytest.mark.parametrize("body", [b"", b"<urlset", b"\x00\x01binary"])
def test_malformed_sitemap_is_a_failure(body: bytes) -> None:
    items = list(pages_from_sitemap(body, "bad.xml", Settings(), None))
    assert len(items) == 1 and isinstance(items[0], Failure)


def test_bare_ampersand_in_loc_is_tolerated() -> None:
    body = f"<urlset {NS}><url><loc>https://a.example/?x=1&y=2</loc></url></urlset>".encode()
    assert [e.loc for e in parse_sitemap(body)[1]] == ["https://a.example/?x=1&y=2"]
