"""The page caches: story pages follow views and analyses; lists and searches are kept a while."""

from __future__ import annotations

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import lxml.html
import pytest
from anyio import to_thread
from fastapi.testclient import TestClient

from factories import make_article
from newsloom.errors import ConfigError
from newsloom.settings import Settings
from newsloom.store import open_store
from newsloom.store.sqlite import SQLiteStore
from newsloom.web import create_app, pages
from newsloom.web.app import PageCache
from web_helpers import T0, build_store, cluster

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
    with TestClient(create_app(url, Settings(story_check_seconds=0.5))) as client:
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

        # A new analysis (no edges, no conflicts, no summary) shows as soon as
        # its page is computed, in the background; meanwhile readers get the
        # page as it was, with their views counted all the same.
        with open_store(url) as store:
            store.put_story_analysis(BRIDGE, [], [], members=3, summary=None)
        third = client.get(f"/story/{BRIDGE}")
        assert shown_views(third.text) == shown_views(second.text) + 1

        def pending_summary() -> bool:
            doc = lxml.html.fromstring(client.get(f"/story/{BRIDGE}").text)
            return bool(doc.xpath('//section[@id="summary"]/p[@class="pending"]'))

        assert wait_for(pending_summary)

        def no_conflicts() -> bool:
            data = client.get(f"/story/{BRIDGE}.json").json()
            return data["summary"] is None and data["conflicts"] == []

        assert wait_for(no_conflicts)


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


def _titles(client: TestClient, path: str) -> set[str]:
    return {s["title"] for s in client.get(path).json()["stories"]}


def _new_story(url: str) -> str:
    """A story that was not in the store, added as an ingest would; its title."""
    with open_store(url) as store:
        cluster(
            store,
            [
                make_article(
                    "lately-one",
                    title="Lighthouse keeper retires after forty years",
                    published=T0 + timedelta(days=365),  # the newest story: first on page 1
                )
            ],
        )
    return "Lighthouse keeper retires after forty years"


def test_home_lists_and_search_are_kept_for_page_cache_seconds(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'news.db'}"
    with open_store(url) as store:
        build_store(store)
    kept = TestClient(create_app(url, Settings(page_cache_seconds=3600, search_cache_seconds=3600)))
    fresh = TestClient(create_app(url, Settings(page_cache_seconds=0, search_cache_seconds=0)))
    with kept, fresh:
        before = {path: _titles(kept, path) for path in ("/index.json", "/stories.json")}
        home_html = kept.get("/").text
        assert kept.get("/search.json?q=lighthouse").json()["hits"] == []
        # The cached text is what the page computes afresh.
        with open_store(url) as store:
            assert kept.get("/stories.json").json() == pages.stories_page(store, 1)

        title = _new_story(url)

        # Within the interval, readers get the page as it was...
        for path, titles in before.items():
            assert _titles(kept, path) == titles
        assert kept.get("/").text == home_html
        assert kept.get("/search.json?q=lighthouse").json()["hits"] == []
        # ...the same words, however spaced, are the same cached search...
        assert kept.get("/search.json?q=+lighthouse++").json()["hits"] == []
        # ...and a page not asked for before is computed now.
        assert kept.get("/search.json?q=keeper").json()["hits"]
        # With no interval, every request sees the new story at once.
        assert title in _titles(fresh, "/index.json")
        assert title in _titles(fresh, "/stories.json")
        assert title in fresh.get("/").text
        assert fresh.get("/search.json?q=lighthouse").json()["hits"]
        assert "Lighthouse keeper" in fresh.get("/search?q=lighthouse").text


def test_one_reader_computes_a_page_while_the_others_wait_or_get_the_expired_one() -> None:
    cache = PageCache(size=4, seconds=60.0)
    release = threading.Event()
    calls: list[str] = []

    def slow(value: str):
        def compute() -> str:
            calls.append(value)
            release.wait(10)
            return value

        return compute

    # No page yet: the second reader waits for the first one's instead of computing.
    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(cache.get, "home", slow("v1"))
        while not calls:
            time.sleep(0.001)
        others = [pool.submit(cache.get, "home", slow("other")) for _ in range(3)]
        time.sleep(0.05)
        assert not any(f.done() for f in others)  # waiting, not computing
        release.set()
        assert first.result() == "v1"
        assert [f.result() for f in others] == ["v1"] * 3
    assert calls == ["v1"]

    # Expired: every reader gets the old page at once, and one renewal in the
    # background computes the new one.
    cache.seconds = 0.01
    cache.get("list", lambda: "old")
    time.sleep(0.02)
    release.clear()
    calls.clear()
    assert cache.get("list", slow("new")) == "old"
    assert wait_for(lambda: calls == ["new"])
    assert [cache.get("list", slow("never")) for _ in range(3)] == ["old"] * 3
    cache.seconds = 60.0
    release.set()
    assert wait_for(lambda: cache.get("list", slow("again")) == "new")
    assert calls == ["new"]
    cache.close()


def wait_for(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def test_a_failed_renewal_keeps_the_old_page_and_is_tried_again() -> None:
    cache = PageCache(size=4, seconds=0.01)
    cache.get("home", lambda: "old")
    time.sleep(0.02)
    tried = threading.Event()

    def failing() -> str:
        tried.set()
        raise RuntimeError("store went away")

    assert cache.get("home", failing) == "old"
    assert tried.wait(10)
    cache.seconds = 60.0
    assert wait_for(lambda: cache.get("home", lambda: "new") == "new")
    cache.close()


def test_a_failed_computation_leaves_the_waiting_readers_to_compute_their_own() -> None:
    cache = PageCache(size=4, seconds=60.0)
    started, release = threading.Event(), threading.Event()

    def failing() -> str:
        started.set()
        release.wait(10)
        raise RuntimeError("store went away")

    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(cache.get, "home", failing)
        started.wait(10)
        waiting = pool.submit(cache.get, "home", lambda: "computed again")
        time.sleep(0.05)
        release.set()
        with pytest.raises(RuntimeError):
            first.result()
        assert waiting.result() == "computed again"
    # The page the waiting reader computed is the one kept.
    assert cache.get("home", lambda: "fresh") == "computed again"


def test_only_so_many_expired_pages_are_renewed_at_once() -> None:
    cache = PageCache(size=8, seconds=0.01, renewers=1)
    for key in ("a", "b"):
        cache.get(key, lambda key=key: f"old {key}")
    time.sleep(0.02)
    started, release = threading.Event(), threading.Event()

    def slow_renewal() -> str:
        started.set()
        release.wait(10)
        return "new a"

    assert cache.get("a", slow_renewal) == "old a"
    assert started.wait(10)
    # The one renewer is busy: "b" is served as it was, and not computed.
    assert cache.get("b", lambda: pytest.fail("renewed beyond the limit")) == "old b"
    # A page not kept yet is computed all the same, by its reader.
    assert cache.get("c", lambda: "new c") == "new c"
    cache.seconds = 60.0
    release.set()
    assert wait_for(lambda: cache.get("a", lambda: "again") == "new a")
    # The renewer is free again: "b" is renewed now.
    assert cache.get("b", lambda: "new b") == "old b"
    assert wait_for(lambda: cache.get("b", lambda: "again") == "new b")
    cache.close()


def test_requests_run_on_as_many_threads_as_web_threads(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'news.db'}"
    with open_store(url) as store:
        build_store(store)
    with TestClient(create_app(url, Settings(web_threads=3))) as client:
        tokens = client.portal.call(lambda: to_thread.current_default_thread_limiter().total_tokens)
        assert tokens == 3
        assert client.get("/").status_code == 200
    with pytest.raises(ConfigError, match="web_threads"):
        create_app(url, Settings(web_threads=0))


def test_a_page_of_another_version_is_served_while_the_new_one_is_computed() -> None:
    cache = PageCache(size=4, seconds=60.0)
    assert cache.get("story", lambda: "as it was", version=1) == "as it was"
    assert cache.get("story", lambda: pytest.fail("same version, kept"), version=1) == "as it was"
    # The story changed: its reader is not kept waiting for the new page.
    assert cache.get("story", lambda: "changed", version=2) == "as it was"
    assert wait_for(lambda: cache.get("story", lambda: "again", version=2) == "changed")
    cache.close()


def test_pages_are_also_dropped_when_their_text_passes_max_chars() -> None:
    cache = PageCache(size=10, seconds=60.0, max_chars=100)
    cache.get("a", lambda: "a" * 40)
    cache.get("b", lambda: "b" * 40)
    assert cache.chars == 80
    cache.get("a", lambda: pytest.fail("kept"))  # "a" is now the most recent
    cache.get("c", lambda: "c" * 40)  # 120 characters: "b", the least recent, goes
    assert cache.chars == 80
    assert cache.get("b", lambda: "b again") == "b again"
    assert cache.get("a", lambda: pytest.fail("kept")) == "a" * 40
    # One page larger than the bound is kept alone.
    cache.get("big", lambda: "x" * 500)
    assert cache.chars == 500
    assert cache.get("big", lambda: pytest.fail("kept")) == "x" * 500
    cache.clear()
    assert cache.chars == 0


def test_a_story_page_reads_its_stamp_once_per_story_check_seconds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'news.db'}"
    with open_store(url) as store:
        build_store(store)
    reads: list[str] = []
    real = SQLiteStore.story_stamp

    def counted(self: SQLiteStore, story_id: str):  # type: ignore[no-untyped-def]
        reads.append(story_id)
        return real(self, story_id)

    monkeypatch.setattr(SQLiteStore, "story_stamp", counted)
    kept = TestClient(create_app(url, Settings(story_check_seconds=3600)))
    fresh = TestClient(create_app(url, Settings(story_check_seconds=0)))
    with kept, fresh:
        counts = []
        for n in range(6):
            counts.append(shown_views(kept.get(f"/story/{BRIDGE}").text))
            if n % 2:  # views written to the store between readers
                kept.app.state.views.flush()
        # One read of the stamp for six readers, and every view counted exactly.
        assert reads == [BRIDGE]
        assert counts == list(range(counts[0], counts[0] + 6))
        assert (
            kept.get(f"/story/{BRIDGE}.json").json()["views"] == counts[-1]
        )  # a JSON read counts no view

        # A change to the story waits for the next check on the kept stamp...
        with open_store(url) as store:
            store.put_story_analysis(BRIDGE, [], [], members=3, summary=None)
        time.sleep(0.3)
        assert kept.get(f"/story/{BRIDGE}.json").json()["conflicts"]
        # ...and with no interval it is seen by the next reader's check at once.
        reads.clear()
        fresh.get(f"/story/{BRIDGE}.json")
        fresh.get(f"/story/{BRIDGE}.json")
        assert reads == [BRIDGE, BRIDGE]
        assert wait_for(lambda: fresh.get(f"/story/{BRIDGE}.json").json()["conflicts"] == [])


def test_a_stamp_read_while_views_are_written_is_not_kept() -> None:
    from newsloom.types import StoryStamp
    from newsloom.web.stamps import StampCache

    cache = StampCache(size=8, seconds=60.0)
    stamp = StoryStamp("s1", "Title", None, 3, 7, None, views=10)
    # A flush began before the read and is not over: the count may hold its
    # views or not, so the stamp is used once and read again next time.
    first = cache.get("s1", lambda _i: stamp, lambda: (4, 3))
    assert first is not None and not first.views_exact
    again = cache.get("s1", lambda _i: stamp, lambda: (4, 4))
    assert again is not None and again.views_exact
    # Kept now: views written later are added to the kept count.
    cache.add_views("story", {("story", "s1"): 5, ("article", "s1"): 100})
    kept = cache.get("s1", lambda _i: None, lambda: (9, 9))
    assert kept is not None and kept.stamp.views == 15 and kept.views_exact
    # No live story: nothing kept.
    assert cache.get("gone", lambda _i: None, lambda: (9, 9)) is None
