"""The web app through FastAPI's TestClient: pages, JSON twins, errors, escaping, headers.

Most tests read a hand-built store (``web_helpers``: a story with an
original, an uncredited copy and a crediting rewrite, hostile articles, and
enough filler stories for a second page).  The last ones ingest the demo
corpus and the seed pair for real.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import feedparser
import lxml.html
import pytest
from fastapi.testclient import TestClient

from conftest import seed_path
from newsloom.store import open_store
from newsloom.web import create_app
from newsloom.web.cite import apa_author
from newsloom.web.pages import highlight_pieces, snippet_pieces
from newsloom.web.security import SECURITY_HEADERS, safe_url
from web_helpers import BRIDGE_TEXT, PAYLOAD_FLAG, build_store

BRIDGE = "sbridge-original"  # story ids are "s" + the first article's id
HOSTILE = "shostile-direct"


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('web') / 'news.db'}"
    with open_store(url) as store:
        owners = build_store(store)
    assert owners["bridge-copy"] == BRIDGE and owners["hostile-extracted"] == HOSTILE
    return url


@pytest.fixture(scope="module")
def client(store_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(store_url)) as test_client:
        yield test_client


def tree(response) -> lxml.html.HtmlElement:
    assert response.headers["content-type"].startswith("text/html")
    return lxml.html.fromstring(response.text)


PAGES = [
    ("/", "/index.json"),
    ("/stories", "/stories.json"),
    ("/stories?page=2", "/stories.json?page=2"),
    (f"/story/{BRIDGE}", f"/story/{BRIDGE}.json"),
    ("/article/bridge-copy", "/article/bridge-copy.json"),
    ("/search?q=bridge", "/search.json?q=bridge"),
]


@pytest.mark.parametrize(("page", "twin"), PAGES)
def test_every_page_has_a_json_twin(client: TestClient, page: str, twin: str) -> None:
    html = client.get(page)
    data = client.get(twin)
    assert html.status_code == 200 and data.status_code == 200
    assert html.headers["content-type"] == "text/html; charset=utf-8"
    assert data.headers["content-type"] == "application/json"
    assert data.json()
    # The page links to its twin.
    assert tree(html).xpath(f'//a[starts-with(@href, "{twin.split("?")[0]}")]')


ALL_KINDS = [
    "/",
    "/index.json",
    f"/story/{BRIDGE}",
    "/article/bridge-original",
    "/search?q=bridge",
    "/static/style.css",
    "/feed.atom",
    "/no/such/page",
    "/story/unknown.json",
    "/stories?page=0",
    "/search?q=" + "x" * 2000,
]


@pytest.mark.parametrize("path", ALL_KINDS)
def test_security_headers_on_every_response(client: TestClient, path: str) -> None:
    response = client.get(path)
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (path, name)
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "'unsafe-inline'" not in csp
    assert "set-cookie" not in response.headers
    assert "server" not in {k.lower() for k in response.headers if k.lower() == "x-powered-by"}


def test_pages_use_no_script_and_no_inline_style(client: TestClient) -> None:
    for path in ("/", f"/story/{BRIDGE}", "/article/bridge-original", "/search?q=bridge"):
        doc = tree(client.get(path))
        assert not doc.xpath("//script | //style | //*[@style] | //iframe")
        assert doc.xpath('//link[@rel="stylesheet"]/@href') == ["/static/style.css"]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/no/such/page", 404),
        ("/story/sdoesnotexist", 404),
        ("/article/doesnotexist", 404),
        ("/story/..%2F..%2Fetc", 404),
        ("/stories?page=0", 400),
        ("/stories?page=abc", 400),
        ("/stories?page=99999999", 400),
        ("/search?q=" + "x" * 300, 400),
        ("/search?q=" + "x" * 2000, 414),
    ],
)
def test_errors_are_pages_not_stack_traces(client: TestClient, path: str, status: int) -> None:
    response = client.get(path)
    assert response.status_code == status
    doc = tree(response)
    assert doc.xpath("//h1")[0].text_content().startswith(str(status))
    assert "Traceback" not in response.text and "pydantic" not in response.text


def test_json_errors_are_json(client: TestClient) -> None:
    response = client.get("/story/sdoesnotexist.json")
    assert response.status_code == 404
    assert response.json() == {"error": {"status": 404, "message": "No story has this id."}}
    assert client.get("/stories.json?page=-1").json()["error"]["status"] == 400


def test_head_is_answered_like_get_without_a_body_or_a_view(client: TestClient) -> None:
    before = client.get("/article/bridge-copy.json").json()["views"]
    response = client.head("/article/bridge-copy")
    assert response.status_code == 200 and response.content == b""
    assert (
        response.headers["content-security-policy"] == SECURITY_HEADERS["content-security-policy"]
    )
    assert client.get("/article/bridge-copy.json").json()["views"] == before
    assert client.head("/no/such/page").status_code == 404


def test_only_get_is_answered(client: TestClient) -> None:
    response = client.post("/", data={"x": "1"})
    assert response.status_code == 405
    assert "405" in tree(response).xpath("//h1")[0].text_content()


def test_a_crash_shows_the_500_page_without_details(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app(store_url)

    def explode(*_args, **_kwargs):
        raise RuntimeError("secret internal detail /etc/passwd")

    pool = app.state.pool
    monkeypatch.setattr(pool, "get", lambda: type("Broken", (), {"iter_stories": explode})())
    with TestClient(app, raise_server_exceptions=False) as test_client:
        for path in ("/stories", "/stories.json"):
            response = test_client.get(path)
            assert response.status_code == 500
            assert "secret internal detail" not in response.text
            assert "Traceback" not in response.text
            assert (
                response.headers["content-security-policy"]
                == SECURITY_HEADERS["content-security-policy"]
            )
    assert test_client.get  # the client closed cleanly


# -- lists and pagination ---------------------------------------------------------


def test_story_list_pages(client: TestClient) -> None:
    first = client.get("/stories.json").json()
    second = client.get("/stories.json?page=2").json()
    assert len(first["stories"]) == 20 and len(second["stories"]) == 7
    assert first["pager"] == {"page": 1, "per_page": 20, "prev": None, "next": 2}
    assert second["pager"]["prev"] == 1 and second["pager"]["next"] is None
    ids = [s["id"] for s in first["stories"] + second["stories"]]
    assert len(set(ids)) == 27 and {BRIDGE, HOSTILE} <= set(ids)
    doc = tree(client.get("/stories?page=2"))
    assert doc.xpath('//a[@rel="prev"]/@href') == ["/stories?page=1"]
    assert not doc.xpath('//a[@rel="next"]')
    assert len(doc.xpath('//li[@class="story-card"]')) == 7
    # Past the end: an empty page, still with a way back.
    past = client.get("/stories?page=5")
    assert past.status_code == 200 and tree(past).xpath('//a[@rel="prev"]')


def test_home_lists_latest_stories_and_dont_miss(client: TestClient) -> None:
    data = client.get("/index.json").json()
    assert data["stories"][0]["id"] in {BRIDGE, HOSTILE}  # most recently updated first
    bridge = next(s for s in data["stories"] if s["id"] == BRIDGE)
    # The copy and the rewrite derive from the original: one independent source.
    assert bridge["independent_sources"] == 1 and bridge["size"] == 3
    assert bridge["sites"] == ["Harbour Gazette", "Copycat News", "Rewriter Daily"]
    # The hostile story has two unrelated outlets, so it is the one not to miss.
    assert [s["id"] for s in data["dont_miss"]] == [HOSTILE]
    doc = tree(client.get("/"))
    assert doc.xpath('//section[@class="dont-miss"]//a/@href') == [f"/story/{HOSTILE}"]
    assert doc.xpath('//a[@rel="next"]/@href') == ["/?page=2"]


def test_search_finds_stories_and_pages(client: TestClient) -> None:
    data = client.get("/search.json?q=corroded bearings").json()
    assert {h["article"]["id"] for h in data["hits"]} == {"bridge-original", "bridge-copy"}
    assert data["stories"] == [
        {"id": BRIDGE, "title": data["stories"][0]["title"], "path": f"/story/{BRIDGE}"}
    ]
    doc = tree(client.get("/search?q=corroded+bearings"))
    assert doc.xpath('//ul[@class="found-stories"]//a/@href') == [f"/story/{BRIDGE}"]
    marks = [m.text for m in doc.xpath('//p[@class="snippet"]/mark')]
    assert marks == ["corroded", "bearings"] * 2
    filler = client.get("/search.json?q=filler").json()
    assert len(filler["hits"]) == 20 and filler["pager"]["next"] == 2
    assert len(client.get("/search.json?q=filler&page=2").json()["hits"]) == 5
    next_link = tree(client.get("/search?q=filler")).xpath('//a[@rel="next"]/@href')
    assert next_link == ["/search?q=filler&page=2"]


@pytest.mark.parametrize("query", ['"', "bridge AND (", "NEAR(a b", "*", "<script>", "''; DROP"])
def test_search_survives_odd_queries(client: TestClient, query: str) -> None:
    response = client.get("/search", params={"q": query})
    assert response.status_code == 200
    assert "<script>" not in response.text


# -- the story page -----------------------------------------------------------------


def test_story_page_summary_cites_its_articles(client: TestClient) -> None:
    doc = tree(client.get(f"/story/{BRIDGE}"))
    cites = doc.xpath('//section[@id="summary"]//a[@class="cite"]')
    assert len(cites) == 2
    ten = "The closure will last at least ten weeks, the council said."
    start = len(BRIDGE_TEXT[0]) + 2
    assert cites[0].get("href") == f"/article/bridge-original?hl=0-{len(BRIDGE_TEXT[0])}#hl"
    assert cites[1].get("href") == f"/article/bridge-original?hl={start}-{start + len(ten)}#hl"
    assert all(c.text == "Harbour Gazette" for c in cites)
    sentences = doc.xpath('//section[@id="summary"]//span[@class="sentence"]')
    assert sentences[0].text_content().startswith(BRIDGE_TEXT[0])
    assert doc.xpath('//section[@id="key-points"]//li')[0].text_content().startswith(ten)
    timeline = doc.xpath('//section[@id="timeline"]//li')[0].text_content()
    assert timeline.startswith("2 March 2026")


def test_story_page_sources_are_grouped_by_provenance(client: TestClient) -> None:
    doc = tree(client.get(f"/story/{BRIDGE}"))
    roots = doc.xpath('//ul[@class="source-tree"]/li')
    assert [r.get("data-article-id") for r in roots] == ["bridge-original"]
    derived = {li.get("data-article-id"): li for li in roots[0].xpath('./ul[@class="derived"]/li')}
    assert set(derived) == {"bridge-copy", "bridge-rewrite"}
    assert derived["bridge-copy"].xpath('.//*[@data-flag="no-credit"]')
    assert derived["bridge-rewrite"].xpath('.//*[@data-flag="credits-source"]')
    assert "Harbour Gazette" in derived["bridge-rewrite"].xpath('.//*[@class="credit"]')[0].text


def test_story_page_conflicts_side_by_side(client: TestClient) -> None:
    doc = tree(client.get(f"/story/{BRIDGE}"))
    conflict = doc.xpath('//div[contains(@class, "conflict ")]')[0]
    sides = conflict.xpath('.//blockquote[@class="side"]')
    assert [s.get("data-article-id") for s in sides] == ["bridge-original", "bridge-rewrite"]
    assert (
        sides[0].xpath("./p")[0].text
        == "The closure will last at least ten weeks, the council said."
    )
    assert "twelve weeks" in sides[1].xpath("./p")[0].text
    assert "duration" in conflict.text_content() and "82%" in conflict.text_content()
    assert "ten weeks' against 'twelve weeks'" in conflict.text_content()


def test_story_json_matches_the_page(client: TestClient) -> None:
    data = client.get(f"/story/{BRIDGE}.json").json()
    assert [s["article_id"] for s in data["summary"]] == ["bridge-original"] * 2
    root = data["sources"][0]
    assert root["relation"] == "original"
    copy = next(n for n in root["derived"] if n["article"]["id"] == "bridge-copy")
    assert copy["relation"] == "near_copy" and copy["attributed"] is False and copy["uncredited"]
    assert data["conflicts"][0]["a"]["sentence"].endswith("ten weeks, the council said.")
    assert data["independent_sources"] == 1


def test_story_without_summary_still_renders(client: TestClient) -> None:
    response = client.get(f"/story/{HOSTILE}")
    assert response.status_code == 200
    assert tree(response).xpath('//section[@id="summary"]/p[@class="pending"]')
    assert client.get(f"/story/{HOSTILE}.json").json()["summary"] is None


def test_story_prefix_redirects_to_its_address(client: TestClient) -> None:
    response = client.get("/story/sbridge-orig", follow_redirects=False)
    assert response.status_code == 308
    assert response.headers["location"] == f"/story/{BRIDGE}?page=1"


# -- the article page -----------------------------------------------------------------


def test_article_page_shows_text_byline_and_marks_the_cited_span(client: TestClient) -> None:
    start = len(BRIDGE_TEXT[0]) + 2
    end = start + len(BRIDGE_TEXT[1])
    doc = tree(client.get(f"/article/bridge-original?hl={start}-{end}"))
    assert doc.xpath("//h1")[0].text == "Kestrel Bridge closed for ten weeks"
    byline = doc.xpath('//p[@class="byline"]')[0].text_content()
    assert "By Gethin Paskell" in byline and "2 March 2026" in byline
    assert "1 min read" in byline and re.search(r"\d+ views?", byline)
    assert doc.xpath('//mark[@id="hl"]')[0].text == BRIDGE_TEXT[1]
    paragraphs = [p.text_content() for p in doc.xpath('//section[@class="text"]/p')]
    assert paragraphs == BRIDGE_TEXT
    summary = doc.xpath('//section[@class="newsloom-summary"]/p')[0].text_content()
    assert summary.strip() == BRIDGE_TEXT[0]
    # A bad or reversed span is ignored, not an error.
    for bad in ("9-3", "x", "1-2-3"):
        page = client.get(f"/article/bridge-original?hl={bad}")
        assert page.status_code == 200 and not tree(page).xpath("//mark")


def test_article_page_cites_the_original_in_apa(client: TestClient) -> None:
    copy = tree(client.get("/article/bridge-copy"))
    apa = copy.xpath('//p[@class="apa"]')[0]
    text = " ".join(apa.text_content().split())
    assert text == (
        "Paskell, G. (2026, March 2). Kestrel Bridge closed for ten weeks. Harbour Gazette. "
        "https://gazette.example/2026/03/02/kestrel-bridge-closed"
    )
    assert apa.xpath("./i")[0].text == "Kestrel Bridge closed for ten weeks"
    assert (
        "does not credit it" in copy.xpath('//p[contains(@class, "provenance")]')[0].text_content()
    )
    data = client.get("/article/bridge-copy.json").json()
    assert data["citation"]["of"] == "source"
    assert data["derived_from"]["article"]["id"] == "bridge-original"
    assert client.get("/article/bridge-original.json").json()["citation"]["of"] == "self"
    original = client.get("/article/bridge-original.json").json()
    assert {c["article"]["id"] for c in original["copies"]} == {"bridge-copy", "bridge-rewrite"}


def test_article_page_related_stories(client: TestClient) -> None:
    data = client.get("/article/hostile-direct.json").json()
    # "Bridge" is in the hostile page's title: the bridge story is related, its own story is not.
    assert BRIDGE in [s["id"] for s in data["related"]]
    assert HOSTILE not in [s["id"] for s in data["related"]]


def test_views_are_counted_without_cookies(client: TestClient, store_url: str) -> None:
    before = client.get("/article/bridge-rewrite.json").json()["views"]
    for _ in range(3):
        response = client.get("/article/bridge-rewrite")
        assert "set-cookie" not in response.headers
    after = client.get("/article/bridge-rewrite.json").json()["views"]
    assert after == before + 3  # the JSON twin reads the count without adding to it
    assert client.cookies == {} or len(client.cookies) == 0
    # Counts are written in batches; the next flush (or shutdown) stores them.
    client.app.state.views.flush()
    with open_store(store_url) as store:
        assert store.views("article", "bridge-rewrite") == after


# -- hostile content -------------------------------------------------------------------


HOSTILE_PAGES = [
    f"/story/{HOSTILE}",
    "/article/hostile-direct",
    "/article/hostile-extracted",
    "/search?q=payload",
    "/search?q=council",
    "/",
]


@pytest.mark.parametrize("path", HOSTILE_PAGES)
def test_hostile_text_is_escaped(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    body = response.text.lower()
    assert "<script" not in body and "<img" not in body and "<svg" not in body
    doc = tree(response)
    assert not doc.xpath("//script | //img | //svg | //*[@onerror] | //*[@onload]")
    for href in doc.xpath("//@href | //@src | //@action"):
        assert not href.strip().lower().startswith(("javascript", "data:", "vbscript")), href
        assert href.startswith(("/", "https://", "http://")), href


def test_hostile_article_shows_the_payload_as_text(client: TestClient) -> None:
    doc = tree(client.get("/article/hostile-direct"))
    assert "<script>" in doc.xpath("//h1")[0].text  # visible as text, not run
    assert doc.xpath("//title")[0].text.startswith("Bridge payload <script>")
    # Its URLs are javascript: ones: shown as text, never as links.
    assert doc.xpath('//span[@class="unlinked"]')
    assert not doc.xpath('//a[contains(@href, "script")]')
    extracted = tree(client.get("/article/hostile-extracted"))
    text = extracted.xpath('//section[@class="text"]')[0].text_content()
    assert f"<script>window.{PAYLOAD_FLAG}=8</script>" in text
    assert extracted.xpath('//section[@class="credits"]//a/@href') == ["https://ok.example/"]


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("https://example.org/a?b=c", True),
        ("http://example.org", True),
        ("javascript:alert(1)", False),
        (" JaVaScRiPt:alert(1)", False),
        ("java\tscript:alert(1)", False),
        ("data:text/html,<script>", False),
        ("//evil.example/x", False),
        ("/relative", False),
        ("https://", False),
        ("https://ok.example/\nx", False),
        (None, False),
    ],
)
def test_safe_url(url: str | None, safe: bool) -> None:
    assert (safe_url(url) is not None) is safe


def test_text_helpers() -> None:
    assert highlight_pieces(["abc", "def"], (1, 7)) == [
        [("a", False), ("bc", True)],
        [("de", True), ("f", False)],
    ]
    assert highlight_pieces(["abc"], None) == [[("abc", False)]]
    assert snippet_pieces("a [b] c [d]") == [
        ("a ", False),
        ("b", True),
        (" c ", False),
        ("d", True),
    ]
    assert apa_author("John Collins") == "Collins, J."
    assert apa_author("Ludwig van Beethoven") == "van Beethoven, L."
    assert apa_author("Collins, J.") == "Collins, J."
    assert apa_author("Reuters") == "Reuters"


# -- feeds --------------------------------------------------------------------------


def test_feeds_are_served(client: TestClient) -> None:
    site = client.get("/feed.atom")
    assert site.status_code == 200 and site.headers["content-type"] == "application/atom+xml"
    parsed = feedparser.parse(site.text)
    assert not parsed.bozo and any(f"/story/{BRIDGE}" in e.link for e in parsed.entries)
    story = feedparser.parse(client.get(f"/story/{BRIDGE}/feed.atom").text)
    assert {e.link.rsplit("/", 1)[-1] for e in story.entries} >= {"bridge-original"}
    assert client.get("/story/snothere/feed.atom").status_code == 404


# -- the demo and the seeds, ingested for real ---------------------------------------------


@pytest.fixture(scope="module")
def demo_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    from newsloom.demo import corpus_path
    from newsloom.pipeline import Pipeline

    url = f"sqlite:///{tmp_path_factory.mktemp('webdemo') / 'news.db'}"
    with open_store(url) as store:
        report = Pipeline(store).ingest([str(corpus_path())])
        assert report.failures == []
    with TestClient(create_app(url)) as test_client:
        yield test_client


def test_demo_story_pages_show_their_conflicts(demo_client: TestClient) -> None:
    stories = demo_client.get("/index.json").json()["stories"]
    assert len(stories) == 4
    conflicts = 0
    for story in stories:
        data = demo_client.get(f"{story['path']}.json").json()
        doc = tree(demo_client.get(story["path"]))
        shown = doc.xpath('//blockquote[@class="side"]/p')
        assert [p.text for p in shown] == [
            s[side]["sentence"] for s in data["conflicts"] for side in ("a", "b")
        ]
        conflicts += len(data["conflicts"])
        ids = {n.get("data-article-id") for n in doc.xpath('//li[contains(@class, "source")]')}
        assert ids == set(story_ids := data["story"]["article_ids"]) and len(story_ids) == 5
    assert conflicts >= 4


def test_demo_search_finds_a_story(demo_client: TestClient) -> None:
    data = demo_client.get("/search.json?q=Veltrazine").json()
    assert data["hits"] and data["stories"]
    assert any(
        "Veltrazine" in s["title"] or "recall" in s["title"].lower() for s in data["stories"]
    )


@pytest.fixture(scope="module")
def seed_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict]]:
    """The seed pair ingested together; also seed prefix ("000", "004") → article id."""
    from newsloom.pipeline import Pipeline

    seeds = {"000": seed_path("000"), "004": seed_path("004")}
    url = f"sqlite:///{tmp_path_factory.mktemp('webseeds') / 'news.db'}"
    with open_store(url) as store:
        report = Pipeline(store).ingest([str(p) for p in seeds.values()])
        assert report.failures == []
        ids = {
            key: next(a.id for a in store.iter_articles(limit=None) if a.source == str(path))
            for key, path in seeds.items()
        }
    with TestClient(create_app(url)) as test_client:
        yield test_client, ids


def test_seed_pair_is_one_story_with_credit_flags_and_the_visit_conflict(
    seed_client: tuple[TestClient, dict],
) -> None:
    client, ids = seed_client
    stories = client.get("/index.json").json()["stories"]
    assert len(stories) == 1
    data = client.get(f"{stories[0]['path']}.json").json()
    nodes = {n["article"]["id"]: n for n in data["sources"]}
    assert set(nodes) == {ids["000"], ids["004"]}
    assert "washingtonpost.com" in [c["domain"] for c in nodes[ids["004"]]["credits"]]
    assert nodes[ids["000"]]["uncredited"] and nodes[ids["000"]]["credits"] == []
    doc = tree(client.get(stories[0]["path"]))
    post = doc.xpath(f'//li[@data-article-id="{ids["004"]}"]')[0]
    assert post.xpath('.//*[@class="credit" and @data-domain="washingtonpost.com"]')
    assert not post.xpath('.//*[@data-flag="uncredited"]')
    copy = doc.xpath(f'//li[@data-article-id="{ids["000"]}"]')[0]
    assert copy.xpath('.//*[@data-flag="uncredited"]')
    conflict = next(c for c in data["conflicts"] if c["kind"] == "duration")
    sides = {c["article_id"]: c["sentence"] for c in (conflict["a"], conflict["b"])}
    assert "three-day visit" in sides[ids["004"]] and "two-day visit" in sides[ids["000"]]
    shown = [p.text for p in doc.xpath('//blockquote[@class="side"]/p')]
    assert sides[ids["004"]] in shown and sides[ids["000"]] in shown
    # The aggregator's article page cites the Post's original, from its own reference line.
    cite = client.get(f"/article/{ids['004']}.json").json()["citation"]
    assert cite["of"] == "reference" and "washingtonpost.com" in (cite["url"] or "")


def test_view_counts_are_written_at_shutdown(store_url: str) -> None:
    with open_store(store_url) as store:
        before = store.views("story", HOSTILE)
    with TestClient(create_app(store_url)) as test_client:
        for _ in range(2):
            assert test_client.get(f"/story/{HOSTILE}").status_code == 200
    with open_store(store_url) as store:
        assert store.views("story", HOSTILE) == before + 2


def test_slow_requests_are_logged_with_the_address_as_sent(
    store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    from newsloom.settings import Settings

    # Any request is "slow" at a millionth of a millisecond; 0 turns the log off.
    slow_app = create_app(store_url, Settings(slow_request_ms=1e-6))
    with TestClient(slow_app) as slow, caplog.at_level("WARNING", logger="newsloom.web"):
        assert slow.get("/search?q=bridge%0Aforged%20line").status_code == 200
        assert slow.get("/no-such-page").status_code == 404
    lines = [r.getMessage() for r in caplog.records if "slow request" in r.getMessage()]
    assert len(lines) == 2
    assert re.fullmatch(
        r"slow request: GET /search\?q=bridge%0Aforged%20line answered 200 in \d+ ms", lines[0]
    )
    assert "/no-such-page answered 404" in lines[1]
    assert all("\n" not in line for line in lines)
    caplog.clear()
    quiet_app = create_app(store_url, Settings(slow_request_ms=0))
    with TestClient(quiet_app) as quiet, caplog.at_level("WARNING", logger="newsloom.web"):
        assert quiet.get("/search?q=bridge").status_code == 200
    assert not [r for r in caplog.records if "slow request" in r.getMessage()]


def test_a_split_story_links_to_where_its_other_articles_went(tmp_path) -> None:
    from newsloom.cluster import cluster_stored
    from test_cluster import CHAINING, TWO_GROUPS, two_group_stream

    url = f"sqlite:///{tmp_path / 'split.db'}"
    stream = two_group_stream()
    with open_store(url) as store:
        store.put_articles(stream)
        cluster_stored(store, [a.id for a in stream], CHAINING, featurizer=TWO_GROUPS)
        kept, part = store.stories_of([stream[0].id, stream[3].id]).values()
    with TestClient(create_app(url)) as split_client:
        for story_id, other in ((kept, part), (part, kept)):
            page = tree(split_client.get(f"/story/{story_id}"))
            assert page.xpath("//p[@class='meta']/a/@href") == [f"/story/{other}"]
        data = split_client.get(f"/story/{part}.json").json()["story"]
        assert (data["split_from"], data["split_off"]) == (kept, [])
