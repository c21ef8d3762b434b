"""The story page cache: a cached page still shows the current view count and analysis."""

from __future__ import annotations

import re
from pathlib import Path

import lxml.html
from fastapi.testclient import TestClient

from newsloom.store import open_store
from newsloom.web import create_app, pages
from newsloom.web.app import PageCache
from web_helpers import build_store

BRIDGE = "sbridge-original"


def shown_views(html: str) -> int:
    meta = lxml.html.fromstring(html).xpath('//p[@class="meta"]')[0].text_content()
    match = re.search(r"(\d+) views?\b", meta)
    assert match, meta
    return int(match.group(1))


def test_cached_story_page_follows_views_and_a_new_analysis(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'news.db'}"
    with open_store(url) as store:
        build_store(store)
    with TestClient(create_app(url)) as client:
        first = client.get(f"/story/{BRIDGE}")
        second = client.get(f"/story/{BRIDGE}")
        assert first.status_code == second.status_code == 200
        # Each page view counts, on the cached page as on the first one.
        assert shown_views(second.text) == shown_views(first.text) + 1
        cached = client.get(f"/story/{BRIDGE}.json")
        assert cached.headers["content-type"] == "application/json"
        assert cached.json()["views"] == shown_views(second.text)
        # The cached text is the page computed afresh, with the count in place.
        with open_store(url) as store:
            story = store.get_story(BRIDGE)
            assert story is not None
            assert cached.json() == pages.story_page(store, story, 1, cached.json()["views"])
        assert 'class="cited-summary"' in second.text
        assert client.get(f"/story/{BRIDGE}.json").json()["conflicts"]

        # A new analysis (no edges, no conflicts, no summary) shows at once.
        with open_store(url) as store:
            store.put_story_analysis(BRIDGE, [], [], members=3, summary=None)
        third = client.get(f"/story/{BRIDGE}")
        doc = lxml.html.fromstring(third.text)
        assert doc.xpath('//section[@id="summary"]/p[@class="pending"]')
        assert shown_views(third.text) == shown_views(second.text) + 1
        data = client.get(f"/story/{BRIDGE}.json").json()
        assert data["summary"] is None and data["conflicts"] == []


def test_page_cache_keeps_the_most_recent_and_expires() -> None:
    calls: list[str] = []

    def compute(value: str):
        return lambda: calls.append(value) or value

    cache = PageCache(size=2, seconds=60.0)
    assert cache.get("a", compute("a")) == "a"
    assert cache.get("b", compute("b")) == "b"
    assert cache.get("a", compute("a2")) == "a"  # kept, and now the most recent
    cache.get("c", compute("c"))  # drops "b", the least recently used
    assert cache.get("b", compute("b2")) == "b2"
    assert calls == ["a", "b", "c", "b2"]

    stale = PageCache(size=2, seconds=0.0)
    stale.get("a", compute("x"))
    assert stale.get("a", compute("y")) == "y"  # expired at once: computed again
